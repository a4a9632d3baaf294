// Timetable: the week's lessons (what the scheduler takes the roll of, and on which camera); for
// the office, importing the week from the timetabler's file with a check first, and changing,
// adding or removing one lesson (checked by the core against the rest of the week, as an import is).
import { open } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type ClassInfo, type Lesson, type LessonInput, type TimetableImport } from "../api";
import { Empty, Notice } from "../components/common";

const DAYS: Lesson["weekday"][] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/** A timetable row of this class is the entrance's hours: registration at the gate for every class (core: storage::ENTRANCE). */
const ENTRANCE = "*";
const who = (klass: string) => (klass === ENTRANCE ? "Entrance (every class)" : klass);

export function TimetablePage({ office }: { office: boolean }) {
  const [week, setWeek] = useState<Lesson[] | null>(null);
  const [automatic, setAutomatic] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The lesson being changed ("new" while adding one). */
  const [editing, setEditing] = useState<Lesson | "new" | null>(null);
  const [removing, setRemoving] = useState<Lesson | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [classes, setClasses] = useState<ClassInfo[]>([]);
  const remove = async (l: Lesson) => {
    setError(null);
    try {
      await api.timetableEdit(ref(l), null);
      setRemoving(null);
      setDone(`Removed ${line(l)}.`);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
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
    if (office) api.listClasses().then(setClasses, (e) => setError(errorText(e)));
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
            Each lesson with a camera starts on it a quarter of an hour before the lesson and stops at its end, and the entrance's camera during its hours, while this app is
            open (several rooms at once; Live shows them).
            Off: a person starts each session on the Live page. A PC no one sits at runs <code>rollcall serve</code> instead.
          </small>
        </label>
      ) : null}
      {done ? (
        <Notice kind="ok">
          <span data-testid="timetable-edited">{done}</span>
        </Notice>
      ) : null}
      {office ? (
        <div class="row">
          <button type="button" id="lesson-add" onClick={() => (setEditing("new"), setDone(null))}>
            Add a lesson
          </button>
        </div>
      ) : null}
      {editing ? (
        <LessonEditor
          lesson={editing === "new" ? null : editing}
          classes={classes}
          onCancel={() => setEditing(null)}
          onSaved={(text) => {
            setEditing(null);
            setDone(text);
            load();
          }}
        />
      ) : null}
      {week && week.length === 0 ? (
        <Empty title="No lessons yet">
          {office
            ? "Import the week from the timetabler's file below (class, weekday, start, end, room, camera; a row of class * is registration at the entrance), or add lessons one by one."
            : "The office imports the timetable."}
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
                {office ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {week!
                .filter((l) => l.weekday === d)
                .sort((a, b) => a.start.localeCompare(b.start) || a.class.localeCompare(b.class))
                .map((l) => (
                  <tr key={`${l.class} ${l.start} ${l.room}`} data-class={l.class}>
                    <td>
                      {l.start}–{l.end}
                    </td>
                    <td>{who(l.class)}</td>
                    <td>{l.room}</td>
                    <td class="camera">{l.camera || <small>none: the roll is taken by hand or from the Live page</small>}</td>
                    {office ? (
                      <td class="lesson-actions">
                        {removing === l ? (
                          <>
                            <button type="button" class="danger lesson-remove-confirm" onClick={() => remove(l)}>
                              Remove this lesson
                            </button>{" "}
                            <button type="button" onClick={() => setRemoving(null)}>
                              Keep
                            </button>
                          </>
                        ) : (
                          <>
                            <button type="button" class="lesson-edit" onClick={() => (setEditing(l), setDone(null))}>
                              Change
                            </button>{" "}
                            <button type="button" class="lesson-remove" onClick={() => (setRemoving(l), setDone(null))}>
                              Remove
                            </button>
                          </>
                        )}
                      </td>
                    ) : null}
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

/** A stored lesson as the core finds it: class, weekday and start. */
const ref = (l: Lesson) => ({ class: l.class, weekday: l.weekday, start: l.start, room: l.room });
const line = (l: Lesson) => `${who(l.class)} ${l.weekday} ${l.start}–${l.end}${l.room ? ` room ${l.room}` : ""}${l.camera ? ` camera ${l.camera}` : ""}`;

/** Change one lesson, or add one: the same fields as a timetable file's row. */
function LessonEditor({ lesson, classes, onCancel, onSaved }: { lesson: Lesson | null; classes: ClassInfo[]; onCancel: () => void; onSaved: (text: string) => void }) {
  const [form, setForm] = useState<LessonInput>(
    lesson ? { ...lesson } : { class: classes[0]?.name ?? "", weekday: "Mon", start: "09:00", end: "09:50", room: "", camera: "" },
  );
  const [error, setError] = useState<string | null>(null);
  // From the latest form, not this render's: two fields changed before a repaint both stay.
  const set = (k: keyof LessonInput) => (e: Event) => {
    const value = (e.target as HTMLInputElement).value;
    setForm((f) => ({ ...f, [k]: value }));
  };
  const save = async () => {
    setError(null);
    try {
      const stored = await api.timetableEdit(lesson ? ref(lesson) : null, form);
      onSaved(stored ? `${lesson ? "Changed" : "Added"}: ${line(stored)}.` : "Saved.");
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <div class="card lesson-editor" data-testid="lesson-editor">
      <h2>{lesson ? `Change ${who(lesson.class)}: ${lesson.weekday} ${lesson.start}` : "Add a lesson"}</h2>
      <div class="row">
        <label>
          Class{" "}
          <select name="lesson-class" value={form.class} onChange={set("class")}>
            {classes.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
            <option value={ENTRANCE}>{who(ENTRANCE)}</option>
          </select>
        </label>
        <label>
          Day{" "}
          <select name="lesson-weekday" value={form.weekday} onChange={set("weekday")}>
            {DAYS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input name="lesson-from" type="time" value={form.start} onInput={set("start")} />
        </label>
        <label>
          to <input name="lesson-to" type="time" value={form.end} onInput={set("end")} />
        </label>
      </div>
      <div class="row">
        <label>
          Room <input name="lesson-room" value={form.room} onInput={set("room")} />
        </label>
        <label class="grow">
          Camera <input name="lesson-camera" value={form.camera} placeholder="none: taken by hand" onInput={set("camera")} />
        </label>
      </div>
      <p class="hint">
        The camera is a number (0 is the first camera), a video file, or a stream's address (rtsp://…). A lesson with none is taken by hand.{" "}
        {form.class === ENTRANCE
          ? "At the entrance, every class's students are registered, each in their lesson on then (or their next that day); the room names the gate."
          : null}
      </p>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="row">
        <button type="button" class="primary" id="lesson-save" onClick={save}>
          {lesson ? "Save the change" : "Add the lesson"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
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
