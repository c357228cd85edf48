// Settings: sampling rules and groups, created, edited and deleted through the X-Ray API.

import { xray, xrayAll } from "../api.js";
import { fmtTime, h } from "../dom.js";
import { errorBox, forgetGroups } from "../widgets.js";

const RULE_FIELDS = [
  ["RuleName", "text", "Name"], ["Priority", "number", "Priority"], ["ReservoirSize", "number", "Reservoir (per s)"],
  ["FixedRate", "number", "Fixed rate (0–1)"], ["ServiceName", "text", "Service name"], ["ServiceType", "text", "Service type"],
  ["Host", "text", "Host"], ["HTTPMethod", "text", "HTTP method"], ["URLPath", "text", "URL path"], ["ResourceARN", "text", "Resource ARN"],
];
const RULE_DEFAULTS = { Priority: 1000, ReservoirSize: 1, FixedRate: 0.05, ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", ResourceARN: "*" };

function ruleForm(rule, onSave, onCancel) {
  const editing = Boolean(rule);
  // X-Ray lets only the Default rule's reservoir and rate change.
  const locked = (key) => editing && (key === "RuleName" || key === "ResourceARN" ||
    (rule.RuleName === "Default" && key !== "ReservoirSize" && key !== "FixedRate"));
  const values = { ...RULE_DEFAULTS, ...(rule || {}) };
  const inputs = {};
  const fields = RULE_FIELDS.map(([key, type, label]) => {
    const input = h("input", { name: key, type, value: values[key] ?? "", step: type === "number" ? "any" : undefined, required: ["RuleName", "Priority", "ReservoirSize", "FixedRate"].includes(key), disabled: locked(key) });
    inputs[key] = input;
    return h("label", {}, label, input);
  });
  const status = h("div.wide");
  const form = h("form.editor.panel", { id: "rule-form", "aria-label": editing ? `Edit rule ${rule.RuleName}` : "New sampling rule" },
    h("h3.wide", {}, editing ? `Edit rule ${rule.RuleName}` : "New sampling rule"), fields, status,
    h("div.wide", {}, h("button.primary", { type: "submit" }, "Save"), " ", h("button", { type: "button", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = {};
    for (const [key, type] of RULE_FIELDS) {
      if (locked(key)) continue;
      out[key] = type === "number" ? Number(inputs[key].value) : inputs[key].value;
    }
    try { await onSave(out); } catch (err) { status.replaceChildren(errorBox(err)); }
  });
  return form;
}

function groupForm(group, onSave, onCancel) {
  const editing = Boolean(group);
  const name = h("input", { name: "GroupName", value: group?.GroupName ?? "", required: true, disabled: editing, maxlength: 32 });
  const expr = h("input", { name: "FilterExpression", value: group?.FilterExpression ?? "", class: "mono" });
  const insights = h("input", { type: "checkbox", name: "InsightsEnabled", checked: Boolean(group?.InsightsConfiguration?.InsightsEnabled) });
  const status = h("div.wide");
  const form = h("form.editor.panel", { id: "group-form", "aria-label": editing ? `Edit group ${group.GroupName}` : "New group" },
    h("h3.wide", {}, editing ? `Edit group ${group.GroupName}` : "New group"),
    h("label", {}, "Name", name), h("label.wide", {}, "Filter expression", expr),
    h("label", { style: "flex-direction:row;gap:6px" }, insights, "Insights enabled"), status,
    h("div.wide", {}, h("button.primary", { type: "submit" }, "Save"), " ", h("button", { type: "button", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await onSave({ GroupName: group?.GroupName ?? name.value.trim(), FilterExpression: expr.value, InsightsConfiguration: { InsightsEnabled: insights.checked, NotificationsEnabled: false } });
    } catch (err) {
      status.replaceChildren(errorBox(err, expr.value));
    }
  });
  return form;
}

export async function render(view) {
  const rulesBox = h("div", { id: "rules" });
  const groupsBox = h("div", { id: "groups" });
  const ruleEditor = h("div");
  const groupEditor = h("div");
  view.replaceChildren(h("h1", {}, "Settings"),
    h("section", {}, h("h2", {}, "Sampling rules"), h("button", { type: "button", id: "new-rule", onclick: () => editRule(null) }, "New rule"), ruleEditor, rulesBox),
    h("section", {}, h("h2", {}, "Groups"), h("button", { type: "button", id: "new-group", onclick: () => editGroup(null) }, "New group"), groupEditor, groupsBox));

  const loadRules = async () => {
    try {
      const { items } = await xrayAll("GetSamplingRules", {}, "SamplingRuleRecords");
      items.sort((x, y) => x.SamplingRule.Priority - y.SamplingRule.Priority);
      rulesBox.replaceChildren(h("div.table-wrap", {}, h("table", { id: "rules-table" },
        h("thead", {}, h("tr", {}, ["Name", "Priority", "Reservoir", "Rate", "Service", "Type", "Host", "Method", "URL path", "Modified", ""].map((c) => h("th", {}, c)))),
        h("tbody", {}, items.map(({ SamplingRule: r, ModifiedAt }) => h("tr", { dataset: { rule: r.RuleName } },
          h("td", {}, r.RuleName), h("td.num", {}, String(r.Priority)), h("td.num", {}, String(r.ReservoirSize)), h("td.num", {}, `${(r.FixedRate * 100).toFixed(1)}%`),
          h("td", {}, r.ServiceName), h("td", {}, r.ServiceType), h("td", {}, r.Host), h("td", {}, r.HTTPMethod), h("td", {}, r.URLPath),
          h("td", {}, ModifiedAt ? fmtTime(ModifiedAt) : "–"),
          h("td", {}, h("button", { type: "button", onclick: () => editRule(r) }, "Edit"), " ",
            r.RuleName === "Default" ? null : h("button.danger", { type: "button", onclick: () => deleteRule(r) }, "Delete"))))))));
    } catch (err) {
      rulesBox.replaceChildren(errorBox(err));
    }
  };
  const editRule = (rule) => {
    ruleEditor.replaceChildren(ruleForm(rule, async (values) => {
      if (rule) await xray("UpdateSamplingRule", { SamplingRuleUpdate: { RuleName: rule.RuleName, ...values } });
      else await xray("CreateSamplingRule", { SamplingRule: { ...values, Version: 1, Attributes: {} } });
      ruleEditor.replaceChildren();
      await loadRules();
    }, () => ruleEditor.replaceChildren()));
    ruleEditor.querySelector("input:not([disabled])")?.focus();
  };
  const deleteRule = async (rule) => {
    if (!confirm(`Delete sampling rule ${rule.RuleName}?`)) return;
    try { await xray("DeleteSamplingRule", { RuleName: rule.RuleName }); } catch (err) { rulesBox.prepend(errorBox(err)); return; }
    await loadRules();
  };

  const loadGroupsTable = async () => {
    try {
      const { items } = await xrayAll("GetGroups", {}, "Groups");
      groupsBox.replaceChildren(h("div.table-wrap", {}, h("table", { id: "groups-table" },
        h("thead", {}, h("tr", {}, ["Name", "Filter expression", "Insights", ""].map((c) => h("th", {}, c)))),
        h("tbody", {}, items.map((g) => h("tr", { dataset: { group: g.GroupName } },
          h("td", {}, g.GroupName), h("td.mono", {}, g.FilterExpression ?? ""), h("td", {}, g.InsightsConfiguration?.InsightsEnabled ? "on" : "off"),
          h("td", {}, g.GroupName === "Default" ? null : [h("button", { type: "button", onclick: () => editGroup(g) }, "Edit"), " ",
            h("button.danger", { type: "button", onclick: () => deleteGroup(g) }, "Delete")])))))));
    } catch (err) {
      groupsBox.replaceChildren(errorBox(err));
    }
  };
  const editGroup = (group) => {
    groupEditor.replaceChildren(groupForm(group, async (values) => {
      await xray(group ? "UpdateGroup" : "CreateGroup", values);
      forgetGroups();
      groupEditor.replaceChildren();
      await loadGroupsTable();
    }, () => groupEditor.replaceChildren()));
    groupEditor.querySelector("input:not([disabled])")?.focus();
  };
  const deleteGroup = async (group) => {
    if (!confirm(`Delete group ${group.GroupName}?`)) return;
    try { await xray("DeleteGroup", { GroupName: group.GroupName }); } catch (err) { groupsBox.prepend(errorBox(err)); return; }
    forgetGroups();
    await loadGroupsTable();
  };
  await Promise.all([loadRules(), loadGroupsTable()]);
}
