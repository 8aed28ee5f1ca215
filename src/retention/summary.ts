/**
 * One-line summaries of a retention plan or sweep, for the workflow's details
 * in the Temporal UI and the CLI. Pure and Node-free: workflows bundle it.
 */
import type { KindTotals, ReasonCounts } from './plan';

/** 1536 → '1.5 KiB'. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function sumTotals(totals: KindTotals): { objects: number; bytes: number } {
  let objects = 0;
  let bytes = 0;
  for (const t of Object.values(totals)) {
    objects += t.objects;
    bytes += t.bytes;
  }
  return { objects, bytes };
}

/** '5 objects (1.2 MiB): 2 snapshot, 3 checkpoint' or 'nothing'. */
export function describeTotals(totals: KindTotals): string {
  const { objects, bytes } = sumTotals(totals);
  if (objects === 0) return 'nothing';
  const parts = Object.entries(totals).map(([kind, t]) => `${t.objects} ${kind}`);
  return `${objects} object(s) (${formatBytes(bytes)}): ${parts.join(', ')}`;
}

/** 'champion 2, previous 2, within-policy 10'. */
export function describeReasons(counts: ReasonCounts): string {
  const parts = Object.entries(counts).map(([reason, n]) => `${reason} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/** Adds b's totals into a copy of a. */
export function addTotals(a: KindTotals, b: KindTotals): KindTotals {
  const out: KindTotals = {};
  for (const totals of [a, b]) {
    for (const [kind, t] of Object.entries(totals) as [keyof KindTotals, { objects: number; bytes: number }][]) {
      const sum = (out[kind] ??= { objects: 0, bytes: 0 });
      sum.objects += t.objects;
      sum.bytes += t.bytes;
    }
  }
  return out;
}
