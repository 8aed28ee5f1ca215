/**
 * Just enough HTML reading for the tests (no DOM library in the project):
 * elements carrying data-field, with their attributes and text.
 */
export interface FieldElement {
  tag: string;
  attrs: Record<string, string>;
  text: string;
}

export function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

export function parseAttrs(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) attrs[m[1]!] = unescapeHtml(m[2] ?? '');
  return attrs;
}

/** Every element with the given attribute, its text being the markup up to the matching close tag, tags stripped. */
export function elementsWith(html: string, attribute: string): FieldElement[] {
  const out: FieldElement[] = [];
  const open = /<(\w+)(\s[^>]*)?>/g;
  for (let m = open.exec(html); m; m = open.exec(html)) {
    const attrs = parseAttrs(m[2] ?? '');
    if (!(attribute in attrs)) continue;
    const tag = m[1]!;
    // the elements we read do not nest their own tag
    const close = html.indexOf(`</${tag}>`, open.lastIndex);
    const inner = close < 0 ? '' : html.slice(open.lastIndex, close);
    out.push({ tag, attrs, text: unescapeHtml(inner.replace(/<[^>]*>/g, '')).trim() });
  }
  return out;
}
