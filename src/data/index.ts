export * from './table';
export * from './csv';
export * from './jsonl';
export * from './parquet';
export * from './read';
export * from './schema';
export * from './validate';
export * from './snapshot';
