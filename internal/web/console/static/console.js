// userd console: progressive enhancement only; every page works without it.
"use strict";
document.addEventListener("submit", (e) => {
  // Destructive forms ask once more.
  const msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
document.addEventListener("DOMContentLoaded", () => {
  // Live search: the results below the users' search form follow what is
  // typed, fetched as the same page the form would load.
  const q = document.querySelector("input[data-live-search]");
  const results = document.getElementById("results");
  if (!q || !results) return;
  let timer;
  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const url = q.form.action + "?q=" + encodeURIComponent(q.value);
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById("results");
      if (fresh) results.replaceChildren(...fresh.childNodes);
      history.replaceState(null, "", url);
    }, 300);
  });
});
// A key shown once: reloading loads the list again instead of sending the
// form a second time (which would make another key).
if (document.querySelector("[data-shown-once]")) history.replaceState(null, "", location.href);
