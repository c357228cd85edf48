// Trace map page: the service graph for a time range and group.

import { xray } from "../api.js";
import { h } from "../dom.js";
import { legend, renderMap, selectionPanel } from "../mapview.js";
import { hashFor, timeRange } from "../state.js";
import { errorBox, groupControl, timeRangeControl } from "../widgets.js";

export async function render(view, { params }) {
  const range = timeRange(params);
  const minutes = (range.end - range.start) / 60;
  const mapBox = h("div.map-wrap", { id: "map" }, h("p.muted", {}, "Loading the service graph…"));
  const side = h("div", { id: "map-side" }, h("p.muted", {}, "Select a node or an edge to see its statistics."));
  view.replaceChildren(
    h("h1", {}, "Trace map"),
    h("div.toolbar", {}, timeRangeControl(params), groupControl(params)),
    legend(),
    mapBox, side);
  const body = { StartTime: range.start, EndTime: range.end };
  if (params.get("group")) body.GroupName = params.get("group");
  let services;
  try {
    const answer = await xray("GetServiceGraph", body);
    services = answer.Services || [];
  } catch (err) {
    mapBox.replaceChildren(errorBox(err));
    return;
  }
  if (!services.length) {
    mapBox.replaceChildren(h("p.notice", {}, "No services reported traces in this time range."));
    return;
  }
  const viewTraces = (filter) => {
    const next = new URLSearchParams();
    for (const key of ["range", "start", "end", "group"]) if (params.get(key)) next.set(key, params.get(key));
    next.set("filter", filter);
    location.hash = hashFor("traces", "", next);
  };
  try {
    await renderMap(mapBox, services, {
      minutes,
      onSelect: (selection, byId) => side.replaceChildren(selectionPanel(selection, byId, { viewTraces, minutes })),
    });
  } catch (err) {
    mapBox.replaceChildren(errorBox(err));
  }
}
