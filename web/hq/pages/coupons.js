"use strict";
/* 优惠券 Coupons: create a template (满减 / 折扣 / 无门槛, amounts in yuan, dates in the brand's
 * timezone, scope by category or product), issue it to a segment, and read each template's
 * issued / redeemed / expired counts, budget used and redemption rate; clerks' monthly gift
 * budget; addresses flagged for redeeming many customers' coupons. */
DaogouHQ.registerPage("coupons", {
  async render(root, ctx) {
    const { el, t } = ctx;
    const forms = DaogouHQ.forms;
    const [list, choices, segments, budgets, flags] = await Promise.all([
      ctx.api("/api/v1/coupon-templates"), ctx.api("/api/v1/coupon-form"),
      ctx.api("/api/v1/segments").catch(() => ({ segments: [] })),
      ctx.api("/api/v1/coupon-gift-budgets"), ctx.api("/api/v1/coupons/flags"),
    ]);
    root.append(templateForm(), templatesTable(), giftBudget(), flagList());

    function templateForm() {
      const general = forms.summary();
      const input = (attrs) => el("input", { ...attrs });
      const kind = el("select", { name: "kind" }, choices.kinds.map((k) => el("option", { value: k.key }, k.label)));
      const name = input({ name: "name", maxlength: 60, required: true, placeholder: t("coupons.form.name_hint") });
      const value = input({ name: "value", inputmode: "decimal", placeholder: "20.00" });
      const valueField = forms.field(t("coupons.form.value"), value, { path: "value" });
      const cap = input({ name: "cap", inputmode: "decimal", placeholder: "50.00" });
      const capField = forms.field(t("coupons.form.cap"), cap, { path: "cap" });
      const threshold = input({ name: "threshold", inputmode: "decimal", placeholder: "200.00" });
      const thresholdField = forms.field(t("coupons.form.threshold"), threshold, { path: "threshold" });
      const validity = el("select", { name: "validity" },
        el("option", { value: "days" }, t("coupons.form.by_days")), el("option", { value: "dates" }, t("coupons.form.by_dates")));
      const days = input({ name: "valid_days", type: "number", min: 1, max: 3650, value: 14 });
      const daysField = forms.field(t("coupons.form.valid_days"), days, { path: "valid_days" });
      const now = ctx.now();
      const from = input({ name: "valid_from", type: "datetime-local", value: ctx.localInput(now) });
      const to = input({ name: "valid_to", type: "datetime-local", value: ctx.localInput(new Date(now.getTime() + 14 * 864e5)) });
      const dateFields = el("div", { class: "form-row" }, forms.field(t("coupons.form.valid_from"), from, { path: "valid_from" }),
        forms.field(t("coupons.form.valid_to"), to, { path: "valid_to" }));
      const limit = input({ name: "per_customer_limit", type: "number", min: 1, max: 100, value: 1 });
      const budgetCount = input({ name: "budget_count", type: "number", min: 1, placeholder: t("coupons.form.unlimited") });
      const budgetAmount = input({ name: "budget_amount", inputmode: "decimal", placeholder: t("coupons.form.unlimited") });
      const refund = input({ name: "refund_returns_coupon", type: "checkbox" });
      const categories = chips(choices.categories.map((c) => ({ value: c.key, label: c.label })), "categories");
      const products = chips(choices.products.map((p) => ({ value: p.sku, label: p.name, detail: p.sku })), "skus");
      const sync = () => {
        const percent = kind.value === "percent_off";
        valueField.querySelector(".field-label").textContent = t(percent ? "coupons.form.percent" : "coupons.form.value");
        value.placeholder = percent ? "20" : "20.00";
        capField.hidden = !percent;
        thresholdField.hidden = kind.value === "no_threshold";
        daysField.hidden = validity.value !== "days";
        dateFields.hidden = validity.value === "days";
      };
      kind.addEventListener("change", sync);
      validity.addEventListener("change", sync);
      const form = el("form", { class: "panel coupon-form", novalidate: true, onsubmit: submit },
        el("h3", {}, t("coupons.form.title")),
        el("div", { class: "form-row" }, forms.field(t("coupons.form.name"), name, { path: "name" }),
          forms.field(t("coupons.form.kind"), kind, { path: "kind" })),
        el("div", { class: "form-row" }, valueField, capField, thresholdField),
        el("div", { class: "form-row" }, forms.field(t("coupons.form.validity"), validity), daysField), dateFields,
        el("div", { class: "form-row" }, forms.field(t("coupons.form.per_customer"), limit, { path: "per_customer_limit" }),
          forms.field(t("coupons.form.budget_count"), budgetCount, { path: "budget_count" }),
          forms.field(t("coupons.form.budget_amount"), budgetAmount, { path: "budget_amount", hint: t("coupons.form.budget_hint") })),
        forms.field(t("coupons.form.categories"), categories.node, { path: "scope.categories", hint: t("coupons.form.scope_hint") }),
        forms.field(t("coupons.form.products"), products.node, { path: "scope.skus" }),
        el("label", { class: "check" }, refund, t("coupons.form.refund_returns")),
        general, el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary" }, t("coupons.form.create"))));
      sync();
      return form;

      async function submit(ev) {
        ev.preventDefault();
        const body = { name: name.value.trim(), kind: kind.value, per_customer_limit: Number(limit.value || 1),
          value: value.value.trim(),
          refund_returns_coupon: refund.checked, scope: { categories: categories.values(), skus: products.values() } };
        if (kind.value === "percent_off") body.cap = cap.value.trim();
        if (kind.value !== "no_threshold" && threshold.value.trim()) body.threshold = threshold.value.trim();
        if (validity.value === "days") body.valid_days = Number(days.value);
        else Object.assign(body, { valid_from: from.value || null, valid_to: to.value || null });
        if (budgetCount.value) body.budget_count = Number(budgetCount.value);
        if (budgetAmount.value.trim()) body.budget_amount = budgetAmount.value.trim();
        try {
          const made = await ctx.api("/api/v1/coupon-templates", { method: "POST", body });
          ctx.toast(t("coupons.form.created", { title: made.title }));
          ctx.navigate("coupons");
        } catch (err) { forms.showErrors(form, general, err); }
      }
    }

    /** Chosen items as removable chips, added through a search picker (categories, products by name). */
    function chips(items, name) {
      const chosen = new Map();
      const picker = forms.searchPicker(items, { name, placeholder: t("coupons.form.pick") });
      const list = el("span", { class: "chips" });
      const draw = () => list.replaceChildren(...[...chosen].map(([v, label]) => el("span", { class: "chip" }, label,
        el("button", { type: "button", class: "link", "aria-label": t("coupons.form.remove"), onclick: () => { chosen.delete(v); draw(); } }, "×"))));
      picker.input.addEventListener("picked", () => { chosen.set(picker.value, picker.label); picker.reset(); draw(); });
      return { node: el("div", { class: "chip-picker" }, list, picker.node), values: () => [...chosen.keys()] };
    }

    function templatesTable() {
      if (!list.templates.length) return el("p", { class: "muted" }, t("coupons.none"));
      const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
      const valid = (c) => (c.valid_days ? t("coupons.valid_days", { n: c.valid_days })
        : `${c.valid_from ? ctx.dateTime(c.valid_from) : ""} ~ ${ctx.dateTime(c.valid_to)}`);
      const budget = (c) => [c.budget_count ? `${c.budget_used.count}/${c.budget_count}` : null,
        c.budget_amount ? `${ctx.yuan(c.budget_used.amount)}/${ctx.yuan(c.budget_amount)}` : null].filter(Boolean).join(" · ") || t("coupons.form.unlimited");
      return el("table", { class: "grid coupon-templates" },
        el("thead", {}, el("tr", {}, ["name", "valid", "issued", "redeemed", "expired", "rate", "budget", "cost", "issue"]
          .map((k) => el("th", {}, t(`coupons.col.${k}`))))),
        el("tbody", {}, list.templates.map((c) => el("tr", { dataset: { template: c.id } },
          el("td", {}, el("strong", {}, c.title), " ", el("span", { class: "muted" }, `${c.name} · ${c.scope_label}`),
            c.active ? null : el("span", { class: "pill" }, t("coupons.inactive"))),
          el("td", {}, valid(c)), el("td", {}, String(c.issued)), el("td", {}, String(c.redeemed)), el("td", {}, String(c.expired)),
          el("td", {}, pct(c.redemption_rate)), el("td", {}, budget(c)), el("td", {}, ctx.yuan(c.cost)),
          el("td", {}, c.active ? issueToSegment(c) : null)))));
    }

    function issueToSegment(c) {
      const select = el("select", { "aria-label": t("coupons.issue.segment") },
        el("option", { value: "" }, t("coupons.issue.choose")),
        (segments.segments || []).map((s) => el("option", { value: s.id }, s.name)));
      const out = el("span", { class: "muted", role: "status" });
      const button = el("button", { type: "button", class: "link", onclick: async () => {
        if (!select.value) { out.textContent = t("coupons.issue.choose"); return; }
        try {
          const r = await ctx.api("/api/v1/coupons", { method: "POST",
            body: { template_id: c.id, segment_id: Number(select.value), source: { kind: "api", id: `segment:${select.value}` } } });
          out.textContent = t("coupons.issue.done", { issued: r.issued.length, refused: r.refused.length });
          ctx.toast(out.textContent);
        } catch (err) { out.textContent = (err.fields && Object.values(err.fields)[0]) || err.error; }
      } }, t("coupons.issue.button"));
      return el("span", { class: "issue" }, select, button, out);
    }

    function giftBudget() {
      const general = forms.summary();
      const count = el("input", { type: "number", min: 0, max: 1000, value: budgets.default, name: "default", class: "count" });
      const form = el("form", { class: "panel gift-budget", onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await ctx.api("/api/v1/coupon-gift-budgets", { method: "PUT", body: { default: Number(count.value) } });
          ctx.toast(t("coupons.gifts.saved"));
        } catch (err) { forms.showErrors(form, general, err); }
      } }, el("h3", {}, t("coupons.gifts.title")),
      forms.phrase(t("coupons.gifts.phrase"), count, { path: "default" }), general,
      el("button", { type: "submit" }, t("coupons.gifts.save")));
      return form;
    }

    function flagList() {
      return el("div", { class: "panel coupon-flags" }, el("h3", {}, t("coupons.flags.title")),
        flags.flags.length ? el("ul", {}, flags.flags.map((f) => el("li", {},
          el("strong", {}, f.address), " ", t("coupons.flags.line", { customers: f.customers, redemptions: f.redemptions,
            amount: ctx.yuan(f.discount) }), el("div", { class: "muted" }, f.customer_names.join("、")))))
          : el("p", { class: "muted" }, t("coupons.flags.none", { days: flags.days })));
    }
  },
});
