import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TfModule from '@tensorflow/tfjs';

export type Tf = typeof TfModule;
/** tfjs backends in order of preference. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** A backend name from a setting (PERENNIAL_TF_BACKEND); unset or empty means 'the best available'. */
export function parseBackendName(value: string | undefined, setting = 'PERENNIAL_TF_BACKEND'): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${setting}='${value}' is not a backend; use one of ${BACKENDS.join(', ')} or unset it (the best available)`);
}

export interface Backend {
  name: BackendName;
  tf: Tf;
  /** Why each backend before the chosen one was not used (also logged). */
  notes: string[];
}

export interface SelectBackendOptions {
  /** Where to say which backend was chosen; default console.info. Pass () => {} to silence. */
  log?: (message: string) => void;
}

const require = createRequire(import.meta.url);
const TFJS_NODE = '@tensorflow/tfjs-node';

let wasmPathsSet = false;
const chosen = new Map<BackendName, Backend>();

async function tryTensorflow(): Promise<Tf> {
  // A variable specifier: the package is optional and usually absent.
  const specifier = TFJS_NODE;
  const mod = (await import(/* @vite-ignore */ specifier)) as { default?: Tf } & Tf;
  const tf = mod.default ?? mod;
  if (!(await tf.setBackend('tensorflow'))) throw new Error("tf.setBackend('tensorflow') returned false");
  await tf.ready();
  return tf;
}

async function tryWasm(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(path.dirname(file) + path.sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false (the .wasm files could not be loaded)");
  await tf.ready();
  return tf;
}

async function tryCpu(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') returned false");
  await tf.ready();
  return tf;
}

const loaders: Record<BackendName, () => Promise<Tf>> = { tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu };

function shortError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0] ?? message;
  if (/Cannot find (module|package)/.test(first) || (error as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND') {
    return `${TFJS_NODE} is not installed (optional dependency; its install downloads libtensorflow)`;
  }
  return first.length > 200 ? first.slice(0, 200) + '…' : first;
}

/**
 * Picks the fastest TensorFlow.js backend that loads: tfjs-node ('tensorflow'),
 * then WebAssembly ('wasm'), then pure JS ('cpu'). `preferred` starts the
 * chain lower (e.g. 'wasm' skips tfjs-node). The environment variable
 * PERENNIAL_TF_BACKEND forces one backend (no fallback: an error if it does
 * not load). Logs the choice and why the others were not taken.
 */
export async function selectBackend(preferred?: BackendName, options: SelectBackendOptions = {}): Promise<Backend> {
  const log = options.log ?? ((m: string) => console.info(m));
  const forcedRaw = parseBackendName(process.env.PERENNIAL_TF_BACKEND?.trim());
  let chain: BackendName[];
  let forced = false;
  if (forcedRaw) {
    chain = [forcedRaw];
    forced = true;
  } else {
    if (preferred !== undefined && !BACKENDS.includes(preferred)) throw new Error(`unknown backend '${String(preferred)}'; use one of ${BACKENDS.join(', ')}`);
    chain = BACKENDS.slice(BACKENDS.indexOf(preferred ?? 'tensorflow'));
  }
  const notes: string[] = [];
  if (forced) notes.push(`PERENNIAL_TF_BACKEND=${forcedRaw} forces this backend`);
  else if (preferred !== undefined && preferred !== 'tensorflow') notes.push(`backends before '${preferred}' skipped: '${preferred}' was requested`);
  for (const name of chain) {
    const cached = chosen.get(name);
    try {
      const tf = cached?.tf ?? (await loaders[name]());
      if (cached && tf.getBackend() !== name) await tf.setBackend(name);
      const backend: Backend = { name, tf, notes: [...notes] };
      chosen.set(name, backend);
      log(`[perennial:model] TensorFlow.js backend '${name}'${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
      return backend;
    } catch (error) {
      notes.push(`${name}: ${shortError(error)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${notes.join('; ')}`);
}
