"use strict";
/* The head-office shell (desktop): login, side navigation built from registered pages, and
 * ctx.chart for ECharts. Pages register with DaogouHQ.registerPage(name, {render}); the NAV table names and orders them. */
(function () {
  const core = window.DaogouCore;
  const { el, t } = core;
  const pages = new Map();
  const shell = { booted: false, active: null, charts: new Set() };

  const ctx = {
    api: core.api, t: core.t, el: core.el, yuan: core.yuan, shortTime: core.shortTime,
    dateTime: core.dateTime, now: core.now, period: core.period, localInput: core.localInput, toast: core.toast, clientId: core.clientId, me: null,
    localLabel: core.localLabel, channelKinds: core.channelKinds, channelLabel: core.channelLabel,
    get locale() { return core.locale; },
    navigate,
    // Head office does not chat; both open the customer's profile.
    openChat(customerId) { core.profileSheet(ctx, customerId); },
    openCustomer(customerId) { core.profileSheet(ctx, customerId); },
    /** Draw an ECharts chart in ``element``; resized with the window, disposed on page change. */
    chart(element, option) {
      if (!window.echarts) throw new Error("ECharts is not loaded");
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option);
      shell.charts.add(chart);
      return chart;
    },
  };

  // The navigation, in the order head office reads it: each page's name, title, and who sees it
  // (everyone signed in to the back office unless roles are named). Page files bring only render().
  const NAV = [
    ["home", "总览", "Overview"],
    ["segments", "客户分群", "Segments"],
    ["tasks", "关怀任务", "Care tasks"],
    ["reception", "接待服务", "Reception"],
    ["campaigns", "营销活动", "Campaigns"],
    ["automations", "自动化", "Automations"],
    ["coupons", "优惠券", "Coupons"],
    ["drafts", "草稿与话术", "Drafts & copy"],
    ["commission", "业绩提成", "Commission"],
    ["targets", "业绩目标", "Targets", ["manager", "hq"]],
    ["channels", "渠道", "Channels"],
    ["staff", "员工", "Staff"],
    ["model", "模型健康", "Model health"],
    ["audit", "操作记录", "Activity log", ["hq"]],
  ];

  /** A page's file registers its render(root, ctx, params); a page the NAV does not list may bring
   * its own {title, order, roles}. */
  function registerPage(name, def) {
    if (!def || typeof def.render !== "function") throw new Error(`page ${name}: render() is required`);
    const at = NAV.findIndex(([n]) => n === name);
    const listed = at < 0 ? {} : { order: at + 1, title: { "zh-CN": NAV[at][1], en: NAV[at][2] }, roles: NAV[at][3] };
    pages.set(name, { name, order: 100, ...listed, ...def });
    if (shell.booted) {
      renderNav();
      if (shell.active === name) show(name);
    }
  }

  const app = document.getElementById("app");
  const nav = el("nav", { class: "sidenav" });
  const main = el("main", { class: "page" });

  function sortedPages() {
    return [...pages.values()].filter((p) => !p.hidden && (!p.roles || (ctx.me && p.roles.includes(ctx.me.role)))).sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  function renderNav() {
    const other = core.locale === "zh-CN" ? "en" : "zh-CN";
    nav.replaceChildren(
      el("div", { class: "brand" }, t("app.name"), el("small", {}, t("hq.title"))),
      el("ul", {}, sortedPages().map((p) => el("li", {},
        el("a", { href: `#${p.name}`, class: p.name === shell.active ? "active" : "", "data-page": p.name,
          onclick: (ev) => { ev.preventDefault(); navigate(p.name); } }, core.label(p.title))))),
      el("div", { class: "me" },
        el("div", {}, ctx.me ? `${ctx.me.display_name} · ${ctx.me.role_label}` : ""),
        el("button", { type: "button", class: "link", onclick: () => switchLocale(other) }, other === "en" ? "English" : "中文"),
        el("button", { type: "button", class: "link", onclick: doLogout }, t("console.logout"))));
  }

  /** Open a page: a real history entry, so the browser's back button returns to the last page. */
  function navigate(name, params) {
    if (!pages.has(name)) return;
    if (location.hash.slice(1) !== name) history.pushState(null, "", `#${name}`);
    show(name, params);
  }

  window.addEventListener("popstate", () => {
    const wanted = location.hash.slice(1) || sortedPages()[0].name;
    if (shell.booted && pages.has(wanted) && wanted !== shell.active) show(wanted);
  });

  async function show(name, params) {
    shell.active = name;
    for (const chart of shell.charts) chart.dispose();
    shell.charts.clear();
    renderNav();
    const def = pages.get(name);
    const root = el("section", { class: `page-${name}` });
    main.replaceChildren(el("h1", {}, core.label(def.title)), root);
    try {
      await def.render(root, ctx, params || {});
    } catch (err) {
      root.replaceChildren(el("p", { class: "error" }, err.error || err.message || String(err)));
    }
  }

  async function switchLocale(locale) {
    await core.setLocale(locale);
    localStorage.setItem("daogou.locale", locale);
    show(shell.active);
  }

  async function doLogout() {
    await core.logout();
    location.reload();
  }

  function showLogin() {
    shell.booted = false;
    document.body.classList.add("logged-out");
    core.loginForm(app, { title: `${t("app.name")} · ${t("hq.title")}`, onLoggedIn: (data) => start(data.me) });
  }

  async function start(me) {
    ctx.me = me;
    if (me.locale && me.locale !== core.locale) await core.loadCatalogue(me.locale);
    if (me.role === "clerk") {
      app.replaceChildren(el("div", { class: "login" }, el("p", {}, t("hq.clerks_only")), el("a", { href: "/console/" }, "/console/")));
      return;
    }
    document.body.classList.remove("logged-out");
    app.replaceChildren(nav, main);
    shell.booted = true;
    const wanted = location.hash.slice(1);
    const first = pages.has(wanted) ? wanted : sortedPages()[0].name;
    history.replaceState(null, "", `#${first}`);  // so "back" from the next page lands here
    show(first);
  }

  window.addEventListener("resize", () => { for (const chart of shell.charts) chart.resize(); });
  window.DaogouHQ = { registerPage, ctx, pages };
  document.addEventListener("DOMContentLoaded", async () => {
    core.onUnauthorized = () => { if (shell.booted) showLogin(); };
    try {
      await core.loadCatalogue(core.preferredLocale());
      const me = await core.whoAmI();
      if (me) await start(me); else showLogin();
    } catch (err) {
      app.replaceChildren(el("p", { class: "error" }, err.error || err.message || String(err)));
    }
  });
})();
