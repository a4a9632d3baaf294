// Students: classes, roster import with a preview, enrolment from photos or the camera, deletion.
import { ask, open } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api, errorText, type ClassInfo, type PhotoCheck, type PhotoVerdict, type Picture, type RosterChanges, type RosterPreview, type StudentRow } from "../api";
import { ConsentChip, Empty, Notice } from "../components/common";
import { BulkConsent, ConsentEditor } from "../components/consent";
import { SourcePicker } from "../components/source";
import { VideoView } from "../components/video";

export function StudentsPage({ classes, reload, defaultSource }: { classes: ClassInfo[]; reload: () => void; defaultSource: string }) {
  const [students, setStudents] = useState<StudentRow[]>([]);
  const [filter, setFilter] = useState<string>("");
  const [enrolling, setEnrolling] = useState<StudentRow | null>(null);
  const [consentOf, setConsentOf] = useState<StudentRow | null>(null);
  const [bulk, setBulk] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<PhotoCheck | null>(null);
  const [checking, setChecking] = useState(false);

  const load = async () => {
    try {
      setStudents(await api.listStudents(filter || undefined));
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    load();
    setCheck(null);
  }, [filter, classes]);

  const checkPhotos = async () => {
    setChecking(true);
    try {
      setCheck(await api.checkPhotos(filter || undefined));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setChecking(false);
    }
  };

  const remove = async (s: StudentRow) => {
    const sure = await ask(`Delete ${s.name} (${s.student_id}) and all their face data? Past attendance records are removed too.`, {
      title: "Delete student",
      kind: "warning",
    });
    if (!sure) return;
    try {
      await api.deleteStudent(s.student_id);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const leave = async (s: StudentRow) => {
    const sure = await ask(`${s.name} (${s.student_id}) leaves the school? Their attendance register is kept; their face data is deleted as the retention settings say (at once by default).`, {
      title: "Student leaves",
      kind: "warning",
    });
    if (!sure) return;
    try {
      await api.leaveSchool(s.student_id);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section class="students">
      <h1>Students</h1>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="two-col">
        <NewClass onCreated={reload} />
        <RosterImport onImported={reload} />
      </div>
      {enrolling ? <Enrolment student={enrolling} defaultSource={defaultSource} onClose={() => (setEnrolling(null), reload())} /> : null}
      {consentOf ? <ConsentEditor student={consentOf} onClose={() => (setConsentOf(null), reload())} /> : null}
      {bulk && filter ? <BulkConsent klass={filter} students={students} onClose={() => (setBulk(false), reload())} /> : null}
      <h2>
        Students{" "}
        <select aria-label="Show class" value={filter} onChange={(e) => setFilter((e.target as HTMLSelectElement).value)}>
          <option value="">all classes</option>
          {classes.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name} ({c.enrolled}/{c.students} enrolled)
            </option>
          ))}
        </select>{" "}
        {filter ? (
          <button id="bulk-consent" onClick={() => setBulk(true)}>
            Consent forms received…
          </button>
        ) : null}{" "}
        <button id="check-photos" onClick={checkPhotos} disabled={checking} title="Which students to photograph again before the roll (of this class, or of every class at the entrance)">
          {checking ? "Checking photos…" : "Check photos"}
        </button>
      </h2>
      {check ? <PhotoCheckResult check={check} /> : null}
      {students.length === 0 ? (
        <Empty title="No students yet">Import a roster (CSV or Excel with columns student_id, first_name, last_name, class; optionally consent, consent_by, consent_date) above, record each parent's consent, then enrol each student with a few photos.</Empty>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>ID</th>
              <th>Name</th>
              <th>Class</th>
              <th>Consent</th>
              <th>Face photos</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {students.map((s) => (
              <tr key={s.student_id} data-student={s.student_id}>
                <td>{s.student_id}</td>
                <td>{s.name}</td>
                <td>{s.class ?? "(left)"}</td>
                <td class="consent">
                  <ConsentChip state={s.consent} />
                </td>
                <td class="photos">{s.enrolled_photos === 0 ? <span class="warn">not enrolled</span> : s.enrolled_photos}</td>
                <td class="actions">
                  <button class="edit-consent" onClick={() => setConsentOf(s)}>
                    Consent…
                  </button>
                  <button class="enrol" onClick={() => setEnrolling(s)}>
                    Enrol…
                  </button>
                  {s.class ? (
                    <button class="leave" onClick={() => leave(s)} title="Left the school: keep the register, delete the face data">
                      Left…
                    </button>
                  ) : null}
                  <button class="danger" onClick={() => remove(s)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The photo check: the students the roll would most often ask to look again come first. */
function PhotoCheckResult({ check }: { check: PhotoCheck }) {
  const atRisk = check.advice.filter((a) => a.at_risk).length;
  return (
    <Notice kind="info" testid="photo-check">
      <p>
        {check.classes.join(", ")}: {check.students} student(s), {check.with_photos} with photos ({check.photos} photos).{" "}
        {check.with_photos === 0
          ? "Nobody here can be recognised yet: enrol photos of the students whose consent is on record."
          : check.advice.length === 0
            ? "Every student's photos are fine for the roll."
            : atRisk > 0 ? `${atRisk} student(s) the camera will often ask to look again: photograph them again first.` : null}
      </p>
      {check.advice.length > 0 ? (
        <ul>
          {check.advice.flatMap((a) =>
            a.advice.map((line, i) => (
              <li key={`${a.student_id}-${i}`} data-student={a.student_id} class={a.at_risk ? "warn" : undefined}>
                {line}
              </li>
            )),
          )}
        </ul>
      ) : null}
    </Notice>
  );
}

function NewClass({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [start, setStart] = useState("08:30");
  const [late, setLate] = useState(10);
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api.createClass(name, start || null, late);
      setMsg({ kind: "ok", text: `Class ${name} created.` });
      setName("");
      onCreated();
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <form class="card" onSubmit={submit}>
      <h2>New class</h2>
      <label>
        Name <input name="class-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Lesson starts <input type="time" name="class-start" value={start} onInput={(e) => setStart((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Late after (minutes){" "}
        <input type="number" min={0} max={120} name="class-late" value={late} onInput={(e) => setLate(Number((e.target as HTMLInputElement).value))} />
      </label>
      <button type="submit">Create class</button>
      {msg ? <Notice kind={msg.kind}>{msg.text}</Notice> : null}
    </form>
  );
}

/** Every change an import makes, old -> new, so nothing changes unseen. */
function RosterChangeList({ changes }: { changes: RosterChanges }) {
  const items: string[] = [
    ...changes.classes_created.map((c) => `New class ${c}`),
    ...changes.added.map((e) => `Add ${e.student_id} ${e.first_name} ${e.last_name} to ${e.class}`),
    ...changes.changed.flatMap((c) => [
      ...(c.name ? [`Rename ${c.student_id}: ${c.name[0]} → ${c.name[1]}`] : []),
      ...(c.class ? [`Move ${c.student_id}: ${c.class[0] ?? "no class"} → ${c.class[1]} (from today; earlier registers keep them)`] : []),
    ]),
    ...changes.missing.map(([id, name, klass]) => (changes.missing_leave ? `${id} ${name} leaves ${klass}` : `${id} ${name} is not in the file (stays in ${klass})`)),
    ...changes.consent.map(([id, c]) => `Consent ${id}: ${c.kind} by ${c.by} on ${c.date}`),
  ];
  if (!items.length) return <p class="hint">No changes: the roster matches what is stored.</p>;
  return (
    <ul class="roster-changes" data-testid="roster-changes">
      {items.map((t, i) => (
        <li key={i}>{t}</li>
      ))}
    </ul>
  );
}

function RosterImport({ onImported }: { onImported: () => void }) {
  const [path, setPath] = useState("");
  const [removeMissing, setRemoveMissing] = useState(false);
  const [preview, setPreview] = useState<RosterPreview | null>(null);
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  const browse = async () => {
    const f = await open({ multiple: false, filters: [{ name: "Roster", extensions: ["csv", "xlsx"] }] });
    if (typeof f === "string") {
      setPath(f);
      check(f);
    }
  };
  const check = async (p = path, remove = removeMissing) => {
    setMsg(null);
    try {
      setPreview(await api.rosterPreview(p, remove));
    } catch (e) {
      setPreview(null);
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  const apply = async () => {
    try {
      const c = await api.rosterImport(path, removeMissing);
      const left = c.missing_leave ? `, ${c.missing.length} left their class` : "";
      const consent = c.consent.length ? `, ${c.consent.length} consent decision(s) recorded` : "";
      setMsg({ kind: "ok", text: `Imported: ${c.added.length} added, ${c.changed.length} changed, ${c.classes_created.length} new class(es)${left}${consent}.` });
      setPreview(null);
      onImported();
    } catch (e) {
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  return (
    <div class="card">
      <h2>Import a roster</h2>
      <p class="hint">
        CSV or Excel, columns student_id, first_name, last_name, class; optional consent (granted / withdrawn / objected), consent_by, consent_date.
        Nothing changes until you press Import.
      </p>
      <div class="row">
        <input name="roster-path" aria-label="Roster file" value={path} placeholder="roster.csv" onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        <button type="button" onClick={browse}>
          Browse…
        </button>
        <button type="button" onClick={() => check()} disabled={!path}>
          Preview
        </button>
      </div>
      <label class="hint">
        <input
          type="checkbox"
          name="roster-remove-missing"
          checked={removeMissing}
          onChange={(e) => {
            const v = (e.target as HTMLInputElement).checked;
            setRemoveMissing(v);
            if (preview) check(path, v);
          }}
        />{" "}
        Students of these classes who are not in the file have left (their register so far is kept)
      </label>
      {preview ? (
        <div class="preview">
          <p>
            {preview.entries.length} student(s) in {new Set(preview.entries.map((e) => e.class)).size} class(es)
            {preview.encoding && preview.encoding !== "UTF-8" ? ` (read as ${preview.encoding}: if names look wrong, save the file as CSV UTF-8)` : ""}.
          </p>
          <RosterChangeList changes={preview.changes} />
          {preview.problems.length ? (
            <Notice kind="error">
              Fix these rows first:
              <ul>
                {preview.problems.map((p) => (
                  <li key={p.row}>
                    row {p.row}: {p.problem}
                  </li>
                ))}
              </ul>
            </Notice>
          ) : (
            <button class="primary" onClick={apply}>
              Import {preview.entries.length} student(s)
            </button>
          )}
        </div>
      ) : null}
      {msg ? <Notice kind={msg.kind}>{msg.text}</Notice> : null}
    </div>
  );
}

function Enrolment({ student, defaultSource, onClose }: { student: StudentRow; defaultSource: string; onClose: () => void }) {
  const [verdicts, setVerdicts] = useState<PhotoVerdict[]>([]);
  const [busy, setBusy] = useState(false);
  const [source, setSource] = useState(defaultSource);
  const [camera, setCamera] = useState(false);
  const [picture, setPicture] = useState<Picture | null>(null);
  const [quality, setQuality] = useState<{ ok: boolean; message: string } | null>(null);
  const [captures, setCaptures] = useState<string[]>([]);
  // Capture takes the last picture the preview judged usable (kept by the backend), so the button
  // stays enabled from the first good picture on, even while the current one is not good.
  const [usableSeen, setUsableSeen] = useState(false);
  const [advice, setAdvice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => () => void api.previewStop(), []);

  const photos = async () => {
    const files = await open({ multiple: true, filters: [{ name: "Photos", extensions: ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"] }] });
    if (!files || !files.length) return;
    setBusy(true);
    try {
      const r = await api.enrolPhotos(student.student_id, files as string[]);
      setVerdicts(r.verdicts);
      setAdvice(r.advice);
    } catch (e) {
      setError(errorText(e));
    }
    setBusy(false);
  };
  const startCamera = async () => {
    setError(null);
    try {
      await api.previewStart(source, (m) => {
        if (m.kind === "frame") setPicture(m.picture);
        else if (m.kind === "quality") {
          setQuality({ ok: m.ok, message: m.message });
          if (m.ok) setUsableSeen(true);
        }
        else if (m.kind === "ended") {
          setCamera(false);
          if (m.error) setError(m.error);
        }
      });
      setCamera(true);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const capture = async () => {
    try {
      setUsableSeen(false);
      const r = await api.previewCapture(student.student_id);
      setAdvice(r.advice);
      setCaptures((c) => [...c, r.accepted ? `Capture ${c.length + 1}: enrolled (face ${Math.round(r.face_size ?? 0)} px)` : `Not enrolled: ${r.reason}`]);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div class="card enrolment" role="dialog" aria-label={`Enrol ${student.name}`}>
      <h2>
        Enrol {student.name} <small>({student.student_id})</small>
      </h2>
      <p class="hint">Use 3–5 pictures: facing the camera, good light, one face in each. Only the face measurements are stored, not the pictures.</p>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {advice ? (
        <Notice kind="info" testid="enrol-advice">
          {advice}
        </Notice>
      ) : null}
      {student.consent !== "granted" ? (
        <Notice kind="info" testid="enrol-consent">
          No usable consent is on record for {student.name}: enrolment will be refused. Record a parent's written consent first (Consent…); until then
          they are registered by hand.
        </Notice>
      ) : null}
      <div class="two-col">
        <div>
          <h3>From photos</h3>
          <button onClick={photos} disabled={busy}>
            {busy ? "Checking…" : "Choose photos…"}
          </button>
          <ul class="verdicts">
            {verdicts.map((v) => (
              <li key={v.photo} class={v.accepted ? "ok" : "bad"}>
                {v.photo.split(/[\\/]/).pop()}: {v.accepted ? "enrolled" : v.reason}
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h3>With the camera</h3>
          {camera ? (
            <>
              {/* The buttons above the picture: below it, a small window pushes them out of sight. */}
              <div class="row">
                <button class="primary" onClick={capture} disabled={!usableSeen} title="Enrols the last picture judged good">
                  Capture
                </button>
                <button onClick={() => api.previewStop().then(() => setCamera(false))}>Stop camera</button>
              </div>
              {quality ? <Notice kind={quality.ok ? "ok" : "info"}>{quality.message}</Notice> : null}
              <VideoView picture={picture} placeholder="Starting the camera…" />
              <ul class="verdicts">
                {captures.map((c, i) => (
                  <li key={i}>{c}</li>
                ))}
              </ul>
            </>
          ) : (
            <>
              <SourcePicker id="enrol-source" value={source} onChange={setSource} />
              <button onClick={startCamera}>Start camera</button>
            </>
          )}
        </div>
      </div>
      <button onClick={onClose}>Done</button>
    </div>
  );
}
