export * from './client';
export * from './code-version';
export * from './namespace';
export * from './pollers';
export * from './start-retrain';
