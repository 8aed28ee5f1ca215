/** Temp files for tests that read real files: each in a folder of its own (so a name can repeat), all removed after the file's tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

export function tempFiles(prefix: string): { fresh: (name: string) => string; write: (name: string, content: string | Buffer) => string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  /** A fresh path named `name` (which may hold folders, like an S3 key). */
  const fresh = (name: string) => {
    const path = join(root, String(count++), name);
    mkdirSync(dirname(path), { recursive: true });
    return path;
  };
  return {
    fresh,
    /** Writes `content` to a fresh file called `name` and returns its path. */
    write: (name, content) => {
      const path = fresh(name);
      writeFileSync(path, content);
      return path;
    },
  };
}
