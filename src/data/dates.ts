/**
 * ISO dates as written: the wall-clock fields of the text, an offset not
 * applied, so a date means the same at training and at serving whatever the
 * machine's time zone.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

export interface DateFields {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  dayOfYear: number; // 1..365/366
  daysInYear: number;
  dayOfWeek: number; // Monday = 0 .. Sunday = 6 (as pandas)
}

/** The date fields of an ISO date text; undefined when the text is not one (2021-02-30 is not). */
export function parseDateFields(v: unknown): DateFields | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DATE.exec(v.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] !== undefined ? Number(m[4]) : 0;
  const minute = m[5] !== undefined ? Number(m[5]) : 0;
  const second = m[6] !== undefined ? Number(m[6]) : 0;
  const millisecond = m[7] !== undefined ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const t = Date.UTC(year, month - 1, day);
  const check = new Date(t);
  if (check.getUTCDate() !== day) return undefined; // 2021-02-30
  return dateFieldsOfMs(Date.UTC(year, month - 1, day, hour, minute, second, millisecond));
}

/** The date fields of a wall-clock time stored as ms since 1970 read as UTC (a date column's value). */
export function dateFieldsOfMs(ms: number): DateFields {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const start = Date.UTC(year, 0, 1);
  const midnight = Date.UTC(year, d.getUTCMonth(), d.getUTCDate());
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    dayOfYear: Math.round((midnight - start) / 86_400_000) + 1,
    daysInYear: Math.round((Date.UTC(year + 1, 0, 1) - start) / 86_400_000),
    dayOfWeek: (d.getUTCDay() + 6) % 7,
  };
}
