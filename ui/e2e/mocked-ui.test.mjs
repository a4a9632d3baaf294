// The built UI in headless Chromium with the Tauri IPC mocked (mock/backend.ts): the pages
// render, the keyboard works, the live view draws a frame and the roster fills in. Screenshots
// go to test-output/screenshots/mocked-*.png. The real app is tested in app.test.mjs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const ui = resolve(import.meta.dirname, "..");
const SHOTS = join(ui, "../test-output/screenshots");
const PORT = 4173;
let server;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = spawn(join(ui, "node_modules/.bin/vite"), ["preview", "--mode", "mock", "--port", String(PORT), "--strictPort"], { cwd: ui, stdio: "pipe" });
  await new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error("vite preview did not start")), 20_000);
    server.stdout.on("data", (d) => String(d).includes(String(PORT)) && (clearTimeout(t), ok()));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

test("first run, then the live view with a frame, keyboard page switching", { timeout: 60_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${PORT}/mock.html`);
  await page.getByText("Welcome to Rollcall").waitFor();
  await page.fill('input[name="setup-school"]', "Hill School");
  await page.fill('input[name="setup-name"]', "Ms Head");
  await page.fill('input[name="setup-password"]', "a long password");
  await page.fill('input[name="setup-password-again"]', "a long password");
  await page.check('input[name="mood"][value="off"]');
  await page.screenshot({ path: join(SHOTS, "mocked-01-first-run.png"), fullPage: true });
  await page.click("#finish-setup");

  await page.click("#start-session");
  await page.locator('li[data-student="S1"] .chip[data-status="present"]').waitFor();
  await page.locator('[data-testid="video"] svg rect').first().waitFor();
  await page.locator('[data-testid="video"] canvas').waitFor();
  await page.screenshot({ path: join(SHOTS, "mocked-02-live.png"), fullPage: true });

  // Alt+3 opens Reports without the mouse.
  await page.locator("body").click({ position: { x: 5, y: 790 } });
  await page.keyboard.press("Alt+3");
  await page.locator("#daily-table").waitFor();
  assert.equal(await page.getAttribute("#tab-reports", "aria-selected"), "true");
  await page.screenshot({ path: join(SHOTS, "mocked-03-reports.png"), fullPage: true });
  assert.deepEqual(errors, []);
});
