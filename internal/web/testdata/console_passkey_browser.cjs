// Drives Chromium through the console's sign-in with a passkey
// (console_lib.cjs runs it and checks every page it visits):
//   node console_passkey_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin) and gives a session token of
// theirs (token), with which a DevTools virtual authenticator registers a
// passkey on userd's /passkeys page. BASE_URL must be on localhost, which
// WebAuthn takes as a secure context.
const { drive } = require("./console_lib.cjs");

drive(async ({ page, plan, base, check, fail }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.goto(base + "/passkeys");
  await page.evaluate((token) => window.userdPasskeys.register(token, "Console"), plan.token);

  await page.goto(base + "/admin/login");
  const button = page.locator("#passkey-form button", { hasText: "Sign in with a passkey" });
  if (!(await button.isVisible())) fail("the log-in page shows no passkey button");
  await check("passkey-login");
  await Promise.all([page.waitForURL(/\/admin$/), button.click()]);
  const who = await page.locator("header .who").innerText();
  if (!who.includes(plan.admin)) fail("the passkey signed in as " + who);
  await check("passkey-overview");
});
