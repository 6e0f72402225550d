"use strict";
/* 消息 Messages: the conversation list and the chat view.
 *
 * Every message — from the API or a realtime event — goes through one renderer that sets text
 * with textContent, so customer text can never become HTML. Sending is optimistic and
 * idempotent: each message gets a client id before the first try, and the same id is retried
 * after a dropped connection, so the server sends it once. */
(function () {
  const TICKS = { sending: "…", scheduled: "◷", queued: "✓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!", cancelled: "✕" };

  const state = {
    ctx: null,
    root: null,
    conversations: new Map(),   // id -> conversation (the clerk's own threads)
    pool: new Map(),            // id -> conversation waiting in the store's pool (待接待)
    tab: "mine",                // "mine" | "pool"
    poolWaiting: 0,
    listEl: null,
    nextOffset: null,
    chat: null,                 // {conv, logEl, byId: Map, byClient: Map, oldestId, more, readOnly}
    pending: new Map(),         // client_id -> {conversationId, body, type, payload, tries}
  };

  const PENDING_KEY = "daogou.pendingSends";
  function savePending() {
    try { sessionStorage.setItem(PENDING_KEY, JSON.stringify([...state.pending.entries()])); } catch (_full) { /* best effort */ }
  }
  function loadPending() {
    try { for (const [k, v] of JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]")) state.pending.set(k, v); } catch (_bad) { /* ignore */ }
  }

  function unreadTotal() {
    let n = 0;
    for (const c of state.conversations.values()) n += c.unread_count || 0;
    return n;
  }

  function updateBadge(ctx, total) {
    if (total !== undefined) state.unreadTotal = total;
    else state.unreadTotal = unreadTotal();
    ctx.setBadge("messages", state.unreadTotal + state.poolWaiting);
    if (state.tabsEl) renderTabs(ctx);
  }

  /** 消息 | 待接待 (n): the clerk's threads, and customers no one serves yet. */
  function renderTabs(ctx) {
    const tab = (name, label) => ctx.el("button", {
      type: "button", role: "tab", class: `conv-tab ${state.tab === name ? "active" : ""}`, "aria-selected": String(state.tab === name),
      "data-tab": name, onclick: () => { state.tab = name; renderConversationList(state.root, ctx); },
    }, label);
    state.tabsEl.replaceChildren(
      tab("mine", ctx.t("messages.tab_mine")),
      tab("pool", state.poolWaiting ? ctx.t("messages.tab_pool_n", { n: state.poolWaiting }) : ctx.t("messages.tab_pool")));
  }

  // Conversation list ------------------------------------------------------------------------
  /** Threads waiting for an answer first (the same order as the server's), then newest. */
  function sortedConversations() {
    const waiting = (c) => (c.unread_count > 0 ? 1 : 0);
    const key = (c) => c.last_message_at || "";
    return [...state.conversations.values()].sort((a, b) => (waiting(b) - waiting(a))
      || (key(b) > key(a) ? 1 : key(b) < key(a) ? -1 : b.id - a.id));
  }

  function conversationRow(ctx, c) {
    const name = (c.customer && c.customer.name) || `#${c.customer_id}`;
    return ctx.el("li", {
      class: `conversation ${c.unread_count ? "unread" : ""}`, "data-conversation": c.id,
      onclick: () => openConversation(ctx, c.id),
    },
    ctx.el("div", { class: "avatar" }, name.slice(0, 1)),
    ctx.el("div", { class: "main" },
      ctx.el("div", { class: "top" },
        ctx.el("span", { class: "name" }, name),
        c.customer && c.customer.stage_label ? ctx.el("span", { class: "muted" }, c.customer.stage_label) : null,
        ctx.el("span", { class: "time" }, ctx.shortTime(c.last_message_at))),
      ctx.el("div", { class: "bottom" },
        ctx.el("span", { class: "preview" }, c.last_message_preview || ""),
        c.unread_count ? ctx.el("span", { class: "badge" }, c.unread_count > 99 ? "99+" : String(c.unread_count)) : null)));
  }

  function renderList(ctx) {
    if (!state.listEl) return;
    const pool = state.tab === "pool";
    const rows = pool ? [...state.pool.values()].sort((a, b) => (a.waiting_since || a.last_message_at || "") < (b.waiting_since || b.last_message_at || "") ? -1 : 1)
      : sortedConversations();
    state.listEl.replaceChildren(...rows.map((c) => conversationRow(ctx, c)));
    if (!rows.length) {
      const empty = pool ? "messages.pool_empty" : state.query ? "messages.no_match" : "messages.empty";
      state.listEl.append(ctx.el("li", { class: "empty" }, ctx.t(empty)));
    }
  }

  async function loadConversations(ctx, { offset = 0, q = "", pool = false } = {}) {
    const params = new URLSearchParams({ limit: "30", offset: String(offset) });
    if (q) params.set("q", q);
    if (pool) params.set("pool", "1");
    const data = await ctx.api(`/api/v1/conversations?${params}`);
    const into = pool ? state.pool : state.conversations;
    if (offset === 0) into.clear();
    for (const c of data.conversations) into.set(c.id, c);
    state.nextOffset = data.next_offset;
    if (typeof data.pool_waiting === "number" && !q) state.poolWaiting = data.pool_waiting;
    if (data.unread_total !== null && data.unread_total !== undefined && !q) updateBadge(ctx, data.unread_total);
    return data;
  }

  async function renderConversationList(root, ctx) {
    state.chat = null;
    const search = ctx.el("input", { type: "search", placeholder: ctx.t("messages.search"), "aria-label": ctx.t("messages.search") });
    state.listEl = ctx.el("ul", { class: "conversations" });
    const more = ctx.el("button", { type: "button", class: "ghost more", hidden: true }, ctx.t("messages.more"));
    let q = "";
    state.query = "";
    let timer = null;
    const pool = state.tab === "pool";
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        q = search.value.trim();
        state.query = q;
        await loadConversations(ctx, { q, pool });
        renderList(ctx);
        more.hidden = state.nextOffset === null;
      }, 250);
    });
    more.addEventListener("click", async () => {
      await loadConversations(ctx, { offset: state.nextOffset, q, pool });
      renderList(ctx);
      more.hidden = state.nextOffset === null;
    });
    state.tabsEl = ctx.el("div", { class: "conv-tabs", role: "tablist" });
    renderTabs(ctx);
    root.replaceChildren(state.tabsEl, notificationBar(ctx) || "", ctx.el("div", { class: "conv-search" }, search), state.listEl, more);
    await loadConversations(ctx, { pool });
    renderTabs(ctx);
    renderList(ctx);
    more.hidden = state.nextOffset === null;
  }

  // Chat view ----------------------------------------------------------------------------------
  function productCard(ctx, payload) {
    const p = payload || {};
    return ctx.el(p.url ? "a" : "div", { class: "product-card", href: p.url || null, target: p.url ? "_blank" : null, rel: "noopener" },
      p.image_url ? ctx.el("img", { src: p.image_url, alt: "", loading: "lazy" }) : null,
      ctx.el("div", {},
        ctx.el("div", { class: "pname" }, p.name || p.sku || ctx.t("messages.product")),
        p.price ? ctx.el("div", { class: "price" }, ctx.yuan(p.price)) : null,
        p.sku ? ctx.el("div", { class: "muted" }, p.sku) : null));
  }

  function messageContent(ctx, m) {
    if (m.type === "image" && m.payload && m.payload.url) {
      return ctx.el("div", { class: "bubble image" }, ctx.el("img", { src: m.payload.url, alt: ctx.t("messages.image"), loading: "lazy" }));
    }
    if (m.type === "product") return productCard(ctx, m.payload || { name: m.body });
    return ctx.el("div", { class: "bubble" }, m.body || "");
  }

  function statusMeta(ctx, m) {
    if (m.direction !== "out") return null;
    const status = m.status || "queued";
    const parts = [ctx.el("span", { class: `tick ${status}`, title: ctx.t(`messages.status.${status}`), "data-status": status }, TICKS[status] || "")];
    if (status === "scheduled") {
      const until = m.payload && m.payload.deferred_until;
      parts.push(ctx.el("span", { class: "deferred-note" },
        ctx.t("messages.status.scheduled_until", { time: until ? ctx.laterTime(until) : "" })));
      if (m.id) {
        parts.push(ctx.el("button", { type: "button", class: "link cancel-send", onclick: () => cancelScheduled(ctx, m) },
          ctx.t("messages.cancel_send")));
      }
    }
    if (status === "cancelled") {
      parts.push(ctx.el("span", { class: "fail-reason" }, `${ctx.t("messages.status.cancelled")}${m.error ? `：${m.error}` : ""}`));
    }
    if (status === "failed") {
      parts.push(ctx.el("span", { class: "fail-reason" }, `${ctx.t("messages.status.failed")}${m.error ? `：${m.error}` : ""}`));
      if (m.client_id && state.pending.has(m.client_id)) {
        parts.push(ctx.el("button", { type: "button", class: "link", onclick: () => trySend(ctx, m.client_id) }, ctx.t("messages.retry")));
      }
    }
    return parts;
  }

  function messageNode(ctx, m) {
    if (m.type === "note" || m.type === "event") {  // a handover note or "关注了公众号": staff-only lines
      return ctx.el("div", { class: "msg system", "data-message": m.id || "" },
        ctx.el("span", {}, `${m.body || ""} · ${ctx.shortTime(m.created_at)}`));
    }
    return ctx.el("div", {
      class: `msg ${m.direction === "out" ? "out" : "in"}`, "data-message": m.id || "", "data-client": m.client_id || "",
    },
    messageContent(ctx, m),
    ctx.el("div", { class: "meta" }, ctx.el("span", {}, ctx.shortTime(m.created_at)), statusMeta(ctx, m)));
  }

  /** Insert or replace one message in the open chat, keeping id order; true if it was new. */
  function upsertMessage(ctx, m) {
    const chat = state.chat;
    if (!chat || m.conversation_id !== chat.conv.id) return false;
    const existing = (m.id && chat.byId.get(m.id)) || (m.client_id && chat.byClient.get(m.client_id));
    const node = messageNode(ctx, m);
    node._message = m;
    if (existing) {
      // A status can arrive before the message itself is confirmed; never go back.
      const old = existing._message;
      if (old && old.id && m.status && rank(old.status) > rank(m.status)) { m.status = old.status; m.error = old.error; }
      const fresh = messageNode(ctx, { ...old, ...m });
      fresh._message = { ...old, ...m };
      existing.replaceWith(fresh);
      if (m.id) chat.byId.set(m.id, fresh);
      if (m.client_id) chat.byClient.set(m.client_id, fresh);
      return false;
    }
    const stick = chat.logEl.scrollHeight - chat.logEl.scrollTop - chat.logEl.clientHeight < 80;
    let before = null;
    if (m.id) {
      for (const child of chat.logEl.children) {
        const id = child._message && child._message.id;
        if (id && id > m.id) { before = child; break; }
      }
    }
    chat.logEl.insertBefore(node, before);
    if (m.id) chat.byId.set(m.id, node);
    if (m.client_id) chat.byClient.set(m.client_id, node);
    if (stick || m.direction === "out") chat.logEl.scrollTop = chat.logEl.scrollHeight;
    return true;
  }

  const ORDER = ["sending", "scheduled", "queued", "sent", "delivered", "read"];
  function rank(status) { return status === "failed" || status === "cancelled" ? 99 : ORDER.indexOf(status); }

  async function cancelScheduled(ctx, m) {
    try {
      const data = await ctx.api(`/api/v1/messages/${m.id}/cancel`, { method: "POST" });
      upsertMessage(ctx, data.message);
    } catch (err) {
      ctx.toast(window.DaogouComposer.fieldReason(err), "error");
    }
  }

  async function loadOlder(ctx) {
    const chat = state.chat;
    const params = new URLSearchParams({ limit: "30" });
    if (chat.oldestId) params.set("before_id", String(chat.oldestId));
    const data = await ctx.api(`/api/v1/conversations/${chat.conv.id}/messages?${params}`);
    if (state.chat !== chat) return data;
    const top = chat.logEl.scrollHeight - chat.logEl.scrollTop;
    for (const m of data.messages) upsertMessage(ctx, m);
    if (data.messages.length) chat.oldestId = data.messages[0].id;
    chat.more = data.more;
    chat.olderButton.hidden = !data.more;
    if (chat.oldestId && params.has("before_id")) chat.logEl.scrollTop = chat.logEl.scrollHeight - top;
    return data;
  }

  async function openConversation(ctx, conversationId) {
    if (ctx.screenActive && !ctx.screenActive("messages")) ctx.navigate("messages");
    await renderChat(state.root, ctx, conversationId);
  }

  async function renderChat(root, ctx, conversationId, draft) {
    const logEl = ctx.el("div", { class: "chat-log", role: "log", "aria-live": "polite" });
    const olderButton = ctx.el("button", { type: "button", class: "ghost more", hidden: true }, ctx.t("messages.older"));
    const chat = { conv: { id: conversationId }, logEl, olderButton, byId: new Map(), byClient: new Map(), oldestId: null, more: false };
    state.chat = chat;
    state.listEl = null;
    state.tabsEl = null;
    olderButton.addEventListener("click", () => loadOlder(ctx));
    logEl.append(olderButton);
    const data = await loadOlder(ctx);
    if (state.chat !== chat) return;
    chat.conv = data.conversation;
    const readOnly = !ctx.me || chat.conv.clerk_id !== ctx.me.id;
    if (!chat.conv.pooled) state.conversations.set(chat.conv.id, { ...chat.conv, unread_count: readOnly ? chat.conv.unread_count : 0 });
    updateBadge(ctx);
    // Sends still waiting from before a reload or a dropped connection show up again here.
    for (const [clientId, p] of state.pending) {
      if (p.conversationId === chat.conv.id && !chat.byClient.has(clientId)) {
        upsertMessage(ctx, localMessage(clientId, p));
      }
    }
    const customer = chat.conv.customer || { id: chat.conv.customer_id, name: `#${chat.conv.customer_id}` };
    const head = ctx.el("div", { class: "chat-head" },
      ctx.el("button", { type: "button", class: "link back", onclick: () => renderConversationList(root, ctx) }, `‹ ${ctx.t("messages.back")}`),
      ctx.el("button", { type: "button", class: "who", onclick: () => ctx.openCustomer(customer.id) },
        ctx.el("span", { class: "name" }, customer.name),
        ctx.el("span", { class: "sub" }, [customer.stage_label, chat.conv.last_channel_label].filter(Boolean).join(" · "))),
      ctx.el("button", { type: "button", class: "link profile", onclick: () => ctx.openCustomer(customer.id) }, ctx.t("messages.profile")));
    const composer = chat.conv.pooled ? claimBar(ctx, chat)
      : readOnly ? ctx.el("div", { class: "composer" }, ctx.el("p", { class: "muted" }, ctx.t("messages.read_only")))
        : window.DaogouComposer.build(ctx, chat, { queueSend, productCard });
    root.replaceChildren(ctx.el("div", { class: "chat", "data-conversation": chat.conv.id }, head, logEl, composer));
    const box = composer.querySelector("textarea");
    if (draft && box) {  // a draft handed over (the assistant's 发消息): ready to send or change
      box.value = draft;
      box.dispatchEvent(new Event("input"));
    }
    logEl.scrollTop = logEl.scrollHeight;
  }

  /** A pooled thread: anyone of the store may take it; the first tap wins. */
  function claimBar(ctx, chat) {
    const note = ctx.el("p", { class: "muted" }, ctx.t("messages.pool_hint"));
    const button = ctx.el("button", { type: "button", class: "primary claim" }, ctx.t("messages.claim"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const data = await ctx.api(`/api/v1/conversations/${chat.conv.id}/claim`, { method: "POST" });
        state.pool.delete(chat.conv.id);
        state.poolWaiting = Math.max(0, state.poolWaiting - 1);
        state.conversations.set(data.conversation.id, data.conversation);
        ctx.toast(ctx.t("messages.claimed"));
        await renderChat(state.root, ctx, data.conversation.id);
      } catch (err) {
        note.textContent = (err.fields && err.fields.conversation_id) || err.error || String(err);
        ctx.toast(note.textContent, "error");
      }
    });
    return ctx.el("div", { class: "composer claim-bar" }, note, button);
  }

  function localMessage(clientId, p) {
    return {
      id: null, client_id: clientId, conversation_id: p.conversationId, direction: "out", type: p.type,
      body: p.body, payload: p.payload, status: p.failed ? "failed" : "sending", error: p.error || null,
      created_at: p.createdAt,
    };
  }

  // Sending ------------------------------------------------------------------------------------
  function queueSend(ctx, conversationId, { type, body, payload, draftId }) {
    const clientId = ctx.clientId();
    const p = { conversationId, type, body, payload, draftId, createdAt: new Date().toISOString(), tries: 0 };
    state.pending.set(clientId, p);
    savePending();
    upsertMessage(ctx, localMessage(clientId, p));
    trySend(ctx, clientId);
  }

  async function trySend(ctx, clientId) {
    const p = state.pending.get(clientId);
    if (!p || p.inFlight) return;
    p.inFlight = true;
    p.tries += 1;
    p.failed = false;
    upsertMessage(ctx, localMessage(clientId, p));
    try {
      const data = await ctx.api(`/api/v1/conversations/${p.conversationId}/messages`, {
        method: "POST", body: { client_id: clientId, type: p.type, body: p.body, payload: p.payload || undefined },
      });
      state.pending.delete(clientId);
      savePending();
      upsertMessage(ctx, data.message);
      touchConversation(ctx, data.message);
      if (p.draftId) {
        // Tell drafting whether its draft went out as is or edited (it compares the texts).
        ctx.api(`/api/v1/drafts/${p.draftId}/outcome`, { method: "POST", body: { outcome: "sent", message_id: data.message.id } })
          .catch(() => { /* drafting statistics only; the message is sent */ });
      }
    } catch (err) {
      p.inFlight = false;
      if (err.status === 0 || err.status >= 500) {
        // The request may or may not have reached the server: keep it and retry with the same
        // client id once back online; the server answers the original message if it had it.
        ctx.toast(ctx.t("messages.will_retry"));
      } else {
        p.failed = true;
        p.error = window.DaogouComposer.fieldReason(err);
        upsertMessage(ctx, localMessage(clientId, p));
        ctx.toast(ctx.t("messages.send_failed", { error: p.error }), "error");
        state.pending.delete(clientId);
        savePending();
        return;
      }
      upsertMessage(ctx, localMessage(clientId, p));
    }
    p.inFlight = false;
  }

  function retryPending(ctx) {
    for (const [clientId, p] of state.pending) if (!p.failed) trySend(ctx, clientId);
  }

  function touchConversation(ctx, m, conv) {
    const known = state.conversations.get(m.conversation_id);
    const merged = { ...(known || {}), ...(conv || {}) };
    if (!merged.id) merged.id = m.conversation_id;
    if (!conv) {
      merged.last_message_at = m.created_at;
      merged.last_message_preview = m.type === "image" ? ctx.t("messages.image_sent") : (m.body || "").slice(0, 60);
    }
    const open = state.chat && state.chat.conv.id === m.conversation_id;
    if (open) merged.unread_count = 0;
    state.conversations.set(merged.id, merged);
    return { merged, open, known };
  }

  // Realtime -----------------------------------------------------------------------------------
  async function onMessageCreated(data, ctx) {
    const m = data.message;
    if (data.conversation && data.conversation.pooled) return onPooledMessage(data, ctx);
    const { merged, open, known } = touchConversation(ctx, m, data.conversation);
    if (open) {
      upsertMessage(ctx, m);
      if (m.direction === "in" && state.chat.conv.clerk_id === (ctx.me && ctx.me.id)) {
        // Reading the newest page marks the thread read for every tab.
        ctx.api(`/api/v1/conversations/${m.conversation_id}/messages?limit=1`).catch(() => {});
      }
    }
    if (!known || !known.customer) {
      try {
        const fresh = await ctx.api(`/api/v1/conversations/${m.conversation_id}`);
        state.conversations.set(m.conversation_id, { ...fresh.conversation, ...(open ? { unread_count: 0 } : {}) });
      } catch (_gone) { /* not visible to us */ }
    }
    if (m.direction === "in") {
      const c = state.conversations.get(m.conversation_id) || merged;
      ctx.notify(ctx.t("messages.notify_title", { name: (c.customer && c.customer.name) || "" }), preview(ctx, m), `conv-${m.conversation_id}`);
    }
    // A staff-only note (type "event": "王女士 看了你发的商品页") is toasted by its own live event.
    if (m.direction === "in" && m.type !== "event" && !open && (!ctx.screenActive || !ctx.screenActive("messages"))) {
      const c = state.conversations.get(m.conversation_id) || merged;
      ctx.toast(ctx.t("messages.new_message", { name: (c.customer && c.customer.name) || "", text: m.type === "text" ? m.body.slice(0, 40) : ctx.t("messages.image_sent") }));
    }
    updateBadge(ctx);
    renderList(ctx);
  }

  async function onPooledMessage(data, ctx) {
    const m = data.message;
    const conv = data.conversation;
    const known = state.pool.get(conv.id);
    if (!known) state.poolWaiting += 1;
    state.pool.set(conv.id, { ...(known || {}), ...conv });
    if (!known || !known.customer) {
      try { state.pool.set(conv.id, (await ctx.api(`/api/v1/conversations/${conv.id}`)).conversation); } catch (_gone) { /* not ours */ }
    }
    const watching = state.listEl && state.tab === "pool" && ctx.screenActive && ctx.screenActive("messages");
    if (m.direction === "in") {
      const c = state.pool.get(conv.id) || conv;
      ctx.notify(ctx.t("messages.notify_pool_title", { name: (c.customer && c.customer.name) || "" }), preview(ctx, m), `conv-${conv.id}`);
    }
    if (state.chat && state.chat.conv.id === conv.id) upsertMessage(ctx, m);
    else if (m.direction === "in" && !watching) {
      const c = state.pool.get(conv.id);
      ctx.toast(ctx.t("messages.pool_new", { name: (c.customer && c.customer.name) || "", text: (m.body || "").slice(0, 40) }));
    }
    updateBadge(ctx);
    renderList(ctx);
  }

  function preview(ctx, m) {
    return m.type === "text" || m.type === "event" ? (m.body || "").slice(0, 60) : ctx.t("messages.image_sent");
  }

  /** "开启新消息提醒": asked once, by a tap (browsers only allow asking from a gesture). */
  function notificationBar(ctx) {
    if (!("Notification" in window) || Notification.permission !== "default") return null;
    const bar = ctx.el("div", { class: "notify-bar" }, ctx.el("span", {}, ctx.t("messages.notify_ask")));
    bar.append(ctx.el("button", { type: "button", class: "ghost", onclick: () => {
      Notification.requestPermission().then(() => bar.remove()).catch(() => bar.remove());
    } }, ctx.t("messages.notify_on")));
    return bar;
  }

  /** Someone took a pooled thread (maybe us, maybe a colleague first). */
  async function onConversationClaimed(data, ctx) {
    const pooledId = data.pooled_conversation_id || data.conversation_id;
    if (data.clerk_id === null || data.clerk_id === undefined) {  // put back into a pool
      if (data.removed_from === (ctx.me && ctx.me.id)) state.conversations.delete(data.conversation_id);
      await loadConversations(ctx, { pool: state.tab === "pool" }).catch(() => {});
    } else if (state.pool.delete(pooledId) || state.pool.delete(data.conversation_id)) {
      state.poolWaiting = Math.max(0, state.poolWaiting - 1);
    }
    if (ctx.me && data.clerk_id === ctx.me.id) {
      try {
        const fresh = await ctx.api(`/api/v1/conversations/${data.conversation_id}`);
        state.conversations.set(data.conversation_id, fresh.conversation);
      } catch (_gone) { /* ignore */ }
    } else if (state.chat && state.chat.conv.id === pooledId && state.chat.conv.pooled) {
      await renderChat(state.root, ctx, pooledId).catch(() => ctx.toast(ctx.t("messages.taken"), "error"));
    }
    updateBadge(ctx);
    renderList(ctx);
  }

  /** A thread was sent to our store's pool (head office or another store routed it here). */
  async function onConversationPooled(data, ctx) {
    try {
      const fresh = (await ctx.api(`/api/v1/conversations/${data.conversation_id}`)).conversation;
      if (!state.pool.has(fresh.id)) state.poolWaiting += 1;
      state.pool.set(fresh.id, fresh);
    } catch (_notOurs) { return; }
    updateBadge(ctx);
    renderList(ctx);
  }

  function onMessageStatus(data, ctx) {
    if (state.chat && state.chat.conv.id === data.conversation_id) {
      const node = state.chat.byId.get(data.message_id) || (data.client_id && state.chat.byClient.get(data.client_id));
      if (node && node._message) {
        upsertMessage(ctx, { ...node._message, id: data.message_id, client_id: data.client_id, status: data.status, error: data.error });
      }
    }
  }

  function onConversationRead(data, ctx) {
    const c = state.conversations.get(data.conversation_id);
    if (c) c.unread_count = 0;
    updateBadge(ctx);
    renderList(ctx);
  }

  Daogou.registerScreen("messages", {
    title: { "zh-CN": "消息", en: "Messages" },
    icon: "✉",
    order: 10,
    boot(ctx) {
      state.ctx = ctx;
      loadPending();
      ctx.on("connection", ({ online, reconnected }) => {
        if (!online) return;
        retryPending(ctx);
        if (!reconnected) return;
        // Unread counts and "read" marks are not replayed events; refresh them on reconnect.
        loadConversations(ctx).then(() => renderList(ctx)).catch(() => {});
      });
      ctx.on("conversation.read", (data) => onConversationRead(data, ctx));
      window.addEventListener("online", () => retryPending(ctx));
      // The tab's unread badge, even when the clerk starts on another screen.
      if (!ctx.screenActive("messages")) loadConversations(ctx).catch(() => {});
    },
    async render(root, ctx, params) {
      state.root = root;
      if (params && params.customerId) {
        const opened = await ctx.api("/api/v1/conversations", { method: "POST", body: { customer_id: params.customerId } });
        await renderChat(root, ctx, opened.conversation.id, params.draft);
        return;
      }
      if (params && params.conversationId) {
        await renderChat(root, ctx, params.conversationId);
        return;
      }
      await renderConversationList(root, ctx);
    },
    onEvent: {
      "message.created"(data, ctx) { return onMessageCreated(data, ctx); },
      "message.status"(data, ctx) { onMessageStatus(data, ctx); },
      "conversation.claimed"(data, ctx) { return onConversationClaimed(data, ctx); },
      "conversation.pooled"(data, ctx) { return onConversationPooled(data, ctx); },
    },
  });
})();
