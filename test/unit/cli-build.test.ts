/**
 * The precompiled CLI (scripts/build-cli.ts, used by bin/perennial.mjs): a
 * fresh build runs the commands it names and gives what the source gives; a
 * build that no longer matches the sources, a missing one, or another
 * command runs the source through tsx. Built into a folder of its own here
 * (--out, PERENNIAL_CLI_BUILD), so the build `npm ci` made is left alone; in
 * node_modules/.cache too, since the bundle finds its packages from where it lies.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../helpers/temp-files';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { fresh, write } = tempFiles('perennial-cli-build-');

let build: string;
let reference: string;
let current: string;

function perennial(args: string[], env: Record<string, string>): { status: number | null; stdout: string; ran: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin/perennial.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PERENNIAL_CLI_TRACE: '1', PERENNIAL_CLI_BUILD: build, ...env },
  });
  const ran = /^perennial: running (.*)$/m.exec(run.stderr)?.[1] ?? `(no trace) ${run.stderr}`;
  return { status: run.status, stdout: run.stdout, ran };
}

/** The JSON report without the time it was made. */
const report = (stdout: string) => ({ ...(JSON.parse(stdout) as Record<string, unknown>), generated_at: undefined });

beforeAll(() => {
  build = join(ROOT, 'node_modules/.cache/perennial', `cli-test-${process.pid}`);
  const built = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-cli.ts'), '--out', build], { cwd: ROOT, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  const rows = (shift: number) => ['x,c', ...Array.from({ length: 400 }, (_, i) => `${(i % 37) + shift},${i % 3 === 0 ? 'a' : 'b'}`)].join('\n') + '\n';
  reference = write('ref.csv', rows(0));
  current = write('cur.csv', rows(5));
});

afterAll(() => rmSync(build, { recursive: true, force: true }));

describe('the precompiled CLI', () => {
  it('holds the CLI, the drift worker and a manifest of every source file the drift commands load', () => {
    for (const file of ['main.js', 'worker.js', 'worker-bootstrap.mjs', 'package.json']) expect(existsSync(join(build, file)), file).toBe(true);
    const { commands, inputs } = JSON.parse(readFileSync(join(build, 'manifest.json'), 'utf8')) as { commands: string[]; inputs: { path: string }[] };
    expect(commands).toEqual(['drift', 'drift-stream']);
    const paths = inputs.map((i) => i.path);
    for (const path of [
      'src/cli/main.ts',
      'src/cli/drift.ts',
      'src/cli/drift-stream.ts',
      'src/drift/engine.ts',
      'src/data/read-columns.ts',
      'src/drift/batch/worker.ts',
    ]) {
      expect(paths).toContain(path);
    }
    // What those commands never load: an edit there leaves the build fresh.
    for (const path of ['src/cli/retrain.ts', 'src/cli/validate.ts', 'workflows/monitor.ts', 'src/model/child.ts']) expect(paths).not.toContain(path);
    // Of packages, only the one bundled (DuckDB's Node API), by its package.json: a new install of it makes the build stale.
    expect(paths.filter((p) => p.includes('node_modules'))).toEqual(['node_modules/@duckdb/node-api/package.json']);
  });

  it('holds no module that finds files by its own path in the commands it runs, but the drift worker pool', () => {
    const { commands } = JSON.parse(readFileSync(join(build, 'manifest.json'), 'utf8')) as { commands: string[] };
    const meta = JSON.parse(readFileSync(join(build, 'metafile.json'), 'utf8')) as {
      outputs: Record<string, { entryPoint?: string; imports: { path: string }[] }>;
    };
    const outputs = Object.entries(meta.outputs);
    for (const command of commands) {
      // The command's module (main.ts imports it lazily: a chunk of its own) and every chunk it loads (paths: where it was built).
      const entry = outputs.find(([, o]) => o.entryPoint === `src/cli/${command}.ts`);
      expect(entry, command).toBeDefined();
      const seen = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file) || !meta.outputs[file]) return;
        seen.add(file);
        meta.outputs[file].imports.forEach((i) => visit(i.path));
      };
      visit(entry![0]);
      for (const file of seen) {
        const uses = [
          ...readFileSync(join(build, basename(file)), 'utf8').matchAll(/new URL\(([^)]*), import\.meta\.url\)|createRequire\(import\.meta\.url\)/g),
        ].map((m) => m[0]);
        expect(
          uses.filter((u) => !u.includes('./worker-bootstrap.mjs')),
          `${command}: ${file}`,
        ).toEqual([]);
      }
    }
  });

  it('runs perennial drift from a fresh build, with the report the source gives', () => {
    const args = ['drift', '--reference', reference, '--current', current, '--json'];
    const compiled = perennial(args, {});
    const source = perennial(args, { PERENNIAL_CLI_SOURCE: '1' });
    expect(compiled.ran).toBe(join(build, 'main.js'));
    expect(source.ran).toBe('the source through tsx');
    expect([compiled.status, source.status]).toEqual([0, 0]);
    expect(report(compiled.stdout)).toEqual(report(source.stdout));
  });

  it('gives the same exit status and message for bad usage', () => {
    const compiled = perennial(['drift', '--reference', reference], {});
    expect(compiled.ran).toBe(join(build, 'main.js'));
    expect(compiled.status).toBe(2);
  });

  it('runs the source when a file of the build changed since, when the build is missing, and for other commands', () => {
    const manifest = join(build, 'manifest.json');
    const saved = readFileSync(manifest, 'utf8');
    try {
      const stale = JSON.parse(saved) as { inputs: { path: string; mtimeMs: number }[] };
      stale.inputs.find((i) => i.path === 'src/drift/engine.ts')!.mtimeMs -= 1000;
      writeFileSync(manifest, JSON.stringify(stale));
      const run = perennial(['drift', '--reference', reference, '--current', current, '--json'], {});
      expect([run.ran, run.status]).toEqual(['the source through tsx', 0]);
    } finally {
      writeFileSync(manifest, saved);
    }
    expect(perennial(['drift', '--help'], { PERENNIAL_CLI_BUILD: fresh('none') }).ran).toBe('the source through tsx');
    expect(perennial(['help'], {}).ran).toBe('the source through tsx');
    expect(perennial(['drift', '--help'], {}).ran).toBe(join(build, 'main.js'));
  });
});
