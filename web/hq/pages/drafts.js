"use strict";
/* 草稿 Drafts for head office: which drafts work (per source and template variant: sent as is,
 * replied, bought), the zh-CN templates per scenario, the offers drafts may mention, and the
 * banned words / SMS signature. Everything is built with ctx.el (textContent), never innerHTML. */
(function () {
  const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
  // "new_arrival.b" → "b": the scenario has its own column; the id is a key, not a name.
  const variantName = (v) => (v ? v.slice(v.lastIndexOf(".") + 1) : "–");

  // The reasons only: a field's path (scenarios.birthday.variants[0].text) means nothing to an operator.
  function fieldErrors(err) {
    return [err.error, ...Object.values(err.fields || {})].filter(Boolean).join("；") || String(err);
  }

  async function renderStats(ctx, box, days) {
    const { el, t } = ctx;
    const data = await ctx.api(`/api/v1/drafts/stats?days=${days}`);
    const select = el("select", { "aria-label": t("hq.drafts.period") },
      [7, 30, 90, 365].map((d) => el("option", { value: d, selected: d === days }, t("hq.drafts.days", { n: d }))));
    select.addEventListener("change", () => renderStats(ctx, box, Number(select.value)));
    const sources = Object.entries(data.by_source).map(([source, s]) => el("div", { class: "pill", "data-source": source },
      `${t(`hq.drafts.source.${source}`)}: ${s.drafted} · ${t("hq.drafts.as_is")} ${pct(s.sent_as_is_rate)} · ` +
      `${t("hq.drafts.reply")} ${pct(s.reply_rate)} · ${t("hq.drafts.buy")} ${pct(s.buy_rate)}`));
    const reasons = data.fallbacks || [];
    const head = ["scenario", "source", "variant", "drafted", "as_is", "edited", "discarded", "reply", "buy"];
    const table = el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, t(`hq.drafts.col.${h}`))))),
      el("tbody", {}, data.rows.map((r) => el("tr", { "data-variant": r.variant || "" },
        el("td", {}, t(`scenario.${r.scenario}`)), el("td", {}, t(`hq.drafts.source.${r.source}`)),
        el("td", {}, variantName(r.variant)), el("td", {}, String(r.drafted)),
        el("td", {}, `${r.sent_as_is} (${pct(r.sent_as_is_rate)})`), el("td", {}, String(r.edited)),
        el("td", {}, String(r.discarded)), el("td", {}, `${r.replied} (${pct(r.reply_rate)})`),
        el("td", {}, `${r.bought} (${pct(r.buy_rate)})`)))));
    const chart = el("div", { class: "chart" });
    box.replaceChildren(...[
      el("div", { class: "form-row" }, el("h3", {}, t("hq.drafts.results")), el("label", {}, t("hq.drafts.period"), select)),
      el("div", { class: "form-row" }, sources.length ? sources : el("p", { class: "muted" }, t("hq.drafts.none"))),
      reasons.length ? el("p", { class: "muted fallbacks" }, `${t("hq.drafts.fallbacks")}${ctx.locale === "en" ? ": " : "："}`
        + reasons.map((r) => t("hq.drafts.fallback_count", { reason: r.label, n: r.count })).join(ctx.locale === "en" ? ". " : "；")) : null,
      data.rows.length ? chart : null,
      data.rows.length ? table : null,
    ].filter(Boolean));  // replaceChildren would write a null as the text "null"
    if (data.rows.length && window.echarts) {
      const labels = data.rows.map((r) => `${t(`scenario.${r.scenario}`)} ${r.variant ? variantName(r.variant) : t(`hq.drafts.source.${r.source}`)}`);
      const series = [["sent_as_is_rate", "as_is"], ["reply_rate", "reply"], ["buy_rate", "buy"]].map(([key, name]) => ({
        name: t(`hq.drafts.${name}`), type: "bar", data: data.rows.map((r) => (r[key] === null ? 0 : +(r[key] * 100).toFixed(1))),
      }));
      ctx.chart(chart, { tooltip: { trigger: "axis", valueFormatter: (v) => `${v}%` }, legend: {},
        grid: { left: 40, right: 10, bottom: 60 }, xAxis: { type: "category", data: labels, axisLabel: { rotate: 30 } },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }, series });
    }
  }

  async function renderTemplates(ctx, box) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/templates");
    const editors = {};
    const error = el("p", { class: "field-error", hidden: true });
    const panels = Object.entries(data.scenarios).map(([key, scenario]) => {
      const list = el("div", { class: "variants" });
      const addRow = (variant) => {
        const id = el("input", { value: variant.id, "aria-label": t("hq.drafts.variant_id"), style: { minWidth: "120px" } });
        const text = el("textarea", { rows: 3, "aria-label": t("hq.drafts.variant_text"), style: { width: "100%" } });
        text.value = variant.text;
        const preview = el("p", { class: "muted preview", hidden: true });
        const showPreview = async () => {
          try {
            const out = await ctx.api("/api/v1/templates/preview", { method: "POST", body: { text: text.value } });
            preview.textContent = `${t("hq.drafts.preview")}：${out.full}`;
          } catch (err) {
            preview.textContent = fieldErrors(err);
          }
          preview.hidden = false;
        };
        const row = el("div", { class: "form-row", "data-variant": variant.id },
          el("label", {}, t("hq.drafts.variant_id"), id),
          el("label", { style: { flex: "1" } }, t("hq.drafts.variant_text"), text, preview),
          el("button", { type: "button", class: "link", onclick: showPreview }, t("hq.drafts.preview")),
          el("button", { type: "button", class: "link", onclick: () => row.remove() }, t("hq.drafts.remove")),
          el("span", { class: "field-error", role: "alert", hidden: true, style: { flexBasis: "100%" } }));
        row._read = () => ({ id: id.value.trim(), text: text.value });
        list.append(row);
      };
      scenario.variants.forEach(addRow);
      editors[key] = list;
      return el("div", { class: "panel", "data-scenario": key },
        el("h3", {}, `${scenario.label} `, scenario.customised ? el("span", { class: "pill on" }, t("hq.drafts.customised")) : null),
        list,
        el("button", { type: "button", class: "link", onclick: () => addRow({ id: `${key}.`, text: "" }) }, t("hq.drafts.add_variant")));
    });
    const save = el("button", { type: "button", class: "primary" }, t("hq.drafts.save_templates"));
    save.addEventListener("click", async () => {
      error.hidden = true;
      const scenarios = Object.fromEntries(Object.entries(editors).map(([key, list]) =>
        [key, { variants: [...list.children].map((row) => row._read()) }]));
      try {
        await ctx.api("/api/v1/templates", { method: "PUT", body: { scenarios } });
        ctx.toast(t("hq.drafts.saved"));
        await renderTemplates(ctx, box);
      } catch (err) {
        // Each reason goes beside its variant: rows are numbered as they stand now, as sent.
        for (const [key, list] of Object.entries(editors)) {
          [...list.children].forEach((row, i) => { row.dataset.field = `scenarios.${key}.variants[${i}]`; });
        }
        DaogouHQ.forms.showErrors(box, error, err);
      }
    });
    const vars = DaogouHQ.forms.templateVars(Object.keys(data.sample));
    box.replaceChildren(el("p", { class: "muted" }, vars, " ", t("hq.drafts.variables_note")), ...panels, error, save);
  }

  async function renderOffers(ctx, box) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/offers");
    const body = el("tbody");
    const cols = ["code", "label", "kind", "amount", "threshold", "scenarios", "valid_until"];
    const addRow = (offer) => {
      const inputs = {
        code: el("input", { value: offer.code || "" }), label: el("input", { value: offer.label || "" }),
        kind: el("select", {}, ["coupon", "discount", "gift"].map((k) => el("option", { value: k, selected: k === offer.kind }, t(`hq.drafts.kind.${k}`)))),
        amount: el("input", { value: offer.amount || "", inputmode: "decimal", style: { minWidth: "70px" } }),
        threshold: el("input", { value: offer.threshold || "", inputmode: "decimal", style: { minWidth: "70px" } }),
        scenarios: el("input", { value: (offer.scenarios || []).join(","), placeholder: "birthday,festival" }),
        valid_until: el("input", { type: "date", value: offer.valid_until || "" }),
      };
      const row = el("tr", {}, cols.map((c) => el("td", {}, inputs[c])),
        el("td", {}, el("button", { type: "button", class: "link", onclick: () => row.remove() }, t("hq.drafts.remove"))));
      row._read = () => ({
        code: inputs.code.value.trim(), label: inputs.label.value.trim(), kind: inputs.kind.value,
        amount: inputs.amount.value.trim() || null, threshold: inputs.threshold.value.trim() || null,
        scenarios: inputs.scenarios.value.split(/[,，\s]+/).filter(Boolean), valid_until: inputs.valid_until.value || null,
      });
      body.append(row);
    };
    data.offers.forEach(addRow);
    const error = el("p", { class: "field-error", hidden: true });
    const save = el("button", { type: "button", class: "primary" }, t("hq.drafts.save_offers"));
    save.addEventListener("click", async () => {
      error.hidden = true;
      try {
        await ctx.api("/api/v1/offers", { method: "PUT", body: { offers: [...body.children].map((r) => r._read()) } });
        ctx.toast(t("hq.drafts.saved"));
      } catch (err) {
        error.textContent = fieldErrors(err);
        error.hidden = false;
      }
    });
    box.replaceChildren(el("p", { class: "muted" }, t("hq.drafts.offers_note")),
      el("table", { class: "grid" }, el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, t(`hq.drafts.offer.${c}`))), el("th"))), body),
      el("div", { class: "form-row" },
        el("button", { type: "button", class: "link", onclick: () => addRow({ kind: "coupon" }) }, t("hq.drafts.add_offer")), save),
      error);
  }

  async function renderPolicy(ctx, box) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/drafts/policy");
    const words = el("textarea", { rows: 4, "aria-label": t("hq.drafts.banned_words"), style: { width: "100%" } });
    words.value = data.banned_words.join("\n");
    const signature = el("input", { value: data.sms_signature });
    const segments = el("input", { type: "number", min: 1, max: 5, value: data.sms_segments });
    const error = el("p", { class: "field-error", hidden: true });
    const save = el("button", { type: "button", class: "primary" }, t("hq.drafts.save_policy"));
    save.addEventListener("click", async () => {
      error.hidden = true;
      try {
        await ctx.api("/api/v1/drafts/policy", { method: "PUT", body: {
          banned_words: words.value.split("\n").map((w) => w.trim()).filter(Boolean),
          sms_signature: signature.value.trim(), sms_segments: Number(segments.value) } });
        ctx.toast(t("hq.drafts.saved"));
      } catch (err) {
        error.textContent = fieldErrors(err);
        error.hidden = false;
      }
    });
    box.replaceChildren(
      el("label", {}, t("hq.drafts.banned_words"), words),
      el("div", { class: "form-row" },
        el("label", {}, t("hq.drafts.sms_signature"), signature),
        el("label", {}, t("hq.drafts.sms_segments"), segments), save),
      error);
  }

  DaogouHQ.registerPage("drafts", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const editable = ctx.me.role === "hq";
      if (!editable) {
        root.append(el("p", { class: "muted" }, t("hq.drafts.hq_only")));
        return;
      }
      const stats = el("div", { class: "panel", "data-part": "stats" });
      const templates = el("div", { "data-part": "templates" });
      const offers = el("div", { class: "panel", "data-part": "offers" });
      const policy = el("div", { class: "panel", "data-part": "policy" });
      root.append(stats, el("h2", {}, t("hq.drafts.templates")), templates,
        el("h2", {}, t("hq.drafts.offers")), offers, el("h2", {}, t("hq.drafts.policy")), policy);
      await Promise.all([renderStats(ctx, stats, 30), renderTemplates(ctx, templates),
        renderOffers(ctx, offers), renderPolicy(ctx, policy)]);
    },
  });
})();
