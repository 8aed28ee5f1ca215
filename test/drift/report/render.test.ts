import { describe, expect, it } from 'vitest';
import { escapeHtml, formatNumber, renderHtml, renderJson, renderText, sortColumns } from '../../../src/drift/report';
import type { DriftReport } from '../../../src/drift/types';
import { elementsWith } from './dom';
import { expectDomMatchesJson } from './dom-vs-json';
import { SAMPLE_EXPECTED, sampleReport } from './sample-report';

describe('JSON report', () => {
  it('is the DriftReport as is, pretty-printed', () => {
    const report = sampleReport();
    const text = renderJson(report);
    expect(JSON.parse(text)).toEqual(report);
    expect(text).toContain('\n  "reference_rows": 1461,');
  });
});

describe('column order', () => {
  it('puts drifted columns first, then not drifted, then not testable', () => {
    expect(sortColumns(sampleReport().columns).map((c) => c.name)).toEqual(SAMPLE_EXPECTED.order);
  });

  it('orders p-values ascending and distances descending within a verdict', () => {
    const base = sampleReport().columns[1]!;
    const cols = [0.04, 0.001, 0.02].map((p, i) => ({ ...base, name: `p${i}`, p_value: p }));
    expect(sortColumns(cols).map((c) => c.p_value)).toEqual([0.001, 0.02, 0.04]);
    const dist = sampleReport().columns[0]!;
    const ds = [0.2, 0.5, 0.3].map((d, i) => ({ ...dist, name: `d${i}`, statistic: d, drift: true }));
    expect(sortColumns(ds).map((c) => c.statistic)).toEqual([0.5, 0.3, 0.2]);
  });
});

describe('number formatting', () => {
  it('is short for reading; null is a dash', () => {
    expect(formatNumber(0.04123456789)).toBe('0.04123');
    expect(formatNumber(1.234567890123e-17)).toBe('1.235e-17');
    expect(formatNumber(1461)).toBe('1461');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(0)).toBe('0');
  });
});

describe('text report', () => {
  it('says whether the dataset drifts and lists columns most drifted first', () => {
    const text = renderText(sampleReport());
    expect(text).toMatch(/^Dataset drift: YES — 3 of 5 testable columns drifted \(share 0\.6 >= drift share 0\.5\)/);
    const lines = text.split('\n');
    const at = (name: string): number => lines.findIndex((l) => l.startsWith(name + ' '));
    expect(at('temp_max')).toBeLessThan(at('precipitation'));
    expect(at('precipitation')).toBeLessThan(at('wind'));
    expect(lines.find((l) => l.startsWith('station'))).toContain('not testable');
    // a distance method has no p-value: the same dash as the HTML report
    expect(lines.find((l) => l.startsWith('wind '))).toMatch(/0\.04123 +— +0\.1 /);
    expect(text).toContain("Not testable 'station': constant column: one value in both samples");
    expect(text).toContain('Unseen categories in \'weather <script>alert(1)</script>\': hail & "ice", <b>fog</b>');
  });
});

