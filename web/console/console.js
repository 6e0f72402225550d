"use strict";
(function () {
  const form = document.getElementById("login");
  const error = form.querySelector(".error");
  async function showMe() {
    const resp = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (!resp.ok) return;
    const { me } = await resp.json();
    form.hidden = true;
    const p = document.createElement("p");
    p.className = "login";
    p.textContent = `${me.display_name}（${me.role_label}）`;
    document.getElementById("app").appendChild(p);
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const resp = await fetch("/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
    });
    const body = await resp.json();
    if (!resp.ok) { error.textContent = body.error; error.hidden = false; return; }
    showMe();
  });
  showMe();
})();
