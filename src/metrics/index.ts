export * from './classification';
export * from './gate';
