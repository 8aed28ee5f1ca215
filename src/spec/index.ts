export * from './model-spec';
export * from './published';
