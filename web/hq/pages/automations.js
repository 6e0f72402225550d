"use strict";
/* 自动化 Routine automations: each rule on or off, its timing and its copy; each fires once per event. */
DaogouHQ.registerPage("automations", {
  title: { "zh-CN": "自动化", en: "Automations" },
  order: 35,
  async render(root, ctx) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/automations");
    const editable = ctx.me.role === "hq";
    root.append(...data.rules.map((rule) => {
      const enabled = el("input", { type: "checkbox", checked: rule.enabled, disabled: !editable });
      const params = Object.entries(rule.params).map(([k, v]) => [k, el("input", { type: "number", min: 0, value: v, disabled: !editable })]);
      const template = el("input", { value: rule.template, style: { minWidth: "480px" }, disabled: !editable });
      const error = el("p", { class: "field-error", hidden: true });
      const save = el("button", { type: "button", class: "primary", hidden: !editable }, t("hq.automations.save"));
      save.addEventListener("click", async () => {
        error.hidden = true;
        try {
          await ctx.api("/api/v1/automations", { method: "PUT", body: { [rule.key]: {
            enabled: enabled.checked, template: template.value,
            params: Object.fromEntries(params.map(([k, input]) => [k, Number(input.value)])) } } });
          ctx.toast(t("hq.automations.saved"));
        } catch (err) {
          error.textContent = Object.entries(err.fields || {}).map(([k, v]) => `${k} ${v}`).join("；") || err.error;
          error.hidden = false;
        }
      });
      return el("div", { class: "panel", "data-rule": rule.key },
        el("h3", {}, `${rule.label} `, el("span", { class: "pill" }, t(`hq.automations.purpose.${rule.purpose}`)),
          " ", el("small", { class: "muted" }, t("hq.automations.runs", { sent: rule.sent, deferred: rule.deferred, skipped: rule.skipped }))),
        el("div", { class: "form-row" },
          el("label", {}, t("hq.automations.enabled"), enabled),
          ...params.map(([k, input]) => el("label", {}, k, input)),
          el("label", {}, t("hq.automations.template"), template), save),
        error);
    }));
  },
});
