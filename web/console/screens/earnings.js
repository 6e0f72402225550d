"use strict";
/* 业绩 Earnings: what the clerk earned today and this month, pending vs settled, their rank in
 * the store, the month's target (achieved / target, the gap, days left and the pace needed per
 * day), and each attributed order with why it is theirs and the rule behind every fen.
 *
 * "commission.earned" arrives the moment an order is attributed (or refunded, or adjusted): the
 * shell shows its message as a toast ("你刚赚了 ¥12.80") and this screen reloads its numbers, so
 * what the clerk sees is always the ledger's sum, never a number kept in the browser. */
(function () {
  const state = { period: null, root: null };


  function stat(ctx, label, value, extra) {
    const { el } = ctx;
    return el("div", { class: "stat", style: { flex: "1 1 45%", background: "var(--card, #fff)", borderRadius: "10px", padding: "10px 12px" } },
      el("div", { class: "muted" }, label),
      el("strong", { style: { fontSize: "20px" } }, value),
      extra ? el("div", { class: "muted" }, extra) : null);
  }

  function orderRow(ctx, o) {
    const { el, t } = ctx;
    const refunded = o.refund_amount && o.refund_amount !== "0.00";
    return el("li", { "data-order": o.order_id },
      el("div", { class: "conversation", style: { alignItems: "flex-start" } },
        el("div", { class: "avatar", "aria-hidden": "true" }, (o.customer_name || "?").slice(0, 1)),
        el("div", { style: { flex: "1" } },
          el("button", { type: "button", class: "link", onclick: () => ctx.openCustomer(o.customer_id) }, o.customer_name),
          el("p", { class: "muted" }, `${ctx.shortTime(o.paid_at)} · ${o.external_id} · ${ctx.yuan(o.amount)}`
            + (o.share_bp !== 10000 ? ` · ${o.share_bp / 100}%` : "")),
          el("p", { class: "why" }, o.why),
          refunded ? el("p", { class: "fail-reason" }, `${t("commission.refunded")} ${ctx.yuan(o.refund_amount)}`) : null,
          el("ul", { class: "muted lines", style: { listStyle: "none", padding: "0", margin: "4px 0 0" } },
            o.lines.map((line) => el("li", { "data-kind": line.kind },
              `${line.kind_label} ${ctx.yuan(line.amount)} · ${line.rule_name || ""} ${line.explanation ? `(${line.explanation})` : ""}`)))),
        el("div", { style: { textAlign: "right" } },
          el("strong", { class: "commission" }, ctx.yuan(o.commission)),
          el("div", {}, el("span", { class: `pill ${o.settled ? "on" : ""}` }, t(o.settled ? "commission.settled" : "commission.pending"))),
          el("div", { class: "muted" }, o.rule_label))));
  }

  /** Achieved against the month's target: every figure is the server's (GET /api/v1/commission). */
  function targetCard(ctx, data) {
    const { el, t } = ctx;
    const box = { class: "month-target", style: { margin: "8px 12px 0", background: "var(--card, #fff)", borderRadius: "10px", padding: "10px 12px" } };
    if (data.target == null) {
      return el("section", box, el("div", { class: "muted" }, t("targets.title")),
        el("p", { class: "target-none" }, t("targets.no_target")),
        el("div", { class: "muted" }, `${t("targets.achieved")} ${ctx.yuan(data.achieved)}`));
    }
    const pct = Math.round((data.attainment || 0) * 100);
    const reached = data.gap === "0.00";
    let pace;
    if (reached) pace = t("targets.reached");
    else if (!data.days_left) pace = t("targets.month_over");
    else pace = t("targets.pace_line", { days: data.days_left, pace: data.pace_per_day });
    return el("section", box,
      el("div", { style: { display: "flex", justifyContent: "space-between", alignItems: "baseline" } },
        el("span", { class: "muted" }, t("targets.title")),
        el("span", { class: "muted" }, `${t("targets.attainment")} ${pct}%`)),
      el("div", { class: "target-achieved" },
        el("strong", { style: { fontSize: "20px" } }, ctx.yuan(data.achieved)),
        el("span", { class: "muted" }, ` / ${ctx.yuan(data.target)}`)),
      el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.min(pct, 100)),
        style: { height: "8px", borderRadius: "4px", background: "var(--bg, #eee)", overflow: "hidden", margin: "6px 0" } },
      el("span", { style: { display: "block", height: "100%", width: `${Math.min(pct, 100)}%`, background: reached ? "var(--green, #1e8e3e)" : "var(--accent, #b8322a)" } })),
      el("div", { style: { display: "flex", justifyContent: "space-between", gap: "8px", flexWrap: "wrap" } },
        el("strong", { class: "target-gap" }, reached ? "" : `${t("targets.gap")} ${ctx.yuan(data.gap)}`),
        el("span", { class: "target-pace muted" }, pace)),
      // Short of the target with days left: the assistant picks whom to contact to close the gap.
      !reached && data.days_left && ctx.me && ctx.me.role === "clerk" ? el("button", {
        type: "button", class: "ghost ask-coach", style: { width: "100%", marginTop: "8px", minHeight: "44px" },
        onclick: () => ctx.navigate("coach", { question: t("coach.q.plan") }) }, t("coach.ask_plan")) : null);
  }

  async function load(root, ctx) {
    const { el, t } = ctx;
    const period = state.period || ctx.period();
    let data;
    try {
      data = await ctx.api(`/api/v1/commission?period=${encodeURIComponent(period)}`);
    } catch (err) {
      root.replaceChildren(el("p", { class: "fail-reason" }, err.error || String(err)));
      return;
    }
    const picker = el("input", { type: "month", value: period, "aria-label": t("commission.period"),
      onchange: () => { state.period = picker.value || null; load(root, ctx); } });
    const m = data.month;
    root.replaceChildren(...[
      el("div", { class: "chat-head" }, el("strong", {}, t("commission.title")), picker,
        el("span", { class: `pill ${data.closed ? "on" : ""}` }, t(data.closed ? "commission.closed" : "commission.open"))),
      targetCard(ctx, data),
      el("div", { class: "stats", style: { display: "flex", flexWrap: "wrap", gap: "8px", padding: "8px 12px" } },
        stat(ctx, `${t("commission.today")} · ${t("commission.commission")}`, ctx.yuan(data.today.commission),
          `${t("commission.sales")} ${ctx.yuan(data.today.sales)}`),
        stat(ctx, `${t("commission.month")} · ${t("commission.commission")}`, ctx.yuan(m.commission),
          `${t("commission.pending")} ${ctx.yuan(m.pending)} · ${t("commission.settled")} ${ctx.yuan(m.settled)}`),
        stat(ctx, `${t("commission.month")} · ${t("commission.sales")}`, ctx.yuan(m.sales),
          `${t("commission.net_sales")} ${ctx.yuan(m.net_sales)} · ${t("commission.orders_count", { n: m.orders })}`),
        stat(ctx, t("commission.rank"), data.rank ? t("commission.rank_of", data.rank) : "—")),
      data.adjustments.length ? el("section", {},
        el("h3", {}, t("commission.adjustments")),
        el("ul", { class: "conversations adjustments" }, data.adjustments.map((a) =>
          el("li", { class: "conversation" }, el("div", { style: { flex: "1" } }, a.reason), el("strong", {}, ctx.yuan(a.amount)))))) : null,
      el("h3", {}, t("commission.orders")),
      data.orders.length
        ? el("ul", { class: "conversations earnings-orders" }, data.orders.map((o) => orderRow(ctx, o)))
        : el("div", { class: "empty" }, el("p", {}, t("commission.no_orders")))].filter(Boolean));
  }

  Daogou.registerScreen("earnings", {
    title: { "zh-CN": "业绩", en: "Earnings" },
    icon: "¥",
    order: 50,
    async render(root, ctx) {
      state.root = root;
      await load(root, ctx);
    },
    onEvent: {
      "commission.earned"(data, ctx) {
        if (data && data.message) ctx.toast(data.message, data.kind === "reversed" ? "error" : "");
        if (state.root && ctx.screenActive("earnings")) load(state.root, ctx);
      },
    },
  });
})();
