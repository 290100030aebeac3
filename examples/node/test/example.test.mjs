// The Node example against a real userd that sends it webhooks: access tokens
// accepted, forged ones refused; a synchronization.due webhook verified by
// the standardwebhooks package, forged deliveries refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { after, before, it } from "node:test";

import { Webhook } from "standardwebhooks";

import { admin, freePort, startUserd } from "../../../clients/typescript/test/userd.mjs";
import { createExample } from "../server.mjs";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
let srv, example, base;
const events = [];
let arrived = () => {};

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  srv = await startUserd(["--webhook-url", `${base}/webhooks/userd`, "--webhook-secret", secret]);
  example = createExample({
    userdUrl: srv.url,
    webhookSecret: secret,
    onEvent: (e) => {
      events.push(e);
      arrived();
    },
  });
  example.listen(port, "127.0.0.1");
  await once(example, "listening");
});

after(async () => {
  example?.close();
  await srv?.stop();
});

/** POSTs JSON to userd, with a bearer token if given; returns the status and body. */
async function call(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${srv.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** GETs the example's /hello with an Authorization header, if given. */
async function hello(authorization) {
  const res = await fetch(`${base}/hello`, { headers: authorization ? { Authorization: authorization } : {} });
  return { status: res.status, body: await res.json(), challenge: res.headers.get("www-authenticate") };
}

it("accepts userd's access tokens and refuses forged ones", async () => {
  const signup = await call("POST", "/v1/auth/signup", { email: "ann@example.com", password: "correct horse battery staple" });
  assert.equal(signup.status, 201);
  const token = signup.body.access_token;

  const ok = await hello(`Bearer ${token}`);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { user_id: signup.body.user.id, roles: ["END_USER"], admin: false });

  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  const forged = Buffer.from(JSON.stringify({ ...claims, roles: ["ADMIN"], admin: true })).toString("base64url");
  for (const bad of [`${header}.${forged}.${signature}`, `${header}.${payload}.`, "uds_not-a-jwt"]) {
    const res = await hello(`Bearer ${bad}`);
    assert.equal(res.status, 401, bad);
    assert.equal(res.body.error, "invalid_token");
  }
  const none = await hello();
  assert.equal(none.status, 401);
  assert.equal(none.challenge, 'Bearer error="missing_token"');
});

it("receives userd's synchronization.due webhook and refuses forged deliveries", async () => {
  const user = await call("POST", "/v1/auth/signup", { email: "bob@example.com", password: "correct horse battery staple" });
  const sync = await call("POST", "/v1/me/synchronizations", { service: "etp", account_id: "bob-1", token: "a platform token" }, user.body.access_token);
  assert.equal(sync.status, 201, JSON.stringify(sync.body));
  const login = await call("POST", "/v1/auth/login", { identifier: admin.email, password: admin.password });
  const waited = new Promise((resolve) => (arrived = resolve));
  const runNow = await call("POST", `/v1/admin/synchronizations/${sync.body.id}/run`, undefined, login.body.access_token);
  assert.equal(runNow.status, 202, JSON.stringify(runNow.body));
  await waited;
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "synchronization.due");
  assert.match(events[0].id, /.+/);

  const body = JSON.stringify({ type: "synchronization.due", timestamp: new Date().toISOString(), data: {} });
  const now = new Date();
  const headers = (signature) => ({ "webhook-id": "msg_forged", "webhook-timestamp": String(Math.floor(now / 1000)), "webhook-signature": signature });
  const otherKey = new Webhook(`whsec_${randomBytes(32).toString("base64")}`).sign("msg_forged", now, body);
  const ours = new Webhook(secret).sign("msg_forged", now, body);
  for (const [name, h, payload] of [
    ["another key", headers(otherKey), body],
    ["a changed body", headers(ours), body.replace("due", "token_expiring")],
    ["no signature", headers(""), body],
  ]) {
    const res = await fetch(`${base}/webhooks/userd`, { method: "POST", headers: { "Content-Type": "application/json", ...h }, body: payload });
    assert.equal(res.status, 400, name);
  }
  const signed = await fetch(`${base}/webhooks/userd`, { method: "POST", headers: { "Content-Type": "application/json", ...headers(ours) }, body });
  assert.equal(signed.status, 204, "a delivery signed with the secret passes");
  assert.equal(events.length, 2);
});
