// What the relying-party scripts of the OpenID Provider's browser test
// share (openid_client_browser.mjs, authjs_browser.mjs). Each is run as
//   node SCRIPT NODE_MODULES < input.json
// with a listening TCP socket as file descriptor 3: the application's
// loopback origin (input.app), whose port the Go test chose before it
// registered the client's redirect URIs there.
// NODE_PATH does not apply to ES modules, so the packages are loaded from
// the node_modules folder the test names, through createRequire's
// resolution (which honours each package's "exports").
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

// modules is the node_modules folder the test gave as the first argument.
export const modules = process.argv[2];
const requireFrom = createRequire(path.join(modules, "noop.js"));

// load imports an ES module package (openid-client, @auth/core) from modules.
export async function load(name) {
  return import(pathToFileURL(requireFrom.resolve(name)).href);
}

// input is the JSON object the test wrote on stdin.
export async function input() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

// launch starts Debian's Chromium headless through playwright-core (a
// CommonJS package, hence require) and returns the browser.
export async function launch() {
  const { chromium } = requireFrom("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

// serve answers the application's origin on file descriptor 3 with
// handle(request: Request) → Response (the Fetch API's classes, as
// Auth.js takes and gives them). It returns {seen(prefix), close()}:
// seen resolves with the first URL requested whose path starts with
// prefix (waiting up to 20 s), the way the application learns where the
// browser came back.
export async function serve(origin, handle) {
  const requests = [];
  const waiters = [];
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, origin);
      requests.push(url);
      for (const w of waiters.splice(0)) w();
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks);
      const answer = await handle(new Request(url, { method: req.method, headers, body }));
      const out = {};
      answer.headers.forEach((v, k) => {
        if (k !== "set-cookie") out[k] = v;
      });
      const cookies = answer.headers.getSetCookie();
      if (cookies.length) out["set-cookie"] = cookies;
      res.writeHead(answer.status, out);
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch (e) {
      console.error("the application's handler:", e);
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen({ fd: 3 }, resolve));
  return {
    async seen(prefix) {
      const deadline = Date.now() + 20000;
      for (;;) {
        const hit = requests.find((u) => u.pathname.startsWith(prefix));
        if (hit) return hit.href;
        if (Date.now() > deadline) throw new Error("the browser never came to " + prefix);
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

// page answers with a small HTML page.
export function page(html, status = 200) {
  return new Response("<!doctype html><meta charset=utf-8><title>The application</title>" + html, {
    status,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

// violations are the serious and critical accessibility findings
// (axe-core, WCAG 2.1 A and AA and best practices) of the log-in and
// consent pages that signInAndAllow met, as "page: impact rule".
export const violations = [];

// audit checks the page the tab shows with axe-core into violations.
async function audit(tab, name) {
  const { AxeBuilder } = requireFrom("@axe-core/playwright");
  const res = await new AxeBuilder({ page: tab }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .options({ resultTypes: ["violations"] }).analyze();
  for (const v of res.violations) {
    if (v.impact === "serious" || v.impact === "critical") violations.push(`${name}: ${v.impact} ${v.id}`);
  }
}

// signInAndAllow fills userd's log-in form and answers its consent page
// with Allow, checking both pages' accessibility (violations); it returns
// the text of the consent form.
export async function signInAndAllow(tab, email, password) {
  await tab.locator("#identifier").waitFor();
  await audit(tab, "log-in");
  await tab.fill("#identifier", email);
  await tab.fill("#password", password);
  await tab.getByRole("button", { name: "Sign in", exact: true }).click();
  const allow = tab.getByRole("button", { name: "Allow", exact: true });
  await allow.waitFor({ timeout: 10000 });
  await audit(tab, "consent");
  const consent = (await tab.locator("form").first().innerText()).replace(/\s+/g, " ").trim();
  await allow.click();
  return consent;
}

// main serves the application with handle, runs body(tab, app) in a fresh
// browser, prints what it returns as one JSON object, and closes the
// browser and the server; an error fails the script with its stack.
export function main(origin, handle, body) {
  (async () => {
    const app = await serve(origin, handle);
    const browser = await launch();
    try {
      const context = await browser.newContext();
      const tab = await context.newPage();
      console.log(JSON.stringify(await body(tab, app)));
    } finally {
      await browser.close();
      app.close();
    }
  })().catch((e) => {
    console.error(String(e && e.stack ? e.stack : e));
    if (e && e.cause) console.error("cause:", e.cause);
    process.exit(1);
  });
}
