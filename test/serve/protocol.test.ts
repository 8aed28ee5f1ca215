/** Request decoding of the model server: V2 tensors and V1 rows to checked columns, and the messages of bad requests. */
import { describe, expect, it } from 'vitest';
import { cellAt, dateMs } from '../../src/data';
import { decodeV1, decodeV2, encodeV1, encodeV2, parseJsonBody, ServeError, splitInferBody, type InputSpec } from '../../src/serve';

const INPUTS: InputSpec[] = [
  { name: 'temp', kind: 'number', datatype: 'FP64', nullable: true, numericCategory: false },
  { name: 'city', kind: 'category', datatype: 'BYTES', nullable: true, numericCategory: false },
  { name: 'day', kind: 'date', datatype: 'BYTES', nullable: false, numericCategory: false },
];

const tensor = (name: string, datatype: string, data: unknown[], shape = [data.length]) => ({ name, datatype, shape, data });
const good = () => ({
  id: 'r1',
  inputs: [tensor('temp', 'FP64', [1.5, null]), tensor('city', 'BYTES', ['Oslo', '']), tensor('day', 'BYTES', ['2015-01-02', '2015-01-03T10:30'])],
});

function message(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ServeError);
    return `${(error as ServeError).status} ${(error as Error).message}`;
  }
  throw new Error('expected a ServeError');
}

describe('V2 (Open Inference Protocol) tensors to columns', () => {
  it('decodes one tensor per column; null and blank are missing, dates are wall-clock ms', () => {
    const { id, table } = decodeV2(good(), undefined, INPUTS);
    expect(id).toBe('r1');
    expect(table.rows).toBe(2);
    const temp = table.columns.get('temp')!;
    expect(temp.kind).toBe('number');
    expect([cellAt(temp, 0), cellAt(temp, 1)]).toEqual([1.5, null]);
    const city = table.columns.get('city')!;
    expect([cellAt(city, 0), cellAt(city, 1)]).toEqual(['Oslo', null]);
    const day = table.columns.get('day')!;
    expect(day.kind === 'date' && Array.from(day.values)).toEqual([dateMs('2015-01-02'), dateMs('2015-01-03T10:30')]);
  });

  it('accepts shape [N, 1] and nested data, integer datatypes, and ignores extra inputs', () => {
    const body = good();
    body.inputs[0] = tensor('temp', 'INT64', [[3], [4]], [2, 1]);
    body.inputs.push(tensor('label', 'BYTES', ['rain', 'sun']));
    const { table } = decodeV2(body, undefined, INPUTS);
    expect(cellAt(table.columns.get('temp')!, 1)).toBe(4);
    expect(table.columns.has('label')).toBe(false);
  });

  it("reads Triton's binary tensor extension (what tritonclient sends by default)", () => {
    const temp = Buffer.alloc(16);
    temp.writeDoubleLE(2.25, 0);
    temp.writeDoubleLE(-1, 8);
    const strings = (values: string[]) => Buffer.concat(values.flatMap((v) => [Buffer.from([v.length, 0, 0, 0]), Buffer.from(v)]));
    const city = strings(['Oslo', 'Rome']);
    const day = strings(['2015-01-02', '2015-01-03']);
    const header = JSON.stringify({
      inputs: [
        { name: 'temp', datatype: 'FP64', shape: [2, 1], parameters: { binary_data_size: temp.length } },
        { name: 'city', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: city.length } },
        { name: 'day', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: day.length } },
      ],
    });
    const raw = Buffer.concat([Buffer.from(header), temp, city, day]);
    const { json, binary } = splitInferBody(raw, String(Buffer.byteLength(header)));
    const { table } = decodeV2(json, binary, INPUTS);
    expect(cellAt(table.columns.get('temp')!, 0)).toBe(2.25);
    expect(cellAt(table.columns.get('city')!, 1)).toBe('Rome');
    expect(cellAt(table.columns.get('day')!, 1)).toBe('2015-01-03');
  });

  it('names the input, the row and the problem', () => {
    const without = good();
    without.inputs.splice(1, 1);
    expect(message(() => decodeV2(without, undefined, INPUTS))).toBe(
      "400 missing input 'city': the model reads temp, city, day (one tensor per column); the request has temp, day",
    );
    const text = good();
    text.inputs[0] = tensor('temp', 'FP64', [1, 'warm']);
    expect(message(() => decodeV2(text, undefined, INPUTS))).toBe("400 input 'temp', row 2: expected a number, found 'warm'");
    const bytes = good();
    bytes.inputs[0] = tensor('temp', 'BYTES', ['1', '2']);
    expect(message(() => decodeV2(bytes, undefined, INPUTS))).toBe(
      "400 input 'temp': the model reads it as a number and needs a number tensor (FP32, FP64, INT32 or INT64), not BYTES",
    );
    const noDay = good();
    noDay.inputs[2] = tensor('day', 'BYTES', ['2015-01-02', null]);
    expect(message(() => decodeV2(noDay, undefined, INPUTS))).toBe(
      "400 input 'day', row 2: the date is missing, and the model's schema does not allow a missing 'day'; send a value",
    );
    const badDay = good();
    badDay.inputs[2] = tensor('day', 'BYTES', ['2015-13-45', '2015-01-02']);
    expect(message(() => decodeV2(badDay, undefined, INPUTS))).toBe(
      "400 input 'day', row 1: expected an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found '2015-13-45'",
    );
    const ragged = good();
    ragged.inputs[1] = tensor('city', 'BYTES', ['Oslo']);
    expect(message(() => decodeV2(ragged, undefined, INPUTS))).toBe("400 input 'city' has 1 rows and input 'temp' has 2: every input needs one value per row");
    const wide = good();
    wide.inputs[0] = tensor('temp', 'FP64', [1, 2, 3, 4], [2, 2]);
    expect(message(() => decodeV2(wide, undefined, INPUTS))).toMatch(/^400 input 'temp': shape \[2, 2\] has more than one value per row/);
    const short = good();
    short.inputs[0] = tensor('temp', 'FP64', [1], [2]);
    expect(message(() => decodeV2(short, undefined, INPUTS))).toBe("400 input 'temp': shape [2] holds 2 values but 1 were sent");
    expect(message(() => decodeV2({ inputs: [] }, undefined, INPUTS))).toMatch(/^400 'inputs' must be a non-empty array/);
    expect(message(() => decodeV2([], undefined, INPUTS))).toMatch(/^400 the request body must be a JSON object with "inputs"/);
  });

  it('reads bare NaN/Infinity (Python json): NaN is missing where allowed, Infinity never', () => {
    const body = parseJsonBody(
      '{"inputs": [{"name": "temp", "datatype": "FP64", "shape": [2], "data": [NaN, 1]}, {"name": "city", "datatype": "BYTES", "shape": [2], "data": ["NaN", "x"]},' +
        ' {"name": "day", "datatype": "BYTES", "shape": [2], "data": ["2015-01-01", "2015-01-01"]}]}',
    );
    const { table } = decodeV2(body, undefined, INPUTS);
    expect(cellAt(table.columns.get('temp')!, 0)).toBeNull();
    // The text "NaN" inside a string stays text.
    expect(cellAt(table.columns.get('city')!, 0)).toBe('NaN');
    const infinite = parseJsonBody('{"inputs": [{"name": "temp", "datatype": "FP64", "shape": [1], "data": [-Infinity]}]}');
    expect(message(() => decodeV2(infinite, undefined, INPUTS))).toBe("400 input 'temp', row 1: -Infinity is not a finite number");
    expect(message(() => parseJsonBody('{"inputs": ['))).toMatch(/^400 the request body is not valid JSON/);
  });
});

