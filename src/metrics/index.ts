export * from './task';
export * from './classification';
export * from './gate';
export * from './headline';
