/**
 * `GET /dashboard` of the local platform: one self-contained HTML page (no CDN, no external script) that polls
 * `/dashboard/data.json` and draws the live figures as inline SVG charts: API latency p50/p95/p99, predict traffic
 * per model version and variant, errors by code, per-version figures and the latest drift verdicts.
 */

/** The series colours; the browser test looks for them in the screenshot. */
export const CHART_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'] as const;

/** The charts the page draws, by element id. */
export const DASHBOARD_CHARTS = ['chart-latency', 'chart-traffic', 'chart-errors', 'chart-drift'] as const;

/** How often the page polls the data, in ms. */
export const DASHBOARD_POLL_MS = 2000;

const SCRIPT = String.raw`
const COLOURS = ${JSON.stringify(CHART_COLOURS)};
const NS = 'http://www.w3.org/2000/svg';
const W = 560, H = 220, L = 48, R = 12, T = 12, B = 28;

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}
function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
function text(svg, x, y, value, anchor) {
  const t = el('text', { x, y, 'font-size': 11, fill: '#444', 'text-anchor': anchor || 'start' }, svg);
  t.textContent = value;
}
function axes(svg, max, label) {
  el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' }, svg);
  el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#999' }, svg);
  text(svg, L - 4, T + 8, String(Math.round(max * 10) / 10), 'end');
  text(svg, L - 4, H - B, '0', 'end');
  text(svg, W - R, T + 8, label, 'end');
}
function legend(container, names) {
  container.textContent = '';
  names.forEach((name, i) => {
    const item = document.createElement('span');
    item.className = 'key';
    item.innerHTML = '<i style="background:' + COLOURS[i % COLOURS.length] + '"></i>';
    item.appendChild(document.createTextNode(name));
    container.appendChild(item);
  });
}
function lines(svg, series, label) {
  clear(svg);
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  const max = Math.max(1, ...values);
  axes(svg, max, label);
  const n = Math.max(1, (series[0] ? series[0].values.length : 1) - 1);
  series.forEach((s, i) => {
    const points = [];
    s.values.forEach((v, j) => {
      if (v === null) return;
      points.push((L + (j / n) * (W - L - R)).toFixed(1) + ',' + (H - B - (v / max) * (H - B - T)).toFixed(1));
    });
    if (points.length === 0) return;
    const colour = COLOURS[i % COLOURS.length];
    el('polyline', { points: points.join(' '), fill: 'none', stroke: colour, 'stroke-width': 3, 'data-series': s.name }, svg);
    for (const p of points) { const [x, y] = p.split(','); el('circle', { cx: x, cy: y, r: 4, fill: colour }, svg); }
  });
}
function bars(svg, items, label) {
  clear(svg);
  const max = Math.max(1, ...items.map((d) => d.value));
  axes(svg, max, label);
  const slot = (W - L - R) / Math.max(1, items.length);
  items.forEach((d, i) => {
    const h = (d.value / max) * (H - B - T);
    el('rect', { x: L + i * slot + slot * 0.15, y: H - B - h, width: slot * 0.7, height: Math.max(1, h), fill: d.colour || COLOURS[i % COLOURS.length], 'data-bar': d.name }, svg);
    text(svg, L + i * slot + slot / 2, H - B + 12, d.name.length > 18 ? d.name.slice(0, 17) + '…' : d.name, 'middle');
  });
  if (items.length === 0) text(svg, W / 2, H / 2, 'nothing yet', 'middle');
}
function fmt(v, digits) { return v === null || v === undefined ? '–' : Number(v).toFixed(digits); }

function render(data) {
  document.getElementById('updated').textContent = 'updated ' + data.generatedAt + ' · ' + data.totals.requests + ' requests, ' +
    data.totals.serverErrors + ' 5xx, ' + data.totals.clientErrors + ' 4xx in the last ' + Math.round(data.buckets.length * data.bucketSeconds / 60) + ' min';
  lines(document.getElementById('chart-latency'), [
    { name: 'p50', values: data.latency.p50 }, { name: 'p95', values: data.latency.p95 }, { name: 'p99', values: data.latency.p99 },
  ], 'ms per ' + data.bucketSeconds + ' s');
  legend(document.getElementById('legend-latency'), ['p50', 'p95', 'p99']);
  lines(document.getElementById('chart-traffic'), data.traffic.map((t) => ({ name: t.key, values: t.counts })), 'requests per ' + data.bucketSeconds + ' s');
  legend(document.getElementById('legend-traffic'), data.traffic.map((t) => t.key));
  bars(document.getElementById('chart-errors'), data.errorsByCode.map((e) => ({ name: e.code, value: e.count, colour: e.status >= 500 ? COLOURS[3] : COLOURS[1] })), 'answers by error code');
  const drift = [];
  for (const verdict of data.drift) {
    drift.push({ name: verdict.model + ' overall', value: verdict.score, colour: verdict.level === 'critical' ? COLOURS[3] : verdict.level === 'warning' ? COLOURS[1] : COLOURS[2] });
    for (const f of verdict.features) drift.push({ name: f.feature, value: f.score, colour: f.drifted ? COLOURS[3] : COLOURS[0] });
  }
  bars(document.getElementById('chart-drift'), drift, 'drift score (latest check)');
  document.getElementById('drift-verdicts').textContent = data.drift.length === 0 ? 'no drift report yet' :
    data.drift.map((d) => d.model + ': ' + d.level + ' (' + fmt(d.score, 3) + ') at ' + d.at).join(' · ');
  const body = document.getElementById('versions');
  body.textContent = '';
  for (const v of data.versions) {
    const row = document.createElement('tr');
    for (const cell of [v.model, 'v' + v.version, v.variant, v.requests, v.errors, fmt(v.p95LatencyMs, 1), fmt(v.meanScore, 4)]) {
      const td = document.createElement('td'); td.textContent = String(cell); row.appendChild(td);
    }
    body.appendChild(row);
  }
  document.body.dataset.ready = 'true';
}
async function poll() {
  try {
    const response = await fetch('/dashboard/data.json', { cache: 'no-store' });
    if (response.ok) render(await response.json());
    else document.getElementById('updated').textContent = 'data.json answered ' + response.status;
  } catch (error) {
    document.getElementById('updated').textContent = 'platform unreachable: ' + error;
  }
  setTimeout(poll, ${DASHBOARD_POLL_MS});
}
poll();
`;

