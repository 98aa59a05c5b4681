import { CHART_JS_SOURCE } from '#core/vendor/chart-js.ts';
import type { DashboardData } from './live-figures.ts';

/**
 * `GET /dashboard` of the local platform: one self-contained HTML page (Chart.js inline, no CDN, no external
 * script). The page carries the figures of the moment it was served, so it draws at once (no "loading…"), then
 * polls `/dashboard/data.json`: API latency p50/p95/p99, predict traffic per model version and variant (a version
 * idle for the last minute starts hidden; its legend entry shows it), errors by code (horizontal bars: long codes
 * never overlap), one card per model's latest drift verdict with its features' PSI, shadow agreement per model,
 * and the per-version table.
 */

/** The series colours; the browser test looks for them in the screenshot. */
export const CHART_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'] as const;

/** The charts the page always draws, by canvas id (each drift verdict adds `chart-drift-<n>`). */
export const DASHBOARD_CHARTS = ['chart-latency', 'chart-traffic', 'chart-errors'] as const;

/** How often the page polls the data, in ms. */
export const DASHBOARD_POLL_MS = 2000;

/** Buckets without a request after which a traffic series starts hidden (6 × 10 s: the last minute). */
export const IDLE_BUCKETS = 6;

const SCRIPT = String.raw`
const COLOURS = ${JSON.stringify(CHART_COLOURS)};
const IDLE_BUCKETS = ${IDLE_BUCKETS};
const VERDICT = { ok: '#2e7d32', warning: '#ef6c00', critical: '#c62828', insufficient_data: '#616161' };
Chart.defaults.animation = false;
Chart.defaults.font.size = 12;
Chart.defaults.maintainAspectRatio = false;
const charts = new Map();
/** Legend entries the user clicked: their visibility is theirs, not the idle rule's. */
const toggled = new Set();

function fmt(v, digits) { return v === null || v === undefined ? '–' : Number(v).toFixed(digits); }
function time(ms) { return new Date(ms).toISOString().slice(11, 19); }

/** Creates the chart on its canvas, or updates it in place (keeping what the user hid or showed). */
function draw(id, type, labels, datasets, options) {
  const existing = charts.get(id);
  if (existing) {
    existing.data.labels = labels;
    existing.data.datasets = datasets.map((d) => {
      const before = existing.data.datasets.find((e) => e.label === d.label);
      return toggled.has(id + '|' + d.label) && before ? { ...d, hidden: before.hidden } : d;
    });
    existing.update('none');
    return;
  }
  const canvas = document.getElementById(id);
  if (!canvas) return;
  const chart = new Chart(canvas, { type, data: { labels, datasets }, options: {
    ...options,
    plugins: { ...(options.plugins || {}), legend: { ...((options.plugins || {}).legend || {}), onClick: (e, item, legend) => {
      const dataset = legend.chart.data.datasets[item.datasetIndex];
      dataset.hidden = !dataset.hidden;
      toggled.add(id + '|' + dataset.label);
      legend.chart.update('none');
    } } },
  } });
  charts.set(id, chart);
}

const timeAxis = { ticks: { autoSkip: true, maxTicksLimit: 8, maxRotation: 0 } };

function renderDrift(data) {
  const container = document.getElementById('drift-cards');
  const ids = data.drift.map((_, i) => 'chart-drift-' + i);
  if (container.dataset.models !== data.drift.map((d) => d.model).join(',')) {
    for (const [id, chart] of charts) if (id.startsWith('chart-drift-')) { chart.destroy(); charts.delete(id); }
    container.textContent = '';
    data.drift.forEach((d, i) => {
      const card = document.createElement('section');
      card.className = 'card drift';
      card.innerHTML = '<h2></h2><div class="verdict"></div><div class="chart-box"><canvas></canvas></div>';
      card.querySelector('canvas').id = ids[i];
      card.querySelector('.chart-box').style.height = (22 * d.features.length + 70) + 'px';
      container.appendChild(card);
    });
    container.dataset.models = data.drift.map((d) => d.model).join(',');
  }
  if (data.drift.length === 0) container.innerHTML = '<section class="card drift"><h2>Drift</h2><div class="verdict">no drift check yet</div></section>';
  data.drift.forEach((d, i) => {
    const card = container.children[i];
    card.querySelector('h2').textContent = 'Drift · ' + d.model;
    card.querySelector('.verdict').innerHTML = '<span class="badge" style="background:' + VERDICT[d.level] + '">' + d.level.replace('_', ' ') + '</span> score ' +
      fmt(d.score, 3) + ' · ' + d.features.filter((f) => f.drifted).length + ' of ' + d.features.length + ' features drifted · ' + d.at.slice(11, 19) + ' UTC';
    const features = [...d.features].sort((a, b) => b.score - a.score || a.feature.localeCompare(b.feature));
    draw(ids[i], 'bar', features.map((f) => f.feature), [{
      label: 'PSI', data: features.map((f) => f.score), backgroundColor: features.map((f) => f.drifted ? VERDICT.critical : COLOURS[0]),
    }], { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'PSI (red: drifted)' } }, y: { ticks: { autoSkip: false } } } });
  });
}

function renderShadow(data) {
  const body = document.getElementById('shadow');
  body.textContent = '';
  const shadows = data.shadow || [];
  if (shadows.length === 0) {
    const row = document.createElement('tr');
    row.innerHTML = '<td colspan="7">no shadow version scored in the window (mlops shadow set --model M --version N)</td>';
    body.appendChild(row);
  }
  for (const s of shadows) {
    const row = document.createElement('tr');
    for (const cell of [s.model, 'v' + s.productionVersion + ' vs v' + s.shadowVersion, s.rows, fmt(s.labelAgreement * 100, 1) + '%',
      fmt(s.scoreDiff.p50, 4), fmt(s.scoreDiff.p95, 4), fmt(s.scoreDiff.max, 4)]) {
      const td = document.createElement('td'); td.textContent = String(cell); row.appendChild(td);
    }
    body.appendChild(row);
  }
}

function render(data) {
  document.getElementById('updated').textContent = 'updated ' + data.generatedAt.slice(11, 19) + ' UTC · ' + data.totals.requests + ' requests, ' +
    data.totals.serverErrors + ' 5xx, ' + data.totals.clientErrors + ' 4xx in the last ' + Math.round(data.buckets.length * data.bucketSeconds / 60) + ' min';
  const labels = data.buckets.map(time);
  draw('chart-latency', 'line', labels, ['p50', 'p95', 'p99'].map((q, i) => ({
    label: q, data: data.latency[q], borderColor: COLOURS[i], backgroundColor: COLOURS[i], spanGaps: false, pointRadius: 2, borderWidth: 2,
  })), { scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: 'ms' } } } });
  draw('chart-traffic', 'line', labels, data.traffic.map((t, i) => ({
    label: t.key, data: t.counts, borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
    pointRadius: 0, borderWidth: 2, hidden: t.counts.slice(-IDLE_BUCKETS).every((c) => c === 0),
  })), { scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: 'requests per ' + data.bucketSeconds + ' s' } } },
    plugins: { legend: { position: 'bottom' } } });
  document.getElementById('errors-box').style.height = Math.max(120, 26 * data.errorsByCode.length + 60) + 'px';
  draw('chart-errors', 'bar', data.errorsByCode.map((e) => e.code + ' (' + e.status + ')'), [{
    label: 'answers', data: data.errorsByCode.map((e) => e.count), backgroundColor: data.errorsByCode.map((e) => e.status >= 500 ? COLOURS[3] : COLOURS[1]),
  }], { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'answers (orange 4xx, red 5xx)' } }, y: { ticks: { autoSkip: false } } } });
  renderDrift(data);
  renderShadow(data);
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
render(JSON.parse(document.getElementById('initial-data').textContent));
setTimeout(poll, ${DASHBOARD_POLL_MS});
`;

