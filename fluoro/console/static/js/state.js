// The URL carries the state (page, time range, filter, selection) so any view can be shared.

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const [page = "map", ...rest] = path.split("/");
  return { page: page || "map", arg: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(query) };
}

export function hashFor(page, arg, params) {
  const query = params && [...params].length ? `?${params}` : "";
  return `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ""}${query}`;
}

/** Change some parameters of the current view; `replace` keeps history clean for small edits. */
export function setParams(updates, { replace = false } = {}) {
  const { page, arg, params } = parseHash();
  for (const [key, value] of Object.entries(updates)) {
    if (value === undefined || value === null || value === "") params.delete(key);
    else params.set(key, String(value));
  }
  const target = hashFor(page, arg, params);
  if (replace) history.replaceState(null, "", target);
  else if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange")); // run again
  else location.hash = target;
}

export const RANGES = { "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "7d": 604800 };

/** {start, end, label} in epoch seconds from `range` (relative) or `start`/`end` (absolute). */
export function timeRange(params) {
  const start = Number(params.get("start"));
  const end = Number(params.get("end"));
  if (start && end && end > start) return { start, end, relative: null };
  const range = RANGES[params.get("range")] ? params.get("range") : "1h";
  const now = Date.now() / 1000;
  return { start: now - RANGES[range], end: now, relative: range };
}
