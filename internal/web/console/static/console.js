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
// Passkeys: where the browser has WebAuthn, the log-in page shows the
// passkey's form. Submitting it runs the API's passkey log-in ceremony
// (POST /v1/auth/passkeys/login/begin, then the browser's assertion) and
// posts the ceremony's id and the assertion, as JSON, to
// /admin/login/passkey, which signs in as the password form does.
const base64url = {
  bytes: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
  text: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
};
async function passkeyAssertion() {
  const res = await fetch("/v1/auth/passkeys/login/begin", { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin" });
  const begin = await res.json();
  if (!res.ok) throw new Error(begin.detail || "The passkey sign-in could not start.");
  const options = begin.options.publicKey;
  options.challenge = base64url.bytes(options.challenge);
  for (const c of options.allowCredentials || []) c.id = base64url.bytes(c.id);
  const cred = await navigator.credentials.get({ publicKey: options });
  const r = cred.response;
  return {
    challengeID: begin.challenge_id,
    credential: JSON.stringify({
      id: cred.id, rawId: base64url.text(cred.rawId), type: cred.type,
      response: {
        clientDataJSON: base64url.text(r.clientDataJSON), authenticatorData: base64url.text(r.authenticatorData),
        signature: base64url.text(r.signature), userHandle: r.userHandle ? base64url.text(r.userHandle) : null,
      },
      clientExtensionResults: cred.getClientExtensionResults(),
    }),
  };
}
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("passkey-form");
  if (!form || !window.PublicKeyCredential || !navigator.credentials) return;
  const status = document.getElementById("passkey-status");
  const button = form.querySelector("button");
  form.hidden = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    status.textContent = "Waiting for your passkey…";
    try {
      const a = await passkeyAssertion();
      form.elements.challenge_id.value = a.challengeID;
      form.elements.credential.value = a.credential;
      form.submit();
    } catch (err) {
      status.textContent = err.name === "NotAllowedError" ? "The passkey sign-in was cancelled or timed out. Try again, or use your password." : String(err.message || err);
      button.disabled = false;
    }
  });
});
