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
 * Later slices add the candidate of a release (aliases.canary and its weight)
 * next to the champion here; routing then picks between the two.
 */
import type { Tf } from '../model';
import type { Registry } from '../registry';
import { loadVersion, type LoadedVersion } from './loaded';

export interface Refusal {
  version: string;
  reason: string;
  at: string;
}

export interface ModelState {
  /** The champion aliases.json names (null: none yet). */
  champion: string | null;
  /** The version answering (null: not ready). */
  serving: LoadedVersion | null;
  refused: Refusal[];
}

export type HostEvent =
  | { kind: 'loaded'; model: string; version: string; previous: string | null; seconds: number }
  | { kind: 'refused'; model: string; version: string; reason: string }
  | { kind: 'poll-failed'; model: string; reason: string };

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
    for (const model of options.models) this.states.set(model, { champion: null, serving: null, refused: [] });
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
    let champion: string | null;
    try {
      champion = (await this.options.registry.getAliases(model)).champion;
    } catch (error) {
      // The store is unreachable: keep serving what is loaded.
      this.emit({ kind: 'poll-failed', model, reason: (error as Error).message });
      return;
    }
    state.champion = champion;
    if (!champion || state.serving?.version === champion) return;
    const refused = state.refused.find((r) => r.version === champion);
    if (refused && Date.now() - Date.parse(refused.at) < (this.options.retryRefusedMs ?? 30_000)) return;
    const started = performance.now();
    let loaded: LoadedVersion;
    try {
      loaded = await loadVersion(this.options.registry, this.options.tf, model, champion);
    } catch (error) {
      const reason = (error as Error).message;
      state.refused = [...state.refused.filter((r) => r.version !== champion), { version: champion, reason, at: new Date().toISOString() }].slice(-10);
      this.emit({ kind: 'refused', model, version: champion, reason });
      return;
    }
    if (this.closed) {
      loaded.dispose();
      return;
    }
    state.refused = state.refused.filter((r) => r.version !== champion);
    const previous = state.serving;
    // The swap: one assignment; requests already holding `previous` finish on it.
    state.serving = loaded;
    this.emit({ kind: 'loaded', model, version: champion, previous: previous?.version ?? null, seconds: (performance.now() - started) / 1000 });
    if (previous) setTimeout(() => previous.dispose(), this.options.disposeAfterMs ?? 10_000).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const state of this.states.values()) {
      state.serving?.dispose();
      state.serving = null;
    }
  }
}
