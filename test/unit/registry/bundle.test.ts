/** A version's bundle read back: every file checked and parsed, and an error that names the key of a bad one. */
import { describe, expect, it } from 'vitest';
import { ArtifactError, SpecError } from '../../../src/errors';
import { WEATHER_SPEC_PATH } from '../../../src/demo/weather';
import { loadBundle } from '../../../src/registry/bundle';
import { loadModelSpecFile } from '../../../src/spec';
import { Registry } from '../../../src/registry/registry';
import type { BundleArtifact } from '../../../src/registry/types';
import { MemoryStore } from '../../../src/store/memory-store';
import { MODEL, NOW, testLineage } from './lineage-fixture';

const modelJson = JSON.stringify({ format: 'layers-model', modelTopology: { config: {} }, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] });
const preprocessor = JSON.stringify({
  preprocessor: { format: 'perennial-preprocessor', version: 1, features: [], columns: [], rowsFitted: 0 },
  labels: { kind: 'classification', label: 'weather', classes: ['rain', 'sun'], counts: [1, 1] },
});
// The demo's real spec, as published.
const spec = JSON.stringify({ ...(await loadModelSpecFile(WEATHER_SPEC_PATH)), name: MODEL });

function bundle(over: Partial<Record<BundleArtifact['name'], string>> = {}): BundleArtifact[] {
  const files: Record<BundleArtifact['name'], string> = {
    'model.json': modelJson,
    'weights.bin': 'weights',
    'preprocessor.json': preprocessor,
    'metrics.json': JSON.stringify({ reportKey: 'r', candidate: testLineage('x').metrics, champion: null, baseline: 0.5, gate: { passed: true, checks: [] } }),
    'spec.json': spec,
    ...over,
  };
  return Object.entries(files).map(([name, body]) => ({ name: name as BundleArtifact['name'], body: Buffer.from(body) }));
}

async function registered(over: Parameters<typeof bundle>[0] = {}) {
  const registry = new Registry(new MemoryStore());
  await registry.register(MODEL, bundle(over), testLineage('run-a'), NOW);
  return registry;
}

describe('loadBundle', () => {
  it('reads every file of a version as what it is', async () => {
    const loaded = await loadBundle(await registered(), MODEL, 'v1');
    expect(loaded.lineage.version).toBe('v1');
    expect(loaded.model.modelJson).toBe(modelJson);
    expect(Buffer.from(loaded.model.weights).toString()).toBe('weights');
    expect(loaded.preprocessor.labels).toMatchObject({ kind: 'classification', classes: ['rain', 'sun'] });
    expect(loaded.metrics.baseline).toBe(0.5);
    expect(loaded.spec.name).toBe(MODEL);
  });

  it('refuses a model.json that does not parse, naming its key (its sha256 matches: it was stored broken)', async () => {
    const error = await loadBundle(await registered({ 'model.json': '{"modelTopology": ' }), MODEL, 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as Error).message).toMatch(/^models\/weather\/versions\/v1\/model\.json: not valid JSON/);
  });

  it('refuses a model.json that is JSON but not a tfjs model', async () => {
    await expect(loadBundle(await registered({ 'model.json': '{"layers": 2}' }), MODEL, 'v1')).rejects.toThrow(
      'models/weather/versions/v1/model.json: not a tfjs model.json (no modelTopology or weightsManifest)',
    );
  });

  it('refuses a preprocessor and a spec that are not what they claim, naming their keys', async () => {
    await expect(loadBundle(await registered({ 'preprocessor.json': '{"preprocessor": {}}' }), MODEL, 'v1')).rejects.toThrow(
      /models\/weather\/versions\/v1\/preprocessor\.json: not a fitted preprocessor/,
    );
    const badSpec = await loadBundle(await registered({ 'spec.json': '{"name": "weather"}' }), MODEL, 'v1').catch((e: unknown) => e);
    expect(badSpec).toBeInstanceOf(SpecError);
    expect((badSpec as Error).message).toContain('models/weather/versions/v1/spec.json: the model spec is not valid');
  });

  it('says which file a version lacks', async () => {
    const registry = new Registry(new MemoryStore());
    await registry.register(
      MODEL,
      bundle().filter((f) => f.name !== 'preprocessor.json'),
      testLineage('run-a'),
      NOW,
    );
    await expect(loadBundle(registry, MODEL, 'v1')).rejects.toThrow("models/weather/versions/v1/preprocessor.json: missing from the version's lineage");
  });
});
