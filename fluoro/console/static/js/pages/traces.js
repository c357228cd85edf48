// Traces page: query by time range, group and filter expression; sortable results, histogram, refiners, paging, live view.

import { xray } from "../api.js";
import { appendClause, fmtDuration, fmtTime, h, quote, statusOf } from "../dom.js";
import { hashFor, setParams, timeRange } from "../state.js";
import { errorBox, groupControl, histogram, loadGroups, timeRangeControl } from "../widgets.js";

const COLUMNS = [
  { key: "id", label: "ID", get: (t) => t.Id },
  { key: "start", label: "Start", get: (t) => t.StartTime ?? 0, num: true, show: (t) => fmtTime(t.StartTime) },
  { key: "method", label: "Method", get: (t) => t.Http?.HttpMethod ?? "" },
  { key: "url", label: "URL", get: (t) => t.Http?.HttpURL ?? "" },
  { key: "status", label: "Status", get: (t) => t.Http?.HttpStatus ?? 0, num: true, show: (t) => t.Http?.HttpStatus ?? "–" },
  { key: "response", label: "Response time", get: (t) => t.ResponseTime ?? 0, num: true, show: (t) => fmtDuration(t.ResponseTime) },
  { key: "duration", label: "Duration", get: (t) => t.Duration ?? 0, num: true, show: (t) => fmtDuration(t.Duration) },
  { key: "annotations", label: "Annotations", get: (t) => Object.keys(t.Annotations || {}).join(",") },
];

/** A trace id typed in the filter box, X-Ray (1-8hex-24hex) or W3C (32 hex) form, as X-Ray's id. */
export function traceIdIn(text) {
  const value = text.trim().toLowerCase();
  if (/^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(value)) return value;
  if (/^[0-9a-f]{32}$/.test(value)) return `1-${value.slice(0, 8)}-${value.slice(8)}`;
  return null;
}

/** The group's own expression combined with the user's; `offset` maps error positions back. */
export async function effectiveFilter(groupName, filter) {
  if (!groupName) return { text: filter, offset: 0 };
  const group = (await loadGroups()).find((g) => g.GroupName === groupName);
  const groupExpr = group?.FilterExpression?.trim();
  if (!groupExpr) return { text: filter, offset: 0 };
  if (!filter.trim()) return { text: groupExpr, offset: null };
  const prefix = `(${groupExpr}) AND (`;
  return { text: `${prefix}${filter})`, offset: prefix.length };
}

const ROW_HEIGHT = 30;
const OVERSCAN = 20;

export function traceRows(rows, { compare, picked, fresh } = {}) {
  const fragment = document.createDocumentFragment();
  for (const t of rows) {
    const status = statusOf(t);
    const link = h("a.mono", { href: hashFor("trace", t.Id) }, t.Id);
    const cells = COLUMNS.map((c) => {
      if (c.key === "id") return h("td", {}, compare ? h("input", { type: "checkbox", "aria-label": `Select ${t.Id} to compare`, checked: Boolean(picked?.has(t.Id)), dataset: { compare: t.Id } }) : null, " ", link);
      if (c.key === "annotations") {
        return h("td", {}, Object.entries(t.Annotations || {}).map(([k, vs]) => h("span.chip", {}, `${k}=${(vs || []).map((v) => Object.values(v.AnnotationValue || {})[0]).join("|")}`)));
      }
      if (c.key === "url") return h("td.ellipsis", { title: c.get(t) }, c.get(t));
      return h(c.num ? "td.num" : "td", { class: c.key === "status" ? `num st-${status}` : undefined }, c.show ? c.show(t) : c.get(t));
    });
    fragment.append(h("tr", { class: fresh?.has(t.Id) ? "live-new" : undefined, dataset: { traceId: t.Id, status } }, cells));
  }
  return fragment;
}

