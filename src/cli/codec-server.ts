/**
 * `perennial codec-server [--port 8888] [--host 127.0.0.1] [--origins a,b]`:
 * the Temporal codec server protocol over the payload codec, so the Temporal
 * UI (its codec endpoint: `temporal server start-dev --ui-codec-endpoint`) and
 * `temporal workflow show --codec-endpoint` show encrypted payloads in clear.
 *
 *   POST <any path>/encode, POST <any path>/decode
 *     body and answer: {"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}
 *     (a Payloads protobuf as proto3 JSON)
 *
 * CORS for the UI's origins (a browser calls it from the UI's page): the
 * preflight is answered, and a request from another origin is refused. It
 * decrypts for whoever can reach it: it listens on loopback unless told
 * otherwise; anywhere else, put it behind the same authentication as the UI.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Payload } from '@temporalio/common';
import { loadConfig } from '../config';
import { quoteValue } from '../errors';
import { EncryptionCodec } from '../temporal/codec';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

export async function runCodecServerCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('codec-server', argv, {
    port: { type: 'string', default: '8888' },
    host: { type: 'string', default: '127.0.0.1' },
    origins: { type: 'string' },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not '${values.port.slice(0, 20)}'`);
  const config = loadConfig();
  if (!config.codecKeys) {
    throw new Error("codec-server needs PERENNIAL_CODEC_KEYS, the same keys as the workers (see README, 'Encrypted payloads')");
  }
  const codec = new EncryptionCodec(config.codecKeys);
  const origins = values.origins
    ? values.origins
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : defaultOrigins(config.temporalUiUrl);

  const server = createServer((request, response) => {
    handle(codec, origins, request, response).catch((error: unknown) => {
      reply(response, 500, { message: `codec server: ${(error as Error).message}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  io.stdout(
    `perennial codec-server: listening on http://${values.host}:${bound} (POST /encode, /decode); encrypting with key '${codec.keyId}', ` +
      `decrypting with ${config.codecKeys.map((k) => `'${k.id}'`).join(', ')}; CORS origins ${origins.join(', ')}`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.stdout('perennial codec-server: stopped');
  return 0;
}

/** The UI's own origin and its loopback twin (localhost vs 127.0.0.1 are different origins to a browser). */
function defaultOrigins(uiUrl: string): string[] {
  const origins = new Set<string>();
  try {
    const ui = new URL(uiUrl);
    origins.add(ui.origin);
    for (const host of ['localhost', '127.0.0.1']) {
      if (ui.hostname === 'localhost' || ui.hostname === '127.0.0.1') origins.add(`${ui.protocol}//${host}${ui.port ? `:${ui.port}` : ''}`);
    }
  } catch {
    // A malformed TEMPORAL_UI_URL: the local UI's origins only.
  }
  origins.add('http://localhost:8233');
  origins.add('http://127.0.0.1:8233');
  return [...origins];
}

async function handle(codec: EncryptionCodec, origins: string[], request: IncomingMessage, response: ServerResponse): Promise<void> {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (!origins.includes(origin) && !origins.includes('*')) return reply(response, 403, { message: `origin ${quoteValue(origin)} is not allowed` });
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    response.setHeader('Vary', 'Origin');
  }
  if (request.method === 'OPTIONS') {
    response.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS');
    response.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    response.setHeader('Access-Control-Max-Age', '600');
    response.writeHead(204).end();
    return;
  }
  // The protocol: only the last part of the path says which, so the server can be mounted at any depth.
  const operation = /\/(encode|decode)\/?$/.exec(new URL(request.url ?? '/', 'http://codec').pathname)?.[1];
  if (!operation) return reply(response, 404, { message: 'not found: POST /encode or /decode' });
  if (request.method !== 'POST') return reply(response, 405, { message: `${operation} takes POST` });

  let body: { payloads?: unknown };
  try {
    body = JSON.parse(await readBody(request)) as { payloads?: unknown };
  } catch (error) {
    return reply(response, (error as { status?: number }).status ?? 400, { message: `the body is not JSON: ${(error as Error).message.slice(0, 200)}` });
  }
  if (!body || !Array.isArray(body.payloads)) return reply(response, 400, { message: 'expected {"payloads": [...]}' });
  let payloads: Payload[];
  try {
    payloads = (body.payloads as JsonPayload[]).map(fromJson);
  } catch (error) {
    return reply(response, 400, { message: (error as Error).message });
  }
  let result: Payload[];
  try {
    result = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
  } catch (error) {
    // Unknown key id, altered payload: the codec's message says which key (never a key).
    return reply(response, 400, { message: (error as Error).message });
  }
  reply(response, 200, { payloads: result.map(toJson) });
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`), { status: 413 }));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.end();
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function fromJson(payload: JsonPayload, index: number): Payload {
  if (typeof payload !== 'object' || payload === null) throw new Error(`payloads[${index}] is not an object`);
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    if (typeof value !== 'string') throw new Error(`payloads[${index}].metadata ${quoteValue(key)} is not base64 text`);
    metadata[key] = Buffer.from(value, 'base64');
  }
  if (payload.data != null && typeof payload.data !== 'string') throw new Error(`payloads[${index}].data is not base64 text`);
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = Buffer.from(value).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}
