import {
  CLAIM_FILE,
  deletePrefix,
  getVerified,
  keys,
  LINEAGE_FILE,
  modelOfKey,
  sha256,
  getJsonIfExists,
  putJson,
  PreconditionFailedError,
  versionOfKey,
  type ObjectStore,
} from '../store';
import { ChampionMovedError, ChecksumMismatchError, ReleaseRefusedError, RollbackRefusedError } from '../errors';
import {
  emptyAliases,
  releaseOf,
  type AliasHistoryEntry,
  type Aliases,
  type ArtifactRef,
  type BundleArtifact,
  type Lineage,
  type ReleaseMode,
  type ReleaseOutcome,
} from './types';

export { ChecksumMismatchError };

const VERSION = /^v(\d+)$/;

/** A history entry that made `to` the champion by promotion: a promote, or a release that ended promoted. */
const isPromotion = (h: AliasHistoryEntry) => h.action === 'promote' || (h.action === 'release-end' && h.outcome === 'promoted');

/** Clears the release fields: no candidate, no weight, no mode. */
function clearRelease(a: Aliases): void {
  a.canary = null;
  a.canaryWeight = 0;
  delete a.release;
}

/** A weight in [0, 1] or a ReleaseRefusedError naming it. */
function checkWeight(model: string, candidate: string, weight: unknown): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1) {
    throw new ReleaseRefusedError(
      model,
      candidate,
      'bad-input',
      `the weight must be a number from 0 to 1 (the candidate's share of traffic, or of requests copied to it in shadow), found ${JSON.stringify(weight) ?? String(weight)}`,
    );
  }
  return weight;
}

export interface StartRelease {
  candidate: string;
  mode: ReleaseMode;
  /** The candidate's share: of traffic (canary, ab; required), of requests copied to it (shadow; default 1). */
  weight?: number;
  /** The champion the candidate was evaluated against (null: none); the release starts only while it is still the champion. */
  expectedChampion: string | null;
  by: string;
  now: Date;
  reason?: string;
}

export interface SetReleaseWeight {
  candidate: string;
  weight: number;
  by: string;
  now: Date;
  reason?: string;
}

export interface EndRelease {
  candidate: string;
  /** promoted: the candidate becomes champion, the champion previous; rolled-back: all traffic back on the champion. */
  outcome: ReleaseOutcome;
  by: string;
  now: Date;
  reason?: string;
}
export const versionNumber = (v: string): number => Number(VERSION.exec(v)?.[1] ?? NaN);

/** The highest version number any key under versions/ uses (claimed or committed), 0 when none. */
function highestVersionNumber(keysInVersions: string[]): number {
  let highest = 0;
  for (const key of keysInVersions) {
    const n = versionNumber(versionOfKey(key) ?? '');
    if (n > highest) highest = n;
  }
  return highest;
}

/**
 * The model registry on S3. Versions are immutable: a version exists once its
 * lineage.json is written (the commit point, create-once); artifacts are
 * written before it. Aliases move with optimistic concurrency (If-Match).
 */
export class Registry {
  constructor(readonly store: ObjectStore) {}

  async listModels(): Promise<string[]> {
    const objects = await this.store.list(keys.allModels());
    const models = new Set<string>();
    for (const o of objects) {
      const model = modelOfKey(o.key);
      if (model) models.add(model);
    }
    return [...models].sort();
  }

  /** Committed versions, oldest first. */
  async listVersions(model: string): Promise<string[]> {
    const objects = await this.store.list(keys.versions(model));
    const versions = objects.filter((o) => o.key.endsWith(`/${LINEAGE_FILE}`)).map((o) => versionOfKey(o.key) ?? '');
    return versions.filter((v) => VERSION.test(v)).sort((a, b) => versionNumber(a) - versionNumber(b));
  }

  async getLineage(model: string, version: string): Promise<Lineage | null> {
    return (await getJsonIfExists<Lineage>(this.store, keys.versionFile(model, version, LINEAGE_FILE)))?.value ?? null;
  }

  async findByRun(model: string, runId: string): Promise<Lineage | null> {
    for (const version of (await this.listVersions(model)).reverse()) {
      const lineage = await this.getLineage(model, version);
      if (lineage?.workflow.runId === runId) return lineage;
    }
    return null;
  }

