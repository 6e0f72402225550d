"use strict";
/* 客户 Customers: the clerk's follower book.
 *
 * Stage chips (with how many followers each would show), a search box (name, or the last digits
 * of the phone — 尾号), and one row per follower with their first tags and the reason of their
 * stage, so the clerk sees at a glance why someone is 休眠 or 该补货了. Tapping a row opens the
 * profile sheet; "＋标签" adds the clerk's own tag, which no rule ever removes. */
(function () {
  const STAGES = ["prospect", "new", "repeat", "fan", "dormant"];
  const PER_PAGE = 30;
  const TAGS_SHOWN = 3;

  Daogou.registerScreen("customers", {
    title: { "zh-CN": "客户", en: "Customers" },
    icon: "☺",
    order: 30,
    async render(root, ctx) {
      const { el, t } = ctx;
      const state = { stage: "", q: "", page: 1, total: 0, loading: false };
      const chips = el("div", { class: "quick-replies", role: "tablist", "aria-label": t("followers.stages") });
      const search = el("input", {
        type: "search", placeholder: t("followers.search"), "aria-label": t("followers.search"),
        autocomplete: "off", enterkeyhint: "search",
      });
      const list = el("ul", { class: "conversations followers" });
      const more = el("button", { type: "button", class: "ghost wide", hidden: true, onclick: () => load(false) },
        t("followers.more"));
      const status = el("p", { class: "muted", role: "status" });
      root.append(el("div", { class: "conv-search" }, search), chips, status, list, more);

      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => { state.q = search.value.trim(); load(true); }, 300);
      });

      function renderChips(counts) {
        const total = Object.values(counts || {}).reduce((a, b) => a + b, 0);
        const chip = (stage, label, n) => el("button", {
          type: "button", role: "tab", class: `ghost ${state.stage === stage ? "active" : ""}`,
          "aria-selected": state.stage === stage ? "true" : "false", "data-stage": stage || "all",
          onclick: () => { state.stage = stage; load(true); },
        }, `${label} ${n}`);
        chips.replaceChildren(chip("", t("followers.all"), total),
          ...STAGES.map((s) => chip(s, t(`stage.${s}`), (counts || {})[s] || 0)));
      }

      function row(c) {
        const stageTag = (c.tags || []).find((tag) => tag.group === "stage");
        // The clerk's own tags always show; then the most useful rule tags, up to TAGS_SHOWN in all.
        const manual = (c.tags || []).filter((tag) => tag.source === "manual");
        const rules = (c.tags || []).filter((tag) => tag.group !== "stage" && tag.source !== "manual");
        const others = [...manual, ...rules.slice(0, Math.max(0, TAGS_SHOWN - manual.length))];
        const tagLine = el("div", { class: "tags-inline" }, others.map((tag) =>
          el("span", { class: `tag ${tag.source}`, title: tag.reason || "" }, el("span", { class: "tag-label" }, tag.label))));
        const addTag = el("button", { type: "button", class: "link", onclick: (ev) => { ev.stopPropagation(); askTag(c, item); } },
          t("followers.add_tag"));
        const item = el("li", { "data-customer": c.id },
          el("div", {
            class: "conversation", role: "button", tabindex: "0",
            onclick: () => ctx.openCustomer(c.id),
            onkeydown: (ev) => { if (ev.key === "Enter") ctx.openCustomer(c.id); },
          },
          el("div", { class: "avatar", "aria-hidden": "true" }, (c.name || "?").slice(0, 1)),
          el("div", { class: "who" },
            el("strong", { class: "name" }, c.name),
            el("p", { class: "muted" }, [c.stage_label, c.phone_tail ? t("followers.phone_tail", { tail: c.phone_tail }) : null,
              c.paid_orders ? t("followers.spent", { n: c.paid_orders, amount: ctx.yuan(c.total_spent) }) : null]
              .filter(Boolean).join(" · ")),
            stageTag && stageTag.reason ? el("p", { class: "preview" }, stageTag.reason) : null,
            tagLine),
          addTag));
        return item;
      }

      async function askTag(c, item) {
        const name = window.prompt(t("followers.add_tag_prompt", { name: c.name }));
        if (!name || !name.trim()) return;
        try {
          const res = await ctx.api(`/api/v1/customers/${c.id}/tags`, { method: "POST", body: { name: name.trim() } });
          item.replaceWith(row({ ...c, tags: res.tags }));
          ctx.toast(t("followers.tag_added", { tag: name.trim() }));
        } catch (err) {
          ctx.toast(Object.values(err.fields || {})[0] || err.error, "error");
        }
      }

      async function load(reset) {
        if (state.loading) return;
        state.loading = true;
        if (reset) state.page = 1;
        const params = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE) });
        if (state.stage) params.set("stage", state.stage);
        if (state.q) params.set("q", state.q);
        status.textContent = t("console.loading");
        try {
          const data = await ctx.api(`/api/v1/followers?${params}`);
          renderChips(data.stages);
          if (reset) list.replaceChildren();
          list.append(...data.items.map(row));
          state.total = data.total;
          const shown = list.children.length;
          status.textContent = shown ? t("followers.count", { shown, total: data.total }) : t("followers.none");
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
