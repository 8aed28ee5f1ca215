import type { ColumnDriftResult, DriftReport, HistogramPicture, MultivariateResult } from '../types';
import { METHODS, isMethodName, type Rule } from '../batch/methods';
import { exactNumber, formatNumber, formatPercent, scoreValue, severity, sortColumns, testableCount } from './format';

/**
 * The HTML drift report: one self-contained file (inline CSS, inline SVG, no
 * script, no font or image from anywhere) that opens with no network.
 *
 * Every number is printed rounded for reading and kept exact in a data
 * attribute, so a test (or a scraper) can read the values back from the DOM:
 *   <td data-column="temp_max" data-field="p_value" data-value="0.00012">1.2e-4</td>
 * Summary numbers carry data-field without data-column.
 */

/** A model's performance estimated on the current rows before their labels arrive (CBPE), or why there is none. */
export interface PerformanceEstimate {
  version: string;
  /** Present with an estimate: the predictions it is over, its figures, and the same estimate on the version's holdout. */
  estimated?: { rows: number; accuracy: number; macroF1: number; reference: { accuracy: number; macroF1: number } };
  reason?: string;
}

export interface HtmlReportOptions {
  title?: string;
  /** The model's estimated performance on the current rows (a drift check of a model's prediction log). */
  estimate?: PerformanceEstimate;
  /** Names shown for the two samples (e.g. the file paths). */
  referenceName?: string;
  currentName?: string;
  /** Most categories drawn per categorical column (the rest are summed as "other"). */
  maxCategories?: number;
}

const COLORS = { reference: '#4c78a8', current: '#f58518' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function attrs(map: Record<string, string | number | undefined>): string {
  return Object.entries(map)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeHtml(String(v))}"`)
    .join('');
}

/** A number cell: rounded text, exact value in data-value ('' for null). */
function num(tag: string, field: string, value: number | null | undefined, column?: string, extra = ''): string {
  const a = attrs({
    'data-column': column,
    'data-field': field,
    'data-value': exactNumber(value),
    title: value === null || value === undefined ? undefined : exactNumber(value),
  });
  return `<${tag}${a}${extra}>${escapeHtml(formatNumber(value))}</${tag}>`;
}

function text(tag: string, field: string, value: string, column?: string, extra = ''): string {
  return `<${tag}${attrs({ 'data-column': column, 'data-field': field, 'data-value': value })}${extra}>${escapeHtml(value)}</${tag}>`;
}

