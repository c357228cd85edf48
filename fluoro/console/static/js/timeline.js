// The segment timeline: segments and nested subsegments as bars on one time axis.

import { fmtDuration, h, statusOf } from "./dom.js";

/** Parse a BatchGetTraces trace into a tree of rows ({doc, children, depth, kind}). */
export function buildTree(trace) {
  const docs = [];
  for (const seg of trace.Segments || []) {
    let doc = seg.Document;
    if (typeof doc === "string") {
      try { doc = JSON.parse(doc); } catch { doc = { id: seg.Id, name: "(unparsable document)", start_time: 0 }; }
    }
    if (doc && typeof doc === "object") docs.push(doc);
  }
  const byId = new Map();
  const index = (node) => { byId.set(node.doc.id, node); node.children.forEach(index); };
  const wrap = (doc, kind) => ({ doc, kind, children: (doc.subsegments || []).map((sub) => wrap(sub, "subsegment")) });
  const segments = docs.map((doc) => wrap(doc, doc.inferred ? "inferred" : "segment"));
  segments.forEach(index);
  const roots = [];
  for (const node of segments) {
    const parent = node.doc.parent_id && byId.get(node.doc.parent_id);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const order = (nodes, depth) => {
    nodes.sort((a, b) => (a.doc.start_time || 0) - (b.doc.start_time || 0));
    for (const node of nodes) { node.depth = depth; order(node.children, depth + 1); }
  };
  order(roots, 0);
  let start = Infinity, end = -Infinity;
  for (const node of byId.values()) {
    if (node.doc.start_time) start = Math.min(start, node.doc.start_time);
    end = Math.max(end, node.doc.end_time || node.doc.start_time || -Infinity);
  }
  if (!Number.isFinite(start)) { start = 0; end = 1; }
  return { roots, byId, start, end: Math.max(end, start + 1e-6) };
}

/** Rows on the critical path: walking back from each row's end, the child that finished last. */
export function criticalPath(tree) {
  const onPath = new Set();
  const visit = (node) => {
    onPath.add(node.doc.id);
    let cursor = node.doc.end_time || tree.end;
    const children = node.children.slice().sort((a, b) => (b.doc.end_time || tree.end) - (a.doc.end_time || tree.end));
    for (const child of children) {
      const childEnd = child.doc.end_time || tree.end;
      if (childEnd <= cursor + 1e-9 && (child.doc.start_time || 0) < cursor) {
        visit(child);
        cursor = child.doc.start_time || cursor;
      }
    }
  };
  const last = tree.roots.slice().sort((a, b) => (b.doc.end_time || tree.end) - (a.doc.end_time || tree.end))[0];
  if (last) visit(last);
  return onPath;
}

function rowStatus(doc) {
  if (doc.in_progress) return "inprogress";
  return statusOf(doc);
}

const ROW_HEIGHT = 24;
const OVERSCAN = 30;

/**
 * Render the tree into `container`; `onSelect(node)` is called for a chosen row.
 * Only the rows in view are in the DOM (a trace may hold thousands), so scrolling
 * re-renders a window of rows over a spacer as tall as all of them.
 * Returns {select(id), setCritical(bool), expandAll(bool), critical}.
 */
export function renderTimeline(container, tree, { onSelect, selectedId } = {}) {
  const collapsed = new Set();
  const critical = criticalPath(tree);
  let showCritical = false;
  let selected = selectedId || null;
  let focusIndex = 0;
  let visible = [];
  const span = tree.end - tree.start;
  const pct = (t) => `${(((t - tree.start) / span) * 100).toFixed(3)}%`;

  const axis = h("div.tl-row.tl-axis", {}, h("div.tl-name.muted", {}, "Name"), h("div.tl-track", {},
    [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { style: `left:${f * 100}%` }, fmtDuration(f * span)))));
  const body = h("div.tl-body", { role: "tree", "aria-label": "Segments timeline" });
  container.replaceChildren(axis, body);

  const flatten = () => {
    visible = [];
    const walk = (node) => {
      visible.push(node);
      if (!collapsed.has(node.doc.id)) node.children.forEach(walk);
    };
    tree.roots.forEach(walk);
    body.style.height = `${visible.length * ROW_HEIGHT}px`;
    body.dataset.rows = String(visible.length);
    focusIndex = Math.min(focusIndex, Math.max(0, visible.length - 1));
  };

  const rowFor = (node, index) => {
    const doc = node.doc;
    const status = rowStatus(doc);
    const start = doc.start_time || tree.start;
    const end = doc.in_progress || !doc.end_time ? tree.end : doc.end_time;
    const hasChildren = node.children.length > 0;
    const isCollapsed = collapsed.has(doc.id);
    const classes = ["tl-row", node.kind === "subsegment" ? "tl-sub" : "tl-segment"];
    if (selected === doc.id) classes.push("selected");
    if (showCritical && critical.has(doc.id)) classes.push("critical");
    const barClasses = ["tl-bar", status, node.kind === "inferred" ? "inferred" : ""].join(" ");
    const label = `${doc.name ?? ""}${doc.in_progress ? " (in progress)" : ""}${node.kind === "inferred" ? " (inferred)" : ""}`;
    return h("div", {
      class: classes.join(" "), role: "treeitem", tabindex: index === focusIndex ? 0 : -1, "aria-level": node.depth + 1,
      "aria-expanded": hasChildren ? String(!isCollapsed) : undefined, "aria-selected": String(selected === doc.id),
      style: `top:${index * ROW_HEIGHT}px`, dataset: { id: doc.id || "", index: String(index), status, kind: node.kind, depth: String(node.depth) },
    },
    h("div.tl-name", { style: `padding-left:${node.depth * 14 + 4}px`, title: label },
      hasChildren ? h("button.tl-toggle", { tabindex: -1, "aria-label": isCollapsed ? "Expand" : "Collapse", dataset: { toggle: doc.id } }, isCollapsed ? "▸" : "▾") : h("span.tl-toggle", {}, ""),
      h("span.tl-text", {}, label)),
    h("div.tl-track", {},
      h("div", { class: barClasses, style: `left:${pct(start)};width:calc(${pct(end)} - ${pct(start)})`, title: `${status} · ${fmtDuration(end - start)}` }),
      h("span.tl-label", { style: `left:calc(${pct(end)} + 4px)` }, doc.in_progress ? "in progress" : fmtDuration(end - start))));
  };

  let drawn = "";
  const paint = (force = false) => {
    const top = Math.max(0, container.scrollTop - axis.offsetHeight);
    const view = container.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(visible.length, Math.ceil((top + view) / ROW_HEIGHT) + OVERSCAN);
    const key = `${first}:${last}`;
    if (!force && key === drawn) return;
    drawn = key;
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.append(rowFor(visible[i], i));
    body.replaceChildren(fragment);
  };
  const draw = () => { flatten(); paint(true); };
  container.addEventListener("scroll", () => paint(false), { passive: true });

  const focusRow = (index) => {
    focusIndex = Math.max(0, Math.min(visible.length - 1, index));
    const rowTop = focusIndex * ROW_HEIGHT + axis.offsetHeight;
    if (rowTop < container.scrollTop + axis.offsetHeight) container.scrollTop = rowTop - axis.offsetHeight;
    else if (rowTop + ROW_HEIGHT > container.scrollTop + container.clientHeight) container.scrollTop = rowTop + ROW_HEIGHT - container.clientHeight;
    paint(true);
    body.querySelector(`[data-index="${focusIndex}"]`)?.focus();
  };
  const choose = (id, focus) => {
    selected = id;
    const index = visible.findIndex((node) => node.doc.id === id);
    if (index >= 0) focusIndex = index;
    if (focus && index >= 0) focusRow(index); else paint(true);
    onSelect && onSelect(tree.byId.get(id));
  };
  body.addEventListener("click", (ev) => {
    const toggle = ev.target.closest("[data-toggle]");
    if (toggle) {
      const id = toggle.dataset.toggle;
      collapsed.has(id) ? collapsed.delete(id) : collapsed.add(id);
      draw();
      return;
    }
    const row = ev.target.closest(".tl-row");
    if (row) choose(row.dataset.id, false);
  });
  body.addEventListener("keydown", (ev) => {
    const row = ev.target.closest(".tl-row");
    if (!row) return;
    const index = Number(row.dataset.index);
    const id = row.dataset.id;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      focusRow(index + (ev.key === "ArrowDown" ? 1 : -1));
      ev.preventDefault();
    } else if (ev.key === "Home" || ev.key === "End") {
      focusRow(ev.key === "Home" ? 0 : visible.length - 1);
      ev.preventDefault();
    } else if (ev.key === "Enter" || ev.key === " ") {
      choose(id, true);
      ev.preventDefault();
    } else if ((ev.key === "ArrowLeft" && !collapsed.has(id)) || (ev.key === "ArrowRight" && collapsed.has(id))) {
      if (tree.byId.get(id).children.length) {
        ev.key === "ArrowLeft" ? collapsed.add(id) : collapsed.delete(id);
        focusIndex = index;
        draw();
        focusRow(index);
      }
    }
  });
  draw();
  return {
    select: (id) => choose(id, false),
    setCritical: (on) => { showCritical = on; paint(true); },
    expandAll: (open) => { collapsed.clear(); if (!open) for (const [id, n] of tree.byId) if (n.children.length) collapsed.add(id); draw(); },
    critical,
  };
}
