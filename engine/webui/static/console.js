// The page's only script: fetch the live part every second, send START and STOP, keep the importances chosen.
"use strict";
(function () {
  const live = document.getElementById("live");
  const message = document.getElementById("message");
  const weights = new URLSearchParams();
  let shown = live.innerHTML;
  let busy = false;
  let unanswered = false;

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch("/loadrec/view?" + weights.toString(), {cache: "no-store"});
      if (response.redirected || response.status === 401) { window.location.assign("/login"); return; }
      const html = await response.text();
      if (!response.ok) { message.textContent = problem(html, response.statusText); return; }
      if (html !== shown) { live.innerHTML = html; shown = html; }
      if (unanswered) { message.textContent = ""; unanswered = false; }
    } catch (error) {
      message.textContent = "the web UI does not answer: " + error;
      unanswered = true;
    } finally {
      busy = false;
    }
  }

  // The one-line message of a refusal (the UI answers {"success": false, "message": ...}).
  function problem(text, fallback) {
    try { return JSON.parse(text).message || fallback; } catch (error) { return fallback; }
  }

  async function post(path) {
    const response = await fetch(path, {method: "POST", headers: {"X-Loadrec-Request": "1"}});
    const text = await response.text();
    message.textContent = response.ok ? "" : problem(text, response.statusText);
    await refresh();
  }

  live.addEventListener("click", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLButtonElement) || target.disabled) return;
    if (target.id === "start") {
      [...weights.keys()].forEach((key) => weights.delete(key));  // a new run: its own ranking first
      document.getElementById("plan").open = false;  // the run comes first; the plan is a click away
      post("/loadrec/start");
    }
    if (target.id === "stop") post("/loadrec/stop");
  });
  live.addEventListener("change", (event) => {
    const target = event.target;
    if (target instanceof HTMLSelectElement) { weights.set(target.name, target.value); refresh(); }
  });
  const logout = document.getElementById("logout");
  if (logout) logout.addEventListener("click", async () => { await post("/logout"); window.location.assign("/login"); });
  setInterval(refresh, 1000);
})();
