export * from './plan';
export * from './summary';
