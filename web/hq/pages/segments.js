"use strict";
/* 客户分群 Segments: build a filter condition by condition and watch the count move.
 *
 * Each change re-asks POST /api/v1/segments/preview (debounced; an older answer never
 * overwrites a newer one). The server names a bad condition by its path (all[2].op), which is
 * shown beside that row. Seed 001's selections are one click away as presets. */
(function () {
  const FIELDS = {
    stage: { ops: ["in"], kind: "strings", choices: ["prospect", "new", "repeat", "dormant", "fan"] },
    tag: { ops: ["has", "has_any", "has_none"], kind: "strings" },
    paid_orders: { ops: [">=", "<=", "=", "between"], kind: "int" },
    total_spent: { ops: [">=", "<=", "=", "between"], kind: "money" },
    order_amount: { ops: [">", ">=", "between"], kind: "money", during: true },
    paid_between: { ops: ["during"], kind: "dates" },
    first_paid_at: { ops: ["during", "before", "after", "within_days"], kind: "time" },
    last_paid_at: { ops: ["during", "before", "after", "within_days"], kind: "time" },
    unpaid_order_amount: { ops: [">", ">="], kind: "money" },
    address: { ops: ["contains_any"], kind: "strings" },
    store: { ops: ["in"], kind: "ids" },
    clerk: { ops: ["in"], kind: "ids" },
    birthday: { ops: ["within_days"], kind: "int" },
    channel: { ops: ["reachable"], kind: "string", choices: ["wecom", "wechat-oa", "wecom-kf", "sms", "email", "bridge"] },
    last_contacted: { ops: ["within_days", "not_within_days"], kind: "int" },
  };
  const SCHOOL = "学校,大学,学院,中学,初中,高中";
  const PRESETS = {
    twice: { match: "all", rows: [{ field: "paid_orders", op: ">=", value: "2" }] },
    twice_not_1111: { match: "all", rows: [{ field: "paid_orders", op: ">=", value: "2" },
      { field: "paid_between", op: "during", from: "2026-11-10", to: "2026-11-11", exclude: true }] },
    first_1111: { match: "all", rows: [{ field: "first_paid_at", op: "during", from: "2026-11-11", to: "2026-11-11" }] },
    qixi: { match: "all", rows: [{ field: "order_amount", op: ">", value: "500", from: "2026-08-19", to: "2026-08-19" }] },
    campus: { match: "all", rows: [{ field: "address", op: "contains_any", value: SCHOOL }] },
    unpaid: { match: "all", rows: [{ field: "unpaid_order_amount", op: ">", value: "100" }] },
  };

  const split = (text) => String(text || "").split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
  const number = (text) => (text === "" || text == null || Number.isNaN(Number(text)) ? text : Number(text));

  /** The wire filter of one row; values the server will judge are passed through as typed. */
  function condition(row) {
    const spec = FIELDS[row.field];
    const cond = { field: row.field, op: row.op };
    const usesDates = row.op === "during";
    if (usesDates) cond.value = [row.from || "", row.to || ""];
    else if (row.op === "between") cond.value = split(row.value).map(number);
    else if (spec.kind === "strings") cond.value = split(row.value);
    else if (spec.kind === "ids") cond.value = split(row.value).map(number);
    else if (row.op === "before" || row.op === "after") cond.value = row.from || "";
    else if (spec.kind === "string") cond.value = row.value;
    else cond.value = number(String(row.value || "").trim());
    if (spec.during && (row.from || row.to)) cond.during = [row.from || "", row.to || ""];
    return row.exclude ? { not: cond } : cond;
  }

  DaogouHQ.registerPage("segments", {
    title: { "zh-CN": "客户分群", en: "Segments" },
    order: 15,
    async render(root, ctx) {
      const { el, t } = ctx;
      const state = { match: "all", rows: [{ field: "paid_orders", op: ">=", value: "2" }] };
      let asked = 0;
      let timer = null;

      const rowsBox = el("div", { class: "segment-rows" });
      const matchSel = el("select", { "aria-label": t("segments.builder"), onchange: () => { state.match = matchSel.value; changed(); } },
        el("option", { value: "all" }, t("segments.match_all")), el("option", { value: "any" }, t("segments.match_any")));
      const countLine = el("h3", { class: "segment-count", role: "status", "aria-live": "polite" });
      const errorLine = el("p", { class: "field-error", hidden: true });
      const sample = el("ul", { class: "segment-sample" });
      const nameIn = el("input", { name: "name", required: true, maxlength: "120" });
      const descIn = el("input", { name: "description" });
      const saved = el("div", {});

      const presets = el("div", { class: "form-row" }, Object.keys(PRESETS).map((key) =>
        el("button", { type: "button", class: "ghost", "data-preset": key, onclick: () => {
          state.match = PRESETS[key].match;
          state.rows = PRESETS[key].rows.map((r) => ({ ...r }));
          nameIn.value = t(`segments.preset.${key}`);
          draw();
          changed();
        } }, t(`segments.preset.${key}`))));

      function filter() {
        const conds = state.rows.map(condition);
        return { [state.match]: conds };
      }

      function rowEditor(row, index) {
        const spec = FIELDS[row.field];
        const fieldSel = el("select", { "aria-label": "field", onchange: () => {
          row.field = fieldSel.value;
          row.op = FIELDS[row.field].ops[0];
          row.value = ""; row.from = ""; row.to = "";
          draw(); changed();
        } }, Object.keys(FIELDS).map((f) => el("option", { value: f, selected: f === row.field }, t(`segments.field.${f}`))));
        const opSel = el("select", { "aria-label": "op", onchange: () => { row.op = opSel.value; draw(); changed(); } },
          spec.ops.map((op) => el("option", { value: op, selected: op === row.op }, op)));
        const parts = [fieldSel, opSel];
        const dateIn = (key) => el("input", { type: "date", value: row[key] || "", onchange: (ev) => { row[key] = ev.target.value; changed(); } });
        if (row.op === "during") parts.push(dateIn("from"), "–", dateIn("to"));
        else if (row.op === "before" || row.op === "after") parts.push(dateIn("from"));
        else if (spec.choices && spec.kind === "string") {
          const sel = el("select", { onchange: () => { row.value = sel.value; changed(); } },
            spec.choices.map((c) => el("option", { value: c, selected: c === row.value }, c)));
          if (!row.value) row.value = spec.choices[0];
          parts.push(sel);
        } else {
          const hint = spec.kind === "strings" || spec.kind === "ids" || row.op === "between"
            ? (spec.choices ? spec.choices.join(",") : t("segments.value_hint.list")) : "";
          parts.push(el("input", { value: row.value || "", placeholder: hint,
            oninput: (ev) => { row.value = ev.target.value; changed(); } }));
        }
        if (spec.during && row.op !== "during") {
          parts.push(el("span", { class: "muted" }, t("segments.during")), dateIn("from"), "–", dateIn("to"));
        }
        const exclude = el("label", {}, el("input", { type: "checkbox", checked: !!row.exclude,
          onchange: (ev) => { row.exclude = ev.target.checked; changed(); } }), t("segments.exclude"));
        const remove = el("button", { type: "button", class: "link", disabled: state.rows.length === 1,
          onclick: () => { state.rows.splice(index, 1); draw(); changed(); } }, t("segments.remove"));
        return el("div", { class: "form-row segment-row", "data-index": String(index) }, ...parts, exclude, remove,
          el("span", { class: "field-error", "data-error-for": String(index) }));
      }

      function draw() {
        matchSel.value = state.match;
        rowsBox.replaceChildren(...state.rows.map(rowEditor));
      }

      function changed() {
        clearTimeout(timer);
        timer = setTimeout(preview, 350);
      }

      function showErrors(err) {
        errorLine.textContent = err.error;
        errorLine.hidden = false;
        for (const path of Object.keys(err.fields || {})) {
          const m = /^(?:all|any)\[(\d+)\]/.exec(path);
          const spot = m && rowsBox.querySelector(`[data-error-for="${m[1]}"]`);
          if (spot) spot.textContent = `${path}: ${err.fields[path]}`;
        }
      }

      async function preview() {
        const mine = ++asked;
        countLine.textContent = t("segments.counting");
        for (const spot of rowsBox.querySelectorAll("[data-error-for]")) spot.textContent = "";
        errorLine.hidden = true;
        try {
          const res = await ctx.api("/api/v1/segments/preview", { method: "POST", body: { filter: filter() } });
          if (mine !== asked) return;
          countLine.textContent = t("segments.count", { count: res.count.toLocaleString() });
          sample.replaceChildren(...res.sample.map((c) => el("li", {},
            el("a", { href: "#segments", onclick: (ev) => { ev.preventDefault(); ctx.openCustomer(c.id); } }, c.name),
            el("span", { class: "muted" }, ` ${c.stage_label || ""} · ${c.paid_orders} 单 ${ctx.yuan(c.total_spent)}`))));
        } catch (err) {
          if (mine !== asked) return;
          countLine.textContent = "";
          sample.replaceChildren();
          showErrors(err);
        }
      }

      async function loadSaved() {
        const res = await ctx.api("/api/v1/segments");
        saved.replaceChildren(el("h3", {}, t("segments.saved_list")), res.segments.length
          ? el("table", { class: "grid" }, el("tbody", {}, res.segments.map((s) => el("tr", { "data-segment": s.id },
            el("td", {}, el("a", { href: "#segments", onclick: (ev) => {
              ev.preventDefault();
              nameIn.value = s.name;
              errorLine.hidden = true;
              countLine.textContent = JSON.stringify(s.filter);
              ctx.api("/api/v1/segments/preview", { method: "POST", body: { filter: s.filter } })
                .then((r) => { countLine.textContent = t("segments.count", { count: r.count.toLocaleString() }); })
                .catch(showErrors);
            } }, s.name)),
            el("td", { class: "muted" }, s.description || ""),
            el("td", { class: "muted" }, ctx.dateTime(s.created_at))))))
          : el("p", { class: "muted" }, t("segments.none")));
      }

      const saveForm = el("form", { class: "form-row" },
        el("label", {}, t("segments.name"), nameIn), el("label", {}, t("segments.description"), descIn),
        el("button", { type: "submit", class: "primary", hidden: ctx.me.role !== "hq" }, t("segments.save")));
      saveForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          const seg = await ctx.api("/api/v1/segments", { method: "POST",
            body: { name: nameIn.value, description: descIn.value || null, filter: filter() } });
          ctx.toast(t("segments.saved", { name: seg.name }));
          await loadSaved();
        } catch (err) {
          showErrors(err);
        }
      });

      root.append(
        el("div", { class: "panel" }, el("h3", {}, t("segments.presets")), presets),
        el("div", { class: "panel" },
          el("div", { class: "form-row" }, matchSel,
            el("button", { type: "button", class: "ghost", onclick: () => {
              state.rows.push({ field: "stage", op: "in", value: "" }); draw(); changed();
            } }, t("segments.add_condition"))),
          rowsBox, countLine, errorLine, el("h4", {}, t("segments.sample")), sample, saveForm),
        el("div", { class: "panel" }, saved));
      draw();
      await Promise.all([preview(), loadSaved()]);
    },
  });
})();
