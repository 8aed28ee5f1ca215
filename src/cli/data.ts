import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../config';
import { checkName } from '../names';
import { Registry } from '../registry';
import { S3Store, withLocalFiles } from '../store';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * `perennial data list|show|diff --model <name>`: a model's training snapshots.
 *   list  every snapshot, newest first: id, created, rows, time range, batches, the versions trained on it
 *   show  --snapshot <id|prefix|vN|champion>: its manifest in full
 *   diff  --from <...> --to <...> [--html out.html]: rows added and removed, batches, schema, drift per column
 * Exit codes: 0 done; 2 bad usage, or an unknown snapshot (the message names those there are).
 */
export const DATA_USAGE = `perennial data list --model <name> [--json]
perennial data show --model <name> --snapshot <id|prefix|vN|champion> [--json]
perennial data diff --model <name> --from <id|prefix|vN|champion> --to <id|prefix|vN|champion> [--json] [--html out.html]

A model's training snapshots (datasets/<model>/snapshots/): list them, show one's
manifest, or compare two (rows added and removed, batches, schema, drift per column).

Exit status: 0 done, 2 bad usage or an unknown snapshot.`;

class UsageError extends Error {}

export async function runDataCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const name = `data ${sub ?? ''}`.trim();
  try {
    if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
      io.stdout(DATA_USAGE);
      return sub === undefined ? 2 : 0;
    }
    if (!['list', 'show', 'diff'].includes(sub)) throw new UsageError(`data needs 'list', 'show' or 'diff', not '${sub}'`);
    let values;
    try {
      ({ values } = parseCommandArgs(name, rest, {
        model: { type: 'string' },
        snapshot: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (!values.model) throw new UsageError(`${name} needs --model <name> (see: perennial registry list)`);
    try {
      checkName('model', values.model, '--model');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (sub === 'show' && !values.snapshot)
      throw new UsageError('data show needs --snapshot <id, a unique prefix of one, vN or champion> (see: perennial data list)');
    if (sub === 'diff' && (!values.from || !values.to))
      throw new UsageError('data diff needs --from and --to (each a snapshot id or unique prefix, vN or champion)');
    if (sub !== 'diff' && values.html !== undefined) throw new UsageError('--html is for data diff');

    const catalogs = await import('../catalog');
    const store = S3Store.fromConfig(loadConfig());
    const catalog = await catalogs.loadCatalog(store, new Registry(store), values.model);

    if (sub === 'list') {
      io.stdout(values.json ? JSON.stringify(catalogs.listEntries(catalog), null, 2) : catalogs.formatList(catalog));
      return 0;
    }
    if (sub === 'show') {
      const found = catalogs.resolveSnapshot(catalog, values.snapshot!);
      const snapshot = { ...found, batches: await catalogs.withAcceptedRows(store, values.model, found.batches) };
      const versions = catalogs.versionsOf(catalog, snapshot.id);
      io.stdout(values.json ? JSON.stringify({ ...snapshot, versions, champion: catalog.champion }, null, 2) : catalogs.formatShow(catalog, snapshot));
      return 0;
    }
    const from = catalogs.resolveSnapshot(catalog, values.from!, '--from');
    const to = catalogs.resolveSnapshot(catalog, values.to!, '--to');
    const compared = await withLocalFiles(store, async (files) =>
      catalogs.compareSnapshotFiles(
        { path: await catalogs.downloadSnapshot(files, from), source: from.key },
        { path: await catalogs.downloadSnapshot(files, to), source: to.key },
      ),
    );
    const side = (s: typeof from, rows: number) => ({ id: s.id, key: s.key, rows, timeRange: s.timeRange, versions: catalogs.versionsOf(catalog, s.id) });
    const diff = {
      model: values.model,
      from: side(from, compared.rows.from),
      to: side(to, compared.rows.to),
      rows: { added: compared.rows.added, removed: compared.rows.removed, common: compared.rows.common, comparedOn: compared.rows.comparedOn },
      batches: catalogs.diffBatches(from.batches, to.batches),
      schema: compared.schema,
      drift: compared.drift,
      driftSkipped: compared.driftSkipped,
    };
    if (values.html !== undefined) {
      const out = resolve(values.html);
      const { renderHtml } = await import('../drift/report');
      const html = renderHtml(compared.drift, {
        title: `${values.model}: snapshot ${catalogs.shortId(from.id)} -> ${catalogs.shortId(to.id)}`,
        referenceName: from.key,
        currentName: to.key,
      });
      await writeFile(out, html);
      (values.json ? io.stderr : io.stdout)(`HTML drift report written to ${out}`);
    }
    io.stdout(values.json ? JSON.stringify(catalogs.diffJson(diff), null, 2) : catalogs.formatDiff(diff));
    return 0;
  } catch (error) {
    // An unknown snapshot (CatalogUsageError) names those there are; a usage error adds the usage.
    io.stderr(`perennial ${name}: ${(error as Error).message}${error instanceof UsageError ? `\n\n${DATA_USAGE}` : ''}`);
    return 2;
  }
}
