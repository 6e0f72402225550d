"use strict";
/* 业绩提成 Commission: leaderboards by store and clerk and the monthly statement with the rule behind
 * each line (and its CSV); the rules, attribution and adjustment forms are in commission_forms.js.
 * Every figure comes from the ledger through /api/v1/commission/*. */
(function () {
  const TABS = ["boards", "statement", "rules", "attribution", "adjust"];
  const STATEMENT_PAGE = 50;

  function table(el, headers, rows) {
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
  }

  async function renderBoards(ctx, box, period) {
    const { el, t } = ctx;
    const data = await ctx.api(`/api/v1/commission/leaderboard?period=${period}`);
    const chartBox = el("div", { class: "chart" });
    box.replaceChildren(
      el("p", { class: "muted" }, t(data.closed ? "hq.commission.month_closed" : "hq.commission.month_open")),
      el("h3", {}, t("commission.stores")),
      table(el, [t("commission.stores"), t("hq.commission.clerk_count"), t("commission.orders"), t("commission.sales"),
        t("commission.net_sales"), t("commission.commission")],
      data.stores.map((s) => [s.store_name || "—", String(s.clerks), String(s.orders), ctx.yuan(s.sales),
        ctx.yuan(s.net_sales), ctx.yuan(s.commission)])),
      el("h3", {}, t("commission.clerks")), data.clerks.length ? chartBox : el("p", { class: "muted" }, t("commission.no_orders")),
      table(el, [t("hq.commission.rank"), t("commission.clerks"), t("commission.stores"), t("commission.orders"),
        t("commission.sales"), t("commission.net_sales"), t("commission.commission")],
      data.clerks.map((c) => [String(c.rank), c.display_name, c.store_name || "—", String(c.orders), ctx.yuan(c.sales),
        ctx.yuan(c.net_sales), ctx.yuan(c.commission)])));
    const top = data.clerks.slice(0, 15);
    if (top.length) {
      chartBox.style.height = `${Math.max(200, top.length * 26 + 40)}px`;  // one readable row a clerk
      ctx.chart(chartBox, {
        tooltip: { valueFormatter: (v) => ctx.yuan(v) }, grid: { left: 90, right: 30, top: 10, bottom: 20 },
        xAxis: { type: "value", axisLabel: { formatter: (v) => `¥${v}` } },
        yAxis: { type: "category", inverse: true, data: top.map((c) => c.display_name) },
        series: [{ type: "bar", name: t("commission.commission"), data: top.map((c) => Number(c.commission)),
          itemStyle: { color: "#b8322a" } }],
      });
    }
  }

  async function renderStatement(ctx, box, period) {
    const { el, t } = ctx;
    const data = await ctx.api(`/api/v1/commission/statement?period=${period}`);
    const body = el("tbody");
    let shown = 0;
    const more = el("button", { type: "button", class: "ghost" }, t("hq.commission.more"));
    const showMore = () => {
      const next = data.lines.slice(shown, shown + STATEMENT_PAGE);
      body.append(...next.map((l) => el("tr", {}, [l.clerk, l.store || "—", l.order || "—",
        l.rule || t(`commission.entry.${l.kind}`), ctx.yuan(l.amount), l.explanation || "",
        t(l.settled ? "commission.settled" : "commission.pending")].map((c) => el("td", {}, c)))));
      shown += next.length;
      more.hidden = shown >= data.lines.length;
    };
    more.addEventListener("click", showMore);
    box.replaceChildren(
      el("div", { class: "form-row" },
        el("p", {}, t("hq.commission.statement_total", { n: data.lines.length, total: ctx.yuan(data.total) })),
        el("a", { class: "button ghost", href: `/api/v1/commission/statement.csv?period=${period}`, download: `commission-${period}.csv` },
          t("commission.export_csv"))),
      el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, [t("commission.clerks"), t("commission.stores"), t("hq.commission.order"),
          t("commission.rules"), t("commission.commission"), t("hq.commission.how"), t("hq.commission.state")]
          .map((h) => el("th", {}, h)))), body),
      data.lines.length ? more : el("p", { class: "muted" }, t("commission.no_orders")));
    showMore();
  }

  DaogouHQ.registerPage("commission", {
    async render(root, ctx, params) {
      const { el, t } = ctx;
      const forms = DaogouHQ.commissionForms;
      let period = ctx.period();
      let tab = TABS.includes(params.tab) ? params.tab : "boards";
      const box = el("div", { class: "commission-part" });
      const picker = el("input", { type: "month", value: period, "aria-label": t("commission.period") });
      const periodRow = el("label", { class: "field inline" }, el("span", { class: "field-label" }, t("commission.period")), picker);
      const tabs = el("div", { class: "tabs", role: "tablist" }, TABS.map((name) => el("button", {
        type: "button", role: "tab", dataset: { tab: name }, onclick: () => show(name) }, t(`hq.commission.tab.${name}`))));

      async function show(name) {
        tab = name;
        for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
        periodRow.hidden = !["boards", "statement"].includes(tab);
        box.replaceChildren(el("p", { class: "muted" }, t("console.loading")));
        try {
          if (tab === "boards") await renderBoards(ctx, box, period);
          else if (tab === "statement") await renderStatement(ctx, box, period);
          else await forms[tab](ctx, box);
        } catch (err) {
          box.replaceChildren(el("p", { class: "error" }, err.error || String(err)));
        }
      }
      picker.addEventListener("change", () => {
        period = picker.value || period;
        show(tab);
      });
      root.replaceChildren(el("div", { class: "tab-bar" }, tabs, periodRow), box);
      await show(tab);
    },
  });
})();
