export { renderJson } from './json';
export { renderHtml, escapeHtml, type HtmlReportOptions } from './html';
export { renderText } from './text';
export { formatNumber, exactNumber, sortColumns, severity } from './format';