  /**
   * Registers a new version, once per workflow run: a retried or duplicated
   * call with the same run id returns the version registered the first time.
   * `bundle` may be a function, called only when the run has no version yet.
   */
  async register(
    model: string,
    bundle: BundleArtifact[] | (() => Promise<BundleArtifact[]>),
    lineage: Omit<Lineage, 'version' | 'artifacts' | 'createdAt'>,
    now: Date,
  ): Promise<Lineage> {
    const existing = await this.findByRun(model, lineage.workflow.runId);
    if (existing) return existing;
    // Collected only now: a retry whose earlier attempt registered (and cleared what it registered from) never reads it.
    const artifacts = typeof bundle === 'function' ? await bundle() : bundle;
    const runId = lineage.workflow.runId;
    const taken = await this.store.list(keys.versions(model));
    // A retry after a crash between claim and commit finds its own claim and finishes that version.
    let next =
      (await this.unfinishedClaimOf(
        model,
        runId,
        taken.map((o) => o.key),
      )) ?? 1 + highestVersionNumber(taken.map((o) => o.key));
    for (;;) {
      const version = `v${next}`;
      // Claim the number first so two writers never share a folder.
      try {
        await putJson(this.store, keys.versionFile(model, version, CLAIM_FILE), { runId, at: now.toISOString() }, { ifNoneMatch: true });
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        const claim = await getJsonIfExists<{ runId: string }>(this.store, keys.versionFile(model, version, CLAIM_FILE));
        if (claim?.value.runId !== runId) {
          next += 1;
          continue;
        }
      }
      // Artifacts are create-once too: if an earlier (or concurrent) attempt of this run
      // wrote one already, the lineage describes the bytes that are stored, not ours.
      const refs: ArtifactRef[] = [];
      for (const artifact of artifacts) {
        const key = keys.versionFile(model, version, artifact.name);
        let body = artifact.body;
        try {
          await this.store.put(key, body, { ifNoneMatch: true });
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
          body = await this.store.get(key);
        }
        refs.push({ name: artifact.name, key, sha256: sha256(body), bytes: body.length });
      }
      const record: Lineage = { ...lineage, version, createdAt: now.toISOString(), artifacts: refs };
      try {
        await putJson(this.store, keys.versionFile(model, version, LINEAGE_FILE), record, { ifNoneMatch: true });
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        // Our own earlier attempt committed it: return what is there.
        const committed = await this.getLineage(model, version);
        if (committed?.workflow.runId === runId) return committed;
        throw error;
      }
      return record;
    }
  }

  /** The number of a version this run claimed but never committed, if any. */
  private async unfinishedClaimOf(model: string, runId: string, keysInVersions: string[]): Promise<number | undefined> {
    const folders = new Map<string, boolean>();
    for (const key of keysInVersions) {
      const folder = versionOfKey(key) ?? '';
      folders.set(folder, (folders.get(folder) ?? false) || key.endsWith(`/${LINEAGE_FILE}`));
    }
    for (const [folder, committed] of folders) {
      if (committed || !VERSION.test(folder)) continue;
      const claim = await getJsonIfExists<{ runId: string }>(this.store, keys.versionFile(model, folder, CLAIM_FILE));
      if (claim?.value.runId === runId) return versionNumber(folder);
    }
    return undefined;
  }

  /** Reads a version's artifacts, each checked against the sha256 in its lineage. */
  async loadArtifacts(model: string, version: string): Promise<{ lineage: Lineage; artifacts: Map<string, Buffer> }> {
    const lineage = await this.getLineage(model, version);
    if (!lineage) throw new Error(`model '${model}' has no version '${version}' in the registry (${this.store.description})`);
    const artifacts = new Map<string, Buffer>();
    for (const ref of lineage.artifacts) {
      artifacts.set(ref.name, await getVerified(this.store, ref.key, ref.sha256));
    }
    return { lineage, artifacts };
  }

  /**
   * Removes a version registered by a run that then failed (saga compensation).
   * Only that run's version, and never the champion.
   */
  async unregister(model: string, version: string, runId: string): Promise<boolean> {
    const lineage = await this.getLineage(model, version);
    const aliases = await this.getAliases(model);
    if (aliases.champion === version || aliases.canary === version) {
      throw new Error(`refusing to remove ${model}/${version}: it is still ${aliases.champion === version ? 'the champion' : 'the canary'}`);
    }
    const claim = await getJsonIfExists<{ runId: string }>(this.store, keys.versionFile(model, version, CLAIM_FILE));
    if ((lineage && lineage.workflow.runId !== runId) || (!lineage && claim?.value.runId !== runId)) return false;
    // Lineage first: the version stops existing at once, then its files go.
    await this.store.delete(keys.versionFile(model, version, LINEAGE_FILE));
    await deletePrefix(this.store, keys.version(model, version));
    return true;
  }

  async getAliases(model: string): Promise<Aliases> {
    return (await getJsonIfExists<Aliases>(this.store, keys.aliases(model)))?.value ?? emptyAliases(model);
  }

