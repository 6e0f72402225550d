"use strict";
/* 任务 Tasks: the care tasks head office assigned to this clerk, each with its targets.
 *
 * A target row shows the customer, their stage and where the clerk is with them (to do, sent,
 * replied, bought). "起草" asks for a draft written for this task's goal, lets the clerk edit it,
 * and sends it in the customer's conversation with a client id, so a retry never sends twice;
 * the target moves to "sent" on the server in the same transaction as the message. */
(function () {
  const STATUS_CLASS = { todo: "", sent: "on", fallback: "on", deferred: "", replied: "on", bought: "on", skipped: "off" };

  function countsLine(ctx, counts) {
    const done = (counts.sent || 0) + (counts.replied || 0) + (counts.bought || 0) + (counts.fallback || 0);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return ctx.t("care.task.progress", { done, total, bought: counts.bought || 0 });
  }

  async function renderList(root, ctx) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/tasks?status=open");
    const todo = data.tasks.reduce((n, task) => n + (task.counts.todo || 0), 0);
    ctx.setBadge("tasks", todo);
    if (!data.tasks.length) {
      root.append(el("div", { class: "empty" }, el("p", {}, t("care.task.none"))));
      return;
    }
    root.append(el("ul", { class: "conversations tasks" }, data.tasks.map((task) =>
      el("li", {}, el("button", {
        type: "button", class: "conversation", "data-task": task.id,
        onclick: () => renderTask(root, ctx, task.id),
      },
      el("div", { class: "avatar", "aria-hidden": "true" }, "✓"),
      el("div", {},
        el("strong", {}, task.title),
        el("p", { class: "muted" }, countsLine(ctx, task.counts)),
        el("p", { class: "muted" }, t("care.task.deadline", { when: ctx.dateTime(task.deadline) }))),
      task.counts.todo ? el("span", { class: "badge" }, String(task.counts.todo)) : null)))));
  }

  async function renderTask(root, ctx, taskId) {
    const { el, t } = ctx;
    const task = await ctx.api(`/api/v1/tasks/${taskId}`);
    root.replaceChildren(
      el("div", { class: "chat-head" },
        el("button", { type: "button", class: "link", onclick: () => { root.replaceChildren(); renderList(root, ctx); } }, t("care.back")),
        el("strong", {}, task.title)),
      task.goal ? el("p", { class: "notice" }, task.goal) : null,
      el("p", { class: "muted" }, t("care.task.deadline", { when: ctx.dateTime(task.deadline) })),
      el("ul", { class: "conversations targets" }, task.targets.map((target) => targetRow(ctx, task, target))));
  }

  function targetRow(ctx, task, target) {
    const { el, t } = ctx;
    const c = target.customer;
    const row = el("li", { "data-target": target.id },
      el("div", { class: "conversation" },
        el("div", { class: "avatar", "aria-hidden": "true" }, (c.name || "?").slice(0, 1)),
        el("div", {},
          el("button", { type: "button", class: "link", onclick: () => ctx.openCustomer(c.id) }, c.name),
          el("p", { class: "muted" }, [c.stage_label, c.phone_tail ? `尾号 ${c.phone_tail}` : null].filter(Boolean).join(" · ")),
          target.skip_reason ? el("p", { class: "fail-reason" }, target.skip_reason) : null),
        el("span", { class: `pill ${STATUS_CLASS[target.status] || ""}`, "data-status": target.status },
          t(`care.status.${target.status}`))));
    if (target.status === "todo") {
      row.append(el("div", { class: "composer" },
        el("button", { type: "button", class: "primary", onclick: () => draftAndSend(ctx, task, target, row) }, t("care.draft_send")),
        el("button", { type: "button", class: "ghost", onclick: () => ctx.openChat(c.id) }, t("care.open_chat"))));
    }
    return row;
  }

  async function draftAndSend(ctx, task, target, row) {
    const { el, t } = ctx;
    let draft = null;
    let text = "";
    try {
      draft = await ctx.api("/api/v1/drafts", { method: "POST", body: { customer_id: target.customer.id, task_id: task.id } });
      text = draft.text;
    } catch (err) {
      ctx.toast(t("care.draft_failed", { reason: err.error }), "error");
    }
    const box = el("textarea", { rows: 4, "aria-label": t("care.draft_text") });
    box.value = text;
    const error = el("p", { class: "error", hidden: true });
    const clientId = ctx.clientId();
    const send = el("button", { type: "button", class: "primary" }, t("care.send"));
    send.addEventListener("click", async () => {
      const body = box.value.trim();
      if (!body) return;
      send.disabled = true;
      error.hidden = true;
      try {
        const { conversation } = await ctx.api("/api/v1/conversations", { method: "POST", body: { customer_id: target.customer.id } });
        await ctx.api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", body: { client_id: clientId, body } });
        if (draft && draft.draft_id) {
          const outcome = body === text.trim() ? "sent_as_is" : "edited";
          ctx.api(`/api/v1/drafts/${draft.draft_id}/outcome`, { method: "POST", body: { outcome } }).catch(() => {});
        }
        editor.remove();
        const pill = row.querySelector("[data-status]");
        pill.textContent = t("care.status.sent");
        pill.dataset.status = "sent";
        pill.className = "pill on";
        row.querySelector(".composer")?.remove();
        ctx.toast(t("care.sent"));
      } catch (err) {
        error.textContent = err.error;
        error.hidden = false;
        send.disabled = false;  // the same client id is reused on retry: sent once at most
      }
    });
    const editor = el("div", { class: "composer draft-editor" }, box, error, send);
    row.querySelector(".composer")?.after(editor);
    box.focus();
  }

  Daogou.registerScreen("tasks", {
    title: { "zh-CN": "任务", en: "Tasks" },
    icon: "✓",
    order: 40,
    async render(root, ctx) {
      await renderList(root, ctx);
    },
    onEvent: {
      "task.assigned"(data, ctx) {
        ctx.toast(ctx.t("care.task.assigned", { title: data.title, n: data.targets }));
        if (ctx.screenActive("tasks")) ctx.navigate("tasks");
      },
    },
  });
})();
