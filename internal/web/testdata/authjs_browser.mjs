// Auth.js (@auth/core) with userd as a generic OpenID Connect provider,
// served as an application on a loopback origin, with Chromium as the
// user's browser:
//   node authjs_browser.mjs NODE_MODULES < input.json
// input: {issuer, app, clientId, clientSecret, email, password}; the
// client's redirect URI is {app}/auth/callback/userd. The browser gets a
// CSRF token from /auth/csrf, posts it to /auth/signin/userd, which sends
// it to userd's authorize; it signs in and allows on userd's page, comes
// back to the callback (Auth.js exchanges the code and checks the ID
// token's claims: iss, aud, nonce when sent, exp; not its signature, which
// oauth4webapi leaves to TLS for a token endpoint's answer), lands on the callbackUrl with Auth.js's session cookie, and reads
// /auth/session. Prints one JSON object of what the Go test checks.
//
// An http issuer: @auth/core 0.41.3 itself passes oauth4webapi's
// [allowInsecureRequests]: true to its discovery, token and userinfo
// requests (lib/actions/signin/authorization-url.js and
// lib/actions/callback/oauth/callback.js), so no [customFetch] or other
// option is needed here.
import { input, load, main, page, signInAndAllow } from "./openid_browser_lib.mjs";

const { Auth } = await load("@auth/core");
const cfg = await input();

// config is the application's Auth.js configuration: JWT sessions, no
// database. Without an adapter Auth.js makes up its own user id (the JWT's
// sub is a random UUID), so the jwt callback keeps the ID token's sub from
// the profile at sign-in and the session callback shows it at
// /auth/session.
const config = {
  basePath: "/auth",
  secret: "the test application's Auth.js secret, 32+ characters",
  trustHost: true,
  session: { strategy: "jwt" },
  providers: [{ id: "userd", name: "userd", type: "oidc", issuer: cfg.issuer, clientId: cfg.clientId, clientSecret: cfg.clientSecret }],
  callbacks: {
    jwt({ token, profile }) {
      if (profile) token.userdSub = profile.sub;
      return token;
    },
    session({ session, token }) {
      session.user.sub = token.userdSub;
      return session;
    },
  },
};

// handle is the application: Auth.js under /auth, a page with the sign-in
// form at /start, and the page signed-in users come back to at /done.
async function handle(req) {
  const url = new URL(req.url);
  if (url.pathname.startsWith("/auth/")) return Auth(req, config);
  if (url.pathname === "/start")
    return page(`<form method="post" action="/auth/signin/userd"><input id="csrf" name="csrfToken" type="hidden">
<input type="hidden" name="callbackUrl" value="/done"><button type="submit">Sign in with userd</button></form>`);
  if (url.pathname === "/done") return page("<p>Signed in.");
  return page("<p>Not here.", 404);
}

main(cfg.app, handle, async (tab, app) => {
  await tab.goto(cfg.app + "/auth/csrf");
  const { csrfToken } = JSON.parse(await tab.locator("body").innerText());
  await tab.goto(cfg.app + "/start");
  await tab.locator("#csrf").evaluate((el, v) => (el.value = v), csrfToken);
  const sent = tab.waitForRequest((r) => r.url().startsWith(cfg.issuer + "/oauth2/authorize"));
  await tab.getByRole("button", { name: "Sign in with userd" }).click();
  const authorize = new URL((await sent).url());
  await tab.waitForURL((u) => u.href.startsWith(cfg.issuer + "/oauth2/login"));
  const consent = await signInAndAllow(tab, cfg.email, cfg.password);
  const callback = new URL(await app.seen("/auth/callback/userd"));
  await tab.waitForURL(cfg.app + "/done");
  const done = { url: tab.url(), text: await tab.locator("body").innerText() };
  const cookies = (await tab.context().cookies(cfg.app)).map((c) => c.name).filter((n) => n.startsWith("authjs.")).sort();
  await tab.goto(cfg.app + "/auth/session");
  const session = JSON.parse(await tab.locator("body").innerText());
  return {
    authorize: Object.fromEntries(
      ["redirect_uri", "scope", "code_challenge_method", "response_type"].map((k) => [k, authorize.searchParams.get(k)]),
    ),
    consent,
    callback: { path: callback.pathname, code: Boolean(callback.searchParams.get("code")), iss: callback.searchParams.get("iss") },
    done,
    cookies,
    session,
  };
});
