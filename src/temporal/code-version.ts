import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CodeVersion } from '../registry/types';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The code that trains, for lineage: PERENNIAL_CODE_VERSION when set (images,
 * CI), else the git commit of this checkout and whether it has local changes.
 */
export function detectCodeVersion(env: NodeJS.ProcessEnv = process.env): CodeVersion {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { name: string; version: string };
  const packageId = `${pkg.name}@${pkg.version}`;
  if (env.PERENNIAL_CODE_VERSION) return { version: env.PERENNIAL_CODE_VERSION, dirty: false, package: packageId };
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const version = git('rev-parse', 'HEAD');
    // Only code counts as dirty: local data, notes and tool caches do not change a model.
    const dirty = git('status', '--porcelain', '--', 'src', 'workflows', 'activities', 'package.json', 'package-lock.json') !== '';
    return { version, dirty, package: packageId };
  } catch {
    return { version: 'unknown', dirty: false, package: packageId };
  }
}
