"use strict";
/* 关怀任务 Care tasks: create a task from a saved segment, watch completion per store and clerk. */
(function () {
  const SCENARIOS = ["节日", "休眠唤醒", "补货", "生日", "新品", "售后关怀", "催付", "自定义"];

  function taskForm(ctx, segments, products, coupons) {
    const { el, t } = ctx;
    const f = DaogouHQ.forms;
    const local = ctx.localInput(new Date(ctx.now().getTime() + 2 * 86400000));  // brand time, as the server reads it
    const inp = {
      title: el("input", { name: "title", required: true }),
      goal: el("input", { name: "goal", class: "long" }),
      segment_id: el("select", { name: "segment_id" }, segments.map((s) => el("option", { value: String(s.id) }, s.name))),
      scenario: el("select", { name: "scenario" }, SCENARIOS.map((s) => el("option", { value: s }, s))),
      template: el("textarea", { name: "template", rows: 2 }),
      deadline: el("input", { name: "deadline", type: "datetime-local", value: local }),
      fallback: el("select", { name: "fallback" }, ["mass_send", "leave"].map((v) => el("option", { value: v }, t(`hq.tasks.fallback.${v}`)))),
      product_skus: DaogouHQ.linkProducts(ctx, products),
      coupon_template_id: f.couponChoice(ctx, coupons),
    };
    inp.template.value = "{{ customer_name }}您好，我是{{ clerk_name }}，";
    const general = f.summary();
    const form = el("form", { class: "panel task-form", novalidate: true }, el("h3", {}, t("hq.tasks.new")),
      el("div", { class: "form-row" },
        f.field(t("hq.tasks.name"), inp.title, { path: "title" }),
        f.field(t("hq.tasks.goal"), inp.goal, { path: "goal" }),
        f.field(t("hq.tasks.segment"), inp.segment_id, { path: "segment_id" }),
        f.field(t("hq.tasks.scenario"), inp.scenario, { path: "scenario" }),
        f.field(t("hq.tasks.deadline"), inp.deadline, { path: "deadline" }),
        f.field(t("hq.tasks.fallback"), inp.fallback, { path: "fallback" })),
      f.field(t("hq.tasks.template"), inp.template, { path: "template", className: "full", hint: t("hq.tasks.template_hint") }),
      inp.product_skus.node,
      f.field(t("hq.tasks.coupon"), inp.coupon_template_id, { path: "coupon_template_id", hint: t("hq.tasks.coupon_hint") }),
      el("p", { class: "muted" }, f.templateVars(["customer_name", "clerk_name"])),
      el("div", { class: "form-row" }, el("button", { type: "submit", class: "primary" }, t("hq.tasks.create"))), general);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        if (!inp.deadline.value) throw { error: t("hq.tasks.invalid"), fields: { deadline: t("hq.tasks.error.deadline") } };
        const res = await ctx.api("/api/v1/tasks", { method: "POST", body: {
          title: inp.title.value, goal: inp.goal.value || null, segment_id: Number(inp.segment_id.value),
          scenario: inp.scenario.value, template: inp.template.value, deadline: inp.deadline.value, fallback: inp.fallback.value,
          product_skus: inp.product_skus.values(),
          coupon_template_id: inp.coupon_template_id.value ? Number(inp.coupon_template_id.value) : null,
        } });
        ctx.toast(t("hq.tasks.created", { clerks: res.clerks, n: res.counts.todo }));
        ctx.navigate("tasks");
      } catch (err) {
        f.showErrors(form, general, err);
      }
    });
    return form;
  }

  DaogouHQ.registerPage("tasks", {
    async render(root, ctx) {
      const { el, t } = ctx;
      const hq = ctx.me.role === "hq";
      const [tasks, segments, products, coupons] = await Promise.all([
        ctx.api("/api/v1/tasks"),
        ctx.api("/api/v1/segments").catch(() => ({ segments: [] })),
        hq ? ctx.api("/api/v1/links/products").catch(() => ({ products: [] })) : { products: [] },
        hq ? ctx.api("/api/v1/coupon-templates").catch(() => ({ templates: [] })) : { templates: [] },
      ]);
      if (hq) {
        root.append(taskForm(ctx, segments.segments || [], products.products, coupons.templates || []),
          await DaogouHQ.linkSettings(ctx));
      }

      if (!tasks.tasks.length) {
        root.append(el("p", { class: "muted" }, t("hq.tasks.none")));
        return;
      }
      const detail = el("div", { class: "panel", hidden: true });
      const rows = tasks.tasks.map((task) => {
        const c = task.counts;
        const total = Object.values(c).reduce((a, b) => a + b, 0);
        const reached = (c.sent || 0) + (c.fallback || 0) + (c.replied || 0) + (c.bought || 0);
        return el("tr", { "data-task": task.id },
          el("td", {}, el("a", { href: "#tasks", onclick: (ev) => { ev.preventDefault(); showProgress(task); } }, task.title)),
          el("td", {}, task.scenario || "—"), el("td", {}, ctx.dateTime(task.deadline)),
          el("td", {}, el("span", { class: `pill ${task.status === "open" ? "on" : ""}`, "data-status": task.status },
            t(`hq.tasks.status.${task.status}`))),
          el("td", {}, `${reached}/${total}`), el("td", {}, String(c.bought || 0)),
          el("td", {}, task.status === "open" && ctx.me.role === "hq"
            ? el("button", { type: "button", class: "link", onclick: async () => {
              await ctx.api(`/api/v1/tasks/${task.id}/close`, { method: "POST" });
              ctx.navigate("tasks");
            } }, t("hq.tasks.close")) : null));
      });
      root.append(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["hq.tasks.name", "hq.tasks.scenario", "hq.tasks.deadline", "hq.staff.status",
          "hq.tasks.reached", "hq.tasks.buyers", "hq.actions"].map((k) => el("th", {}, t(k))))),
        el("tbody", {}, rows)), detail);

      /** What the task's coupon cost: codes issued and used, the discounts given, revenue net of them. */
      function couponReport(p) {
        const heading = el("h4", {}, t("hq.tasks.coupons"));
        if (!p.coupon) return el("section", { class: "task-coupons" }, heading, el("p", { class: "muted" }, t("hq.tasks.no_coupon")));
        const tile = (label, value, key) => el("div", { class: "tile", dataset: { figure: key } },
          el("div", { class: "label" }, label), el("div", { class: "value" }, value));
        return el("section", { class: "task-coupons" }, heading,
          el("p", {}, t("hq.tasks.coupon_line", { name: p.coupon.name, title: p.coupon.title,
            issued: p.total.coupons_issued, redeemed: p.total.coupons_redeemed })),
          el("div", { class: "tiles" },
            tile(t("hq.tasks.revenue"), ctx.yuan(p.total.revenue), "revenue"),
            tile(t("hq.tasks.coupon_cost"), ctx.yuan(p.total.coupon_cost), "coupon_cost"),
            tile(t("hq.tasks.net_revenue"), ctx.yuan(p.total.net_revenue), "net_revenue")));
      }

      async function showProgress(task) {
        const p = await ctx.api(`/api/v1/tasks/${task.id}/progress`);
        const chartBox = el("div", { class: "chart" });
        detail.hidden = false;
        detail.replaceChildren(el("h3", {}, `${task.title} · ${t("hq.tasks.progress")}`), chartBox,
          el("table", { class: "grid" },
            el("thead", {}, el("tr", {}, ["hq.tasks.clerk", "hq.tasks.targets", "hq.tasks.reached", "hq.tasks.deferred",
              "hq.tasks.replied", "hq.tasks.buyers", "hq.tasks.revenue"].map((k) => el("th", {}, t(k))))),
            el("tbody", {}, p.clerks.map((c) => el("tr", {}, el("td", {}, c.display_name || "—"), el("td", {}, String(c.targets)),
              el("td", {}, String(c.reached)), el("td", {}, String(c.deferred || 0)), el("td", {}, String(c.replied)),
              el("td", {}, String(c.buyers)),
              el("td", {}, ctx.yuan((c.revenue_fen / 100).toFixed(2))))))),
          DaogouHQ.funnel(p.funnel), couponReport(p));
        const names = p.clerks.map((c) => c.display_name || "—");
        ctx.chart(chartBox, {
          tooltip: { trigger: "axis" }, legend: {},
          xAxis: { type: "category", data: names }, yAxis: { type: "value" },
          series: ["targets", "reached", "replied", "buyers"].map((k) => ({
            name: t(`hq.tasks.${k}`), type: "bar", data: p.clerks.map((c) => c[k]) })),
        });
      }
    },
  });
})();
