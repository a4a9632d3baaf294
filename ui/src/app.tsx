// The window: first-run setup (which creates the first office account), the sign-in screen, then
// the pages the signed-in account may use behind a tab bar (Alt+1-6 switch pages). An office
// account sees every page; a teacher account sees Live and Reports for the classes it teaches
// (the backend refuses the rest anyway: this only leaves out what would be refused).
import { useEffect, useState } from "preact/hooks";
import { api, errorText, SIGNED_OUT_EVENT, type Account, type AppInfo, type ClassInfo } from "./api";
import { Notice } from "./components/common";
import { LivePage } from "./pages/live";
import { PrivacyPage } from "./pages/privacy";
import { ReportsPage } from "./pages/reports";
import { SettingsPage, SetupPage } from "./pages/settings";
import { SignInPage } from "./pages/signin";
import { StudentsPage } from "./pages/students";
import { TimetablePage } from "./pages/timetable";

const PAGES = [
  ["live", "Live", false],
  ["students", "Students", true],
  ["reports", "Reports", false],
  ["timetable", "Timetable", false],
  ["privacy", "Privacy", true],
  ["settings", "Settings", true],
] as const;
type Page = (typeof PAGES)[number][0];

/** What counts as someone using the app, for the idle lock. */
const ACTIVITY = ["mousemove", "mousedown", "keydown", "wheel", "touchstart"] as const;

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [classes, setClasses] = useState<ClassInfo[]>([]);
  const [page, setPage] = useState<Page>("live");
  const [error, setError] = useState<string | null>(null);
  const [lockReason, setLockReason] = useState<string | null>(null);
  // The account whose pages are mounted: they stay (hidden) behind the lock screen, so a running
  // session keeps streaming to Live and is there again after signing back in.
  const [owner, setOwner] = useState<Account | null>(null);

  const reload = async () => {
    try {
      const i = await api.appInfo();
      setInfo(i);
      if (i.account) {
        setOwner(i.account);
        setClasses(await api.listClasses());
      }
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    reload();
    const onSignedOut = () => reload();
    window.addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
  }, []);
  // The face engine loads in the background; ask again until it has.
  useEffect(() => {
    if (info?.engine !== "loading") return;
    const t = setTimeout(reload, 500);
    return () => clearTimeout(t);
  }, [info]);

  const account = info?.account ?? null;
  const visible = PAGES.filter(([, , officeOnly]) => !officeOnly || account?.role === "office");
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      const n = Number(e.key);
      if (e.altKey && n >= 1 && n <= visible.length && !["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) {
        setPage(visible[n - 1][0]);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [account?.name, account?.role]);
  // A page the account may not use (after another account signed in) falls back to Live.
  useEffect(() => {
    if (!visible.some(([id]) => id === page)) setPage("live");
  }, [account?.name, account?.role]);

  // The idle lock: after the set minutes without a key or the mouse, sign out and show the lock
  // screen (the backend also refuses a command that comes later than that).
  useEffect(() => {
    if (!account || !info) return;
    const minutes = info.idle_lock_minutes;
    let last = Date.now();
    const touch = () => (last = Date.now());
    ACTIVITY.forEach((ev) => window.addEventListener(ev, touch, { passive: true }));
    const timer = setInterval(async () => {
      if (Date.now() - last < minutes * 60_000) return;
      clearInterval(timer);
      await api.signOut(true).catch(() => {});
      setLockReason(`Rollcall locked itself after ${minutes} minutes without use.`);
      reload();
    }, 5_000);
    return () => {
      clearInterval(timer);
      ACTIVITY.forEach((ev) => window.removeEventListener(ev, touch));
    };
  }, [account?.name, info?.idle_lock_minutes]);

  const signOut = async () => {
    await api.signOut().catch((e) => setError(errorText(e)));
    setLockReason(null);
    reload();
  };

  if (!info) {
    return <main class="loading">{error ? <Notice kind="error">{error}</Notice> : "Opening Rollcall…"}</main>;
  }
  const s = info.settings;
  if (!info.accounts_exist || (account?.role === "office" && s.setup_done !== "yes")) {
    return <SetupPage info={info} onDone={reload} />;
  }
  const source = s.camera ?? "0";
  const shown = owner && account && owner.name === account.name ? account : owner;
  return (
    <>
      {!account ? <SignInPage schoolName={s.school_name} reason={lockReason} onSignedIn={() => (setLockReason(null), setError(null), reload())} /> : null}
      {shown ? (
        <div class="shell" hidden={!account} key={shown.name}>
          <nav class="tabs" role="tablist" aria-label="Pages">
            <span class="brand">{s.school_name || "Rollcall"}</span>
            {visible.map(([id, label], i) => (
              <button key={id} role="tab" id={`tab-${id}`} aria-selected={page === id} class={page === id ? "on" : ""} onClick={() => setPage(id)} title={`Alt+${i + 1}`}>
                {label}
              </button>
            ))}
            <span class="who" id="signed-in-as">
              {shown.name} ({shown.role === "office" ? "office" : `teacher: ${shown.classes.join(", ") || "no class"}`})
            </span>
            <button id="sign-out" onClick={signOut}>
              Sign out
            </button>
          </nav>
          {account?.role === "teacher" && s.setup_done !== "yes" ? <Notice kind="info">An office account has not finished the first-run setup yet.</Notice> : null}
          {info.engine === "failed" ? <Notice kind="error">The face engine could not start: {info.engine_error}</Notice> : null}
          {error ? <Notice kind="error">{error}</Notice> : null}
          <main>
            {/* Live stays mounted while hidden: a running session keeps streaming to it. */}
            <div hidden={page !== "live"}>
              <LivePage classes={classes} defaultSource={source} office={account?.role === "office"} visible={page === "live" && !!account} onNavigate={(p) => setPage(p as Page)} />
            </div>
            {account && page === "students" ? <StudentsPage classes={classes} reload={reload} defaultSource={source} /> : null}
            {account && page === "reports" ? <ReportsPage classes={classes} mood={s.mood === "on"} /> : null}
            {account && page === "timetable" ? <TimetablePage office={account.role === "office"} /> : null}
            {account && page === "privacy" ? <PrivacyPage /> : null}
            {account && page === "settings" ? <SettingsPage info={info} classes={classes} reload={reload} /> : null}
          </main>
        </div>
      ) : null}
    </>
  );
}
