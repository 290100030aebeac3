// Drives Chromium through the console's roles, API keys, notifications,
// settings, mail and webhooks (console_lib.cjs runs it and checks every page it visits):
//   node console_access_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin, password), the role to create
// (new_role) with two permissions (perms, comma-separated), the role whose holders get a
// notification (notify_role) and its title, and how many verification
// mails were sent (mails), and the URL of a webhook receiver (hook_url).
const { drive } = require("./console_lib.cjs");

drive(async ({ page, plan, base, check, submit, signIn, fail }) => {
  await signIn(plan.admin, plan.password);

  // A role with two permissions.
  await page.click('nav a[href="/admin/roles"]');
  await page.waitForLoadState();
  await check("access-roles");
  await Promise.all([page.waitForNavigation(), page.click('a[href="/admin/roles/new"]')]);
  await check("access-role-new");
  await page.fill("#name", plan.new_role);
  await page.fill("#description", "Answers users' questions");
  const perms = plan.perms.split(",");
  for (const p of perms) await page.check(`#role-form input[name="permissions"][value="${p}"]`);
  await submit("#role-form");
  if (!page.url().endsWith("/admin/roles?done=created")) fail("the role's creation went to " + page.url());
  const row = await page.locator("#role-table tr", { hasText: plan.new_role }).innerText();
  for (const p of perms) if (!row.includes(p)) fail(`the new role's row lacks ${p}: ${row}`);
  await check("access-roles-created");
  await Promise.all([page.waitForNavigation(), page.click(`#role-table a:text-is("${plan.new_role}")`)]);
  await check("access-role");

  // An API key, shown once.
  await page.click('nav a[href="/admin/api-keys"]');
  await page.waitForLoadState();
  await check("access-api-keys");
  await page.fill("#key-name", "browser test key");
  await page.check('#key-form input[name="permissions"][value="users:read"]');
  await submit("#key-form");
  const key = await page.inputValue("#secret");
  if (!key.startsWith("udk_")) fail("the new key reads " + key);
  await check("access-api-key-created");
  const use = async () => (await fetch(base + "/v1/admin/users", { headers: { Authorization: "Bearer " + key } })).status;
  if ((await use()) !== 200) fail("the new key is refused");
  await page.reload();
  if ((await page.locator("#secret").count()) > 0 || (await page.content()).includes(key)) fail("reloading shows the key again");
  if (!page.url().endsWith("/admin/api-keys")) fail("the reload went to " + page.url());
  await check("access-api-keys-reloaded");
  const keyRow = page.locator("#key-table tr", { hasText: "browser test key" });
  await keyRow.locator('input[name="confirm"]').check();
  await Promise.all([page.waitForNavigation(), keyRow.locator('button[type="submit"]').click()]);
  if (!page.url().endsWith("/admin/api-keys?done=revoked")) fail("the revocation went to " + page.url());
  const state = await page.locator("#key-table tr", { hasText: "browser test key" }).locator(".state").innerText();
  if (!state.startsWith("revoked")) fail("the key's state after the revocation: " + state);
  if ((await use()) !== 401) fail("the revoked key is not refused with 401");
  await check("access-api-keys-revoked");

  // A notification to every holder of a role.
  await page.click('nav a[href="/admin/notifications"]');
  await page.waitForLoadState();
  await check("access-notifications");
  await page.check('input[name="to"][value="role"]');
  await page.selectOption("#role", plan.notify_role);
  await page.fill("#title", plan.title);
  await page.fill("#description", "The console sent this to the role's holders.");
  await submit("#compose");
  const notice = await page.locator(".notice").innerText();
  if (notice !== `Sent: ${plan.holders} ${plan.holders === "1" ? "user" : "users"} got the notification.`) fail("the composer said " + notice);
  await check("access-notifications-sent");

  await page.click('nav a[href="/admin/settings"]');
  await page.waitForLoadState();
  await check("access-settings");

  // The mail, filtered by status.
  await page.click('nav a[href="/admin/mail"]');
  await page.waitForLoadState();
  await page.selectOption("#status", "sent");
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type="submit"]')]);
  if (!page.url().endsWith("/admin/mail?status=sent&to=")) fail("the mail filter went to " + page.url());
  const mails = await page.locator("tbody tr", { hasText: "verify_email" }).count();
  if (mails !== Number(plan.mails)) fail(`the mail page lists ${mails} sent verification mails; want ${plan.mails}`);
  await check("access-mail");

  // A webhook endpoint: its secret shown once, a test event, the deliveries.
  await page.click('nav a[href="/admin/webhooks"]');
  await page.waitForLoadState();
  await check("access-webhooks");
  await page.fill("#endpoint-url", plan.hook_url);
  await page.fill("#endpoint-description", "browser test receiver");
  await page.check('#endpoint-form input[name="event_types"][value="user.created"]');
  await submit("#endpoint-form");
  const secret = await page.inputValue("#secret");
  if (!secret.startsWith("whsec_")) fail("the new endpoint's secret reads " + secret);
  await check("access-webhook-created");
  await page.click('nav a[href="/admin/webhooks"]');
  await page.waitForLoadState();
  if ((await page.content()).includes(secret)) fail("the list shows the secret");
  const hookRow = page.locator("#endpoint-table tbody tr", { hasText: plan.hook_url });
  await Promise.all([page.waitForNavigation(), hookRow.locator('form[action$="/test"] button').click()]);
  const outcome = await page.locator("#test-outcome .state").innerText();
  if (outcome !== "delivered") fail("the test event: " + outcome);
  await check("access-webhook-test");
  await Promise.all([page.waitForNavigation(), page.click('a:text-is("The endpoint\'s deliveries")')]);
  if ((await page.locator("#delivery-table tbody tr", { hasText: "webhook.test" }).count()) !== 1) fail("the deliveries lack the test event");
  await check("access-webhook-deliveries");
});
