"use strict";
/* 设置 Settings: the clerk's own choices, opened from the top bar (⚙), not a tab.
 *
 * Language; notifications (the server keeps wecom / browser / quiet time per person; the phone
 * keeps its own permission, asked for only on a tap); the clerk's quick replies (head office's
 * shared ones are listed, not deletable); changing the password; signing out. A signature for
 * drafts is not here: the server keeps no per-clerk signature. */
(function () {
  const PERMISSION_KEYS = { granted: "granted", denied: "denied", default: "default" };

  function section(ctx, key, ...children) {
    return ctx.el("section", { class: "settings-section", "data-section": key },
      ctx.el("h2", {}, ctx.t(`settings.${key}`)), ...children);
  }

  /** A field with its label and the sentence that says what is wrong with it, right below. */
  function field(ctx, label, input, name) {
    const error = ctx.el("p", { class: "field-error", role: "alert", hidden: true, "data-error-for": name });
    const wrap = ctx.el("label", { class: "field" }, ctx.el("span", { class: "field-label" }, label), input, error);
    wrap.showError = (text) => { error.textContent = text || ""; error.hidden = !text; };
    return wrap;
  }

  function account(ctx) {
    const me = ctx.me || {};
    return section(ctx, "account",
      ctx.el("p", { class: "settings-line" }, ctx.t("settings.signed_in_as", {
        name: me.display_name || me.username || "", role: me.role_label || "" })),
      me.store_name ? ctx.el("p", { class: "settings-line muted" }, me.store_name) : null);
  }

  function language(ctx) {
    const choice = (locale) => ctx.el("button", {
      type: "button", class: `segment ${ctx.locale === locale ? "active" : ""}`, lang: locale, "data-locale": locale,
      "aria-pressed": String(ctx.locale === locale),
      onclick: () => { if (ctx.locale !== locale) ctx.switchLocale(locale); },
    }, ctx.t(`settings.language.${locale}`));
    return section(ctx, "language", ctx.el("div", { class: "segmented", role: "group" }, choice("zh-CN"), choice("en")));
  }

  function permissionLine(ctx) {
    const line = ctx.el("div", { class: "permission" });
    const render = () => {
      if (!("Notification" in window)) {
        line.replaceChildren(ctx.el("p", { class: "settings-line" }, ctx.t("settings.permission.unsupported")));
        return;
      }
      const state = PERMISSION_KEYS[Notification.permission] || "default";
      line.replaceChildren(
        ctx.el("p", { class: `settings-line permission-${state}` }, ctx.t(`settings.permission.${state}`)),
        state === "default" ? ctx.el("button", { type: "button", class: "primary ask-permission", onclick: async () => {
          try { await Notification.requestPermission(); } catch (_unsupported) { /* older webviews */ }
          render();
        } }, ctx.t("settings.permission.ask")) : null);
    };
    render();
    return line;
  }

  async function notifications(ctx) {
    let prefs;
    try {
      prefs = (await ctx.api("/api/v1/me/notifications")).notifications;
    } catch (err) {
      return section(ctx, "notifications", ctx.el("p", { class: "error" }, err.error));
    }
    const toggle = (name) => {
      const box = ctx.el("input", { type: "checkbox", name });
      box.checked = prefs[name] !== false;
      return ctx.el("label", { class: "switch" }, box, ctx.el("span", {}, ctx.t(`settings.notify.${name}`)));
    };
    const browser = toggle("browser");
    const wecom = toggle("wecom");
    const from = ctx.el("input", { type: "time", name: "quiet_from", value: prefs.quiet_from || "" });
    const to = ctx.el("input", { type: "time", name: "quiet_to", value: prefs.quiet_to || "" });
    const fromField = field(ctx, ctx.t("settings.notify.quiet_from"), from, "quiet_from");
    const toField = field(ctx, ctx.t("settings.notify.quiet_to"), to, "quiet_to");
    const save = ctx.el("button", { type: "submit", class: "primary wide" }, ctx.t("settings.notify.save"));
    const form = ctx.el("form", { class: "settings-form notifications" },
      browser, wecom,
      ctx.el("fieldset", { class: "quiet" }, ctx.el("legend", {}, ctx.t("settings.notify.quiet")),
        ctx.el("div", { class: "pair" }, fromField, toField),
        ctx.el("p", { class: "hint" }, ctx.t("settings.notify.quiet_hint"))),
      save);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      fromField.showError("");
      toField.showError("");
      if (!from.value !== !to.value) {
        (from.value ? toField : fromField).showError(ctx.t("settings.notify.both_times"));
        return;
      }
      save.disabled = true;
      try {
        const body = { browser: browser.querySelector("input").checked, wecom: wecom.querySelector("input").checked,
          quiet_from: from.value || null, quiet_to: to.value || null };
        const saved = (await ctx.api("/api/v1/me/notifications", { method: "PUT", body })).notifications;
        ctx.notifications = saved;
        ctx.toast(ctx.t("settings.notify.saved"));
      } catch (err) {
        const fields = err.fields || {};
        if (fields.quiet_from) fromField.showError(ctx.t("settings.notify.bad_time"));
        if (fields.quiet_to) toField.showError(ctx.t(from.value && to.value ? "settings.notify.bad_time" : "settings.notify.both_times"));
        if (!fields.quiet_from && !fields.quiet_to) ctx.toast(err.error, "error");
      } finally {
        save.disabled = false;
      }
    });
    return section(ctx, "notifications", permissionLine(ctx), form);
  }

  async function quickReplies(ctx) {
    const list = ctx.el("ul", { class: "settings-list quick-reply-list" });
    let replies = [];
    const render = () => {
      list.replaceChildren(...replies.map((r) => ctx.el("li", { "data-reply": r.id },
        ctx.el("span", { class: "text" }, r.text),
        r.shared ? ctx.el("span", { class: "scope" }, ctx.t("settings.quick_shared"))
          : ctx.el("button", { type: "button", class: "icon-button delete", "aria-label": ctx.t("settings.quick_delete", { text: r.text }),
            onclick: () => remove(r) }, "✕"))));
      if (!replies.length) list.append(ctx.el("li", { class: "settings-line" }, ctx.t("settings.quick_empty")));
    };
    const remove = async (r) => {
      try {
        await ctx.api(`/api/v1/quick-replies/${r.id}`, { method: "DELETE" });
        replies = replies.filter((x) => x.id !== r.id);
        render();
        ctx.toast(ctx.t("settings.quick_deleted"));
      } catch (err) { ctx.toast(err.error, "error"); }
    };
    const text = ctx.el("input", { type: "text", name: "text", maxlength: "500", placeholder: ctx.t("settings.quick_example") });
    const textField = field(ctx, ctx.t("settings.quick_add"), text, "text");
    const add = ctx.el("form", { class: "settings-form add-quick" }, textField,
      ctx.el("button", { type: "submit", class: "primary wide" }, ctx.t("settings.quick_add_button")));
    add.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      textField.showError("");
      if (!text.value.trim()) return;
      try {
        const created = await ctx.api("/api/v1/quick-replies", { method: "POST", body: { text: text.value } });
        replies.push(created.quick_reply);
        text.value = "";
        render();
        ctx.toast(ctx.t("settings.quick_added"));
      } catch (err) {
        textField.showError(err.error);
      }
    });
    try {
      replies = (await ctx.api("/api/v1/quick-replies")).quick_replies;
    } catch (err) {
      return section(ctx, "quick_replies", ctx.el("p", { class: "error" }, err.error));
    }
    render();
    return section(ctx, "quick_replies", ctx.el("p", { class: "hint" }, ctx.t("settings.quick_replies_hint")), list, add);
  }

  function password(ctx) {
    const input = (name, autocomplete) => ctx.el("input", { type: "password", name, autocomplete, required: true });
    const current = input("current_password", "current-password");
    const fresh = input("new_password", "new-password");
    const again = input("repeat_password", "new-password");
    const fields = {
      current_password: field(ctx, ctx.t("settings.password.current"), current, "current_password"),
      new_password: field(ctx, ctx.t("settings.password.new"), fresh, "new_password"),
      repeat_password: field(ctx, ctx.t("settings.password.repeat"), again, "repeat_password"),
    };
    const submit = ctx.el("button", { type: "submit", class: "primary wide" }, ctx.t("settings.password.submit"));
    const form = ctx.el("form", { class: "settings-form password" }, ...Object.values(fields), submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      for (const f of Object.values(fields)) f.showError("");
      if (fresh.value !== again.value) {
        fields.repeat_password.showError(ctx.t("settings.password.mismatch"));
        return;
      }
      submit.disabled = true;
      try {
        const data = await ctx.api("/api/v1/me/password", { method: "POST",
          body: { current_password: current.value, new_password: fresh.value } });
        ctx.keepSession(data);
        must?.remove();
        form.reset();
        ctx.toast(ctx.t("settings.password.changed"));
      } catch (err) {
        const named = Object.entries(err.fields || {}).filter(([name]) => fields[name]);
        for (const [name, reason] of named) fields[name].showError(reason);
        if (!named.length) ctx.toast(err.error, "error");
      } finally {
        submit.disabled = false;
      }
    });
    const must = ctx.me && ctx.me.must_change_password
      ? ctx.el("p", { class: "notice must-change" }, ctx.t("settings.password.must_change")) : null;
    return section(ctx, "password", must, form);
  }

  Daogou.registerScreen("settings", {
    title: { "zh-CN": "设置", en: "Settings" },
    icon: "⚙",
    order: 90,
    tab: false,
    async render(root, ctx) {
      const [notify, quick] = await Promise.all([notifications(ctx), quickReplies(ctx)]);
      root.replaceChildren(ctx.el("div", { class: "settings" },
        account(ctx), language(ctx), notify, quick, password(ctx),
        ctx.el("section", { class: "settings-section sign-out" },
          ctx.el("button", { type: "button", class: "ghost wide logout", onclick: () => ctx.logout() }, ctx.t("settings.logout")))));
    },
  });
})();
