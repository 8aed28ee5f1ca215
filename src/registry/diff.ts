/**
 * Two versions side by side (`perennial registry diff`): their data, spec,
 * parameters, code, metrics and run, each field with both values and whether
 * it changed, and the batches one has that the other has not. Pure: the CLI
 * reads the lineages and specs.
 */
import type { Lineage } from './types';

export interface DiffRow {
  field: string;
  from: string;
  to: string;
  changed: boolean;
}

export interface VersionDiff {
  model: string;
  from: string;
  to: string;
  sections: Record<'data' | 'spec' | 'parameters' | 'code' | 'metrics' | 'run', DiffRow[]>;
  batches: { added: string[]; removed: string[] };
}

const text = (value: unknown): string => (value === undefined || value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

function row(field: string, from: unknown, to: unknown): DiffRow {
  const [a, b] = [text(from), text(to)];
  return { field, from: a, to: b, changed: a !== b };
}

/** Every leaf of a JSON value as [path, value]; arrays of scalars are one leaf. */
function leaves(value: unknown, path = ''): [string, unknown][] {
  if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object'))) {
    return [[path, value]];
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
}

/** Rows for every path in either value (all of them, or only the changed ones). */
export function compareJson(from: unknown, to: unknown, onlyChanged: boolean): DiffRow[] {
  const a = new Map(leaves(from));
  const b = new Map(leaves(to));
  const paths = [...new Set([...a.keys(), ...b.keys()])];
  return paths.map((p) => row(p, a.get(p), b.get(p))).filter((r) => !onlyChanged || r.changed);
}

/** The metrics a person compares: the numbers, not the per-class tables or the confusion matrix. */
function headline(metrics: Lineage['metrics']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number' || typeof v === 'string'));
}

export function diffVersions(from: Lineage, to: Lineage, specs: { from: unknown; to: unknown } | null = null): VersionDiff {
  const [before, after] = [new Set(from.data.batches), new Set(to.data.batches)];
  const removed = from.data.batches.filter((b) => !after.has(b));
  const added = to.data.batches.filter((b) => !before.has(b));
  return {
    model: to.model,
    from: from.version,
    to: to.version,
    sections: {
      data: [
        row('snapshot', from.data.snapshotSha256, to.data.snapshotSha256),
        row('rows', from.data.rows, to.data.rows),
        row('train rows', from.data.trainRows, to.data.trainRows),
        row('holdout rows', from.data.holdoutRows, to.data.holdoutRows),
        row('time from', from.data.timeRange?.from, to.data.timeRange?.from),
        row('time to', from.data.timeRange?.to, to.data.timeRange?.to),
        row('batches', from.data.batches.length, to.data.batches.length),
      ],
      // The spec's sha256, then each setting that differs (the specs as published, when both could be read).
      spec: [row('sha256', from.spec.sha256, to.spec.sha256), ...(specs ? compareJson(specs.from, specs.to, true) : [])],
      parameters: [...compareJson(from.params, to.params, false), row('seed', from.seed, to.seed)],
      code: [
        row('version', from.code.version, to.code.version),
        row('dirty', from.code.dirty, to.code.dirty),
        row('package', from.code.package, to.code.package),
      ],
      metrics: compareJson(headline(from.metrics), headline(to.metrics), false),
      run: [
        row('created', from.createdAt, to.createdAt),
        row('trigger', from.trigger, to.trigger),
        row('trigger reason', from.triggerReason, to.triggerReason),
        row('parent', from.parent, to.parent),
        row('workflow', from.workflow.id, to.workflow.id),
        row('backend', from.backend, to.backend),
      ],
    },
    batches: { added, removed },
  };
}

/** The diff as a person reads it: a table per section, changed rows marked with '*', numeric changes with their delta. */
export function formatVersionDiff(diff: VersionDiff): string {
  const lines = [`${diff.model}: ${diff.from} -> ${diff.to}`];
  let width = 5;
  let valueWidth = diff.from.length;
  for (const r of Object.values(diff.sections).flat()) {
    width = Math.max(width, r.field.length);
    valueWidth = Math.max(valueWidth, Math.min(r.from.length, 40));
  }
  for (const [name, rows] of Object.entries(diff.sections)) {
    lines.push('', `${name}:`, `  ${''.padEnd(width)}  ${diff.from.padEnd(valueWidth)}  ${diff.to}`);
    for (const r of rows) {
      const [a, b] = [Number(r.from), Number(r.to)];
      const delta =
        r.changed && r.from !== '-' && r.to !== '-' && Number.isFinite(a) && Number.isFinite(b) ? `  (${b - a >= 0 ? '+' : ''}${+(b - a).toPrecision(6)})` : '';
      lines.push(`${r.changed ? '*' : ' '} ${r.field.padEnd(width)}  ${r.from.padEnd(valueWidth)}  ${r.to}${delta}`);
    }
  }
  lines.push('', `batches added: ${diff.batches.added.length ? diff.batches.added.join(', ') : 'none'}`);
  lines.push(`batches removed: ${diff.batches.removed.length ? diff.batches.removed.join(', ') : 'none'}`);
  return lines.join('\n');
}