export function renderHtml(report: DriftReport, options: HtmlReportOptions = {}): string {
  const title = options.title ?? 'Data drift report';
  const columns = sortColumns(report.columns);
  const testable = testableCount(report);
  const verdict = report.drift ? 'Dataset drift detected' : 'No dataset drift';
  const sources =
    options.referenceName !== undefined || options.currentName !== undefined
      ? `<p class="sources">Reference: <code>${escapeHtml(options.referenceName ?? 'reference')}</code> · Current: <code>${escapeHtml(options.currentName ?? 'current')}</code></p>`
      : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="generated">Generated <time data-field="generated_at" data-value="${escapeHtml(report.generated_at)}">${escapeHtml(report.generated_at)}</time></p>
${sources}
</header>
<section id="summary" class="summary ${report.drift ? 'drifted' : 'stable'}">
<div class="verdict" data-field="drift" data-value="${report.drift}"><span class="dot"></span>${verdict}</div>
<div class="share-line">${num('span', 'number_of_drifted_columns', report.number_of_drifted_columns)} of ${num('span', 'testable_columns', testable)} testable columns drifted
(share ${num('span', 'share', report.share)}${report.share >= report.drift_share ? ' ≥ ' : ' &lt; '}drift share ${num('span', 'drift_share', report.drift_share)})</div>
${shareBar(report.share, report.drift_share)}
<dl class="facts">
<div><dt>Reference rows</dt>${num('dd', 'reference_rows', report.reference_rows)}</div>
<div><dt>Current rows</dt>${num('dd', 'current_rows', report.current_rows)}</div>
<div><dt>Columns</dt>${num('dd', 'number_of_columns', report.number_of_columns)}</div>
<div><dt>Correction</dt>${text('dd', 'correction', report.correction)}</div>
</dl>
${report.multivariate ? multivariate(report.multivariate) : ''}
${options.estimate ? estimateSection(options.estimate) : ''}
</section>
<section id="overview">
<h2>Columns, most drifted first</h2>
<table class="overview">
<thead><tr><th>Column</th><th>Type</th><th>Method</th><th class="n">Statistic</th><th class="n">p-value</th><th class="n">Threshold</th><th>Verdict</th></tr></thead>
<tbody>
${columns.map(overviewRow).join('\n')}
</tbody>
</table>
</section>
<section id="columns">
${columns.map((c) => columnCard(c, options.maxCategories ?? 20)).join('\n')}
</section>
<footer>Perennial · drift is decided per column by comparing its p-value or distance with the method's threshold (the rule is in each column's Decision); the dataset drifts when the share of drifted columns reaches the drift share.</footer>
</body>
</html>
`;
}

function verdictOf(c: { testable: boolean; drift: boolean }): { label: string; cls: string } {
  if (!c.testable) return { label: 'not testable', cls: 'untestable' };
  return c.drift ? { label: 'drift', cls: 'drift' } : { label: 'no drift', cls: 'nodrift' };
}

function anchor(name: string): string {
  return 'col-' + encodeURIComponent(name).replace(/%/g, '_');
}

function overviewRow(c: ColumnDriftResult): string {
  const v = verdictOf(c);
  const o = (field: string, value: number | null): string =>
    `<td class="n"${attrs({ 'data-overview-column': c.name, 'data-overview-field': field, 'data-value': exactNumber(value) })}>${escapeHtml(formatNumber(value))}</td>`;
  return `<tr class="${v.cls}"><td><a href="#${escapeHtml(anchor(c.name))}">${escapeHtml(c.name)}</a></td><td>${escapeHtml(c.type)}</td><td>${escapeHtml(c.method)}</td>${o('statistic', c.statistic)}${o('p_value', c.p_value)}${o('threshold', c.threshold)}<td><span class="badge ${v.cls}">${v.label}</span></td></tr>`;
}

const RULE_SIGNS: Record<Rule, string> = { '<': '<', '<=': '≤', '>=': '≥', '>': '>' };

/** The method's own rule (ks drifts at p = threshold, ed not at distance = threshold); the usual one for a method this build does not know. */
function decision(c: ColumnDriftResult): string {
  const rule = isMethodName(c.method) ? METHODS[c.method].rule : c.score === 'p_value' ? '<' : '>=';
  return `drift when ${c.score === 'p_value' ? 'p-value' : 'distance'} ${RULE_SIGNS[rule]} threshold`;
}

function columnCard(c: ColumnDriftResult, maxCategories: number): string {
  const v = verdictOf(c);
  const scoreLabel = c.score === 'p_value' ? 'p-value' : 'distance';
  const rows = [
    `<tr><th>Method</th>${text('td', 'method', c.method, c.name)}</tr>`,
    `<tr><th>Statistic</th>${num('td', 'statistic', c.statistic, c.name)}</tr>`,
    `<tr><th>p-value</th>${num('td', 'p_value', c.p_value, c.name)}</tr>`,
    `<tr><th>Threshold</th>${num('td', 'threshold', c.threshold, c.name)}</tr>`,
    `<tr><th>Decision</th><td>${escapeHtml(decision(c))}</td></tr>`,
    `<tr><th>Verdict</th><td${attrs({ 'data-column': c.name, 'data-field': 'drift', 'data-value': String(c.drift) })}><span class="badge ${v.cls}">${v.label}</span></td></tr>`,
    `<tr><th>Missing</th><td>reference ${num('span', 'missing_reference', c.missing.reference, c.name)} · current ${num('span', 'missing_current', c.missing.current, c.name)}</td></tr>`,
  ];
  if (c.reason) rows.push(`<tr><th>Reason</th>${text('td', 'reason', c.reason, c.name)}</tr>`);
  if (c.note) rows.push(`<tr><th>Note</th>${text('td', 'note', c.note, c.name)}</tr>`);
  for (const a of c.additional ?? []) {
    const score = scoreValue(a);
    const value = `${a.score === 'p_value' ? 'p-value' : 'distance'} ${formatNumber(score)}`;
    rows.push(
      `<tr><th>Also ${escapeHtml(a.method)}</th><td${attrs({ 'data-column': c.name, 'data-field': `additional_${a.method}`, 'data-value': exactNumber(score) })}>${escapeHtml(`${value} vs ${formatNumber(a.threshold)}: ${verdictOf(a).label}`)}</td></tr>`,
    );
  }
  if (c.unseen_categories && c.unseen_categories.length > 0) {
    const shown = c.unseen_categories.slice(0, 30);
    const more = c.unseen_categories.length - shown.length;
    rows.push(
      `<tr><th>Unseen in reference</th><td${attrs({ 'data-column': c.name, 'data-field': 'unseen_categories', 'data-value': JSON.stringify(c.unseen_categories) })}>${shown
        .map((u) => `<span class="chip">${escapeHtml(u)}</span>`)
        .join(' ')}${more > 0 ? ` <span class="more">and ${more} more</span>` : ''}</td></tr>`,
    );
  }
  const score = scoreValue(c);
  const sev = severity(c);
  return `<article class="column ${v.cls}" id="${escapeHtml(anchor(c.name))}"${attrs({ 'data-column-card': c.name, 'data-severity': Number.isFinite(sev) ? exactNumber(sev) : String(sev) })}>
