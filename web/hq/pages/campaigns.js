"use strict";
/* 营销活动 Campaigns: plan a send with a holdout, send it, read its uplift with a confidence interval. */
DaogouHQ.registerPage("campaigns", {
  title: { "zh-CN": "营销活动", en: "Campaigns" },
  order: 30,
  async render(root, ctx) {
    const { el, t } = ctx;
    const [list, segments, channels] = await Promise.all([
      ctx.api("/api/v1/campaigns"),
      ctx.api("/api/v1/segments").catch(() => ({ segments: [] })),
      ctx.channelKinds(),
    ]);
    const pct = (x) => `${(x * 100).toFixed(2)}%`;
    const LABELS = { name: "hq.campaigns.name", segment_id: "hq.tasks.segment", channel: "hq.campaigns.channel",
      text: "hq.campaigns.text", holdout_pct: "hq.campaigns.holdout", unit_cost_fen: "hq.campaigns.unit_cost" };

    /** The channels campaigns may mass-send over; the first the brand can send on now is chosen. */
    function channelSelect() {
      const massSend = channels.filter((c) => c.capabilities.mass_send);
      const first = massSend.find((c) => c.open) || massSend[0];
      return el("select", { name: "channel" }, massSend.map((c) =>
        el("option", { value: c.kind, selected: c === first }, ctx.localLabel(c))));
    }

    if (ctx.me.role === "hq") {
      const f = {
        name: el("input", { name: "name", required: true }),
        segment_id: el("select", { name: "segment_id" }, (segments.segments || []).map((s) => el("option", { value: String(s.id) }, s.name))),
        channel: channelSelect(),
        text: el("input", { name: "text", value: "{{ customer_name }}您好，", style: { minWidth: "320px" } }),
        holdout_pct: el("input", { name: "holdout_pct", type: "number", min: 0, max: 50, value: 10 }),
        unit_cost_fen: el("input", { name: "unit_cost_fen", type: "number", min: 0, value: 0 }),
      };
      const errors = el("p", { class: "field-error", hidden: true });
      const form = el("form", { class: "form-row" },
        ...Object.entries(f).map(([k, input]) => el("label", {}, t(LABELS[k]), input)),
        el("button", { type: "submit", class: "primary" }, t("hq.campaigns.create")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        errors.hidden = true;
        try {
          const res = await ctx.api("/api/v1/campaigns", { method: "POST", body: {
            name: f.name.value, segment_id: Number(f.segment_id.value), channel: f.channel.value,
            content: { text: f.text.value }, holdout_pct: Number(f.holdout_pct.value), unit_cost_fen: Number(f.unit_cost_fen.value),
          } });
          const skips = res.preview.would_skip.map((s) => `${s.reason} ${s.count}`).join("；") || "—";
          ctx.toast(t("hq.campaigns.preview", { send: res.preview.would_send, skips }));
          ctx.navigate("campaigns");
        } catch (err) {
          errors.textContent = `${err.error}：${Object.entries(err.fields || {}).map(([k, v]) => `${k} ${v}`).join("；")}`;
          errors.hidden = false;
        }
      });
      root.append(el("div", { class: "panel" }, el("h3", {}, t("hq.campaigns.new")), form, errors));
    }

    if (!list.campaigns.length) {
      root.append(el("p", { class: "muted" }, t("hq.campaigns.none")));
      return;
    }
    const detail = el("div", { class: "panel", hidden: true });
    root.append(el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["hq.campaigns.name", "hq.campaigns.channel", "hq.staff.status", "hq.campaigns.planned",
        "hq.campaigns.holdout", "hq.actions"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, list.campaigns.map((c) => el("tr", { "data-campaign": c.id },
        el("td", {}, c.name), el("td", {}, ctx.channelLabel(channels, c.channel)), el("td", {}, el("span", { class: "pill", "data-status": c.status }, t(`hq.campaigns.status.${c.status}`))),
        el("td", {}, String(Object.values(c.counts).reduce((a, b) => a + b, 0))), el("td", {}, `${c.holdout_pct}%`),
        el("td", {},
          c.status === "planned" && ctx.me.role === "hq" ? el("button", { type: "button", class: "link", onclick: async () => {
            await ctx.api(`/api/v1/campaigns/${c.id}/send`, { method: "POST" });
            ctx.navigate("campaigns");
          } }, t("hq.campaigns.send")) : null,
          el("button", { type: "button", class: "link", onclick: () => showReport(c, 14) }, t("hq.campaigns.report"))))))),
    detail);

    async function showReport(c, days) {
      const r = await ctx.api(`/api/v1/campaigns/${c.id}/report?days=${days}`);
      const chartBox = el("div", { class: "chart" });
      const windowInput = el("input", { type: "number", min: 1, max: 365, value: days, onchange: () => showReport(c, Number(windowInput.value)) });
      const u = r.uplift;
      const facts = [
        ["hq.campaigns.planned", r.planned], ["hq.campaigns.skipped", r.skipped],
        ...(r.deferred ? [["hq.campaigns.deferred", t("hq.campaigns.deferred_until", { count: r.deferred, time: ctx.dateTime(r.deferred_until) })]] : []),
        ["hq.campaigns.sent", r.sent],
        ["hq.campaigns.delivered", r.delivered], ["hq.campaigns.replied", r.replied], ["hq.campaigns.buyers", r.buyers],
        ["hq.campaigns.revenue", ctx.yuan(r.revenue)], ["hq.campaigns.cost", ctx.yuan(r.cost)],
        ["hq.campaigns.raw_roi", r.raw_roi === null ? "—" : `1:${r.raw_roi.toFixed(1)}`],
        ["hq.campaigns.uplift", `${pct(u.conversion_diff)}（95% CI ${pct(u.conversion_ci95[0])} ~ ${pct(u.conversion_ci95[1])}）`],
        ["hq.campaigns.incremental", ctx.yuan(u.incremental_revenue)],
        ["hq.campaigns.roi", u.roi === null ? "—" : `1:${u.roi.toFixed(1)}`],
      ];
      detail.hidden = false;
      detail.replaceChildren(
        el("h3", {}, `${c.name} · ${t("hq.campaigns.report")}`),
        el("div", { class: "form-row" }, el("label", {}, t("hq.campaigns.window"), windowInput),
          el("a", { href: `/api/v1/campaigns/${c.id}/report.csv`, download: "" }, t("hq.campaigns.csv"))),
        el("table", { class: "grid" }, el("tbody", {}, facts.map(([k, v]) => el("tr", {}, el("th", {}, t(k)), el("td", {}, String(v)))))),
        r.skipped_by_reason.length ? el("ul", {}, r.skipped_by_reason.map((s) => el("li", {}, `${s.reason}：${s.count}`))) : null,
        chartBox);
      ctx.chart(chartBox, {
        tooltip: {}, xAxis: { type: "category", data: [t("hq.campaigns.treatment"), t("hq.campaigns.holdout_group")] },
        yAxis: { type: "value", name: t("hq.campaigns.conversion"), axisLabel: { formatter: (v) => `${(v * 100).toFixed(1)}%` } },
        series: [{ type: "bar", data: [r.conversion, r.holdout_conversion], label: { show: true, position: "top", formatter: (p) => pct(p.value) } }],
      });
    }
  },
});
