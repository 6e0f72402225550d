"use strict";
/* 总览 Overview: today's and this month's sales attributed to clerks, contacts and replies,
 * customers waiting and first response, open care tasks and recent campaigns, with daily trends
 * (GET /api/v1/dashboard). Each block links to the page that explains it. */
(function () {
  function tile(ctx, label, value, sub, page) {
    const { el } = ctx;
    return el(page ? "a" : "div", { class: "tile", href: page ? `#${page}` : null,
      onclick: page ? (ev) => { ev.preventDefault(); ctx.navigate(page); } : null },
    el("div", { class: "label" }, label), el("div", { class: "value" }, value), sub ? el("div", { class: "muted" }, sub) : null);
  }

  function seconds(ctx, s) {
    if (s == null) return "—";
    return s < 60 ? ctx.t("reception.seconds", { n: Math.round(s) }) : ctx.t("reception.minutes", { n: Math.round(s / 60) });
  }

  function tiles(ctx, data) {
    const { t } = ctx;
    const x = data.totals;
    return ctx.el("div", { class: "tiles" },
      tile(ctx, t("home.sales_today"), ctx.yuan(x.sales_today), t("home.orders", { n: x.orders_today }), "commission"),
      tile(ctx, t("home.sales_month"), ctx.yuan(x.sales_month), t("home.orders", { n: x.orders_month }), "commission"),
      tile(ctx, t("home.contacts"), String(x.contacts), t("home.replies", { n: x.replies }), null),
      tile(ctx, t("reception.waiting_now"), String(x.waiting_now.count),
        t("home.first_response", { time: seconds(ctx, x.first_response_median_s) }), "reception"));
  }

  function trendCharts(ctx, root, days) {
    const { t, el } = ctx;
    const sales = el("div", { class: "chart", style: "height:260px" });
    const talk = el("div", { class: "chart", style: "height:260px" });
    root.append(el("div", { class: "panel" }, el("h3", {}, t("home.sales_trend")), sales),
      el("div", { class: "panel" }, el("h3", {}, t("home.contacts_trend")), talk));
    const labels = days.map((d) => d.day.slice(5));
    ctx.chart(sales, {
      tooltip: { trigger: "axis" }, legend: { data: [t("home.sales_axis"), t("home.orders_axis")] },
      xAxis: { type: "category", data: labels },
      yAxis: [{ type: "value", name: t("home.sales_axis") }, { type: "value", name: t("home.orders_axis") }],
      series: [{ name: t("home.sales_axis"), type: "bar", data: days.map((d) => Number(d.sales)) },
        { name: t("home.orders_axis"), type: "line", yAxisIndex: 1, data: days.map((d) => d.orders) }],
    });
    ctx.chart(talk, {
      tooltip: { trigger: "axis" }, legend: { data: [t("home.contacts"), t("home.replies_axis"), t("reception.reply_rate")] },
      xAxis: { type: "category", data: labels },
      yAxis: [{ type: "value" }, { type: "value", name: "%", max: 100 }],
      series: [{ name: t("home.contacts"), type: "line", data: days.map((d) => d.contacts) },
        { name: t("home.replies_axis"), type: "line", data: days.map((d) => d.replies) },
        { name: t("reception.reply_rate"), type: "line", yAxisIndex: 1,
          data: days.map((d) => (d.reply_rate == null ? null : Math.round(d.reply_rate * 100))) }],
    });
  }

  function taskList(ctx, tasks) {
    const { el, t } = ctx;
    const rows = tasks.map((task) => {
      const pct = task.targets ? Math.round((task.reached / task.targets) * 100) : 0;
      return el("li", {},
        el("a", { href: "#tasks", onclick: (ev) => { ev.preventDefault(); ctx.navigate("tasks"); } }, task.title),
        el("div", { class: "bar" }, el("span", { style: `width:${pct}%` })),
        el("span", { class: "muted" }, t("home.task_progress", { reached: task.reached, targets: task.targets,
          buyers: task.buyers, deadline: ctx.dateTime(task.deadline) })));
    });
    return el("div", { class: "panel" }, el("h3", {}, t("home.tasks")),
      rows.length ? el("ul", { class: "task-progress" }, rows) : el("p", { class: "muted" }, t("home.no_tasks")));
  }

  function campaignTable(ctx, campaigns) {
    const { el, t } = ctx;
    if (!campaigns.length) return null;
    return el("div", { class: "panel" }, el("h3", {}, t("home.campaigns")),
      el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["name", "sent", "buyers", "revenue", "conversion"].map((k) => el("th", {}, t(`home.col.${k}`))))),
        el("tbody", {}, campaigns.map((c) => el("tr", {},
          el("td", {}, el("a", { href: "#campaigns", onclick: (ev) => { ev.preventDefault(); ctx.navigate("campaigns"); } }, c.name)),
          el("td", {}, String(c.sent)), el("td", {}, String(c.buyers)), el("td", {}, ctx.yuan(c.revenue)),
          el("td", {}, t("home.conversion", { treated: pct(c.conversion), holdout: pct(c.holdout_conversion) })))))));
  }

  function pct(x) { return x == null ? "—" : `${(x * 100).toFixed(1)}%`; }

  DaogouHQ.registerPage("home", {
    async render(root, ctx) {
      const data = await ctx.api("/api/v1/dashboard?days=30");
      root.replaceChildren(tiles(ctx, data));
      trendCharts(ctx, root, data.days);
      root.append(taskList(ctx, data.tasks));
      const campaigns = campaignTable(ctx, data.campaigns);
      if (campaigns) root.append(campaigns);
    },
  });
})();
