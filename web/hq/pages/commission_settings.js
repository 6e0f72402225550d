"use strict";
/* 业绩提成 settings: which clerk an order counts for (the attribution rules in order, the last-touch
 * window and the split as a percentage), manual adjustments to a clerk found by name, and closing
 * a month. The API keeps basis points and yuan strings; these forms speak percentages and yuan. */
(function () {
  const core = window.DaogouCore;
  const forms = () => DaogouHQ.forms;

  function ruleRow(ctx, rule, enabled, editable) {
    const { el, t } = ctx;
    const check = el("input", { type: "checkbox", checked: enabled, disabled: !editable, "aria-label": rule.label });
    const move = (dir) => {
      const sibling = dir < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (sibling) row.parentElement.insertBefore(row, dir < 0 ? sibling : sibling.nextElementSibling);
    };
    const row = el("li", { dataset: { rule: rule.key } },
      el("label", { class: "rule-choice" }, check, el("strong", {}, rule.label), el("span", { class: "muted" }, rule.hint)),
      editable ? el("span", { class: "order-buttons" },
        el("button", { type: "button", class: "link", onclick: () => move(-1) }, t("hq.commission.attr.up")),
        el("button", { type: "button", class: "link", onclick: () => move(1) }, t("hq.commission.attr.down"))) : null);
    row.enabled = () => check.checked;
    return row;
  }

  function splitLine(ctx, config, candidates, editable) {
    const { el, t } = ctx;
    const select = (value, name) => el("select", { name, disabled: !editable },
      candidates.map((r) => el("option", { value: r.key, selected: r.key === value }, r.label)));
    const [a, b] = config.split.between;
    const first = select(a, "split_first");
    const second = select(b, "split_second");
    const share = el("input", { name: "first_share", inputmode: "decimal", class: "rate", disabled: !editable,
      value: String(config.split.first_share_bp / 100) });
    const [before, middle, after] = t("hq.commission.attr.split_line").split(/\{first\}|\{share\}|\{second\}/);
    const node = el("div", { class: "field", dataset: { field: "split" } },
      el("span", { class: "field-label" }, t("commission.rule.split")),
      el("span", { class: "phrase-line", dataset: { field: "split.between" } }, before, first, middle,
        el("span", { class: "field", dataset: { field: "split.first_share_bp" } }, el("span", { class: "unit" }, share, "%"),
          el("span", { class: "field-error", role: "alert", hidden: true })),
        after, second, el("span", { class: "field-error", role: "alert", hidden: true })),
      el("span", { class: "field-error", role: "alert", hidden: true }));
    const read = () => ({ between: [first.value, second.value], first_share_bp: core.parsePercent(share.value) });
    return { node, read };
  }

  async function attribution(ctx, box) {
    const { el, t } = ctx;
    const f = forms();
    const [{ attribution: config }, choices] = await Promise.all([ctx.api("/api/v1/commission/attribution"),
      DaogouHQ.commissionForms.loadChoices(ctx)]);
    const editable = ctx.me.role === "hq";
    const rules = choices.attribution_rules;
    const keys = [...config.order, ...rules.map((r) => r.key).filter((k) => !config.order.includes(k))];
    const list = el("ol", { class: "rule-order" },
      keys.map((k) => ruleRow(ctx, rules.find((r) => r.key === k), config.order.includes(k), editable)));
    const days = el("input", { name: "last_touch_days", type: "number", min: 1, max: 90, class: "count",
      value: String(config.last_touch_days), disabled: !editable });
    const split = splitLine(ctx, config, rules.filter((r) => r.key !== "split"), editable);
    const general = f.summary();
    const form = el("form", { class: "panel attribution-form", novalidate: true },
      el("p", {}, t("hq.commission.attr.intro")),
      el("div", { class: "field", dataset: { field: "order" } }, list, el("span", { class: "field-error", role: "alert", hidden: true })),
      f.phrase(t("hq.commission.attr.days"), days, { path: "last_touch_days" }),
      split.node,
      editable ? el("button", { type: "submit", class: "primary" }, t("commission.save")) : el("p", { class: "muted" }, t("hq.commission.hq_only")),
      general);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { order: [...list.children].filter((li) => li.enabled()).map((li) => li.dataset.rule),
        last_touch_days: Number(days.value), split: split.read() };
      try {
        if (body.split.first_share_bp === null) {
          throw { error: t("commission.attribution.invalid"),
            fields: { "split.first_share_bp": t("commission.attribution.error.split.first_share_bp") } };
        }
        await ctx.api("/api/v1/commission/attribution", { method: "PUT", body });
        f.clearErrors(form);
        general.hidden = true;
        ctx.toast(t("hq.commission.attr.saved"));
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    box.replaceChildren(form);
  }

  function adjustForm(ctx, staff) {
    const { el, t } = ctx;
    const f = forms();
    const clerk = f.searchPicker(f.clerkItems(staff.staff, staff.stores), { name: "clerk", placeholder: t("hq.commission.clerk_search") });
    const amount = el("input", { name: "amount", inputmode: "decimal", placeholder: "-5.00", class: "money" });
    const reason = el("input", { name: "reason", maxlength: 255, class: "long" });
    const general = f.summary();
    const done = el("p", { class: "done", role: "status", hidden: true });
    const form = el("form", { class: "panel adjust-form", novalidate: true },
      el("h3", {}, t("commission.adjustments")), el("p", { class: "muted" }, t("hq.commission.adjust_intro")),
      el("div", { class: "form-row" },
        f.field(t("hq.commission.clerk"), clerk.node, { path: "clerk_id" }),
        f.field(t("hq.commission.adjust_amount"), el("span", { class: "unit" }, "¥", amount), { path: "amount", hint: t("hq.commission.adjust_amount_hint") }),
        f.field(t("hq.commission.reason"), reason, { path: "reason" }),
        el("button", { type: "submit", class: "primary" }, t("hq.commission.adjust_submit"))),
      general, done);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      done.hidden = true;
      const body = { clerk_id: clerk.value, amount: core.parseYuan(amount.value, { negative: true }),
        reason: reason.value.trim(), idempotency_key: ctx.clientId() };
      const fields = {};
      if (!body.clerk_id) fields.clerk_id = t("commission.adjust.error.clerk_id");
      if (body.amount === null) fields.amount = t("commission.adjust.error.amount");
      try {
        if (Object.keys(fields).length) throw { error: t("commission.adjust.invalid"), fields };
        const res = await ctx.api("/api/v1/commission/adjustments", { method: "POST", body });
        f.clearErrors(form);
        general.hidden = true;
        done.textContent = t("hq.commission.adjusted", { name: clerk.label, amount: ctx.yuan(res.amount), period: res.period });
        done.hidden = false;
        clerk.reset();
        amount.value = "";
        reason.value = "";
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    return form;
  }

  function closeForm(ctx) {
    const { el, t } = ctx;
    const f = forms();
    const last = previousMonth(ctx.period());  // the month head office usually closes
    const month = el("input", { name: "period", type: "month", max: last, value: last });
    const general = f.summary();
    const form = el("form", { class: "panel close-form", novalidate: true },
      el("h3", {}, t("commission.close_month")), el("p", { class: "muted" }, t("hq.commission.close_intro")),
      el("div", { class: "form-row" }, f.field(t("commission.period"), month, { path: "period" }),
        el("button", { type: "submit", class: "primary" }, t("commission.close_month"))), general);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await ctx.api("/api/v1/commission/periods", { method: "POST", body: { period: month.value } });
        f.clearErrors(form);
        general.hidden = true;
        ctx.toast(t("hq.commission.closed_month", { period: month.value }));
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    return form;
  }

  function previousMonth(period) {
    const [y, m] = period.split("-").map(Number);
    return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
  }

  async function adjust(ctx, box) {
    const staff = await ctx.api("/api/v1/staff");
    box.replaceChildren(...[adjustForm(ctx, staff), ctx.me.role === "hq" ? closeForm(ctx) : null].filter(Boolean));
  }

  DaogouHQ.commissionForms = Object.assign(DaogouHQ.commissionForms || {}, { attribution, adjust });
})();
