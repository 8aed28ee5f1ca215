export * from './client';
export * from './code-version';
export * from './namespace';
export * from './start-retrain';
