"use strict";
/* 接待服务 Reception: customers waiting now (the pools of every store and head office's own),
 * and how fast they were first answered, per day, store and clerk
 * (GET /api/v1/conversations?pool=1, GET /api/v1/reception/figures). */
(function () {
  function minutes(seconds) {
    return seconds == null ? null : Math.round(seconds / 6) / 10;
  }

  function duration(ctx, seconds) {
    if (seconds == null) return "—";
    if (seconds < 60) return ctx.t("reception.seconds", { n: Math.round(seconds) });
    if (seconds < 3600) return ctx.t("reception.minutes", { n: Math.round(seconds / 60) });
    return ctx.t("reception.hours", { n: (seconds / 3600).toFixed(1) });
  }

  function rate(value) {
    return value == null ? "—" : `${Math.round(value * 100)}%`;
  }

  function tiles(ctx, figures) {
    const { el, t } = ctx;
    const now = figures.waiting_now;
    const tile = (label, value, sub) => el("div", { class: "tile" }, el("div", { class: "label" }, label),
      el("div", { class: "value" }, value), sub ? el("div", { class: "muted" }, sub) : null);
    return el("div", { class: "tiles" },
      tile(t("reception.waiting_now"), String(now.count),
        now.longest_minutes != null ? t("reception.longest", { time: duration(ctx, now.longest_minutes * 60) }) : null),
      tile(t("reception.median"), duration(ctx, figures.total.first_response_median_s)),
      tile(t("reception.p90"), duration(ctx, figures.total.first_response_p90_s)),
      tile(t("reception.reply_rate"), rate(figures.total.reply_rate),
        t("reception.answered_of", { answered: figures.total.answered, waits: figures.total.waits })));
  }

  function table(ctx, rows, nameKey, title) {
    const { el, t } = ctx;
    return el("div", { class: "panel" }, el("h3", {}, title),
      rows.length ? el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, [t(`reception.col.${nameKey}`), t("reception.col.waits"), t("reception.reply_rate"),
          t("reception.median"), t("reception.p90")].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r[nameKey] || t("reception.head_office")),
          el("td", {}, String(r.waits)), el("td", {}, rate(r.reply_rate)),
          el("td", {}, duration(ctx, r.first_response_median_s)), el("td", {}, duration(ctx, r.first_response_p90_s))))))
        : el("p", { class: "muted" }, t("reception.none")));
  }

  function chart(ctx, element, figures) {
    const { t } = ctx;
    ctx.chart(element, {
      tooltip: { trigger: "axis" },
      legend: { data: [t("reception.median_min"), t("reception.p90_min"), t("reception.reply_rate")] },
      xAxis: { type: "category", data: figures.days.map((d) => d.day.slice(5)) },
      yAxis: [{ type: "value", name: t("reception.minutes_axis") }, { type: "value", name: "%", max: 100 }],
      series: [
        { name: t("reception.median_min"), type: "bar", data: figures.days.map((d) => minutes(d.first_response_median_s)) },
        { name: t("reception.p90_min"), type: "bar", data: figures.days.map((d) => minutes(d.first_response_p90_s)) },
        { name: t("reception.reply_rate"), type: "line", yAxisIndex: 1,
          data: figures.days.map((d) => (d.reply_rate == null ? null : Math.round(d.reply_rate * 100))) },
      ],
    });
  }

  /** Waiting customers; head office sends one to the store that should serve them. */
  function poolList(ctx, pool, stores, reload) {
    const { el, t } = ctx;
    const row = (c) => {
      const choose = el("select", { "aria-label": t("reception.to_store") },
        el("option", { value: "" }, t("reception.pick_store")),
        stores.map((s) => el("option", { value: String(s.id), selected: s.id === c.store_id ? "" : null }, s.name)));
      const send = el("button", { type: "button", class: "ghost", onclick: async () => {
        if (!choose.value) { ctx.toast(t("reception.pick_store"), "error"); return; }
        try {
          await ctx.api(`/api/v1/conversations/${c.id}/transfer`, { method: "POST", body: { store_id: Number(choose.value) } });
          ctx.toast(t("reception.sent_to_store"));
          reload();
        } catch (err) { ctx.toast((err.fields && Object.values(err.fields)[0]) || err.error, "error"); }
      } }, t("reception.to_store"));
      return el("li", { "data-conversation": c.id },
        el("strong", {}, (c.customer && c.customer.name) || t("reception.customer")), " ",
        el("span", { class: "muted" }, c.store_name || t("reception.head_office")), " · ",
        el("span", {}, c.last_message_preview || ""), " ",
        el("span", { class: "muted" }, c.waiting_since ? t("reception.waiting_since", { time: ctx.dateTime(c.waiting_since) }) : ""),
        stores.length ? el("span", { class: "route" }, choose, send) : null);
    };
    return el("div", { class: "panel" }, el("h3", {}, t("reception.pool_title")),
      pool.length ? el("ul", { class: "pool-list" }, pool.map(row)) : el("p", { class: "muted" }, t("reception.pool_empty")));
  }

  DaogouHQ.registerPage("reception", {
    async render(root, ctx) {
      const [figures, pool, staff] = await Promise.all([
        ctx.api("/api/v1/reception/figures"),
        ctx.api("/api/v1/conversations?pool=1&limit=50"),
        ctx.api("/api/v1/staff").catch(() => ({ stores: [] })),
      ]);
      const reload = () => this.render(root, ctx);
      const chartEl = ctx.el("div", { class: "chart", style: "height:280px" });
      root.replaceChildren(
        tiles(ctx, figures),
        ctx.el("div", { class: "panel" }, ctx.el("h3", {}, ctx.t("reception.trend", { from: figures.from, to: figures.to })), chartEl),
        poolList(ctx, pool.conversations, staff.stores || [], reload),
        table(ctx, figures.stores, "store", ctx.t("reception.by_store")),
        table(ctx, figures.clerks, "clerk", ctx.t("reception.by_clerk")));
      chart(ctx, chartEl, figures);
    },
  });
})();
