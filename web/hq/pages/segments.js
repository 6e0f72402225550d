"use strict";
/* 客户分群 Segments: build a filter condition by condition and watch the count move.
 *
 * The fields, their operators and choices come from the server's filter table
 * (GET /api/v1/segments/fields). Each change re-asks POST /api/v1/segments/preview (debounced;
 * an older answer never overwrites a newer one). The server names a bad condition by its path
 * (all[2].op), which is shown beside that row. Seed 001's selections are one click away as presets. */
(function () {
  /** field → {label, ops: [{op, label…}], value, choices, during}, as the server serves it. */
  let FIELDS = {};
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
    else if (spec.value === "strings") cond.value = split(row.value);
    else if (spec.value === "ids") cond.value = split(row.value).map(number);
    else if (row.op === "before" || row.op === "after") cond.value = row.from || "";
    else if (spec.value === "string") cond.value = row.value;
    else cond.value = number(String(row.value || "").trim());
    if (spec.during && (row.from || row.to)) cond.during = [row.from || "", row.to || ""];
    return row.exclude ? { not: cond } : cond;
  }

  DaogouHQ.registerPage("segments", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const served = await ctx.api("/api/v1/segments/fields");
      FIELDS = Object.fromEntries(served.fields.map((f) => [f.field, f]));
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
          row.op = FIELDS[row.field].ops[0].op;
          row.value = ""; row.from = ""; row.to = "";
          draw(); changed();
        } }, Object.values(FIELDS).map((f) => el("option", { value: f.field, selected: f.field === row.field }, ctx.localLabel(f))));
        const opSel = el("select", { "aria-label": "op", onchange: () => { row.op = opSel.value; draw(); changed(); } },
          spec.ops.map((o) => el("option", { value: o.op, selected: o.op === row.op }, ctx.localLabel(o))));
        const parts = [fieldSel, opSel];
        const dateIn = (key) => el("input", { type: "date", value: row[key] || "", onchange: (ev) => { row[key] = ev.target.value; changed(); } });
        if (row.op === "during") parts.push(dateIn("from"), "–", dateIn("to"));
        else if (row.op === "before" || row.op === "after") parts.push(dateIn("from"));
        else if (spec.choices && spec.value === "string") {
          const sel = el("select", { onchange: () => { row.value = sel.value; changed(); } },
            spec.choices.map((c) => el("option", { value: c.value, selected: c.value === row.value }, ctx.localLabel(c))));
          if (!row.value) row.value = spec.choices[0].value;
          parts.push(sel);
        } else if (spec.choices) {
          parts.push(choiceBoxes(row, spec.choices));
        } else {
          const hint = spec.value === "strings" || spec.value === "ids" || row.op === "between" ? t("segments.value_hint.list") : "";
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

      /** A list from a vocabulary (stages): one labelled checkbox a choice; the row keeps the codes. */
      function choiceBoxes(row, choices) {
        const picked = new Set(split(row.value));
        return el("span", { class: "segment-choices" }, choices.map((c) => el("label", {},
          el("input", { type: "checkbox", value: c.value, checked: picked.has(c.value), onchange: (ev) => {
            if (ev.target.checked) picked.add(c.value); else picked.delete(c.value);
            row.value = [...picked].join(",");
            changed();
          } }), ctx.localLabel(c))));
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
