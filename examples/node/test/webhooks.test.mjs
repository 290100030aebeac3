// userd's webhook endpoints, managed at run time, checked by a verifier that
// userd's authors did not write: the standardwebhooks package. Every
// message of the catalogue that reaches the endpoint verifies with its
// secret; after a rotation, with the old secret and with the new one (two
// signatures) for 24 hours.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, before, it } from "node:test";

import { Webhook } from "standardwebhooks";

import { admin, freePort, startUserd } from "../../../clients/typescript/test/userd.mjs";

let srv, receiver, hooksUrl;
/** @type {{headers: Record<string, string>, body: string}[]} */
const received = [];
let arrived = () => {};

before(async () => {
  srv = await startUserd();
  receiver = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const pick = (name) => String(req.headers[name] ?? "");
    received.push({
      headers: { "webhook-id": pick("webhook-id"), "webhook-timestamp": pick("webhook-timestamp"), "webhook-signature": pick("webhook-signature") },
      body: Buffer.concat(chunks).toString("utf8"),
    });
    res.writeHead(204).end();
    arrived();
  });
  const port = await freePort();
  receiver.listen(port, "127.0.0.1");
  await once(receiver, "listening");
  hooksUrl = `http://127.0.0.1:${port}/hooks`;
});

after(async () => {
  receiver?.close();
  await srv?.stop();
});

/** Calls userd with JSON, and a bearer token if given; returns the status and body. */
async function call(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${srv.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The type of a received message, read without verifying it. */
const typeOf = (m) => JSON.parse(m.body).type;

/** Waits until messages of every type in types have arrived (20 s at most). */
async function waitFor(...types) {
  const deadline = Date.now() + 20_000;
  while (!types.every((t) => received.some((m) => typeOf(m) === t))) {
    if (Date.now() > deadline) throw new Error(`waited for ${types}; got ${received.map(typeOf)}`);
    await Promise.race([new Promise((r) => (arrived = r)), new Promise((r) => setTimeout(r, 200))]);
  }
}

it("delivers the catalogue's events signed as Standard Webhooks, with two signatures after a rotation", async () => {
  const login = await call("POST", "/v1/auth/login", { identifier: admin.email, password: admin.password });
  const adm = login.body.access_token;
  const made = await call("POST", "/v1/admin/webhook-endpoints", { url: hooksUrl, description: "node test" }, adm);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const first = made.body.secret;
  assert.match(first, /^whsec_/);

  const carol = await call("POST", "/v1/auth/signup", { email: "carol@example.com", password: "correct horse battery staple" });
  assert.equal(carol.status, 201);
  await waitFor("user.created");
  const beforeRotation = received.length;

  const rotated = await call("POST", `/v1/admin/webhook-endpoints/${made.body.id}/rotate-secret`, undefined, adm);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const second = rotated.body.secret;
  assert.notEqual(second, first);

  const test = await call("POST", `/v1/admin/webhook-endpoints/${made.body.id}/test`, undefined, adm);
  assert.equal(test.body.delivered, true, JSON.stringify(test.body));
  assert.equal((await call("POST", "/v1/auth/logout", undefined, carol.body.access_token)).status, 204);
  assert.equal((await call("DELETE", `/v1/admin/users/${carol.body.user.id}`, undefined, adm)).status, 204);
  await waitFor("webhook.test", "session.revoked", "user.deleted");

  const oldHook = new Webhook(first);
  const newHook = new Webhook(second);
  for (const [i, m] of received.entries()) {
    const event = oldHook.verify(m.body, m.headers); // throws unless a signature holds
    assert.ok(event.type && event.timestamp && event.data, m.body);
    if (event.type !== "webhook.test") assert.equal(event.data.version, 1, m.body);
    if (i < beforeRotation) {
      assert.equal(m.headers["webhook-signature"].split(" ").length, 1);
      assert.throws(() => newHook.verify(m.body, m.headers), `${event.type} verified with a secret made after it`);
    } else {
      assert.equal(m.headers["webhook-signature"].split(" ").length, 2, `${event.type} has both signatures`);
      newHook.verify(m.body, m.headers);
    }
  }
  const byType = Object.fromEntries(received.map((m) => [typeOf(m), JSON.parse(m.body)]));
  assert.equal(byType["user.created"].data.user_id, carol.body.user.id);
  assert.equal(byType["user.deleted"].data.user_id, carol.body.user.id);
  assert.equal(byType["session.revoked"].data.user_id, carol.body.user.id);

  const tampered = received.at(-1);
  assert.throws(() => newHook.verify(`${tampered.body} `, tampered.headers));
});
