// Draws a GetServiceGraph / GetTraceGraph answer as an SVG map, positioned by the server's layered layout.

import { layout } from "./api.js";
import { fmtDuration, h, quote, s } from "./dom.js";
import { icon } from "./icons.js";
import { histogram } from "./widgets.js";

const R = 26;

/** {ok, error, throttle, fault, total, avg} from an X-Ray SummaryStatistics. */
export function health(stats) {
  if (!stats) return null;
  const total = stats.TotalCount || 0;
  const errorStats = stats.ErrorStatistics || {};
  const throttle = errorStats.ThrottleCount || 0;
  const error = (errorStats.TotalCount || 0) - throttle;
  const fault = (stats.FaultStatistics || {}).TotalCount || 0;
  const ok = stats.OkCount ?? Math.max(0, total - error - throttle - fault);
  return { ok, error, throttle, fault, total, avg: total ? (stats.TotalResponseTime || 0) / total : null };
}

function arc(r, from, to) {
  const a0 = from * 2 * Math.PI - Math.PI / 2;
  const a1 = to * 2 * Math.PI - Math.PI / 2;
  const large = to - from > 0.5 ? 1 : 0;
  return `M${(r * Math.cos(a0)).toFixed(2)},${(r * Math.sin(a0)).toFixed(2)} A${r},${r} 0 ${large} 1 ${(r * Math.cos(a1)).toFixed(2)},${(r * Math.sin(a1)).toFixed(2)}`;
}

function ring(stats) {
  const g = s("g", { class: "ring" });
  const hs = health(stats);
  if (!hs || !hs.total) {
    g.append(s("circle", { r: R, fill: "none", stroke: "#c4ccd4", "stroke-width": 5, "data-share": "none" }));
    return g;
  }
  let at = 0;
  for (const part of ["ok", "error", "throttle", "fault"]) {
    const share = hs[part] / hs.total;
    if (share <= 0) continue;
    const stroke = `var(--${part})`;
    if (share >= 0.999) g.append(s("circle", { r: R, fill: "none", stroke, "stroke-width": 5, "data-share": part }));
    else g.append(s("path", { d: arc(R, at, at + share), fill: "none", stroke, "stroke-width": 5, "data-share": part }));
    at += share;
  }
  return g;
}

function truncate(text, max = 26) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Filter expression selecting the traces behind a node or an edge. */
export function filterFor(selection, byId) {
  if (selection.edge) {
    const from = byId.get(selection.edge.source);
    const to = byId.get(selection.edge.target);
    if (from.Type === "client") return `service(${quote(to.Name)})`;
    return `edge(${quote(from.Name)}, ${quote(to.Name)})`;
  }
  return `service(${quote(selection.node.Name)})`;
}

