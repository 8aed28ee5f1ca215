import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSpecFile, parseModelSpec, SpecError } from '../../../src/spec/model-spec';

const WEATHER_YAML = fileURLToPath(new URL('../../../models/weather.yaml', import.meta.url));

/** A small valid spec; each test breaks one thing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test breaks the spec in its own way, past what its type allows
function base(): any {
  return {
    name: 'demo',
    task: 'classification',
    label: 'kind',
    data: { timeColumn: 'date' },
    schema: {
      fields: [
        { name: 'date', type: 'date' },
        { name: 'temp', type: 'number' },
        { name: 'city', type: 'category' },
        { name: 'kind', type: 'category', values: ['rain', 'sun'] },
      ],
    },
    features: [
      { name: 'temp', kind: 'numeric' },
      { name: 'city', kind: 'categorical' },
    ],
  };
}

/** The problems listed by the SpecError thrown for `value`. */
function problems(value: unknown, source = 'demo.yaml'): string[] {
  try {
    parseModelSpec(value, source);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).message.startsWith(`${source}: the model spec is not valid:\n  - `)).toBe(true);
    return (error as SpecError).problems;
  }
  throw new Error('expected the spec to be refused');
}

describe('loadModelSpecFile on models/weather.yaml', () => {
  it('loads the demo spec as written', async () => {
    const spec = await loadModelSpecFile(WEATHER_YAML);
    expect(spec.name).toBe('weather');
    expect(spec.task).toBe('classification');
    expect(spec.label).toBe('weather');
    expect(spec.data).toEqual({ timeColumn: 'date', window: { kind: 'days', days: 1461 }, errorBudget: 0.05 });
    expect(spec.schema.fields.map((f) => f.name)).toEqual(['location', 'date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
    expect(spec.schema.fields.find((f) => f.name === 'weather')).toEqual({
      name: 'weather',
      type: 'category',
      values: ['drizzle', 'fog', 'rain', 'snow', 'sun'],
      nullable: false,
    });
    expect(spec.features.map((f) => f.name)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind', 'location', 'date']);
  });

  it('fills the defaults the file leaves out', async () => {
    const spec = await loadModelSpecFile(WEATHER_YAML);
    // schema: nullable defaults to true where not written
    expect(spec.schema.fields.find((f) => f.name === 'location')?.nullable).toBe(true);
    expect(spec.schema.fields.find((f) => f.name === 'date')?.nullable).toBe(false);
    // features
    expect(spec.features[0]).toEqual({ name: 'precipitation', kind: 'numeric', impute: 'median', scale: 'standard' });
    expect(spec.features[4]).toEqual({ name: 'location', kind: 'categorical', impute: 'most_frequent' });
    expect(spec.features[5]).toEqual({ name: 'date', kind: 'date', parts: ['month_cyclic'] });
    // model params: written ones kept, the rest defaulted
    expect(spec.model).toEqual({
      hiddenUnits: [32, 16],
      activation: 'relu',
      dropout: 0,
      learningRate: 0.01,
      epochs: 40,
      batchSize: 64,
      seed: 42,
      optimizer: 'adam',
      classWeight: 'balanced',
    });
    expect(spec.evaluation.holdoutFraction).toBe(0.2);
    expect(spec.evaluation.gate).toEqual({ minAccuracy: 0.6, mustBeatBaseline: true, maxRegression: { metric: 'macroF1', by: 0.02 } });
  });
});

describe('parseModelSpec', () => {
  it('accepts a minimal spec and fills every default', () => {
    const spec = parseModelSpec(base());
    expect(spec.data).toEqual({ timeColumn: 'date', window: { kind: 'all' }, errorBudget: 0.05 });
    expect(spec.schema.maxMissingRate).toBe(0.2);
    expect(spec.evaluation).toEqual({ holdoutFraction: 0.2, gate: {} });
    expect(spec.model.epochs).toBe(40);
    expect(spec.model.hiddenUnits).toEqual([32, 16]);
  });

  it('names features[2].name when a feature is not in the schema', () => {
    const spec = base();
    spec.features.push({ name: 'humidity', kind: 'numeric' });
    expect(problems(spec)).toEqual(["features[2].name: 'humidity' is not a field of schema.fields"]);
  });

  it('refuses a release loss that does not fit the task, naming release.loss', () => {
    expect(problems({ ...base(), release: { strategy: 'shadow', loss: 'absolute' } })).toEqual([
      "release.loss: a classifier's loss is 'error' (its 0/1 error)",
    ]);
    expect(parseModelSpec({ ...base(), release: { strategy: 'shadow', loss: 'error' } }).release).toMatchObject({ strategy: 'shadow', loss: 'error' });
  });

  it('refuses a classification label that is not a category with values', () => {
    const noValues = base();
    noValues.schema.fields[3] = { name: 'kind', type: 'category' };
    expect(problems(noValues)).toEqual(["label: a classification label must be a schema field of type 'category' with its allowed 'values'"]);
    const numeric = base();
    numeric.label = 'temp';
    numeric.features = [{ name: 'city', kind: 'categorical' }];
    expect(problems(numeric)).toEqual(["label: a classification label must be a schema field of type 'category' with its allowed 'values'"]);
  });

  it('refuses a regression label that is not a number', () => {
    const spec = base();
    spec.task = 'regression';
    expect(problems(spec)).toEqual(["label: a regression label must be a schema field of type 'number'"]);
    const ok = base();
    ok.task = 'regression';
    ok.label = 'temp';
    ok.features = [{ name: 'city', kind: 'categorical' }];
    expect(parseModelSpec(ok).label).toBe('temp');
  });

  it('refuses a label that is not in the schema', () => {
    const spec = base();
    spec.label = 'outcome';
    expect(problems(spec)).toEqual(["label: 'outcome' is not a field of schema.fields"]);
  });

  it('refuses the label used as a feature, and a feature kind that does not fit its field', () => {
    const asFeature = base();
    asFeature.features.push({ name: 'kind', kind: 'categorical' });
    expect(problems(asFeature)).toEqual(["features[2].name: the label 'kind' cannot also be a feature"]);
    const wrongKind = base();
    wrongKind.features[1] = { name: 'city', kind: 'numeric' };
    expect(problems(wrongKind)).toEqual(["features[1].kind: 'city' is a category field; a numeric feature needs a number field"]);
    const notDate = base();
    notDate.features.push({ name: 'temp_d', kind: 'date', parts: ['year'] });
    notDate.schema.fields.push({ name: 'temp_d', type: 'number' });
    expect(problems(notDate)).toEqual(["features[2].kind: 'temp_d' is a number field; a date feature needs a date field"]);
  });

  it('refuses a time column that is not in the schema', () => {
    const spec = base();
    spec.data.timeColumn = 'day';
    expect(problems(spec)).toEqual(["data.timeColumn: 'day' is not a field of schema.fields"]);
  });

  it('refuses an unknown top-level key, naming it', () => {
    const spec = base();
    spec.lable = 'kind';
    const found = problems(spec);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^\(top level\): .*"lable"/);
  });

  it('refuses an unknown key inside data (strict)', () => {
    const spec = base();
    spec.data.windows = { kind: 'all' };
    const found = problems(spec);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^data: .*"windows"/);
  });

  it('refuses a bad window kind, listing the kinds', () => {
    const spec = base();
    spec.data.window = { kind: 'weeks', weeks: 2 };
    const found = problems(spec);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^data\.window\.kind: /);
    for (const kind of ['all', 'rows', 'days']) expect(found[0]).toContain(`'${kind}'`);
  });

  it('refuses a too small rows window, naming maxRows', () => {
    const spec = base();
    spec.data.window = { kind: 'rows', maxRows: 9 };
    expect(problems(spec)).toEqual(['data.window.maxRows: Too small: expected number to be >=10']);
  });

  it('refuses holdoutFraction out of (0, 1)', () => {
    for (const [fraction, expected] of [
      [1, 'evaluation.holdoutFraction: Too big: expected number to be <1'],
      [0, 'evaluation.holdoutFraction: Too small: expected number to be >0'],
      [-0.1, 'evaluation.holdoutFraction: Too small: expected number to be >0'],
    ] as const) {
      const spec = base();
      spec.evaluation = { holdoutFraction: fraction };
      expect(problems(spec)).toEqual([expected]);
    }
    const ok = base();
    ok.evaluation = { holdoutFraction: 0.3 };
    expect(parseModelSpec(ok).evaluation).toEqual({ holdoutFraction: 0.3, gate: {} });
  });

  it('refuses a model name with upper case or other characters, saying what is allowed', () => {
    for (const name of ['Weather', 'my model', '-lead', '']) {
      const spec = base();
      spec.name = name;
      expect(problems(spec)).toEqual(['name: lower-case letters, digits, - and _ (at most 63), starting with a letter or digit']);
    }
    for (const name of ['weather', 'w-2', 'a_b', '9lives', 'x'.repeat(63)]) {
      const spec = base();
      spec.name = name;
      expect(parseModelSpec(spec).name).toBe(name);
    }
    const long = base();
    long.name = 'x'.repeat(64);
    expect(problems(long)).toHaveLength(1);
  });

  it('reports every problem at once, each with its path', () => {
    const spec = base();
    spec.name = 'Bad';
    spec.features.push({ name: 'humidity', kind: 'numeric' });
    spec.schema.fields[1].type = 'float';
    const found = problems(spec);
    expect(found.some((p) => p.startsWith('name: '))).toBe(true);
    expect(found.some((p) => p.startsWith('schema.fields[1].type: '))).toBe(true);
  });

  it('names a feature listed twice', () => {
    const spec = base();
    spec.features.push({ name: 'temp', kind: 'numeric' });
    expect(problems(spec)).toEqual(["features[2].name: feature 'temp' is listed twice"]);
  });

  it("uses 'model spec' as the source when none is given", () => {
    expect(() => parseModelSpec({})).toThrow(/^model spec: the model spec is not valid:/);
  });
});

