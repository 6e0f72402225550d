"use strict";
/* 业绩目标 Targets: the month's sales target for each store and clerk in the reader's scope (a store
 * manager: their store and its clerks; head office: every store and clerk), with what each has
 * achieved, the gap and the attainment, and who set each value when. Amounts are typed in yuan and
 * saved in one PUT /api/v1/targets; a CSV (pasted or chosen) goes through the same action. Head
 * office also sees attainment across stores as a chart. */
(function () {
  const HISTORY_SHOWN = 3;

  function percent(x) { return x == null ? "—" : `${Math.round(x * 100)}%`; }

  /** One input in a cell that takes the API's reason for it (``data-field`` is set on submit). */
  function cell(el, input, name) {
    return el("td", {}, el("label", { class: "field", dataset: { col: name } }, input,
      el("span", { class: "field-error", role: "alert", hidden: true })));
  }

  function historyLines(ctx, t) {
    const { el } = ctx;
    if (!t.history.length) return el("span", { class: "muted" }, ctx.t("targets.history_none"));
    return el("ul", { class: "target-history muted" }, t.history.slice(0, HISTORY_SHOWN).map((h) =>
      el("li", { class: h.current ? "" : "superseded" }, ctx.t("targets.history_line", {
        at: ctx.dateTime(h.set_at), by: h.set_by || ctx.t("targets.by_token"), amount: ctx.yuan(h.amount) }))));
  }

  function row(ctx, t) {
    const { el } = ctx;
    const kind = t.store !== undefined ? "store" : "clerk";
    const inputs = {
      amount: el("input", { type: "text", inputmode: "decimal", name: "amount", value: t.amount || "", size: 10,
        "aria-label": `${t.name} ${ctx.t("targets.col.amount")}` }),
      new_customers: el("input", { type: "number", min: "0", step: "1", name: "new_customers", value: t.target_new_customers ?? "",
        "aria-label": `${t.name} ${ctx.t("targets.col.new_customers")}`, style: "width:5em" }),
      reactivations: el("input", { type: "number", min: "0", step: "1", name: "reactivations", value: t.target_reactivations ?? "",
        "aria-label": `${t.name} ${ctx.t("targets.col.reactivations")}`, style: "width:5em" }),
    };
    const tr = el("tr", { class: `target-${kind}`, dataset: { kind, key: t[kind] } },
      el("td", {}, el("span", { class: `pill ${kind === "store" ? "on" : ""}` }, ctx.t(`targets.kind.${kind}`)), " ",
        el("strong", {}, t.name), t.store_name ? el("div", { class: "muted" }, t.store_name) : null),
      cell(el, inputs.amount, "amount"), cell(el, inputs.new_customers, "new_customers"),
      cell(el, inputs.reactivations, "reactivations"),
      el("td", { class: "achieved" }, ctx.yuan(t.achieved)), el("td", { class: "gap" }, t.gap == null ? "—" : ctx.yuan(t.gap)),
      el("td", { class: "attainment" }, percent(t.attainment)), el("td", {}, historyLines(ctx, t)));
    return { tr, kind, key: t[kind], inputs };
  }

  /** The entries to send, and the row each one came from (so a reason lands in its row). */
  function entries(rows) {
    const out = [];
    const from = [];
    for (const r of rows) {
      for (const label of r.tr.querySelectorAll("label[data-col]")) delete label.dataset.field;
      const amount = r.inputs.amount.value.trim();
      if (!amount) continue;
      const entry = { [r.kind]: r.key, amount: DaogouCore.parseYuan(amount) || amount };
      for (const name of ["new_customers", "reactivations"]) {
        const v = r.inputs[name].value.trim();
        if (v !== "") entry[name] = /^\d+$/.test(v) ? Number(v) : v;
      }
      const index = out.length;
      for (const label of r.tr.querySelectorAll("label[data-col]")) label.dataset.field = `targets[${index}].${label.dataset.col}`;
      r.tr.dataset.field = `targets[${index}]`;
      out.push(entry);
      from.push(r);
    }
    return { out, from };
  }

  function storeChart(ctx, box, stores) {
    const { el, t } = ctx;
    const shown = stores.filter((s) => s.attainment != null);
    const chartBox = el("div", { class: "chart target-chart", style: `height:${Math.max(180, shown.length * 32 + 60)}px` });
    box.replaceChildren(el("h3", {}, t("targets.chart")), shown.length ? chartBox : el("p", { class: "muted" }, t("targets.chart_empty")));
    if (!shown.length) return;
    ctx.chart(chartBox, {
      tooltip: { valueFormatter: (v) => `${v}%` }, grid: { left: 110, right: 50, top: 10, bottom: 50 },
      xAxis: { type: "value", name: t("targets.chart_axis"), nameLocation: "middle", nameGap: 30, min: 0, max: (v) => Math.max(100, Math.ceil(v.max / 10) * 10),
        axisLabel: { formatter: (v) => `${v}%` } },
      yAxis: { type: "category", inverse: true, data: shown.map((s) => s.name) },
      series: [{ type: "bar", name: t("targets.attainment"), label: { show: true, position: "right", formatter: "{c}%" },
        data: shown.map((s) => ({ value: Math.round(s.attainment * 1000) / 10,
          itemStyle: { color: s.attainment >= 1 ? "#1e8e3e" : "#b8322a" } })) }],
    });
  }

  DaogouHQ.registerPage("targets", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const forms = DaogouHQ.forms;
      let period = ctx.period();
      const picker = el("input", { type: "month", value: period, "aria-label": t("commission.period"), name: "period" });
      const daysLeft = el("span", { class: "muted days-left" });
      const chartPanel = el("div", { class: "panel target-chart-panel" });
      const body = el("tbody");
      const general = forms.summary();
      const save = el("button", { type: "submit", class: "primary" }, t("targets.save"));
      let rows = [];
      const form = el("form", { class: "targets-form", novalidate: true },
        el("table", { class: "grid targets" },
          el("thead", {}, el("tr", {}, ["subject", "amount", "new_customers", "reactivations", "achieved", "gap", "attainment", "history"]
            .map((k) => el("th", {}, t(`targets.col.${k}`))))), body),
        general, el("div", { class: "form-row" }, save));
      const csvText = el("textarea", { name: "csv", rows: 4, cols: 40, "aria-label": t("targets.csv"), placeholder: "clerk,amount" });
      const csvGeneral = forms.summary();
      const csv = el("details", { class: "panel targets-csv" }, el("summary", {}, t("targets.csv")),
        el("p", { class: "muted" }, t("targets.csv_hint"), " ", el("code", {}, "clerk|store,amount,new_customers,reactivations")),
        csvText, csvGeneral,
        el("div", { class: "form-row" }, el("button", { type: "button", class: "ghost", onclick: () => upload() }, t("targets.csv_submit"))));

      function show(data) {
        daysLeft.textContent = t("targets.days_left_page", { n: data.days_left });
        rows = data.targets.map((x) => row(ctx, x));
        body.replaceChildren(...rows.map((r) => r.tr));
        if (ctx.me.role === "hq") storeChart(ctx, chartPanel, data.targets.filter((x) => x.store !== undefined));
        chartPanel.hidden = ctx.me.role !== "hq";
      }

      async function load() {
        body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted" }, t("console.loading"))));
        forms.clearErrors(form);
        general.hidden = true;
        show(await ctx.api(`/api/v1/targets?period=${encodeURIComponent(period)}`));
      }

      function saved(data) {
        forms.clearErrors(form);
        general.hidden = true;
        show(data);
        ctx.toast(t("targets.saved", { changed: data.changed, unchanged: data.unchanged }));
      }

      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const { out } = entries(rows);
        if (!out.length) {
          forms.showErrors(form, general, { error: t("targets.nothing") });
          return;
        }
        save.disabled = true;
        try {
          saved(await ctx.api("/api/v1/targets", { method: "PUT", body: { period, targets: out } }));
        } catch (err) {
          forms.showErrors(form, general, err);
        } finally {
          save.disabled = false;
        }
      });

      async function upload() {
        const data = new FormData();
        data.append("period", period);
        data.append("file", new Blob([csvText.value], { type: "text/csv" }), "targets.csv");
        try {
          saved(await ctx.api("/api/v1/targets", { method: "PUT", body: data }));
          csvText.value = "";
          csvGeneral.hidden = true;
        } catch (err) {
          const lines = Object.entries(err.fields || {}).map(([path, reason]) => {
            const m = /^targets\[(\d+)\]/.exec(path);
            return m ? `${t("targets.csv_line", { n: Number(m[1]) + 2 })} ${reason}` : reason;
          });
          csvGeneral.textContent = [err.error, ...lines].join(" ");
          csvGeneral.hidden = false;
        }
      }

      picker.addEventListener("change", () => {
        period = picker.value || period;
        load().catch((err) => general.replaceChildren(err.error || String(err)));
      });
      root.replaceChildren(
        el("div", { class: "form-row" }, el("label", { class: "field inline" },
          el("span", { class: "field-label" }, t("commission.period")), picker), daysLeft),
        el("p", { class: "muted" }, t("targets.page_hint")), chartPanel, form, csv);
      await load();
    },
  });
})();
