// Drives Chromium through userd's passkey ceremonies with a DevTools
// virtual authenticator: node passkeys_browser.cjs BASE_URL SESSION_TOKEN.
// Prints {"registered": …, "login": …} as JSON.
const { chromium } = require("playwright-core");

(async () => {
  const [base, token] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await page.goto(base + "/passkeys");
    const registered = await page.evaluate((t) => window.userdPasskeys.register(t, "Chromium"), token);
    const login = await page.evaluate(() => window.userdPasskeys.login());
    console.log(JSON.stringify({ registered, login }));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
