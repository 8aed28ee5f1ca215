import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml, renderJson } from '../../../src/drift/report';
import { CHROMIUM_MISSING, chromiumForTests, dumpDom, screenshot } from './chromium';
import { expectDomMatchesJson } from './dom-vs-json';
import { SAMPLE_EXPECTED, sampleReport } from './sample-report';

/**
 * The HTML report opened in a real browser (Debian's chromium, headless, no
 * network): the page renders, and every number read back from the rendered
 * DOM equals the one in the JSON report. Skipped only when chromium is not
 * installed (.ci/run installs it).
 */
// CI installs chromium and sets PERENNIAL_REQUIRE_CHROMIUM: there a missing browser fails, never skips.
const chromium = chromiumForTests('test/drift/report/browser.test.ts');

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'perennial-html-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!chromium)(`HTML report in headless Chromium${chromium ? '' : ` (SKIPPED: ${CHROMIUM_MISSING})`}`, () => {
  it('renders, and the numbers in the DOM equal those in the JSON', async () => {
    const report = sampleReport();
    const file = join(dir, 'sample.html');
    await writeFile(file, renderHtml(report, { referenceName: 'ref.csv', currentName: 'cur.csv' }));
    const dom = await dumpDom(chromium!, file);
    expect(dom).toContain('Dataset drift detected');
    // the script-looking column name stayed text: no element was created from it
    expect(dom).not.toMatch(/<script/i);
    expect(dom).toContain('weather &lt;script&gt;alert(1)&lt;/script&gt;');
    expectDomMatchesJson(dom, renderJson(report), SAMPLE_EXPECTED);
  });

  it('takes a screenshot of the page', async () => {
    const file = join(dir, 'shot.html');
    await writeFile(file, renderHtml(sampleReport()));
    const png = join(dir, 'shot.png');
    await screenshot(chromium!, file, png, '1280,1600');
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect((await stat(png)).size).toBeGreaterThan(20_000);
  });
});
