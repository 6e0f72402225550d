"use strict";
/* The funnel of a care task or a campaign (发送 → 送达 → 打开商品页 → 点击购买 → 购买), as the API
 * counts it: customers, each step within the one before. Shown as a row of steps with the share of
 * those sent, then the same steps by store and by clerk. Pages reach it as DaogouHQ.funnel. */
(function () {
  const core = window.DaogouCore;
  const { el, t } = core;

  const share = (n, of) => (of ? `${Math.round((n / of) * 100)}%` : "—");

  function stepsRow(funnel) {
    const sent = funnel.total.sent;
    return el("ol", { class: "funnel-steps" }, funnel.steps.map((step) => el("li", { dataset: { step } },
      el("span", { class: "funnel-label" }, t(`links.funnel.${step}`)),
      el("strong", { class: "funnel-count" }, String(funnel.total[step])),
      el("small", { class: "muted" }, step === "sent" ? "" : share(funnel.total[step], sent)))));
  }

  function table(funnel, rows, nameKey, heading) {
    return el("table", { class: "grid funnel-table" },
      el("thead", {}, el("tr", {}, el("th", {}, t(heading)), funnel.steps.map((s) => el("th", {}, t(`links.funnel.${s}`))))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r[nameKey] || "—"),
        funnel.steps.map((s) => el("td", {}, s === "sent" ? String(r[s]) : `${r[s]}（${share(r[s], r.sent)}）`))))));
  }

  /** The funnel section: title, steps, by store, by clerk. */
  function funnel(data) {
    if (!data || !data.steps) return null;
    return el("section", { class: "funnel" },
      el("h4", {}, t("links.funnel.title")), stepsRow(data),
      el("h5", {}, t("links.funnel.by_store")), table(data, data.stores, "store_name", "links.funnel.store"),
      el("h5", {}, t("links.funnel.by_clerk")), table(data, data.clerks, "display_name", "links.funnel.clerk"));
  }

  window.DaogouHQ.funnel = funnel;
})();
