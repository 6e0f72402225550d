"use strict";
/* 专属商品页 Personal pages, head office's side: the products a task's or campaign's page shows
 * (picked by name, in their categories), and the brand's settings — how long a link opens its page,
 * how long after a click an order counts for the clerk who sent it, and where "去购买" leads. */
(function () {
  const core = window.DaogouCore;
  const { el, t } = core;

  /** The products to tick, grouped by category, with the field's label, hint and error line;
   * ``values()`` gives the chosen SKUs in order. */
  function linkProducts(ctx, products) {
    const boxes = [];
    const groups = new Map();
    for (const p of products || []) {
      if (!groups.has(p.category)) groups.set(p.category, []);
      groups.get(p.category).push(p);
    }
    const filter = el("input", { type: "search", placeholder: t("links.hq.products_filter"), "aria-label": t("links.hq.products_filter") });
    const list = el("div", { class: "product-ticks" }, [...groups].map(([category, items]) => el("fieldset", {},
      el("legend", {}, category), items.map((p) => {
        const box = el("input", { type: "checkbox", value: p.sku });
        boxes.push(box);
        return el("label", { class: "product-tick", dataset: { name: `${p.name} ${p.sku}`.toLowerCase() } },
          box, el("span", {}, p.name), el("small", { class: "muted" }, ` ¥${p.price}`));
      }))));
    filter.addEventListener("input", () => {
      const q = filter.value.trim().toLowerCase();
      for (const label of list.querySelectorAll("label.product-tick")) label.hidden = Boolean(q) && !label.dataset.name.includes(q);
    });
    // A group of its own, not a <label>: each product is a label already.
    const node = el("div", { class: "field full link-products", dataset: { field: "product_skus" } },
      el("span", { class: "field-label" }, t("links.hq.products")),
      products && products.length ? [filter, list] : el("p", { class: "muted" }, t("links.hq.no_products")),
      el("small", { class: "hint" }, t("links.hq.products_hint")),
      el("span", { class: "field-error", role: "alert", hidden: true }));
    return { node, values: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  }

  /** The brand's personal-page settings as a small form. */
  async function linkSettings(ctx) {
    const f = DaogouHQ.forms;
    const { settings } = await ctx.api("/api/v1/links/settings");
    const expiry = el("input", { name: "expiry_days", type: "number", min: 1, max: 90, class: "count", value: String(settings.expiry_days) });
    const window_ = el("input", { name: "click_window_days", type: "number", min: 1, max: 30, class: "count",
      value: String(settings.click_window_days) });
    const shop = el("input", { name: "shop_url", class: "long", placeholder: "https://shop.example.com/goods/{sku}", value: settings.shop_url || "" });
    const general = f.summary();
    const form = el("form", { class: "panel link-settings", novalidate: true },
      el("h3", {}, t("links.hq.settings")), el("p", { class: "muted" }, t("links.hq.settings_intro")),
      f.phrase(t("links.hq.expiry"), expiry, { path: "expiry_days" }),
      f.phrase(t("links.hq.window"), window_, { path: "click_window_days" }),
      f.field(t("links.hq.shop_url"), shop, { path: "shop_url", hint: t("links.hq.shop_url_hint") }),
      el("button", { type: "submit", class: "primary" }, t("links.hq.save")), general);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await ctx.api("/api/v1/links/settings", { method: "PUT", body: {
          expiry_days: Number(expiry.value), click_window_days: Number(window_.value), shop_url: shop.value.trim() || null } });
        f.clearErrors(form);
        general.hidden = true;
        ctx.toast(t("links.hq.saved"));
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    return form;
  }

  Object.assign(window.DaogouHQ, { linkProducts, linkSettings });
})();