<header><h3>${escapeHtml(c.name)}</h3><span class="type">${escapeHtml(c.type)}</span><span class="badge ${v.cls}">${v.label}</span>
<span class="headline">${escapeHtml(scoreLabel)} ${escapeHtml(formatNumber(score))} vs ${escapeHtml(formatNumber(c.threshold))}</span></header>
<div class="body">
<table class="fields"><tbody>
${rows.join('\n')}
</tbody></table>
<figure>${
    c.picture
      ? `${picture(c.picture, c.name, maxCategories)}<figcaption><span class="key ref"></span>reference <span class="key cur"></span>current</figcaption>`
      : '<p class="nopic">No picture for this column.</p>'
  }</figure>
</div>
</article>`;
}

function multivariate(m: MultivariateResult): string {
  return `<div class="multivariate" data-field="multivariate">
<h2>Multivariate test</h2>
<dl class="facts">
<div><dt>Method</dt>${text('dd', 'mv_method', m.method)}</div>
<div><dt>Statistic</dt>${num('dd', 'mv_statistic', m.statistic)}</div>
<div><dt>p-value</dt>${num('dd', 'mv_p_value', m.p_value)}</div>
<div><dt>Threshold</dt>${num('dd', 'mv_threshold', m.threshold)}</div>
<div><dt>Verdict</dt><dd data-field="mv_drift" data-value="${m.drift}"><span class="badge ${m.drift ? 'drift' : 'nodrift'}">${m.drift ? 'drift' : 'no drift'}</span></dd></div>
<div><dt>Permutations</dt>${num('dd', 'mv_permutations', m.permutations)}</div>
<div><dt>Bandwidth</dt>${num('dd', 'mv_bandwidth', m.bandwidth)}</div>
</dl>
</div>`;
}

/** CBPE's estimate beside its holdout reference; what it cannot see is said, since a reader would take it for accuracy. */
function estimateSection(e: PerformanceEstimate): string {
  if (!e.estimated) {
    return `<div class="multivariate" data-field="estimate">
<h2>Performance before labels (CBPE) of ${escapeHtml(e.version)}</h2>
<p>${text('span', 'estimate_reason', e.reason ?? 'no estimate')}</p>
</div>`;
  }
  const { rows, accuracy, macroF1, reference } = e.estimated;
  return `<div class="multivariate" data-field="estimate">
