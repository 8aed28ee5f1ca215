import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's chromium (apt-get install -y chromium); null when it is not installed. */
export function findChromium(): string | null {
  for (const path of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p)) {
    if (existsSync(path)) return path;
  }
  return null;
}

export const CHROMIUM_MISSING = 'chromium is not installed (/usr/bin/chromium; apt-get install -y chromium)';

/**
 * findChromium for a test file: where CI sets PERENNIAL_REQUIRE_CHROMIUM a
 * missing browser fails (throws), never skips; elsewhere it warns and the
 * caller skips its browser checks.
 */
export function chromiumForTests(testFile: string): string | null {
  const chromium = findChromium();
  if (chromium) return chromium;
  if (process.env.PERENNIAL_REQUIRE_CHROMIUM) throw new Error(`chromium is required here (PERENNIAL_REQUIRE_CHROMIUM is set) but ${CHROMIUM_MISSING}`);
  console.warn(`${testFile}: SKIPPED: ${CHROMIUM_MISSING}`);
  return null;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
];

async function withProfile<T>(fn: (profile: string) => Promise<T>): Promise<T> {
  const profile = await mkdtemp(join(tmpdir(), 'perennial-chromium-'));
  try {
    return await fn(profile);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM after the page has rendered (chromium --dump-dom). */
export async function dumpDom(chromium: string, htmlFile: string): Promise<string> {
  return withProfile(async (profile) => {
    const { stdout } = await run(chromium, [...FLAGS, `--user-data-dir=${profile}`, '--dump-dom', pathToFileURL(htmlFile).href], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 90_000,
    });
    return stdout;
  });
}

export async function screenshot(chromium: string, htmlFile: string, png: string, size = '1280,2400'): Promise<void> {
  await withProfile(async (profile) => {
    await run(chromium, [...FLAGS, `--user-data-dir=${profile}`, `--screenshot=${png}`, `--window-size=${size}`, pathToFileURL(htmlFile).href], {
      timeout: 90_000,
    });
  });
}
