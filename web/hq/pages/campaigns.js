"use strict";
/* 营销活动 Campaigns: plan a send with a holdout (the form with its preview and confirmation is
 * campaign_form.js), watch it go out, call off a scheduled one, read its uplift with a confidence
 * interval. */
DaogouHQ.registerPage("campaigns", {
  async render(root, ctx) {
    const { el, t } = ctx;
    const hq = ctx.me.role === "hq";
    const [list, segments, channels, products, coupons] = await Promise.all([
      ctx.api("/api/v1/campaigns"),
      ctx.api("/api/v1/segments").catch(() => ({ segments: [] })),
      ctx.channelKinds(),
      hq ? ctx.api("/api/v1/links/products").catch(() => ({ products: [] })) : { products: [] },
      hq ? ctx.api("/api/v1/coupon-templates").catch(() => ({ templates: [] })) : { templates: [] },
    ]);
    const pct = (x) => `${(x * 100).toFixed(2)}%`;
    if (ctx.me.role === "hq") {
      root.append(DaogouHQ.campaignForm(ctx, { segments: segments.segments || [], channels,
        products: products.products || [], coupons: coupons.templates || [], onDone: () => ctx.navigate("campaigns") }));
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
        el("td", {}, c.name), el("td", {}, ctx.channelLabel(channels, c.channel)),
        el("td", {}, el("span", { class: "pill", "data-status": c.status }, t(`hq.campaigns.status.${c.status}`)), " ",
          el("span", { class: "muted" }, progress(c))),
        el("td", {}, String(Object.values(c.counts).reduce((a, b) => a + b, 0))), el("td", {}, `${c.holdout_pct}%`),
        el("td", {}, actions(c)))))),
    detail);
    // While a campaign is sending or waiting for its time, the list keeps itself current.
    if (list.campaigns.some((c) => ["sending", "deferred"].includes(c.status) || (c.status === "planned" && c.scheduled_at))) {
      setTimeout(() => { if (root.isConnected) ctx.navigate("campaigns"); }, 5000);  // gone with the page
    }

    function progress(c) {
      const treated = (c.counts.planned || 0) + (c.counts.sent || 0) + (c.counts.deferred || 0) + (c.counts.skipped || 0);
      if (c.status === "planned" && c.scheduled_at) return t("hq.campaigns.scheduled_for", { time: ctx.dateTime(c.scheduled_at) });
      if (c.status === "sending") return t("hq.campaigns.progress", { sent: c.counts.sent || 0, total: treated });
      return "";
    }

    function actions(c) {
      const hq = ctx.me.role === "hq";
      return [
        c.status === "planned" && hq && !c.scheduled_at ? el("button", { type: "button", class: "link", onclick: async () => {
          await ctx.api(`/api/v1/campaigns/${c.id}/send`, { method: "POST" });
          ctx.navigate("campaigns");
        } }, t("hq.campaigns.send")) : null,
        c.status === "planned" && hq ? el("button", { type: "button", class: "link danger", onclick: async () => {
          try {
            await ctx.api(`/api/v1/campaigns/${c.id}/cancel`, { method: "POST" });
            ctx.toast(t("hq.campaigns.cancelled_ok"));
          } catch (err) { ctx.toast((err.fields && Object.values(err.fields)[0]) || err.error, "error"); }
          ctx.navigate("campaigns");
        } }, t("hq.campaigns.cancel")) : null,
        el("button", { type: "button", class: "link", onclick: () => showReport(c, 14) }, t("hq.campaigns.report"))];
    }

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
        chartBox, DaogouHQ.funnel(r.funnel));
      ctx.chart(chartBox, {
        tooltip: {}, xAxis: { type: "category", data: [t("hq.campaigns.treatment"), t("hq.campaigns.holdout_group")] },
        yAxis: { type: "value", name: t("hq.campaigns.conversion"), axisLabel: { formatter: (v) => `${(v * 100).toFixed(1)}%` } },
        series: [{ type: "bar", data: [r.conversion, r.holdout_conversion], label: { show: true, position: "top", formatter: (p) => pct(p.value) } }],
      });
    }
  },
});
