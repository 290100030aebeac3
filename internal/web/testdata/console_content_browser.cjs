// Drives Chromium through the console's content pages at BASE_URL/admin
// (console_lib.cjs runs it and checks every page it visits):
//   node console_content_browser.cjs BASE_URL SHOTS_DIR < plan.json
// plan.json names the administrator (admin, password), the comment with two
// reports and the report to review (comment, report), the pending sponsor
// ad to approve (ad), the item to feature (item), and the collection and
// owner whose records to browse (collection, owner).
const { drive } = require("./console_lib.cjs");

drive(async ({ page, plan, check, submit, signIn, fail }) => {
  const go = async (path) => {
    await Promise.all([page.waitForNavigation(), page.click(`nav a[href="${path}"]`)]);
  };
  await signIn(plan.admin, plan.password);

  // The queue: the comment's two reports in one group, most reporters first.
  await go("/admin/reports");
  const count = await page.locator("section.group").first().locator("strong.count").innerText();
  if (count !== "2") fail("the first group has " + count + " reporters");
  const groups = await page.locator("section.group h2").allInnerTexts();
  if (!groups[0] || !groups[0].includes(plan.comment)) fail("the first group is " + groups[0]);
  await page.locator("section.group").first().locator("details summary").click();
  await check("content-reports");
  const row = `#report-${plan.report}`;
  await page.selectOption(`${row} select[name="status"]`, "reviewed");
  await page.fill(`${row} textarea[name="resolution_note"]`, "Checking the links");
  await submit(`form[action="/admin/reports/${plan.report}/review"]`);
  const status = await page.locator(`${row} td.status`).innerText();
  if (!status.startsWith("reviewed")) fail("the report's status after the review: " + status);
  await check("content-reports-reviewed");

  // Sponsor ads: the pending one, approved with a note.
  await go("/admin/sponsor-ads");
  await check("content-sponsor-ads");
  await page.check(`#ad-${plan.ad} input[value="approved"]`);
  await page.fill(`#ad-${plan.ad} textarea`, "Welcome aboard");
  await submit(`form[action="/admin/sponsor-ads/${plan.ad}/review"]`);
  if ((await page.locator(`#ad-${plan.ad}`).count()) !== 0) fail("the approved ad is still pending");
  await check("content-sponsor-ads-approved");

  // Featured items: one added at position 1.
  await go("/admin/featured");
  await page.fill("#item", plan.item);
  await page.fill("#position", "1");
  await submit('form[action="/admin/featured"]');
  const listed = await page.locator("table").first().innerText();
  if (!listed.includes(plan.item)) fail("the featured list lacks " + plan.item + ": " + listed);
  await check("content-featured");

  // Billing: the subscriptions, then the events not applied.
  await go("/admin/billing");
  await check("content-billing");
  await Promise.all([page.waitForNavigation(), page.click('main a[href="/admin/billing/events"]')]);
  await check("content-billing-events");

  // Collections: the declarations, and one owner's records.
  await go("/admin/collections");
  await page.selectOption("#collection", plan.collection);
  await page.fill("#owner", plan.owner);
  await submit('form[action="/admin/collections"]');
  const records = await page.locator("main table").first().locator("tbody tr").count();
  if (records !== 2) fail(`the owner's records: ${records} rows`);
  await check("content-collections");
});
