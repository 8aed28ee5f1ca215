/**
 * The two wire forms a prediction request comes in, turned into the columns
 * the preprocessor reads, and the answers in each form.
 *
 * - Open Inference Protocol (V2, KServe/Triton/MLServer): one input tensor per
 *   column, as MLServer's pandas codec and tritonclient send a table (shape [N]
 *   or [N, 1]; numbers FP32/FP64/INT*, text and dates BYTES; JSON data or
 *   Triton's binary tensor extension).
 * - KServe V1 / TF Serving: {"instances": [{column: value, ...}, ...]}.
 *
 * Every cell is checked here, so a malformed row is a 400 naming the column
 * and the row, never a silent imputation: only a missing value (null, or NaN
 * for a number) is imputed as training did, and only where the model's schema
 * allows one. An unseen category is valid: the preprocessor sends it to the
 * feature's '__other__' slot, as it did for rare training values.
 */
import { dateMs, textColumn, type Column, type ColumnTable } from '../data/columns';
import { decodeBinaryTensor, nonFiniteOf } from './body';
import { badRequest, isObject, shown } from './errors';
import type { InputSpec } from './inputs';

export interface DecodedRequest {
  /** The request id to echo (OIP `id`). */
  id?: string;
  /** One column per model input, in any order; rows as sent. */
  table: ColumnTable;
  /** Output names the client asked for (OIP `outputs`); undefined: all. */
  outputs?: string[];
}

const NUMERIC_DATATYPES = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);

/** Where a cell is, in the client's terms: `where(i)` for 0-based row i. */
type Where = (row: number) => string;

/**
 * One input's values as a column of the kind the preprocessor reads, every
 * cell checked: numbers for numeric features, wall-clock ms for dates, text
 * for categories.
 */
export function buildColumn(spec: InputSpec, values: readonly unknown[], where: Where): Column {
  const missing = (row: number, what: string) => {
    if (!spec.nullable) throw badRequest(`${where(row)}: ${what}, and the model's schema does not allow a missing '${spec.name}'; send a value`);
  };
  const nonFinite = (row: number, value: unknown): boolean => {
    const word = nonFiniteOf(value);
    if (word === undefined) return false;
    if (word !== 'NaN') throw badRequest(`${where(row)}: ${word} is not a finite number`);
    missing(row, 'the value is NaN (missing)');
    return true;
  };
  switch (spec.kind) {
    case 'number': {
      const out = new Float64Array(values.length);
      values.forEach((v, row) => {
        if (v === null || v === undefined) {
          missing(row, 'the value is missing (null)');
          out[row] = NaN;
        } else if (nonFinite(row, v)) out[row] = NaN;
        else if (typeof v === 'number') out[row] = v;
        else throw badRequest(`${where(row)}: expected a number, found ${shown(v)}`);
      });
      return { kind: 'number', values: out };
    }
    case 'date': {
      const out = new Float64Array(values.length);
      values.forEach((v, row) => {
        if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
          missing(row, 'the date is missing');
          out[row] = NaN;
        } else if (nonFinite(row, v)) out[row] = NaN;
        else if (typeof v !== 'string') throw badRequest(`${where(row)}: expected an ISO date as text (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found ${shown(v)}`);
        else {
          const ms = dateMs(v);
          if (Number.isNaN(ms)) throw badRequest(`${where(row)}: expected an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found ${shown(v)}`);
          out[row] = ms;
        }
      });
      return { kind: 'date', values: out };
    }
    case 'category': {
      const texts = values.map((v, row): string | null => {
        if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
          missing(row, 'the value is missing');
          return null;
        }
        if (nonFinite(row, v)) return null;
        if (typeof v === 'string') return v;
        // String(v) is how the preprocessor names a numeric category.
        if (typeof v === 'number' && spec.numericCategory) return String(v);
        throw badRequest(`${where(row)}: expected ${spec.numericCategory ? 'a category (text or a number)' : 'a category as text'}, found ${shown(v)}`);
      });
      return textColumn(texts, texts.length);
    }
  }
}

function tableOf(columns: Map<string, Column>, rows: number): ColumnTable {
  return { source: 'request', rows, names: [...columns.keys()], columns, rowNumber: (i) => i + 1 };
}

function requestId(body: Record<string, unknown>): string | undefined {
  if (body.id === undefined) return undefined;
  if (typeof body.id !== 'string') throw badRequest(`'id' must be a string, found ${shown(body.id)}`);
  return body.id;
}

function flatten(data: unknown, name: string): unknown[] {
  if (!Array.isArray(data)) throw badRequest(`input '${name}': 'data' must be an array of values (one per row)`);
  // Row-major nesting is allowed by the protocol; a tabular input nests at most [[v], [v]].
  return data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : data;
}

