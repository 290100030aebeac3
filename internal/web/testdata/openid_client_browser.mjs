// openid-client (v6, panva) as a confidential relying party of userd's
// OpenID Provider, with Chromium as the user's browser:
//   node openid_client_browser.mjs NODE_MODULES < input.json
// input: {issuer, app, clientId, clientSecret, redirect, postLogout,
// email, password}; redirect and postLogout are on app, which this script
// serves (a page that says "Back."). Discovery, the code flow with PKCE (S256), state and nonce,
// log-in and consent on userd's page in the browser, the code's exchange
// (openid-client validates the ID token: its signature against the JWKS,
// iss, aud, nonce, exp), userinfo, a refresh, and RP-initiated logout in the
// browser. Prints one JSON object of what the Go test checks.
import { input, load, main, page, signInAndAllow, violations } from "./openid_browser_lib.mjs";

const client = await load("openid-client");
const cfg = await input();

main(cfg.app, async () => page("<p>Back."), async (tab, app) => {
  // The issuer is http on loopback: allowInsecureRequests lets
  // openid-client talk to it. enableNonRepudiationChecks makes it check
  // the ID tokens' signatures (EdDSA) against userd's JWKS too, which it
  // skips by default for tokens straight from the token endpoint.
  const config = await client.discovery(new URL(cfg.issuer), cfg.clientId, cfg.clientSecret, undefined, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
  const meta = config.serverMetadata();
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect,
    scope: "openid email profile offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });

  await tab.goto(authorize.href);
  const consent = await signInAndAllow(tab, cfg.email, cfg.password);
  const back = await app.seen(new URL(cfg.redirect).pathname);
  const tokens = await client.authorizationCodeGrant(config, new URL(back), {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const afterRefresh = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);

  const logoutState = client.randomState();
  const end = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: cfg.postLogout,
    state: logoutState,
  });
  await tab.goto(end.href);
  const loggedOut = tab.url();
  const byePage = await tab.locator("body").innerText();
  // Signed out of userd: a new authorization shows the log-in form again.
  await tab.goto(client.buildAuthorizationUrl(config, { redirect_uri: cfg.redirect, scope: "openid", state: client.randomState(),
    nonce: client.randomNonce(), code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: "S256" }).href);
  const loginFormAgain = await tab.locator("#password").isVisible();

  return {
    issuer: meta.issuer,
    algs: meta.id_token_signing_alg_values_supported,
    consent,
    violations,
    callbackIss: new URL(back).searchParams.get("iss"),
    idToken: { sub: claims.sub, email: claims.email, aud: [].concat(claims.aud), iss: claims.iss, nonce: claims.nonce },
    // The JWKS openid-client fetched to check the ID tokens' signatures.
    jwksKeys: (client.getJwksCache(config)?.jwks?.keys ?? []).map((k) => `${k.kty}/${k.crv}`),
    idTokenAlg: JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url").toString()).alg,
    tokenType: tokens.token_type,
    userinfo: { sub: userinfo.sub, email: userinfo.email },
    refreshed: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== tokens.refresh_token,
    refreshedAccessWorks: afterRefresh.sub === claims.sub,
    logout: { url: loggedOut, expectedState: logoutState, page: byePage },
    loginFormAgain,
  };
});
