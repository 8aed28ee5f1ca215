/**
 * Identifiers that become part of a workflow id or an S3 key (model names,
 * triggers, versions): one rule each, checked at every edge (CLI, client,
 * activities, workflows) before anything starts or is written. No imports
 * but src/errors: workflows bundle this file.
 */
import { InvalidNameError, quoteValue } from './errors';

interface NameRule {
  pattern: RegExp;
  /** What a valid value looks like, for the error. */
  expected: string;
}

export const NAME_RULES = {
  model: { pattern: /^[a-z0-9][a-z0-9_-]{0,62}$/, expected: 'lower-case letters, digits, - and _ (at most 63), starting with a letter or digit' },
  trigger: { pattern: /^[a-z0-9][a-z0-9_-]{0,62}$/, expected: 'a word like manual, schedule, drift, feedback or ci (lower-case letters, digits, - and _)' },
  version: { pattern: /^v[1-9][0-9]{0,8}$/, expected: "'v' and a number, like v1 or v12" },
} as const satisfies Record<string, NameRule>;

export type NameKind = keyof typeof NAME_RULES;

/** True when `value` follows the rule of `kind`. */
export function isValidName(kind: NameKind, value: unknown): value is string {
  return typeof value === 'string' && NAME_RULES[kind].pattern.test(value);
}

/** Returns `value` when it follows the rule of `kind`; otherwise an InvalidNameError that says what was wrong and what is expected. */
export function checkName(kind: NameKind, value: unknown, where: string = kind): string {
  if (isValidName(kind, value)) return value;
  const shown = typeof value === 'string' ? quoteValue(value) : String(value);
  throw new InvalidNameError(`${where} ${shown} is not a valid ${kind} name: ${NAME_RULES[kind].expected}`);
}
