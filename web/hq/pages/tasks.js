"use strict";
/* 关怀任务 Care tasks: create a task from a saved segment, watch completion per store and clerk. */
DaogouHQ.registerPage("tasks", {
  title: { "zh-CN": "关怀任务", en: "Care tasks" },
  order: 20,
  async render(root, ctx) {
    const { el, t } = ctx;
    const [tasks, segments] = await Promise.all([
      ctx.api("/api/v1/tasks"),
      ctx.api("/api/v1/segments").catch(() => ({ segments: [] })),
    ]);
    const errorLine = (err) => `${err.error}${Object.keys(err.fields || {}).length ? "：" : ""}${Object.entries(err.fields || {}).map(([k, v]) => `${k} ${v}`).join("；")}`;

    if (ctx.me.role === "hq") {
      const local = ctx.localInput(new Date(ctx.now().getTime() + 2 * 86400000));  // brand time, as the server reads it
      const f = {
        title: el("input", { name: "title", required: true }),
        goal: el("input", { name: "goal" }),
        segment_id: el("select", { name: "segment_id" }, (segments.segments || []).map((s) => el("option", { value: String(s.id) }, s.name))),
        scenario: el("select", { name: "scenario" }, ["节日", "休眠唤醒", "补货", "生日", "新品", "售后关怀", "催付", "自定义"].map((s) => el("option", { value: s }, s))),
        template: el("input", { name: "template", value: "{{ customer_name }}您好，我是{{ clerk_name }}，" , style: { minWidth: "320px" } }),
        deadline: el("input", { name: "deadline", type: "datetime-local", value: local }),
        fallback: el("select", { name: "fallback" }, ["mass_send", "leave"].map((v) => el("option", { value: v }, t(`hq.tasks.fallback.${v}`)))),
      };
      const errors = el("p", { class: "field-error", hidden: true });
      const form = el("form", { class: "form-row" },
        ...Object.entries(f).map(([k, input]) => el("label", {}, t(k === "title" ? "hq.tasks.name" : `hq.tasks.${k === "segment_id" ? "segment" : k}`), input)),
        el("button", { type: "submit", class: "primary" }, t("hq.tasks.create")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        errors.hidden = true;
        try {
          const res = await ctx.api("/api/v1/tasks", { method: "POST", body: {
            title: f.title.value, goal: f.goal.value || null, segment_id: Number(f.segment_id.value),
            scenario: f.scenario.value, template: f.template.value, deadline: f.deadline.value, fallback: f.fallback.value,
          } });
          ctx.toast(t("hq.tasks.created", { clerks: res.clerks, n: res.counts.todo }));
          ctx.navigate("tasks");
        } catch (err) {
          errors.textContent = errorLine(err);
          errors.hidden = false;
        }
      });
      root.append(el("div", { class: "panel" }, el("h3", {}, t("hq.tasks.new")), form, errors));
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
            el("td", {}, ctx.yuan((c.revenue_fen / 100).toFixed(2))))))));
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
