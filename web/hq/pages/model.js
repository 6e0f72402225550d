"use strict";
/* 模型健康 Model health: the propensity ranker's backtest metrics across versions (is it still
 * beating the BG/NBD and RFM baselines?), what moves the score, and the current version's table.
 * Everything comes from GET /api/v1/model/versions (written by `flask model train`). */
DaogouHQ.registerPage("model", {
  title: { "zh-CN": "模型健康", en: "Model health" },
  order: 80,
  async render(root, ctx) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/model/versions");
    const versions = data.versions.slice().reverse(); // oldest first, for the time axis
    if (!versions.length) {
      root.replaceChildren(el("h2", {}, t("model.title")), el("p", { class: "muted" }, t("model.none")));
      return;
    }
    const current = data.versions.find((v) => v.is_current) || data.versions[0];
    const metric = (v, horizon, method, key) => {
      const row = (v.summary || []).find((r) => r.horizon === horizon && r.method === method);
      return row && row[key] != null ? Number(row[key].toFixed(3)) : null;
    };
    const overTime = el("div", { style: { height: "280px" } });
    const importance = el("div", { style: { height: "240px" } });
    const methods = ["ranker", "bgnbd", "rfm", "recency"];
    const rows = (current.summary || []).map((r) => el("tr", { class: r.method === "ranker" ? "strong" : "" },
      [r.horizon, r.method, r.auc, r.ap, r["p@5%"], r["lift@1%"], r["lift@5%"], r["lift@10%"]]
        .map((v) => el("td", {}, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v ?? "—")))));
    root.replaceChildren(
      el("h2", {}, t("model.title")),
      el("p", {}, `${t("model.current")}: ${current.name} · ${current.n_customers ?? "—"} · ${current.trained_at || ""}`),
      current.fallback ? el("p", { class: "fail-reason" }, t("model.fallback")) : null,
      el("h3", {}, t("model.metrics_over_time")), overTime,
      el("h3", {}, t("model.importance")), importance,
      el("h3", {}, t("model.table")),
      el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["h", "method", "AUC", "AP", "P@5%", "lift@1%", "lift@5%", "lift@10%"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows)));
    const names = versions.map((v) => v.name.replace(/^propensity-h\d+-/, ""));
    ctx.chart(overTime, {
      tooltip: { trigger: "axis" },
      legend: { data: methods.map((m) => `AP ${m}`) },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", name: "AP (30 d)" },
      series: methods.map((m) => ({ name: `AP ${m}`, type: "line", data: versions.map((v) => metric(v, 30, m, "ap")) })),
    });
    const groups = Object.entries(current.feature_importance || {}).sort((a, b) => a[1] - b[1]);
    ctx.chart(importance, {
      tooltip: {},
      grid: { left: 120 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: groups.map(([g]) => t(`model.group.${g}`)) },
      series: [{ type: "bar", data: groups.map(([, v]) => v) }],
    });
  },
});
