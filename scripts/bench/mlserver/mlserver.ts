/**
 * MLServer beside `perennial serve` in scripts/bench/serve.ts: a venv with
 * mlserver and mlserver-sklearn (created on first use), a scikit-learn MLP
 * trained on the matrix Perennial's preprocessor produced for the same training
 * rows (train.py), and `mlserver start` on free ports. Every step that fails
 * throws an Error whose message says why, for the benchmark to print.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const HERE = new URL('.', import.meta.url).pathname;
/**
 * mlserver pinned: figures from one run to the next compare the same server. uvloop below 0.22: with 0.22,
 * mlserver 1.7.1's parallel inference workers die at start (SeldonIO/MLServer#2286, fix not released).
 * scikit-learn, pandas: what pip resolves with them.
 */
const PACKAGES = ['mlserver==1.7.1', 'mlserver-sklearn==1.7.1', 'uvloop<0.22', 'scikit-learn', 'pandas', 'joblib'];
const BLAS_THREADS = ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'];
const PROBE = [
  'import mlserver, mlserver_sklearn, sklearn, pandas, joblib, uvloop',
  'assert mlserver.__version__ == "1.7.1", mlserver.__version__',
  'assert tuple(int(p) for p in uvloop.__version__.split(".")[:2]) < (0, 22), uvloop.__version__',
].join('; ');

interface Ran {
  code: number;
  output: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (error) => done({ code: -1, output: error.message }));
    child.on('close', (code) => done({ code: code ?? -1, output }));
  });
}

const tail = (text: string, lines = 8) => text.trim().split('\n').slice(-lines).join('\n');

/** The venv's python, with PACKAGES importable; the venv is created, and the packages installed, when missing. */
export async function ensureVenv(python: string, venv: string, log: (line: string) => void): Promise<string> {
  const venvPython = join(venv, 'bin', 'python');
  const probe = () => run(venvPython, ['-c', PROBE]);
  if (existsSync(venvPython) && (await probe()).code === 0) return venvPython;
  const version = await run(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
  if (version.code !== 0) throw new Error(`no Python: '${python} -c ...' failed (${tail(version.output, 2)}); pass --python <path>`);
  const [major, minor] = version.output.trim().split('.').map(Number);
  if (major !== 3 || minor! < 9 || minor! > 12)
    throw new Error(`mlserver 1.7 needs Python 3.9 to 3.12, ${python} is ${version.output.trim()}; pass --python <path>`);
  if (!existsSync(venvPython)) {
    log(`creating ${venv} (Python ${version.output.trim()})`);
    const created = await run(python, ['-m', 'venv', venv]);
    if (created.code !== 0) throw new Error(`'${python} -m venv ${venv}' failed: ${tail(created.output)}`);
  }
  log(`installing ${PACKAGES.join(' ')} into ${venv} (a minute or two, once)`);
  const installed = await run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PACKAGES]);
  if (installed.code !== 0) throw new Error(`pip install into ${venv} failed: ${tail(installed.output)}`);
  const after = await probe();
  if (after.code !== 0) throw new Error(`after pip install, the packages do not import: ${tail(after.output)}`);
  return venvPython;
}

/** What train.py reads: the version's preprocessor and params, the encoded training and holdout rows, and the request rows with Perennial's encoding of them. */
export interface TrainingExport {
  preprocessor: unknown;
  classes: string[];
  params: { hiddenUnits: number[]; activation: string; learningRate: number; epochs: number; batchSize: number; seed: number; classWeight: string };
  train: { x: number[]; rows: number; cols: number; y: number[] };
  holdout: { x: number[]; rows: number; cols: number; y: number[] };
  check: { columns: Record<string, (number | string | null)[]>; x: number[]; rows: number; cols: number };
}

export interface TrainSummary {
  trainRows: number;
  inputColumns: number;
  hidden: number[];
  activation: string;
  trainAccuracy: number;
  holdoutAccuracy: number;
  encodingMaxDiff: number;
  sklearn: string;
  pandas: string;
  numpy: string;
}

