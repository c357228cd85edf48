// The X-Ray API, called exactly as botocore does: POST to the operation's path with a JSON body.

export const PATHS = {
  BatchGetTraces: "/Traces", GetTraceSummaries: "/TraceSummaries", GetServiceGraph: "/ServiceGraph",
  GetTraceGraph: "/TraceGraph", GetTimeSeriesServiceStatistics: "/TimeSeriesServiceStatistics",
  GetSamplingRules: "/GetSamplingRules", CreateSamplingRule: "/CreateSamplingRule",
  UpdateSamplingRule: "/UpdateSamplingRule", DeleteSamplingRule: "/DeleteSamplingRule",
  GetGroups: "/Groups", GetGroup: "/GetGroup", CreateGroup: "/CreateGroup", UpdateGroup: "/UpdateGroup",
  DeleteGroup: "/DeleteGroup",
};

export class ApiError extends Error {
  constructor(operation, code, message, status) {
    super(message);
    this.operation = operation;
    this.code = code;
    this.status = status;
  }
  /** Where a filter-expression error points, if the message says. */
  get position() {
    const match = /position (\d+)/i.exec(this.message) || /column (\d+)/i.exec(this.message);
    return match ? Number(match[1]) : null;
  }
}

async function post(operation, path, body) {
  let response;
  try {
    response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  } catch (err) {
    throw new ApiError(operation, "NetworkError", `The server did not answer: ${err.message}`, 0);
  }
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { message: text }; }
  if (!response.ok) {
    const code = String(data.__type || response.headers.get("x-amzn-ErrorType") || `HTTP ${response.status}`).split("#").pop().split(":")[0];
    throw new ApiError(operation, code, data.message || data.Message || `${operation} failed (${response.status})`, response.status);
  }
  return data;
}

export function xray(operation, body) {
  return post(operation, PATHS[operation], body);
}

/** Follow NextToken for a list operation until `limit` items of `key` or the end. */
export async function xrayAll(operation, body, key, limit = 10000) {
  const items = [];
  let token;
  let last = {};
  do {
    last = await xray(operation, token ? { ...body, NextToken: token } : body);
    items.push(...(last[key] || []));
    token = last.NextToken;
  } while (token && items.length < limit);
  return { items, last, truncated: Boolean(token) };
}

export function layout(services) {
  return post("Layout", "/console/api/layout", { Services: services });
}
