// bench/results.svg: a diverging bar chart (log scale) of how each wasyncore backend
// compares with each peer, per summary metric: per peer a pair of bars, native (solid)
// above net (light). Bars right of 1× mean that backend is ahead.
import { PEERS, summaryRows } from './report.mjs';
import { advantage, fmt, fmtRatio } from './stats.mjs';

const COLORS = { 'node-net': '#3b7dd8', 'node-http': '#8e5bd0', asyncore: '#e0a21a', asyncio: '#2da57a' };
const WIDTH = 980;
const LABEL_W = 190;
const BACKEND_STYLE = { native: '', net: ' fill-opacity="0.45"' };
const PLOT = { left: LABEL_W + 10, right: WIDTH - 70 };
const BAR_H = 11;
const BAR_GAP = 1; // between the two backends' bars of a peer
const PAIR_GAP = 5; // between peers
const GROUP_GAP = 14;
const TOP = 104;
const NICE = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const text = (x, y, s, attrs = '') => `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`;

/**
 * Groups of bars: one group per summary metric, one pair of bars (one per backend) per
 * peer that ran in it. `rows` are summaryRows (one per metric and backend, in SUBJECTS order).
 */
function groupsOf(results, cfg) {
  const rows = summaryRows(results, cfg).filter((row) => row.metric.chart !== false);
  const groups = [];
  for (const row of rows) {
    if (row.first) groups.push({ label: row.title, sublabel: `${row.metric.label}${row.metric.better === 'lower' ? ' (lower is better: shown inverted)' : ''}`, rows: [] });
    groups.at(-1).rows.push(row);
  }
  return groups.map((g) => {
    // A backend without a number in this group gets a note instead of a row of empty bars.
    const shown = g.rows.filter((r) => r.subject != null);
    return {
      ...g,
      notes: g.rows.filter((r) => r.subject == null).map((r) => `${r.label}: ${r.skipped ?? 'no number'}`),
      pairs: shown.length === 0 ? [] : PEERS.filter(([id]) => shown.some((r) => r.peers[id])).map(([id]) => ({
        id,
        label: shown.find((r) => r.peers[id]).peers[id],
        bars: shown.map((row) => ({
          id,
          backend: row.backend,
          value: advantage(row.ratios[id], row.metric.better),
          missing: row.subject <= 0 ? `no ratio (${row.backend}: ${fmt(row.subject)}, not above 0)`
            : row.values[id] != null && row.values[id] <= 0 ? `no ratio (this peer: ${fmt(row.values[id])}, not above 0)` : 'no data',
        })),
      })),
    };
  });
}

