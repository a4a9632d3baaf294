// The window: first-run setup, then five pages behind a tab bar (Alt+1-5 switch pages).
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type AppInfo, type ClassInfo } from "./api";
import { Notice } from "./components/common";
import { LivePage } from "./pages/live";
import { PrivacyPage } from "./pages/privacy";
import { ReportsPage } from "./pages/reports";
import { SettingsPage, SetupPage } from "./pages/settings";
import { StudentsPage } from "./pages/students";

const PAGES = [
  ["live", "Live"],
  ["students", "Students"],
  ["reports", "Reports"],
  ["privacy", "Privacy"],
  ["settings", "Settings"],
] as const;
type Page = (typeof PAGES)[number][0];

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [classes, setClasses] = useState<ClassInfo[]>([]);
  const [page, setPage] = useState<Page>("live");
  const [error, setError] = useState<string | null>(null);

  const reload = async () => {
    try {
      setInfo(await api.appInfo());
      setClasses(await api.listClasses());
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    reload();
  }, []);
  // The face engine loads in the background; ask again until it has.
  useEffect(() => {
    if (info?.engine !== "loading") return;
    const t = setTimeout(reload, 500);
    return () => clearTimeout(t);
  }, [info]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.altKey && /^[1-5]$/.test(e.key) && !["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) {
        setPage(PAGES[Number(e.key) - 1][0]);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  if (!info) {
    return <main class="loading">{error ? <Notice kind="error">{error}</Notice> : "Opening Rollcall…"}</main>;
  }
  if (info.settings.setup_done !== "yes") {
    return <SetupPage info={info} onDone={reload} />;
  }
  const s = info.settings;
  const source = s.camera ?? "0";
  const operator = s.operator || "office";
  return (
    <div class="shell">
      <nav class="tabs" role="tablist" aria-label="Pages">
        <span class="brand">{s.school_name || "Rollcall"}</span>
        {PAGES.map(([id, label], i) => (
          <button key={id} role="tab" id={`tab-${id}`} aria-selected={page === id} class={page === id ? "on" : ""} onClick={() => setPage(id)} title={`Alt+${i + 1}`}>
            {label}
          </button>
        ))}
      </nav>
      {info.engine === "failed" ? <Notice kind="error">The face engine could not start: {info.engine_error}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <main>
        {/* Live stays mounted while hidden: a running session keeps streaming to it. */}
        <div hidden={page !== "live"}>
          <LivePage classes={classes} defaultSource={source} operator={operator} visible={page === "live"} onNavigate={(p) => setPage(p as Page)} />
        </div>
        {page === "students" ? <StudentsPage classes={classes} reload={reload} defaultSource={source} operator={operator} /> : null}
        {page === "reports" ? <ReportsPage classes={classes} operator={operator} mood={s.mood === "on"} /> : null}
        {page === "privacy" ? <PrivacyPage operator={operator} /> : null}
        {page === "settings" ? <SettingsPage info={info} classes={classes} reload={reload} /> : null}
      </main>
    </div>
  );
}
