import { keys, putJson, sha256, type ObjectStore } from '../store';
import { parseModelSpec, SpecError, type ModelSpec } from './model-spec';

export class SpecNotFoundError extends Error {
  constructor(model: string, where: string) {
    super(`model '${model}' has no spec at ${where}: upload one with 'npx perennial retrain --model ${model} --spec <file.yaml>' or 'npx perennial bootstrap'`);
    this.name = 'SpecNotFoundError';
  }
}

/** Makes a (validated) spec the model's spec in force: models/<model>/spec.json. */
export async function publishSpec(store: ObjectStore, spec: ModelSpec): Promise<string> {
  const key = keys.spec(spec.name);
  await putJson(store, key, spec);
  return key;
}

/** The model's spec in force, with the sha256 of its bytes (recorded in lineage). */
export async function loadPublishedSpec(store: ObjectStore, model: string): Promise<{ spec: ModelSpec; key: string; sha256: string }> {
  const key = keys.spec(model);
  const found = await store.getIfExists(key);
  const where = `${store.description}/${key}`;
  if (!found) throw new SpecNotFoundError(model, where);
  let value: unknown;
  try {
    value = JSON.parse(found.body.toString('utf8'));
  } catch (error) {
    throw new SpecError(where, [`not valid JSON: ${(error as Error).message}`]);
  }
  return { spec: parseModelSpec(value, where), key, sha256: sha256(found.body) };
}
