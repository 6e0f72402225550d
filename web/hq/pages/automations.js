"use strict";
/* 自动化 Routine automations: each rule on or off, its timing in words with units ("下单后 30 分钟仍未
 * 付款", "订单金额 ≥ ¥100") and its copy; each fires once per event. */
DaogouHQ.registerPage("automations", {
  async render(root, ctx) {
    const { el, t } = ctx;
    const f = DaogouHQ.forms;
    const [data, kinds] = await Promise.all([ctx.api("/api/v1/automations"), ctx.channelKinds().catch(() => [])]);
    const editable = ctx.me.role === "hq";

    function ruleCard(rule) {
      const enabled = el("input", { type: "checkbox", name: "enabled", checked: rule.enabled, disabled: !editable });
      const params = Object.entries(rule.params).map(([k, v]) => [k, el("input", {
        type: "number", min: 0, step: 1, name: k, class: "count", value: v, disabled: !editable })]);
      const template = el("textarea", { name: "template", rows: 2, disabled: !editable });
      template.value = rule.template;
      const general = f.summary();
      const path = (name) => `${rule.key}.${name}`;
      const save = el("button", { type: "submit", class: "primary", hidden: !editable }, t("hq.automations.save"));
      const card = el("form", { class: "panel automation", dataset: { rule: rule.key }, novalidate: true },
        el("h3", {}, `${rule.label} `, el("span", { class: "pill" }, t(`hq.automations.purpose.${rule.purpose}`)),
          " ", el("small", { class: "muted" }, t("hq.automations.runs", { sent: rule.sent, deferred: rule.deferred, skipped: rule.skipped }))),
        el("div", { class: "form-row" },
          el("label", { class: "field switch", dataset: { field: path("enabled") } }, enabled, el("span", {}, t("hq.automations.enabled")),
            el("span", { class: "field-error", role: "alert", hidden: true })),
          ...params.map(([k, input]) => f.phrase(t(`hq.automations.param.${rule.key}.${k}`), input, { path: path(`params.${k}`) }))),
        rule.channels && rule.channels.length
          ? el("p", { class: "muted" }, t("hq.automations.channels", { channels: rule.channels.map((c) => ctx.channelLabel(kinds, c)).join("、") }))
          : null,
        f.field(t("hq.automations.template"), template, { path: path("template"), className: "full" }),
        rule.variables ? el("p", { class: "muted" }, f.templateVars(rule.variables)) : null,
        el("div", { class: "form-row" }, save), general);
      card.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        f.clearErrors(card);
        general.hidden = true;
        try {
          await ctx.api("/api/v1/automations", { method: "PUT", body: { [rule.key]: {
            enabled: enabled.checked, template: template.value,
            params: Object.fromEntries(params.map(([k, input]) => [k, input.value === "" ? null : Number(input.value)])) } } });
          ctx.toast(t("hq.automations.saved"));
        } catch (err) {
          f.showErrors(card, general, err);
        }
      });
      return card;
    }

    root.append(el("p", { class: "muted" }, t("hq.automations.intro")), ...data.rules.map(ruleCard));
  },
});