function chart(id: string, title: string, wide = false): string {
  return `<section class="card${wide ? ' wide' : ''}"><h2>${title}</h2><div class="chart-box" id="${id.replace('chart-', '')}-box"><canvas id="${id}" role="img" aria-label="${title}"></canvas></div></section>`;
}

/** The dashboard page, drawing `initial` at once. */
export function dashboardPage(initial: DashboardData): string {
  const initialJson = JSON.stringify(initial).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>serverless-mlops · local dashboard</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #222; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 0 0 8px; }
  #updated { font-size: 12px; color: #555; margin-bottom: 12px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; min-width: 0; }
  .wide { grid-column: 1 / -1; }
  .chart-box { position: relative; height: 240px; }
  .verdict { font-size: 13px; margin-bottom: 8px; }
  .badge { color: #fff; border-radius: 4px; padding: 1px 6px; font-size: 11px; text-transform: uppercase; }
  table { border-collapse: collapse; font-size: 12px; } td, th { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: right; }
  td:first-child, th:first-child { text-align: left; }
</style>
</head>
<body>
<h1>serverless-mlops · local platform</h1>
<div id="updated"></div>
<div class="grid">
${chart('chart-latency', 'API latency p50 / p95 / p99 (ms)')}
${chart('chart-traffic', 'Predict traffic by model version and variant (idle versions start hidden: click to show)')}
${chart('chart-errors', 'Errors by code')}
<section class="card"><h2>Model versions (last 10 minutes)</h2>
<table><thead><tr><th>model</th><th>version</th><th>variant</th><th>requests</th><th>5xx</th><th>p95 ms</th><th>mean score</th></tr></thead><tbody id="versions"></tbody></table></section>
<section class="card"><h2>Shadow agreement (last 10 minutes)</h2>
<table><thead><tr><th>model</th><th>production vs shadow</th><th>rows</th><th>same label</th><th>|score diff| p50</th><th>p95</th><th>max</th></tr></thead><tbody id="shadow"></tbody></table></section>
</div>
<div class="grid" id="drift-cards" style="margin-top:12px"></div>
<script type="application/json" id="initial-data">${initialJson}</script>
<script>${CHART_JS_SOURCE}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
