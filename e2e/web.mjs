// The podsift web UI in headless Chromium (Debian's chromium via playwright-core), driven
// by crates/cli/tests/web_e2e.rs against `podsift serve`. Prints one JSON report line last;
// exits non-zero on the first failed check. Screenshots of every page go to $SHOTS.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const env = process.env;
const base = env.BASE_URL;
const report = { ok: false, steps: [], errors: [] };
const step = (name, detail) => {
  report.steps.push(detail === undefined ? name : { [name]: detail });
  console.log("step:", name, detail === undefined ? "" : JSON.stringify(detail));
};
const shot = (page, name) => page.screenshot({ path: path.join(env.SHOTS, `${name}.png`), fullPage: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function signIn(page, email) {
  await page.goto(`${base}/login`);
  await page.fill("#email", email);
  await page.fill("#password", env.PASSWORD);
  await submit(page, "form[action='/login'] button[type=submit]");
  assert.match(page.url(), /\/digest$/, `signed in as ${email}`);
}

async function addFeed(page, url) {
  await page.goto(`${base}/subscriptions`);
  await page.fill("#feed-url", url);
  await submit(page, "form[action='/subscriptions'] button[type=submit]");
  assert.match(await page.textContent(".notice"), /Subscribed/);
}

const insightIds = (page) => page.$$eval("ol.insights li.insight", (els) => els.map((e) => e.dataset.insight));

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
});
try {
  // A phone-sized screen: the pages must work there.
  const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 };

  // Bob follows his own show; remember his pages' URLs.
  const bobCtx = await browser.newContext(phone);
  const bob = await bobCtx.newPage();
  await signIn(bob, env.BOB);
  await addFeed(bob, env.BOB_FEED);
  await submit(bob, "ul.feeds h2 a");
  const bobFeedUrl = bob.url();
  await submit(bob, "ul.episodes a");
  const bobEpisodeUrl = bob.url();
  await bobCtx.close();
  step("bob", { feed: bobFeedUrl, episode: bobEpisodeUrl });

  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => report.errors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") report.errors.push(`console: ${m.text()}`); });

  // Sign in (a signed-out visit goes to the sign-in page and comes back).
  await page.goto(`${base}/digest`);
  assert.match(page.url(), /\/login\?next=%2Fdigest$/);
  await shot(page, "01-login");
  await page.fill("#email", env.ANN);
  await page.fill("#password", env.PASSWORD);
  await submit(page, "form[action='/login'] button[type=submit]");
  assert.match(page.url(), /\/digest$/);
  assert.match(await page.textContent("h1"), /No digest yet/);
  await shot(page, "02-digest-empty");
  step("signed in");

  // Add a feed.
  await addFeed(page, env.ANN_FEED);
  assert.equal(await page.locator("ul.feeds li.feed").count(), 1);
  assert.match(await page.textContent("ul.feeds"), /City Desk/);
  await shot(page, "03-subscriptions");
  step("feed added");

  // One insight per digest, so the next digest shows the effect of a vote.
  await page.goto(`${base}/settings`);
  await page.fill("#digest_size", "1");
  await page.fill("#interests", "cycling, city budgets");
  await submit(page, "form[action='/settings'] button[type=submit]");
  assert.match(await page.textContent(".notice"), /Settings saved/);
  await shot(page, "04-settings");
  step("settings saved");

  // Run: the service fetches the transcript and extracts insights in the background; make
  // the digest as soon as there is something new.
  await page.goto(`${base}/digest`);
  const today = await page.inputValue("#digest-date");
  let made = false;
  for (let i = 0; i < 90 && !made; i++) {
    await page.goto(`${base}/digest`);
    await submit(page, "form.make button[type=submit]");
    made = /\/digests\/\d{4}-\d\d-\d\d\?ok=created/.test(page.url());
    if (!made) await sleep(2000);
  }
  assert.ok(made, "a digest was made within 3 minutes");
  const first = await insightIds(page);
  assert.equal(first.length, 1, "one insight (digest size 1)");
  assert.match(await page.textContent("li.insight blockquote"), /bike lanes|parking fee|Cycling/);
  await shot(page, "05-digest");
  step("digest", { date: today, insights: first });

  // The moment: the insight's link opens the episode page at its time.
  const moment = await page.getAttribute("li.insight a.moment", "href");
  await submit(page, "li.insight a.moment");
  const player = "#player";
  await page.waitForFunction((s) => document.querySelector(s).readyState >= 1, player, { timeout: 30000 });
  const fromLink = Number(/#t=(\d+)/.exec(moment)[1]);
  await page.waitForFunction(
    ([s, t]) => Math.abs(document.querySelector(s).currentTime - t) < 1.5, [player, fromLink], { timeout: 10000 });
  // Clicking another insight's time seeks the player there.
  const times = page.locator("ol.insights a.time");
  assert.ok((await times.count()) >= 2, "the episode page lists the episode's insights");
  const link = times.nth((await times.count()) - 1);
  const target = Number(await link.getAttribute("data-t"));
  await link.click();
  await page.waitForFunction(
    ([s, t]) => Math.abs(document.querySelector(s).currentTime - t) < 1.5, [player, target], { timeout: 10000 });
  const currentTime = await page.evaluate((s) => document.querySelector(s).currentTime, player);
  assert.match(page.url(), new RegExp(`#t=${Math.floor(target)}$`));
  // The transcript follows along: the line being said is highlighted.
  await page.waitForSelector("#transcript li.current", { timeout: 10000 });
  const currentLine = await page.textContent("#transcript li.current .line");
  assert.equal(await page.locator("#transcript li").count(), 3);
  await shot(page, "06-episode");
  step("moment", { from_link: fromLink, clicked: target, currentTime, line: currentLine });

  // 👎 the digest's insight; the next digest is different and does not repeat it.
  await page.goto(`${base}/digests/${today}`);
  await submit(page, "li.insight button[value=down]");
  assert.match(page.url(), /ok=voted/);
  assert.equal(await page.getAttribute("li.insight button[value=down]", "aria-pressed"), "true");
  await shot(page, "07-voted");
  const tomorrow = nextDay(today);
  await page.fill("#digest-date", tomorrow);
  await submit(page, "form.make button[type=submit]");
  assert.match(page.url(), new RegExp(`/digests/${tomorrow}\\?ok=created`));
  const next = await insightIds(page);
  assert.equal(next.length, 1);
  assert.notEqual(next[0], first[0], "the next digest changed");
  await shot(page, "08-next-digest");
  step("next digest", { date: tomorrow, insights: next, voted_down: first[0] });

  // Search the transcripts and insights.
  await page.goto(`${base}/search`);
  await page.fill("#q", "parking fee");
  await submit(page, "form[role=search] button[type=submit]");
  const hits = await page.locator("ol.results li").count();
  assert.ok(hits >= 2, `search hits: ${hits}`);
  await shot(page, "09-search");
  await page.goto(`${base}/digests`);
  assert.equal(await page.locator("ul.archive li").count(), 2);
  await shot(page, "10-archive");
  step("search and archive", { hits });

  // No script errors or failed loads on any page so far.
  assert.deepEqual(report.errors, [], "no script errors or failed loads");

  // Bob's pages are not Ann's: 404.
  for (const [name, url] of [["feed", bobFeedUrl], ["episode", bobEpisodeUrl]]) {
    const res = await page.goto(url);
    assert.equal(res.status(), 404, `${name} of another user`);
    assert.match(await page.textContent("h1"), /Not found/);
    assert.doesNotMatch(await page.content(), /Bob's Show/);
  }
  await shot(page, "11-other-users-episode-404");
  const api = await page.request.get(bobEpisodeUrl.replace("/episodes/", "/api/episodes/"));
  assert.equal(api.status(), 404);
  step("other user's URLs are 404");

  report.ok = true;
} catch (e) {
  report.failure = String(e && e.stack ? e.stack : e);
  process.exitCode = 1;
} finally {
  await browser.close();
  console.log(JSON.stringify(report));
}
