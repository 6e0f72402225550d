"use strict";
/* 业绩提成 forms: commission rules (rates as percentages, tier thresholds in yuan, a start date in the
 * brand's timezone), attribution (which clerk an order counts for, in order, with a split) and
 * manual adjustments (a clerk found by name). The API keeps basis points and yuan strings; these
 * forms convert with DaogouCore.parsePercent / parseYuan and show its reasons beside the fields. */
(function () {
  const core = window.DaogouCore;
  const forms = () => DaogouHQ.forms;

  /** Choices the forms offer (kinds, categories, products, attribution rules), asked once a page. */
  function loadChoices(ctx) {
    return ctx.api("/api/v1/commission/choices");
  }

  // --- Rules -----------------------------------------------------------------------------------

  function ruleScope(t, rule, choices) {
    if (rule.sku) return (choices.products.find((p) => p.sku === rule.sku) || { name: rule.sku }).name;
    if (rule.category) return (choices.categories.find((c) => c.key === rule.category) || { label: rule.category }).label;
    return t("hq.commission.scope.all");
  }

  function ruleDetail(ctx, rule) {
    const { t } = ctx;
    if (rule.kind === "percent") return core.percent(rule.rate_bp);
    if (rule.kind === "fixed") return t("hq.commission.per_order", { amount: ctx.yuan(rule.amount) });
    if (rule.kind === "tier") {
      return (rule.tiers || []).map((x) => ctx.el("div", {}, t("hq.commission.tier_line", { from: ctx.yuan(x.from), rate: core.percent(x.rate_bp) })));
    }
    return t("hq.commission.no_commission");
  }

  function ruleDates(ctx, rule) {
    const from = core.dateOnly(rule.effective_from);
    return rule.effective_to ? ctx.t("hq.commission.between_dates", { from, to: core.dateOnly(rule.effective_to) })
      : ctx.t("hq.commission.since_date", { from });
  }

  function tierRow(ctx, i, from, rate) {
    const { el, t } = ctx;
    const f = forms();
    const fromInput = el("input", { name: `tier_from_${i}`, inputmode: "decimal", value: from, class: "money" });
    const rateInput = el("input", { name: `tier_rate_${i}`, inputmode: "decimal", value: rate, class: "rate" });
    const row = el("div", { class: "tier-row", dataset: { field: `tiers[${i}]` } },
      f.phrase(t("hq.commission.tier_from"), fromInput, { path: `tiers[${i}].from` }),
      f.phrase(t("hq.commission.tier_rate"), rateInput, { path: `tiers[${i}].rate_bp` }),
      el("span", { class: "field-error", role: "alert", hidden: true }));
    row.read = () => ({ from: core.parseYuan(fromInput.value), rate_bp: core.parsePercent(rateInput.value),
      raw: [fromInput.value, rateInput.value] });
    return row;
  }

  function ruleInputs(ctx, choices) {
    const { el, t } = ctx;
    const products = choices.products.map((p) => ({ value: p.sku, label: p.name, detail: p.sku }));
    return {
      name: el("input", { name: "name", required: true, maxlength: 120 }),
      kind: el("select", { name: "kind" }, choices.kinds.map((k) => el("option", { value: k.key }, k.label))),
      scope: el("select", { name: "scope" }, ["all", "category", "sku"].map((s) => el("option", { value: s }, t(`hq.commission.scope.${s}`)))),
      category: el("select", { name: "category" }, choices.categories.map((c) => el("option", { value: c.key }, c.label))),
      product: forms().searchPicker(products, { name: "product", placeholder: t("hq.commission.product_search") }),
      rate: el("input", { name: "rate", inputmode: "decimal", placeholder: "3.5", class: "rate" }),
      amount: el("input", { name: "amount", inputmode: "decimal", placeholder: "5.00", class: "money" }),
      tiers: el("div", { class: "tiers" }),
      effective: el("input", { name: "effective_from", type: "date", min: core.localDate(core.now()) }),
    };
  }

  /** The body POST /api/v1/commission/rules takes, and what the browser can already tell is wrong. */
  function ruleBody(ctx, inp) {
    const { t } = ctx;
    const kind = inp.kind.value;
    const body = { name: inp.name.value.trim(), kind };
    const fields = {};
    const scoped = kind !== "tier" && inp.scope.value !== "all";
    if (scoped && inp.scope.value === "category") body.category = inp.category.value;
    if (scoped && inp.scope.value === "sku") {
      body.sku = inp.product.value;
      if (!body.sku) fields.sku = t("hq.commission.choose_product");
    }
    if (kind === "percent") {
      body.rate_bp = core.parsePercent(inp.rate.value);
      if (body.rate_bp === null || body.rate_bp > 10000) fields.rate_bp = t("commission.rule.error.rate_bp");
    }
    if (kind === "fixed") {
      body.amount = core.parseYuan(inp.amount.value);
      if (body.amount === null) fields.amount = t("commission.rule.error.amount");
    }
    if (kind === "tier") {
      body.tiers = [...inp.tiers.children].map((row, i) => {
        const tier = row.read();
        if (tier.from === null) fields[`tiers[${i}].from`] = t("commission.rule.error.tiers.from", { n: i + 1 });
        if (tier.rate_bp === null) fields[`tiers[${i}].rate_bp`] = t("commission.rule.error.tiers.rate_bp", { n: i + 1 });
        return { from: tier.from, rate_bp: tier.rate_bp };
      });
    }
    // A date picker's day starts at midnight in the brand's timezone (the server reads it so).
    if (inp.effective.value) body.effective_from = `${inp.effective.value}T00:00:00`;
    return { body, fields };
  }

  function ruleForm(ctx, choices, onSaved) {
    const { el, t } = ctx;
    const f = forms();
    const inp = ruleInputs(ctx, choices);
    const kindHint = el("small", { class: "hint" });
    const addTier = (from, rate) => inp.tiers.append(tierRow(ctx, inp.tiers.children.length, from, rate));
    addTier("0", "0");
    addTier("30000", "0.5");
    const parts = {
      scope: f.field(t("hq.commission.scope"), inp.scope),
      category: f.field(t("hq.commission.category"), inp.category, { path: "category" }),
      product: f.field(t("hq.commission.product"), inp.product.node, { path: "sku" }),
      rate: f.field(t("hq.commission.rate"), el("span", { class: "unit" }, inp.rate, "%"), { path: "rate_bp" }),
      amount: f.field(t("hq.commission.amount"), el("span", { class: "unit" }, "¥", inp.amount), { path: "amount" }),
      tiers: el("div", { class: "field tiers-field", dataset: { field: "tiers" } },
        el("span", { class: "field-label" }, t("hq.commission.tiers")), inp.tiers,
        el("button", { type: "button", class: "link", onclick: () => addTier("", "") }, t("hq.commission.add_tier")),
        el("span", { class: "field-error", role: "alert", hidden: true })),
    };
    const sync = () => {
      const kind = inp.kind.value;
      kindHint.textContent = (choices.kinds.find((k) => k.key === kind) || {}).hint || "";
      if (kind === "exclusion" && inp.scope.value === "all") inp.scope.value = "category";
      inp.scope.options[0].disabled = kind === "exclusion";
      parts.scope.hidden = kind === "tier";
      parts.category.hidden = kind === "tier" || inp.scope.value !== "category";
      parts.product.hidden = kind === "tier" || inp.scope.value !== "sku";
      parts.rate.hidden = kind !== "percent";
      parts.amount.hidden = kind !== "fixed";
      parts.tiers.hidden = kind !== "tier";
    };
    inp.kind.addEventListener("change", sync);
    inp.scope.addEventListener("change", sync);
    const general = f.summary();
    const form = el("form", { class: "panel rule-form", novalidate: true },
      el("h3", {}, t("hq.commission.new_rule")),
      el("div", { class: "form-row" },
        f.field(t("hq.commission.rule_name"), inp.name, { path: "name" }),
        f.field(t("hq.commission.kind"), inp.kind, { path: "kind", hint: kindHint }),
        parts.scope, parts.category, parts.product, parts.rate, parts.amount,
        f.field(t("hq.commission.effective_from"), inp.effective, { path: "effective_from", hint: t("hq.commission.effective_hint") })),
      parts.tiers,
      el("div", { class: "form-row" }, el("button", { type: "submit", class: "primary" }, t("commission.add_rule"))), general);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const { body, fields } = ruleBody(ctx, inp);
      try {
        if (Object.keys(fields).length) throw { error: t("commission.rule.invalid"), fields };
        await ctx.api("/api/v1/commission/rules", { method: "POST", body });
        ctx.toast(t("hq.commission.rule_saved", { name: body.name }));
        onSaved();
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    sync();
    return form;
  }

  async function rules(ctx, box) {
    const { el, t } = ctx;
    const [data, choices] = await Promise.all([ctx.api("/api/v1/commission/rules"), loadChoices(ctx)]);
    const isHq = ctx.me.role === "hq";
    const reload = () => rules(ctx, box);
    const end = async (rule) => {
      try {
        await ctx.api(`/api/v1/commission/rules/${rule.id}`, { method: "DELETE" });
        ctx.toast(t("hq.commission.rule_ended", { name: rule.name }));
        reload();
      } catch (err) {
        ctx.toast(err.error || String(err), "error");
      }
    };
    const open = (r) => !r.effective_to || new Date(r.effective_to) > ctx.now();
    box.replaceChildren(...[
      el("table", { class: "grid rules" },
        el("thead", {}, el("tr", {}, ["rule_name", "kind", "scope", "rate_or_amount", "effective", "actions"]
          .map((k) => el("th", {}, t(`hq.commission.col.${k}`))))),
        el("tbody", {}, data.rules.map((r) => el("tr", { class: open(r) ? "" : "inactive", dataset: { rule: r.id } },
          el("td", {}, r.name), el("td", {}, r.kind_label), el("td", {}, r.kind === "tier" ? t("hq.commission.scope.all") : ruleScope(t, r, choices)),
          el("td", {}, ruleDetail(ctx, r)), el("td", {}, ruleDates(ctx, r)),
          el("td", {}, isHq && open(r) ? el("button", { type: "button", class: "link", onclick: () => end(r) }, t("commission.end_rule")) : ""))))),
      // Rules are head office's: a store manager reads them.
      isHq ? ruleForm(ctx, choices, reload) : null,
    ].filter(Boolean));  // replaceChildren would write a null as the text "null"
  }

  DaogouHQ.commissionForms = Object.assign(DaogouHQ.commissionForms || {}, { rules, loadChoices });
})();