// ---------------------------------------------------------------- Open Inference Protocol (V2)

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  values: unknown[];
}

/** The request's tensors with their values (JSON data or binary), each checked for a consistent shape. */
function readTensors(inputs: unknown, binary: Buffer | undefined): Tensor[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw badRequest('\'inputs\' must be a non-empty array of tensors: {"name", "datatype", "shape", "data"}, one per column');
  }
  let offset = 0;
  const seen = new Set<string>();
  return inputs.map((t, i): Tensor => {
    if (!isObject(t) || typeof t.name !== 'string') throw badRequest(`inputs[${i}] must be a tensor object with a string 'name'`);
    const name = t.name;
    if (seen.has(name)) throw badRequest(`input '${name}' is sent twice`);
    seen.add(name);
    if (typeof t.datatype !== 'string') throw badRequest(`input '${name}': 'datatype' must be a string (FP64, INT64, BYTES...)`);
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw badRequest(`input '${name}': 'shape' must be a list of non-negative integers such as [rows] or [rows, 1]`);
    }
    const dims = shape as number[];
    const size = isObject(t.parameters) ? t.parameters.binary_data_size : undefined;
    let values: unknown[];
    if (size !== undefined) {
      if (!binary) throw badRequest(`input '${name}' has binary_data_size but the request has no binary part (Inference-Header-Content-Length header)`);
      if (!Number.isInteger(size) || (size as number) < 0 || offset + (size as number) > binary.length) {
        throw badRequest(`input '${name}': binary_data_size ${JSON.stringify(size)} runs past the ${binary.length} bytes of binary data`);
      }
      values = decodeBinaryTensor(name, t.datatype, binary.subarray(offset, offset + (size as number)));
      offset += size as number;
    } else values = flatten(t.data, name);
    const count = dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw badRequest(`input '${name}': shape [${dims.join(', ')}] holds ${count} values but ${values.length} were sent`);
    if (dims.slice(1).some((d) => d !== 1)) {
      throw badRequest(`input '${name}': shape [${dims.join(', ')}] has more than one value per row; send one tensor per column, shape [rows] or [rows, 1]`);
    }
    return { name, datatype: t.datatype, shape: dims, values };
  });
}

function checkDatatype(spec: InputSpec, tensor: Tensor): void {
  const numeric = NUMERIC_DATATYPES.has(tensor.datatype);
  const ok = spec.kind === 'number' ? numeric && tensor.datatype !== 'BOOL' : tensor.datatype === 'BYTES' || (spec.numericCategory && numeric);
  if (ok) return;
  const wanted =
    spec.kind === 'number'
      ? 'a number tensor (FP32, FP64, INT32 or INT64)'
      : spec.kind === 'date'
        ? 'a BYTES tensor of ISO dates'
        : spec.numericCategory
          ? 'a BYTES or number tensor'
          : 'a BYTES tensor (text)';
  throw badRequest(
    `input '${spec.name}': the model reads it as ${spec.kind === 'category' ? 'a category' : `a ${spec.kind}`} and needs ${wanted}, not ${tensor.datatype}`,
  );
}

/** An OIP inference request (`json`, and `binary` when the binary tensor extension is used) as columns. */
export function decodeV2(json: unknown, binary: Buffer | undefined, inputs: InputSpec[]): DecodedRequest {
  if (!isObject(json)) throw badRequest('the request body must be a JSON object with "inputs" (Open Inference Protocol)');
  const id = requestId(json);
  const tensors = new Map(readTensors(json.inputs, binary).map((t) => [t.name, t]));
  let rows: number | undefined;
  let first = '';
  const columns = new Map<string, Column>();
  for (const spec of inputs) {
    const tensor = tensors.get(spec.name);
    if (!tensor) {
      throw badRequest(
        `missing input '${spec.name}': the model reads ${inputs.map((i) => i.name).join(', ')} (one tensor per column); the request has ${[...tensors.keys()].join(', ')}`,
      );
    }
    checkDatatype(spec, tensor);
    const n = tensor.shape[0]!;
    if (rows === undefined) [rows, first] = [n, spec.name];
    else if (n !== rows) throw badRequest(`input '${spec.name}' has ${n} rows and input '${first}' has ${rows}: every input needs one value per row`);
    columns.set(
      spec.name,
      buildColumn(spec, tensor.values, (row) => `input '${spec.name}', row ${row + 1}`),
    );
  }
  if (!rows) throw badRequest('the request has no rows (every input has shape [0])');
  let outputs: string[] | undefined;
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs) || !json.outputs.every((o) => isObject(o) && typeof o.name === 'string')) {
      throw badRequest('\'outputs\' must be a list of {"name": ...}');
    }
    outputs = (json.outputs as { name: string }[]).map((o) => o.name);
  }
  return { id, table: tableOf(columns, rows), outputs };
}

