// Timetable: the week's lessons (what the scheduler takes the roll of, and on which camera), and
// for the office, importing the week from the timetabler's file with a check first.
import { open } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Lesson, type TimetableImport } from "../api";
import { Empty, Notice } from "../components/common";

const DAYS: Lesson["weekday"][] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function TimetablePage({ office }: { office: boolean }) {
  const [week, setWeek] = useState<Lesson[] | null>(null);
  const [automatic, setAutomatic] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      setWeek(await api.timetable());
      setAutomatic((await api.appInfo()).settings.timetable_sessions === "on");
    } catch (e) {
      setError(errorText(e));
    }
  };
  const switchAutomatic = async (on: boolean) => {
    setError(null);
    try {
      await api.saveSettings({ timetable_sessions: on ? "on" : "off" });
      setAutomatic(on);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    load();
  }, []);
  const days = DAYS.filter((d) => week?.some((l) => l.weekday === d));
  return (
    <section class="timetable">
      <h1>Timetable</h1>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {automatic !== null ? (
        <label class="card automatic">
          <input type="checkbox" id="timetable-sessions" checked={automatic} disabled={!office} onChange={(e) => switchAutomatic((e.target as HTMLInputElement).checked)} />{" "}
          <strong>Take each lesson's roll by itself</strong>
          <small>
            {" "}
            Each lesson with a camera starts on it a quarter of an hour before the lesson and stops at its end, while this app is open (several rooms at once; Live shows them).
            Off: a person starts each session on the Live page. A PC no one sits at runs <code>rollcall serve</code> instead.
          </small>
        </label>
      ) : null}
      {week && week.length === 0 ? (
        <Empty title="No lessons yet">
          {office ? "Import the week from the timetabler's file below (class, weekday, start, end, room, camera)." : "The office imports the timetable."}
        </Empty>
      ) : null}
      {days.map((d) => (
        <div class="card" key={d}>
          <h2>{d}</h2>
          <table class="table" data-day={d}>
            <thead>
              <tr>
                <th>Time</th>
                <th>Class</th>
                <th>Room</th>
                <th>Camera</th>
              </tr>
            </thead>
            <tbody>
              {week!
                .filter((l) => l.weekday === d)
                .sort((a, b) => a.start.localeCompare(b.start) || a.class.localeCompare(b.class))
                .map((l) => (
                  <tr key={`${l.class} ${l.start}`} data-class={l.class}>
                    <td>
                      {l.start}–{l.end}
                    </td>
                    <td>{l.class}</td>
                    <td>{l.room}</td>
                    <td class="camera">{l.camera || <small>none: the roll is taken by hand or from the Live page</small>}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      ))}
      {office ? <TimetableImporter onImported={load} /> : null}
    </section>
  );
}

/** Check a file first (every problem with its row, what would be added and removed), then import it. */
function TimetableImporter({ onImported }: { onImported: () => void }) {
  const [path, setPath] = useState("");
  const [check, setCheck] = useState<TimetableImport | null>(null);
  const [msg, setMsg] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const run = async (p: string, dryRun: boolean) => {
    setMsg(null);
    try {
      const r = await api.timetableImport(p, dryRun);
      setCheck(r);
      if (r.applied) {
        setMsg({ kind: "ok", text: `Imported: ${r.changes.added.length} lesson(s) added, ${r.changes.removed.length} removed, ${r.changes.unchanged} unchanged.` });
        onImported();
      }
    } catch (e) {
      setCheck(null);
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  const choose = async () => {
    const f = await open({ multiple: false, filters: [{ name: "Timetable", extensions: ["csv", "xlsx"] }] });
    if (typeof f === "string") {
      setPath(f);
      run(f, true);
    }
  };
  const line = (l: Lesson) => `${l.class} ${l.weekday} ${l.start}–${l.end}${l.room ? ` room ${l.room}` : ""}${l.camera ? ` camera ${l.camera}` : ""}`;
  return (
    <div class="card">
      <h2>Import the week</h2>
      <p class="hint">A file gives the week of the classes it names: their lessons are replaced, other classes keep theirs. Nothing changes until you import.</p>
      <div class="row">
        <input name="timetable-path" aria-label="Timetable file" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        <button type="button" onClick={choose}>
          Choose…
        </button>
        <button type="button" id="timetable-check" onClick={() => run(path, true)} disabled={!path}>
          Check
        </button>
      </div>
      {check && !check.applied ? (
        <div data-testid="timetable-check">
          {check.problems.length ? (
            <Notice kind="error">
              {check.problems.length} problem(s); nothing can be imported until they are fixed:
              <ul>
                {check.problems.map((p) => (
                  <li key={p.row}>
                    row {p.row}: {p.problem}
                  </li>
                ))}
              </ul>
            </Notice>
          ) : (
            <>
              <p>
                {check.lessons} lesson(s) a week for {check.changes.classes.join(", ")}: {check.changes.added.length} to add, {check.changes.removed.length} to remove,{" "}
                {check.changes.unchanged} unchanged.
              </p>
              <ul class="changes">
                {check.changes.added.map((l) => (
                  <li key={`+${line(l)}`}>add {line(l)}</li>
                ))}
                {check.changes.removed.map((l) => (
                  <li key={`-${line(l)}`}>remove {line(l)}</li>
                ))}
              </ul>
              <button class="primary" id="timetable-import" type="button" onClick={() => run(path, false)}>
                Import
              </button>
            </>
          )}
        </div>
      ) : null}
      {msg ? (
        <Notice kind={msg.kind}>
          <span data-testid="timetable-result">{msg.text}</span>
        </Notice>
      ) : null}
    </div>
  );
}
