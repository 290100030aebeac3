// The console's browser harness, shared by the console_*_browser.cjs
// scripts: each is run as
//   node SCRIPT BASE_URL SHOTS_DIR < plan.json
// and hands drive() its steps. drive launches Debian's Chromium, reads the
// plan, and prints {"pages": […], "failures": […]} as JSON: a failure is a
// page that answered 500 or more, showed an unexpected error banner, or has
// a serious or critical accessibility violation, or a step that threw.
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

// drive runs steps({ page, plan, base, check, submit, signIn, fail, totp })
// in a fresh browser.
//   check(name, { banner }) looks at the page now shown: its error banner
//     (expected only with banner: true), its accessibility (axe-core), and
//     a screenshot SHOTS_DIR/name.png.
//   submit(form) clicks the submit button of the form a selector finds and
//     waits for the next page.
//   signIn(identifier, password) signs in at /admin/login and checks that
//     it landed on the overview.
//   fail(message) records a failure and goes on.
function drive(steps) {
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
    const fail = (message) => failures.push(message);
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      page.on("response", (res) => {
        if (res.status() >= 500) fail(`${res.url()} answered ${res.status()}`);
      });
      page.on("dialog", (d) => d.accept());
      const check = async (name, { banner = false } = {}) => {
        const url = page.url();
        const alert = await page.locator('[role="alert"]').count();
        if (alert > 0 && !banner) fail(`${name} (${url}) shows an error: ${await page.locator('[role="alert"]').innerText()}`);
        const res = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
          .options({ resultTypes: ["violations"] }).analyze();
        for (const v of res.violations) {
          if (v.impact === "serious" || v.impact === "critical") {
            fail(`${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
          }
        }
        await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
        pages.push({ name, url, violations: res.violations.map((v) => `${v.impact} ${v.id}`) });
      };
      const submit = async (form) => {
        await Promise.all([page.waitForNavigation(), page.locator(form).locator('button[type="submit"]').click()]);
      };
      const signIn = async (identifier, password) => {
        await page.goto(base + "/admin/login");
        await page.fill("#identifier", identifier);
        await page.fill("#password", password);
        await submit('form[action="/admin/login"]');
        if (!page.url().endsWith("/admin")) fail(`the log-in of ${identifier} went to ${page.url()}`);
      };
      await steps({ page, plan, base, check, submit, signIn, fail, totp });
    } catch (e) {
      fail(String(e && e.stack ? e.stack : e));
    } finally {
      await browser.close();
    }
    console.log(JSON.stringify({ pages, failures }));
  })().catch((e) => {
    console.error(String(e && e.stack ? e.stack : e));
    process.exit(1);
  });
}

module.exports = { drive };
