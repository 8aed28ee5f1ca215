export * from './model-spec';
export * from './published';
export * from './release-spec';
