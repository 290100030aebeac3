// Drives Chromium through the console at BASE_URL/admin as an administrator
// would (console_lib.cjs runs it and checks every page it visits):
//   node console_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin, password), the user to find and
// act on (user, user_email), the role to give, and a second administrator
// with TOTP (mfa_admin, the secret, and how far the server's clock is ahead
// in seconds: skew).
const { drive } = require("./console_lib.cjs");

drive(async ({ page, plan, base, check, submit, fail, totp }) => {
  await page.goto(base + "/admin");
  await check("login");
  await page.fill("#identifier", plan.admin);
  await page.fill("#password", plan.password);
  await submit('form[action="/admin/login"]');
  if (!page.url().endsWith("/admin")) fail("log-in went to " + page.url());
  await check("overview");
  // Keyboard only: the skip link is the first stop, visible when focused,
  // and it leads to the content.
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => document.activeElement.className === "skip" && document.activeElement.getBoundingClientRect().left >= 0);
  if (!skip) fail("the skip link is not the first, visible, focus stop");
  await page.keyboard.press("Enter");
  if (!(await page.evaluate(() => document.activeElement.id === "main"))) fail("the skip link does not lead to the content");

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
  if (status !== "suspended") fail("status after the suspension: " + status);
  await check("user-suspended");

  await page.selectOption("#give-role", plan.role);
  await submit('form.row[action$="/roles"]');
  const roles = await page.locator("#role-list").innerText();
  if (!roles.includes(plan.role)) fail("roles after giving " + plan.role + ": " + roles);

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
  if (!page.url().endsWith("/admin")) fail("the second factor went to " + page.url());
  await page.goto(base + "/admin/nowhere");
  await check("not-found", { banner: true });
});
