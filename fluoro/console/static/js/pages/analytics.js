// Analytics: distribution and time series for a filter, sets A and B with deltas, tables that narrow the set.

import { xrayAll } from "../api.js";
import { appendClause, h, quote } from "../dom.js";
import { setParams, timeRange } from "../state.js";
import { errorBox, groupControl, histogram, timeRangeControl, timeSeries } from "../widgets.js";
import { effectiveFilter } from "./traces.js";

const LIMIT = 5000;

const DIMENSIONS = [
  ["HTTP status", (t) => (t.Http?.HttpStatus ? [[String(t.Http.HttpStatus), `http.status = ${Number(t.Http.HttpStatus)}`]] : [])],
  ["URL", (t) => (t.Http?.HttpURL ? [[t.Http.HttpURL, `http.url = ${quote(t.Http.HttpURL)}`]] : [])],
  ["User", (t) => (t.Users || []).filter((u) => u.UserName).map((u) => [u.UserName, `user = ${quote(u.UserName)}`])],
  ["Root cause", (t) => {
    const out = [];
    for (const [kind, list] of [["fault", t.FaultRootCauses], ["error", t.ErrorRootCauses], ["responsetime", t.ResponseTimeRootCauses]]) {
      for (const cause of list || []) {
        for (const svc of cause.Services || []) {
          const path = (svc.EntityPath || []).map((e) => e.Name).join(" › ");
          out.push([`${kind}: ${svc.Name}${path ? ` (${path})` : ""}`, `rootcause.${kind}.service { name = ${quote(svc.Name)} }`]);
        }
      }
    }
    return out;
  }],
];

function counts(traces, extract) {
  const map = new Map();
  for (const t of traces) {
    const seen = new Set();
    for (const [label, clause] of extract(t)) {
      if (seen.has(label)) continue;
      seen.add(label);
      const e = map.get(label) || { clause, n: 0 };
      e.n += 1;
      map.set(label, e);
    }
  }
  return map;
}

async function fetchSet(range, group, filter) {
  const effective = await effectiveFilter(group, filter);
  const body = { StartTime: range.start, EndTime: range.end, Sampling: false };
  if (effective.text.trim()) body.FilterExpression = effective.text;
  return xrayAll("GetTraceSummaries", body, "TraceSummaries", LIMIT);
}

export async function render(view, { params }) {
  const range = timeRange(params);
  const fa = params.get("a") ?? params.get("filter") ?? "";
  const fb = params.get("b");
  const inputA = h("input", { id: "filter-a", value: fa, "aria-label": "Filter set A", placeholder: "filter expression (empty: all)" });
  const inputB = h("input", { id: "filter-b", value: fb ?? "", "aria-label": "Filter set B", placeholder: "filter expression", disabled: fb === null });
  const compare = h("input", { type: "checkbox", id: "compare-b", checked: fb !== null });
  compare.addEventListener("change", () => { inputB.disabled = !compare.checked; if (compare.checked && !inputB.value) inputB.value = inputA.value; });
  const form = h("form.toolbar", {}, timeRangeControl(params), groupControl(params),
    h("label.filter", {}, "Set A", inputA),
    h("label", { style: "flex-direction:row;align-items:center;gap:4px" }, compare, "Compare with B"),
    h("label.filter", {}, "Set B", inputB),
    h("button.primary", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setParams({ a: inputA.value.trim() || null, filter: null, b: compare.checked ? inputB.value.trim() : null });
  });
  const out = h("div", { id: "analytics" }, h("p.muted", {}, "Loading…"));
  view.replaceChildren(h("h1", {}, "Analytics"), form, out);

  const fetchOrShow = (filter, label) => fetchSet(range, params.get("group"), filter).catch((err) => {
    out.append(h("h2", {}, label), errorBox(err, filter));
    return null;
  });
  out.replaceChildren();
  const [setA, setB] = await Promise.all([fetchOrShow(fa, "Set A"), fb !== null ? fetchOrShow(fb, "Set B") : null]);
  if (!setA || (fb !== null && !setB)) return;
  const a = setA.items, b = setB ? setB.items : null;
  const series = [{ cls: "bar-a", points: a.map((t) => ({ Value: t.ResponseTime ?? t.Duration ?? 0, Count: 1 })) }];
  const lines = [{ cls: "line-a", times: a.map((t) => t.StartTime) }];
  if (b) {
    series.push({ cls: "bar-b", points: b.map((t) => ({ Value: t.ResponseTime ?? t.Duration ?? 0, Count: 1 })) });
    lines.push({ cls: "line-b", times: b.map((t) => t.StartTime) });
  }
  const pct = (n, total) => (total ? (n / total) * 100 : 0);
  const tables = DIMENSIONS.map(([name, extract]) => {
    const ca = counts(a, extract), cb = b ? counts(b, extract) : new Map();
    const labels = [...new Set([...ca.keys(), ...cb.keys()])].sort((x, y) => (ca.get(y)?.n || 0) - (ca.get(x)?.n || 0)).slice(0, 50);
    const rows = labels.map((label) => {
      const ea = ca.get(label), eb = cb.get(label);
      const clause = (ea || eb).clause;
      const pa = pct(ea?.n || 0, a.length), pb = b ? pct(eb?.n || 0, b.length) : null;
      const row = h("tr.clickable", { tabindex: 0, title: `Narrow set A: ${clause}`, dataset: { clause } },
        h("td.ellipsis", {}, label), h("td.num", {}, String(ea?.n || 0)), h("td.num", {}, `${pa.toFixed(1)}%`),
        b ? [h("td.num", {}, String(eb?.n || 0)), h("td.num", {}, `${pb.toFixed(1)}%`),
          h("td.num", { class: `num ${pb - pa > 0 ? "delta-up" : pb - pa < 0 ? "delta-down" : ""}` }, `${pb - pa > 0 ? "+" : ""}${(pb - pa).toFixed(1)} pt`)] : null);
      const narrow = () => setParams({ a: appendClause(inputA.value, clause), filter: null });
      row.addEventListener("click", narrow);
      row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") narrow(); });
      return row;
    });
    return h("section.panel", { dataset: { dimension: name } }, h("h2", {}, name),
      rows.length ? h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, name), h("th.num", {}, "A"), h("th.num", {}, "A %"),
        b ? [h("th.num", {}, "B"), h("th.num", {}, "B %"), h("th.num", {}, "Δ")] : null)), h("tbody", {}, rows))) : h("p.muted", {}, "none"));
  });
  const tile = (label, set, cls) => h("div.panel", { class: `panel tile ${cls}` }, h("strong", {}, label), ` ${set.items.length}${set.truncated ? "+" : ""} traces`);
  out.replaceChildren(
    h("div.toolbar", {}, tile("Set A", setA, "tile-a"), setB ? tile("Set B", setB, "tile-b") : null,
      setB ? h("span.muted", {}, `Δ ${setB.items.length - setA.items.length} traces`) : null),
    h("div.grid2", {},
      h("section.panel", {}, h("h2", {}, "Response time distribution"), histogram(series)),
      h("section.panel", {}, h("h2", {}, "Time series activity"), timeSeries(lines, range.start, range.end))),
    h("div.grid2", {}, tables));
}