describe('HTML report', () => {
  const html = renderHtml(sampleReport(), { referenceName: 'ref <1>.csv', currentName: 'cur.csv' });

  it('escapes every text', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>fog</b>');
    expect(html).toContain('weather &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('ref &lt;1&gt;.csv');
  });

  it('is self-contained: inline CSS and SVG, nothing from the network', () => {
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\//i);
    expect(html).toContain('<style>');
    expect(html).toContain('<svg');
  });

  it('shows the summary first: verdict, share vs drift share, rows, correction, multivariate', () => {
    const summary = html.indexOf('id="summary"');
    const columns = html.indexOf('id="columns"');
    expect(summary).toBeGreaterThan(0);
    expect(summary).toBeLessThan(columns);
    const fields = Object.fromEntries(
      elementsWith(html, 'data-field')
        .filter((e) => !('data-column' in e.attrs))
        .map((e) => [e.attrs['data-field'], e.attrs['data-value']]),
    );
    expect(fields).toMatchObject({
      drift: 'true',
      share: '0.6',
      drift_share: '0.5',
      reference_rows: '1461',
      current_rows: '1460',
      correction: 'none',
      mv_method: 'mmd',
      mv_p_value: '0.001',
      mv_bandwidth: '1.7320508075688772',
    });
  });

  it('gives every column its numbers in data attributes, exact, with rounded text', () => {
    expectDomMatchesJson(html, renderJson(sampleReport()), SAMPLE_EXPECTED);
    const unseen = elementsWith(html, 'data-column').find((e) => e.attrs['data-field'] === 'unseen_categories')!;
    expect(JSON.parse(unseen.attrs['data-value']!)).toEqual(['hail & "ice"', '<b>fog</b>']);
  });

  it('shows notes and the results of additional methods', () => {
    const cells = elementsWith(html, 'data-column');
    const get = (field: string) => cells.find((e) => e.attrs['data-column'] === 'temp_min' && e.attrs['data-field'] === field)!;
    expect(get('note').text).toBe('p-value capped at 0.25 (anderson)');
    expect(get('additional_wasserstein').attrs['data-value']).toBe('0.0312');
    expect(get('additional_wasserstein').text).toBe('distance 0.0312 vs 0.1: no drift');
  });

  it("states each column's decision with its method's rule (ks drifts at p = threshold)", () => {
    const decisions = [...html.matchAll(/<tr><th>Decision<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => m[1]);
    expect(decisions).toContain('drift when p-value ≤ threshold'); // ks
    expect(decisions).toContain('drift when p-value &lt; threshold'); // chisquare
    expect(decisions).toContain('drift when distance ≥ threshold'); // wasserstein, jensenshannon
    const ed = renderHtml({ ...sampleReport(), columns: [{ ...sampleReport().columns[0]!, method: 'ed' }] });
    expect(ed).toContain('drift when distance &gt; threshold');
  });

  it('draws an overlaid histogram for numerical columns and bars for categorical ones', () => {
    expect(html.match(/data-picture="histogram"/g)).toHaveLength(3);
    expect(html.match(/data-picture="bars"/g)).toHaveLength(1);
    // the histogram of temp_max has 9 bins, drawn once for each sample
    const card = html.slice(html.indexOf('data-column-card="temp_max"'));
    const svg = card.slice(card.indexOf('<svg'), card.indexOf('</svg>'));
    expect(svg.match(/<rect /g)).toHaveLength(18);
  });

  it('caps the categories drawn and sums the rest as other', () => {
    const report: DriftReport = sampleReport();
    const labels = Array.from({ length: 300 }, (_, i) => `airport${i}`);
    const share = labels.map(() => 1 / 300);
    report.columns = [{ ...report.columns[2]!, name: 'origin', picture: { kind: 'bars', labels, reference: share, current: share } }];
    const page = renderHtml(report, { maxCategories: 20 });
    expect(page).toContain('data-bars="20"');
    expect(page).toContain('all others (281 more categories)');
    // a tail the engine already summed as (other) joins ours, last
    report.columns[0]!.picture = { kind: 'bars', labels: ['a', '(other)', 'b'], reference: [0.5, 0.3, 0.2], current: [0.4, 0.4, 0.2] };
    const small = renderHtml(report, { maxCategories: 20 });
    expect(small).toContain('data-bars="3"');
    expect(small).toContain('all others (categories summed as (other) by the engine): reference 30%, current 40%');
    expect(small.indexOf('>all others<')).toBeGreaterThan(small.indexOf('>b<'));
  });

  it('says no dataset drift when there is none', () => {
    const report = sampleReport();
    report.drift = false;
    report.share = 0.2;
    report.number_of_drifted_columns = 1;
    delete report.multivariate;
    const page = renderHtml(report);
    expect(page).toContain('No dataset drift');
    expect(page).not.toContain('Multivariate test');
    expect(page).not.toContain('Performance before labels');
  });

  it("shows a model's performance estimated before labels beside its holdout's, or why there is none", () => {
    const estimated = { rows: 1461, accuracy: 0.7584123, macroF1: 0.40123, reference: { accuracy: 0.7178, macroF1: 0.4321 } };
    const page = renderHtml(sampleReport(), { estimate: { version: 'v1', estimated } });
    const fields = Object.fromEntries(elementsWith(page, 'data-field').map((e) => [e.attrs['data-field'], e]));
    expect(Number(fields.estimated_accuracy!.attrs['data-value'])).toBe(0.7584123);
    expect(fields.estimated_accuracy!.text).toBe('0.7584');
    expect(Number(fields.reference_accuracy!.attrs['data-value'])).toBe(0.7178);
    expect(Number(fields.estimated_macro_f1!.attrs['data-value'])).toBe(0.40123);
    expect(Number(fields.estimate_rows!.attrs['data-value'])).toBe(1461);
    expect(page).toContain('Performance before labels (CBPE) of v1');
    const none = renderHtml(sampleReport(), { estimate: { version: 'v3', reason: 'v3 has no CBPE calibration <old>' } });
    expect(none).toContain('data-value="v3 has no CBPE calibration &lt;old&gt;"');
    expect(none).not.toContain('data-field="estimated_accuracy"');
  });
});

describe('wide reports', () => {
  it('renders the text report of 200,000 columns (more than a call takes arguments: no spread of the rows)', () => {
    const base = sampleReport().columns[1]!;
    const columns = Array.from({ length: 200_000 }, (_, i) => ({ ...base, name: `c${i}`, missing: { reference: i, current: 0 } }));
    const report: DriftReport = { ...sampleReport(), columns, number_of_columns: columns.length };
    const text = renderText(report);
    expect(text.split('\n').filter((line) => /^c\d+ /.test(line))).toHaveLength(200_000);
    expect(text).toMatch(/^c199999 .* 199999\/0$/m);
  });
});
