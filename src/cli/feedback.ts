import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';
import { quoteValue } from '../errors';
import { cleanText, decodeText } from '../data/text';
import { checkName } from '../names';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/** Labels per request (the route takes at most 10,000). */
const DEFAULT_BATCH = 1000;
const MAX_BATCH = 10_000;
/** Problems listed before the rest are only counted. */
const SHOWN_PROBLEMS = 10;
const COLUMNS = ['prediction_id', 'label', 'flag'];

export interface FeedbackRow {
  predictionId: string;
  label?: string | number;
  flag?: string;
}

/** What the served model takes as a label, from its metadata (GET /v2/models/<name>). */
export interface LabelKind {
  task: 'classification' | 'regression';
  classes?: string[];
}

/**
 * The rows of a labels CSV (header: prediction_id, label and/or flag), checked
 * for the served model; every problem names the file, line and field. A
 * prediction id seen again is a duplicate: the first label wins, as on the server.
 */
export function parseLabelsCsv(bytes: Buffer, file: string, kind: LabelKind): { rows: FeedbackRow[]; duplicates: number } {
  const text = decodeText(bytes, file);
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: true, bom: true, trim: true, skip_empty_lines: true, info: true, relax_column_count: false });
  } catch (error) {
    throw new Error(`${file}: not a CSV file this command reads: ${cleanText((error as Error).message)}`, { cause: error });
  }
  const header: string[] | undefined = parse(text.split(/\r?\n/, 1)[0] ?? '', { bom: true, trim: true })[0];
  if (!header || !header.includes('prediction_id') || !(header.includes('label') || header.includes('flag'))) {
    throw new Error(
      `${file}: line 1: the header must name prediction_id and label and/or flag, found ${header?.map((h) => quoteValue(h)).join(', ') || 'nothing'}`,
    );
  }
  const unknown = header.filter((h) => !COLUMNS.includes(h));
  if (unknown.length)
    throw new Error(`${file}: line 1: unknown column(s) ${unknown.map((h) => quoteValue(h)).join(', ')}; the columns are ${COLUMNS.join(', ')}`);

  const problems: string[] = [];
  const seen = new Set<string>();
  const rows: FeedbackRow[] = [];
  let duplicates = 0;
  for (const { record, info } of records) {
    const at = (field: string) => `${file}: line ${info.lines}, field ${field}`;
    const id = record.prediction_id ?? '';
    const label = record.label ?? '';
    const flag = record.flag ?? '';
    const before = problems.length;
    if (id === '' || id.length > 200)
      problems.push(`${at('prediction_id')}: the id the server answered with the prediction (1-200 characters), found ${quoteValue(id)}`);
    if (label === '' && flag === '') problems.push(`${at('label')}: a label (the true answer) or a flag (such as wrong) is needed`);
    let value: string | number | undefined;
    if (label !== '') {
      if (kind.task === 'regression') {
        value = Number(label);
        if (!Number.isFinite(value)) problems.push(`${at('label')}: a number for this regression model, found ${quoteValue(label)}`);
      } else {
        value = label;
        if (kind.classes && !kind.classes.includes(label))
          problems.push(`${at('label')}: ${quoteValue(label)} is not one of the model's classes (${kind.classes.join(', ')})`);
      }
    }
    if (flag.length > 100) problems.push(`${at('flag')}: a short flag such as wrong (at most 100 characters)`);
    if (problems.length > before) continue;
    if (seen.has(id)) {
      duplicates += 1;
      continue;
    }
    seen.add(id);
    rows.push({ predictionId: id, ...(value !== undefined ? { label: value } : {}), ...(flag !== '' ? { flag } : {}) });
  }
  if (problems.length) {
    const more = problems.length > SHOWN_PROBLEMS ? `\n  ... and ${problems.length - SHOWN_PROBLEMS} more` : '';
    throw new Error(`${file}: ${problems.length} bad row(s), nothing sent:\n  ${problems.slice(0, SHOWN_PROBLEMS).join('\n  ')}${more}`);
  }
  if (rows.length === 0) throw new Error(`${file}: no labels to send (only a header)`);
  return { rows, duplicates };
}