function scaleFor(groups) {
  const values = groups.flatMap((g) => g.pairs.flatMap((p) => p.bars.map((b) => b.value))).filter((v) => v != null);
  const lo = Math.min(0.5, ...values);
  const hi = Math.max(2, ...values);
  const min = [...NICE].reverse().find((n) => n <= lo) ?? NICE[0];
  const max = NICE.find((n) => n >= hi) ?? NICE.at(-1);
  const x = (v) => {
    const c = Math.min(max, Math.max(min, v));
    return PLOT.left + ((Math.log10(c) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * (PLOT.right - PLOT.left);
  };
  return { x, ticks: NICE.filter((n) => n >= min && n <= max) };
}

function axis(scale, height) {
  return scale.ticks.map((t) => {
    const x = scale.x(t).toFixed(1);
    const strong = t === 1;
    return `<line x1="${x}" x2="${x}" y1="${TOP - 8}" y2="${height - 30}" stroke="${strong ? '#333' : '#ddd'}"` +
      ` stroke-width="${strong ? 1.5 : 1}"/>` + text(x, height - 14, `${t}×`, 'text-anchor="middle" class="tick"');
  }).join('\n');
}

/** One backend's bar against one peer; `label` only on the pair's first bar. */
function bar(b, label, y, scale) {
  const tag = text(LABEL_W, y + BAR_H - 2, label ? `${label} · ${b.backend}` : b.backend, 'text-anchor="end" class="peer"');
  if (b.value == null) return tag + text(scale.x(1) + 6, y + BAR_H - 2, b.missing, 'class="val"');
  const x1 = scale.x(1);
  const x2 = scale.x(b.value);
  const [left, w] = x2 >= x1 ? [x1, x2 - x1] : [x2, x1 - x2];
  const rect = `<rect x="${left.toFixed(1)}" y="${y}" width="${Math.max(1, w).toFixed(1)}" height="${BAR_H}" ` +
    `fill="${COLORS[b.id]}"${BACKEND_STYLE[b.backend]}/>`;
  // The value goes past the bar's end, or inside it where that would hit the labels.
  const inside = x2 < PLOT.left + 40;
  const valueX = x2 >= x1 || inside ? x2 + 4 : x2 - 4;
  const anchor = x2 >= x1 || inside ? 'start' : 'end';
  const cls = inside && b.backend === 'native' ? 'val inside' : 'val';
  return tag + rect + text(valueX.toFixed(1), y + BAR_H - 2, fmtRatio(b.value), `class="${cls}" text-anchor="${anchor}"`);
}

function legend() {
  const peers = PEERS.map(([id, label], i) => {
    const x = 20 + i * 230;
    return `<rect x="${x}" y="52" width="12" height="12" fill="${COLORS[id]}"/>` + text(x + 18, 62, label, 'class="peer"');
  });
  const backends = `<rect x="20" y="70" width="12" height="12" fill="#666"/>` + text(38, 80, 'native backend (solid)', 'class="peer"') +
    `<rect x="250" y="70" width="12" height="12" fill="#666" fill-opacity="0.45"/>` + text(268, 80, 'net backend (light)', 'class="peer"');
  return peers.join('') + backends;
}

function frame(height, body, subtitle) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">\n' +
    '<style>.title{font-size:17px;font-weight:600}.sub{font-size:12px;fill:#555}.group{font-size:13px;' +
    'font-weight:600}.peer{font-size:12px;fill:#333}.val{font-size:11px;fill:#111}.inside{fill:#fff;font-weight:600}.tick{font-size:11px;fill:#555}</style>\n' +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    text(20, 26, 'wasyncore\'s two backends relative to each peer (× better; right of 1× = wasyncore ahead)', 'class="title"') +
    text(20, 44, subtitle, 'class="sub"') + '\n' + body + '\n</svg>\n';
}

export function renderSvg({ results, info, cfg, mode }) {
  const subtitle = `${mode} run, ${info.date} · ${info.cpu} · Node ${info.node} · ${info.python} · medians of ${cfg.rounds} round(s), log scale`;
  const groups = groupsOf(results, cfg);
  const anyBar = (g) => g.pairs.some((p) => p.bars.some((b) => b.value != null));
  if (!groups.some(anyBar)) {
    const why = [...new Set(groups.flatMap((g) => g.notes))].join('; ') || 'no ratios';
    return frame(140, text(20, 120, `No wasyncore ratios to chart (${why}); see RESULTS.md for the peers.`, 'class="group"'), subtitle);
  }
  const scale = scaleFor(groups);
  const parts = [legend()];
  let y = TOP;
  for (const g of groups) {
    parts.push(`<text x="20" y="${y + 12}" class="group">${esc(g.label)} <tspan class="sub">· ${esc(g.sublabel)}</tspan></text>`);
    y += 20;
    for (const note of g.notes) {
      parts.push(text(LABEL_W, y + BAR_H - 2, note, 'class="peer"'));
      y += BAR_H + PAIR_GAP;
    }
    for (const pair of g.pairs) {
      pair.bars.forEach((b, i) => parts.push(bar(b, i === 0 ? pair.label : null, y + i * (BAR_H + BAR_GAP), scale)));
      y += pair.bars.length * (BAR_H + BAR_GAP) + PAIR_GAP;
    }
    y += GROUP_GAP - PAIR_GAP;
  }
  const height = y + 40;
  return frame(height, axis(scale, height) + '\n' + parts.join('\n'), subtitle);
}
