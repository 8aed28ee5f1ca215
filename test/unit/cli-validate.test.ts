/** `perennial validate`: a schema inferred from a reference, checked against a new batch. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'perennial-validate-'));
  dirs.push(dir);
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(entries)) {
    out[name] = join(dir, name);
    await writeFile(out[name], text);
  }
  return out;
}

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t + '\n'), stderr: (t: string) => (out.stderr += t + '\n') } };
}

describe('perennial validate', () => {
  it('names the rows and columns that break the inferred schema and exits 1', async () => {
    const f = await files({
      'ref.csv': 'city,temp,day\nOslo,1.5,2012-01-01\nRome,12,2012-01-02\nOslo,-3,2012-01-03\n',
      'cur.jsonl':
        '{"city":"Oslo","temp":2,"day":"2013-01-01"}\n{"city":"Paris","temp":3,"day":"2013-01-02"}\n{"city":"Rome","temp":"hot","day":"2013-01-03"}\n{"city":"Rome","temp":40,"day":"not a day"}\n',
    });
    const { out, io } = capture();
    expect(await main(['validate', '--reference', f['ref.csv']!, '--current', f['cur.jsonl']!], io)).toBe(1);
    expect(out.stdout).toContain('1 of 4 rows pass the schema inferred from');
    expect(out.stdout).toContain("row 2, column 'city': 'Paris' is not one of the allowed values (Oslo, Rome)");
    expect(out.stdout).toContain("row 3, column 'temp': expected a number, found 'hot'");
    expect(out.stdout).toContain("row 4, column 'day': expected a date (YYYY-MM-DD), found 'not a day'");
    expect(out.stdout).toContain('rejected: rows 2, 3, 4');
  });

  it('with --strict-ranges the reference min and max are limits; a clean batch exits 0', async () => {
    const f = await files({ 'ref.csv': 'x\n1\n5\n', 'cur.csv': 'x\n2\n9\n', 'ok.csv': 'x\n3\n4\n' });
    const strict = capture();
    expect(await main(['validate', '--reference', f['ref.csv']!, '--current', f['cur.csv']!, '--strict-ranges', '--json'], strict.io)).toBe(1);
    const report = JSON.parse(strict.out.stdout);
    expect(report.errors).toEqual([{ source: f['cur.csv'], row: 3, column: 'x', reason: '9 is above the maximum 5' }]);
    const loose = capture();
    expect(await main(['validate', '--reference', f['ref.csv']!, '--current', f['cur.csv']!], loose.io)).toBe(0);
    expect(await main(['validate', '--reference', f['ref.csv']!, '--current', f['ok.csv']!, '--strict-ranges'], capture().io)).toBe(0);
  });

  it('checks against a model spec, and refuses ambiguous usage', async () => {
    const f = await files({ 'cur.csv': 'location,date,precipitation,temp_max,temp_min,wind,weather\nSeattle,2016-01-01,0,10,5,3,hail\n' });
    const { out, io } = capture();
    expect(await main(['validate', '--spec', 'models/weather.yaml', '--current', f['cur.csv']!], io)).toBe(1);
    expect(out.stdout).toContain("row 2, column 'weather': 'hail' is not one of the allowed values (drizzle, fog, rain, snow, sun)");
    const both = capture();
    expect(await main(['validate', '--spec', 'models/weather.yaml', '--reference', f['cur.csv']!, '--current', f['cur.csv']!], both.io)).toBe(2);
    expect(both.out.stderr).toContain('exactly one of --reference');
  });
});
