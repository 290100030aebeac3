// Drives Chromium through the console at BASE_URL/admin as an administrator
// would, checking every page it visits with axe-core:
//   node console_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin, password), the user to find and
// act on (user, user_email), the role to give, and a second administrator
// with TOTP (mfa_admin, the secret, and how far the server's clock is ahead
// in seconds: skew). It screenshots each page into SHOTS_DIR
// and prints {"pages": […], "failures": […]} as JSON: a failure is a page
// that answered 500 or more, showed an unexpected error banner, or has a
// serious or critical accessibility violation.
const { chromium } = require("playwright-core");
const { AxeBuilder } = require("@axe-core/playwright");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

// totp is the code of an authenticator app (RFC 6238: SHA-1, 6 digits,
// 30 s) for a base32 secret, at the server's clock (skew seconds ahead).
function totp(secret, skew) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor((Date.now() / 1000 + skew) / 30)));
  const mac = crypto.createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, "0");
}

(async () => {
  const [base, shots] = process.argv.slice(2);
  const plan = JSON.parse(fs.readFileSync(0, "utf8"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const pages = [];
  const failures = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on("response", (res) => {
      if (res.status() >= 500) failures.push(`${res.url()} answered ${res.status()}`);
    });
    page.on("dialog", (d) => d.accept());

    // check looks at the page now shown: its error banner, its
    // accessibility, and a screenshot under name.
    const check = async (name, { banner = false } = {}) => {
      const url = page.url();
      const alert = await page.locator('[role="alert"]').count();
      if (alert > 0 && !banner) failures.push(`${name} (${url}) shows an error: ${await page.locator('[role="alert"]').innerText()}`);
      const res = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
        .options({ resultTypes: ["violations"] }).analyze();
      for (const v of res.violations) {
        if (v.impact === "serious" || v.impact === "critical") {
          failures.push(`${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
        }
      }
      await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
      pages.push({ name, url, violations: res.violations.map((v) => `${v.impact} ${v.id}`) });
    };
    const submit = async (form) => {
      await Promise.all([page.waitForNavigation(), page.locator(form).locator('button[type="submit"]').click()]);
    };

    await page.goto(base + "/admin");
    await check("login");
    await page.fill("#identifier", plan.admin);
    await page.fill("#password", plan.password);
    await submit('form[action="/admin/login"]');
    if (!page.url().endsWith("/admin")) failures.push("log-in went to " + page.url());
    await check("overview");
    // Keyboard only: the skip link is the first stop, visible when focused,
    // and it leads to the content.
    await page.keyboard.press("Tab");
    const skip = await page.evaluate(() => document.activeElement.className === "skip" && document.activeElement.getBoundingClientRect().left >= 0);
    if (!skip) failures.push("the skip link is not the first, visible, focus stop");
    await page.keyboard.press("Enter");
    if (!(await page.evaluate(() => document.activeElement.id === "main"))) failures.push("the skip link does not lead to the content");

    await page.click('nav a[href="/admin/users"]');
    await page.waitForLoadState();
    await page.fill("#q", plan.user_email.slice(0, 5));
    // The live search replaces the results as one types.
    await page.waitForSelector(`#results a[href="/admin/users/${plan.user}"]`);
    await check("users");
    await Promise.all([page.waitForNavigation(), page.click(`#results a[href="/admin/users/${plan.user}"]`)]);
    await check("user");

    await page.check('input[name="action"][value="suspend"]');
    await page.fill("#reason", "Spam links in comments");
    await page.fill("#until", plan.until);
    await submit('form[action$="/moderate"]');
    const status = await page.locator("#status").innerText();
    if (status !== "suspended") failures.push("status after the suspension: " + status);
    await check("user-suspended");

    await page.selectOption("#give-role", plan.role);
    await submit('form.row[action$="/roles"]');
    const roles = await page.locator("#role-list").innerText();
    if (!roles.includes(plan.role)) failures.push("roles after giving " + plan.role + ": " + roles);

    // A deletion with the wrong word is refused, on a page of its own.
    await page.fill("#confirm", "not the email");
    await submit('form[action$="/delete"]');
    await check("user-delete-refused", { banner: true });
    await page.goBack();

    await page.click('nav a[href="/admin/audit"]');
    await page.waitForLoadState();
    await page.fill("#action", "admin.");
    await submit('form[action="/admin/audit"]');
    await check("audit");
    await page.click('nav a[href="/admin/settings"]');
    await page.waitForLoadState();
    await check("settings");
    await submit('form[action="/admin/logout"]');
    await check("signed-out");

    // The second administrator has TOTP: a code after the password.
    await page.goto(base + "/admin/login");
    await page.fill("#identifier", plan.mfa_admin);
    await page.fill("#password", plan.password);
    await submit('form[action="/admin/login"]');
    await check("login-second-factor");
    await page.fill("#code", totp(plan.secret, Number(plan.skew)));
    await submit('form[action="/admin/login/mfa"]');
    if (!page.url().endsWith("/admin")) failures.push("the second factor went to " + page.url());
    await page.goto(base + "/admin/nowhere");
    await check("not-found", { banner: true });
  } catch (e) {
    failures.push(String(e && e.stack ? e.stack : e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ pages, failures }));
})().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
