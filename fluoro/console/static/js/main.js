// Entry point: routes the URL hash to a page, highlights navigation, opens JSON files locally.

import { h } from "./dom.js";
import { parseHash } from "./state.js";
import * as analytics from "./pages/analytics.js";
import * as compare from "./pages/compare.js";
import * as map from "./pages/map.js";
import * as settings from "./pages/settings.js";
import * as trace from "./pages/trace.js";
import * as traces from "./pages/traces.js";
import { errorBox } from "./widgets.js";

const PAGES = { map, traces, trace, analytics, settings, compare, file: { render: renderFile } };
const NAV_FOR = { trace: "traces", compare: "traces", file: "traces" };
const view = document.getElementById("view");
let opened = null; // traces from a file: shown, never stored

/** Accepts BatchGetTraces output ({Traces: [...]}), one trace, a list of traces, or bare segment documents. */
export function tracesFromJson(data) {
  if (Array.isArray(data?.Traces)) return data.Traces;
  if (Array.isArray(data) && data.length && data[0]?.Segments) return data;
  if (data?.Segments) return [data];
  const docs = Array.isArray(data) ? data : [data];
  const segments = docs.filter((d) => d && typeof d === "object" && d.id && (d.trace_id || d.Document))
    .map((d) => (d.Document ? d : { Id: d.id, Document: JSON.stringify(d) }));
  if (!segments.length) throw new Error("The file holds no traces: expected BatchGetTraces output ({\"Traces\": [...]}) or segment documents.");
  const byTrace = new Map();
  for (const seg of segments) {
    const id = JSON.parse(seg.Document).trace_id || "(unknown)";
    if (!byTrace.has(id)) byTrace.set(id, []);
    byTrace.get(id).push(seg);
  }
  return [...byTrace].map(([Id, Segments]) => ({ Id, Segments }));
}

function renderFile(view, { params }) {
  if (!opened) {
    view.replaceChildren(h("h1", {}, "Opened file"), h("p.notice", {}, "No file is open: use \"Open JSON file\" above. Files are read in the browser and never stored."));
    return;
  }
  const index = Math.min(Number(params.get("i") || 0), opened.traces.length - 1);
  const picker = opened.traces.length > 1 ? h("select", { "aria-label": "Trace in file", onchange: (ev) => { location.hash = `#/file?i=${ev.target.value}`; } },
    opened.traces.map((t, i) => h("option", { value: i, selected: i === index }, t.Id ?? `trace ${i + 1}`))) : null;
  const body = h("div");
  view.replaceChildren(picker ? h("div.toolbar", {}, h("label", {}, `${opened.traces.length} traces in ${opened.name}`, picker)) : "", body);
  trace.renderTraceDetail(body, opened.traces[index], { source: `from file ${opened.name} (not stored)` });
}

document.getElementById("open-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    opened = { name: file.name, traces: tracesFromJson(JSON.parse(await file.text())) };
    if (location.hash.startsWith("#/file")) route(); else location.hash = "#/file";
  } catch (err) {
    view.replaceChildren(h("h1", {}, "Opened file"), errorBox({ code: "Unreadable file", message: err.message }));
  } finally {
    ev.target.value = "";
  }
});

let generation = 0;
async function route() {
  const current = parseHash();
  const page = PAGES[current.page] ? current.page : "map";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === (NAV_FOR[page] || page)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const mine = ++generation;
  const target = h("div");
  view.replaceChildren(target);
  document.title = `fluoro · ${page}`;
  try {
    await PAGES[page].render(target, current);
  } catch (err) {
    if (mine === generation) target.replaceChildren(errorBox({ code: "Console error", message: String(err?.message || err) }));
    console.error(err);
  }
  if (mine === generation) view.dataset.ready = page;
}

window.addEventListener("hashchange", () => { delete view.dataset.ready; route(); });
route();
