"use strict";
/* The chat composer of 消息: text, quick replies, drafts, product cards and images. The messages
 * screen builds it for the open chat and hands it its sending function (sends stay optimistic and
 * idempotent there) and its product card renderer. */
(function () {
  // The scenario keys of POST /api/v1/drafts (assistant/drafting).
  const SCENARIOS = ["unpaid", "replenish", "birthday", "festival", "winback", "new_arrival", "aftercare"];
  const cache = { quickReplies: null };

  function build(ctx, chat, hooks) {
    const input = ctx.el("textarea", { rows: "1", placeholder: ctx.t("messages.placeholder"), "aria-label": ctx.t("messages.placeholder"), maxlength: "2000" });
    const panel = ctx.el("div", { class: "composer-panel" });
    const sendButton = ctx.el("button", { type: "submit", class: "primary send" }, ctx.t("messages.send"));
    const fileInput = ctx.el("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", hidden: true });
    input.addEventListener("input", () => {
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
    const togglePanel = (open, extra) => {
      if (panel.dataset.open === open.name) { panel.replaceChildren(); panel.dataset.open = ""; return; }
      panel.dataset.open = open.name;
      open(ctx, panel, input, chat, extra || hooks);
    };
    const tools = ctx.el("div", { class: "tools" },
      ctx.el("button", { type: "button", class: "quick", onclick: () => togglePanel(quickRepliesPanel) }, `⚡ ${ctx.t("messages.quick_replies")}`),
      ctx.el("button", { type: "button", class: "draft", onclick: () => togglePanel(draftPanel, hooks) }, `✎ ${ctx.t("messages.draft")}`),
      ctx.el("button", { type: "button", class: "products", onclick: () => togglePanel(productPanel, hooks) }, `◈ ${ctx.t("messages.product")}`),
      ctx.el("button", { type: "button", class: "image", onclick: () => fileInput.click() }, `▣ ${ctx.t("messages.image")}`));
    fileInput.addEventListener("change", async () => {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (!file) return;
      const form = new FormData();
      form.append("file", file);
      try {
        const up = await ctx.api("/api/v1/uploads", { method: "POST", body: form });
        hooks.queueSend(ctx, chat.conv.id, { type: "image", body: "", payload: { url: up.url } });
      } catch (err) {
        ctx.toast(ctx.t("messages.upload_failed", { error: fieldReason(err) }), "error");
      }
    });
    const form = ctx.el("form", { class: "row" }, input, sendButton);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      input.style.height = "auto";
      hooks.queueSend(ctx, chat.conv.id, { type: "text", body: text, payload: null, draftId: chat.draftId || null });
      chat.draftId = null;
      input.focus();
    });
    const hold = chat.conv.send_hold;
    const holdNote = hold && hold.notice
      ? ctx.el("p", { class: "send-hold", role: "note" }, hold.notice)
      : null;
    return ctx.el("div", { class: "composer" }, holdNote, panel, tools, form, fileInput);
  }

  function fieldReason(err) {
    const fields = err.fields || {};
    const first = Object.keys(fields)[0];
    return first ? `${err.error}（${first}: ${fields[first]}）` : (err.error || String(err));
  }

  async function quickRepliesPanel(ctx, panel, input) {
    if (!cache.quickReplies) {
      try { cache.quickReplies = (await ctx.api("/api/v1/quick-replies")).quick_replies; } catch (err) { panel.replaceChildren(ctx.el("p", { class: "notice" }, err.error)); return; }
    }
    const list = ctx.el("ul", { class: "quick-replies" });
    const render = () => {
      list.replaceChildren(...cache.quickReplies.map((r) => ctx.el("li", {},
        ctx.el("button", { type: "button", class: "use", onclick: () => { input.value = r.text; input.dispatchEvent(new Event("input")); input.focus(); panel.replaceChildren(); panel.dataset.open = ""; } }, r.text),
        r.shared ? ctx.el("span", { class: "scope" }, ctx.t("messages.quick_shared"))
          : ctx.el("button", { type: "button", class: "link", "aria-label": ctx.t("messages.quick_delete"), onclick: async () => {
            try {
              await ctx.api(`/api/v1/quick-replies/${r.id}`, { method: "DELETE" });
              cache.quickReplies = cache.quickReplies.filter((x) => x.id !== r.id);
              render();
            } catch (err) { ctx.toast(err.error, "error"); }
          } }, "✕"))));
      if (!cache.quickReplies.length) list.append(ctx.el("li", { class: "muted" }, ctx.el("span", { class: "use" }, ctx.t("messages.quick_empty"))));
      const text = ctx.el("input", { placeholder: ctx.t("messages.quick_add"), maxlength: "500" });
      const add = ctx.el("form", { class: "add" }, text, ctx.el("button", { type: "submit", class: "ghost" }, ctx.t("messages.quick_add_button")));
      add.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if (!text.value.trim()) return;
        try {
          const created = await ctx.api("/api/v1/quick-replies", { method: "POST", body: { text: text.value } });
          cache.quickReplies.push(created.quick_reply);
          render();
        } catch (err) { ctx.toast(fieldReason(err), "error"); }
      });
      list.append(ctx.el("li", {}, add));
    };
    render();
    panel.replaceChildren(list);
  }

  function draftPanel(ctx, panel, input, chat, hooks) {
    const choices = ctx.el("div", { class: "draft-choices" }, SCENARIOS.map((scenario) => ctx.el("button", {
      type: "button", "data-scenario": scenario,
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          const draft = await ctx.api("/api/v1/drafts", { method: "POST", body: {
            customer_id: chat.conv.customer_id, scenario, channel: chat.conv.last_channel || undefined,
          } });
          const text = draft.text || (draft.draft && draft.draft.text) || "";
          input.value = text;
          input.dispatchEvent(new Event("input"));
          input.focus();
          chat.draftId = draft.draft_id || null;  // reported as sent as is / edited once sent
          ctx.toast(ctx.t("messages.draft_inserted"));
          if (draft.products && draft.products.length) {
            panel.replaceChildren(productChoices(ctx, chat, draft.products, hooks));
          } else {
            panel.replaceChildren();
            panel.dataset.open = "";
          }
        } catch (err) {
          const message = err.status === 404 && !Object.keys(err.fields || {}).length
            ? ctx.t("messages.draft_unavailable")
            : ctx.t("messages.draft_failed", { error: fieldReason(err) });
          panel.replaceChildren(ctx.el("p", { class: "notice", role: "alert" }, message));
        }
      },
    }, ctx.t(`scenario.${scenario}`))));
    panel.replaceChildren(ctx.el("p", { class: "muted" }, ctx.t("messages.draft_pick")), choices);
  }

  /** Product cards to send: from a draft, or the recommendations for this customer. */
  function productChoices(ctx, chat, products, hooks) {
    return ctx.el("ul", { class: "product-choices" }, products.map((p) => {
      const payload = { sku: p.sku, name: p.name, price: p.price, image_url: p.image || p.image_url || null, url: p.link || p.url || null };
      return ctx.el("li", {},
        hooks.productCard(ctx, payload),
        ctx.el("div", { class: "why" },
          p.reason ? ctx.el("span", { class: "muted" }, p.reason) : null,
          ctx.el("button", { type: "button", class: "ghost send-product", onclick: (ev) => {
            ev.currentTarget.disabled = true;
            hooks.queueSend(ctx, chat.conv.id, { type: "product", body: p.name, payload });
          } }, ctx.t("messages.send_product"))));
    }));
  }

  async function productPanel(ctx, panel, _input, chat, hooks) {
    panel.replaceChildren(ctx.el("p", { class: "muted" }, ctx.t("console.loading")));
    try {
      const data = await ctx.api(`/api/v1/recommendations?customer_id=${chat.conv.customer_id}&limit=6`);
      panel.replaceChildren(data.products.length ? productChoices(ctx, chat, data.products, hooks)
        : ctx.el("p", { class: "notice" }, ctx.t("messages.no_products")));
    } catch (err) {
      panel.replaceChildren(ctx.el("p", { class: "notice", role: "alert" },
        err.status === 404 && !Object.keys(err.fields || {}).length ? ctx.t("messages.products_unavailable") : fieldReason(err)));
    }
  }

  window.DaogouComposer = { build, fieldReason };
})();
