/** A self-contained HTML report (inline SVG, no scripts, no network) of one loadtest run. */
import fs from 'node:fs';
import path from 'node:path';
import type { Summary } from './scenarios/common';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function bars(title: string, series: { name: string; color: string; values: number[] }[], labels: string[]): string {
  const w = 640;
  const h = 200;
  const pad = 30;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const n = labels.length || 1;
  const slot = (w - pad * 2) / n;
  const bw = slot / (series.length + 0.5);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h + 60}" role="img"><title>${esc(title)}</title>`;
  svg += `<line x1="${pad}" y1="${h}" x2="${w - pad}" y2="${h}" stroke="#888"/>`;
  series.forEach((s, si) => s.values.forEach((v, i) => {
    const bh = (v / max) * (h - 20);
    svg += `<rect x="${pad + i * slot + si * bw}" y="${h - bh}" width="${bw - 1}" height="${bh}" fill="${s.color}"><title>${esc(s.name)} ${esc(labels[i] ?? '')}: ${v}</title></rect>`;
  }));
  const every = Math.ceil(n / 16);
  labels.forEach((l, i) => {
    const x = pad + i * slot + slot / 2;
    if (i % every === 0) svg += `<text x="${x}" y="${h + 12}" font-size="10" fill="#444" text-anchor="end" transform="rotate(-35 ${x} ${h + 12})">${esc(l)}</text>`;
  });
  svg += `<text x="${pad}" y="12" font-size="11" fill="#444">max ${max}</text>`;
  series.forEach((s, si) => {
    const x = w - 90 * (series.length - si);
    svg += `<rect x="${x}" y="${h + 42}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${h + 51}" font-size="11">${esc(s.name)}</text>`;
  });
  return `<h3>${esc(title)}</h3>${svg}</svg>`;
}

function section(s: Summary): string {
  const rows = Object.entries(s).filter(([k, v]) => !['baseline', 'probe', 'histogram', 'timeline', 'extra'].includes(k) && v !== undefined)
    .concat(Object.entries(s.extra ?? {}));
  let html = `<h2>${esc(s.scenario)}</h2><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('')}</table>`;
  if (s.histogram) {
    const labels = s.histogram.map((b) => (b.le === Infinity ? '>5s' : `≤${b.le}ms`));
    const series = [{ name: 'desk', color: '#2a6fdb', values: s.histogram.map((b) => b.n) }];
    if (s.baseline) series.push({ name: 'baseline', color: '#999', values: s.baseline.histogram.map((b) => b.n) });
    if (s.probe) series.push({ name: 'durable probe', color: '#d98c1f', values: s.probe.histogram.map((b) => b.n) });
    html += bars('End-to-end delivery latency', series, labels);
  }
  if (s.timeline && s.timeline.length) {
    const series = [{ name: 'desk', color: '#2a6fdb', values: s.timeline }];
    if (s.baseline) series.push({ name: 'baseline', color: '#999', values: s.baseline.timeline });
    if (s.probe) series.push({ name: 'durable probe', color: '#d98c1f', values: s.probe.timeline });
    const len = Math.max(...series.map((x) => x.values.length));
    html += bars('Messages delivered per second', series, Array.from({ length: len }, (_, i) => `${i}s`));
  }
  return html;
}

export function writeReport(summaries: Summary[], dir: string, meta: Record<string, unknown>): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `loadtest-${new Date().toISOString().replace(/[:.]/g, '-')}.html`);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Desk loadtest</title><style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:760px}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}th{background:#f5f5f5}</style></head><body>
<h1>Desk loadtest</h1><p>${Object.entries(meta).map(([k, v]) => `${esc(k)}: <b>${esc(String(v))}</b>`).join(' · ')}</p>${summaries.map(section).join('\n')}</body></html>`;
  fs.writeFileSync(file, html);
  return file;
}
