export * from './object-store';
export * from './s3-store';
export * from './memory-store';
export * from './keys';
export * from './sha';
export * from './local-files';