  /** Read-modify-write of aliases.json under If-Match, retried on a lost race. */
  async updateAliases(model: string, change: (aliases: Aliases) => Aliases | null): Promise<Aliases> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const found = await getJsonIfExists<Aliases>(this.store, keys.aliases(model));
      const current = found?.value ?? emptyAliases(model);
      const next = change(structuredClone(current));
      if (next === null) return current; // nothing to do: already as wanted
      try {
        await putJson(this.store, keys.aliases(model), next, found ? { ifMatch: found.etag } : { ifNoneMatch: true });
        return next;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new Error(`aliases of '${model}' kept changing under us (10 attempts); is another Perennial moving them?`);
  }

  /**
   * Makes `version` the champion; the old champion becomes `previous`. Idempotent.
   * With `expectedChampion` it is a compare-and-set: it promotes only while the
   * champion is still the version the candidate was evaluated against, and
   * throws ChampionMovedError otherwise.
   */
  promote(model: string, version: string, by: string, now: Date, reason?: string, expectedChampion?: string | null): Promise<Aliases> {
    return this.updateAliases(model, (a) => {
      if (a.champion === version) return null;
      if (expectedChampion !== undefined && a.champion !== expectedChampion) throw new ChampionMovedError(model, version, expectedChampion, a.champion);
      a.history.push({ at: now.toISOString(), action: 'promote', from: a.champion, to: version, by, reason });
      a.previous = a.champion;
      a.champion = version;
      if (a.canary === version) clearRelease(a);
      return a;
    });
  }

  /**
   * Puts `to` back as champion in place of `from` (a rollback: on demand, or
   * the monitor's after a champion disappoints). A compare-and-set: when the
   * champion is already `to` it does nothing (a retried call), and when it is
   * neither it refuses, since someone moved it after the rollback was decided.
   * `previous` becomes the champion `to` had replaced when it was promoted.
   */
  rollback(model: string, change: { from: string; to: string; by: string; now: Date; reason: string }): Promise<Aliases> {
    return this.updateAliases(model, (a) => {
      if (a.champion === change.to) return null;
      if (a.champion !== change.from) {
        throw new RollbackRefusedError(
          model,
          `the champion is ${a.champion ?? '(none)'} now, not ${change.from} as when the rollback was asked for; nothing changed (ask again to roll back ${a.champion ?? 'nothing'})`,
        );
      }
      const promotedTo = [...a.history].reverse().find((h) => h.to === change.to && isPromotion(h));
      a.history.push({ at: change.now.toISOString(), action: 'rollback', from: change.from, to: change.to, by: change.by, reason: change.reason });
      a.champion = change.to;
      a.previous = promotedTo?.from && promotedTo.from !== change.from ? promotedTo.from : null;
      if (a.canary === change.to) clearRelease(a);
      return a;
    });
  }

  /**
   * Undoes the promotion of `version` made by `by` (saga compensation): the
   * champion goes back to what it was before, only if nothing moved it since.
   */
  revertPromotion(model: string, version: string, by: string, now: Date): Promise<Aliases> {
    return this.updateAliases(model, (a) => {
      if (a.champion !== version) return null;
      // Only if the last move of the champion is this run's promotion: anything later wins.
      // Release entries name the candidate in `to` without moving the champion: only moves count here.
      const moves = a.history.filter((h) => !h.action.startsWith('release-') || isPromotion(h));
      const promotion = [...moves].reverse().find((h) => h.to === a.champion);
      if (!promotion || !isPromotion(promotion) || promotion.by !== by) return null;
      const before = [...moves].reverse().find((h) => h.to === promotion.from && h !== promotion && isPromotion(h));
      a.history.push({ at: now.toISOString(), action: 'revert-promotion', from: version, to: promotion.from, by, reason: 'pipeline failed after promotion' });
      a.champion = promotion.from;
      a.previous = before?.from ?? null;
      return a;
    });
  }
  /**
   * Starts the release of `candidate` against the champion: one conditional
   * write of aliases.json (`canary`, `canaryWeight`, `release`) with a
   * `release-start` history entry. A compare-and-set: it refuses
   * (ReleaseRefusedError, nothing written) when the champion is no longer
   * `expectedChampion`, when there is no champion, when another release is in
   * flight, when the candidate is not registered, or when the weight is not in
   * [0, 1]. A retry after success (the same candidate in the same mode) changes
   * nothing and returns the aliases, whatever the weight has become since.
   */
  async startRelease(model: string, start: StartRelease): Promise<Aliases> {
    const { candidate, mode } = start;
    const refuse = (kind: ReleaseRefusedError['kind'], problem: string) => new ReleaseRefusedError(model, candidate, kind, problem);
    if (mode !== 'canary' && mode !== 'ab' && mode !== 'shadow') {
      throw refuse('bad-input', `unknown release mode ${JSON.stringify(mode)}: use canary, ab or shadow`);
    }
    const weight = checkWeight(model, candidate, start.weight ?? (mode === 'shadow' ? 1 : undefined));
    if (!(await this.getLineage(model, candidate))) {
      const versions = await this.listVersions(model);
      throw refuse('unknown-candidate', `'${model}' has no version '${candidate}' (versions: ${versions.join(', ') || 'none'}); register it first`);
    }
    return this.updateAliases(model, (a) => {
      const current = releaseOf(a);
      if (current?.candidate === candidate && current.mode === mode) return null; // a retry of this start
      if (a.champion !== start.expectedChampion) {
        throw refuse(
          'champion-moved',
          `it was evaluated against champion ${start.expectedChampion ?? '(none)'}, but the champion is now ${a.champion ?? '(none)'}: not released, ` +
            `since it was never compared with ${a.champion ?? 'the empty registry'}; retrain to compare it with the champion in force`,
        );
      }
      if (a.champion === null) throw refuse('no-champion', `'${model}' has no champion to release against; promote the first version directly`);
      if (a.champion === candidate) throw refuse('champion-moved', `${candidate} is the champion already; nothing to release`);
      if (a.canary !== null) {
        throw refuse(
          'release-in-flight',
          current
            ? `${current.candidate} is in ${current.mode} release (weight ${current.weight}); end that release first (promoted or rolled back)`
            : `aliases.json names ${a.canary} as canary; end that release first`,
        );
      }
      a.canary = candidate;
      a.canaryWeight = weight;
      a.release = mode;
      a.history.push({
        at: start.now.toISOString(),
        action: 'release-start',
        from: a.champion,
        to: candidate,
        by: start.by,
        reason: start.reason,
        mode,
        weight,
      });
      return a;
    });
  }

