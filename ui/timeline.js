// The 24 h timeline as inline SVG, built from history(24): a band of verdicts (consecutive
// checks with the same verdict merged into one run, each with a tooltip) and the SIP RTT as a
// line above it. No chart library: a few dozen elements are all it takes.

import { t, when, VERDICT_GLYPH } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
const W = 960, H = 150, LEFT = 40, RIGHT = 8, BAND_Y = 112, BAND_H = 18, TOP = 8;
const COLOURS = {
  healthy: "#1b7f3b", degraded: "#a76b00", provider_outage: "#b3261e", internet_down: "#b3261e",
  account_problem: "#b85c00", local_problem: "#3d5a80", unknown: "#999",
};

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Verdict runs: [{verdict, start, end}] from points sorted oldest first. */
export function runs(points, windowEnd) {
  const out = [];
  for (let i = 0; i < points.length; i++) {
    const at = Date.parse(points[i].at);
    const next = i + 1 < points.length ? Date.parse(points[i + 1].at) : windowEnd;
    const last = out[out.length - 1];
    if (last && last.verdict === points[i].verdict) last.end = next;
    else out.push({ verdict: points[i].verdict, start: at, end: next });
  }
  return out;
}

/** Renders `history` (the agent's HistoryReply) into `container`. */
export function renderTimeline(container, history, now = Date.now()) {
  container.replaceChildren();
  if (!history || !history.available) {
    container.append(Object.assign(document.createElement("p"), { textContent: t("timeline_unavailable") }));
    return;
  }
  if (history.points.length === 0) {
    container.append(Object.assign(document.createElement("p"), { textContent: t("timeline_empty") }));
    return;
  }
  const start = now - history.hours * 3600 * 1000;
  const x = (ms) => LEFT + ((Math.max(ms, start) - start) / (now - start)) * (W - LEFT - RIGHT);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("timeline") });

  // Hour ticks every 6 h, labelled with the local time.
  for (let h = 0; h <= history.hours; h += 6) {
    const ms = start + h * 3600 * 1000;
    svg.append(el("line", { x1: x(ms), x2: x(ms), y1: TOP, y2: BAND_Y + BAND_H, class: "grid" }));
    const label = new Date(ms).toTimeString().slice(0, 5);
    // The last label ends at the edge instead of being cut in half.
    const anchor = h === 0 ? "start" : h + 6 > history.hours ? "end" : "middle";
    svg.append(el("text", { x: x(ms), y: H - 4, "text-anchor": anchor, class: "axis" }, label));
  }

  for (const run of runs(history.points, now)) {
    const rect = el("rect", {
      x: x(run.start), y: BAND_Y, height: BAND_H,
      width: Math.max(1, x(run.end) - x(run.start)), fill: COLOURS[run.verdict] || COLOURS.unknown,
    });
    rect.append(el("title", {}, `${VERDICT_GLYPH[run.verdict] || "?"} ${t("verdict." + run.verdict)}: ${when(new Date(run.start).toISOString())} – ${when(new Date(run.end).toISOString())}`));
    svg.append(rect);
  }

  const rtts = history.points.filter((p) => typeof p.sip_rtt_ms === "number");
  if (rtts.length > 0) {
    const max = Math.max(100, ...rtts.map((p) => p.sip_rtt_ms));
    const y = (ms) => BAND_Y - 6 - (ms / max) * (BAND_Y - 6 - TOP);
    svg.append(el("text", { x: 2, y: TOP + 8, class: "axis" }, `${Math.round(max)}`));
    svg.append(el("text", { x: 2, y: BAND_Y - 6, class: "axis" }, "0"));
    const d = rtts.map((p, i) => `${i ? "L" : "M"}${x(Date.parse(p.at)).toFixed(1)},${y(p.sip_rtt_ms).toFixed(1)}`).join("");
    const path = el("path", { d, class: "rtt" });
    path.append(el("title", {}, t("timeline_rtt")));
    svg.append(path);
  }
  container.append(svg);

  // The legend names the colours in words (with their glyphs), so the band is readable
  // without telling colours apart.
  const legend = document.createElement("div");
  legend.className = "legend";
  const seen = [...new Set(history.points.map((p) => p.verdict))];
  for (const v of seen) {
    const item = document.createElement("span");
    item.dataset.verdict = v;
    item.textContent = `${VERDICT_GLYPH[v] || "?"} ${t("verdict." + v)}`;
    legend.append(item);
  }
  const rttLabel = document.createElement("span");
  rttLabel.textContent = `— ${t("timeline_rtt")}`;
  legend.append(rttLabel);
  container.append(legend);
}
