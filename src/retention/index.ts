export * from './plan';
export * from './summary';
export * from './schedule';
