export { renderJson } from './json';
export { renderHtml, escapeHtml } from './html';
export { renderText } from './text';
export { formatNumber, sortColumns } from './format';
