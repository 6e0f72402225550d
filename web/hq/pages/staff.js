"use strict";
/* 员工 Staff: list staff with follower counts, add clerks, hand a leaving clerk's followers over. */
DaogouHQ.registerPage("staff", {
  async render(root, ctx) {
    const { el, t } = ctx;
    const data = await ctx.api("/api/v1/staff");
    const stores = new Map(data.stores.map((s) => [s.id, s]));
    const clerks = data.staff.filter((s) => s.role === "clerk" && s.active);

    function handoverDialog(member) {
      const select = el("select", { name: "to_clerk_id" }, el("option", { value: "" }, t("hq.staff.choose")),
        clerks.filter((c) => c.id !== member.id).map((c) => el("option", { value: String(c.id) },
          `${c.display_name}（${(stores.get(c.store_id) || {}).name || ""}）`)));
      const error = el("p", { class: "field-error", hidden: true });
      const close = () => dialog.remove();
      const run = async (deactivate) => {
        const to = Number(select.value);
        error.hidden = true;
        try {
          if (deactivate) {
            const body = to ? { handover_to: to } : {};
            const res = await ctx.api(`/api/v1/staff/${member.id}/deactivate`, { method: "POST", body });
            ctx.toast(t("hq.staff.deactivated", { name: member.display_name, moved: res.moved }));
          } else {
            const res = await ctx.api(`/api/v1/staff/${member.id}/handover`, { method: "POST", body: { to_clerk_id: to || null } });
            ctx.toast(t("hq.staff.handover_done", res));
          }
          close();
          ctx.navigate("staff");
        } catch (err) {
          error.textContent = `${err.error} ${Object.entries(err.fields || {}).map(([k, v]) => `${k}: ${v}`).join("; ")}`;
          error.hidden = false;
        }
      };
      const dialog = el("div", { class: "dialog", role: "dialog" }, el("div", { class: "box" },
        el("h3", {}, t("hq.staff.handover")),
        el("p", {}, t("hq.staff.handover_to", { name: member.display_name, n: member.followers })),
        select, error,
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "ghost", onclick: close }, t("hq.staff.cancel")),
          el("button", { type: "button", class: "ghost", onclick: () => run(false) }, t("hq.staff.handover_only")),
          el("button", { type: "button", class: "primary", onclick: () => run(true) }, t("hq.staff.handover_and_deactivate")))));
      document.body.appendChild(dialog);
    }

    const table = el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["hq.staff.display_name", "hq.staff.username", "hq.staff.role", "hq.staff.store",
        "hq.staff.followers", "hq.staff.status", "hq.actions"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, data.staff.map((s) => el("tr", { class: s.active ? "" : "inactive", "data-staff": s.id },
        el("td", {}, s.display_name), el("td", {}, s.username), el("td", {}, t(`role.${s.role}`)),
        el("td", {}, (stores.get(s.store_id) || {}).name || "—"), el("td", {}, String(s.followers)),
        el("td", {}, el("span", { class: `pill ${s.active ? "on" : "off"}` }, t(s.active ? "hq.staff.active" : "hq.staff.inactive"))),
        el("td", {}, s.role === "clerk" && s.active
          ? el("button", { type: "button", class: "link handover", onclick: () => handoverDialog(s) }, t("hq.staff.handover"))
          : null)))));

    const fields = {
      username: el("input", { name: "username", required: true, autocomplete: "off" }),
      display_name: el("input", { name: "display_name", required: true }),
      password: el("input", { name: "password", type: "password", required: true, autocomplete: "new-password" }),
      store_id: el("select", { name: "store_id" }, data.stores.map((s) => el("option", { value: String(s.id) }, s.name))),
      role: el("select", { name: "role" }, ["clerk", "manager", "hq"].filter((r) => ctx.me.role === "hq" || r === "clerk")
        .map((r) => el("option", { value: r }, t(`role.${r}`)))),
    };
    const errors = el("p", { class: "field-error", hidden: true });
    const form = el("form", { class: "form-row" },
      el("label", {}, t("hq.staff.display_name"), fields.display_name),
      el("label", {}, t("hq.staff.username"), fields.username),
      el("label", {}, t("hq.staff.password"), fields.password),
      el("label", {}, t("hq.staff.role"), fields.role),
      el("label", {}, t("hq.staff.store"), fields.store_id),
      el("button", { type: "submit", class: "primary" }, t("hq.staff.create")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errors.hidden = true;
      const body = { username: fields.username.value.trim(), display_name: fields.display_name.value.trim(),
        password: fields.password.value, role: fields.role.value,
        store_id: fields.role.value === "hq" ? null : Number(fields.store_id.value) || null };
      try {
        const res = await ctx.api("/api/v1/staff", { method: "POST", body });
        ctx.toast(t("hq.staff.created", { name: res.staff.display_name }));
        ctx.navigate("staff");
      } catch (err) {
        errors.textContent = `${err.error}: ${Object.entries(err.fields || {}).map(([k, v]) => `${k} ${v}`).join("; ")}`;
        errors.hidden = false;
      }
    });
    root.append(el("div", { class: "panel" }, el("h3", {}, t("hq.staff.add")), form, errors), table);
  },
});
