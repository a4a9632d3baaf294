// The consent register in the app: one student's history and a form for a new event, and
// "forms received" for several students of a class at once. The backend checks every event
// (someone named, no future date) and deletes face data when consent ends; nothing is decided here.
import { useEffect, useState } from "preact/hooks";
import { api, errorText, isoDate, type ConsentEvent, type ConsentKind, type ConsentState, type StudentRow } from "../api";
import { ConsentChip, Notice } from "./common";

const KIND_LABEL: Record<ConsentKind, string> = { granted: "Consent given", withdrawn: "Consent withdrawn", objected: "Objection" };

/** The fields of a consent event, shared by the single and the bulk form. */
function useEventFields(initialBy = "") {
  const [by, setBy] = useState(initialBy);
  const [relation, setRelation] = useState("mother");
  const [date, setDate] = useState(isoDate(new Date()));
  const [how, setHow] = useState("paper form");
  const [note, setNote] = useState("");
  const request = (kind: ConsentKind) => ({ kind, by, relation: by.trim().toLowerCase() === "student" ? null : relation || null, date, how: how || null, note: note || null });
  const fields = (
    <>
      <label>
        Who <input name="consent-by" required value={by} placeholder="Ana Silva, or student" onInput={(e) => setBy((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Relation{" "}
        <select name="consent-relation" value={relation} onChange={(e) => setRelation((e.target as HTMLSelectElement).value)}>
          {["mother", "father", "guardian", "carer", "student (adult)"].map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Date on the form <input type="date" name="consent-date" required max={isoDate(new Date())} value={date} onInput={(e) => setDate((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        How <input name="consent-how" value={how} onInput={(e) => setHow((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Note <input name="consent-note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      </label>
    </>
  );
  return { request, fields };
}

export function ConsentEditor({ student, onClose }: { student: StudentRow; onClose: () => void }) {
  const [state, setState] = useState<ConsentState>(student.consent);
  const [history, setHistory] = useState<ConsentEvent[]>([]);
  const [kind, setKind] = useState<ConsentKind>("granted");
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  const { request, fields } = useEventFields();
  const load = async () => {
    try {
      const h = await api.consentHistory(student.student_id);
      setState(h.state);
      setHistory(h.history);
    } catch (e) {
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  useEffect(() => {
    load();
  }, [student.student_id]);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api.recordConsent(student.student_id, request(kind));
      const deleted = r.templates_deleted ? ` ${r.templates_deleted} face template(s) deleted; ${student.name} is registered by hand from now on.` : "";
      setMsg({ kind: "ok", text: `Recorded: consent is now ${r.after}.${deleted}` });
      load();
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <div class="card consent-editor" role="dialog" aria-label={`Consent of ${student.name}`}>
      <h2>
        Consent of {student.name} <small>({student.student_id})</small> <ConsentChip state={state} />
      </h2>
      <p class="hint">
        Face data is processed only with a parent's written consent and no objection from a parent or the student. Withdrawal or objection deletes the
        student's face data at once; they are then registered by hand.
      </p>
      <table class="table consent-history" aria-label="Consent history">
        <thead>
          <tr>
            <th>Date</th>
            <th>Event</th>
            <th>Who</th>
            <th>How</th>
            <th>Recorded</th>
          </tr>
        </thead>
        <tbody>
          {history.length === 0 ? (
            <tr>
              <td colSpan={5}>Nothing on record.</td>
            </tr>
          ) : (
            history.map((e, i) => (
              <tr key={i}>
                <td>{e.date}</td>
                <td>{KIND_LABEL[e.kind]}</td>
                <td>
                  {e.by}
                  {e.relation ? ` (${e.relation})` : ""}
                </td>
                <td>
                  {e.how ?? ""}
                  {e.note ? ` — ${e.note}` : ""}
                </td>
                <td>
                  {e.recorded_at.slice(0, 16).replace("T", " ")} by {e.recorded_by}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <form class="consent-form" onSubmit={save}>
        <label>
          Event{" "}
          <select name="consent-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as ConsentKind)}>
            {(Object.keys(KIND_LABEL) as ConsentKind[]).map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </label>
        {fields}
        <button type="submit" class="primary" id="save-consent">
          Record
        </button>
      </form>
      {msg ? (
        <Notice kind={msg.kind} testid="consent-result">
          {msg.text}
        </Notice>
      ) : null}
      <button onClick={onClose}>Done</button>
    </div>
  );
}

/** A class's returned consent forms, recorded in one go (for the students chosen). */
export function BulkConsent({ klass, students, onClose }: { klass: string; students: StudentRow[]; onClose: () => void }) {
  const waiting = students.filter((s) => s.consent === "none");
  const [chosen, setChosen] = useState<Set<string>>(new Set(waiting.map((s) => s.student_id)));
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  const { request, fields } = useEventFields("parent or guardian (signed form)");
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api.recordConsentBulk([...chosen], request("granted"));
      setMsg({ kind: "ok", text: `Consent recorded for ${r.recorded} student(s).` });
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };
  const toggle = (id: string) => setChosen((c) => (c.has(id) ? new Set([...c].filter((x) => x !== id)) : new Set([...c, id])));
  return (
    <div class="card consent-bulk" role="dialog" aria-label={`Consent forms received for ${klass}`}>
      <h2>Consent forms received: {klass}</h2>
      {waiting.length === 0 ? <p class="hint">Every student of {klass} has a consent decision on record.</p> : null}
      <form onSubmit={save}>
        <ul class="checklist">
          {waiting.map((s) => (
            <li key={s.student_id}>
              <label>
                <input type="checkbox" checked={chosen.has(s.student_id)} onChange={() => toggle(s.student_id)} /> {s.name} ({s.student_id})
              </label>
            </li>
          ))}
        </ul>
        {fields}
        <button type="submit" class="primary" disabled={chosen.size === 0}>
          Record consent for {chosen.size} student(s)
        </button>
      </form>
      {msg ? <Notice kind={msg.kind}>{msg.text}</Notice> : null}
      <button onClick={onClose}>Done</button>
    </div>
  );
}