/** The server's error message ({"error": "..."}). */
const errorOf = (body: Record<string, unknown>): string | undefined =>
  body.error === undefined ? undefined : typeof body.error === 'string' ? body.error : JSON.stringify(body.error);

async function call(url: string, init: RequestInit, server: string): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(
      `no model server answers at ${server} (${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}): start one with 'perennial serve', or pass --server <url>`,
      {
        cause: error,
      },
    );
  }
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text.slice(0, 200) };
  }
  return { status: response.status, body };
}

/**
 * `perennial feedback --model <m> --file labels.csv [--server URL] [--token T] [--batch 1000] [--json]`:
 * posts the file's labels to the model server's feedback route in batches, with
 * the server's bearer token (--token or PERENNIAL_SERVE_TOKEN). Exit codes: 0 all
 * accepted; 1 the server refused or failed a batch (the batches before it were
 * accepted); 2 bad usage or a bad file (nothing sent).
 */
export async function runFeedbackCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('feedback', argv, {
    model: { type: 'string' },
    file: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.model) throw new Error('feedback needs --model <name>');
  checkName('model', values.model, '--model');
  if (!values.file) throw new Error('feedback needs --file <labels.csv> (columns prediction_id, label and/or flag)');
  const batch = values.batch === undefined ? DEFAULT_BATCH : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH)
    throw new Error(`--batch must be a whole number from 1 to ${MAX_BATCH}, not '${values.batch}'`);
  const server = (values.server ?? process.env.PERENNIAL_SERVER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(server)) throw new Error(`--server must be an http:// or https:// URL, not '${server}'`);
  const token = values.token ?? process.env.PERENNIAL_SERVE_TOKEN;
  const model = values.model;
  let bytes: Buffer;
  try {
    bytes = await readFile(values.file);
  } catch (error) {
    throw new Error(`${values.file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }

  // The served version says what a label is (task and classes): checked here, so a bad row is named before anything is sent.
  const meta = await call(`${server}/v2/models/${encodeURIComponent(model)}`, {}, server);
  if (meta.status !== 200) throw new Error(`${server} does not serve '${model}': ${errorOf(meta.body) ?? `HTTP ${meta.status}`}`);
  const parameters = meta.body.parameters as { task?: string } | undefined;
  const outputs = (meta.body.outputs as { name: string; parameters?: { classes?: string[] } }[] | undefined) ?? [];
  const kind: LabelKind =
    parameters?.task === 'regression'
      ? { task: 'regression' }
      : { task: 'classification', classes: outputs.find((o) => o.name === 'probabilities')?.parameters?.classes };
  const { rows, duplicates } = parseLabelsCsv(bytes, values.file, kind);

  let accepted = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token.trim()}` } : {}) };
  for (let start = 0; start < rows.length; start += batch) {
    const items = rows.slice(start, start + batch);
    let answer = await call(`${server}/v1/models/${encodeURIComponent(model)}/feedback`, { method: 'POST', headers, body: JSON.stringify({ items }) }, server);
    // 503: the spool could not take it now (nothing was accepted); a moment later it can.
    for (let wait = 1000; answer.status === 503 && wait <= 4000; wait *= 2) {
      await sleep(wait);
      answer = await call(`${server}/v1/models/${encodeURIComponent(model)}/feedback`, { method: 'POST', headers, body: JSON.stringify({ items }) }, server);
    }
    if (answer.status !== 200) {
      const hint = answer.status === 401 ? " (pass the server's token: --token <t> or PERENNIAL_SERVE_TOKEN)" : '';
      io.stderr(
        `${values.file}: the server refused the labels of ${items[0]!.predictionId}..${items.at(-1)!.predictionId} (HTTP ${answer.status}): ${errorOf(answer.body) ?? ''}${hint}`,
      );
      io.stderr(`accepted before that: ${accepted} of ${rows.length}`);
      return 1;
    }
    accepted += Number(answer.body.accepted ?? items.length);
  }
  const result = { model, server, file: values.file, accepted, duplicates, batches: Math.ceil(rows.length / batch) };
  io.stdout(
    values.json
      ? JSON.stringify(result, null, 2)
      : `${model}: ${accepted} label(s) from ${values.file} accepted by ${server} in ${result.batches} batch(es); ${duplicates} duplicate prediction id(s) in the file sent once (the first label wins)`,
  );
  return 0;
}
