/**
 * Objects as local files for the data engine, which reads files: they are
 * downloaded into a directory of the work's own, removed when the work ends
 * (or fails), so a worker's disk holds only what it is working on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseName } from './keys';
import { getVerified, type ObjectStore } from './object-store';

export interface LocalFiles {
  /** Downloads `key` (checked against `sha256` when given) to a file named like it: the reader goes by the extension. */
  download(key: string, sha256?: string): Promise<string>;
  /** Writes bytes already in memory to a file named `name`. */
  write(name: string, body: Buffer): Promise<string>;
  /** A path in the directory for a file the work writes itself. */
  path(name: string): string;
}

export async function withLocalFiles<T>(store: ObjectStore, work: (files: LocalFiles) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'perennial-data-'));
  let count = 0;
  // A numbered prefix: two keys with one base name never share a file.
  const local = (name: string) => join(dir, `${count++}-${name}`);
  const files: LocalFiles = {
    async download(key, sha256) {
      const body = sha256 ? await getVerified(store, key, sha256) : await store.get(key);
      return files.write(baseName(key), body);
    },
    async write(name, body) {
      const path = local(name);
      await writeFile(path, body);
      return path;
    },
    path: local,
  };
  try {
    return await work(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
