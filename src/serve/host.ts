/**
 * The versions the server answers with, and how they follow the registry.
 * Every `pollMs` it reads each model's aliases.json; when the champion moved
 * (a promotion, a rollback) it loads the new version fully (checksums, model,
 * warm-up) beside the one serving, then swaps one reference: a request takes
 * the version serving when it starts and finishes on it, so no request fails
 * during a switch. A version that fails its checksum or will not load is
 * refused and logged, and traffic stays where it was; it is tried again after
 * `retryRefusedMs` (restoring the bytes heals it without a restart).
 *
 * A release (aliases.json `release`, `canary`, `canaryWeight`) is followed the
 * same way: the candidate is loaded beside the champion with the same checks,
 * and only then does `state.release` name it (one assignment); a candidate that
 * fails to load is refused and logged, and all traffic stays on the champion.
 * A change of weight or mode replaces the release object (no reload), so it is
 * followed within one poll. When the release ends the candidate is disposed
 * after `disposeAfterMs` (requests already holding it finish on it); when it
 * ends promoted, the loaded candidate becomes the champion as it is (nothing
 * loads again) and the old champion is disposed the same way.
 */
import type { Tf } from '../model';
import { releaseOf, type Registry, type ReleaseMode } from '../registry';
import { loadVersion, type LoadedVersion } from './loaded';

export interface Refusal {
  version: string;
  reason: string;
  at: string;
}

/** A release in force: the candidate loaded, how it routes. Replaced whole on any change, never mutated. */
export interface LoadedRelease {
  mode: ReleaseMode;
  /** The candidate's share of traffic (canary, ab) or of requests copied to it (shadow), in [0, 1]. */
  weight: number;
  candidate: LoadedVersion;
}

export interface ModelState {
  /** The champion aliases.json names (null: none yet). */
  champion: string | null;
  /** The version answering (null: not ready). */
  serving: LoadedVersion | null;
  /** The release aliases.json names (loaded or not), for the metadata. */
  named: { candidate: string; mode: ReleaseMode; weight: number } | null;
  /** The release in force: its candidate loaded and checked (null: none, or its candidate is loading or was refused). */
  release: LoadedRelease | null;
  refused: Refusal[];
}

export type HostEvent =
  | { kind: 'loaded'; model: string; version: string; previous: string | null; seconds: number }
  | { kind: 'refused'; model: string; version: string; reason: string; role: 'champion' | 'candidate' }
  | { kind: 'poll-failed'; model: string; reason: string }
  | {
      kind: 'release';
      model: string;
      candidate: string;
      mode: ReleaseMode;
      weight: number;
      /** started: the candidate loaded and routed; changed: weight or mode; ended: back to the champion alone; promoted: it became the champion. */
      change: 'started' | 'changed' | 'ended' | 'promoted';
      seconds?: number;
    };

export interface ModelHostOptions {
  registry: Registry;
  tf: Tf;
  models: string[];
  /** How often aliases.json is read (default 500 ms: a promotion is followed well within 2 s). */
  pollMs?: number;
  /** When a refused version still named by the aliases is tried again (default 30 s). */
  retryRefusedMs?: number;
  /** How long a replaced version stays loaded for requests still on it (default 10 s). */
  disposeAfterMs?: number;
  onEvent?: (event: HostEvent) => void;
}

