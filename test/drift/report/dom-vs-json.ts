import { expect } from 'vitest';
import { formatNumber, sortColumns } from '../../../src/drift/report';
import type { DriftReport } from '../../../src/drift/types';
import { elementsWith } from './dom';
import type { ExpectedTexts } from './sample-report';

/**
 * Compares every number in the rendered DOM with the report parsed from its
 * JSON: the data attributes hold the exact values. The texts shown are
 * compared with `expected` when given (written out by hand for a known
 * report), else with the report's formatNumber and column order (a report
 * computed by the engine, where the numbers are not known in advance).
 */
export function expectDomMatchesJson(dom: string, json: string, expected?: ExpectedTexts): void {
  const report = JSON.parse(json) as DriftReport;
  const cells = elementsWith(dom, 'data-column').filter((e) => e.attrs['data-field'] !== undefined);
  const summary = Object.fromEntries(
    elementsWith(dom, 'data-field')
      .filter((e) => !('data-column' in e.attrs))
      .map((e) => [e.attrs['data-field']!, e]),
  );
  expect(summary.drift!.attrs['data-value']).toBe(String(report.drift));
  for (const key of ['share', 'drift_share', 'reference_rows', 'current_rows', 'number_of_columns', 'number_of_drifted_columns'] as const) {
    expect(Number(summary[key]!.attrs['data-value']), key).toBe(report[key]);
    expect(summary[key]!.text, key).toBe(expected ? expected.summary[key] : formatNumber(report[key]));
  }
  expect(summary.correction!.text).toBe(report.correction);
  if (report.multivariate) {
    expect(Number(summary.mv_p_value!.attrs['data-value'])).toBe(report.multivariate.p_value);
    expect(Number(summary.mv_statistic!.attrs['data-value'])).toBe(report.multivariate.statistic);
  }
  if (expected) expect(report.columns.map((c) => c.name).sort()).toEqual(Object.keys(expected.columns).sort());
  for (const c of report.columns) {
    const get = (field: string) => {
      const el = cells.find((e) => e.attrs['data-column'] === c.name && e.attrs['data-field'] === field);
      expect(el, `${c.name}.${field} in the DOM`).toBeDefined();
      return el!;
    };
    const numbers = [
      ['statistic', c.statistic],
      ['p_value', c.p_value],
      ['threshold', c.threshold],
      ['missing_reference', c.missing.reference],
      ['missing_current', c.missing.current],
    ] as const;
    for (const [field, value] of numbers) {
      const el = get(field);
      const exact = el.attrs['data-value']!;
      const text = expected?.columns[c.name]![field];
      if (value === null && exact !== '') {
        // JSON cannot hold ±Infinity or NaN and writes null; the page keeps the value
        expect(['Infinity', '-Infinity', 'NaN'], `${c.name}.${field}`).toContain(exact);
        expect(el.text).toBe(text ?? formatNumber(Number(exact)));
      } else if (value === null) {
        expect(exact, `${c.name}.${field}`).toBe('');
        expect(el.text).toBe(text ?? '—');
      } else {
        // exact: the data attribute parses back to the very same double
        expect(Number(el.attrs['data-value']), `${c.name}.${field}`).toBe(value);
        expect(el.text, `${c.name}.${field} text`).toBe(text ?? formatNumber(value));
      }
    }
    expect(get('method').text).toBe(c.method);
    expect(get('drift').attrs['data-value']).toBe(String(c.drift));
    if (c.unseen_categories && c.unseen_categories.length > 0) expect(JSON.parse(get('unseen_categories').attrs['data-value']!)).toEqual(c.unseen_categories);
  }
  // column cards in the rendered page come most drifted first
  const order = elementsWith(dom, 'data-column-card').map((e) => e.attrs['data-column-card']);
  expect(order).toEqual(expected ? expected.order : sortColumns(report.columns).map((c) => c.name));
}
