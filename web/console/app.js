"use strict";
/* The clerk console shell: login, the bottom tab bar built from registered screens, the
 * customer profile sheet, and the realtime connection that never loses an event.
 *
 * Screens register with Daogou.registerScreen(name, {title, icon, order, render, onEvent, boot?, tab?});
 * a screen with tab: false (设置) has no tab of its own and is opened from the top bar.
 * Realtime: the shell remembers the id of the last event it applied; on every (re)connect it
 * asks the server for everything after it ("resume") before applying live events, and applies
 * each event id once, so a dropped connection or a second tab never loses or doubles anything. */
(function () {
  const core = window.DaogouCore;
  const { el, t } = core;
  const screens = new Map();
  const listeners = new Map();
  const shell = { booted: false, active: null, roots: new Map(), badges: new Map(), params: null };
  const realtime = { connectedBefore: false, socket: null, lastEventId: 0, seen: new Set(), resuming: false, buffer: [], online: false };

  const ctx = {
    api: core.api,
    t: core.t,
    el: core.el,
    yuan: core.yuan,
    shortTime: core.shortTime,
    dateTime: core.dateTime,
    laterTime: core.laterTime,
    now: core.now,
    period: core.period,
    clientId: core.clientId,
    toast: core.toast,
    me: null,
    get locale() { return core.locale; },
    get online() { return realtime.online; },
    // Only clerks chat with their followers; managers and head office get the profile.
    openChat(customerId, draft) {
      if (ctx.me && ctx.me.role !== "clerk") core.profileSheet(ctx, customerId);
      else navigate("messages", { customerId, draft });
    },
    openCustomer(customerId) { core.profileSheet(ctx, customerId); },
    navigate,
    switchLocale,
    logout: doLogout,
    /** The staff member's notification choices (GET/PUT /api/v1/me/notifications), once known. */
    notifications: null,
    /** After a password change the session carries on with a new CSRF token and "me". */
    keepSession(data) {
      core.state.csrf = data.csrf_token;
      ctx.me = data.me;
      renderHeader();
    },
    screenActive(name) { return shell.active === name; },
    /** Subscribe to a realtime event (or "connection"); returns an unsubscribe function. */
    on(name, fn) {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(fn);
      return () => listeners.get(name).delete(fn);
    },
    /** Show a count on a screen's tab (0 hides it). */
    setBadge(name, count) {
      shell.badges.set(name, count);
      renderTabs();
      const total = [...shell.badges.values()].reduce((n, c) => n + (c || 0), 0);
      document.title = total ? `(${total > 99 ? "99+" : total}) ${t("app.name")}` : t("app.name");
    },
    /** A system notification when the clerk is not looking at the console (and allowed it). */
    notify(title, body, tag) {
      if (!("Notification" in window) || Notification.permission !== "granted") return;
      if (ctx.notifications && ctx.notifications.browser === false) return;  // switched off in 设置
      if (!document.hidden && document.hasFocus()) return;
      const options = { body, tag, renotify: true, icon: (document.querySelector("link[rel=apple-touch-icon]") || {}).href, data: { url: "/console/#messages" } };
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.ready.then((reg) => reg.showNotification(title, options)).catch(() => {});
      } else {
        try { new Notification(title, options); } catch (_unsupported) { /* some webviews */ }
      }
    },
  };

  function registerScreen(name, def) {
    if (!def || typeof def.render !== "function") throw new Error(`screen ${name}: render() is required`);
    screens.set(name, { name, order: 100, icon: "•", ...def });
    if (shell.booted) {
      renderTabs();
      if (shell.active === name) show(name);
    }
  }

  // Screens other engineers build; until their file registers, the tab says what will be there.
  const PLANNED = [
    ["today", 20, "☀", { "zh-CN": "今日", en: "Today" }],
    ["customers", 30, "☺", { "zh-CN": "客户", en: "Customers" }],
    ["tasks", 40, "✓", { "zh-CN": "任务", en: "Tasks" }],
    ["earnings", 50, "¥", { "zh-CN": "业绩", en: "Earnings" }],
  ];
  for (const [name, order, icon, title] of PLANNED) {
    registerScreen(name, {
      title, order, icon, placeholder: true,
      render(root) {
        root.append(el("div", { class: "placeholder" },
          el("h2", {}, core.label(title)),
          el("p", {}, t(`console.planned.${name}`)),
          el("p", { class: "muted" }, t("console.planned.note"))));
      },
    });
  }

  function sortedScreens() {
    return [...screens.values()].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  // Layout ---------------------------------------------------------------------------------
  const app = document.getElementById("app");
  const header = el("header", { class: "topbar" });
  const main = el("main", { class: "screens" });
  const tabbar = el("nav", { class: "tabbar", "aria-label": "tabs" });
  const banner = el("div", { class: "offline-banner", role: "status", hidden: true });

  function renderHeader() {
    const def = screens.get(shell.active);
    const other = core.locale === "zh-CN" ? "en" : "zh-CN";
    const settingsOpen = shell.active === "settings";
    header.replaceChildren(
      el("h1", {}, def ? core.label(def.title) : t("app.name")),
      el("span", { class: `conn ${realtime.online ? "on" : "off"}`, role: "img",
        "aria-label": t(realtime.online ? "console.online" : "console.offline"), title: t(realtime.online ? "console.online" : "console.offline") }),
      el("button", { class: "link lang", type: "button", "data-locale": other, lang: other, onclick: () => switchLocale(other) },
        other === "en" ? "EN" : "中文"),
      screens.has("coach") && ctx.me && ctx.me.role === "clerk" ? el("button", {
        class: "link coach-open", type: "button", "aria-label": t("coach.title"), title: t("coach.title"),
        "aria-current": shell.active === "coach" ? "page" : null, onclick: () => navigate("coach"),
      }, t("coach.title")) : null,
      screens.has("settings") ? el("button", {
        class: "link settings", type: "button", "aria-label": t("console.settings"), title: t("console.settings"),
        "aria-current": settingsOpen ? "page" : null, onclick: () => navigate("settings"),
      }, el("span", { "aria-hidden": "true" }, "⚙"),
      ctx.me && ctx.me.must_change_password ? el("span", { class: "dot", "aria-hidden": "true" }) : null) : null);
  }

  function renderTabs() {
    if (!shell.booted) return;
    tabbar.replaceChildren(...sortedScreens().filter((def) => def.tab !== false).map((def) => {
      const count = shell.badges.get(def.name) || 0;
      return el("button", {
        type: "button", class: `tab ${def.name === shell.active ? "active" : ""}`,
        "data-screen": def.name, "aria-current": def.name === shell.active ? "page" : null,
        onclick: () => navigate(def.name),
      },
      el("span", { class: "icon", "aria-hidden": "true" }, def.icon),
      el("span", { class: "label" }, core.label(def.title)),
      count > 0 ? el("span", { class: "badge" }, count > 99 ? "99+" : String(count)) : null);
    }));
  }

  function navigate(name, params) {
    if (!screens.has(name)) return;
    if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
    show(name, params);
  }

  async function show(name, params) {
    const def = screens.get(name);
    shell.active = name;
    for (const [other, root] of shell.roots) root.hidden = other !== name;
    let root = shell.roots.get(name);
    if (!root) {
      root = el("section", { class: `screen screen-${name}`, "data-screen": name });
      shell.roots.set(name, root);
      main.appendChild(root);
    }
    root.hidden = false;
    renderHeader();
    renderTabs();
    root.replaceChildren();
    try {
      await def.render(root, ctx, params || {});
    } catch (err) {
      root.replaceChildren(el("div", { class: "placeholder error" },
        el("p", {}, t("console.screen_failed")), el("p", { class: "muted" }, err.error || err.message || String(err))));
    }
  }

  // Realtime -------------------------------------------------------------------------------
  function deliver(name, data) {
    if (data && typeof data.event_id === "number") {
      if (realtime.seen.has(data.event_id)) return;  // already applied (replay overlap, second path)
      realtime.seen.add(data.event_id);
      if (realtime.seen.size > 5000) {
        const keep = [...realtime.seen].sort((a, b) => a - b).slice(-2000);
        realtime.seen = new Set(keep);
      }
      realtime.lastEventId = Math.max(realtime.lastEventId, data.event_id);
    }
    for (const def of screens.values()) {
      const handler = def.onEvent && def.onEvent[name];
      if (handler) {
        try { handler.call(def, data, ctx); } catch (err) { console.error(`screen ${def.name} ${name}`, err); }
      }
    }
    for (const fn of listeners.get(name) || []) {
      try { fn(data, ctx); } catch (err) { console.error(name, err); }
    }
  }

  function setOnline(online) {
    const reconnected = online && realtime.connectedBefore;
    if (online) realtime.connectedBefore = true;
    realtime.online = online;
    if (reconnected) {  // "offline, will resend" notices are stale once the link is back
      const toasts = document.getElementById("toasts");
      if (toasts) toasts.replaceChildren();
    }
    banner.hidden = online;
    banner.textContent = t("console.offline_banner");
    document.body.classList.toggle("is-offline", !online);
    renderHeader();
    for (const fn of listeners.get("connection") || []) fn({ online, reconnected }, ctx);
  }

  /** Ask for everything after the last applied event, page by page, then apply buffered live events. */
  function resume(socket) {
    realtime.resuming = true;
    const step = () => {
      socket.timeout(10000).emit("resume", { after: realtime.lastEventId }, (err, reply) => {
        if (err || !reply || reply.error) {
          realtime.resuming = false;
          socket.disconnect().connect();  // try again through a fresh connection
          return;
        }
        for (const ev of reply.events) deliver(ev.name, ev.data);
        if (reply.more) { step(); return; }
        realtime.resuming = false;
        const buffered = realtime.buffer.splice(0);
        for (const [name, data] of buffered) deliver(name, data);
        setOnline(true);
      });
    };
    step();
  }

  function connectRealtime() {
    if (typeof window.io !== "function") {
      setOnline(false);
      return;
    }
    const socket = window.io("/console", { transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
    realtime.socket = socket;
    ctx.socket = socket;
    socket.on("connect", () => resume(socket));
    socket.on("disconnect", () => setOnline(false));
    socket.on("connect_error", () => setOnline(false));
    socket.on("session.ended", () => { core.toast(t("console.session_ended")); showLogin(); });
    socket.onAny((name, data) => {
      if (name === "session.ended") return;
      if (realtime.resuming) realtime.buffer.push([name, data]);
      else deliver(name, data);
    });
    window.addEventListener("online", () => { if (!socket.connected) socket.connect(); });
  }

  // Boot, login, locale --------------------------------------------------------------------
  async function switchLocale(locale) {
    try {
      await core.setLocale(locale);
      localStorage.setItem("daogou.locale", locale);
      ctx.me.locale = locale;
      show(shell.active);
    } catch (err) {
      core.toast(err.error || String(err), "error");
    }
  }

  async function doLogout() {
    if (realtime.socket) realtime.socket.disconnect();
    await core.logout();
    location.hash = "";
    location.reload();
  }

  function showLogin() {
    shell.booted = false;
    if (realtime.socket) { realtime.socket.disconnect(); realtime.socket = null; }
    document.body.classList.add("logged-out");
    core.loginForm(app, { title: t("app.name"), onLoggedIn: (data) => start(data.me) });
  }

  async function start(me) {
    ctx.me = me;
    if (me.locale && me.locale !== core.locale) await core.loadCatalogue(me.locale);
    document.body.classList.remove("logged-out");
    // The event cursor is taken *before* any screen loads its data, so an event that happens
    // while screens load is replayed rather than lost.
    const cursor = await ctx.api("/api/v1/events");
    realtime.lastEventId = cursor.last_event_id || 0;
    app.replaceChildren(header, banner, main, tabbar);
    shell.booted = true;
    const wanted = location.hash.slice(1);
    const first = screens.has(wanted) ? wanted : sortedScreens().find((def) => def.tab !== false).name;
    renderTabs();
    show(first);  // sets the active screen at once, then renders
    // Optional per-screen start-up (tab badges, listeners) whether or not the screen is shown.
    for (const def of screens.values()) {
      if (typeof def.boot === "function") {
        try { def.boot(ctx); } catch (err) { console.error(`screen ${def.name} boot`, err); }
      }
    }
    connectRealtime();
    ctx.api("/api/v1/me/notifications").then((res) => { ctx.notifications = res.notifications; }).catch(() => {});
    if ("serviceWorker" in navigator) {  // the installable, weak-Wi-Fi-proof shell
      navigator.serviceWorker.register("/console/sw.js", { scope: "/console/" }).catch(() => {});
    }
  }

  async function boot() {
    core.onUnauthorized = () => { if (shell.booted) showLogin(); };
    await core.loadCatalogue(core.preferredLocale());
    const me = await core.whoAmI();
    if (me) await start(me);
    else showLogin();
  }

  window.Daogou = { registerScreen, ctx, screens, _realtime: realtime };
  document.addEventListener("DOMContentLoaded", () => {
    boot().catch((err) => {
      app.replaceChildren(el("p", { class: "error" }, err.error || err.message || String(err)));
    });
  });
})();