export async function renderMap(container, services, { minutes, onSelect } = {}) {
  const byId = new Map(services.map((svc) => [svc.ReferenceId, svc]));
  const placed = await layout(services);
  const width = Math.max(placed.width, 300), height = Math.max(placed.height, 200);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "group", "aria-label": "Service map" });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9aa7b4" }))));
  const edgeLayer = s("g");
  const nodeLayer = s("g");
  svg.append(edgeLayer, nodeLayer);
  let selectedEl = null;
  const select = (el, selection) => {
    if (selectedEl) selectedEl.classList.remove("selected");
    selectedEl = el;
    el.classList.add("selected");
    onSelect && onSelect(selection, byId);
  };
  const positions = new Map(placed.nodes.map((n) => [n.id, n]));
  for (const edge of placed.edges) {
    const pts = edge.points.slice();
    // Start and end on the node circles, not at their centres.
    const trim = (a, b) => { const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy) || 1; return [a[0] + (dx / len) * (R + 4), a[1] + (dy / len) * (R + 4)]; };
    pts[0] = trim(pts[0], pts[1]);
    pts[pts.length - 1] = trim(pts[pts.length - 1], pts[pts.length - 2]);
    let d = `M${pts[0][0]},${pts[0][1]}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      const mx = (x0 + x1) / 2;
      d += ` C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
    }
    const source = byId.get(edge.source);
    const data = (source.Edges || []).find((e) => e.ReferenceId === edge.target) || {};
    const target = byId.get(edge.target);
    const label = `Edge ${source.Name} to ${target.Name}`;
    const path = s("path", { d, class: "map-edge", "marker-end": "url(#arrow)", tabindex: 0, role: "button", "aria-label": label, "data-source": source.Name, "data-target": target.Name });
    const hit = s("path", { d, class: "map-edge-hit" });
    const hs = health(data.SummaryStatistics);
    path.append(s("title", {}, `${source.Name} → ${target.Name}${hs && hs.avg !== null ? ` · ${fmtDuration(hs.avg)} avg` : ""}`));
    const choose = () => select(path, { edge: { source: edge.source, target: edge.target, data } });
    hit.addEventListener("click", choose);
    path.addEventListener("click", choose);
    path.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(); } });
    edgeLayer.append(hit, path);
  }
  for (const svc of services) {
    const at = positions.get(svc.ReferenceId);
    const hs = health(svc.SummaryStatistics);
    const name = svc.Name || (svc.Names || [])[0] || "(unnamed)";
    const g = s("g", { class: "map-node", transform: `translate(${at.x},${at.y})`, tabindex: 0, role: "button", "aria-label": `${name} (${svc.Type || "service"})`, "data-name": name, "data-type": svc.Type || "" });
    g.append(s("circle", { class: "halo", r: R + 5, fill: "#fff", stroke: "none" }), ring(svc.SummaryStatistics), icon(svc.Type));
    g.append(s("text", { y: R + 18 }, truncate(name)), s("title", {}, `${name}\n${svc.Type || ""}`));
    if (hs && hs.total) {
      const perMinute = minutes ? hs.total / minutes : null;
      g.append(s("text", { class: "stat", y: R + 32 }, `${fmtDuration(hs.avg)} · ${perMinute === null ? hs.total : perMinute.toFixed(perMinute < 1 ? 2 : perMinute < 10 ? 1 : 0)}${perMinute === null ? " req" : " t/min"}`));
    }
    const choose = () => select(g, { node: svc });
    g.addEventListener("click", choose);
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(); } });
    nodeLayer.append(g);
  }
  let zoom = 1;
  const setZoom = (value) => {
    zoom = Math.min(2, Math.max(0.3, value));
    svg.setAttribute("width", String(width * zoom));
    svg.setAttribute("height", String(height * zoom));
  };
  // Fit the width, but never so small that labels cannot be read: the box scrolls instead.
  const fit = () => setZoom(Math.max(0.6, Math.min(1, (container.clientWidth - 4) / width)));
  const controls = h("div.map-zoom", {},
    h("button", { type: "button", "aria-label": "Zoom out", onclick: () => setZoom(zoom / 1.25) }, "−"),
    h("button", { type: "button", "aria-label": "Zoom in", onclick: () => setZoom(zoom * 1.25) }, "+"),
    h("button", { type: "button", onclick: fit }, "Fit"));
  container.replaceChildren(controls, svg);
  fit();
  return { svg, byId, setZoom };
}

export function legend() {
  return h("div.legend", {}, ["ok", "error", "throttle", "fault"].map((k) => h("span", {}, h("span.swatch", { style: `background:var(--${k})` }), k === "error" ? "error (4xx)" : k === "fault" ? "fault (5xx)" : k === "throttle" ? "throttle (429)" : "ok")));
}

/** The panel shown for a selected node or edge: statistics, histogram, "view traces". */
export function selectionPanel(selection, byId, { viewTraces, minutes } = {}) {
  const isEdge = Boolean(selection.edge);
  const title = isEdge ? `${byId.get(selection.edge.source).Name} → ${byId.get(selection.edge.target).Name}` : selection.node.Name;
  const data = isEdge ? selection.edge.data : selection.node;
  const hs = health(data.SummaryStatistics);
  const base = filterFor(selection, byId);
  let filter = base;
  const code = h("code.mono", { id: "generated-filter" }, filter);
  const rows = hs ? [["Requests", hs.total], ["Traces/min", minutes ? (hs.total / minutes).toFixed(2) : "–"], ["Average response", fmtDuration(hs.avg)],
    ["OK", hs.ok], ["Errors (4xx)", hs.error], ["Throttles (429)", hs.throttle], ["Faults (5xx)", hs.fault]] : [["Statistics", "none recorded (client or unknown node)"]];
  const panel = h("section.panel", { "aria-label": "Selection", id: "selection" },
    h("h2", {}, isEdge ? "Edge " : "Node ", title),
    isEdge ? null : h("p.muted", {}, selection.node.Type || "service", selection.node.State ? ` · ${selection.node.State}` : ""),
    h("dl.kv", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("h3", {}, isEdge ? "Response time (caller's view, incl. network)" : "Response time distribution"),
    histogram([{ points: data.ResponseTimeHistogram || [] }], {
      onPick: (low, high) => {
        filter = `${base} { responsetime >= ${+low.toFixed(3)} AND responsetime <= ${+high.toFixed(3)} }`;
        code.textContent = filter;
      },
    }),
    h("p.muted", {}, "Choose a bar to narrow to its response times."),
    h("p", {}, code),
    viewTraces ? h("button.primary", { onclick: () => viewTraces(filter) }, "View traces") : null);
  return panel;
}
