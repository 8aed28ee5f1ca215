export * from './spec';
export * from './preprocessor';
export * from './labels';
export * from './artifact';
