/**
 * Model spec files a careful user gets wrong, read as the CLI reads them
 * (loadModelSpecFile): each is refused with a SpecError that names the file
 * and, for each problem, the field path; messages are short and printable.
 * Cases already in model-spec.test.ts (unknown top-level key, unknown key in
 * data, label not a schema field, label also a feature, unknown task, bad
 * window, upper-case names...) are not repeated here.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSpecFile, SpecError } from '../../../src/spec';
import { binaryBytes, RAW_CONTROL, utf16 } from '../data/bad-input-fixtures';

/** The demo spec as plain data (for the JSON cases), loaded before the tests run. */
let weatherSpec: object;
const WEATHER = readFileSync(fileURLToPath(new URL('../../../models/weather.yaml', import.meta.url)), 'utf8');

/** The demo spec with one text replaced (the replaced text must be there). */
function weatherWith(from: string, to: string): string {
  if (!WEATHER.includes(from)) throw new Error(`models/weather.yaml has no '${from}'`);
  return WEATHER.replace(from, to);
}

type Case = [name: string, file: string, content: () => string | Buffer, problems: (string | RegExp)[]];

const CASES: Case[] = [
  // --- not a spec at all
  ['an empty file', 'empty.yaml', () => '', ['the file is empty: a spec needs at least name, task, label, data, schema and features']],
  ['comments only', 'comments.yaml', () => '# to do\n', ['the file is empty: a spec needs at least name, task, label, data, schema and features']],
  ['a list, not a mapping', 'list.yaml', () => '- name: weather\n- task: classification\n', ['(top level): Invalid input: expected object, received array']],
  [
    'YAML indented with a tab',
    'tabs.yaml',
    () => 'name: x\n\ttask: classification\n',
    ['not valid YAML: Tabs are not allowed as indentation at line 2, column 1'],
  ],
  ['YAML with a key twice', 'twice.yaml', () => `${WEATHER}\nname: other\n`, [/^not valid YAML: Map keys must be unique at line \d+, column 1$/]],
  [
    'JSON with a trailing comma',
    'trailing.json',
    () => '{"name": "weather",}',
    [/^not valid JSON: Expected double-quoted property name in JSON at position 19/],
  ],
  ['a spec saved as UTF-16', 'utf16.yaml', () => utf16(WEATHER, 'le'), ['the file is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8']],
  ['a binary file named .yaml', 'binary.yaml', () => binaryBytes(), [/^line 1: binary data, not text/]],
  // --- wrong types
  ['epochs as text', 'epochs-text.yaml', () => weatherWith('epochs: 40', 'epochs: forty'), ['model.epochs: Invalid input: expected number, received string']],
  [
    'hiddenUnits as a number',
    'hidden.yaml',
    () => weatherWith('hiddenUnits: [32, 16]', 'hiddenUnits: 32'),
    ['model.hiddenUnits: Invalid input: expected array, received number'],
  ],
  [
    'category values as numbers',
    'values.yaml',
    () => weatherWith('values: [Seattle, New York]', 'values: [1, 2]'),
    [
      'schema.fields[0].values[0]: Invalid input: expected string, received number',
      'schema.fields[0].values[1]: Invalid input: expected string, received number',
    ],
  ],
  [
    'errorBudget as a percentage',
    'budget.yaml',
    () => weatherWith('errorBudget: 0.05', "errorBudget: '5%'"),
    ['data.errorBudget: Invalid input: expected number, received string'],
  ],
  // --- numbers out of range
  ['negative epochs', 'epochs-negative.yaml', () => weatherWith('epochs: 40', 'epochs: -5'), ['model.epochs: Too small: expected number to be >=1']],
  ['fractional epochs', 'epochs-fraction.yaml', () => weatherWith('epochs: 40', 'epochs: 2.5'), ['model.epochs: Invalid input: expected int, received number']],
  ['NaN epochs', 'epochs-nan.yaml', () => weatherWith('epochs: 40', 'epochs: .nan'), ['model.epochs: Invalid input: expected number, received NaN']],
  [
    'an infinite learning rate',
    'lr.yaml',
    () => weatherWith('learningRate: 0.01', 'learningRate: .inf'),
    ['model.learningRate: Invalid input: expected number, received Infinity'],
  ],
  [
    'errorBudget above 1',
    'budget-big.yaml',
    () => weatherWith('errorBudget: 0.05', 'errorBudget: 5'),
    ['data.errorBudget: Too big: expected number to be <=1'],
  ],
  // --- unknown fields (typos would otherwise be dropped without a word)
  ['a typo in model', 'model-typo.yaml', () => weatherWith('epochs: 40', 'epochs: 40\n  epoch: 4'), ['model: Unrecognized key: "epoch"']],
  [
    'a typo in a schema field',
    'field-typo.yaml',
    () => weatherWith('{ name: wind, type: number, min: 0, max: 60 }', '{ name: wind, type: number, minimum: 0, max: 60 }'),
    ['schema.fields[5]: Unrecognized key: "minimum"'],
  ],
  [
    'an unknown key in schema',
    'schema-typo.yaml',
    () => weatherWith('maxMissingRate: 0.2', 'maxMissingRate: 0.2\n  strict: true'),
    ['schema: Unrecognized key: "strict"'],
  ],
  [
    'a typo in a feature',
    'feature-typo.yaml',
    () => weatherWith('{ name: wind, kind: numeric }', '{ name: wind, kind: numeric, scaler: minmax }'),
    ['features[3]: Unrecognized key: "scaler"'],
  ],
  ['a typo in the gate', 'gate-typo.yaml', () => weatherWith('minAccuracy: 0.6', 'minAcuracy: 0.6'), ['evaluation.gate: Unrecognized key: "minAcuracy"']],
  // --- a schema no batch could meet
  [
    'min above max',
    'minmax.yaml',
    () => weatherWith('min: 0, max: 500', 'min: 500, max: 0'),
    ['schema.fields[2].max: max 0 is below min 500: no value could pass'],
  ],
  [
    'a schema field listed twice',
    'field-twice.yaml',
    () => weatherWith('    - { name: weather, type: category', '    - { name: wind, type: number }\n    - { name: weather, type: category'),
    ["schema.fields[6].name: field 'wind' is listed twice"],
  ],
  [
    'a label value listed twice',
    'value-twice.yaml',
    () => weatherWith('values: [drizzle, fog, rain, snow, sun]', 'values: [drizzle, fog, rain, rain, sun]'),
    ["schema.fields[6].values: 'rain' is listed twice"],
  ],
  [
    'no label values',
    'no-values.yaml',
    () => weatherWith('values: [drizzle, fog, rain, snow, sun]', 'values: []'),
    ['schema.fields[6].values: Too small: expected array to have >=1 items'],
  ],
  // --- names and long or odd values
  ...['../etc', 'a/b', 'x%00', 'météo', 'x'.repeat(10_000)].map(
    (name) =>
      [
        `model name ${JSON.stringify(name.slice(0, 12))}`,
        `name-${name.length}.json`,
        () => JSON.stringify({ ...weatherSpec, name }),
        ['name: lower-case letters, digits, - and _ (at most 63), starting with a letter or digit'],
      ] satisfies Case,
  ),
  [
    'a 10,000-character label',
    'huge-label.yaml',
    () => weatherWith('label: weather', `label: ${'y'.repeat(10_000)}`),
    [/^label: 'y{80}'\.\.\. \(10000 characters\) is not a field of schema\.fields$/],
  ],
  [
    'a label with control characters',
    'control-label.yaml',
    () => weatherWith('label: weather', 'label: "weather\\u001b[2J\\n"'),
    ["label: 'weather\\u001b[2J\\n' is not a field of schema.fields"],
  ],
];

describe('malformed spec files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perennial-bad-spec-'));
    weatherSpec = await loadModelSpecFile(fileURLToPath(new URL('../../../models/weather.yaml', import.meta.url)));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('%s: refused, naming the file and each field', async (_, file, content, expected) => {
    const path = join(dir, file);
    await writeFile(path, content());
    const error = await loadModelSpecFile(path).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(SpecError);
    const { message, problems } = error as SpecError;
    expect(message.startsWith(`${path}: the model spec is not valid:\n  - `)).toBe(true);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((want, i) => (typeof want === 'string' ? expect(problems[i]).toBe(want) : expect(problems[i]).toMatch(want)));
    for (const problem of problems) {
      expect(problem.length).toBeLessThan(300);
      expect(problem).not.toMatch(RAW_CONTROL);
    }
  });
});
