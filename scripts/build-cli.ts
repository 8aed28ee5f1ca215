/**
 * npm run build:cli — precompiles the CLI for a fast start (`npm ci` and
 * `npm install` run it through `prepare`). bin/perennial.mjs runs the commands
 * of PRECOMPILED from this build when the build is fresh, and everything else, or
 * any command when the build is missing or stale, from the TypeScript source
 * through tsx, as before: a developer's edit works at once.
 *
 * Output: node_modules/.cache/perennial/cli/ (ignored by git, ESLint, Prettier,
 * knip and Vitest; removed with node_modules): an esbuild bundle of
 * src/cli/main.ts (code split, so a command loads only its own modules;
 * packages load from node_modules, but for @duckdb/node-api), the drift worker
 * (worker.js, with worker-bootstrap.mjs beside it, which loads it), and
 * manifest.json: the commands, and every source file they load from the
 * bundle (and the package.json of each package bundled) with its size and
 * mtime. The build is stale as soon as one of them differs or is gone.
 *
 * Never fails an install: without esbuild, or when the build fails, it says
 * so, leaves no build and exits 0.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Where bin/perennial.mjs looks (PERENNIAL_CLI_BUILD overrides it there; --out here, for tests). */
const OUT_DIR = resolve(parseArgs({ options: { out: { type: 'string' } } }).values.out ?? join(ROOT, 'node_modules/.cache/perennial/cli'));
const BOOTSTRAP = join(ROOT, 'src/drift/batch/worker-bootstrap.mjs');

/** The part of esbuild's API used here (esbuild ships with tsx; it is not a dependency of its own). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ metafile: Metafile }>;
}

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }>;
}

/**
 * The commands bin/perennial.mjs runs from the build (it reads them from the
 * manifest): their modules never find files by their own path, which a
 * bundle moves (test/unit/cli-build.test.ts checks it). The others (validate,
 * the worker, training children, serve, Temporal clients) run from source.
 */
const PRECOMPILED = ['drift', 'drift-stream'];

/**
 * The source files the precompiled commands load: main's own chunk and what
 * it imports statically, each command's chunk and everything it imports (its
 * lazy imports too), and the drift worker's. An edit anywhere else (a
 * workflow, another command) leaves the build fresh.
 */
function loadedInputs(meta: Metafile): string[] {
  const outputs = Object.entries(meta.outputs);
  const seen = new Set<string>();
  const visit = (file: string, lazyToo: boolean) => {
    const output = meta.outputs[file];
    if (!output || seen.has(file)) return;
    seen.add(file);
    for (const i of output.imports) if (lazyToo || i.kind !== 'dynamic-import') visit(i.path, lazyToo);
  };
  const entry = (source: string) => {
    const found = outputs.find(([, o]) => o.entryPoint === source);
    if (!found) throw new Error(`no chunk for ${source} in the bundle`);
    return found[0];
  };
  visit(entry('src/cli/main.ts'), false);
  for (const source of ['src/drift/batch/worker.ts', ...PRECOMPILED.map((c) => `src/cli/${c}.ts`)]) visit(entry(source), true);
  return [...new Set([...seen].flatMap((file) => Object.keys(meta.outputs[file]!.inputs)))];
}

/** Packages bundled into the build: every other import of a package is left to Node (node_modules). */
const BUNDLED = /^@duckdb\/node-api(\/|$)/;

/** esbuild's `packages: 'external'`, but for the packages `bundled` matches. */
function externalPackagesBut(bundled: RegExp) {
  return {
    name: 'external-packages',
    setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string }) => { external: true } | undefined): void }) {
      // Bare specifiers (not ./, ../ or absolute): packages and node: builtins.
      build.onResolve({ filter: /^[^./]/ }, (args) => (bundled.test(args.path) ? undefined : { external: true }));
    },
  };
}

function loadEsbuild(): Esbuild {
  const fromRoot = createRequire(join(ROOT, 'package.json'));
  return createRequire(fromRoot.resolve('tsx/package.json'))('esbuild') as Esbuild;
}

async function main(): Promise<void> {
  const started = performance.now();
  let esbuild: Esbuild;
  try {
    esbuild = loadEsbuild();
  } catch (error) {
    console.log(`build-cli: skipped, esbuild not found (${(error as Error).message}); the CLI runs from source through tsx`);
    return;
  }
  // Built beside, then moved in place: a CLI starting meanwhile sees the old build or the new, never half of one.
  const staging = `${OUT_DIR}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { main: join(ROOT, 'src/cli/main.ts'), worker: join(ROOT, 'src/drift/batch/worker.ts') },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Packages load from node_modules, except DuckDB's Node API: 124 CommonJS files that Node reads and
      // scans one by one (about 0.2 s of every start), bundled here into the chunk that uses it. Its
      // require() of the native bindings (kept outside) needs a require in each ES module chunk.
      plugins: [externalPackagesBut(BUNDLED)],
      banner: { js: "import { createRequire as __perennialRequire } from 'node:module'; const require = __perennialRequire(import.meta.url);" },
      chunkNames: 'chunk-[hash]',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
    });
    // ES modules: Node looks for the package.json that says so no further up than node_modules.
    writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
    // The worker pool starts ./worker-bootstrap.mjs beside its own module, which loads ./worker.js when it is there.
    copyFileSync(BOOTSTRAP, join(staging, 'worker-bootstrap.mjs'));
    // The sources, and for a bundled package its package.json (a new install or version of it rewrites that).
    const loaded = loadedInputs(result.metafile);
    const packages = new Set(
      loaded
        .map((p) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1])
        .filter((p): p is string => p !== undefined)
        .map((p) => `${p}/package.json`),
    );
    const files = [...loaded.filter((p) => !p.includes('node_modules/')), relative(ROOT, BOOTSTRAP), ...packages].sort();
    const inputs = files.map((path) => {
      const s = statSync(join(ROOT, path));
      return { path, size: s.size, mtimeMs: s.mtimeMs };
    });
    // esbuild's own account of the bundle (which chunk holds which module, what each imports), for the tests.
    writeFileSync(join(staging, 'metafile.json'), JSON.stringify(result.metafile));
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify({ builtAt: new Date().toISOString(), commands: PRECOMPILED, inputs }) + '\n');
    rmSync(OUT_DIR, { recursive: true, force: true });
    renameSync(staging, OUT_DIR);
    console.log(`build-cli: ${PRECOMPILED.join(', ')} (${inputs.length} source files) into ${OUT_DIR}/ in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    // A build that fails (a file being edited) leaves no build behind: the CLI runs from source.
    rmSync(staging, { recursive: true, force: true });
    rmSync(OUT_DIR, { recursive: true, force: true });
    console.error(`build-cli: failed, so the CLI runs from source through tsx: ${(error as Error).message}`);
  }
}

await main();
