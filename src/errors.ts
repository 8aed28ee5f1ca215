/**
 * Errors that no retry can fix: bad data, a bad spec, a corrupt or missing
 * artifact. Each names what is at fault and what would fix it. The workflows'
 * retry policy is derived from this list (NON_RETRYABLE), so a new permanent
 * error is one class added here. No imports: workflows bundle this file.
 */

/** How many characters of a value an error quotes: a 10 MB field must not make a 10 MB message. */
const QUOTED_MAX = 80;

/**
 * A value as an error quotes it: in single quotes, control characters and
 * quotes escaped once (JSON style), cut to a readable length with the length
 * it had.
 */
export function quoteValue(value: string, max = QUOTED_MAX): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  const escaped = JSON.stringify(cut)
    .slice(1, -1)
    .replace(/'/g, "\\'")
    // JSON leaves DEL and the C1 controls as they are; a terminal may act on them.
    .replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return value.length > max ? `'${escaped}'... (${value.length} characters)` : `'${escaped}'`;
}

/** An identifier (model name, trigger, version) that cannot become part of a workflow id or an S3 key. */
export class InvalidNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

/** An input problem that names where it is (file or key, row, column), so a user knows what to fix. */
export class DataError extends Error {
  readonly source: string;
  readonly row?: number;
  readonly column?: string;
  constructor(message: string, where: { source: string; row?: number; column?: string }) {
    const at = [
      where.source,
      where.row !== undefined ? `row ${where.row}` : undefined,
      where.column !== undefined ? `column ${quoteValue(where.column)}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${at}: ${message}`);
    this.name = 'DataError';
    this.source = where.source;
    this.row = where.row;
    this.column = where.column;
  }
}

/** A batch, snapshot or holdout the model's schema refuses; what was refused is in quarantine. */
export class DataValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataValidationError';
  }
}

/** A model spec that does not validate, with every problem and its field path. */
export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: the model spec is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

export class SpecNotFoundError extends Error {
  constructor(model: string, where: string) {
    super(`model '${model}' has no spec at ${where}: upload one with 'npx perennial retrain --model ${model} --spec <file.yaml>' or 'npx perennial bootstrap'`);
    this.name = 'SpecNotFoundError';
  }
}

/** An artifact whose bytes are not those its lineage recorded. */
export class ChecksumMismatchError extends Error {
  constructor(key: string, expected: string, actual: string) {
    super(
      `checksum mismatch for ${key}: sha256 ${expected} was recorded when it was written, the object now has ${actual}; it is corrupt or was changed, refusing to load it`,
    );
    this.name = 'ChecksumMismatchError';
  }
}

/** A stored artifact that cannot be read as what it claims to be (a model.json that does not parse...). */
export class ArtifactError extends Error {
  constructor(key: string, reason: string) {
    super(`${key}: ${reason}`);
    this.name = 'ArtifactError';
  }
}

/**
 * A promotion decided against a champion that is no longer the champion: the
 * candidate was compared with `expected`, and `current` took its place since.
 */
export class ChampionMovedError extends Error {
  constructor(
    readonly model: string,
    readonly candidate: string,
    readonly expected: string | null,
    readonly current: string | null,
  ) {
    super(
      `${model}/${candidate} was evaluated against champion ${expected ?? '(none)'}, but the champion is now ${current ?? '(none)'}: ` +
        `not promoted, since it was never compared with ${current ?? 'the empty registry'}; retrain to compare it with the champion in force`,
    );
    this.name = 'ChampionMovedError';
  }
}

/** A data source of the spec that cannot be pulled as configured (a 404, a refused login, a file that is not data): fix data.sources. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    readonly where: string,
    problem: string,
  ) {
    super(`data source ${quoteValue(source)} (${where}): ${problem}`);
    this.name = 'SourceError';
  }
}

/** A rollback that cannot be made as asked: no champion, nothing to go back to, an unknown version, or the champion moved since it was asked for. */
export class RollbackRefusedError extends Error {
  constructor(
    readonly model: string,
    problem: string,
  ) {
    super(`cannot roll back '${model}': ${problem}`);
    this.name = 'RollbackRefusedError';
  }
}

/** A run started for one code version (CI: the commit under test) that the workers do not run: its result would not be that code's. */
export class CodeVersionMismatchError extends Error {
  constructor(expected: string, running: string) {
    super(
      `this run was started for code ${expected}, but the workers run ${running}: deploy that commit's worker (or start 'npm run worker' from its checkout) and run again`,
    );
    this.name = 'CodeVersionMismatchError';
  }
}

/** A version that cannot be retrained from its lineage: unknown, or its snapshot or spec is gone. */
export class ReproduceRefusedError extends Error {
  constructor(model: string, version: string, problem: string) {
    super(`cannot reproduce ${model}/${version}: ${problem}`);
    this.name = 'ReproduceRefusedError';
  }
}

/**
 * A release step the registry refuses (src/registry: startRelease, setReleaseWeight,
 * endRelease): the champion moved since the candidate was evaluated, another release
 * is in flight, the candidate is not registered or not in release, a weight outside
 * [0, 1]. Nothing changed; `problem` says what to do.
 */
export class ReleaseRefusedError extends Error {
  constructor(
    readonly model: string,
    readonly candidate: string,
    readonly kind: 'champion-moved' | 'no-champion' | 'release-in-flight' | 'unknown-candidate' | 'bad-input' | 'not-in-release' | 'ended-otherwise',
    problem: string,
  ) {
    super(`release of ${model}/${candidate} refused: ${problem}`);
    this.name = 'ReleaseRefusedError';
  }
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly key: string,
    where: string,
  ) {
    super(`no object '${key}' in ${where}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Every error a retry cannot fix. */
export const PERMANENT_ERRORS = [
  InvalidNameError,
  DataError,
  DataValidationError,
  SpecError,
  SpecNotFoundError,
  ChecksumMismatchError,
  ArtifactError,
  ChampionMovedError,
  ObjectNotFoundError,
  SourceError,
  RollbackRefusedError,
  CodeVersionMismatchError,
  ReproduceRefusedError,
  ReleaseRefusedError,
] as const;

/**
 * Their names: Temporal reports an activity's error by its name (ApplicationFailure type),
 * and the retry policy's nonRetryableErrorTypes matches on it.
 */
export const NON_RETRYABLE: string[] = PERMANENT_ERRORS.map((errorClass) => errorClass.name);
