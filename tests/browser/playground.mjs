// Opens the sandvm playground in headless Chromium, runs `[1,2,3].map(x=>x*2)` and sees the
// result, runs `while(1){}` and sees a timeout with its line highlighted, and saves a
// screenshot. Usage: SANDVM_URL=http://127.0.0.1:PORT/ node playground.mjs [screenshot.png]
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const url = process.env.SANDVM_URL;
if (!url) {
  console.error("set SANDVM_URL to the server's base URL");
  process.exit(2);
}
const shot = process.argv[2] || "../../target/playground.png";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(url.replace(/\/$/, ""))) external.push(r.url()); });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("#run");
  assert.equal(await page.title(), "sandvm playground");

  // A good run.
  await page.fill("#code", "[1,2,3].map(x=>x*2)");
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "ok");
  assert.equal((await page.textContent("#value")).trim(), "[ 2, 4, 6 ]");
  assert.match(await page.textContent("#st-http"), /200/);
  console.log("ok: [1,2,3].map(x=>x*2) shows [ 2, 4, 6 ]");

  // Console output and an exception with its line highlighted.
  await page.fill("#code", "console.log('hello');\nconst x = 1;\nnull.boom");
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "exception");
  assert.match(await page.textContent("#console"), /hello/);
  assert.match(await page.textContent("#error"), /TypeError/);
  assert.equal(await page.$eval("#hl", (e) => getComputedStyle(e).display), "block");
  assert.equal((await page.textContent(".gutter .bad")).trim(), "3");
  await page.screenshot({ path: shot.replace(/\.png$/, "-error.png"), fullPage: true });
  console.log("ok: an exception highlights line 3");

  // A timeout.
  await page.fill("#timeout", "200");
  await page.fill("#code", "while(1){}");
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "timeout", null, { timeout: 10000 });
  assert.match(await page.textContent("#error"), /timeout/);
  console.log("ok: while(1){} shows a timeout");

  // Leave a representative state on screen for the screenshot.
  await page.fill("#timeout", "1000");
  await page.fill("#code", [
    "// Runs in a fresh QuickJS context with hard limits.",
    "const langs = ['rust', 'javascript', 'c'];",
    "console.log('sorting', langs.length, 'languages');",
    "console.warn('no network, no fs, no timers by default');",
    "langs.sort().map(l => ({ name: l, len: l.length }));",
  ].join("\n"));
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "ok");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  assert.deepEqual(external, [], "the playground requested external resources");
  assert.deepEqual(pageErrors, [], "the page threw errors");
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
}
console.log(failed ? "browser: 0 passed, 1 failed" : "browser: 1 passed, 0 failed");
process.exit(failed ? 1 : 0);
