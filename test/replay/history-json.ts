/**
 * Temporal's JSON history format (what `temporal workflow show --output json`,
 * the Temporal UI's download and the SDK's historyToJSON write), to and from
 * the History objects `Worker.runReplayHistories` takes.
 *
 * The SDK's helpers need the Temporal packages to share one protobufjs 8: the
 * project lists protobufjs itself so npm hoists that one copy (package.json).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { historyFromJSON as sdkHistoryFromJSON, historyToJSON as sdkHistoryToJSON } from '@temporalio/common/lib/proto-utils';

export type History = ReturnType<typeof sdkHistoryFromJSON>;

/** A history (from `handle.fetchHistory()`) as Temporal's JSON history text. */
export function historyToJSON(history: History): string {
  return JSON.stringify(JSON.parse(sdkHistoryToJSON(history)), null, 2);
}

/** Temporal's JSON history (parsed) as a History object for replay. */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a Temporal history: expected an object with an array of events');
  }
  return sdkHistoryFromJSON(json);
}

export interface SavedHistory {
  /** Path under the root it was loaded from, without .json: "retraining-pipeline/promoted". */
  name: string;
  history: History;
}

/** Every *.json history under `root`, in path order. */
export async function loadHistories(root: string): Promise<SavedHistory[]> {
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const path = join(root, file);
      let history: History;
      try {
        history = historyFromJSON(JSON.parse(await readFile(path, 'utf8')));
      } catch (error) {
        throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
      }
      return {
        name: relative(root, path)
          .replace(/\.json$/, '')
          .split('\\')
          .join('/'),
        history,
      };
    }),
  );
}