  /**
   * Moves the weight of the candidate in release (the server follows within its
   * poll interval, without reloading anything): one conditional write with a
   * `release-weight` history entry. Refused when `candidate` is not the one in
   * release. The weight it has already: nothing written (a retry).
   */
  async setReleaseWeight(model: string, change: SetReleaseWeight): Promise<Aliases> {
    const { candidate } = change;
    const weight = checkWeight(model, candidate, change.weight);
    return this.updateAliases(model, (a) => {
      const current = releaseOf(a);
      if (current?.candidate !== candidate) {
        throw new ReleaseRefusedError(
          model,
          candidate,
          'not-in-release',
          `it is not in release (${current ? `${current.candidate} is, in ${current.mode}` : 'no release is in flight'}); start its release first`,
        );
      }
      if (a.canaryWeight === weight) return null;
      a.canaryWeight = weight;
      a.history.push({ at: change.now.toISOString(), action: 'release-weight', from: a.champion, to: candidate, by: change.by, reason: change.reason, weight });
      return a;
    });
  }

  /**
   * Ends the release of `candidate` in ONE conditional write with a
   * `release-end` history entry: `promoted` makes it the champion and the
   * champion `previous` (refused if the champion moved since the release
   * started); `rolled-back` leaves the champion and sends all traffic back to
   * it. Both clear the release. Idempotent: a retry after success (the
   * release of `candidate` ended with the same outcome last) changes nothing
   * and returns the aliases; one that ended otherwise is refused.
   */
  async endRelease(model: string, end: EndRelease): Promise<Aliases> {
    const { candidate, outcome } = end;
    const refuse = (kind: ReleaseRefusedError['kind'], problem: string) => new ReleaseRefusedError(model, candidate, kind, problem);
    if (outcome !== 'promoted' && outcome !== 'rolled-back')
      throw refuse('bad-input', `unknown outcome ${JSON.stringify(outcome)}: use promoted or rolled-back`);
    return this.updateAliases(model, (a) => {
      const current = releaseOf(a);
      if (current?.candidate !== candidate) {
        const last = [...a.history].reverse().find((h) => h.action.startsWith('release-') && h.to === candidate);
        if (last?.action === 'release-end' && last.outcome === outcome) return null; // a retry of this end
        if (last?.action === 'release-end') throw refuse('ended-otherwise', `its release ended ${last.outcome} already (${last.at}, by ${last.by})`);
        throw refuse('not-in-release', `it is not in release (${current ? `${current.candidate} is, in ${current.mode}` : 'no release is in flight'})`);
      }
      const started = [...a.history].reverse().find((h) => h.action === 'release-start' && h.to === candidate);
      const champion = a.champion;
      if (outcome === 'promoted' && started && started.from !== champion) {
        throw refuse(
          'champion-moved',
          `it was released against champion ${started.from ?? '(none)'}, but the champion is now ${champion ?? '(none)'}: not promoted; end the release rolled-back`,
        );
      }
      clearRelease(a);
      if (outcome === 'promoted') {
        a.previous = champion;
        a.champion = candidate;
      }
      a.history.push({ at: end.now.toISOString(), action: 'release-end', from: champion, to: candidate, by: end.by, reason: end.reason, outcome });
      return a;
    });
  }
}
