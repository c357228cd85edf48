// Controls and charts shared by the pages: time range, group picker, histograms, time series.

import { xrayAll } from "./api.js";
import { fmtDuration, h, s } from "./dom.js";
import { RANGES, setParams, timeRange } from "./state.js";

function toLocalInput(epoch) {
  const d = new Date(epoch * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

export function timeRangeControl(params) {
  const range = timeRange(params);
  const select = h("select", { "aria-label": "Time range", name: "range" },
    Object.keys(RANGES).map((key) => h("option", { value: key, selected: range.relative === key }, `Last ${key}`)),
    h("option", { value: "custom", selected: !range.relative }, "Custom"));
  const from = h("input", { type: "datetime-local", step: "1", "aria-label": "From", value: toLocalInput(range.start), hidden: Boolean(range.relative) });
  const to = h("input", { type: "datetime-local", step: "1", "aria-label": "To", value: toLocalInput(range.end), hidden: Boolean(range.relative) });
  select.addEventListener("change", () => {
    if (select.value === "custom") { from.hidden = false; to.hidden = false; return; }
    setParams({ range: select.value, start: null, end: null });
  });
  const apply = () => {
    const start = new Date(from.value).getTime() / 1000;
    const end = new Date(to.value).getTime() / 1000;
    if (start && end && end > start) setParams({ range: null, start: Math.floor(start), end: Math.ceil(end) });
  };
  from.addEventListener("change", apply);
  to.addEventListener("change", apply);
  return h("label", {}, "Time range", h("span", {}, select, " ", from, " ", to));
}

let groupCache = null;
export async function loadGroups() {
  if (!groupCache) {
    groupCache = xrayAll("GetGroups", {}, "Groups").then((r) => r.items).catch(() => []);
  }
  return groupCache;
}
export function forgetGroups() { groupCache = null; }

export function groupControl(params) {
  const select = h("select", { "aria-label": "Group", name: "group" }, h("option", { value: "" }, "Default"));
  loadGroups().then((groups) => {
    for (const group of groups) {
      if (group.GroupName === "Default") continue;
      select.append(h("option", { value: group.GroupName, selected: params.get("group") === group.GroupName }, group.GroupName));
    }
  });
  select.addEventListener("change", () => setParams({ group: select.value || null }));
  return h("label", {}, "Group", select);
}

/** Bars for [{Value, Count}] (X-Ray histograms) or plain values; one or two series. */
export function histogram(seriesList, { width = 520, height = 160, buckets = 24, title = "Response time", onPick } = {}) {
  const all = seriesList.flatMap((series) => series.points.map((p) => p.Value));
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title} histogram` });
  if (!all.length) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no data"));
    return svg;
  }
  const max = Math.max(...all) || 1;
  const step = max / buckets;
  const counts = seriesList.map((series) => {
    const bins = new Array(buckets).fill(0);
    for (const p of series.points) bins[Math.min(buckets - 1, Math.floor(p.Value / step))] += p.Count ?? 1;
    const total = bins.reduce((a, b) => a + b, 0) || 1;
    return bins.map((c) => c / total);
  });
  const top = Math.max(...counts.flat()) || 1;
  const left = 34, bottom = 20, plotW = width - left - 6, plotH = height - bottom - 8;
  const barW = plotW / buckets / seriesList.length;
  counts.forEach((bins, si) => bins.forEach((share, i) => {
    const barH = (share / top) * plotH;
    const bar = s("rect", { class: seriesList[si].cls || "bar", x: left + (i * seriesList.length + si) * barW, y: 8 + plotH - barH, width: Math.max(1, barW - 1), height: barH });
    bar.append(s("title", {}, `${fmtDuration(i * step)}–${fmtDuration((i + 1) * step)}: ${(share * 100).toFixed(1)}%`));
    if (onPick && share > 0) {
      // A bar narrows to its response-time range (the X-Ray console's histogram selection).
      const pick = () => onPick(i * step, (i + 1) * step);
      Object.assign(bar.dataset, { low: String(i * step), high: String((i + 1) * step) });
      bar.setAttribute("tabindex", "0");
      bar.setAttribute("role", "button");
      bar.style.cursor = "pointer";
      bar.addEventListener("click", pick);
      bar.addEventListener("keydown", (ev) => { if (ev.key === "Enter") pick(); });
    }
    svg.append(bar);
  }));
  svg.append(s("line", { x1: left, x2: width - 6, y1: 8 + plotH, y2: 8 + plotH, stroke: "#999" }));
  for (const f of [0, 0.5, 1]) svg.append(s("text", { x: left + f * plotW, y: height - 5, "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" }, fmtDuration(f * max)));
  svg.append(s("text", { x: 2, y: 14 }, `${(top * 100).toFixed(0)}%`));
  return svg;
}

/** Counts per time bucket for one or two lists of epoch times. */
export function timeSeries(seriesList, start, end, { width = 520, height = 160, buckets = 40 } = {}) {
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Traces over time" });
  const step = (end - start) / buckets || 1;
  const bins = seriesList.map((series) => {
    const out = new Array(buckets).fill(0);
    for (const t of series.times) if (t >= start && t <= end) out[Math.min(buckets - 1, Math.floor((t - start) / step))] += 1;
    return out;
  });
  const top = Math.max(1, ...bins.flat());
  const left = 34, bottom = 20, plotW = width - left - 6, plotH = height - bottom - 8;
  bins.forEach((counts, si) => {
    const d = counts.map((c, i) => `${i ? "L" : "M"}${(left + (i + 0.5) * (plotW / buckets)).toFixed(1)},${(8 + plotH - (c / top) * plotH).toFixed(1)}`).join(" ");
    svg.append(s("path", { d, class: seriesList[si].cls || "line-a" }));
  });
  svg.append(s("line", { x1: left, x2: width - 6, y1: 8 + plotH, y2: 8 + plotH, stroke: "#999" }));
  svg.append(s("text", { x: 2, y: 14 }, String(top)));
  svg.append(s("text", { x: left, y: height - 5 }, new Date(start * 1000).toLocaleTimeString()));
  svg.append(s("text", { x: width - 6, y: height - 5, "text-anchor": "end" }, new Date(end * 1000).toLocaleTimeString()));
  return svg;
}

export function errorBox(err, expression) {
  const box = h("div.error-box", { role: "alert" }, h("strong", {}, `${err.code || "Error"}: `), err.message);
  const pos = err.position;
  if (expression !== undefined && pos !== null && pos !== undefined && pos <= expression.length) {
    box.append(h("pre", { "data-error-position": pos },
      expression.slice(0, pos), h("mark", {}, expression.slice(pos, pos + 1) || " "), expression.slice(pos + 1),
      "\n", " ".repeat(pos), "^ position ", String(pos)));
  }
  return box;
}