function chart(id: string, title: string): string {
  const legendId = id.replace('chart-', 'legend-');
  return `<section class="card"><h2>${title}</h2><svg id="${id}" class="chart" viewBox="0 0 560 220" width="560" height="220" role="img" aria-label="${title}"></svg><div id="${legendId}" class="legend"></div></section>`;
}

/** The dashboard page. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>serverless-mlops · local dashboard</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #222; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 0 0 8px; }
  #updated, #drift-verdicts { font-size: 12px; color: #555; margin-bottom: 12px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(590px, 1fr)); gap: 12px; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
  .legend { font-size: 12px; } .key { margin-right: 12px; } .key i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
  table { border-collapse: collapse; font-size: 12px; } td, th { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: right; }
</style>
</head>
<body>
<h1>serverless-mlops · local platform</h1>
<div id="updated">loading…</div>
<div class="grid">
${chart('chart-latency', 'API latency p50 / p95 / p99 (ms)')}
${chart('chart-traffic', 'Predict traffic by model version and variant')}
${chart('chart-errors', 'Errors by code')}
${chart('chart-drift', 'Drift per feature and overall (latest verdict)')}
<section class="card"><h2>Model versions (last 10 minutes)</h2>
<table><thead><tr><th>model</th><th>version</th><th>variant</th><th>requests</th><th>5xx</th><th>p95 ms</th><th>mean score</th></tr></thead><tbody id="versions"></tbody></table>
<div id="drift-verdicts"></div></section>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
