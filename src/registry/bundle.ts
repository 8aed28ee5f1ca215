/**
 * The model bundle: the files of one version (model.json, weights.bin,
 * preprocessor.json, metrics.json, spec.json, and lineage.json that commits
 * them), with one way to write them (staging, then register) and one way to
 * read them back (checksums verified, each file parsed, errors naming the key).
 * Evaluation reads a champion through it; serving will too.
 */
import { ArtifactError } from '../errors';
import type { Evaluation } from '../metrics';
import { parseCalibration, type CbpeCalibration } from '../monitor/cbpe';
import type { ModelArtifacts } from '../model';
import { parsePreprocessorArtifact, serializePreprocessorArtifact, type PreprocessorArtifact } from '../preprocess';
import { parseModelSpec, readPublishedSpecBytes, type ModelSpec } from '../spec';
import { BUNDLE_FILES, deletePrefix, getVerified, keys, type BundleFile, type ObjectStore } from '../store';
import type { Registry } from './registry';
import type { BundleArtifact, Lineage } from './types';

export interface ModelBundle {
  lineage: Lineage;
  model: ModelArtifacts;
  preprocessor: PreprocessorArtifact;
  metrics: Evaluation;
  spec: ModelSpec;
}

// ---------------------------------------------------------------- staging: a run's candidate before register

export async function stagePreprocessor(store: ObjectStore, model: string, runId: string, artifact: PreprocessorArtifact): Promise<string> {
  const key = keys.stagedFile(model, runId, BUNDLE_FILES.preprocessor);
  await store.put(key, serializePreprocessorArtifact(artifact), { contentType: 'application/json' });
  return key;
}

export async function stageModel(
  store: ObjectStore,
  model: string,
  runId: string,
  artifacts: ModelArtifacts,
): Promise<{ modelJsonKey: string; weightsKey: string }> {
  const modelJsonKey = keys.stagedFile(model, runId, BUNDLE_FILES.model);
  const weightsKey = keys.stagedFile(model, runId, BUNDLE_FILES.weights);
  await store.put(modelJsonKey, artifacts.modelJson, { contentType: 'application/json' });
  await store.put(weightsKey, Buffer.from(artifacts.weights.buffer, artifacts.weights.byteOffset, artifacts.weights.byteLength));
  return { modelJsonKey, weightsKey };
}

export async function readPreprocessor(store: ObjectStore, key: string): Promise<PreprocessorArtifact> {
  return parsePreprocessorArtifact(await store.get(key), key);
}

export async function readModelArtifacts(store: ObjectStore, modelJsonKey: string, weightsKey: string): Promise<ModelArtifacts> {
  return modelArtifactsFrom(await store.get(modelJsonKey), modelJsonKey, await store.get(weightsKey));
}

/** The staging area of a run, emptied once its version holds its copies or the run gave up. */
export function clearStaging(store: ObjectStore, model: string, runId: string): Promise<number> {
  return deletePrefix(store, keys.staging(model, runId));
}

/**
 * The files register copies into a new version: the staged model and
 * preprocessor, the evaluation, and the spec the run was trained with (by hash,
 * never the spec in force, which may have changed since).
 */
export async function collectBundle(
  store: ObjectStore,
  input: { model: string; runId: string; evaluation: Evaluation; specSha256: string },
): Promise<BundleArtifact[]> {
  const staged = (name: BundleFile) => store.get(keys.stagedFile(input.model, input.runId, name));
  return [
    { name: BUNDLE_FILES.model, body: await staged(BUNDLE_FILES.model) },
    { name: BUNDLE_FILES.weights, body: await staged(BUNDLE_FILES.weights) },
    { name: BUNDLE_FILES.preprocessor, body: await staged(BUNDLE_FILES.preprocessor) },
    { name: BUNDLE_FILES.metrics, body: Buffer.from(JSON.stringify(input.evaluation, null, 2) + '\n') },
    { name: BUNDLE_FILES.spec, body: await readPublishedSpecBytes(store, input.model, input.specSha256) },
  ];
}

// ---------------------------------------------------------------- reading a registered version

/** A version's bundle, every file checked against its lineage sha256 and parsed; errors name the key. */
export async function loadBundle(registry: Registry, model: string, version: string): Promise<ModelBundle> {
  const { lineage, artifacts } = await registry.loadArtifacts(model, version);
  const file = (name: BundleFile): Buffer => {
    const body = artifacts.get(name);
    if (!body) throw new ArtifactError(keys.versionFile(model, version, name), `missing from the version's lineage; the version is incomplete`);
    return body;
  };
  const keyOf = (name: BundleFile) => keys.versionFile(model, version, name);
  return {
    lineage,
    model: modelArtifactsFrom(file(BUNDLE_FILES.model), keyOf(BUNDLE_FILES.model), file(BUNDLE_FILES.weights)),
    preprocessor: parsePreprocessorArtifact(file(BUNDLE_FILES.preprocessor), keyOf(BUNDLE_FILES.preprocessor)),
    metrics: parseJsonFile<Evaluation>(file(BUNDLE_FILES.metrics), keyOf(BUNDLE_FILES.metrics)),
    spec: parseModelSpec(parseJsonFile<unknown>(file(BUNDLE_FILES.spec), keyOf(BUNDLE_FILES.spec)), keyOf(BUNDLE_FILES.spec)),
  };
}

/**
 * A version's CBPE calibration (metrics.json `calibration`, checked against its
 * lineage sha256), or why it has none: a regression model, or a version
 * registered before calibrations were stored (no estimate before labels).
 */
export async function readCalibration(
  registry: Registry,
  model: string,
  version: string,
): Promise<{ calibration: CbpeCalibration } | { calibration: null; reason: string }> {
  const lineage = await registry.getLineage(model, version);
  if (!lineage) throw new ArtifactError(keys.versionFile(model, version, 'lineage.json'), `no version '${version}' of '${model}' in the registry`);
  if (lineage.task !== 'classification')
    return { calibration: null, reason: `${model}/${version} is a ${lineage.task} model: CBPE estimates classifiers only` };
  const ref = lineage.artifacts.find((a) => a.name === BUNDLE_FILES.metrics);
  const key = keys.versionFile(model, version, BUNDLE_FILES.metrics);
  if (!ref) throw new ArtifactError(key, `missing from the version's lineage; the version is incomplete`);
  const evaluation = parseJsonFile<Evaluation>(await getVerified(registry.store, ref.key, ref.sha256), ref.key);
  if (evaluation.calibration === undefined) {
    return {
      calibration: null,
      reason: `${model}/${version} has no CBPE calibration (registered before calibrations were stored with versions); retrain the model to estimate its performance before labels arrive`,
    };
  }
  return { calibration: parseCalibration(evaluation.calibration, ref.key) };
}

function parseJsonFile<T>(body: Buffer, key: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (error) {
    throw new ArtifactError(key, `not valid JSON (${(error as Error).message})`);
  }
}

function modelArtifactsFrom(modelJson: Buffer, modelJsonKey: string, weights: Buffer): ModelArtifacts {
  const text = modelJson.toString('utf8');
  const parsed = parseJsonFile<{ modelTopology?: unknown; weightsManifest?: unknown }>(modelJson, modelJsonKey);
  if (!parsed.modelTopology || !Array.isArray(parsed.weightsManifest)) {
    throw new ArtifactError(modelJsonKey, 'not a tfjs model.json (no modelTopology or weightsManifest)');
  }
  return { modelJson: text, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) };
}