export interface MlserverOptions {
  python: string;
  venv: string;
  /** Scratch folder of this run: export, model repository, settings, log. */
  workDir: string;
  model: string;
  version: string;
  data: TrainingExport;
  /** MLServer's parallel_workers (0: inference in the HTTP process). */
  workers: number;
  ports: { http: number; grpc: number; metrics: number };
  log: (line: string) => void;
}

export interface RunningMlserver {
  base: string;
  trained: TrainSummary;
  mlserverVersion: string;
  logPath: string;
  stop: () => Promise<void>;
}

export async function startMlserver(o: MlserverOptions): Promise<RunningMlserver> {
  const venv = resolve(o.venv);
  const venvPython = await ensureVenv(o.python, venv, o.log);
  const env = {
    ...process.env,
    PYTHONPATH: [HERE, process.env.PYTHONPATH].filter(Boolean).join(':'),
    PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in scripts/bench/mlserver
    // One BLAS thread per process, as one runs several inference workers: on a small machine, each worker's
    // own BLAS thread pool spinning beside the others costs MLServer a third of its throughput at 8 clients.
    ...Object.fromEntries(BLAS_THREADS.map((name) => [name, '1'])),
  };
  const repo = join(o.workDir, 'models');
  const modelDir = join(repo, o.model);
  await mkdir(modelDir, { recursive: true });
  const exportPath = join(o.workDir, 'export.json');
  await writeFile(exportPath, JSON.stringify(o.data));
  const trained = await run(venvPython, [join(HERE, 'train.py'), exportPath, join(modelDir, 'model.joblib')], { env });
  if (trained.code !== 0) throw new Error(`train.py failed: ${tail(trained.output)}`);
  const summary = JSON.parse(trained.output.trim().split('\n').at(-1)!) as TrainSummary;

  await writeFile(
    join(modelDir, 'model-settings.json'),
    JSON.stringify(
      {
        name: o.model,
        implementation: 'mlserver_sklearn.SKLearnModel',
        // content_type 'pd': the request's tensors (one per column) become a DataFrame, as MLServer's pandas codec reads them.
        parameters: { uri: './model.joblib', version: o.version, content_type: 'pd' },
      },
      null,
      2,
    ),
  );
  await writeFile(
    join(repo, 'settings.json'),
    JSON.stringify(
      {
        debug: false, // no access log line per request
        host: '127.0.0.1',
        http_port: o.ports.http,
        grpc_port: o.ports.grpc,
        metrics_port: o.ports.metrics,
        parallel_workers: o.workers,
        metrics_dir: join(resolve(o.workDir), '.metrics'),
        environments_dir: join(resolve(o.workDir), '.envs'),
      },
      null,
      2,
    ),
  );
  const version = await run(venvPython, ['-c', 'import mlserver; print(mlserver.__version__)']);

  const logPath = join(o.workDir, 'mlserver.log');
  const logFile = createWriteStream(logPath);
  // Its own process group: stop() ends the server and its inference workers together.
  const server: ChildProcess = spawn(join(venv, 'bin', 'mlserver'), ['start', resolve(repo)], {
    cwd: o.workDir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.pipe(logFile);
  server.stderr!.pipe(logFile);
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((r) => {
    server.once('exit', (code) => {
      exited = code;
      r();
    });
    server.once('error', (error) => {
      exited = error.message;
      r();
    });
  });
  // If the benchmark dies before stop(), the server must not outlive it.
  const orphaned = () => {
    try {
      if (server.pid) process.kill(-server.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  };
  process.once('exit', orphaned);
  const stop = async () => {
    process.off('exit', orphaned);
    if (exited !== undefined) return;
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-server.pid!, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }, 15_000);
    await exit;
    clearTimeout(killer);
  };

  const base = `http://127.0.0.1:${o.ports.http}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`mlserver ended (${exited}) before it was ready:\n${tail(await readFile(logPath, 'utf8'), 15)}`);
    const ready = await fetch(`${base}/v2/models/${o.model}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mlserver was not ready within 180 s:\n${tail(await readFile(logPath, 'utf8'), 15)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { base, trained: summary, mlserverVersion: version.output.trim(), logPath, stop };
}
