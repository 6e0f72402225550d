"use strict";
/* 客户 Customers: the clerk's follower book.
 *
 * A search box (name, or the last digits of the phone — 尾号), stage chips and tag chips (each
 * with how many followers it would show; both strips scroll sideways inside themselves, never the
 * page), and one compact row per follower: name, stage and why, and the two most useful tags — the
 * server picks them (row_tags: what to act on first, and always the clerk's own newest tag).
 * Tapping a row opens the profile sheet; "＋标签" adds the clerk's own tag in the row itself. */
(function () {
  const STAGES = ["prospect", "new", "repeat", "fan", "dormant"];
  const PER_PAGE = 30;

  function tagChip(ctx, tag) {
    return ctx.el("span", { class: `tag-chip ${tag.source}`, title: tag.reason || "", "data-tag": tag.name }, tag.label);
  }

  function stageLine(ctx, c) {
    const stageTag = (c.tags || []).find((tag) => tag.group === "stage");
    return ctx.el("span", { class: "top" },
      ctx.el("strong", { class: "name" }, c.name),
      c.stage_label ? ctx.el("span", { class: `stage-pill ${c.stage || ""}` }, c.stage_label) : null,
      stageTag && stageTag.reason ? ctx.el("span", { class: "why" }, stageTag.reason) : null);
  }

  function row(ctx, c) {
    const { el, t } = ctx;
    const open = () => ctx.openCustomer(c.id);
    const tags = c.row_tags || [];
    const item = el("li", { class: "follower", "data-customer": c.id },
      el("div", { class: "follower-main", role: "button", tabindex: "0", onclick: open,
        onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); } } },
      el("span", { class: "avatar", "aria-hidden": "true" }, (c.name || "?").slice(0, 1)),
      el("span", { class: "who" },
        stageLine(ctx, c),
        el("span", { class: "tag-line" }, tags.length ? tags.map((tag) => tagChip(ctx, tag))
          : el("span", { class: "meta" }, c.phone_tail ? t("followers.phone_tail", { tail: c.phone_tail }) : "")))),
      el("button", { type: "button", class: "link add-tag", onclick: () => tagForm(ctx, c, item) },
        t("followers.add_tag")));
    return item;
  }

  /** "＋标签": a small form in the row (no prompt(): some in-app browsers block it). */
  function tagForm(ctx, c, item) {
    const { el, t } = ctx;
    const existing = item.querySelector(".add-tag-form");
    if (existing) { existing.remove(); return; }
    const input = el("input", { type: "text", name: "tag", maxlength: "64", placeholder: t("followers.add_tag_prompt", { name: c.name }),
      "aria-label": t("followers.add_tag_prompt", { name: c.name }) });
    const error = el("p", { class: "field-error", role: "alert", hidden: true });
    const form = el("form", { class: "add-tag-form" }, input,
      el("button", { type: "submit", class: "primary" }, t("followers.add_tag_submit")),
      el("button", { type: "button", class: "ghost", onclick: () => form.remove() }, t("followers.cancel")), error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      try {
        const res = await ctx.api(`/api/v1/customers/${c.id}/tags`, { method: "POST", body: { name } });
        item.replaceWith(row(ctx, { ...c, tags: res.tags, row_tags: res.row_tags }));
        ctx.toast(t("followers.tag_added", { tag: name }));
      } catch (err) {
        error.textContent = Object.values(err.fields || {})[0] || err.error;
        error.hidden = false;
      }
    });
    item.append(form);
    input.focus();
  }

  function chip(ctx, { label, count, active, data, onclick }) {
    return ctx.el("button", { type: "button", class: `chip ${active ? "active" : ""}`, "aria-pressed": String(active),
      dataset: data, onclick }, label, ctx.el("span", { class: "count" }, String(count)));
  }

  Daogou.registerScreen("customers", {
    title: { "zh-CN": "客户", en: "Customers" },
    icon: "☺",
    order: 30,
    async render(root, ctx) {
      const { el, t } = ctx;
      const state = { stage: "", tag: "", q: "", page: 1, loading: false };
      const search = el("input", {
        type: "search", placeholder: t("followers.search"), "aria-label": t("followers.search"),
        autocomplete: "off", enterkeyhint: "search",
      });
      const stageChips = el("div", { class: "chip-strip stages", "data-scroll-x": "", role: "group", "aria-label": t("followers.stages") });
      const tagChips = el("div", { class: "chip-strip tag-chips", "data-scroll-x": "", role: "group", "aria-label": t("followers.tags") });
      const list = el("ul", { class: "followers" });
      const more = el("button", { type: "button", class: "ghost wide more", hidden: true, onclick: () => load(false) },
        t("followers.more"));
      const status = el("p", { class: "list-status", role: "status" });
      root.replaceChildren(el("div", { class: "filter-bar" }, el("div", { class: "conv-search" }, search), stageChips, tagChips),
        status, list, more);

      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => { state.q = search.value.trim(); load(true); }, 300);
      });
      const choose = (changes) => { Object.assign(state, changes); load(true); };

      function renderChips(stages, tags) {
        const all = Object.values(stages || {}).reduce((a, b) => a + b, 0);
        stageChips.replaceChildren(
          chip(ctx, { label: t("followers.all"), count: all, active: !state.stage, data: { stage: "all" }, onclick: () => choose({ stage: "" }) }),
          ...STAGES.map((s) => chip(ctx, { label: t(`stage.${s}`), count: (stages || {})[s] || 0, active: state.stage === s,
            data: { stage: s }, onclick: () => choose({ stage: state.stage === s ? "" : s }) })));
        tagChips.replaceChildren(...(tags || []).map((tag) => chip(ctx, { label: tag.label, count: tag.count,
          active: state.tag === tag.name, data: { tag: tag.name }, onclick: () => choose({ tag: state.tag === tag.name ? "" : tag.name }) })));
        tagChips.hidden = !(tags || []).length;
      }

      function emptyState() {
        const filtered = state.stage || state.tag;
        const text = state.q ? t("followers.no_match", { q: state.q }) : filtered ? t("followers.no_match_filter") : t("followers.empty");
        return el("li", { class: "empty" }, el("p", {}, text), state.q || filtered
          ? el("button", { type: "button", class: "ghost clear", onclick: () => { search.value = ""; choose({ q: "", stage: "", tag: "" }); } },
            t("followers.clear_filters")) : null);
      }

      async function load(reset) {
        if (state.loading) return;
        state.loading = true;
        if (reset) state.page = 1;
        const params = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE) });
        if (state.stage) params.set("stage", state.stage);
        if (state.tag) params.set("tag", state.tag);
        if (state.q) params.set("q", state.q);
        status.textContent = t("console.loading");
        try {
          const data = await ctx.api(`/api/v1/followers?${params}`);
          renderChips(data.stages, data.tags);
          if (reset) list.replaceChildren();
          list.append(...data.items.map((c) => row(ctx, c)));
          const shown = list.querySelectorAll("li[data-customer]").length;
          if (!shown) list.replaceChildren(emptyState());
          status.textContent = shown ? t("followers.count", { shown, total: data.total }) : "";
          more.hidden = shown >= data.total;
          state.page += 1;
        } catch (err) {
          status.textContent = err.error;
        } finally {
          state.loading = false;
        }
      }

      await load(true);
    },
  });
})();
