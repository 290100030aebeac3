// userd's passkey page: the WebAuthn ceremonies in the browser, against
// /v1/auth/passkeys/… . window.userdPasskeys is what a test or an
// application page calls; the buttons call it too.
(function () {
  "use strict";
  const b64u = {
    decode(s) {
      const pad = "=".repeat((4 - (s.length % 4)) % 4);
      const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buf) {
      const bin = String.fromCharCode(...new Uint8Array(buf));
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  async function post(path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, { method: "POST", headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
    const data = await res.json();
    if (!res.ok) throw new Error(data.code + ": " + data.detail);
    return data;
  }
  async function register(token, name) {
    const begin = await post("/v1/auth/passkeys/register/begin", null, token);
    const pk = begin.options.publicKey;
    pk.challenge = b64u.decode(pk.challenge);
    pk.user.id = b64u.decode(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => (c.id = b64u.decode(c.id)));
    const cred = await navigator.credentials.create({ publicKey: pk });
    const credential = {
      id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
      response: {
        clientDataJSON: b64u.encode(cred.response.clientDataJSON),
        attestationObject: b64u.encode(cred.response.attestationObject),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
      clientExtensionResults: cred.getClientExtensionResults(),
    };
    return post("/v1/auth/passkeys/register/finish", { challenge_id: begin.challenge_id, name: name || "Passkey", credential }, token);
  }
  async function login() {
    const begin = await post("/v1/auth/passkeys/login/begin");
    const pk = begin.options.publicKey;
    pk.challenge = b64u.decode(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => (c.id = b64u.decode(c.id)));
    const cred = await navigator.credentials.get({ publicKey: pk });
    const credential = {
      id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
      response: {
        clientDataJSON: b64u.encode(cred.response.clientDataJSON),
        authenticatorData: b64u.encode(cred.response.authenticatorData),
        signature: b64u.encode(cred.response.signature),
        userHandle: cred.response.userHandle ? b64u.encode(cred.response.userHandle) : null,
      },
      clientExtensionResults: cred.getClientExtensionResults(),
    };
    return post("/v1/auth/passkeys/login/finish", { challenge_id: begin.challenge_id, credential });
  }
  window.userdPasskeys = { register, login };
  const out = document.getElementById("out");
  const show = (p) => p.then((r) => (out.textContent = JSON.stringify(r, null, 2))).catch((e) => (out.textContent = String(e)));
  document.getElementById("register").addEventListener("click", () => show(register()));
  document.getElementById("login").addEventListener("click", () => show(login()));
})();
