import { loadConfig } from '../config';
import { diffVersions, formatVersionDiff, Registry, type Lineage } from '../registry';
import { getJsonIfExists, S3Store } from '../store';
import { headlineMetrics } from '../metrics/headline';
import { checkName } from '../names';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * `perennial registry list`, `registry show --model <name> [--version <v>] [--json]`,
 * `registry history --model <name> [--json]` (every move of the aliases: what, from, to, which run, when, why)
 * and `registry diff --model <name> --from <v> --to <v> [--json]` (data, spec, parameters, code, metrics, run).
 */
export async function runRegistryCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseCommandArgs(`registry ${sub ?? ''}`.trim(), rest, {
    model: { type: 'string' },
    version: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const store = S3Store.fromConfig(loadConfig());
  const registry = new Registry(store);
  if (sub === 'list') {
    const models = await registry.listModels();
    const rows = [];
    for (const model of models) {
      const aliases = await registry.getAliases(model);
      rows.push({ model, versions: await registry.listVersions(model), champion: aliases.champion, previous: aliases.previous, canary: aliases.canary });
    }
    if (values.json) io.stdout(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) io.stdout(`no models in ${store.description} yet: 'npx perennial bootstrap' puts the demo's there`);
    else
      for (const r of rows)
        io.stdout(
          `${r.model}: ${r.versions.length} version(s) [${r.versions.join(', ')}], champion ${r.champion ?? '-'}, previous ${r.previous ?? '-'}${r.canary ? `, canary ${r.canary}` : ''}`,
        );
    return 0;
  }
  if (sub === 'show') {
    if (!values.model) throw new Error('registry show needs --model <name> (see: perennial registry list)');
    checkName('model', values.model, '--model');
    if (values.version !== undefined) checkName('version', values.version, '--version');
    if (values.version) {
      const lineage = await registry.getLineage(values.model, values.version);
      if (!lineage) {
        const versions = await registry.listVersions(values.model);
        throw new Error(`model '${values.model}' has no version '${values.version}'; it has: ${versions.join(', ') || 'none'}`);
      }
      io.stdout(JSON.stringify(lineage, null, 2));
      return 0;
    }
    const aliases = await registry.getAliases(values.model);
    const versions: Lineage[] = [];
    for (const v of await registry.listVersions(values.model)) versions.push((await registry.getLineage(values.model, v))!);
    if (values.json) {
      io.stdout(JSON.stringify({ aliases, versions }, null, 2));
      return 0;
    }
    if (versions.length === 0 && aliases.history.length === 0) throw new Error(`model '${values.model}' has no versions in ${store.description}`);
    io.stdout(
      `${values.model}: champion ${aliases.champion ?? '-'}, previous ${aliases.previous ?? '-'}, canary ${aliases.canary ?? '-'}${aliases.canary ? ` at ${aliases.canaryWeight}` : ''}`,
    );
    for (const l of versions) {
      const tag = l.version === aliases.champion ? ' [champion]' : l.version === aliases.canary ? ' [canary]' : '';
      io.stdout(
        `  ${l.version}${tag}  ${l.createdAt}  trigger ${l.trigger}  snapshot ${l.data.snapshotSha256.slice(0, 12)} (${l.data.rows} rows)  ${headlineMetrics(l.metrics, 4)}  backend ${l.backend}  code ${l.code.version.slice(0, 12)}`,
      );
    }
    return 0;
  }
  if (sub === 'history') {
    if (!values.model) throw new Error('registry history needs --model <name> (see: perennial registry list)');
    checkName('model', values.model, '--model');
    const { history } = await registry.getAliases(values.model);
    // `by` is '<workflow id>/<run id>' for moves a workflow made; anything else (a test, a script) as written.
    const entries = history.map((e) => {
      const run = /^(.+)\/([0-9a-f-]{36})$/.exec(e.by);
      return { ...e, workflowId: run?.[1] ?? null, runId: run?.[2] ?? null };
    });
    if (values.json) {
      io.stdout(JSON.stringify(entries, null, 2));
      return 0;
    }
    if (entries.length === 0) throw new Error(`model '${values.model}' has no alias history in ${store.description}: no version was ever promoted`);
    for (const e of entries) {
      io.stdout(
        `${e.at}  ${e.action.padEnd(16)} ${e.from ?? '-'} -> ${e.to ?? '-'}  by ${e.workflowId ?? e.by}${e.runId ? ` (run ${e.runId})` : ''}${e.reason ? `: ${e.reason}` : ''}`,
      );
    }
    return 0;
  }
  if (sub === 'diff') {
    if (!values.model || !values.from || !values.to) throw new Error('registry diff needs --model <name> --from <version> --to <version>');
    checkName('model', values.model, '--model');
    checkName('version', values.from, '--from');
    checkName('version', values.to, '--to');
    const lineages = [];
    for (const v of [values.from, values.to]) {
      const lineage = await registry.getLineage(values.model, v);
      if (!lineage) {
        const versions = await registry.listVersions(values.model);
        throw new Error(`model '${values.model}' has no version '${v}'; it has: ${versions.join(', ') || 'none'}`);
      }
      lineages.push(lineage);
    }
    const [a, b] = lineages as [Lineage, Lineage];
    // The specs as published (content-addressed, so they are the ones each version was trained with).
    const specA = await getJsonIfExists<unknown>(store, a.spec.key);
    const specB = await getJsonIfExists<unknown>(store, b.spec.key);
    const diff = diffVersions(a, b, specA && specB ? { from: specA.value, to: specB.value } : null);
    io.stdout(values.json ? JSON.stringify(diff, null, 2) : formatVersionDiff(diff));
    return 0;
  }
  throw new Error(`registry needs 'list', 'show', 'history' or 'diff', not '${sub ?? ''}'`);
}
