export * from './catalog';
export { loadCatalog, downloadSnapshot, withTempDir, withAcceptedRows } from './load';
export { compareSnapshotFiles } from './compare';
