"use strict";
/* 模型健康 Model health: the propensity ranker's backtest metrics across versions (is it still
 * beating the BG/NBD and RFM baselines?), what moves the score, the current version's table
 * (GET /api/v1/model/versions, written by `flask model train`), and why the drafting model's copy
 * was not used lately, in sentences (GET /api/v1/drafts/stats). */
(function () {
  const METHODS = ["ranker", "bgnbd", "rfm", "recency"];
  const COLUMNS = [["horizon", "horizon"], ["method", "method"], ["auc", "auc"], ["ap", "ap"], ["p@5%", "p5"],
    ["lift@1%", "lift1"], ["lift@5%", "lift5"], ["lift@10%", "lift10"]];

  function metric(v, horizon, method, key) {
    const row = (v.summary || []).find((r) => r.horizon === horizon && r.method === method);
    return row && row[key] != null ? Number(row[key].toFixed(3)) : null;
  }

  function cell(ctx, key, value) {
    if (key === "horizon") return ctx.t("model.horizon_days", { n: value });
    if (key === "method") return ctx.t(`model.method.${value}`);
    return typeof value === "number" ? value.toFixed(3) : "—";
  }

  function backtestTable(ctx, current) {
    const { el, t } = ctx;
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, COLUMNS.map(([, label]) => el("th", {}, t(`model.col.${label}`))))),
      el("tbody", {}, (current.summary || []).map((r) => el("tr", { class: r.method === "ranker" ? "strong" : "" },
        COLUMNS.map(([key]) => el("td", {}, cell(ctx, key, r[key])))))));
  }

  async function draftingPanel(ctx) {
    const { el, t } = ctx;
    const stats = await ctx.api("/api/v1/drafts/stats?days=30");
    const llm = stats.by_source.llm || { drafted: 0 };
    const fallbacks = stats.fallbacks || [];
    return el("div", { class: "panel drafting-model" },
      el("h3", {}, t("model.drafting.title")),
      el("p", {}, t("model.drafting.summary", { llm: llm.drafted, fallbacks: fallbacks.reduce((n, r) => n + r.count, 0) })),
      fallbacks.length
        ? el("ul", { class: "fallbacks" }, fallbacks.map((r) => el("li", { dataset: { reason: r.reason } },
          el("span", {}, r.label), " ", el("strong", {}, t("model.drafting.times", { n: r.count })))))
        : el("p", { class: "muted" }, t("model.drafting.none")));
  }

  function charts(ctx, versions, current, overTime, importance) {
    const { t } = ctx;
    const label = (v) => ctx.dateTime(v.trained_at || v.created_at);
    ctx.chart(overTime, {
      tooltip: { trigger: "axis" },
      legend: { data: METHODS.map((m) => t(`model.method.${m}`)) },
      xAxis: { type: "category", data: versions.map(label) },
      yAxis: { type: "value", name: t("model.ap_axis") },
      series: METHODS.map((m) => ({ name: t(`model.method.${m}`), type: "line", data: versions.map((v) => metric(v, 30, m, "ap")) })),
    });
    const groups = Object.entries(current.feature_importance || {}).sort((a, b) => a[1] - b[1]);
    ctx.chart(importance, {
      tooltip: {},
      grid: { left: 120 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: groups.map(([g]) => t(`model.group.${g}`)) },
      series: [{ type: "bar", name: t("model.importance"), data: groups.map(([, v]) => v) }],
    });
  }

  DaogouHQ.registerPage("model", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const [data, drafting] = await Promise.all([ctx.api("/api/v1/model/versions"),
        draftingPanel(ctx).catch((err) => el("p", { class: "error" }, err.error || String(err)))]);
      const versions = data.versions.slice().reverse(); // oldest first, for the time axis
      if (!versions.length) {
        root.replaceChildren(el("p", { class: "muted" }, t("model.none")), drafting);
        return;
      }
      const current = data.versions.find((v) => v.is_current) || data.versions[0];
      const overTime = el("div", { class: "chart" });
      const importance = el("div", { class: "chart short" });
      root.replaceChildren(...[
        el("p", {}, t("model.current_line", { trained: ctx.dateTime(current.trained_at || current.created_at),
          n: current.n_customers ?? "—" })),
        current.fallback ? el("p", { class: "fail-reason" }, t("model.fallback")) : null,
        el("h3", {}, t("model.metrics_over_time")), overTime,
        el("h3", {}, t("model.importance")), importance,
        el("h3", {}, t("model.table")), backtestTable(ctx, current),
        drafting,
      ].filter(Boolean));  // replaceChildren would write a null as the text "null"
      charts(ctx, versions, current, overTime, importance);
    },
  });
})();