function refinerValues(traces) {
  const groups = { Node: new Map(), URL: new Map(), "HTTP status": new Map(), User: new Map(), Annotation: new Map() };
  const bump = (map, label, clause) => { const e = map.get(label) || { clause, count: 0 }; e.count += 1; map.set(label, e); };
  for (const t of traces) {
    for (const svc of t.ServiceIds || []) if (svc.Name) bump(groups.Node, svc.Name, `service(${quote(svc.Name)})`);
    if (t.Http?.HttpURL) bump(groups.URL, t.Http.HttpURL, `http.url = ${quote(t.Http.HttpURL)}`);
    if (t.Http?.HttpStatus) bump(groups["HTTP status"], String(t.Http.HttpStatus), `http.status = ${Number(t.Http.HttpStatus)}`);
    for (const u of t.Users || []) if (u.UserName) bump(groups.User, u.UserName, `user = ${quote(u.UserName)}`);
    for (const [key, values] of Object.entries(t.Annotations || {})) {
      for (const v of values || []) {
        const [type, value] = Object.entries(v.AnnotationValue || {})[0] || [];
        if (type === undefined) continue;
        const literal = type === "StringValue" ? quote(value) : String(value);
        bump(groups.Annotation, `${key} = ${value}`, `annotation.${key} = ${literal}`);
      }
    }
  }
  return groups;
}

