// Medians, ratios and number formatting.

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Median of each key over a list of samples. */
export function medians(samples) {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  return Object.fromEntries([...keys].map((k) => [k, median(samples.map((s) => s[k]))]));
}

/** subject / peer, or null when either is missing or not positive. */
export function ratio(subject, peer) {
  if (subject == null || peer == null || subject <= 0 || peer <= 0) return null;
  return subject / peer;
}

/** How much better the subject is (>1 = better), whichever way the metric points. */
export function advantage(r, better) {
  if (r == null) return null;
  return better === 'lower' ? 1 / r : r;
}

/** 3 significant digits with a thousands separator, e.g. 215,000 / 1.23 / 0.0456. */
export function fmt(x) {
  if (x == null || !Number.isFinite(x)) return '—';
  const abs = Math.abs(x);
  if (Number.isInteger(x) && abs < 1000) return String(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

export function fmtRatio(r) {
  return r == null ? '—' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}
