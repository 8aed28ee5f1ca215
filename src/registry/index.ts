export * from './types';
export * from './registry';
export * from './bundle';
export * from './diff';
export * from './reproduction';
