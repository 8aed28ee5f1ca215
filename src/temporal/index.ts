export * from './client';
export * from './code-version';
export * from './start-retrain';