describe('V1 (KServe / TF Serving) instances to columns', () => {
  it('decodes rows of objects', () => {
    const { table } = decodeV1(
      {
        instances: [
          { temp: 3, city: 'Oslo', day: '2015-01-02' },
          { temp: null, city: null, day: '2015-01-03' },
        ],
      },
      INPUTS,
    );
    expect(table.rows).toBe(2);
    expect(cellAt(table.columns.get('temp')!, 1)).toBeNull();
    expect(cellAt(table.columns.get('city')!, 0)).toBe('Oslo');
  });

  it('names the column and the row of a bad cell', () => {
    expect(
      message(() =>
        decodeV1(
          {
            instances: [
              { temp: 3, city: 'Oslo', day: '2015-01-02' },
              { temp: 3, day: '2015-01-02' },
            ],
          },
          INPUTS,
        ),
      ),
    ).toBe("400 row 2 (instances[1]) has no column 'city': the model reads temp, city, day; send null for a missing value");
    expect(message(() => decodeV1({ instances: [{ temp: true, city: 'Oslo', day: '2015-01-02' }] }, INPUTS))).toBe(
      "400 column 'temp', row 1 (instances[0]): expected a number, found true",
    );
    expect(message(() => decodeV1({ instances: [{ temp: 1, city: 7, day: '2015-01-02' }] }, INPUTS))).toBe(
      "400 column 'city', row 1 (instances[0]): expected a category as text, found 7",
    );
    expect(message(() => decodeV1({ instances: [] }, INPUTS))).toBe("400 'instances' is empty: send at least one row");
    expect(message(() => decodeV1({ rows: [] }, INPUTS))).toMatch(/^400 the request body must be \{"instances"/);
    expect(message(() => decodeV1({ instances: [[1, 2, 3]] }, INPUTS))).toMatch(/^400 instances\[0\] must be an object/);
  });
});

describe('answers', () => {
  const scored = {
    task: 'classification' as const,
    rows: 2,
    classes: ['a', 'b'],
    labels: ['b', 'a'],
    probabilities: Float32Array.from([0.25, 0.75, 0.5, 0.5]),
  };
  const request = decodeV2(good(), undefined, INPUTS);

  it('V2: label and probabilities, version, echoed id, prediction ids in parameters; requested outputs only', () => {
    const body = encodeV2('m', 'v3', request, scored, ['p1', 'p2']);
    expect(body).toEqual({
      model_name: 'm',
      model_version: 'v3',
      id: 'r1',
      parameters: { prediction_ids: ['p1', 'p2'], classes: ['a', 'b'] },
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['b', 'a'] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
      ],
    });
    expect(encodeV2('m', 'v3', { ...request, outputs: ['label'] }, scored, ['p1', 'p2']).outputs.map((o) => o.name)).toEqual(['label']);
    expect(message(() => encodeV2('m', 'v3', { ...request, outputs: ['score'] }, scored, ['p1', 'p2']))).toBe(
      "400 unknown output 'score': this model's outputs are label, probabilities",
    );
  });

  it('V1: predictions, model_version and prediction_ids', () => {
    expect(encodeV1('v3', { ...request, id: undefined }, scored, ['p1', 'p2'])).toEqual({
      predictions: [
        { label: 'b', probabilities: { a: 0.25, b: 0.75 } },
        { label: 'a', probabilities: { a: 0.5, b: 0.5 } },
      ],
      model_version: 'v3',
      prediction_ids: ['p1', 'p2'],
    });
    expect(encodeV1('v1', request, { task: 'regression', rows: 1, values: Float64Array.from([12.5]) }, ['p']).predictions).toEqual([12.5]);
  });
});
