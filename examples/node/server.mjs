// A minimal Node service beside userd. It accepts userd's access tokens on
// GET /hello, checked against userd's JWKS with jose, and userd's webhooks
// on POST /webhooks/userd, checked with the standardwebhooks package.
//
//   USERD_URL=http://127.0.0.1:8080 USERD_WEBHOOK_SECRET=whsec_… PORT=3000 node server.mjs
//
// and start userd with --webhook-url http://127.0.0.1:3000/webhooks/userd and
// the same --webhook-secret.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { Webhook } from "standardwebhooks";

/**
 * Returns the example's HTTP server (not yet listening).
 * @param {object} options
 * @param {string} options.userdUrl userd's public URL: the tokens' issuer and audience, and where its JWKS is
 * @param {string} options.webhookSecret the whsec_… secret of userd's --webhook-secret
 * @param {(event: {id: string, type: string}) => void} [options.onEvent] called with each verified webhook
 */
export function createExample({ userdUrl, webhookSecret, onEvent = () => {} }) {
  const issuer = userdUrl.replace(/\/+$/, "");
  // jose fetches the JWKS when it first needs it and caches it, reading it
  // again (at most every 30 s) when a token names a key it does not hold.
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  const hook = new Webhook(webhookSecret);

  return createServer(async (req, res) => {
    try {
      if (req.method === "GET" && req.url === "/hello") return await hello(req, res);
      if (req.method === "POST" && req.url === "/webhooks/userd") return await webhook(req, res);
      send(res, 404, { error: "not_found" });
    } catch (err) {
      console.error(err);
      send(res, 500, { error: "internal" });
    }
  });

  /** Answers the user that a valid access token names; 401 without one. */
  async function hello(req, res) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return unauthorized(res, "missing_token");
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer, audience: issuer, algorithms: ["EdDSA"] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) return unauthorized(res, "token_expired");
      if (err instanceof errors.JOSEError && !(err instanceof errors.JWKSTimeout)) return unauthorized(res, "invalid_token");
      throw err; // userd's JWKS could not be read
    }
    send(res, 200, { user_id: payload.sub, roles: payload.roles, admin: payload.admin === true });
  }

  /**
   * Accepts userd's webhooks whose signature holds; logs their type and id
   * (never their data, which may carry a synchronization's token). A real
   * service would act once per webhook-id, which stays the same on retries.
   */
  async function webhook(req, res) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > 1 << 20) return send(res, 413, { error: "body_too_large" });
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = hook.verify(body, {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      });
    } catch (err) {
      console.log(JSON.stringify({ msg: "webhook refused", err: String(err?.message ?? err) }));
      return send(res, 400, { error: "invalid_signature" });
    }
    const received = { id: String(req.headers["webhook-id"]), type: String(event?.type) };
    console.log(JSON.stringify({ msg: "webhook received", ...received }));
    onEvent(received);
    res.writeHead(204).end();
  }
}

function unauthorized(res, code) {
  res.setHeader("WWW-Authenticate", `Bearer error="${code}"`);
  send(res, 401, { error: code });
}

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { USERD_URL, USERD_WEBHOOK_SECRET, PORT = "3000", HOST = "127.0.0.1" } = process.env;
  if (!USERD_URL || !USERD_WEBHOOK_SECRET) {
    console.error("set USERD_URL and USERD_WEBHOOK_SECRET");
    process.exit(2);
  }
  createExample({ userdUrl: USERD_URL, webhookSecret: USERD_WEBHOOK_SECRET }).listen(Number(PORT), HOST, () =>
    console.log(JSON.stringify({ msg: "example listening", url: `http://${HOST}:${PORT}` })),
  );
}