/** The SpecError that loading `path` fails with. */
async function loadError(path: string): Promise<SpecError> {
  try {
    await loadModelSpecFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return error as SpecError;
  }
  throw new Error(`expected loading ${path} to fail`);
}

describe('loadModelSpecFile errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perennial-spec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a file that does not exist', async () => {
    const path = join(dir, 'absent.yaml');
    const error = await loadError(path);
    expect(error).toBeInstanceOf(SpecError);
    expect(error.message).toBe(`${path}: the model spec is not valid:\n  - cannot read the file: ENOENT`);
  });

  it('names a file that is not valid YAML, with the parser position', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'name: demo\n  task: [unclosed\n');
    const error = await loadError(path);
    expect(error).toBeInstanceOf(SpecError);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^not valid YAML: .*line 1/);
    expect(error.message.startsWith(`${path}: `)).toBe(true);
  });

  it('reads .json as JSON and names a broken one', async () => {
    const good = join(dir, 'spec.json');
    await writeFile(good, JSON.stringify(base()));
    expect((await loadModelSpecFile(good)).name).toBe('demo');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"name":');
    const error = await loadError(bad);
    expect(error.message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the model spec is not valid:\\n  - not valid JSON: `));
  });

  it('names the file and field when YAML parses but the spec is wrong', async () => {
    const path = join(dir, 'wrong.yaml');
    await writeFile(path, 'name: demo\ntask: clustering\n');
    const error = await loadError(path);
    expect(error.message.startsWith(`${path}: the model spec is not valid:`)).toBe(true);
    expect(error.problems.some((p) => p.startsWith('task: '))).toBe(true);
    expect(error.problems.some((p) => p.startsWith('label: '))).toBe(true);
  });
});