<h2>Performance before labels (CBPE) of ${escapeHtml(e.version)}</h2>
<dl class="facts">
<div><dt>Predictions</dt>${num('dd', 'estimate_rows', rows)}</div>
<div><dt>Estimated accuracy</dt>${num('dd', 'estimated_accuracy', accuracy)}</div>
<div><dt>On its holdout</dt>${num('dd', 'reference_accuracy', reference.accuracy)}</div>
<div><dt>Estimated macro F1</dt>${num('dd', 'estimated_macro_f1', macroF1)}</div>
<div><dt>On its holdout</dt>${num('dd', 'reference_macro_f1', reference.macroF1)}</div>
</dl>
<p class="note">From the model's calibrated confidence on these rows. It assumes the link between inputs and labels holds: a shift that breaks it (a place the model never saw) can leave the estimate up while the realised accuracy falls.</p>
</div>`;
}

function shareBar(share: number, driftShare: number): string {
  const w = 400;
  const clamp = (x: number): number => Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0));
  const fill = share >= driftShare ? '#d62728' : '#2ca02c';
  return `<svg class="sharebar" viewBox="0 0 ${w} 26" width="${w}" height="26" role="img" aria-label="share of drifted columns ${escapeHtml(formatPercent(share))}, drift share ${escapeHtml(formatPercent(driftShare))}">
<rect x="0" y="4" width="${w}" height="14" rx="7" fill="#e6e8eb"/>
<rect x="0" y="4" width="${(clamp(share) * w).toFixed(1)}" height="14" rx="7" fill="${fill}"/>
<line x1="${(clamp(driftShare) * w).toFixed(1)}" x2="${(clamp(driftShare) * w).toFixed(1)}" y1="0" y2="22" stroke="#222" stroke-width="2"/>
</svg>`;
}

// ---- pictures -----------------------------------------------------------

const FONT = 'font-size="11" fill="#555"';

function picture(p: HistogramPicture, column: string, maxCategories: number): string {
  if (p.kind === 'histogram' && p.edges && p.edges.length === p.reference.length + 1) return histogram(p.edges, p.reference, p.current, column);
  const labels = p.labels ?? p.edges?.map(String) ?? p.reference.map((_, i) => String(i));
  return bars(labels, p.reference, p.current, column, maxCategories);
}

/** Overlaid histogram on the shared edges, heights as density (share / bin width) so uneven bins read right. */
function histogram(edges: number[], ref: number[], cur: number[], column: string): string {
  const W = 520;
  const H = 220;
  const m = { l: 10, r: 10, t: 10, b: 34 };
  const lo = edges[0]!;
  const hi = edges[edges.length - 1]!;
  const span = hi - lo;
  const even = !(span > 0) || edges.some((e, i) => i > 0 && !(e > edges[i - 1]!));
  const n = ref.length;
  const x = (i: number): number => m.l + (even ? i / n : (edges[i]! - lo) / span) * (W - m.l - m.r);
  const width = (i: number): number => (even ? 1 : edges[i + 1]! - edges[i]!);
  const dens = (shares: number[]): number[] => shares.map((s, i) => (width(i) > 0 ? (s ?? 0) / width(i) : 0));
  const dr = dens(ref);
  const dc = dens(cur);
  let top = 1e-300;
  for (const d of [dr, dc]) for (const v of d) top = Math.max(top, v);
  const y = (d: number): number => H - m.b - (d / top) * (H - m.t - m.b);
  const rects = (d: number[], shares: number[], color: string, which: string): string =>
    d
      .map((v, i) => {
        const x0 = x(i);
        const x1 = x(i + 1);
        const y0 = y(v);
        return `<rect x="${x0.toFixed(2)}" y="${y0.toFixed(2)}" width="${Math.max(0.5, x1 - x0 - 0.5).toFixed(2)}" height="${(H - m.b - y0).toFixed(2)}" fill="${color}" fill-opacity="${which === 'reference' ? 0.5 : 0.4}"${which === 'current' ? ` stroke="${color}" stroke-width="1.2"` : ''}><title>${escapeHtml(`${which} [${formatNumber(edges[i])}, ${formatNumber(edges[i + 1])}): ${formatPercent(shares[i] ?? 0)}`)}</title></rect>`;
      })
      .join('');
  const tick = (xi: number, label: string, anchorAt: string): string =>
    `<line x1="${xi.toFixed(2)}" x2="${xi.toFixed(2)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#888"/><text x="${xi.toFixed(2)}" y="${H - m.b + 16}" text-anchor="${anchorAt}" ${FONT}>${escapeHtml(label)}</text>`;
  let ticks: string;
  if (even) {
    // no usable value scale: label the ends
    ticks = tick(x(0), formatNumber(lo), 'start') + tick(x(n), formatNumber(hi), 'end');
  } else {
    const xv = (v: number): number => m.l + ((v - lo) / span) * (W - m.l - m.r);
    ticks = niceTicks(lo, hi, 6)
      .map((v) => tick(xv(v), formatNumber(v), 'middle'))
      .join('');
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(`histogram of ${column}, reference and current`)}" data-picture="histogram" data-bins="${n}">
${rects(dr, ref, COLORS.reference, 'reference')}
${rects(dc, cur, COLORS.current, 'current')}
<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#888"/>
${ticks}
<text x="${W / 2}" y="${H - 2}" text-anchor="middle" ${FONT}>${escapeHtml(column)}</text>
</svg>`;
}

