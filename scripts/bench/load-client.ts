/**
 * The load generator of scripts/bench/serve.ts, run as its own process so its
 * CPU is not the servers' event loop: `connections` keep-alive HTTP/1.1
 * connections (node:http), each sending the same POST one after another
 * (closed loop: the next request leaves when the answer is read) for
 * `warmupSeconds` (not counted), then for `seconds`. With `routingKeys` (a
 * prefix), every request carries its own `x-routing-key` (`<prefix>-<n>`, n
 * counting up), as distinct users would. Counts the `model_version` of the 2xx
 * answers (the first occurrence in the body: both servers put it before the
 * outputs). With `cpuOfPid` (Linux), the CPU time that process and its
 * descendants (a cluster's workers) used during the measured window, from
 * /proc/<pid>/stat. Prints one JSON line: requests,
 * errors, requests/s, latency quantiles in milliseconds, answers per version
 * and the server's CPU per request.
 *   tsx scripts/bench/load-client.ts '{"url": "...", "body": "...", "connections": 8, "seconds": 10, "warmupSeconds": 2, "routingKeys": "k1"}'
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface LoadOptions {
  url: string;
  body: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** When set, header `x-routing-key: <routingKeys>-<n>`, a distinct key per request. */
  routingKeys?: string;
  /** The server's process id: the CPU time of it and its descendants over the measured window is read from /proc. */
  cpuOfPid?: number;
  /** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK). */
  clockTicks?: number;
}

export interface LoadResult {
  connections: number;
  requests: number;
  /** Answers that were not 2xx, and requests that failed (connection errors). */
  non2xx: number;
  errors: number;
  firstError?: string;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** Measured 2xx answers by their `model_version` ('?' when the body has none). */
  versions: Record<string, number>;
  /** The server's CPU time (user + system, all threads, its worker processes included) per measured request, in ms; absent without cpuOfPid or /proc. */
  cpuMsPerRequest?: number;
  /** How many processes that was (the server and its workers). */
  serverProcesses?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const url = new URL(options.url);
const body = Buffer.from(options.body);
const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
const VERSION_FIELD = Buffer.from('"model_version":"');
let keyCount = 0;

/**
 * The CPU seconds (utime + stime, all threads) that process `root` and its
 * descendants (a cluster's workers) are using, and how many processes that is;
 * undefined where /proc does not say.
 */
function cpuSeconds(root: number | undefined): { seconds: number; processes: number } | undefined {
  if (root === undefined) return undefined;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
      parent.set(Number(entry), Number(fields[1])); // ppid, field 4
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12])); // utime and stime, fields 14 and 15
    } catch {
      // the process ended while listed
    }
  }
  if (!ticks.has(root)) return undefined;
  let sum = 0;
  let processes = 0;
  for (const [pid, t] of ticks) {
    let p: number | undefined = pid;
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p);
    if (p !== root) continue;
    sum += t;
    processes++;
  }
  const seconds = sum / (options.clockTicks ?? 100);
  return Number.isFinite(seconds) ? { seconds, processes } : undefined;
}

/** The first `"model_version":"..."` of an answer. */
function versionOf(answer: Buffer): string {
  const at = answer.indexOf(VERSION_FIELD);
  if (at < 0) return '?';
  const from = at + VERSION_FIELD.length;
  return answer.toString('utf8', from, answer.indexOf(0x22, from));
}

function send(): Promise<{ status: number; text?: string; version?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(options.routingKeys !== undefined ? { 'x-routing-key': `${options.routingKeys}-${keyCount++}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const answer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve(status >= 200 && status < 300 ? { status, version: versionOf(answer) } : { status, text: answer.toString().slice(0, 300) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let latencies: number[] = [];
let non2xx = 0;
let errors = 0;
let firstError: string | undefined;
const versions: Record<string, number> = {};
let measuring = false;
let stopAt = Infinity;

async function client(): Promise<void> {
  while (performance.now() < stopAt) {
    const started = performance.now();
    try {
      const { status, text, version } = await send();
      if (!measuring) continue;
      latencies.push(performance.now() - started);
      if (text !== undefined) {
        non2xx++;
        firstError ??= `HTTP ${status}: ${text}`;
      } else versions[version!] = (versions[version!] ?? 0) + 1;
    } catch (error) {
      if (!measuring) continue;
      errors++;
      firstError ??= (error as Error).message;
    }
  }
}

const warmupEnd = performance.now() + options.warmupSeconds * 1000;
const running = Promise.all(Array.from({ length: options.connections }, client));
await new Promise((r) => setTimeout(r, Math.max(0, warmupEnd - performance.now())));
// Requests in flight at the switch are answered before the window opens or are counted inside it, not both.
latencies = [];
measuring = true;
const cpuAtStart = cpuSeconds(options.cpuOfPid);
const started = performance.now();
stopAt = started + options.seconds * 1000;
await running;
const seconds = (performance.now() - started) / 1000;
const cpuAtEnd = cpuSeconds(options.cpuOfPid);
agent.destroy();

const sorted = Float64Array.from(latencies).sort();
const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
const result: LoadResult = {
  connections: options.connections,
  requests: latencies.length,
  non2xx,
  errors,
  ...(firstError ? { firstError } : {}),
  seconds,
  requestsPerSecond: latencies.length / seconds,
  latencyMs: { mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
  versions,
  ...(cpuAtStart !== undefined && cpuAtEnd !== undefined
    ? { cpuMsPerRequest: ((cpuAtEnd.seconds - cpuAtStart.seconds) * 1000) / Math.max(1, latencies.length), serverProcesses: cpuAtEnd.processes }
    : {}),
};
process.stdout.write(JSON.stringify(result) + '\n');
