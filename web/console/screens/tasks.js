"use strict";
/* 任务 Tasks: the care tasks head office assigned to this clerk, each with its targets.
 *
 * A target is a card: who (tap for the profile), where the clerk is with them (a status badge in
 * the card's head), and what to do, inside the same card: "起草" asks for a draft written for the
 * task's goal and opens it full width for editing before it is sent in the customer's
 * conversation (with a client id, so a retry never sends twice; the server moves the target to
 * "sent" in the same transaction as the message); "发送" sends head office's copy as it is in one
 * tap, with the customer's own page and the task's coupon (the server writes it, once per task
 * and customer, however often it is tapped); "去聊天" opens the chat; "已线下联系" records a
 * contact made in the shop or by phone; "跳过" asks why, from the server's list of reasons. Both
 * count in the task's progress as the server counts it, and either can be taken back. */
(function () {
  const TONE = { todo: "todo", deferred: "wait", sent: "done", offline: "done", fallback: "done",
    replied: "good", bought: "good", skipped: "off" };
  const UNDOABLE = new Set(["offline", "skipped"]);
  const state = { root: null, taskId: null };  // the task open in detail, if any

  function total(counts) {
    return Object.values(counts || {}).reduce((a, b) => a + b, 0);
  }

  function progressLine(ctx, task) {
    const counts = task.counts || {};
    return ctx.t("care.task.reached_line", { done: task.reached || 0, total: total(counts),
      todo: counts.todo || 0, bought: counts.bought || 0 });
  }

  function progressBar(ctx, task) {
    const share = total(task.counts) ? Math.round(((task.reached || 0) / total(task.counts)) * 100) : 0;
    return ctx.el("div", { class: "progress", "aria-hidden": "true" }, ctx.el("span", { style: { width: `${share}%` } }));
  }

  async function refreshBadge(ctx) {
    try {
      const data = await ctx.api("/api/v1/tasks?status=open");
      ctx.setBadge("tasks", data.tasks.reduce((n, task) => n + (task.counts.todo || 0), 0));
      return data;
    } catch (_offline) {
      return null;
    }
  }

  async function renderList(root, ctx) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/tasks?status=open");
    state.taskId = null;
    ctx.setBadge("tasks", data.tasks.reduce((n, task) => n + (task.counts.todo || 0), 0));
    if (!data.tasks.length) {
      root.replaceChildren(el("div", { class: "empty" }, el("p", {}, t("care.task.none"))));
      return;
    }
    root.replaceChildren(el("ul", { class: "task-list" }, data.tasks.map((task) =>
      el("li", {}, el("button", {
        type: "button", class: "task-row", "data-task": task.id, onclick: () => renderTask(root, ctx, task.id),
      },
      el("span", { class: "main" },
        el("strong", { class: "title" }, task.title),
        el("span", { class: "line" }, progressLine(ctx, task)),
        progressBar(ctx, task),
        el("span", { class: "line meta" }, t("care.task.deadline", { when: ctx.laterTime(task.deadline) }))),
      task.counts.todo ? el("span", { class: "badge" }, String(task.counts.todo)) : null,
      el("span", { class: "chevron", "aria-hidden": "true" }, "›"))))));
  }

  async function renderTask(root, ctx, taskId) {
    const { el, t } = ctx;
    const task = await ctx.api(`/api/v1/tasks/${taskId}`);
    state.taskId = task.id;
    const view = { root, task, reasons: task.skip_reasons || [], progress: el("p", { class: "progress-line" }), bar: el("div") };
    const showProgress = () => {
      view.progress.textContent = progressLine(ctx, view.task);
      view.bar.replaceChildren(progressBar(ctx, view.task));
    };
    showProgress();
    view.showProgress = showProgress;
    root.replaceChildren(
      el("div", { class: "page-head" },
        el("button", { type: "button", class: "link back", onclick: () => renderList(root, ctx) }, t("care.back")),
        el("h2", {}, task.title)),
      el("section", { class: "task-info" },
        task.goal ? el("p", { class: "goal" }, el("strong", {}, `${t("care.task.goal")}：`), task.goal) : null,
        (task.product_skus || []).length ? el("p", { class: "meta task-page" }, t("care.task.page", { n: task.product_skus.length })) : null,
        task.coupon ? el("p", { class: "meta task-coupon" }, t("care.task.coupon", { title: task.coupon.title })) : null,
        el("p", { class: "meta" }, t("care.task.deadline", { when: ctx.laterTime(task.deadline) })),
        view.progress, view.bar),
      el("h3", { class: "list-title" }, t("care.targets_title", { n: task.targets.length })),
      el("ul", { class: "target-list" }, task.targets.map((target) => targetCard(ctx, view, target))));
    root.closest(".screens")?.scrollTo(0, 0);
  }

  function targetHead(ctx, target) {
    const { el, t } = ctx;
    const c = target.customer;
    const meta = [c.stage_label, c.phone_tail ? t("care.phone_tail", { tail: c.phone_tail }) : null].filter(Boolean).join(" · ");
    return el("div", { class: "target-head" },
      el("button", { type: "button", class: "who", onclick: () => ctx.openCustomer(c.id) },
        el("span", { class: "avatar", "aria-hidden": "true" }, (c.name || "?").slice(0, 1)),
        el("span", { class: "names" }, el("span", { class: "name" }, c.name), meta ? el("span", { class: "meta" }, meta) : null)),
      el("span", { class: `status-badge ${TONE[target.status] || ""}`, "data-status": target.status },
        t(`care.status.${target.status}`)));
  }

  function targetCard(ctx, view, target) {
    const { el, t } = ctx;
    const panel = el("div", { class: "target-panel" });
    const card = el("li", { class: "target-card", "data-target": target.id, "data-status": target.status },
      targetHead(ctx, target),
      target.skip_reason ? el("p", { class: "skip-note" }, target.skip_reason) : null);
    const button = (cls, label, onclick) => el("button", { type: "button", class: cls, onclick }, label);
    const chat = button("ghost open-chat", t("care.open_chat"), () => ctx.openChat(target.customer.id));
    const mine = ctx.me && target.clerk_id === ctx.me.id;  // a manager watches the store's targets
    let actions;
    if (!mine) {
      actions = [chat];
    } else if (target.status === "todo") {
      const oneTap = view.task.template
        ? button("primary send-now", t("care.send_now"), () => sendNow(ctx, view, target, card)) : null;
      actions = [
        oneTap,
        button(`${oneTap ? "ghost" : "primary"} draft`, t("care.draft_send"), () => openDraft(ctx, view, target, card, panel)),
        chat,
        button("quiet offline", t("care.offline"), () => record(ctx, view, target, card, { outcome: "offline" }, "care.marked_offline")),
        button("quiet skip", t("care.skip"), () => skipPicker(ctx, view, target, card, panel)),
      ];
    } else if (UNDOABLE.has(target.status)) {
      actions = [chat, button("quiet undo", t("care.undo"), () => record(ctx, view, target, card, { outcome: "todo" }, "care.marked_todo"))];
    } else {
      actions = [chat];
    }
    actions = actions.filter(Boolean);
    card.append(el("div", { class: `target-actions n${actions.length}` }, actions), panel);
    return card;
  }

  /** Record the clerk's word on a target; the answer carries the target and the task's counts. */
  async function record(ctx, view, target, card, body, doneKey) {
    card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const res = await ctx.api(`/api/v1/tasks/${view.task.id}/targets/${target.id}/outcome`, { method: "POST", body });
      view.task = { ...view.task, ...res.task };
      view.showProgress();
      card.replaceWith(targetCard(ctx, view, res.target));
      ctx.toast(ctx.t(doneKey));
      refreshBadge(ctx);
      return null;
    } catch (err) {
      card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      if (!Object.keys(err.fields || {}).some((name) => name === "reason" || name === "note")) {
        ctx.toast(Object.values(err.fields || {})[0] || err.error, "error");
      }
      return err;
    }
  }

  /** 一键发送: the server sends the task's copy with the customer's page and coupon; the answer
   * carries the target and the task's counts, as for an outcome. */
  async function sendNow(ctx, view, target, card) {
    card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const res = await ctx.api(`/api/v1/tasks/${view.task.id}/targets/${target.id}/send`, { method: "POST" });
      view.task = { ...view.task, ...res.task };
      view.showProgress();
      card.replaceWith(targetCard(ctx, view, res.target));
      ctx.toast(ctx.t("care.sent_now", { name: target.customer.name }));
      refreshBadge(ctx);
    } catch (err) {
      card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      ctx.toast(Object.values(err.fields || {})[0] || err.error, "error");
    }
  }

  function skipPicker(ctx, view, target, card, panel) {
    const { el, t } = ctx;
    if (panel.dataset.open === "skip") { closePanel(card, panel); return; }
    const choices = view.reasons.map((r) => el("label", { class: "choice" },
      el("input", { type: "radio", name: `skip-${target.id}`, value: r.code }), el("span", {}, r.label)));
    const note = el("input", { type: "text", name: "note", maxlength: "120", placeholder: t("care.skip_note"), "aria-label": t("care.skip_note") });
    const noteRow = el("div", { class: "note-row", hidden: true }, note);
    const errors = { reason: el("p", { class: "field-error", hidden: true }), note: el("p", { class: "field-error", hidden: true }) };
    const form = el("form", { class: "skip-picker" },
      el("fieldset", {}, el("legend", {}, t("care.skip_title", { name: target.customer.name })),
        el("div", { class: "choices" }, choices), errors.reason),
      noteRow, errors.note,
      el("div", { class: "panel-buttons" },
        el("button", { type: "submit", class: "primary confirm-skip" }, t("care.skip_confirm")),
        el("button", { type: "button", class: "ghost", onclick: () => closePanel(card, panel) }, t("care.cancel"))));
    form.addEventListener("change", () => { noteRow.hidden = form.elements[`skip-${target.id}`].value !== "other"; });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      for (const p of Object.values(errors)) p.hidden = true;
      const reason = form.elements[`skip-${target.id}`].value;
      const err = await record(ctx, view, target, card,
        { outcome: "skipped", reason: reason || null, note: reason === "other" ? note.value : undefined }, "care.marked_skipped");
      for (const [name, p] of Object.entries(errors)) {
        const text = err && err.fields && err.fields[name];
        p.textContent = text || "";
        p.hidden = !text;
      }
    });
    openPanel(card, panel, "skip", form);
  }

  /** One card's panel open at a time, scrolled into view with its buttons. */
  function openPanel(card, panel, name, content) {
    for (const other of card.parentElement ? card.parentElement.querySelectorAll(".target-card.open") : []) {
      if (other !== card) closePanel(other, other.querySelector(".target-panel"));
    }
    panel.dataset.open = name;
    panel.replaceChildren(content);
    card.classList.add("open");
    requestAnimationFrame(() => panel.scrollIntoView({ block: "nearest", behavior: "smooth" }));
  }

  function closePanel(card, panel) {
    panel.dataset.open = "";
    panel.replaceChildren();
    card.classList.remove("open");
  }

  async function openDraft(ctx, view, target, card, panel) {
    const { el, t } = ctx;
    if (panel.dataset.open === "draft") { closePanel(card, panel); return; }
    openPanel(card, panel, "draft", el("p", { class: "meta" }, t("care.drafting")));
    let draft = null;
    try {
      draft = await ctx.api("/api/v1/drafts", { method: "POST", body: { customer_id: target.customer.id, task_id: view.task.id } });
    } catch (err) {
      ctx.toast(t("care.draft_failed", { reason: err.error }), "error");
    }
    if (panel.dataset.open !== "draft") return;  // closed while drafting
    const text = (draft && draft.text) || "";
    const link = await personalLink(ctx, view.task, target);
    if (panel.dataset.open !== "draft") return;
    const initial = link ? `${text}\n${link.url}`.trim() : text;  // the customer's own page (专属商品页)
    const box = el("textarea", { rows: 6, "aria-label": t("care.draft_text"), maxlength: "2000" });
    box.value = initial;
    const error = el("p", { class: "field-error", role: "alert", hidden: true });
    const send = el("button", { type: "submit", class: "primary send" }, t("care.send"));
    const form = el("form", { class: "draft-editor" }, box, error,
      el("div", { class: "panel-buttons" }, send,
        el("button", { type: "button", class: "ghost", onclick: () => closePanel(card, panel) }, t("care.cancel"))));
    const clientId = ctx.clientId();  // the same id on every retry: sent once at most
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = box.value.trim();
      if (!body) return;
      send.disabled = true;
      error.hidden = true;
      try {
        await sendInConversation(ctx, target.customer.id, clientId, body);
        if (draft && draft.draft_id) {
          const outcome = body === initial.trim() ? "sent_as_is" : "edited";
          ctx.api(`/api/v1/drafts/${draft.draft_id}/outcome`, { method: "POST", body: { outcome } }).catch(() => {});
        }
        ctx.toast(t("care.sent"));
        await reloadTarget(ctx, view, target, card);
      } catch (err) {
        error.textContent = Object.values(err.fields || {})[0] || err.error;
        error.hidden = false;
        send.disabled = false;
      }
    });
    panel.replaceChildren(form);
    box.focus();
  }

  /** A task with products sends each customer a link to their own page; none without products. */
  async function personalLink(ctx, task, target) {
    if (!task.product_skus || !task.product_skus.length) return null;
    try {
      return await ctx.api("/api/v1/links", { method: "POST", body: {
        customer_id: target.customer.id, products: task.product_skus, source: { kind: "task", id: task.id } } });
    } catch (err) {
      ctx.toast(ctx.t("links.console.link_failed", { reason: Object.values(err.fields || {})[0] || err.error }), "error");
      return null;
    }
  }

  async function sendInConversation(ctx, customerId, clientId, body) {
    const { conversation } = await ctx.api("/api/v1/conversations", { method: "POST", body: { customer_id: customerId } });
    await ctx.api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", body: { client_id: clientId, body } });
  }

  /** After a send the server has moved the target: show its status and the task's counts. */
  async function reloadTarget(ctx, view, target, card) {
    try {
      const fresh = await ctx.api(`/api/v1/tasks/${view.task.id}`);
      view.task = { ...view.task, counts: fresh.counts, reached: fresh.reached };
      view.showProgress();
      const now = fresh.targets.find((x) => x.id === target.id);
      if (now) card.replaceWith(targetCard(ctx, view, now));
    } catch (_offline) {
      /* the message went; the status shows on the next visit */
    }
    refreshBadge(ctx);
  }

  Daogou.registerScreen("tasks", {
    title: { "zh-CN": "任务", en: "Tasks" },
    icon: "✓",
    order: 40,
    boot(ctx) {
      if (!ctx.screenActive("tasks")) refreshBadge(ctx);  // the tab says how many wait, from the start
    },
    async render(root, ctx, params) {
      state.root = root;
      if (params && params.taskId) await renderTask(root, ctx, params.taskId);
      else await renderList(root, ctx);
    },
    onEvent: {
      "link.activity"(data, ctx) {  // "王女士 看了你发的商品页": the customer is on their page now
        if (data && data.message) ctx.toast(data.message);
      },
      "commission.earned"(_data, ctx) {  // a target may have bought: the open task shows who, unless a panel is in use
        if (ctx.screenActive("tasks") && state.taskId !== null && !state.root.querySelector(".target-card.open")) {
          renderTask(state.root, ctx, state.taskId);
        }
      },
      "task.assigned"(data, ctx) {
        ctx.toast(ctx.t("care.task.assigned", { title: data.title, n: data.targets }));
        // The list shows the new task at once; a clerk working in a task's detail stays there.
        if (ctx.screenActive("tasks") && state.taskId === null) renderList(state.root, ctx);
        else refreshBadge(ctx);
      },
    },
  });
})();
