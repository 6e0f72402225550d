"use strict";
/* 导购助理 The clerk's coach: ask in your own words ("这个月还差多少？"), get an answer written from
 * the clerk's own figures and customers (POST /api/v1/assistant/ask), each customer a card with
 * 发消息 that opens the chat with a draft ready. Opened from the top bar; no tab of its own. */
(function () {
  const state = { log: null, busy: false };
  const QUESTIONS = ["coach.q.progress", "coach.q.today", "coach.q.running_out", "coach.q.birthday"];

  function customerCard(ctx, c) {
    const { el, t } = ctx;
    return el("li", { class: "coach-customer", "data-customer": c.id },
      el("div", { class: "who" },
        el("button", { type: "button", class: "link", onclick: () => ctx.openCustomer(c.id) }, el("strong", {}, c.name)),
        c.expected_value ? el("span", { class: "muted" }, t("coach.expected", { amount: c.expected_value })) : null),
      c.why ? el("p", { class: "muted why" }, c.why) : null,
      el("button", { type: "button", class: "primary send-to", onclick: () => ctx.openChat(c.id, c.draft || undefined) },
        t("coach.send_message")));
  }

  function bubble(ctx, who, text, customers) {
    const { el } = ctx;
    return el("li", { class: `coach-turn ${who}` },
      el("p", { class: "text" }, text),
      customers && customers.length ? el("ul", { class: "coach-customers" }, customers.map((c) => customerCard(ctx, c))) : null);
  }

  async function ask(ctx, question, input, button) {
    if (state.busy || !question.trim()) return;
    state.busy = true;
    button.disabled = true;
    state.log.append(bubble(ctx, "me", question));
    const waiting = bubble(ctx, "coach pending", ctx.t("coach.asking"));
    state.log.append(waiting);
    waiting.scrollIntoView({ block: "end" });
    try {
      const reply = await ctx.api("/api/v1/assistant/ask", { method: "POST", body: { question } });
      waiting.replaceWith(bubble(ctx, "coach", reply.answer, reply.customers));
      input.value = "";
    } catch (err) {
      waiting.replaceWith(bubble(ctx, "coach failed", (err.fields && err.fields.question) || ctx.t("coach.failed")));
    } finally {
      state.busy = false;
      button.disabled = false;
      state.log.lastElementChild.scrollIntoView({ block: "start" });
    }
  }

  Daogou.registerScreen("coach", {
    title: { "zh-CN": "导购助理", en: "Assistant" },
    icon: "✦",
    order: 90,
    tab: false,
    render(root, ctx, params) {
      const { el, t } = ctx;
      state.log = el("ul", { class: "coach-log", role: "log", "aria-live": "polite" });
      const input = el("input", { type: "text", maxlength: "500", placeholder: t("coach.placeholder"), "aria-label": t("coach.placeholder") });
      const button = el("button", { type: "submit", class: "primary" }, t("coach.ask"));
      const form = el("form", { class: "coach-ask row" }, input, button);
      form.addEventListener("submit", (ev) => { ev.preventDefault(); ask(ctx, input.value, input, button); });
      const chips = el("div", { class: "coach-chips" }, el("span", { class: "muted" }, t("coach.suggestions")),
        QUESTIONS.map((key) => el("button", { type: "button", class: "chip", onclick: () => ask(ctx, t(key), input, button) }, t(key))));
      root.replaceChildren(el("div", { class: "coach" }, chips, state.log, form));
      if (params && params.question) ask(ctx, params.question, input, button);  // asked from another screen
    },
  });
})();