export class ModelHost {
  private readonly states = new Map<string, ModelState>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ModelHostOptions) {
    for (const model of options.models) this.states.set(model, { champion: null, serving: null, named: null, release: null, refused: [] });
  }

  get models(): string[] {
    return [...this.states.keys()];
  }

  state(model: string): ModelState | undefined {
    return this.states.get(model);
  }

  /** Every model has a version answering. */
  get ready(): boolean {
    return [...this.states.values()].every((s) => s.serving !== null);
  }

  /** Loads what the aliases name now, then follows them. */
  async start(): Promise<void> {
    await this.pollOnce();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.polling = this.pollOnce().finally(() => this.schedule());
    }, this.options.pollMs ?? 500);
  }

  /** One look at every model's aliases (models in parallel: a slow load of one never delays another's switch). */
  async pollOnce(): Promise<void> {
    await Promise.all(this.models.map((m) => this.follow(m)));
  }

  private emit(event: HostEvent): void {
    this.options.onEvent?.(event);
  }

  private async follow(model: string): Promise<void> {
    const state = this.states.get(model)!;
    let aliases;
    try {
      aliases = await this.options.registry.getAliases(model);
    } catch (error) {
      // The store is unreachable: keep serving what is loaded.
      this.emit({ kind: 'poll-failed', model, reason: (error as Error).message });
      return;
    }
    state.champion = aliases.champion;
    state.named = releaseOf(aliases);
    await this.followChampion(model, state);
    await this.followRelease(model, state);
  }

  /** A refused version is tried again only after retryRefusedMs. */
  private refusedRecently(state: ModelState, version: string): boolean {
    const refused = state.refused.find((r) => r.version === version);
    return refused !== undefined && Date.now() - Date.parse(refused.at) < (this.options.retryRefusedMs ?? 30_000);
  }

  /** Loads a version with every check, or records and reports its refusal (undefined). */
  private async load(model: string, state: ModelState, version: string, role: 'champion' | 'candidate'): Promise<LoadedVersion | undefined> {
    let loaded: LoadedVersion;
    try {
      loaded = await loadVersion(this.options.registry, this.options.tf, model, version);
    } catch (error) {
      const reason = (error as Error).message;
      state.refused = [...state.refused.filter((r) => r.version !== version), { version, reason, at: new Date().toISOString() }].slice(-10);
      this.emit({ kind: 'refused', model, version, reason, role });
      return undefined;
    }
    if (this.closed) {
      loaded.dispose();
      return undefined;
    }
    state.refused = state.refused.filter((r) => r.version !== version);
    return loaded;
  }

  /** Disposes a version no longer named, once the requests holding it are done (unless it serves again). */
  private retire(state: ModelState, version: LoadedVersion): void {
    setTimeout(() => {
      if (state.serving !== version && state.release?.candidate !== version) version.dispose();
    }, this.options.disposeAfterMs ?? 10_000).unref();
  }

  private async followChampion(model: string, state: ModelState): Promise<void> {
    const champion = state.champion;
    if (!champion || state.serving?.version === champion) return;
    const previous = state.serving;
    const release = state.release;
    if (release?.candidate.version === champion) {
      // The candidate was promoted: it is loaded and checked already, and takes all traffic in one step (serving and release together).
      state.serving = release.candidate;
      state.release = null;
      this.emit({ kind: 'release', model, candidate: champion, mode: release.mode, weight: release.weight, change: 'promoted' });
      this.emit({ kind: 'loaded', model, version: champion, previous: previous?.version ?? null, seconds: 0 });
      if (previous) this.retire(state, previous);
      return;
    }
    if (this.refusedRecently(state, champion)) return;
    const started = performance.now();
    const loaded = await this.load(model, state, champion, 'champion');
    if (!loaded) return;
    // The swap: one assignment; requests already holding `previous` finish on it.
    state.serving = loaded;
    this.emit({ kind: 'loaded', model, version: champion, previous: previous?.version ?? null, seconds: (performance.now() - started) / 1000 });
    if (previous) this.retire(state, previous);
  }

  private async followRelease(model: string, state: ModelState): Promise<void> {
    const wanted = state.named;
    const current = state.release;
    // No release (or one whose candidate is the champion: nothing to route): all traffic on the champion.
    if (!wanted || wanted.candidate === state.serving?.version) {
      if (current) {
        state.release = null;
        this.emit({ kind: 'release', model, candidate: current.candidate.version, mode: current.mode, weight: current.weight, change: 'ended' });
        this.retire(state, current.candidate);
      }
      return;
    }
    if (current?.candidate.version === wanted.candidate) {
      if (current.mode !== wanted.mode || current.weight !== wanted.weight) {
        // A new object in one assignment: a request reads mode and weight together.
        state.release = { mode: wanted.mode, weight: wanted.weight, candidate: current.candidate };
        this.emit({ kind: 'release', model, candidate: wanted.candidate, mode: wanted.mode, weight: wanted.weight, change: 'changed' });
      }
      return;
    }
    // Another candidate (or the first): the one routed so far stops at once; the new one takes traffic once loaded and checked.
    if (current) {
      state.release = null;
      this.emit({ kind: 'release', model, candidate: current.candidate.version, mode: current.mode, weight: current.weight, change: 'ended' });
      this.retire(state, current.candidate);
    }
    if (!state.serving || this.refusedRecently(state, wanted.candidate)) return;
    const started = performance.now();
    const loaded = await this.load(model, state, wanted.candidate, 'candidate');
    if (!loaded) return;
    // Routed from now on (a release that ended during the load is seen at the next poll, within pollMs).
    state.release = { mode: wanted.mode, weight: wanted.weight, candidate: loaded };
    this.emit({
      kind: 'release',
      model,
      candidate: wanted.candidate,
      mode: wanted.mode,
      weight: wanted.weight,
      change: 'started',
      seconds: (performance.now() - started) / 1000,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const state of this.states.values()) {
      state.serving?.dispose();
      state.serving = null;
      state.release?.candidate.dispose();
      state.release = null;
    }
  }
}
