"use strict";
/* 今日 Today: the followers worth contacting now, ranked by expected value, each with the reasons
 * that moved their score and a suggested action. One tap opens the chat (and records "contacted");
 * "skip" hides the card for today. Both are recorded so the ranker can learn from outcomes. */
(function () {
  const state = { root: null };

  async function record(ctx, item, action) {
    try {
      await ctx.api(`/api/v1/today/${item.customer_id}/outcome`, { method: "POST", body: { action } });
    } catch (err) {
      ctx.toast(err.error || String(err));
    }
  }

  function card(ctx, item, reload) {
    const { el, t } = ctx;
    const last = item.last_interaction;
    return el("li", { class: "today-card", "data-customer": item.customer_id,
      style: { background: "var(--card, #fff)", borderRadius: "10px", padding: "10px 12px", margin: "8px 0", listStyle: "none" } },
      el("div", { style: { display: "flex", justifyContent: "space-between", alignItems: "baseline", gap: "8px" } },
        el("button", { type: "button", class: "link", onclick: () => ctx.openCustomer(item.customer_id) },
          el("strong", {}, item.name)),
        el("span", { style: { display: "flex", gap: "6px", alignItems: "baseline" } },
          item.send_after ? el("span", { class: "pill send-after" }, t("today.send_after", { until: item.send_after })) : null,
          item.action_label ? el("span", { class: "pill on", "data-action": item.action }, item.action_label) : null)),
      el("ul", { class: "reasons", style: { margin: "6px 0", paddingLeft: "18px" } },
        item.reasons.map((r) => el("li", { class: r.code === "fallback" ? "muted" : "", "data-code": r.code }, r.text))),
      el("p", { class: "muted", style: { margin: "4px 0" } },
        t("today.expected", { amount: item.expected_value }),
        last ? ` · ${t("today.last")} ${ctx.shortTime(last.at)}${last.preview ? `「${last.preview}」` : ""}` : ""),
      el("div", { style: { display: "flex", gap: "8px" } },
        el("button", { type: "button", class: "primary", style: { flex: "1" },
          onclick: async () => { await record(ctx, item, "contacted"); ctx.openChat(item.customer_id); } },
          t("today.chat")),
        el("button", { type: "button",
          onclick: async () => { await record(ctx, item, "skipped"); reload(); } },
          t("today.skip"))));
  }

  async function load(root, ctx) {
    const { el, t } = ctx;
    let data;
    try {
      data = await ctx.api("/api/v1/today");
    } catch (err) {
      root.replaceChildren(el("p", { class: "fail-reason" }, err.error || String(err)));
      return;
    }
    const reload = () => load(root, ctx);
    const quiet = data.quiet_hours
      ? el("p", { class: "muted quiet" }, t("today.quiet", { until: data.quiet_hours.until })) : null;
    if (!data.items.length) {
      root.replaceChildren(quiet || el("span"), el("p", { class: "placeholder muted" }, t("today.empty")));
      ctx.setBadge("today", 0);
      return;
    }
    root.replaceChildren(quiet || el("span"), el("ul", { class: "today-list", style: { padding: "0 8px" } },
      data.items.map((item) => card(ctx, item, reload))));
    ctx.setBadge("today", data.items.length);
  }

  Daogou.registerScreen("today", {
    title: { "zh-CN": "今日", en: "Today" },
    icon: "☀",
    order: 20,
    async render(root, ctx) {
      state.root = root;
      if (ctx.me && ctx.me.role !== "clerk") {
        root.replaceChildren(ctx.el("p", { class: "placeholder muted" }, ctx.t("today.empty")));
        return;
      }
      await load(root, ctx);
    },
    onEvent: {
      "today.updated"(_data, ctx) {
        if (state.root) load(state.root, ctx);
      },
    },
  });
})();