// ---------------------------------------------------------------- KServe V1 / TF Serving rows

export function decodeV1(json: unknown, inputs: InputSpec[]): DecodedRequest {
  if (!isObject(json) || !Array.isArray(json.instances)) {
    throw badRequest('the request body must be {"instances": [{"<column>": <value>, ...}, ...]} (KServe V1 / TF Serving row format)');
  }
  const instances = json.instances as unknown[];
  if (instances.length === 0) throw badRequest("'instances' is empty: send at least one row");
  instances.forEach((row, i) => {
    if (!isObject(row)) throw badRequest(`instances[${i}] must be an object {"<column>": <value>, ...}, found ${shown(row)}`);
  });
  const rows = instances as Record<string, unknown>[];
  const columns = new Map<string, Column>();
  for (const spec of inputs) {
    const values = rows.map((row, i) => {
      if (!(spec.name in row)) {
        throw badRequest(
          `row ${i + 1} (instances[${i}]) has no column '${spec.name}': the model reads ${inputs.map((s) => s.name).join(', ')}; send null for a missing value`,
        );
      }
      return row[spec.name];
    });
    columns.set(
      spec.name,
      buildColumn(spec, values, (row) => `column '${spec.name}', row ${row + 1} (instances[${row}])`),
    );
  }
  return { id: requestId(json), table: tableOf(columns, rows.length) };
}

// ---------------------------------------------------------------- answers

/** What a version answers for the rows of one request. */
export type Scored =
  | { task: 'classification'; rows: number; classes: string[]; labels: string[]; probabilities: Float32Array }
  | { task: 'regression'; rows: number; values: Float64Array };

export interface OutputSpec {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, unknown>;
}

/** The outputs a version has (metadata), -1 for the row dimension. */
export function outputSpecs(task: 'classification' | 'regression', classes: string[] | undefined): OutputSpec[] {
  if (task === 'regression') return [{ name: 'prediction', datatype: 'FP64', shape: [-1] }];
  return [
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, classes?.length ?? -1], parameters: { classes } },
  ];
}

/**
 * The outputs a request asks for (OIP `outputs`) are ones the version has:
 * checked before scoring, so an unknown one costs no scoring (400).
 */
export function checkOutputs(request: DecodedRequest, task: 'classification' | 'regression'): void {
  if (!request.outputs) return;
  const names = outputSpecs(task, undefined).map((o) => o.name);
  const unknown = request.outputs.find((name) => !names.includes(name));
  if (unknown !== undefined) throw badRequest(`unknown output '${unknown}': this model's outputs are ${names.join(', ')}`);
}

export interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  parameters: { prediction_ids: string[]; classes?: string[] };
  outputs: { name: string; datatype: string; shape: number[]; data: (number | string)[] }[];
}

export function encodeV2(model: string, version: string, request: DecodedRequest, scored: Scored, predictionIds: string[]): V2Response {
  const all: V2Response['outputs'] =
    scored.task === 'regression'
      ? [{ name: 'prediction', datatype: 'FP64', shape: [scored.rows], data: Array.from(scored.values) }]
      : [
          { name: 'label', datatype: 'BYTES', shape: [scored.rows], data: scored.labels },
          { name: 'probabilities', datatype: 'FP32', shape: [scored.rows, scored.classes.length], data: Array.from(scored.probabilities) },
        ];
  checkOutputs(request, scored.task);
  const outputs = request.outputs ? all.filter((o) => request.outputs!.includes(o.name)) : all;
  return {
    model_name: model,
    model_version: version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    parameters: { prediction_ids: predictionIds, ...(scored.task === 'classification' ? { classes: scored.classes } : {}) },
    outputs,
  };
}

export interface V1Response {
  predictions: ({ label: string; probabilities: Record<string, number> } | number)[];
  model_version: string;
  prediction_ids: string[];
  id?: string;
}

export function encodeV1(version: string, request: DecodedRequest, scored: Scored, predictionIds: string[]): V1Response {
  const predictions: V1Response['predictions'] = [];
  for (let i = 0; i < scored.rows; i++) {
    if (scored.task === 'regression') predictions.push(scored.values[i]!);
    else {
      const k = scored.classes.length;
      const probabilities: Record<string, number> = {};
      scored.classes.forEach((c, j) => (probabilities[c] = scored.probabilities[i * k + j]!));
      predictions.push({ label: scored.labels[i]!, probabilities });
    }
  }
  return { predictions, model_version: version, prediction_ids: predictionIds, ...(request.id !== undefined ? { id: request.id } : {}) };
}
