// The real app in its real webview (WebKitGTK), driven through tauri-driver + WebKitWebDriver.
// Each test has a school of its own: a database with the two people of the video_hamilton clip
// enrolled (made with the CLI), given to its own app with `--db`, so no test depends on another's
// state. Waits are on events (a chip turns Present, a verdict says a picture is usable), never on
// the clock: the suite passes on a busy machine too. Screenshots go to test-output/screenshots.
//
// Needs: the built app (ROLLCALL_APP), the CLI (ROLLCALL_CLI), tauri-driver (TAURI_DRIVER),
// /usr/bin/WebKitWebDriver, a display (run under xvfb-run), ../shared/datasets (ROLLCALL_DATASETS).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import ExcelJS from "exceljs";
import { remote } from "webdriverio";

const root = resolve(import.meta.dirname, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const APP = process.env.ROLLCALL_APP ?? join(target, "release/rollcall-app");
const CLI = process.env.ROLLCALL_CLI ?? join(target, "release/rollcall");
const DRIVER = process.env.TAURI_DRIVER ?? "tauri-driver";
const DATASETS = process.env.ROLLCALL_DATASETS ?? join(root, "../shared/datasets");
const SHOTS = join(root, "test-output/screenshots");
const CLIP = join(DATASETS, "video_hamilton/short_hamilton_clip.mp4");

const work = mkdtempSync(join(tmpdir(), "rollcall-e2e-"));
// The app and WebKit write to the XDG folders: keep them inside the test's own folder.
const env = {
  ...process.env,
  XDG_DATA_HOME: join(work, "data"),
  XDG_CACHE_HOME: join(work, "cache"),
  XDG_CONFIG_HOME: join(work, "config"),
  HOME: work,
  ROLLCALL_LOG: "rollcall=info,rollcall_app=info",
  // The CLI signs in: its first command on a school's database creates this office account.
  ROLLCALL_USER: "office",
  ROLLCALL_PASSWORD: "office password for e2e",
};
delete env.ROLLCALL_DB;
// A desktop's user folders, as xdg-user-dirs writes them: where the app's files go by default.
mkdirSync(join(work, "config"), { recursive: true });
mkdirSync(join(work, "Documents"), { recursive: true });
writeFileSync(join(work, "config/user-dirs.dirs"), 'XDG_DOCUMENTS_DIR="$HOME/Documents"\n');
let driver;
let driverLog = "";
let browser;

function cli(db, ...args) {
  return execFileSync(CLI, ["--db", db, ...args], { env, encoding: "utf8" });
}

let schools = 0;
/** A school of its own: roster (LMM, ALC, ABS in class Stage), the two clip people enrolled with consent;
 * with `setupDone`, the first-run questions already answered (mood on). Its register is a file, or
 * the server's location `at`. Returns the database. */
function school({ setupDone, at }) {
  const dir = join(work, `school-${++schools}`);
  mkdirSync(dir);
  const db = at ?? join(dir, "rollcall.sqlite3");
  const roster = join(dir, "roster.csv");
  // The two people of the clip with a parent's consent on record; ABS without (registered by hand).
  writeFileSync(
    roster,
    "student_id,first_name,last_name,class,consent,consent_by,consent_date\n" +
      "LMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Stage,granted,A Lacamoire,2026-09-01\nABS,Absent,Student,Stage,,,\n",
  );
  cli(db, "roster", "import", roster);
  cli(db, "enroll", "LMM", join(DATASETS, "video_hamilton/reference/lin_manuel_miranda.png"));
  cli(db, "enroll", "ALC", join(DATASETS, "video_hamilton/reference/alex_lacamoire.png"));
  if (setupDone) {
    for (const [k, v] of [["school_name", "Hamilton High"], ["mood", "on"], ["setup_done", "yes"]]) cli(db, "settings", "set", k, v);
  }
  return db;
}

before(async () => {
  assert.ok(existsSync(APP), `the app is not built: ${APP} (bash scripts/test.sh builds it)`);
  assert.ok(existsSync(CLIP), `dataset missing: ${CLIP}`);
  mkdirSync(SHOTS, { recursive: true });
  driver = spawn(DRIVER, ["--native-driver", "/usr/bin/WebKitWebDriver"], { env, stdio: ["ignore", "pipe", "pipe"] });
  driver.stdout.on("data", (d) => (driverLog += d));
  driver.stderr.on("data", (d) => (driverLog += d));
  // The driver is ready when its port answers.
  for (let i = 0; i < 100; i++) {
    try {
      await fetch("http://127.0.0.1:4444/status");
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

/** Start the app on `db` in a new WebDriver session (the previous one, if any, ends first) and
 * sign in as `who` (the CLI's office account unless told). */
async function launch(db, who = { name: env.ROLLCALL_USER, password: env.ROLLCALL_PASSWORD }) {
  await start(db);
  await signIn(who);
  return browser;
}

/** Who is using Rollcall: the sign-in screen. */
async function signIn({ name, password }) {
  const form = await browser.$('form[aria-label="Sign in"]');
  await form.waitForExist({ timeout: 30_000 });
  await fill('input[name="signin-name"]', name);
  await fill('input[name="signin-password"]', password);
  await (await browser.$("#sign-in")).click();
  await form.waitForExist({ timeout: 30_000, reverse: true });
}

/** Set a field as typing would (an input event), whatever it held. WebDriver's setValue clears
 * first, but a re-render of the form in between (after a refused sign-in) can put the old text
 * back before the new is typed ("Ms SmithMs Smith" was seen). */
async function fill(selector, value) {
  await browser.execute(
    (sel, v) => {
      const el = document.querySelector(sel);
      el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    },
    selector,
    value,
  );
  assert.equal(await (await browser.$(selector)).getValue(), value, selector);
}

/** On the Live page: a video file as the camera, then *Start session*. Returns when it was
 * pressed (for the time to the first frame). */
async function startWithFile(file, { timeout = 30_000 } = {}) {
  const startButton = await browser.$("#start-session");
  await startButton.waitForExist({ timeout });
  await (await browser.$("#live-source-file")).click();
  await (await browser.$('input[name="source-file"]')).setValue(file);
  const pressed = Date.now();
  await startButton.click();
  return pressed;
}

async function start(db) {
  await browser?.deleteSession().catch(() => {});
  browser = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    connectionRetryCount: 5,
    capabilities: { "tauri:options": { application: APP, args: ["--db", db] }, "wdio:enforceWebDriverClassic": true },
  });
  return browser;
}

after(async () => {
  try {
    await browser?.deleteSession();
  } catch {}
  // SIGTERM, never SIGKILL: tauri-driver then stops WebKitWebDriver too.
  driver?.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
});

// The window as the X server shows it (ffmpeg's x11grab). Not WebDriver's screenshot: with no GPU
// the app turns WebKit's compositing off (src-tauri/src/main.rs), and WebKitWebDriver 2.50's
// snapshot then hangs on some pages.
/** How many sessions the app has ended so far (it logs each). */
const sessionsEnded = () => (driverLog.match(/session ended/g) ?? []).length;

async function shot(name) {
  await new Promise((r) => setTimeout(r, 150)); // let the last change paint
  execFileSync("ffmpeg", ["-loglevel", "error", "-y", "-f", "x11grab", "-draw_mouse", "0", "-video_size", "1280x800", "-i", process.env.DISPLAY, "-frames:v", "1", join(SHOTS, name)]);
}

async function chipOf(student) {
  const chip = await browser.$(`li[data-student="${student}"] .chip`);
  return (await chip.isExisting()) ? chip.getAttribute("data-status") : null;
}

test("first run, a live session marks both people present, reports, correction and Excel export", { timeout: 300_000 }, async () => {
  const db = school({ setupDone: false });
  const launched = Date.now();
  await launch(db);
  // First run: the setup form instead of an empty window.
  const setup = await browser.$('form[aria-label="First-run setup"]');
  await setup.waitForExist({ timeout: 30_000 });
  await shot("01-first-run.png");
  await (await browser.$('input[name="setup-school"]')).setValue("Hamilton High");
  await (await browser.$("#mood-on")).click();
  await (await browser.$("#finish-setup")).click();

  // Live: the clip as the camera.
  const clicked = await startWithFile(CLIP, { timeout: 60_000 });
  await (await browser.$('[data-testid="video"] canvas')).waitForExist({ timeout: 60_000 });
  // A figure, not a test: on a busy machine it is longer (measured in the e2e log).
  console.log(`app start to window ready + setup: ${clicked - launched} ms; start to first frame: ${Date.now() - clicked} ms`);

  await browser.waitUntil(async () => (await chipOf("LMM")) === "present" && (await chipOf("ALC")) === "present", {
    timeout: 120_000,
    interval: 250,
    timeoutMsg: "both people did not become Present",
  });
  await shot("02-live-session.png");
  // ABS has no consent on record: nobody else is marked, and the roster offers to mark them by hand.
  assert.equal(await chipOf("ABS"), null, "nobody else is marked");
  assert.ok(await (await browser.$('li[data-student="ABS"] button.mark-present')).isExisting(), "ABS is to be marked by hand");
  const stats = await (await browser.$('[data-testid="stats"]')).getText();
  console.log(`live stats while running: ${stats}`);
  const canvas = await browser.$('[data-testid="video"] canvas');
  const paintedAtMarks = Number(await canvas.getAttribute("data-painted"));
  const marksAt = Date.now();
  // The clip ends; the session closes itself.
  await (await browser.$("#start-session")).waitForExist({ timeout: 120_000 });
  const painted = Number(await canvas.getAttribute("data-painted"));
  const paintedRate = (painted - paintedAtMarks) / ((Date.now() - marksAt) / 1000);
  console.log(`live view: ${painted} pictures painted in the session, ${paintedRate.toFixed(1)}/s after both were marked`);
  assert.ok(painted > 10, `the live view hardly moved: ${painted} pictures painted`);
  // The whole clip (275 frames, 10.0 s at 29.97 fps) played as a camera: frames and rate of the session.
  await browser.waitUntil(async () => /session ended/.test(driverLog), { timeout: 30_000 });
  console.log(`session: ${driverLog.match(/session ended.*/)[0]}`);
  console.log(`webview: ${driverLog.match(/no GPU.*/)?.[0] ?? "compositing left on"}`);

  // Students.
  await (await browser.$("#tab-students")).click();
  await (await browser.$("table.table")).waitForExist({ timeout: 30_000 });
  await shot("03-students.png");
  // The photo check of the class: each student here has one reference photo, too few for the roll.
  await (await browser.$('select[aria-label="Show class"]')).selectByAttribute("value", "Stage");
  await (await browser.$("#check-photos")).click();
  const photoCheck = await browser.$('[data-testid="photo-check"]');
  await browser.waitUntil(async () => (await photoCheck.isExisting()) && /Stage: 3 student\(s\), 2 with photos \(2 photos\)/.test(await photoCheck.getText()), {
    timeout: 60_000,
    timeoutMsg: "the photo check did not report",
  });
  assert.match(await photoCheck.getText(), /LMM: 1 photo\(s\) enrolled; enrol 3-5 varied photos/);

  // Reports: the day, a correction with a reason, the export.
  await (await browser.$("#tab-reports")).click();
  const lmmRow = await browser.$('#daily-table tr[data-student="LMM"] .chip');
  await lmmRow.waitForExist({ timeout: 30_000 });
  assert.equal(await lmmRow.getAttribute("data-status"), "present");
  await (await browser.$('#daily-table tr[data-student="ABS"] button.correct')).click();
  await (await browser.$('select[name="override-status"]')).selectByAttribute("value", "excused");
  await (await browser.$('input[name="override-reason"]')).setValue("dentist appointment");
  await (await browser.$("#save-override")).click();
  await browser.waitUntil(async () => (await (await browser.$('#daily-table tr[data-student="ABS"] .chip')).getAttribute("data-status")) === "excused", {
    timeout: 30_000,
    timeoutMsg: "the correction did not show",
  });
  const out = join(work, "stage-export.xlsx");
  const exportPath = await browser.$('input[name="export-path"]');
  await exportPath.waitForExist({ timeout: 30_000 });
  // Unless told otherwise, an export goes to the Documents folder (never beside the database).
  await browser.waitUntil(async () => /\.xlsx$/.test(await exportPath.getValue()), { timeout: 30_000, timeoutMsg: "no default export path" });
  assert.match(await exportPath.getValue(), /\/Documents\/Attendance_Stage_/);
  await exportPath.setValue(out);
  await (await browser.$("#export")).click();
  await (await browser.$('[data-testid="export-result"]')).waitForExist({ timeout: 60_000 });
  await shot("04-reports.png");

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(out);
  const names = wb.worksheets.map((w) => w.name);
  for (const sheet of ["Summary", "Attendance grid", "Daily detail", "Mood"]) {
    assert.ok(names.includes(sheet), `sheet ${sheet} missing from ${names}`);
  }
  const cells = [];
  wb.getWorksheet("Attendance grid").eachRow((row) => cells.push(row.values.filter((v) => v !== undefined && v !== null).map(String)));
  const codeOf = (id) => cells.find((r) => r[0] === id)?.at(-1);
  assert.equal(codeOf("LMM"), "P", JSON.stringify(cells));
  assert.equal(codeOf("ALC"), "P", JSON.stringify(cells));
  assert.equal(codeOf("ABS"), "E", "the correction is in the export");

  // Settings: a backup now, and the daily automatic backup (its first one is written at once).
  await (await browser.$("#tab-settings")).click();
  await (await browser.$('[data-testid="database"]')).waitForExist({ timeout: 30_000 });
  const backupFile = join(work, "stage-now.rollcall-backup");
  const backupFolder = join(work, "auto-backups");
  const passphrase = "correct horse battery staple";
  await (await browser.$('input[name="backup-passphrase"]')).setValue(passphrase);
  await (await browser.$('input[name="backup-passphrase-again"]')).setValue(passphrase);
  const backupPath = await browser.$('input[name="backup-path"]');
  await browser.waitUntil(async () => /rollcall-.*\.rollcall-backup$/.test(await backupPath.getValue()), { timeout: 30_000, timeoutMsg: "no default backup path" });
  assert.match(await backupPath.getValue(), /Documents/, "a backup goes to Documents unless told otherwise");
  await backupPath.setValue(backupFile);
  await (await browser.$("#backup-now")).click();
  const result = await browser.$('[data-testid="backup-result"]');
  await browser.waitUntil(async () => (await result.isExisting()) && /Backup written/.test(await result.getText()), { timeout: 60_000, timeoutMsg: "the backup was not written" });
  await (await browser.$('input[name="backup-folder"]')).setValue(backupFolder);
  await (await browser.$("#save-auto-backup")).click();
  await browser.waitUntil(async () => /First backup: .*rollcall-auto-/.test(await result.getText()), { timeout: 60_000, timeoutMsg: "the automatic backup was not set up" });
  await shot("05-settings.png");
  // About this installation: the self-test's report, run inside the app.
  await (await browser.$("#self-test")).click();
  const report = await browser.$('[data-testid="self-test-report"]');
  await browser.waitUntil(async () => (await report.isExisting()) && /checks/.test(await report.getText()), { timeout: 90_000, timeoutMsg: "the self-test did not report" });
  assert.match(await report.getText(), /All 7 checks passed/, await report.getText());
  await browser.execute(() => document.querySelector('[data-testid="self-test-report"]')?.scrollIntoView({ block: "end" }));
  await shot("11-about-installation.png");
  const backupEnv = { ...env, ROLLCALL_BACKUP_PASSPHRASE: passphrase };
  const checked = JSON.parse(execFileSync(CLI, ["--db", db, "--json", "restore", "--check", backupFile], { env: backupEnv, encoding: "utf8" }));
  assert.equal(checked.contents.students, 3);
  const auto = readdirSync(backupFolder).filter((f) => f.startsWith("rollcall-auto-"));
  assert.equal(auto.length, 1, String(auto));
  JSON.parse(execFileSync(CLI, ["--db", db, "--json", "restore", "--check", join(backupFolder, auto[0])], { env: backupEnv, encoding: "utf8" }));
});

test("a teacher account: Live and Reports for the classes it teaches, and the backend refuses the rest", { timeout: 180_000 }, async () => {
  const db = school({ setupDone: true });
  const band = join(work, "band.csv");
  writeFileSync(band, "student_id,first_name,last_name,class\nBND,Brass,Player,Band\n");
  cli(db, "roster", "import", band);
  const teacher = { name: "Ms Smith", password: "teacher password e2e" };
  execFileSync(CLI, ["--db", db, "account", "add", teacher.name, "--role", "teacher", "--class", "Stage"], { env: { ...env, ROLLCALL_NEW_PASSWORD: teacher.password } });
  await start(db);
  // A wrong password is refused with a sentence; the right one signs in.
  await (await browser.$('input[name="signin-name"]')).waitForExist({ timeout: 30_000 });
  await (await browser.$('input[name="signin-name"]')).setValue(teacher.name);
  await (await browser.$('input[name="signin-password"]')).setValue("not the password");
  await (await browser.$("#sign-in")).click();
  const refusedSignIn = await browser.$('form[aria-label="Sign in"] .notice-error');
  await refusedSignIn.waitForExist({ timeout: 30_000 });
  assert.match(await refusedSignIn.getText(), /wrong password/);
  await signIn(teacher);
  const who = await browser.$("#signed-in-as");
  await who.waitForExist({ timeout: 30_000 });
  assert.match(await who.getText(), /Ms Smith \(teacher: Stage\)/);
  const tabs = await browser.execute(() => [...document.querySelectorAll('[role="tab"]')].map((t) => t.textContent));
  assert.deepEqual(tabs, ["Live", "Reports", "Timetable"], "a teacher has no Students, Privacy or Settings page (and sees the timetable of their classes)");
  const classes = await browser.execute(() => [...document.querySelectorAll('select[name="class"] option')].map((o) => o.textContent));
  assert.deepEqual(classes, ["Stage"], "a teacher sees only the classes taught");
  await shot("12-teacher.png");

  // What the UI leaves out, the backend refuses too (the same rule as the CLI's).
  const invoke = (cmd, args) =>
    browser.executeAsync((cmd, args, done) => window.__TAURI_INTERNALS__.invoke(cmd, args).then(() => done({ code: "allowed" }), (e) => done(e)), cmd, args);
  for (const [cmd, args, why] of [
    ["delete_student", { studentId: "LMM" }, /only an office account may delete students/],
    ["enrol_photos", { studentId: "LMM", photos: [] }, /only an office account may enrol students/],
    ["save_settings", { settings: { mood: "off" } }, /only an office account may change settings/],
    ["report_daily", { class: "Band", date: "today" }, /class Band is not one of them/],
    ["export_xlsx", { class: "Band", from: "today", to: "today", path: join(work, "band.xlsx") }, /class Band is not one of them/],
    ["report_history", { studentId: "BND", from: "today", to: "today" }, /does not teach student BND/],
  ]) {
    const r = await invoke(cmd, args);
    assert.equal(r.code, "refused", `${cmd}: ${JSON.stringify(r)}`);
    assert.match(r.message, why, cmd);
  }
  assert.ok(!existsSync(join(work, "band.xlsx")));

  // Their own class: the report, and a correction recorded under their name.
  await (await browser.$("#tab-reports")).click();
  await (await browser.$('#daily-table tr[data-student="ABS"] button.correct')).click();
  await (await browser.$('select[name="override-status"]')).selectByAttribute("value", "excused");
  await (await browser.$('input[name="override-reason"]')).setValue("school trip");
  await (await browser.$("#save-override")).click();
  await browser.waitUntil(async () => (await (await browser.$('#daily-table tr[data-student="ABS"] .chip')).getAttribute("data-status")) === "excused", {
    timeout: 30_000,
    timeoutMsg: "the teacher's correction did not show",
  });
  await (await browser.$("#sign-out")).click();
  await (await browser.$('form[aria-label="Sign in"]')).waitForExist({ timeout: 30_000 });
  const audit = JSON.parse(cli(db, "--json", "audit")).audit;
  for (const action of ["sign_in_failed", "sign_in", "override_status", "sign_out"]) {
    assert.ok(audit.some((e) => e.action === action && e.actor === teacher.name), `${action} by ${teacher.name}: ${JSON.stringify(audit)}`);
  }
});

/** Capture in the enrolment dialog once a picture is judged usable; the verdict it adds. */
async function capture(dialog) {
  for (let unanswered = 0; ; unanswered++) {
    const button = await dialog.$("button=Capture");
    // Enabled when a verdict says a picture is usable: that is the event waited for.
    await button.waitForEnabled({ timeout: 120_000, timeoutMsg: "the preview never judged a picture usable" });
    await button.scrollIntoView({ block: "center" });
    // WebKitWebDriver's pointer click has twice landed outside the button in CI ("move target out
    // of bounds"); after one unanswered click, the next is the element's own click().
    const before = (await dialog.$$("ul.verdicts li")).length;
    if (unanswered === 0) await button.click();
    else await browser.execute((b) => b.click(), button);
    const answered = await browser
      .waitUntil(async () => (await dialog.$$("ul.verdicts li")).length > before, { timeout: 30_000 })
      .then(() => true)
      .catch(() => false);
    if (answered) {
      const all = await dialog.$$("ul.verdicts li");
      return all[all.length - 1].getText();
    }
    const shown = await browser.execute(() => document.querySelector('[role="dialog"] .notice-error')?.textContent ?? "no error shown");
    console.log(`no verdict 30 s after Capture (${shown}): clicking again`);
    assert.ok(unanswered < 2, `no verdict after Capture, three times: ${shown}\n${driverLog.slice(-3000).replace(/.*WARN.*\n/g, "")}`);
  }
}

test("enrolment with the camera: a live verdict, Capture enrols the picture judged usable", { timeout: 240_000 }, async () => {
  await launch(school({ setupDone: true }));
  await (await browser.$("#tab-students")).click();
  await (await browser.$("table.table")).waitForExist({ timeout: 30_000 });
  // Enrolment with the camera (the clip stands in for it; the preview loops it): a live verdict
  // on each picture, Capture enabled only on a usable one, and the photo count goes up.
  const photosOf = async (id) => (await browser.$(`table.table tr[data-student="${id}"] td.photos`)).getText();
  assert.equal(await photosOf("LMM"), "1");
  await (await browser.$('table.table tr[data-student="LMM"] button.enrol')).click();
  const dialog = await browser.$('[role="dialog"]');
  await dialog.waitForExist({ timeout: 30_000 });
  await (await dialog.$("#enrol-source-file")).click();
  await (await dialog.$('input[name="source-file"]')).setValue(CLIP);
  await (await dialog.$("button=Start camera")).click();
  await (await dialog.$('[data-testid="video"] canvas')).waitForExist({ timeout: 30_000 });
  let enrolled = false;
  for (let attempt = 0; attempt < 8 && !enrolled; attempt++) {
    const last = await capture(dialog);
    console.log(`camera enrolment: ${last}`);
    enrolled = /: enrolled/.test(last);
    if (!enrolled) console.log(driverLog.slice(-2000));
  }
  assert.ok(enrolled, "no capture was enrolled");
  await shot("06-enrol-camera.png");
  await (await dialog.$("button=Done")).click();
  await browser.waitUntil(async () => (await photosOf("LMM")) === "2", { timeout: 30_000, timeoutMsg: "the photo count did not go up" });

});

test("consent: the camera cannot enrol a student without it; the editor records it; a student is marked by hand; the privacy page", { timeout: 240_000 }, async () => {
  const db = school({ setupDone: true });
  await launch(db);
  await (await browser.$("#tab-students")).click();
  await (await browser.$("table.table")).waitForExist({ timeout: 30_000 });
  const consentOf = async (id) => (await browser.$(`table.table tr[data-student="${id}"] td.consent .chip`)).getAttribute("data-consent");
  assert.equal(await consentOf("ABS"), "none");
  assert.equal(await consentOf("LMM"), "granted");

  // The camera flow for ABS: a usable picture, Capture, and the backend refuses it, naming why.
  await (await browser.$('table.table tr[data-student="ABS"] button.enrol')).click();
  const dialog = await browser.$('[role="dialog"]');
  await dialog.waitForExist({ timeout: 30_000 });
  await (await dialog.$('[data-testid="enrol-consent"]')).waitForExist({ timeout: 10_000 });
  await (await dialog.$("#enrol-source-file")).click();
  await (await dialog.$('input[name="source-file"]')).setValue(CLIP);
  await (await dialog.$("button=Start camera")).click();
  const refusal = await capture(dialog);
  assert.match(refusal, /^Not enrolled: no consent on record for ABS \(Absent Student\)/);
  await (await dialog.$("button=Stop camera")).click().catch(() => {});
  await (await dialog.$("button=Done")).click();
  const photosOf = async (id) => (await browser.$(`table.table tr[data-student="${id}"] td.photos`)).getText();
  assert.equal(await photosOf("ABS"), "not enrolled");

  // The consent editor: record a parent's consent; the history shows it.
  await (await browser.$('table.table tr[data-student="ABS"] button.edit-consent')).click();
  const editor = await browser.$('[aria-label="Consent of Absent Student"]');
  await editor.waitForExist({ timeout: 30_000 });
  await (await editor.$('input[name="consent-by"]')).setValue("Ada Student");
  await (await editor.$("#save-consent")).click();
  await (await editor.$('[data-testid="consent-result"]')).waitForExist({ timeout: 30_000 });
  await browser.waitUntil(async () => (await editor.$$(".consent-history tbody tr td")).length > 1, { timeout: 30_000, timeoutMsg: "the history did not show the event" });
  assert.match(await (await editor.$(".consent-history tbody")).getText(), /Consent given\s*Ada Student \(mother\)/);
  await shot("08-consent.png");
  await (await editor.$("button=Done")).click();
  await browser.waitUntil(async () => (await consentOf("ABS")) === "granted", { timeout: 30_000, timeoutMsg: "the consent column did not change" });

  // Live: ABS has no face enrolled, so a person marks them, with one click.
  await (await browser.$("#tab-live")).click();
  const byHand = await browser.$('[data-testid="to-mark-by-hand"]');
  await byHand.waitForExist({ timeout: 30_000 });
  assert.match(await byHand.getText(), /1 to mark by hand/);
  await (await browser.$('li[data-student="ABS"] button.mark-present')).click();
  await browser.waitUntil(async () => (await chipOf("ABS")) === "present", { timeout: 30_000, timeoutMsg: "the mark by hand did not show" });
  assert.equal(await byHand.isExisting(), false, "nobody is left to mark by hand");
  await shot("09-live-by-hand.png");

  // Reports say how each mark was made.
  await (await browser.$("#tab-reports")).click();
  const how = await browser.$('#daily-table tr[data-student="ABS"] td.how');
  await how.waitForExist({ timeout: 30_000 });
  assert.equal(await how.getText(), "by hand");

  // Privacy: the report from the live data, what retention has due, a student's data export.
  await (await browser.$("#tab-privacy")).click();
  const report = await browser.$('[data-testid="privacy-report"]');
  await report.waitForExist({ timeout: 30_000 });
  const reportText = await report.getText();
  assert.match(reportText, /Privacy report: Hamilton High/);
  assert.match(reportText, /Retention in force/);
  await (await browser.$('[data-testid="purge-due"]')).waitUntil(async function () {
    return (await this.getText()) !== "Checking…";
  }, { timeout: 30_000 });
  await shot("10-privacy.png");
  const out = join(work, "abs-export.json");
  await (await browser.$('select[name="export-student"]')).selectByAttribute("value", "ABS");
  const path = await browser.$('input[name="export-student-path"]');
  await browser.waitUntil(async () => /ABS/.test(await path.getValue()), { timeout: 30_000 });
  await path.setValue(out);
  await (await browser.$("#export-student")).click();
  await (await browser.$('[data-testid="privacy-result"]')).waitForExist({ timeout: 30_000 });
  const exported = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(exported.student.student_id, "ABS");
  assert.equal(exported.consent_state, "granted");
  assert.equal(exported.marks[0].how, "by hand");
  // The app applied the retention settings by itself when it started (audited, counts only).
  const audit = JSON.parse(cli(db, "--json", "audit")).audit;
  assert.ok(audit.some((e) => e.action === "purge" && e.actor === "Rollcall (retention schedule)"), JSON.stringify(audit));
});

test("the timetable: the office checks and imports the week, then changes, adds and removes a lesson; a day of two lessons is two registers", { timeout: 240_000 }, async () => {
  const db = school({ setupDone: true });
  // Two lessons of Stage today, each its own register (the CLI takes their roll on the clip).
  for (const start of ["00:00", "00:05"]) cli(db, "run", "--class", "Stage", "--start", start, "--max-frames", "90", "--source", CLIP);
  const day = new Date().toLocaleDateString("en-GB", { weekday: "long" });
  const week = join(work, "week.csv");
  writeFileSync(week, `class,weekday,start,end,room,camera\nStage,${day},00:00,00:04,Hall,${CLIP}\nStage,${day},00:05,00:09,Hall,${CLIP}\n`);
  await launch(db);

  await (await browser.$("#tab-timetable")).click();
  await (await browser.$('input[name="timetable-path"]')).setValue(week);
  await (await browser.$("#timetable-check")).click();
  const check = await browser.$('[data-testid="timetable-check"]');
  await check.waitForExist({ timeout: 30_000 });
  assert.match(await check.getText(), /2 lesson\(s\) a week for Stage: 2 to add, 0 to remove/);
  await (await browser.$("#timetable-import")).click();
  const result = await browser.$('[data-testid="timetable-result"]');
  await result.waitForExist({ timeout: 30_000 });
  assert.match(await result.getText(), /Imported: 2 lesson\(s\) added/);
  await browser.waitUntil(async () => (await browser.$$('table[data-day] tr[data-class="Stage"]')).length === 2, { timeout: 30_000, timeoutMsg: "the week did not show the lessons" });
  assert.equal(JSON.parse(cli(db, "--json", "timetable")).lessons.length, 2);
  await shot("13-timetable.png");

  // Reports: each lesson's register; a correction in the second changes only the second.
  await (await browser.$("#tab-reports")).click();
  const second = await browser.$('#daily-table-0005 tr[data-student="ABS"] button.correct');
  await second.waitForExist({ timeout: 30_000 });
  assert.match(await (await browser.$('[data-testid="day-counts"]')).getText(), /The day: .* absent/);
  await second.click();
  await (await browser.$('input[name="override-reason"]')).setValue("dentist");
  await (await browser.$("#save-override")).click();
  const chip = (t) => browser.$(`#daily-table-${t} tr[data-student="ABS"] .chip`);
  await browser.waitUntil(async () => (await (await chip("0005")).getAttribute("data-status")) === "excused", { timeout: 30_000, timeoutMsg: "the correction did not show" });
  assert.equal(await (await chip("0000")).getAttribute("data-status"), "absent", "the first lesson keeps its own register");
  await shot("14-reports-lessons.png");
  const report = JSON.parse(cli(db, "--json", "report", "--class", "Stage", "--date", "today"));
  assert.deepEqual(report.lessons.map((l) => [l.lesson, l.ends, l.students.find((s) => s.student_id === "ABS").status]), [["00:00", "00:04", "absent"], ["00:05", "00:09", "excused"]]);

  // One lesson at a time: the office moves the second lesson to another room, is refused a
  // lesson overlapping the first (the core's reason shown), adds one after, then removes it.
  await (await browser.$("#tab-timetable")).click();
  const rows = () => browser.$$('table[data-day] tr[data-class="Stage"]');
  await browser.waitUntil(async () => (await rows()).length === 2, { timeout: 30_000, timeoutMsg: "the week did not show" });
  await (await (await rows())[1].$("button.lesson-edit")).click();
  await (await browser.$('[data-testid="lesson-editor"]')).waitForExist({ timeout: 30_000 });
  await fill('input[name="lesson-room"]', "Studio");
  await (await browser.$("#lesson-save")).click();
  const edited = await browser.$('[data-testid="timetable-edited"]');
  await edited.waitForExist({ timeout: 30_000 });
  assert.match(await edited.getText(), /Changed: Stage \w+ 00:05–00:09 room Studio/);
  await (await browser.$("#lesson-add")).click();
  await (await browser.$('select[name="lesson-class"]')).selectByAttribute("value", "Stage");
  await (await browser.$('select[name="lesson-weekday"]')).selectByAttribute("value", day.slice(0, 3));
  await fill('input[name="lesson-from"]', "00:03");
  await fill('input[name="lesson-to"]', "00:06");
  await (await browser.$("#lesson-save")).click();
  const refusal = await browser.$('[data-testid="lesson-editor"] .notice-error');
  await refusal.waitForExist({ timeout: 30_000 });
  assert.match(await refusal.getText(), /Stage \w+ 00:03-00:06 overlaps Stage \w+ 00:00-00:04.*nothing was changed/);
  await fill('input[name="lesson-from"]', "00:10");
  await fill('input[name="lesson-to"]', "00:14");
  await shot("16-timetable-edit.png");
  await (await browser.$("#lesson-save")).click();
  await browser.waitUntil(async () => /Added: Stage \w+ 00:10–00:14/.test(await (await browser.$('[data-testid="timetable-edited"]')).getText().catch(() => "")), {
    timeout: 30_000,
    timeoutMsg: "the added lesson was not confirmed",
  });
  await browser.waitUntil(async () => (await rows()).length === 3, { timeout: 30_000, timeoutMsg: "the added lesson did not show" });
  await (await (await rows())[2].$("button.lesson-remove")).click();
  await (await browser.$("button.lesson-remove-confirm")).click();
  await browser.waitUntil(async () => (await rows()).length === 2, { timeout: 30_000, timeoutMsg: "the removed lesson still shows" });
  const week_ = JSON.parse(cli(db, "--json", "timetable")).lessons;
  assert.deepEqual(week_.map((l) => [l.start, l.end, l.room]), [["00:00", "00:04", "Hall"], ["00:05", "00:09", "Studio"]]);
});

test("closing the window mid-session ends the session cleanly with its marks saved", { timeout: 180_000 }, async () => {
  const db = school({ setupDone: true });
  cli(db, "override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "excused", "--reason", "dentist");
  await launch(db);
  const ended = sessionsEnded();
  await startWithFile(CLIP);
  await (await browser.$("#stop-session")).waitForExist({
    timeout: 30_000,
    timeoutMsg: `the session did not start: ${await browser.execute(() => document.querySelector(".notice-error")?.textContent ?? "no error shown")}`,
  });
  // Mid-session: once both are marked (and before the clip ends).
  await browser.waitUntil(async () => (await chipOf("LMM")) === "present" && (await chipOf("ALC")) === "present", {
    timeout: 120_000,
    interval: 250,
    timeoutMsg: "both people did not become Present",
  });
  // Close the window as its close button does (Tauri's window API). Not WebDriver's closeWindow:
  // that ends the WebDriver session, and the driver then kills the app outright.
  // Closed a moment later, so that this WebDriver call gets its answer from a window that still exists.
  await browser.execute(() => {
    setTimeout(() => window.__TAURI_INTERNALS__.invoke("plugin:window|close", { label: "main" }), 300);
  });
  for (let i = 0; i < 120 && sessionsEnded() === ended; i++) await new Promise((r) => setTimeout(r, 500));
  assert.ok(sessionsEnded() > ended, `the app did not close its session:\n${driverLog.slice(-3000)}`);
  console.log(`closed mid-session: ${driverLog.match(/session ended.*/g).at(-1)}`);
  const report = JSON.parse(cli(db, "--json", "report", "--class", "Stage", "--date", "today"));
  assert.equal(report.lessons.length, 1, "one lesson that day");
  const status = (id) => report.lessons[0].students.find((s) => s.student_id === id).status;
  assert.equal(status("LMM"), "present");
  assert.equal(status("ALC"), "present");
  assert.equal(status("ABS"), "excused");
});

test("a photo held up as the camera: the live view labels the face, the log says so, the report flags the mark", { timeout: 180_000 }, async () => {
  const db = school({ setupDone: true });
  cli(db, "settings", "set", "liveness", "warn");
  // The reference photo of LMM turned into 8 s of video at 10 fps (as tests/liveness.rs does):
  // a picture fed to the app as its camera.
  const photo = join(work, "photo-as-camera.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-loop", "1", "-i", join(DATASETS, "video_hamilton/reference/lin_manuel_miranda.png"),
    "-t", "8", "-r", "10", "-vf", "scale=320:-2,pad=640:480:(ow-iw)/2:(oh-ih)/2", "-pix_fmt", "yuv420p", "-c:v", "libx264", photo]);
  await launch(db);
  await startWithFile(photo);
  // On the face, while the session runs: the red label.
  const labelled = () =>
    browser.execute(() => [...document.querySelectorAll('[data-testid="video"] svg text')].some((t) => t.textContent.startsWith("possible photo or screen held up")));
  await browser.waitUntil(labelled, { timeout: 90_000, interval: 100, timeoutMsg: "the face was not labelled as a photo or screen" });
  await shot("09-photo-held-up.png");
  const log = await browser.$("ol.event-log li.spoof");
  await log.waitForExist({ timeout: 30_000 });
  assert.match(await log.getText(), /looking like Lin-Manuel Miranda: marked, flagged for review/);
  // The class list beside it: present, to be checked.
  await (await browser.$('li[data-student="LMM"] .review')).waitForExist({ timeout: 30_000 });
  // Warn mode marks; the day's register says the mark is to be checked.
  await (await browser.$("#start-session")).waitForExist({ timeout: 60_000 });
  await (await browser.$("#tab-reports")).click();
  const flag = await browser.$('#daily-table tr[data-student="LMM"] .review');
  await flag.waitForExist({ timeout: 30_000 });
  assert.match(await flag.getText(), /check: possible photo or screen/);
  assert.equal(await (await browser.$('#daily-table tr[data-student="ALC"] .review')).isExisting(), false);
});

test("Settings move the register to the school's server: the session's marks are there, the PC's file gains none", { timeout: 240_000 }, async (t) => {
  const admin = process.env.ROLLCALL_TEST_POSTGRES;
  if (!admin) return t.skip("ROLLCALL_TEST_POSTGRES not set (scripts/test.sh starts a throw-away server)");
  // A school of the district database: prepared by its IT, roster and enrolments by the office (CLI).
  const name = `e2e_${process.pid}`;
  execFileSync(CLI, ["--school", name, "server", "prepare", admin], { env, encoding: "utf8" });
  const onServer = `${admin}?school=${name}`;
  school({ setupDone: true, at: onServer });
  const file = school({ setupDone: true });
  await launch(file);
  await (await browser.$("#tab-settings")).click();
  await (await browser.$("summary=Use the school's server (PostgreSQL)…")).click();
  // The address as IT gives it, the password typed apart (the app keeps it in a password file).
  const url = new URL(admin);
  const password = decodeURIComponent(url.password);
  url.password = "";
  await fill('input[name="server-address"]', url.toString());
  await fill('input[name="server-school"]', name);
  await fill('input[name="server-password"]', password);
  await (await browser.$("button=Use the server")).click();
  // Accounts are the server's: the app asks who is using it again.
  await signIn({ name: env.ROLLCALL_USER, password: env.ROLLCALL_PASSWORD });
  const where = join(work, "config/org.rollcall.desktop/register-server.txt");
  await browser.waitUntil(async () => existsSync(where), { timeout: 10_000, timeoutMsg: `the choice was not remembered in ${where}` });
  const remembered = readFileSync(where, "utf8");
  assert.ok(remembered.includes(`school=${name}`) && !remembered.includes(password), `remembered: ${remembered}`);
  await (await browser.$("#tab-live")).click();
  await startWithFile(CLIP);
  await browser
    .waitUntil(async () => (await chipOf("LMM")) === "present" && (await chipOf("ALC")) === "present", { timeout: 120_000, interval: 250 })
    .catch(async (e) => {
      await shot("10-on-the-server-failed.png");
      const shown = await browser.execute(() => document.querySelector("main")?.innerText ?? "");
      throw new Error(`both people did not become Present (${e.message}); the page: ${shown}\napp log:\n${driverLog.slice(-4000)}`);
    });
  await shot("10-on-the-server.png");
  await (await browser.$("#start-session")).waitForExist({ timeout: 120_000 });
  const report = JSON.parse(cli(onServer, "--json", "report", "--class", "Stage", "--date", "today"));
  const status = (id) => report.lessons[0].students.find((s) => s.student_id === id).status;
  assert.deepEqual([status("LMM"), status("ALC")], ["present", "present"], "the marks are on the server");
  const onFile = JSON.parse(cli(file, "--json", "report", "--class", "Stage", "--date", "today"));
  assert.deepEqual(onFile.lessons.flatMap((l) => l.students.filter((s) => s.status === "present").map((s) => s.student_id)), [], "nobody is present in the PC's file");
});

test("a network camera that drops out mid-session: the live view says so, reconnects, and goes on", { timeout: 180_000 }, async () => {
  const port = 18500 + (process.pid % 400);
  const url = `http://127.0.0.1:${port}/cam`;
  // An IP camera: the clip as a live MJPEG stream over HTTP (one client), as in tests/attendance.rs.
  const camera = () =>
    spawn("ffmpeg", ["-hide_banner", "-loglevel", "quiet", "-re", "-stream_loop", "-1", "-i", CLIP, "-an", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1", url], {
      stdio: "ignore",
    });
  let cam = camera();
  try {
    await launch(school({ setupDone: true }));
    await (await browser.$("#start-session")).waitForExist({ timeout: 30_000 });
    await (await browser.$("#live-source-url")).click();
    await (await browser.$('input[name="source-url"]')).setValue(url);
    await (await browser.$("#start-session")).click();
    const canvas = await browser.$('[data-testid="video"] canvas');
    await canvas.waitForExist({ timeout: 60_000 });
    const painted = async () => Number((await canvas.getAttribute("data-painted")) ?? 0);
    await browser.waitUntil(async () => (await painted()) > 5, { timeout: 60_000, timeoutMsg: "no pictures from the stream" });

    // Unplugged.
    cam.kill("SIGKILL");
    const lost = await browser.$('[data-testid="source-lost"]');
    await lost.waitForExist({ timeout: 60_000, timeoutMsg: "the live view did not say the camera was lost" });
    console.log(`camera lost: ${await lost.getText()}`);
    await shot("07-camera-lost.png");
    assert.ok(await browser.$("#stop-session").isExisting(), "the session must go on while the camera is away");

    // Plugged back in: the banner goes and pictures flow again.
    cam = camera();
    await lost.waitForExist({ reverse: true, timeout: 40_000, timeoutMsg: "the live view did not come back" });
    const before = await painted();
    await browser.waitUntil(async () => (await painted()) > before + 5, { timeout: 60_000, timeoutMsg: "no pictures after the reconnect" });
    const ended = sessionsEnded();
    await (await browser.$("#stop-session")).click();
    await (await browser.$("#start-session")).waitForExist({ timeout: 60_000 });
    await browser.waitUntil(async () => sessionsEnded() > ended, { timeout: 30_000, timeoutMsg: "the session did not end" });
    console.log(`after the outage: ${driverLog.match(/session ended.*/g).at(-1)}`);
  } finally {
    cam.kill("SIGKILL");
  }
});

test("three rooms at once: two started by hand, one by the timetable; each marks its own class", { timeout: 300_000 }, async () => {
  const db = school({ setupDone: true });
  // Students in several classes: LMM also in Band, ALC also in Choir.
  const roster = join(work, "three-rooms.csv");
  writeFileSync(
    roster,
    "student_id,first_name,last_name,class,consent,consent_by,consent_date\n" +
      "LMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Stage,granted,A Lacamoire,2026-09-01\nABS,Absent,Student,Stage,,,\n" +
      "LMM,Lin-Manuel,Miranda,Band,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Choir,granted,A Lacamoire,2026-09-01\n",
  );
  cli(db, "roster", "import", roster);
  // Each room's camera: the clip three times over (40 s), long enough to see all three at once.
  const looped = join(work, "hamilton-x4.mp4");
  if (!existsSync(looped)) execFileSync("ffmpeg", ["-loglevel", "error", "-y", "-stream_loop", "3", "-i", CLIP, "-c", "copy", looped]);
  // Choir has a lesson on now, on its camera: the app's scheduler starts it once it is switched on.
  const now = new Date();
  const hhmm = (d) => `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  const from = new Date(Math.max(now.getTime() - 60_000, new Date(now).setHours(0, 0, 0, 0)));
  const to = new Date(Math.min(now.getTime() + 30 * 60_000, new Date(now).setHours(23, 59, 0, 0)));
  const day = now.toLocaleDateString("en-GB", { weekday: "long" });
  const week = join(work, "choir-week.csv");
  writeFileSync(week, `class,weekday,start,end,room,camera\nChoir,${day},${hhmm(from)},${hhmm(to)},Music room,${looped}\n`);
  cli(db, "timetable", "import", week);
  await launch(db);
  const ended = sessionsEnded();

  // Two rooms by hand: Stage, then Band ("Another room…").
  const startRoom = async (klass) => {
    const button = await browser.$("#start-session");
    await button.waitForExist({ timeout: 60_000 });
    await (await browser.$('select[name="class"]')).selectByAttribute("value", klass);
    await (await browser.$("#live-source-file")).click();
    // The field keeps the last room's file: set it as typing would (setValue appended to it once).
    await fill('input[name="source-file"]', looped);
    await button.click();
    await (await browser.$("#stop-session")).waitForExist({
      timeout: 60_000,
      timeoutMsg: `${klass}'s room did not start: ${await browser.execute(() => document.querySelector(".notice-error")?.textContent ?? "no error shown")}`,
    });
  };
  await startRoom("Stage");
  await (await browser.$("#new-room")).click();
  await startRoom("Band");

  // The third by the timetable: the office switches it on.
  await (await browser.$("#tab-timetable")).click();
  const automatic = await browser.$("#timetable-sessions");
  await automatic.waitForExist({ timeout: 30_000 });
  assert.equal(await automatic.isSelected(), false, "off until the office turns it on");
  await automatic.click();
  await browser.waitUntil(async () => JSON.parse(cli(db, "--json", "settings")).timetable_sessions === "on", { timeout: 30_000, timeoutMsg: "the setting was not saved" });
  await (await browser.$("#tab-live")).click();

  // The grid: the room shown large and the two others, each with pictures and its own figures.
  await browser.waitUntil(async () => (await browser.$$(".room-grid .room-tile")).length === 2, {
    timeout: 60_000,
    timeoutMsg: `three rooms did not run at once: ${await browser.execute(() => document.querySelector(".live")?.textContent)}`,
  });
  await browser.waitUntil(async () => (await browser.$$('.room-tile [data-testid="room-video"] canvas')).length === 2, { timeout: 60_000, timeoutMsg: "the small rooms show no picture" });
  const rooms = await browser.execute(() => [document.querySelector('[data-testid="room-name"]')?.textContent, ...[...document.querySelectorAll(".room-tile .room-caption")].map((c) => c.textContent)]);
  console.log(`rooms: ${rooms.join(" | ")}`);
  await shot("15-three-rooms.png");
  // The app's memory with three rooms (the process the driver started with this database).
  const pid = execFileSync("pgrep", ["-n", "-f", `${APP} --db ${db}`], { encoding: "utf8" }).trim();
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  console.log(`app memory with three rooms: ${status.match(/VmRSS:.*/)[0].replace(/\s+/g, " ")}, peak ${status.match(/VmHWM:.*/)[0].replace(/\s+/g, " ")}`);

  // A small room shown large: its roster is its class's.
  await (await browser.$('.room-tile[data-room^="Choir"] .room-focus')).click();
  await browser.waitUntil(async () => /Choir/.test(await (await browser.$('[data-testid="room-name"]')).getText()), { timeout: 30_000 });
  await browser.waitUntil(async () => (await chipOf("ALC")) === "present", { timeout: 120_000, interval: 500, timeoutMsg: "ALC was not marked in Choir" });

  // Every room ends with its clip; each class's register has its own marks.
  await browser.waitUntil(async () => sessionsEnded() >= ended + 3, { timeout: 150_000, interval: 1000, timeoutMsg: `the three sessions did not end:\n${driverLog.slice(-3000)}` });
  for (const line of driverLog.match(/session ended.*/g).slice(-3)) console.log(`room: ${line}`);
  const status_ = (klass, id) => {
    const r = JSON.parse(cli(db, "--json", "report", "--class", klass, "--date", "today"));
    return r.lessons.flatMap((l) => l.students.filter((s) => s.student_id === id).map((s) => `${l.lesson} ${s.status}`));
  };
  assert.deepEqual(status_("Stage", "LMM").map((s) => s.split(" ")[1]), ["present"]);
  assert.deepEqual(status_("Stage", "ALC").map((s) => s.split(" ")[1]), ["present"]);
  assert.deepEqual(status_("Band", "LMM").map((s) => s.split(" ")[1]), ["present"]);
  assert.deepEqual(status_("Choir", "ALC"), [`${hhmm(from)} present`], "the timetable's lesson, by its start");
});
