// Comparing two traces: both timelines on their own axes, and time per name side by side.

import { h, fmtDuration } from "../dom.js";
import { buildTree, renderTimeline } from "../timeline.js";
import { errorBox } from "../widgets.js";
import { fetchTrace } from "./trace.js";
import { hashFor } from "../state.js";

function totals(tree) {
  const out = new Map();
  for (const node of tree.byId.values()) {
    const d = node.doc;
    const key = `${node.kind === "subsegment" ? "sub" : "seg"}:${d.name}`;
    const e = out.get(key) || { name: d.name, count: 0, time: 0 };
    e.count += 1;
    e.time += (d.end_time || tree.end) - (d.start_time || tree.start);
    out.set(key, e);
  }
  return out;
}

export async function render(view, { params }) {
  const ids = [params.get("a"), params.get("b")];
  view.replaceChildren(h("h1", {}, "Compare traces"), h("p.muted", {}, "Loading…"));
  let traces;
  try {
    traces = await Promise.all(ids.map(fetchTrace));
  } catch (err) {
    view.replaceChildren(h("h1", {}, "Compare traces"), errorBox(err));
    return;
  }
  const trees = traces.map(buildTree);
  const [ta, tb] = trees.map(totals);
  const names = [...new Set([...ta.keys(), ...tb.keys()])].sort();
  const rows = names.map((key) => {
    const a = ta.get(key), b = tb.get(key);
    const delta = (b?.time || 0) - (a?.time || 0);
    return h("tr", {}, h("td", {}, (a || b).name ?? ""), h("td.num", {}, a ? `${fmtDuration(a.time)} ×${a.count}` : "absent"),
      h("td.num", {}, b ? `${fmtDuration(b.time)} ×${b.count}` : "absent"),
      h("td.num", { class: `num ${delta > 0 ? "delta-up" : delta < 0 ? "delta-down" : ""}` }, `${delta > 0 ? "+" : ""}${fmtDuration(Math.abs(delta)).replace(/^/, delta < 0 ? "−" : "")}`));
  });
  const boxes = trees.map(() => h("div.timeline"));
  view.replaceChildren(h("h1", {}, "Compare traces"),
    h("section.panel", {}, h("h2", {}, "Time per name (B − A)"), h("div.table-wrap", {}, h("table", { id: "compare-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th.num", {}, "A"), h("th.num", {}, "B"), h("th.num", {}, "Δ"))), h("tbody", {}, rows)))),
    ...trees.map((tree, i) => h("section", {}, h("h2", {}, i ? "B " : "A ", h("a.mono", { href: hashFor("trace", ids[i]) }, ids[i])), boxes[i])));
  trees.forEach((tree, i) => renderTimeline(boxes[i], tree, {}));
}
