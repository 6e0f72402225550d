"use strict";
/* 营销活动 · 新建: fill in → 预览 (count, holdout, who the policy skips, cost, the copy as three
 * customers will read it; nothing is written) → 确认 with a schedule (now, or a time in the brand's
 * timezone) → created and, when "now", sent at once. Every error sits beside its field. */
(function () {
  function build(ctx, { segments, channels, products, coupons, onDone }) {
    const { el, t } = ctx;
    const massSend = channels.filter((c) => c.capabilities.mass_send);
    const first = massSend.find((c) => c.open) || massSend[0];
    const inputs = {
      name: el("input", { name: "name", required: true, placeholder: t("hq.campaigns.name_hint") }),
      segment_id: el("select", { name: "segment_id" }, segments.map((s) => el("option", { value: String(s.id) }, s.name))),
      channel: el("select", { name: "channel" }, massSend.map((c) => el("option", { value: c.kind, selected: c === first }, ctx.localLabel(c)))),
      "content.text": el("textarea", { name: "text", rows: 3 }),
      holdout_pct: el("input", { name: "holdout_pct", type: "number", min: 0, max: 50, value: 10 }),
      unit_cost_fen: el("input", { name: "unit_cost", inputmode: "decimal", value: "0.00" }),
      scheduled_at: el("input", { name: "scheduled_at", type: "datetime-local", min: ctx.localInput(ctx.now()) }),
      coupon_template_id: window.DaogouHQ.forms.couponChoice(ctx, coupons || []),
    };
    const pick = window.DaogouHQ.linkProducts(ctx, products || []);  // each customer's own page
    inputs["content.text"].value = t("hq.campaigns.text_default");  // a start the operator edits
    const forms = window.DaogouHQ.forms;
    const general = el("p", { class: "field-error", role: "alert", hidden: true });
    const previewBox = el("div", { class: "campaign-preview", hidden: true });

    function payload() {
      const cost = window.DaogouCore.parseYuan(inputs.unit_cost_fen.value);
      return {
        name: inputs.name.value.trim(), segment_id: Number(inputs.segment_id.value), channel: inputs.channel.value,
        content: { text: inputs["content.text"].value, products: pick.values() }, holdout_pct: Number(inputs.holdout_pct.value),
        coupon_template_id: inputs.coupon_template_id.value ? Number(inputs.coupon_template_id.value) : null,
        unit_cost_fen: cost === null ? -1 : Math.round(Number(cost) * 100),
        scheduled_at: inputs.scheduled_at.value || undefined,
      };
    }

    function showErrors(err) {
      forms.showErrors(form, general, err);
    }

    async function preview(ev) {
      ev.preventDefault();
      forms.clearErrors(form);
      general.hidden = true;
      try {
        const p = await ctx.api("/api/v1/campaigns/preview", { method: "POST", body: payload() });
        showPreview(p);
      } catch (err) { previewBox.hidden = true; showErrors(err); }
    }

    function showPreview(p) {
      const when = p.scheduled_at ? t("hq.campaigns.at_time", { time: ctx.dateTime(p.scheduled_at) }) : t("hq.campaigns.now");
      const skips = p.would_skip.map((s) => el("li", {}, `${s.reason}：${s.count}`));
      const confirm = el("button", { type: "button", class: "primary confirm" }, t("hq.campaigns.confirm", { n: p.would_send }));
      confirm.addEventListener("click", () => create(confirm));
      previewBox.replaceChildren(
        el("h4", {}, t("hq.campaigns.preview_title")),
        el("p", { class: "preview-summary" }, t("hq.campaigns.preview_summary", {
          size: p.segment_size, reachable: p.reachable, holdout: p.holdout, send: p.would_send, cost: ctx.yuan(p.cost), when })),
        el("ul", { class: "skips", hidden: !skips.length }, skips),
        el("div", { class: "samples" }, p.samples.map((x) => el("div", { class: "sample" },
          el("div", { class: "muted" }, x.customer), el("div", { class: "bubble" }, x.text)))),
        el("div", { class: "actions" }, confirm,
          el("button", { type: "button", class: "ghost", onclick: () => { previewBox.hidden = true; } }, t("hq.campaigns.edit"))));
      previewBox.hidden = false;
    }

    async function create(button) {
      button.disabled = true;
      try {
        const body = payload();
        const created = await ctx.api("/api/v1/campaigns", { method: "POST", body });
        if (!body.scheduled_at) await ctx.api(`/api/v1/campaigns/${created.id}/send`, { method: "POST" });
        ctx.toast(body.scheduled_at ? t("hq.campaigns.scheduled_ok") : t("hq.campaigns.sending_ok"));
        onDone(created);
      } catch (err) { button.disabled = false; showErrors(err); }
    }

    const field = (path, label, hint) => forms.field(label, inputs[path], { hint, path });
    const form = el("form", { class: "campaign-form" },
      field("name", t("hq.campaigns.name")),
      field("segment_id", t("hq.tasks.segment")),
      field("channel", t("hq.campaigns.channel")),
      field("content.text", t("hq.campaigns.text_label"), forms.templateVars ? forms.templateVars(["customer_name"]) : null),
      pick.node,
      field("coupon_template_id", t("hq.tasks.coupon"), t("hq.campaigns.coupon_hint")),
      field("holdout_pct", t("hq.campaigns.holdout"), t("hq.campaigns.holdout_hint")),
      field("unit_cost_fen", t("hq.campaigns.unit_cost_yuan")),
      field("scheduled_at", t("hq.campaigns.schedule"), t("hq.campaigns.schedule_hint")),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, t("hq.campaigns.preview_button"))),
      general);
    form.addEventListener("submit", preview);
    return el("div", { class: "panel" }, el("h3", {}, t("hq.campaigns.new")), form, previewBox);
  }

  window.DaogouHQ.campaignForm = build;
})();
