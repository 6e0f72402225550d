"use strict";
/* 业绩提成 Commission: leaderboards by store and clerk, the monthly statement with the rule behind
 * each line (and its CSV), commission rules, attribution rules, closing a month and manual
 * adjustments. Every figure comes from the ledger through /api/v1/commission/*. */
DaogouHQ.registerPage("commission", {
  title: { "zh-CN": "业绩提成", en: "Commission" },
  order: 45,
  async render(root, ctx) {
    const { el, t } = ctx;
    let period = ctx.period();
    const isHq = ctx.me && ctx.me.role === "hq";

    function errorText(err) {
      return `${err.error || err} ${Object.entries(err.fields || {}).map(([k, v]) => `${k}: ${v}`).join("; ")}`;
    }

    function table(headers, rows) {
      return el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
    }

    const boards = el("section", { class: "commission-boards" });
    const statement = el("section", { class: "commission-statement" });
    const rules = el("section", { class: "commission-rules" });
    const settings = el("section", { class: "commission-attribution" });

    async function loadBoards() {
      const data = await ctx.api(`/api/v1/commission/leaderboard?period=${period}`);
      const chartBox = el("div", { style: { height: "260px" } });
      boards.replaceChildren(
        el("h2", {}, `${t("commission.leaderboard")} · ${period} · ${t(data.closed ? "commission.closed" : "commission.open")}`),
        el("h3", {}, t("commission.stores")),
        table([t("commission.stores"), t("commission.clerks"), t("commission.orders"), t("commission.sales"),
          t("commission.net_sales"), t("commission.commission")],
        data.stores.map((s) => [s.store_name || "—", String(s.clerks), String(s.orders), ctx.yuan(s.sales),
          ctx.yuan(s.net_sales), ctx.yuan(s.commission)])),
        el("h3", {}, t("commission.clerks")), chartBox,
        table(["#", t("commission.clerks"), t("commission.stores"), t("commission.orders"), t("commission.sales"),
          t("commission.net_sales"), t("commission.commission")],
        data.clerks.map((c) => [String(c.rank), c.display_name, c.store_name || "—", String(c.orders), ctx.yuan(c.sales),
          ctx.yuan(c.net_sales), ctx.yuan(c.commission)])));
      const top = data.clerks.slice(0, 15);
      if (ctx.chart && top.length) {
        ctx.chart(chartBox, {
          tooltip: {}, grid: { left: 80, right: 20, top: 10, bottom: 20 },
          xAxis: { type: "value" },
          yAxis: { type: "category", inverse: true, data: top.map((c) => c.display_name) },
          series: [{ type: "bar", data: top.map((c) => Number(c.commission)) }],
        });
      }
    }

    async function loadStatement() {
      const data = await ctx.api(`/api/v1/commission/statement?period=${period}`);
      statement.replaceChildren(
        el("h2", {}, `${t("commission.statement")} · ${period} · ${ctx.yuan(data.total)}`),
        el("p", {}, el("a", { href: `/api/v1/commission/statement.csv?period=${period}`, download: `commission-${period}.csv` },
          t("commission.export_csv"))),
        table([t("commission.clerks"), t("commission.stores"), t("commission.orders"), t("commission.rules"),
          t("commission.commission"), "", ""],
        data.lines.slice(0, 500).map((l) => [l.clerk, l.store || "—", l.order || "—",
          l.rule || t(`commission.entry.${l.kind}`), ctx.yuan(l.amount), l.explanation || "",
          t(l.settled ? "commission.settled" : "commission.pending")])));
    }

    async function loadRules() {
      const data = await ctx.api("/api/v1/commission/rules");
      const f = {
        name: el("input", { name: "name", required: true }),
        kind: el("select", { name: "kind" }, ["percent", "fixed", "tier", "exclusion"].map((k) =>
          el("option", { value: k }, t(`commission.kind.${k}`)))),
        category: el("input", { name: "category", placeholder: "skincare" }),
        sku: el("input", { name: "sku" }),
        rate_bp: el("input", { name: "rate_bp", type: "number", min: "0", max: "10000", placeholder: "300 = 3%" }),
        amount: el("input", { name: "amount", placeholder: "5.00" }),
        tiers: el("input", { name: "tiers", placeholder: "0:0, 10000.00:100, 30000.00:200" }),
        effective_from: el("input", { name: "effective_from", type: "datetime-local" }),
      };
      const error = el("p", { class: "field-error", hidden: true });
      async function add(ev) {
        ev.preventDefault();
        const body = { name: f.name.value, kind: f.kind.value };
        if (f.category.value) body.category = f.category.value;
        if (f.sku.value) body.sku = f.sku.value;
        if (f.rate_bp.value) body.rate_bp = Number(f.rate_bp.value);
        if (f.amount.value) body.amount = f.amount.value;
        if (f.tiers.value) {
          body.tiers = f.tiers.value.split(",").map((part) => {
            const [from, rate] = part.split(":").map((s) => s.trim());
            return { from, rate_bp: Number(rate) };
          });
        }
        if (f.effective_from.value) body.effective_from = new Date(f.effective_from.value).toISOString();
        try {
          await ctx.api("/api/v1/commission/rules", { method: "POST", body });
          loadRules();
        } catch (err) {
          error.textContent = errorText(err);
          error.hidden = false;
        }
      }
      async function end(rule) {
        try {
          await ctx.api(`/api/v1/commission/rules/${rule.id}`, { method: "DELETE" });
          loadRules();
        } catch (err) {
          ctx.toast(errorText(err), "error");
        }
      }
      const detail = (r) => r.kind === "percent" ? `${r.rate_bp / 100}%`
        : r.kind === "fixed" ? ctx.yuan(r.amount)
          : r.kind === "tier" ? (r.tiers || []).map((x) => `≥${ctx.yuan(x.from)} ${x.rate_bp / 100}%`).join(" / ") : "";
      rules.replaceChildren(
        el("h2", {}, t("commission.rules")),
        table([t("commission.rules"), "", "", "", t("commission.effective"), ""],
          data.rules.map((r) => [r.name, r.kind_label, r.sku || r.category || "*", detail(r),
            `${ctx.dateTime(r.effective_from)} → ${r.effective_to ? ctx.dateTime(r.effective_to) : "…"}`,
            isHq && (!r.effective_to || new Date(r.effective_to) > ctx.now())
              ? el("button", { type: "button", class: "link", onclick: () => end(r) }, t("commission.end_rule")) : ""])),
        // Rules are head office's: a store manager reads them.
        isHq ? el("form", { class: "form-row", onsubmit: add },
          Object.entries(f).map(([k, input]) => el("label", {}, k, input)),
          el("button", { type: "submit", class: "primary" }, t("commission.add_rule"))) : null,
        error);
    }

    async function loadSettings() {
      const { attribution } = await ctx.api("/api/v1/commission/attribution");
      const order = el("input", { name: "order", value: attribution.order.join(", "), disabled: !isHq });
      const days = el("input", { name: "last_touch_days", type: "number", min: "1", max: "90",
        value: String(attribution.last_touch_days), disabled: !isHq });
      const between = el("input", { name: "split_between", value: attribution.split.between.join(", "), disabled: !isHq });
      const share = el("input", { name: "first_share_bp", type: "number", value: String(attribution.split.first_share_bp),
        disabled: !isHq });
      const closeInput = el("input", { name: "period", type: "month" });
      const adj = { clerk_id: el("input", { name: "clerk_id", type: "number" }), amount: el("input", { name: "amount", placeholder: "-5.00" }),
        reason: el("input", { name: "reason" }) };
      async function save(ev) {
        ev.preventDefault();
        const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
        try {
          await ctx.api("/api/v1/commission/attribution", { method: "PUT", body: {
            order: list(order.value), last_touch_days: Number(days.value),
            split: { between: list(between.value), first_share_bp: Number(share.value) } } });
          ctx.toast(t("commission.save"));
        } catch (err) {
          ctx.toast(errorText(err), "error");
        }
      }
      async function closeMonth(ev) {
        ev.preventDefault();
        try {
          await ctx.api("/api/v1/commission/periods", { method: "POST", body: { period: closeInput.value } });
          ctx.toast(`${closeInput.value} ${t("commission.closed")}`);
          loadBoards();
        } catch (err) {
          ctx.toast(errorText(err), "error");
        }
      }
      async function adjust(ev) {
        ev.preventDefault();
        try {
          await ctx.api("/api/v1/commission/adjustments", { method: "POST", body: {
            clerk_id: Number(adj.clerk_id.value), amount: adj.amount.value, reason: adj.reason.value } });
          loadBoards();
          loadStatement();
        } catch (err) {
          ctx.toast(errorText(err), "error");
        }
      }
      settings.replaceChildren(
        el("h2", {}, t("commission.attribution")),
        el("form", { class: "form-row", onsubmit: save },
          el("label", {}, "order (in_store, owner, last_touch, split)", order),
          el("label", {}, "last_touch_days", days), el("label", {}, "split.between", between),
          el("label", {}, "split.first_share_bp", share),
          isHq ? el("button", { type: "submit", class: "primary" }, t("commission.save")) : null),
        isHq ? el("h2", {}, t("commission.close_month")) : null,
        isHq ? el("form", { class: "form-row", onsubmit: closeMonth }, el("label", {}, t("commission.period"), closeInput),
          el("button", { type: "submit", class: "primary" }, t("commission.close_month"))) : null,
        el("h2", {}, t("commission.adjustments")),
        el("form", { class: "form-row", onsubmit: adjust },
          Object.entries(adj).map(([k, input]) => el("label", {}, k, input)),
          el("button", { type: "submit", class: "primary" }, t("commission.save"))));
    }

    const picker = el("input", { type: "month", value: period, onchange: () => {
      period = picker.value || period;
      loadBoards();
      loadStatement();
    } });
    root.replaceChildren(el("div", { class: "form-row" }, el("label", {}, t("commission.period"), picker)),
      boards, statement, rules, settings);
    const results = await Promise.allSettled([loadBoards(), loadStatement(), loadRules(), loadSettings()]);
    for (const r of results) if (r.status === "rejected") ctx.toast(errorText(r.reason), "error");
  },
});