/** Round tick values (1, 2 or 5 times a power of ten) inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Grouped horizontal bars, one pair per category (largest first); the rest summed as "other". */
function bars(labels: string[], ref: number[], cur: number[], column: string, maxCategories: number): string {
  // the engine may already have summed its long tail as '(other)': that bar goes last, with ours
  const OTHER = '(other)';
  const all = labels.map((label, i) => ({ label, r: ref[i] ?? 0, c: cur[i] ?? 0, title: '' }));
  const tail = all.filter((x) => x.label === OTHER);
  let items = all.filter((x) => x.label !== OTHER);
  items.sort((a, b) => Math.max(b.r, b.c) - Math.max(a.r, a.c) || (a.label < b.label ? -1 : 1));
  const room = Math.max(1, maxCategories - (tail.length > 0 || items.length > maxCategories ? 1 : 0));
  if (tail.length > 0 || items.length > room) {
    const rest = [...items.slice(room), ...tail];
    items = items.slice(0, room);
    const more = items.length < all.length - tail.length ? all.length - tail.length - items.length : 0;
    items.push({
      label: 'all others',
      r: rest.reduce((sum, x) => sum + x.r, 0),
      c: rest.reduce((sum, x) => sum + x.c, 0),
      title: `${tail.length > 0 ? 'categories summed as (other) by the engine' : ''}${tail.length > 0 && more > 0 ? ' and ' : ''}${more > 0 ? `${more} more categories` : ''}`,
    });
  }
  const W = 520;
  const labelW = 130;
  const valueW = 96;
  const row = 24;
  const H = items.length * row + 8;
  // scaled on the named categories: a large "all others" bar is drawn at full width, its shares printed
  const named = items.filter((i) => i.label !== 'all others' || items.length === 1);
  let top = 1e-300;
  for (const i of named) top = Math.max(top, i.r, i.c);
  const bw = (v: number): number => Math.min(1, v / top) * (W - labelW - valueW - 10);
  const short = (s: string): string => (s.length > 20 ? s.slice(0, 19) + '…' : s);
  const body = items
    .map((it, k) => {
      const y0 = 4 + k * row;
      return `<g><title>${escapeHtml(`${it.label}${it.title ? ` (${it.title})` : ''}: reference ${formatPercent(it.r)}, current ${formatPercent(it.c)}`)}</title>
<text x="${labelW - 6}" y="${y0 + 15}" text-anchor="end" ${FONT}>${escapeHtml(short(it.label))}</text>
<rect x="${labelW}" y="${y0 + 2}" width="${bw(it.r).toFixed(2)}" height="9" fill="${COLORS.reference}"/>
<rect x="${labelW}" y="${y0 + 12}" width="${bw(it.c).toFixed(2)}" height="9" fill="${COLORS.current}"/>
<text x="${(labelW + bw(Math.max(it.r, it.c)) + 4).toFixed(2)}" y="${y0 + 15}" ${FONT}>${escapeHtml(formatPercent(it.r))} → ${escapeHtml(formatPercent(it.c))}</text></g>`;
    })
    .join('\n');
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(`category shares of ${column}, reference and current`)}" data-picture="bars" data-bars="${items.length}">
<line x1="${labelW}" x2="${labelW}" y1="0" y2="${H}" stroke="#888"/>
${body}
</svg>`;
}

const CSS = `
:root{--ink:#1d2530;--muted:#5b6675;--line:#e3e6ea;--bg:#f6f7f9;--drift:#c62828;--ok:#2e7d32;--na:#8a8f98}
*{box-sizing:border-box}
body{margin:0;padding:28px 36px;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{margin:0 0 2px;font-size:24px}
h2{font-size:17px;margin:22px 0 10px}
h3{margin:0;font-size:16px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eceef1;padding:1px 5px;border-radius:4px}
.generated,.sources{margin:0;color:var(--muted)}
.summary{margin:18px 0;padding:18px 22px;background:#fff;border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:10px}
.summary.drifted{border-left-color:var(--drift)}
.verdict{font-size:22px;font-weight:650;display:flex;align-items:center;gap:10px}
.verdict .dot{width:14px;height:14px;border-radius:50%;background:var(--ok)}
.drifted .verdict{color:var(--drift)}.drifted .verdict .dot{background:var(--drift)}
.stable .verdict{color:var(--ok)}
.share-line{margin:6px 0 8px;color:var(--ink)}
.facts{display:flex;flex-wrap:wrap;gap:10px 34px;margin:12px 0 0}
.facts div{min-width:90px}.facts dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.facts dd{margin:0;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
.multivariate{margin-top:14px;border-top:1px solid var(--line)}
.multivariate h2{margin:12px 0 4px;font-size:15px}
.note{color:var(--muted);font-size:13px;margin:8px 0 0}
table{border-collapse:collapse}
.overview{width:100%;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden}
.overview th,.overview td{padding:7px 12px;border-bottom:1px solid var(--line);text-align:left}
.overview thead th{background:#fafbfc;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.overview .n{text-align:right;font-variant-numeric:tabular-nums}
.overview a{color:inherit;font-weight:600;text-decoration:none}.overview a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;color:#fff;background:var(--na);white-space:nowrap}
.badge.drift{background:var(--drift)}.badge.nodrift{background:var(--ok)}
.column{margin:16px 0;background:#fff;border:1px solid var(--line);border-left:5px solid var(--ok);border-radius:10px;padding:14px 18px;break-inside:avoid}
.column.drift{border-left-color:var(--drift)}.column.untestable{border-left-color:var(--na)}
.column>header{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin-bottom:8px}
.column .type{color:var(--muted);font-size:12px;border:1px solid var(--line);border-radius:4px;padding:0 6px}
.column .headline{margin-left:auto;color:var(--muted);font-variant-numeric:tabular-nums}
.body{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.fields{width:380px;flex:none}
.fields th{color:var(--muted);font-weight:500;text-align:left;padding:3px 14px 3px 0;white-space:nowrap;vertical-align:top}
.fields td{padding:3px 0;font-variant-numeric:tabular-nums;max-width:340px}
figure{margin:0;flex:1;min-width:300px;max-width:540px}
.chart{max-width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
.key{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px -1px 10px}
.key.ref{background:${COLORS.reference};margin-left:0}.key.cur{background:${COLORS.current}}
.chip{display:inline-block;background:#fdecea;color:#8e1c1c;border-radius:4px;padding:0 6px;margin:1px 0;font-size:12px}
.more,.nopic{color:var(--muted)}
footer{margin-top:26px;color:var(--muted);font-size:12px}
`;
