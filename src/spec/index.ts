export * from './model-spec';
