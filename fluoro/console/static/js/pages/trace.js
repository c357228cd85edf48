// Trace detail: the trace's own map, the segment timeline, and tabs for the selected row.

import { ApiError, xray } from "../api.js";
import { copyText, fmtDuration, fmtTime, h, statusOf } from "../dom.js";
import { legend, renderMap, selectionPanel } from "../mapview.js";
import { hashFor, setParams } from "../state.js";
import { buildTree, renderTimeline } from "../timeline.js";
import { errorBox } from "../widgets.js";

function kv(object) {
  const entries = Object.entries(object || {});
  if (!entries.length) return h("p.muted", {}, "none");
  return h("dl.kv", {}, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" && v !== null ? h("pre.json", {}, JSON.stringify(v, null, 2)) : String(v))]));
}

function overview(doc, kind) {
  const end = doc.end_time;
  return kv({
    Name: doc.name, Kind: kind, Id: doc.id, "Parent id": doc.parent_id, "Trace id": doc.trace_id,
    Start: fmtTime(doc.start_time), End: doc.in_progress ? "in progress" : fmtTime(end),
    Duration: doc.in_progress || !end ? "in progress" : fmtDuration(end - doc.start_time), Status: statusOf(doc),
    Origin: doc.origin, Namespace: doc.namespace, User: doc.user, Method: doc.http?.request?.method,
    URL: doc.http?.request?.url, "Response status": doc.http?.response?.status,
    Service: doc.service?.version ? `version ${doc.service.version}` : undefined,
  });
}

function exceptions(doc) {
  const cause = doc.cause;
  if (!cause) return h("p.muted", {}, "none");
  if (typeof cause === "string") return h("p", {}, `Exception ${cause} (recorded in a child subsegment)`);
  const out = [];
  if (cause.working_directory) out.push(h("p.muted", {}, `Working directory: ${cause.working_directory}`));
  for (const ex of cause.exceptions || []) {
    out.push(h("div.panel", {}, h("strong", {}, ex.type || "Exception", ex.remote ? " (remote)" : ""), ": ", h("span.exception-message", {}, ex.message ?? ""),
      ex.id ? h("div.muted.mono", {}, `id ${ex.id}`) : null,
      (ex.stack || []).length ? h("pre.json", {}, (ex.stack || []).map((f) => `  at ${f.label ?? "?"} (${f.path ?? "?"}:${f.line ?? "?"})`).join("\n")) : null,
      ex.truncated ? h("p.muted", {}, `${ex.truncated} frames truncated`) : null));
  }
  return out.length ? h("div", {}, out) : h("p.muted", {}, "none");
}

const TABS = [
  ["Overview", (doc, kind) => overview(doc, kind)],
  ["Resources", (doc) => kv({ ...(doc.aws || {}), ...(doc.resource_arn ? { resource_arn: doc.resource_arn } : {}) })],
  ["Annotations", (doc) => kv(doc.annotations)],
  ["Metadata", (doc) => (doc.metadata ? h("pre.json", {}, JSON.stringify(doc.metadata, null, 2)) : h("p.muted", {}, "none"))],
  ["Exceptions", (doc) => exceptions(doc)],
  ["SQL", (doc) => kv(doc.sql)],
  ["HTTP", (doc) => (doc.http ? h("div", {}, h("h3", {}, "Request"), kv(doc.http.request), h("h3", {}, "Response"), kv(doc.http.response)) : h("p.muted", {}, "none"))],
  ["Raw JSON", (doc) => h("pre.json", { id: "raw-json" }, JSON.stringify(doc, (k, v) => (k === "subsegments" ? `[${v.length} subsegments]` : v), 2))],
];

export function detailTabs(node, initial = "Overview") {
  const tablist = h("div", { role: "tablist", "aria-label": "Row details" });
  const panel = h("div", { role: "tabpanel", id: "detail-panel" });
  const buttons = TABS.map(([name, fn], i) => {
    const button = h("button", { type: "button", role: "tab", id: `tab-${i}`, "aria-selected": "false", tabindex: -1, "aria-controls": "detail-panel" }, name);
    button.addEventListener("click", () => show(i));
    return button;
  });
  const show = (i) => {
    buttons.forEach((b, j) => { b.setAttribute("aria-selected", String(i === j)); b.tabIndex = i === j ? 0 : -1; });
    panel.setAttribute("aria-labelledby", `tab-${i}`);
    panel.replaceChildren(TABS[i][1](node.doc, node.kind));
  };
  tablist.addEventListener("keydown", (ev) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const next = ev.key === "ArrowRight" ? (at + 1) % buttons.length : ev.key === "ArrowLeft" ? (at + buttons.length - 1) % buttons.length : null;
    if (next !== null) { show(next); buttons[next].focus(); ev.preventDefault(); }
  });
  tablist.append(...buttons);
  show(Math.max(0, TABS.findIndex(([name]) => name === initial)));
  return h("section.panel.tabs", { "aria-label": `Details of ${node.doc.name ?? ""}` }, h("h2", {}, node.doc.name ?? "", h("span.muted", {}, ` · ${node.kind}`)), tablist, panel);
}

