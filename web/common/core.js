"use strict";
/* Daogou browser core shared by the clerk console (/console/) and head office (/hq/):
 * JSON API calls with the CSRF header, translations, a DOM builder that never parses HTML,
 * money and time formatting. No dependencies; loaded before console/app.js or hq/app.js. */
(function () {
  const state = { csrf: null, locale: "zh-CN", catalogue: {}, onUnauthorized: null };
  const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

  function apiError(status, error, fields) {
    const err = new Error(error || String(status));
    err.status = status;
    err.error = error || String(status);
    err.fields = fields || {};
    return err;
  }

  /** Call the JSON API; resolves to the parsed body, rejects with {status, error, fields}. */
  async function api(path, options = {}) {
    const method = (options.method || "GET").toUpperCase();
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const init = { method, headers, credentials: "same-origin" };
    if (options.body instanceof FormData) {
      init.body = options.body;
    } else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    if (!SAFE.has(method) && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (_network) {
      throw apiError(0, t("common.network_error"), {});
    }
    let data = null;
    const text = await resp.text();
    if (text) {
      try { data = JSON.parse(text); } catch (_notJson) { data = null; }
    }
    if (!resp.ok) {
      if (resp.status === 401 && state.onUnauthorized && !path.startsWith("/auth/login")) {
        state.onUnauthorized();
      }
      throw apiError(resp.status, (data && data.error) || resp.statusText, data && data.fields);
    }
    return data;
  }

  /** Translate ``key`` with ``{name}`` placeholders; the key itself when missing. */
  function t(key, params) {
    let text = Object.prototype.hasOwnProperty.call(state.catalogue, key) ? state.catalogue[key] : key;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
    }
    return text;
  }

  async function loadCatalogue(locale) {
    const resp = await fetch(`/i18n/${encodeURIComponent(locale)}.json`, { credentials: "same-origin" });
    state.catalogue = resp.ok ? await resp.json() : {};
    state.locale = locale;
    document.documentElement.lang = locale;
  }

  /** The title of a screen or page in the current locale: {"zh-CN": …, en: …} or a key. */
  function label(title) {
    if (!title) return "";
    if (typeof title === "string") return t(title);
    return title[state.locale] || title["zh-CN"] || title.en || "";
  }

  /** A vocabulary entry's name for people: {label (zh-CN), label_en}. */
  function localLabel(item) {
    return state.locale === "en" ? item.label_en || item.label : item.label;
  }

  let channelList = null;
  /** The channel kinds with their labels and capabilities, asked once (GET /api/v1/channels/kinds). */
  function channelKinds() {
    if (!channelList) {
      channelList = api("/api/v1/channels/kinds").then((res) => res.kinds, (err) => { channelList = null; throw err; });
    }
    return channelList;
  }

  /** A channel's name for people, from the list channelKinds() gave (in_store is no channel: met in the shop). */
  function channelLabel(kinds, kind) {
    const found = kinds.find((k) => k.kind === kind);
    if (found) return localLabel(found);
    const key = `channels.kind.${kind}`;
    return Object.prototype.hasOwnProperty.call(state.catalogue, key) ? state.catalogue[key] : kind;
  }

  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "poster"]);
  const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:", "tel:"]);

  function safeUrl(value) {
    // Only relative, http(s), mailto, tel and data:image URLs; never javascript: or similar.
    // Judge the URL as the browser will read it: its parser drops tabs and newlines anywhere and
    // control characters at the ends, so "java\tscript:" is javascript: to it.
    const v = String(value).replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
    let url;
    try {
      url = new URL(v, document.baseURI);
    } catch (_unparsable) {
      return null;
    }
    if (SAFE_PROTOCOLS.has(url.protocol)) return v;
    if (url.protocol === "data:" && /^data:image\//i.test(v)) return v;
    return null;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
  }

  /** Build an element. Text is always set as text, never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs instanceof Node || Array.isArray(attrs) || typeof attrs !== "object" || attrs === null) {
      children.unshift(attrs);
      attrs = {};
    }
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class" || key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "innerHTML" || key === "html") {
        throw new Error("el(): HTML is never set from data; build nodes instead");
      } else if (key === "value" && "value" in node) node.value = value;
      else if (URL_ATTRS.has(key)) {
        const url = safeUrl(value);
        if (url !== null) node.setAttribute(key, url);
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  /** "268.00" (yuan on the wire) → "¥268.00"; missing → "—". */
  function yuan(amount) {
    if (amount === null || amount === undefined || amount === "") return "—";
    const n = Number(amount);
    if (!Number.isFinite(n)) return String(amount);
    const text = Math.abs(n).toLocaleString(state.locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return n < 0 ? `-¥${text}` : `¥${text}`;  // a deduction reads "-¥5.50", not "¥-5.50"
  }

  /** 350 (basis points, as the API keeps rates) → "3.5%"; missing → "—". */
  function percent(bp) {
    if (bp === null || bp === undefined || bp === "") return "—";
    const n = Number(bp);
    return Number.isFinite(n) ? `${(n / 100).toLocaleString(state.locale, { maximumFractionDigits: 2 })}%` : "—";
  }

  /** A percentage as a person types it ("3.5", "3.5%") → basis points (350); null if it is not one. */
  function parsePercent(text) {
    const m = /^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%?\s*$/.exec(String(text ?? ""));
    return m ? Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0")) : null;
  }

  /** Yuan as a person types it ("30000", "¥1,280.5", "-5") → the wire's decimal string ("1280.50");
   * null if it is not an amount with at most two decimals (or is negative unless allowed). */
  function parseYuan(text, { negative = false } = {}) {
    const clean = String(text ?? "").replace(/[¥￥,，\s]/g, "").replace(/元$/, "");
    const m = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/.exec(clean);
    if (!m || (m[1] && !negative)) return null;
    return `${m[1]}${Number(m[2])}.${(m[3] || "").padEnd(2, "0")}`;
  }

  function keepClock(clock) {
    if (clock) state.clock = { serverNow: Date.parse(clock.now), receivedAt: Date.now(), timezone: clock.timezone };
  }

  /** Business time as the server keeps it (its clock, not the phone's), running on locally. */
  function now() {
    const c = state.clock;
    return c ? new Date(c.serverNow + (Date.now() - c.receivedAt)) : new Date();
  }

  /** Times show in the brand's timezone, whatever the phone is set to. */
  function zoneOptions(extra) {
    return state.clock && state.clock.timezone ? { timeZone: state.clock.timezone, ...extra } : extra;
  }

  function dayKey(d) {
    return d.toLocaleDateString("en-CA", zoneOptions({ year: "numeric", month: "2-digit", day: "2-digit" }));
  }

  /** A datetime-local input's value ("2026-11-20T10:30") for ``d`` in the brand's timezone:
   * the server reads a time without an offset in that zone. */
  function localInput(d) {
    return d.toLocaleString("sv-SE", zoneOptions({ year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hour12: false })).replace(" ", "T").slice(0, 16);
  }

  /** A date input's value ("2026-11-20") for ``d`` in the brand's timezone. */
  function localDate(d) {
    return dayKey(d);
  }

  /** The day of ``iso`` in the brand's timezone, as people read dates ("2026/11/20"); "" if none. */
  function dateOnly(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || Number.isNaN(d.getTime())) return "";
    return d.toLocaleDateString(state.locale, zoneOptions({ year: "numeric", month: "2-digit", day: "2-digit" }));
  }

  /** The current month in the brand's timezone, "2026-11". */
  function period() {
    return dayKey(now()).slice(0, 7);
  }

  /** ``iso`` as a Date with its brand-time "HH:MM" and how many brand days it is from today. */
  function brandMoment(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || Number.isNaN(d.getTime())) return null;
    const today = now();
    const dayOffset = (Date.parse(dayKey(d)) - Date.parse(dayKey(today))) / 86400000;
    const hm = d.toLocaleTimeString(state.locale, zoneOptions({ hour: "2-digit", minute: "2-digit", hour12: false }));
    const monthDay = d.toLocaleDateString(state.locale, zoneOptions({ month: "numeric", day: "numeric" }));
    return { d, hm, monthDay, dayOffset, sameYear: dayKey(d).slice(0, 4) === dayKey(today).slice(0, 4) };
  }

  /** A short time for lists: 14:05 today, 昨天/Yesterday, else the date. */
  function shortTime(iso) {
    const m = brandMoment(iso);
    if (!m) return "";
    if (m.dayOffset === 0) return m.hm;
    if (m.dayOffset === -1) return t("common.yesterday");
    return m.sameYear ? m.monthDay : m.d.toLocaleDateString(state.locale, zoneOptions({}));
  }

  /** When something will happen: 09:00 today, 明天/Tomorrow 09:00, else the date and time. */
  function laterTime(iso) {
    const m = brandMoment(iso);
    if (!m) return "";
    if (m.dayOffset === 0) return m.hm;
    if (m.dayOffset === 1) return `${t("common.tomorrow")} ${m.hm}`;
    return `${m.monthDay} ${m.hm}`;
  }

  function dateTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(state.locale, zoneOptions({ hour12: false }));
  }

  /** A random id for idempotent sends (crypto.randomUUID needs a secure context; phones on shop Wi-Fi may not have one). */
  function clientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function toast(message, kind) {
    let host = document.getElementById("toasts");
    if (!host) {
      host = el("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(host);
    }
    const item = el("div", { class: `toast ${kind || ""}` }, message);
    host.appendChild(item);
    setTimeout(() => item.remove(), 4000);
  }

  /** The login form; resolves once a login succeeds, with {me, csrf_token}. */
  function loginForm(root, { title, onLoggedIn }) {
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const username = el("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
    const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
    const button = el("button", { type: "submit", class: "primary" }, t("auth.login_button"));
    const form = el("form", { class: "login", id: "login" },
      el("h1", {}, title),
      el("label", {}, t("auth.username"), username),
      el("label", {}, t("auth.password"), password),
      button, error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        const data = await api("/auth/login", { method: "POST", body: { username: username.value, password: password.value } });
        state.csrf = data.csrf_token;
        keepClock(data.clock);
        await onLoggedIn(data);
      } catch (err) {
        error.textContent = err.error || String(err);
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    root.replaceChildren(form);
    username.focus();
  }

  /** Who is logged in, or null. Keeps the CSRF token for later calls. */
  async function whoAmI() {
    try {
      const data = await api("/api/v1/me");
      state.csrf = data.csrf_token;
      keepClock(data.clock);
      return data.me;
    } catch (err) {
      if (err.status === 401) return null;
      throw err;
    }
  }

  async function setLocale(locale) {
    await api("/api/v1/me/locale", { method: "POST", body: { locale } });
    await loadCatalogue(locale);
  }

  async function logout() {
    try { await api("/auth/logout", { method: "POST" }); } catch (_already) { /* logged out anyway */ }
    state.csrf = null;
  }

  function preferredLocale() {
    // zh-CN first, whatever the phone's language; English once someone chose it here.
    return localStorage.getItem("daogou.locale") === "en" ? "en" : "zh-CN";
  }

  // Customer profile sheet (ctx.openCustomer) ----------------------------------------------
  /** The customer profile sheet (ctx.openCustomer): tags with reasons, orders, score. */
  async function profileSheet(ctx, customerId) {
    const body = el("div", { class: "sheet-body" }, el("p", { class: "muted" }, t("console.loading")));
    const close = () => sheet.remove();
    const sheet = el("div", { class: "sheet", role: "dialog", "aria-modal": "true" },
      el("div", { class: "sheet-backdrop", onclick: close }),
      el("div", { class: "sheet-panel" },
        el("div", { class: "sheet-head" },
          el("h2", {}, t("console.profile.title")),
          el("button", { type: "button", class: "link close", "aria-label": t("console.close"), onclick: close }, "✕")),
        body));
    document.body.appendChild(sheet);
    let p;
    try {
      p = await ctx.api(`/api/v1/customers/${encodeURIComponent(customerId)}`);
    } catch (err) {
      body.replaceChildren(el("p", { class: "error" }, err.error));
      return;
    }
    const score = p.score || p.propensity || null;
    // through el(): it drops the null parts (replaceChildren would print "null")
    body.replaceChildren(el("div", {},
      el("div", { class: "profile-head" },
        el("div", { class: "avatar" }, (p.name || "?").slice(0, 1)),
        el("div", {},
          el("div", { class: "name" }, p.name),
          el("div", { class: "muted" }, [p.stage_label, p.member_level, p.phone_tail ? `☎ ${p.phone_tail}` : null].filter(Boolean).join(" · ")))),
      el("dl", { class: "facts" },
        el("dt", {}, t("console.profile.paid_orders")), el("dd", {}, String(p.paid_orders ?? 0)),
        el("dt", {}, t("console.profile.total_spent")), el("dd", {}, ctx.yuan(p.total_spent)),
        el("dt", {}, t("console.profile.last_paid")), el("dd", {}, p.last_paid_at ? ctx.dateTime(p.last_paid_at) : "—"),
        score ? [el("dt", {}, t("console.profile.score")),
          el("dd", {}, typeof score === "object" ? `${Math.round((score.probability ?? score.p ?? 0) * 100)}%` : String(score))] : null),
      score && typeof score === "object" && Array.isArray(score.reasons) && score.reasons.length
        ? el("ul", { class: "reasons" }, score.reasons.map((r) => el("li", {}, typeof r === "string" ? r : (r.text || r.label || JSON.stringify(r)))))
        : null,
      el("h3", {}, t("console.profile.tags")),
      p.tags && p.tags.length
        ? el("ul", { class: "tags" }, p.tags.map((tag) => el("li", { class: `tag ${tag.source}` },
          el("span", { class: "tag-label" }, tag.label || tag.name),
          tag.reason ? el("span", { class: "tag-reason" }, tag.reason) : null)))
        : el("p", { class: "muted" }, t("console.profile.no_tags")),
      el("h3", {}, t("console.profile.orders")),
      p.orders && p.orders.length
        ? el("ul", { class: "orders" }, p.orders.map((o) => el("li", {},
          el("div", { class: "order-line" },
            el("span", {}, ctx.shortTime(o.paid_at || o.created_at)),
            el("span", { class: `status ${o.status}` }, t(`order.status.${o.status}`)),
            el("strong", {}, ctx.yuan(o.amount))),
          el("div", { class: "muted" }, (o.items || []).map((i) => `${i.name} ×${i.quantity}`).join("，")))))
        : el("p", { class: "muted" }, t("console.profile.no_orders")),
      profileCoupons(ctx, p.id),
      ctx.me && ctx.me.role === "clerk"
        ? el("button", { type: "button", class: "primary wide", onclick: () => { close(); ctx.openChat(p.id); } }, t("console.profile.message"))
        : null));
  }

  /** The customer's coupons on the profile sheet; a clerk's 送券 within this month's gift budget. */
  function profileCoupons(ctx, customerId) {
    const box = el("div", { class: "profile-coupons" });
    const load = async () => {
      let c;
      try { c = await ctx.api(`/api/v1/customers/${encodeURIComponent(customerId)}/coupons`); } catch (_err) { return; }
      const choose = el("select", { "aria-label": t("coupons.profile.choose") },
        (c.templates || []).map((tpl) => el("option", { value: tpl.id }, `${tpl.title} · ${tpl.name}`)));
      const gift = el("button", { type: "button", class: "primary", disabled: !c.gifts || c.gifts.left < 1, onclick: async () => {
        try {
          const r = await ctx.api(`/api/v1/customers/${encodeURIComponent(customerId)}/coupons`,
            { method: "POST", body: { template_id: Number(choose.value) } });
          toast(t("coupons.profile.sent", { title: choose.selectedOptions[0].textContent, expires: r.expires_label }));
          load();
        } catch (err) { toast((err.fields && Object.values(err.fields)[0]) || err.error, "error"); }
      } }, t("coupons.profile.gift"));
      box.replaceChildren(el("div", {}, el("h3", {}, t("coupons.profile.title")),
        c.coupons.length ? el("ul", { class: "coupons" }, c.coupons.slice(0, 8).map((x) => el("li", { class: `coupon ${x.state}` },
          el("strong", {}, x.title), " ", el("span", { class: "muted" }, x.state === "issued" ? x.expires_label : t(`coupons.state.${x.state}`)))))
          : el("p", { class: "muted" }, t("coupons.profile.none")),
        c.gifts && c.templates && c.templates.length ? el("div", { class: "coupon-gift" }, choose, gift,
          el("span", { class: "muted" }, t("coupons.profile.left", { n: c.gifts.left }))) : null));
    };
    load();
    return box;
  }

  window.DaogouCore = {
    state, api, t, el, yuan, percent, parsePercent, parseYuan, now, period, localInput, localDate, dateOnly, shortTime, laterTime, dateTime, clientId, toast, label, loginForm, whoAmI,
    setLocale, loadCatalogue, logout, preferredLocale, profileSheet, localLabel, channelKinds, channelLabel,
    set onUnauthorized(fn) { state.onUnauthorized = fn; },
    get locale() { return state.locale; },
  };
})();