export async function render(view, { params }) {
  const range = timeRange(params);
  const filter = params.get("filter") || "";
  const input = h("input", { id: "filter", type: "search", value: filter, placeholder: 'e.g. http.status = 500 AND service("api")', "aria-label": "Filter expression", spellcheck: false });
  const form = h("form.toolbar", { role: "search" },
    timeRangeControl(params), groupControl(params),
    h("label.filter", {}, "Filter expression", input),
    h("button.primary", { type: "submit" }, "Run query"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const typed = traceIdIn(input.value);
    if (typed) { location.hash = hashFor("trace", typed); return; }
    setParams({ filter: input.value.trim() || null, start: params.get("start"), end: params.get("end") });
  });
  const status = h("div", { id: "query-status", "aria-live": "polite" });
  const chart = h("div", { id: "histogram" });
  const refiners = h("div.refiners", { id: "refiners" });
  const live = h("input", { type: "checkbox", id: "live", checked: params.get("live") === "1" });
  const compareBtn = h("button", { type: "button", disabled: true }, "Compare selected");
  let sortKey = "start", sortDir = -1;
  const header = h("tr", {}, COLUMNS.map((c) => h(c.num ? "th.num" : "th", { "aria-sort": c.key === sortKey ? "descending" : "none", dataset: { key: c.key } }, h("button", { type: "button" }, c.label))));
  const tbody = h("tbody", { id: "trace-rows" });
  const scroller = h("div.table-wrap.trace-scroll", {}, h("table", { id: "trace-table" }, h("thead", {}, header), tbody));
  const picked = new Set();
  const fresh = new Set();
  let sorted = [];
  let drawn = "";
  // Only the rows in view are in the DOM: spacer rows stand in for the others.
  const paint = (force) => {
    const headerHeight = header.offsetHeight || ROW_HEIGHT;
    const top = Math.max(0, scroller.scrollTop - headerHeight);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(sorted.length, Math.ceil((top + (scroller.clientHeight || 800)) / ROW_HEIGHT) + OVERSCAN);
    if (!force && drawn === `${first}:${last}`) return;
    drawn = `${first}:${last}`;
    const spacer = (n) => (n > 0 ? h("tr.spacer", { "aria-hidden": "true", style: `height:${n * ROW_HEIGHT}px` }) : null);
    tbody.replaceChildren(...[spacer(first), traceRows(sorted.slice(first, last), { compare: true, picked, fresh }), spacer(sorted.length - last)].filter(Boolean));
  };
  scroller.addEventListener("scroll", () => paint(false), { passive: true });
  const more = h("button", { type: "button", hidden: true, id: "load-more" }, "Load more");
  view.replaceChildren(
    h("h1", {}, "Traces"), form, status,
    h("div.grid2", {}, h("section.panel", {}, h("h2", {}, "Response time of the results"), chart),
      h("section.panel", {}, h("h2", {}, "Refine query by"), refiners)),
    h("div.toolbar", {}, h("label", { style: "flex-direction:row;align-items:center;gap:6px" }, live, "Live: show new traces as they arrive"), compareBtn),
    scroller,
    more);

  let traces = [];
  let nextToken = null;
  const seen = new Set();
  const effective = await effectiveFilter(params.get("group"), filter);

  const draw = () => {
    performance.mark("fluoro:rows-start");
    const column = COLUMNS.find((c) => c.key === sortKey);
    sorted = traces.slice().sort((a, b) => {
      const x = column.get(a), y = column.get(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    paint(true);
    chart.replaceChildren(histogram([{ points: traces.map((t) => ({ Value: t.ResponseTime ?? t.Duration ?? 0, Count: 1 })) }]));
    const groups = refinerValues(traces);
    refiners.replaceChildren(...Object.entries(groups).map(([name, values]) => h("div", {}, h("h3", {}, name),
      values.size ? h("ul", {}, [...values].sort((a, b) => b[1].count - a[1].count).slice(0, 30).map(([label, e]) =>
        h("li", {}, h("button", { type: "button", title: `Add ${e.clause}`, onclick: () => setParams({ filter: appendClause(input.value, e.clause) }) }, `${label} (${e.count})`)))) : h("p.muted", {}, "none"))));
    void tbody.offsetHeight; // include layout in the measure
    performance.measure("fluoro:rows", "fluoro:rows-start");
  };
  header.addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (!th) return;
    if (sortKey === th.dataset.key) sortDir = -sortDir; else { sortKey = th.dataset.key; sortDir = 1; }
    for (const cell of header.children) cell.setAttribute("aria-sort", cell.dataset.key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none");
    draw();
  });
  tbody.addEventListener("change", (ev) => {
    const box = ev.target.closest("[data-compare]");
    if (!box) return;
    if (box.checked) picked.add(box.dataset.compare); else picked.delete(box.dataset.compare);
    const ids = [...picked];
    compareBtn.disabled = ids.length !== 2;
    compareBtn.onclick = () => { location.hash = hashFor("compare", "", new URLSearchParams({ a: ids[0], b: ids[1] })); };
  });

  const query = async (start, end, token) => {
    const body = { StartTime: start, EndTime: end, Sampling: false };
    if (effective.text.trim()) body.FilterExpression = effective.text;
    if (token) body.NextToken = token;
    return xray("GetTraceSummaries", body);
  };
  const load = async (token) => {
    status.replaceChildren(h("p.muted", {}, "Querying…"));
    try {
      const answer = await query(range.start, range.end, token);
      for (const t of answer.TraceSummaries || []) if (!seen.has(t.Id)) { seen.add(t.Id); traces.push(t); }
      nextToken = answer.NextToken || null;
      more.hidden = !nextToken;
      status.replaceChildren(h("p.muted", { id: "result-count" }, `${traces.length} traces${nextToken ? " so far (more available)" : ""} · ${answer.TracesProcessedCount ?? traces.length} scanned`));
      draw();
    } catch (err) {
      let shown = err;
      if (effective.offset && err.position !== null) {
        const pos = err.position - effective.offset;
        shown = Object.assign(Object.create(Object.getPrototypeOf(err)), err, { message: err.message.replace(/position \d+/i, `position ${pos}`) });
      }
      status.replaceChildren(errorBox(shown, effective.offset === 0 || effective.offset ? filter : undefined));
      input.setAttribute("aria-invalid", "true");
    }
  };
  more.addEventListener("click", () => load(nextToken));
  await load(null);

  let timer = null;
  let lastPoll = Date.now() / 1000;
  const poll = async () => {
    const now = Date.now() / 1000;
    try {
      let token = null;
      const arrived = [];
      do {
        const answer = await query(lastPoll - 10, now, token);
        for (const t of answer.TraceSummaries || []) if (!seen.has(t.Id)) { seen.add(t.Id); arrived.push(t); }
        token = answer.NextToken;
      } while (token);
      lastPoll = now;
      if (arrived.length) {
        for (const t of arrived) fresh.add(t.Id);
        traces = arrived.concat(traces);
        draw();
      }
    } catch { /* the next poll retries */ }
  };
  const setLive = (on) => {
    clearInterval(timer);
    timer = on ? setInterval(() => { if (!document.body.contains(live)) clearInterval(timer); else poll(); }, 3000) : null;
  };
  live.addEventListener("change", () => { setParams({ live: live.checked ? "1" : null }, { replace: true }); setLive(live.checked); });
  setLive(live.checked);
}