export async function fetchTrace(id) {
  const answer = await xray("BatchGetTraces", { TraceIds: [id] });
  const trace = (answer.Traces || [])[0];
  if (!trace) throw new ApiError("BatchGetTraces", "NotFound", `Trace ${id} was not found (it may be outside retention, or not flushed yet).`, 404);
  return trace;
}

/** Render a trace object (from the API or from an opened file) into `view`. */
export function renderTraceDetail(view, trace, { selectedRow, services, source } = {}) {
  performance.mark("fluoro:timeline-start");
  const tree = buildTree(trace);
  const details = h("div", { id: "details" }, h("p.muted", {}, "Select a row of the timeline to see its details."));
  const timelineBox = h("div.timeline", { id: "timeline" });
  const copy = h("button", { type: "button", id: "copy-id" }, "Copy trace ID");
  copy.addEventListener("click", () => copyText(trace.Id).then(() => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy trace ID"; }, 1500); }));
  const critical = h("input", { type: "checkbox", id: "critical" });
  const mapBox = h("div.map-wrap", { id: "trace-map" });
  const mapSide = h("div", { id: "map-side" });
  const viewTraces = (filter) => { location.hash = hashFor("traces", "", new URLSearchParams({ range: "1d", filter })); };
  view.replaceChildren(
    h("h1", {}, "Trace ", h("span.mono", { id: "trace-id" }, trace.Id ?? "(no id)"), " ", copy),
    h("p.muted", {}, `${fmtTime(tree.start)} · duration ${fmtDuration(trace.Duration ?? tree.end - tree.start)} · ${tree.byId.size} segments and subsegments${trace.LimitExceeded ? " · limit exceeded: partial" : ""}${source ? ` · ${source}` : ""}`),
    h("h2", {}, "Trace map"), legend(), mapBox, mapSide,
    h("h2", {}, "Segments timeline"),
    h("div.toolbar", {},
      h("label", { style: "flex-direction:row;align-items:center;gap:6px" }, critical, "Highlight critical path"),
      h("button", { type: "button", onclick: () => timeline.expandAll(true) }, "Expand all"),
      h("button", { type: "button", onclick: () => timeline.expandAll(false) }, "Collapse all")),
    h("div.split", {}, timelineBox, details));
  const timeline = renderTimeline(timelineBox, tree, {
    selectedId: selectedRow,
    onSelect: (node) => {
      details.replaceChildren(detailTabs(node));
      if (!source) setParams({ row: node.doc.id }, { replace: true });
    },
  });
  void timelineBox.offsetHeight; // include layout in the measure
  performance.measure("fluoro:timeline", "fluoro:timeline-start");
  critical.addEventListener("change", () => timeline.setCritical(critical.checked));
  if (selectedRow && tree.byId.has(selectedRow)) timeline.select(selectedRow);
  // The map arrives on its own (GetTraceGraph), so a large trace's timeline is not kept waiting.
  mapBox.replaceChildren(h("p.muted", {}, services ? "Loading the trace map…" : "No map for this trace."));
  Promise.resolve(services).then((list) => {
    if (list && list.length) {
      return renderMap(mapBox, list, { onSelect: (selection, byId) => mapSide.replaceChildren(selectionPanel(selection, byId, { viewTraces: source ? null : viewTraces })) });
    }
    if (services) mapBox.replaceChildren(h("p.muted", {}, "No map for this trace."));
    return null;
  }).catch((err) => mapBox.replaceChildren(h("p.notice", {}, `Trace map unavailable: ${err.message}`)));
  return { tree, timeline };
}

export async function render(view, { arg, params }) {
  view.replaceChildren(h("p.muted", {}, `Loading trace ${arg}…`));
  const services = xray("GetTraceGraph", { TraceIds: [arg] }).then((answer) => answer.Services || []);
  services.catch(() => {}); // shown in the map box once the timeline is up
  let trace;
  try {
    trace = await fetchTrace(arg);
  } catch (err) {
    view.replaceChildren(h("h1", {}, "Trace"), errorBox(err));
    return;
  }
  renderTraceDetail(view, trace, { selectedRow: params.get("row"), services });
}
