// Drives Chromium through a user's page and the organisations' pages
// (console_lib.cjs runs it and checks every page it visits):
//   node console_users_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin, password), the user with two
// sessions and TOTP (user), and their organisation (org, org_name) with a
// second member (member_email).
const { drive } = require("./console_lib.cjs");

drive(async ({ page, plan, base, check, submit, signIn, fail }) => {
  await signIn(plan.admin, plan.password);
  await page.goto(base + "/admin/users/" + plan.user);
  const rows = await page.locator("#session-list tbody tr").count();
  if (rows !== 2) fail(`the user's page lists ${rows} sessions`);
  const totp = await page.locator("#totp").innerText();
  if (totp !== "enabled") fail("TOTP shows " + totp);
  const left = await page.locator("#recovery-left").innerText();
  if (left !== "10") fail("recovery codes left: " + left);
  if ((await page.locator(`section[aria-labelledby="orgs"] a[href="/admin/orgs/${plan.org}"]`).count()) !== 1) fail("the user's page does not link their organisation");
  await check("users-access");

  // End the newest session, then all that are left.
  await submit("#session-list tbody tr:first-child form");
  const notice = await page.locator(".notice").innerText();
  if (!notice.includes("The session is ended")) fail("notice after ending a session: " + notice);
  const after = await page.locator("#session-list tbody tr").count();
  if (after !== 1) fail(`${after} sessions after ending one`);
  await check("users-session-ended");
  await submit('form.danger[action$="/sessions"]');
  const empty = await page.locator("#session-list tbody").innerText();
  if (!empty.includes("No live session.")) fail("sessions after ending all: " + empty);
  await check("users-sessions-ended");

  // The organisation, from the navigation.
  await page.click('nav a[href="/admin/orgs"]');
  await page.waitForLoadState();
  await page.fill("#q", plan.org_name.slice(0, 4));
  await submit('form[action="/admin/orgs"]');
  await check("orgs-list");
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/admin/orgs/${plan.org}"]`)]);
  const members = await page.locator("#member-list tbody").innerText();
  if (!members.includes(plan.member_email) || !members.includes("owner")) fail("the organisation's members: " + members);
  await check("orgs-org");
});
