"use strict";
/* Head office's form parts, shared by the pages: a labelled field with its hint and its error line,
 * the API's 422 reasons placed beside the fields they name, a search-as-you-type picker (clerks by
 * name instead of ids), "≥ ¥ [ ]"-style inputs with their units, and template variables shown as
 * code. Loaded after app.js; pages reach it as DaogouHQ.forms. */
(function () {
  const core = window.DaogouCore;
  const { el, t } = core;

  /** <label> with its text, the control, an optional hint (text or a node) and the line its error goes on.
   * ``path`` is the API field it sends (``rate_bp``, ``tiers[0].from``): errors for it land here. */
  function field(label, control, { hint, path, className } = {}) {
    return el("label", { class: `field ${className || ""}`, dataset: path ? { field: path } : {} },
      el("span", { class: "field-label" }, label), control,
      hint instanceof Node ? hint : hint ? el("small", { class: "hint" }, hint) : null,
      el("span", { class: "field-error", role: "alert", hidden: true }));
  }

  /** An input between the words around it: "下单后 [30] 分钟仍未付款" from "下单后 {n} 分钟仍未付款". */
  function phrase(text, control, { path } = {}) {
    const [before, after] = text.split("{n}");
    return el("label", { class: "field phrase", dataset: path ? { field: path } : {} },
      el("span", { class: "phrase-line" }, before ? el("span", {}, before.trim()) : null, control,
        after ? el("span", {}, after.trim()) : null),
      el("span", { class: "field-error", role: "alert", hidden: true }));
  }

  /** The slot of the field ``path`` names, or of its nearest parent (``tiers[1].from`` → ``tiers[1]`` → ``tiers``). */
  function slotFor(container, path) {
    let p = path;
    while (p) {
      const found = container.querySelector(`[data-field="${CSS.escape(p)}"] > .field-error`);
      if (found) return found;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      p = cut > 0 ? p.slice(0, cut) : "";
    }
    return null;
  }

  function clearErrors(container) {
    for (const slot of container.querySelectorAll(".field-error")) {
      slot.textContent = "";
      slot.hidden = true;
    }
    for (const marked of container.querySelectorAll(".field.invalid")) marked.classList.remove("invalid");
  }

  /** Show an API error in ``container``: each reason beside its field, the summary on ``general``.
   * A reason whose field is not on the form is added to the summary, never shown as a path. */
  function showErrors(container, general, err) {
    clearErrors(container);
    const loose = [];
    for (const [path, reason] of Object.entries(err.fields || {})) {
      const slot = slotFor(container, path);
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent} ${reason}` : reason;
        slot.hidden = false;
        slot.parentElement.classList.add("invalid");
      } else {
        loose.push(reason);
      }
    }
    general.textContent = [err.error || t("common.network_error"), ...loose].join(" ");
    general.hidden = false;
  }

  /** A summary line for a form's errors (shown by showErrors). */
  function summary() {
    return el("p", { class: "field-error form-error", role: "alert", hidden: true });
  }

  /** A text box that finds an item as you type and keeps its value: clerks by name, products by name.
   * ``items``: [{value, label, detail?}]. ``picker.value`` is the chosen item's value or null. */
  function searchPicker(items, { name, placeholder, limit = 8 } = {}) {
    const input = el("input", { type: "search", name, placeholder, autocomplete: "off", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "false" });
    const list = el("ul", { class: "picker-list", role: "listbox", hidden: true });
    let chosen = null;
    const norm = (s) => String(s || "").toLowerCase();
    const matches = () => {
      const q = norm(input.value.trim());
      return items.filter((i) => !q || norm(i.label).includes(q) || norm(i.detail).includes(q)).slice(0, limit);
    };
    const choose = (item) => {
      chosen = item;
      input.value = item.label;
      close();
      input.dispatchEvent(new Event("picked", { bubbles: true }));
    };
    const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); };
    const open = () => {
      const found = matches();
      list.replaceChildren(...(found.length ? found.map((item) => el("li", { role: "option", dataset: { value: String(item.value) },
        onmousedown: (ev) => { ev.preventDefault(); choose(item); } },
      el("span", {}, item.label), item.detail ? el("small", { class: "muted" }, item.detail) : null))
        : [el("li", { class: "muted empty" }, t("hq.forms.no_match"))]));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    };
    input.addEventListener("input", () => { chosen = null; open(); });
    input.addEventListener("focus", open);
    input.addEventListener("blur", () => {
      // A name typed in full (or the only match) counts as chosen, as if it had been clicked.
      if (!chosen && input.value.trim()) {
        const found = matches();
        const exact = found.filter((i) => i.label === input.value.trim());
        if (exact.length === 1 || found.length === 1) chosen = exact[0] || found[0];
        if (chosen) input.value = chosen.label;
      }
      close();
    });
    const node = el("div", { class: "picker" }, input, list);
    return {
      node, input,
      get value() { return chosen ? chosen.value : null; },
      get label() { return chosen ? chosen.label : ""; },
      reset() { chosen = null; input.value = ""; },
    };
  }

  /** Template variables as code the operator types ({{ customer_name }}), not as prose. */
  function templateVars(names) {
    return el("span", { class: "template-vars" }, t("hq.forms.variables"), " ",
      names.map((n) => el("code", {}, `{{ ${n} }}`)));
  }

  /** Staff who are active clerks, as picker items: name, with the store to tell namesakes apart. */
  function clerkItems(staffList, stores) {
    const storeName = new Map((stores || []).map((s) => [s.id, s.name]));
    return staffList.filter((s) => s.role === "clerk" && s.active)
      .map((s) => ({ value: s.id, label: s.display_name, detail: storeName.get(s.store_id) || "" }));
  }

  /** Coupons a task or campaign can give now: active and not ended, by name and what they are worth. */
  function couponChoice(ctx, templates) {
    const now = ctx.now().getTime();
    const usable = templates.filter((c) => c.active && (!c.valid_to || new Date(c.valid_to).getTime() > now));
    return el("select", { name: "coupon_template_id" },
      el("option", { value: "" }, t("hq.tasks.coupon_none")),
      usable.map((c) => el("option", { value: String(c.id) }, `${c.name}（${c.title}）`)));
  }

  window.DaogouHQ.forms = { field, phrase, showErrors, clearErrors, summary, searchPicker, templateVars, clerkItems,
    couponChoice };
})();
