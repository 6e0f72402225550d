"use strict";
/* 操作记录 Activity log (head office): sign-ins, exports, handovers and rule changes, newest first
 * (GET /api/v1/audit?action=&before_id=). */
(function () {
  function detailText(ctx, entry) {
    const { t } = ctx;
    return Object.entries(entry.detail || {}).map(([key, value]) => {
      const label = t(`audit.detail.${key}`);
      const shown = key === "report" ? t(`audit.report.${value}`) : key === "role" ? t(`role.${value}`) : String(value);
      return label === `audit.detail.${key}` ? null : `${label}：${shown}`;
    }).filter(Boolean).join("　");
  }

  function row(ctx, e) {
    const { el } = ctx;
    return el("tr", { "data-entry": e.id },
      el("td", {}, ctx.dateTime(e.at)), el("td", {}, e.actor), el("td", {}, e.action_label),
      el("td", {}, detailText(ctx, e)), el("td", { class: "muted" }, e.address || "—"));
  }

  DaogouHQ.registerPage("audit", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const body = el("tbody");
      const more = el("button", { type: "button", class: "ghost", hidden: true }, t("audit.more"));
      const empty = el("p", { class: "muted", hidden: true }, t("audit.none"));
      const filter = el("select", { "aria-label": t("audit.what") });
      let last = null;

      async function load(reset) {
        const params = new URLSearchParams({ limit: "50" });
        if (filter.value) params.set("action", filter.value);
        if (!reset && last) params.set("before_id", String(last));
        const page = await ctx.api(`/api/v1/audit?${params}`);
        if (reset) {
          body.replaceChildren();
          if (filter.options.length === 0) {
            filter.append(el("option", { value: "" }, t("audit.all_actions")),
              ...page.actions.map((a) => el("option", { value: a.value }, a.label)));
          }
        }
        body.append(...page.entries.map((e) => row(ctx, e)));
        last = page.entries.length ? page.entries[page.entries.length - 1].id : last;
        more.hidden = !page.more;
        empty.hidden = body.children.length > 0;
      }

      filter.addEventListener("change", () => load(true));
      more.addEventListener("click", () => load(false));
      root.replaceChildren(el("div", { class: "panel" },
        el("p", { class: "muted" }, t("audit.intro")),
        el("div", { class: "toolbar" }, filter),
        el("table", { class: "grid" },
          el("thead", {}, el("tr", {}, ["audit.when", "audit.who", "audit.what", "audit.details", "audit.address"]
            .map((k) => el("th", {}, t(k))))), body),
        empty, more));
      await load(true);
    },
  });
})();
