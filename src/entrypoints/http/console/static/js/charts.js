// Two small SVG charts drawn from the API's buckets: stacked outcome bars and p50/p95
// lines. Colours come from the stylesheet (class names), so the CSP needs no inline style.
import { h } from "./common.js";

const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 40, right: 8, top: 8, bottom: 22 };
export const OUTCOMES = ["succeeded", "timeout", "provider_error", "cancelled", "storage_error"];

const svg = (tag, props = {}, ...children) => h(tag, { ...props, svg: true }, ...children);

function frame(label, max, format, series, stepLabel) {
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": label });
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - fraction);
    root.append(
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "axis" }),
      svg("text", { x: PAD.left - 4, y: y + 4, "text-anchor": "end" }, format(max * fraction)),
    );
  }
  const every = Math.max(1, Math.ceil(series.length / 6));
  series.forEach((bucket, i) => {
    if (i % every) return;
    root.append(svg("text", { x: xOf(i, series.length), y: HEIGHT - 6, "text-anchor": "middle" }, stepLabel(bucket.start)));
  });
  return root;
}

function xOf(i, n) {
  const plotW = WIDTH - PAD.left - PAD.right;
  return PAD.left + (plotW * (i + 0.5)) / n;
}

function yOf(value, max) {
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  return PAD.top + plotH * (1 - value / max);
}

export function outcomesChart(series, stepLabel) {
  const totals = series.map((b) => OUTCOMES.reduce((sum, k) => sum + b[k], 0));
  const max = Math.max(1, ...totals);
  const root = frame("Outcomes per time bucket", max, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)), series, stepLabel);
  const barW = Math.max(2, ((WIDTH - PAD.left - PAD.right) / series.length) * 0.7);
  series.forEach((bucket, i) => {
    let base = 0;
    for (const key of OUTCOMES) {
      if (!bucket[key]) continue;
      const top = yOf(base + bucket[key], max);
      const bottom = yOf(base, max);
      root.append(
        svg("rect", { x: xOf(i, series.length) - barW / 2, y: top, width: barW, height: bottom - top, class: key },
          svg("title", {}, `${key}: ${bucket[key]}`)),
      );
      base += bucket[key];
    }
  });
  return root;
}

export function latencyChart(series, stepLabel) {
  const values = series.flatMap((b) => [b.p50_ms, b.p95_ms]).filter((v) => v !== null);
  const max = Math.max(1000, ...values);
  const seconds = (ms) => `${(ms / 1000).toFixed(max < 10000 ? 1 : 0)} s`;
  const root = frame("Processing time p50 and p95", max, seconds, series, stepLabel);
  for (const key of ["p50_ms", "p95_ms"]) {
    const points = series
      .map((b, i) => (b[key] === null ? null : `${xOf(i, series.length)},${yOf(b[key], max)}`))
      .filter(Boolean);
    if (points.length === 1) {
      const [x, y] = points[0].split(",");
      root.append(svg("circle", { cx: x, cy: y, r: 3, class: key.replace("_ms", "") }));
    } else if (points.length) {
      root.append(svg("polyline", { points: points.join(" "), class: key.replace("_ms", "") }));
    }
  }
  return root;
}
