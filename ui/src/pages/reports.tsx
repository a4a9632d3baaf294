// Reports: the day's roll with corrections, a student's history, the class over a date range,
// and the Excel export. Every figure here is computed by the backend.
import { save } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api, isFailure, clock, errorText, isoDate, STATUSES, type ClassInfo, type ClassSummary, type DailyReport, type LessonRoll, type Status, type StudentDay, type StudentHistory } from "../api";
import { ClassSelect, Empty, MoodBars, Notice, StatusChip } from "../components/common";

function weekStart(d: Date): Date {
  const x = new Date(d);
  x.setDate(x.getDate() - ((x.getDay() + 6) % 7));
  return x;
}

const pct = (r: number | null) => (r === null ? "–" : `${Math.round(r * 100)}%`);

export function ReportsPage({ classes, mood }: { classes: ClassInfo[]; mood: boolean }) {
  const today = isoDate(new Date());
  const [klass, setKlass] = useState(classes[0]?.name ?? "");
  const [day, setDay] = useState(today);
  const [from, setFrom] = useState(isoDate(weekStart(new Date())));
  const [to, setTo] = useState(today);
  const [daily, setDaily] = useState<DailyReport | null>(null);
  const [summary, setSummary] = useState<ClassSummary | null>(null);
  const [history, setHistory] = useState<StudentHistory | null>(null);
  const [editing, setEditing] = useState<{ student: StudentDay; lesson: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    if (!klass) return;
    setError(null);
    try {
      setDaily(await api.reportDaily(klass, day));
      setSummary(await api.reportSummary(klass, from, to));
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    load();
  }, [klass, day, from, to]);
  useEffect(() => {
    if (!klass && classes.length) setKlass(classes[0].name);
  }, [classes]);

  const showHistory = async (studentId: string) => {
    try {
      setHistory(await api.reportHistory(studentId, from, to));
    } catch (e) {
      setError(errorText(e));
    }
  };

  if (!classes.length) {
    return (
      <section>
        <h1>Reports</h1>
        <Empty title="Nothing to report yet">Create a class on the Students page and take the roll on the Live page.</Empty>
      </section>
    );
  }

  return (
    <section class="reports">
      <h1>Reports</h1>
      <div class="toolbar">
        <ClassSelect name="report-class" classes={classes} value={klass} onChange={setKlass} />
        <label>
          Day <input type="date" name="report-day" value={day} onInput={(e) => setDay((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          From <input type="date" name="report-from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          To <input type="date" name="report-to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}

      {daily ? (
        <div class="card">
          <h2>
            {daily.class} on {daily.date}
            {daily.session_held ? "" : " — no register taken"}
          </h2>
          {daily.lessons.filter((l) => l.held).length > 1 ? (
            <p class="counts" data-testid="day-counts">
              The day: {STATUSES.map((s) => `${daily.counts[s]} ${s}`).join(" · ")}
            </p>
          ) : null}
          {daily.lessons.map((l) => (
            <LessonTable key={l.lesson} roll={l} mood={mood} several={daily.lessons.length > 1} onHistory={showHistory} onCorrect={(s) => setEditing({ student: s, lesson: l.lesson })} />
          ))}
        </div>
      ) : null}

      {editing ? (
        <Correction
          student={editing.student}
          onSave={async (status, reason) => {
            await api.overrideMark(klass, day, editing.lesson || null, editing.student.student_id, status, reason);
            setEditing(null);
            load();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : null}

      {history ? (
        <div class="card" aria-label="Student history">
          <h2>
            {history.name}: {history.from} to {history.to} <small>attendance {pct(history.attendance_rate)}</small>
          </h2>
          {history.days.length ? (
            <ul class="history">
              {history.days.map((d) => (
                <li key={`${d.date} ${d.lesson} ${d.class}`}>
                  {d.date} {d.lesson} {d.class} <StatusChip status={d.status} manual={d.source === "manual"} /> {clock(d.first_seen)} {mood && d.mood ? `· ${d.mood}` : ""}
                </li>
              ))}
            </ul>
          ) : (
            <Empty title="No sessions in this range" />
          )}
          <button onClick={() => setHistory(null)}>Close</button>
        </div>
      ) : null}

      {summary ? (
        <div class="card">
          <h2>
            {summary.class}, {summary.from} to {summary.to} <small>attendance {pct(summary.attendance_rate)}</small>
          </h2>
          {summary.lessons.length === 0 ? (
            <Empty title="No sessions in this range">Take the roll on the Live page, or choose other dates.</Empty>
          ) : (
            <table class="table" id="summary-table">
              <thead>
                <tr>
                  <th>Student</th>
                  <th>Attendance</th>
                  {STATUSES.map((s) => (
                    <th key={s}>{s}</th>
                  ))}
                  <th>Late (min)</th>
                </tr>
              </thead>
              <tbody>
                {summary.students.map((s) => (
                  <tr key={s.student_id}>
                    <td>{s.name}</td>
                    <td>{pct(s.attendance_rate)}</td>
                    {STATUSES.map((st) => (
                      <td key={st}>{s.counts[st] ?? 0}</td>
                    ))}
                    <td>{s.late_minutes_total}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Export klass={klass} from={from} to={to} />
        </div>
      ) : null}
    </section>
  );
}

/** One lesson's register: who was seen when, with corrections. */
function LessonTable({ roll, mood, several, onHistory, onCorrect }: { roll: LessonRoll; mood: boolean; several: boolean; onHistory: (id: string) => void; onCorrect: (s: StudentDay) => void }) {
  const state = !roll.held ? "not taken" : roll.open ? "running" : "";
  return (
    <div class="lesson" data-lesson={roll.lesson}>
      {several || roll.lesson ? (
        <h3>
          {roll.lesson ? `Lesson ${roll.lesson}${roll.ends ? `–${roll.ends}` : ""}` : "The day's register"}
          {state ? <small> — {state}</small> : null}
        </h3>
      ) : null}
      <p class="counts" data-testid="daily-counts">
        {STATUSES.map((s) => `${roll.counts[s]} ${s}`).join(" · ")}
      </p>
      <table class="table daily-table" id={several ? `daily-table-${roll.lesson.replace(":", "")}` : "daily-table"}>
        <thead>
          <tr>
            <th>Student</th>
            <th>Status</th>
            <th>How</th>
            <th>First seen</th>
            <th>Late (min)</th>
            {mood ? <th>Mood</th> : null}
            <th />
          </tr>
        </thead>
        <tbody>
          {roll.students.map((s) => (
            <tr key={s.student_id} data-student={s.student_id}>
              <td>
                <button class="link" onClick={() => onHistory(s.student_id)}>
                  {s.name}
                </button>
              </td>
              <td>
                <StatusChip status={s.status} manual={s.source === "manual"} />
                {s.auto_status ? <small> (camera: {s.auto_status})</small> : null}
              </td>
              <td class="how">
                {s.how ?? (s.by_hand ? "to mark by hand" : "")}
                {s.review ? (
                  <div class="review warn" title={s.review}>
                    check: possible photo or screen
                  </div>
                ) : null}
              </td>
              <td>{clock(s.first_seen)}</td>
              <td>{s.status === "late" ? s.late_minutes : ""}</td>
              {mood ? <td>{s.mood_distribution ? <MoodBars distribution={s.mood_distribution} label={`${s.mood} (${s.mood_samples} samples)`} /> : ""}</td> : null}
              <td>
                <button class="correct" onClick={() => onCorrect(s)}>
                  Correct…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Correction({ student, onSave, onCancel }: { student: StudentDay; onSave: (s: Status, reason: string) => Promise<void>; onCancel: () => void }) {
  const [status, setStatus] = useState<Status>(student.status === "absent" || student.status === null ? "excused" : student.status);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="card"
      role="dialog"
      aria-label={`Correct ${student.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await onSave(status, reason);
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <h2>Correct {student.name}</h2>
      <p class="hint">The camera's record is kept; your change and reason go to the audit log under your account.</p>
      <label>
        Status{" "}
        <select name="override-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value as Status)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason <input name="override-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="row">
        <button class="primary" type="submit" id="save-override">
          Save change
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Export({ klass, from, to }: { klass: string; from: string; to: string }) {
  const [path, setPath] = useState("");
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  useEffect(() => {
    api.defaultExportPath(klass, from, to).then(setPath, () => {});
  }, [klass, from, to]);
  const choose = async () => {
    const p = await save({ defaultPath: path, filters: [{ name: "Excel", extensions: ["xlsx"] }] });
    if (p) setPath(p);
  };
  const run = async () => {
    const saved = (r: { path: string; students: number; lessons: number }) => setMsg({ kind: "ok", text: `Saved ${r.path} (${r.students} students, ${r.lessons} lessons).` });
    try {
      saved(await api.exportXlsx(klass, from, to, path));
    } catch (e) {
      // Never replace a file without asking.
      if (isFailure(e, "exists") && window.confirm(`${path} already exists. Replace it?`)) {
        try {
          saved(await api.exportXlsx(klass, from, to, path, true));
        } catch (e2) {
          setMsg({ kind: "error", text: errorText(e2) });
        }
        return;
      }
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  return (
    <div class="export">
      <h3>Export to Excel</h3>
      <div class="row">
        <input name="export-path" aria-label="Export file" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        <button type="button" onClick={choose}>
          Choose…
        </button>
        <button class="primary" id="export" type="button" onClick={run} disabled={!path}>
          Export
        </button>
      </div>
      {msg ? (
        <Notice kind={msg.kind}>
          <span data-testid="export-result">{msg.text}</span>
        </Notice>
      ) : null}
    </div>
  );
}
