import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDriftStreamCommand } from '../../../src/cli/drift-stream';
import { loadRiverCases } from './fixtures';

const fixtures = loadRiverCases();
let dir: string;
let numericFile: string;
let binaryFile: string;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

async function run(argv: string[]) {
  const c = capture();
  const code = await runDriftStreamCommand(argv, c.io);
  return { code, stdout: c.out.join('\n'), stderr: c.err.join('\n') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drift-stream-cli-'));
  numericFile = join(dir, 'numeric.txt');
  binaryFile = join(dir, 'binary.txt');
  // Blank lines and CRLF are tolerated.
  writeFileSync(numericFile, fixtures.streams['doc_numeric']!.join('\n\n') + '\n');
  writeFileSync(binaryFile, fixtures.streams['doc_binary']!.join('\r\n') + '\r\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('perennial drift-stream', () => {
  it('--json prints exactly {drifts, warnings} with River indices', async () => {
    for (const c of fixtures.cases.filter((x) => x.id.startsWith('doc-'))) {
      const file = c.stream === 'doc_numeric' ? numericFile : binaryFile;
      const params = Object.entries(c.params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
      const r = await run(['--detector', c.detector, ...params, '--file', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ drifts: c.drifts, warnings: c.warnings });
      expect(Object.keys(JSON.parse(r.stdout))).toEqual(['drifts', 'warnings']);
    }
  });

  it('prints a readable summary without --json', async () => {
    const r = await run(['--detector', 'adwin', '--file', numericFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('adwin (delta=0.002, clock=32');
    expect(r.stdout).toContain('over 2000 values');
    expect(r.stdout).toContain('drifts: 1 at index 1023');
    const d = await run(['--detector', 'hddm-w', '--file', binaryFile]);
    expect(d.stdout).toMatch(/drifts: 1 at index 1077/);
    expect(d.stdout).toMatch(/warnings: 14 at 451/);
  });

  it('a non-number line names the file and line number (exit 2)', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '1\n2\n\nabc\n3\n');
    const r = await run(['--detector', 'adwin', '--file', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:4: not a number: 'abc'`);
    writeFileSync(bad, '1\nNaN\n');
    expect((await run(['--detector', 'ddm', '--file', bad])).stderr).toContain(`${bad}:2: not a number`);
  });

  it('usage errors exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['--file', numericFile], /missing --detector/],
      [['--detector', 'adwin'], /missing --file/],
      [['--detector', 'cusum', '--file', numericFile], /unknown detector 'cusum'; valid detectors: adwin, page-hinkley/],
      [['--detector', 'adwin', '--file', numericFile, '--window', '3'], /Unknown option '--window'.*accepts --detector, --param, --file, --json, --help/],
      [['--detector', 'adwin', '--file', join(dir, 'missing.txt')], /cannot read --file '.*missing.txt': no such file/],
      [['--detector', 'adwin', '--file', dir], /cannot read --file .*: is a directory/],
      [['--detector', 'adwin', '--param', 'delta', '--file', numericFile], /--param expects name=value, got 'delta'/],
      [['--detector', 'adwin', '--param', 'alpha=1', '--file', numericFile], /adwin: unknown parameter 'alpha'; valid parameters: delta, clock/],
      [['--detector', 'adwin', '--param', 'clock=0', '--file', numericFile], /parameter 'clock' expects an integer >= 1, got "0"/],
      [['--detector', 'adwin', '--param', 'clock=2', '--param', 'clock=3', '--file', numericFile], /given more than once/],
      [['--detector', 'adwin', '--file', numericFile, 'extra'], /Unexpected argument 'extra'/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(re);
    }
  });

  it('--help prints usage', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--detector <name>');
    expect(r.stdout).toContain('hddm-w: drift_confidence');
  });

  it('runs as a process via bin/perennial.mjs drift-stream', () => {
    const perennial = (args: string[]) => spawnSync('node', ['bin/perennial.mjs', 'drift-stream', ...args], { encoding: 'utf8' });
    const ok = perennial(['--detector', 'page-hinkley', '--file', numericFile, '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ drifts: [1006], warnings: [] });
    const bad = perennial(['--detector', 'adwin']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('missing --file');
    expect(bad.stderr).toContain("Run 'perennial drift-stream --help' for usage.");
  });
});
