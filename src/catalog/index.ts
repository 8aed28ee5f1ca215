export * from './catalog';
export { loadCatalog, downloadSnapshot, withAcceptedRows } from './load';
export { compareSnapshotFiles } from './compare';
