// Settings, and the first-run setup (the same choices, asked once, in order).
import { open, save } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api, errorText, isFailure, isoDate, type AppInfo, type ClassInfo, type SelfTestReport } from "../api";
import { MOOD_NOTICE, Notice } from "../components/common";
import { SourcePicker } from "../components/source";

function MoodChoice({ value, onChange }: { value: string | null; onChange: (v: "on" | "off") => void }) {
  return (
    <fieldset class="mood-choice">
      <legend>Mood recognition</legend>
      <p class="notice notice-info">{MOOD_NOTICE}</p>
      <label>
        <input type="radio" name="mood" id="mood-off" value="off" checked={value === "off"} onChange={() => onChange("off")} /> Off — never run the expression model, store no moods
      </label>
      <label>
        <input type="radio" name="mood" id="mood-on" value="on" checked={value === "on"} onChange={() => onChange("on")} /> On — record each recognised student's mood (only where the law allows it)
      </label>
    </fieldset>
  );
}

export function SettingsPage({ info, classes, reload }: { info: AppInfo; classes: ClassInfo[]; reload: () => void }) {
  const s = info.settings;
  const [school, setSchool] = useState(s.school_name ?? "");
  const [camera, setCamera] = useState(s.camera ?? "0");
  const [idleMinutes, setIdleMinutes] = useState(String(info.idle_lock_minutes));
  const [mood, setMood] = useState<string | null>(s.mood);
  const [minFace, setMinFace] = useState(s.min_face ?? "40");
  const [minSimilarity, setMinSimilarity] = useState(s.min_similarity && s.min_similarity !== "auto" ? s.min_similarity : "");
  const [strictness, setStrictness] = useState(s.strictness ?? "standard");
  const [liveness, setLiveness] = useState(s.liveness ?? "warn");
  const [leftDays, setLeftDays] = useState(s.retention_left_days ?? "0");
  const [unmatchedDays, setUnmatchedDays] = useState(s.retention_unmatched_days ?? "365");
  const [moodDays, setMoodDays] = useState(s.retention_mood_days ?? "30");
  const [attendanceYears, setAttendanceYears] = useState(s.retention_attendance_years ?? "keep");
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);

  const saveAll = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api.saveSettings({ school_name: school, camera, mood: mood ?? "off", idle_lock_minutes: idleMinutes, min_face: minFace, min_similarity: minSimilarity.trim() || "auto",
        strictness,
        liveness,
        retention_left_days: leftDays,
        retention_unmatched_days: unmatchedDays,
        retention_mood_days: moodDays,
        retention_attendance_years: attendanceYears.trim() || "keep",
      });
      let text = "Settings saved.";
      // Mood switched off: what earlier sessions stored is left out of reports and exports; offer to delete it.
      if (r.moods_kept > 0) {
        if (window.confirm(`Mood recognition is off. Delete the ${r.moods_kept} mood summaries earlier sessions stored? (Reports and exports leave them out either way.)`)) {
          const p = await api.purgeMoods();
          text += ` ${p.deleted} stored mood summaries deleted.`;
        } else {
          text += ` ${r.moods_kept} mood summaries from earlier sessions are kept (not shown while mood is off).`;
        }
      }
      setMsg({ kind: "ok", text });
      reload();
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };
  const moveData = async () => {
    const dir = await open({ directory: true, multiple: false });
    if (typeof dir !== "string") return;
    try {
      const r = await api.setDataFolder(dir);
      setMsg({ kind: "ok", text: `Now using ${r.database}.` });
      reload();
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };

  return (
    <section class="settings">
      <h1>Settings</h1>
      <form class="card" onSubmit={saveAll}>
        <label>
          School name <input name="school" value={school} onInput={(e) => setSchool((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Lock the app after{" "}
          <input type="number" name="idle-lock-minutes" min={1} max={240} style={{ width: "5em" }} value={idleMinutes} onInput={(e) => setIdleMinutes((e.target as HTMLInputElement).value)} />{" "}
          minutes without use (whoever comes next signs in; a running session goes on)
        </label>
        <SourcePicker id="settings-source" value={camera} onChange={setCamera} />
        <label>
          Smallest face to look for (pixels; larger is faster, smaller sees further){" "}
          <input type="number" name="min-face" min={20} max={400} value={minFace} onInput={(e) => setMinFace((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Recognition strictness{" "}
          <select name="strictness" value={strictness} onChange={(e) => setStrictness((e.target as HTMLSelectElement).value)}>
            <option value="standard">standard</option>
            <option value="strict">strict</option>
            <option value="strictest">strictest</option>
          </select>
          <small class="hint">
            {" "}
            How far above what strangers score against your school a face must be, so it means about the same at any size. Measured with 2
            photos per student: standard lets 1-2 in 100 strangers through and asks about 2 in 100 students to look at the camera again;
            strictest fewer than 1 in 200 strangers and 4 in 100 students. More photos per student (5) do better on both. Photograph
            again the students that Check photos (Students page) names: strict then lets fewer strangers through than standard did, and asks
            about as few students (or fewer) to look again.
          </small>
        </label>
        <label>
          Recognition: minimum similarity (empty = automatic, learned from the enrolled photos; higher = fewer wrong marks,
          more students asked to look again){" "}
          <input
            type="number"
            name="min-similarity"
            min={0.3}
            max={0.95}
            step={0.01}
            placeholder="auto"
            style={{ width: "6em" }}
            value={minSimilarity}
            onInput={(e) => setMinSimilarity((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          A photo or a phone held up to the camera{" "}
          <select name="liveness" value={liveness} onChange={(e) => setLiveness((e.target as HTMLSelectElement).value)}>
            <option value="warn">warn: mark, but flag for review</option>
            <option value="block">block: do not mark</option>
            <option value="off">off: not checked</option>
          </select>
          <small class="hint">
            {" "}
            Each face is checked over its first frames: a picture in which nothing moves, or a face the liveness model takes for a print or a
            screen, is flagged on the live view and in the audit log. Measured on photos of printed faces: about 1 live face in 60 is
            wrongly flagged, and about a third of printed photos held up still pass the model (a still picture played as a camera is
            always caught). Keep "warn" until you have seen it work with your own camera; "block" then refuses such faces, and a face too
            close to the camera or too small to check is not marked until it can be checked.
          </small>
        </label>
        <MoodChoice value={mood} onChange={setMood} />
        <fieldset class="retention">
          <legend>How long data is kept (applied at start and once a day; Privacy shows what is due)</legend>
          <label>
            Delete a student's face data{" "}
            <input type="number" name="retention-left-days" min={0} max={3650} style={{ width: "5em" }} value={leftDays} onInput={(e) => setLeftDays((e.target as HTMLInputElement).value)} /> days
            after they leave the school (0 = the day they leave)
          </label>
          <label>
            Delete face data not recognised for{" "}
            <input type="number" name="retention-unmatched-days" min={1} max={1095} style={{ width: "5em" }} value={unmatchedDays} onInput={(e) => setUnmatchedDays((e.target as HTMLInputElement).value)} /> days
            (at most 3 years)
          </label>
          <label>
            Keep mood summaries for{" "}
            <input type="number" name="retention-mood-days" min={0} max={3650} style={{ width: "5em" }} value={moodDays} onInput={(e) => setMoodDays((e.target as HTMLInputElement).value)} /> days
          </label>
          <label>
            Keep attendance records for{" "}
            <input name="retention-attendance-years" style={{ width: "5em" }} value={attendanceYears} onInput={(e) => setAttendanceYears((e.target as HTMLInputElement).value)} /> years
            ("keep" = until the school deletes them)
          </label>
        </fieldset>
        <button class="primary" type="submit">
          Save settings
        </button>
        {msg ? <Notice kind={msg.kind}>{msg.text}</Notice> : null}
      </form>
      <div class="card">
        <h2>Late rule per class</h2>
        {classes.map((c) => (
          <ClassRule key={c.name} klass={c} onSaved={reload} />
        ))}
      </div>
      <Backups info={info} reload={reload} />
      <div class="card">
        <h2>Where the register is</h2>
        <p>
          Database: <code data-testid="database">{info.database}</code>
        </p>
        {info.on_server ? (
          <p class="hint">
            The register is on the school's server, shared by the school's PCs; its backups are the server's (the school's IT). A session
            whose server goes away keeps its marks on this PC and writes them when it is back.
          </p>
        ) : (
          <p class="hint">This PC's own file: everything stays on this computer, encrypted. Back it up below to keep the register.</p>
        )}
        <button onClick={moveData}>{info.on_server ? "Use this PC's own file (choose its folder)…" : "Use another data folder…"}</button>
        <ServerChoice onChosen={(text) => { setMsg({ kind: "ok", text }); reload(); }} />
        <p class="hint">
          Face engine: {info.engine}
          {info.engine_error ? ` — ${info.engine_error}` : ""} · Rollcall {info.version}
        </p>
      </div>
      <AboutInstallation />
    </section>
  );
}

/** "The school's server": its address, the school (in a district's database) and the password,
 * which the backend keeps in a password file of its own, never in the settings. */
function ServerChoice({ onChosen }: { onChosen: (text: string) => void }) {
  const [address, setAddress] = useState("");
  const [school, setSchool] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const use = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.setRegisterServer(address.trim(), school.trim(), password);
      setPassword("");
      onChosen(`Now using ${r.database}. Sign in with your account on the school's server.`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details class="server-choice">
      <summary>Use the school's server (PostgreSQL)…</summary>
      <form onSubmit={use}>
        <label>
          Address{" "}
          <input
            name="server-address"
            size={48}
            placeholder="postgres://rollcall@db.school.example/rollcall?sslmode=require"
            value={address}
            onInput={(e) => setAddress((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          School <input name="server-school" placeholder="only if the database holds several" value={school} onInput={(e) => setSchool((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password <input name="server-password" type="password" autocomplete="off" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <p class="hint">
          From the school's IT (README, "A school's server"). Every PC of the school needs the same key file for the students' face data.
        </p>
        <button type="submit" disabled={busy || !address.trim()}>
          {busy ? "Connecting…" : "Use the server"}
        </button>
        {error ? <Notice kind="error">{error}</Notice> : null}
      </form>
    </details>
  );
}

/** "About this installation": the self-test's report (what `rollcall self-test` prints), run on
 * request because it loads the models a second time for a few seconds. */
function AboutInstallation() {
  const [report, setReport] = useState<SelfTestReport | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      setReport(await api.selfTest());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setRunning(false);
    }
  };
  return (
    <div class="card" aria-label="About this installation">
      <h2>About this installation</h2>
      <p class="hint">
        Checks what Rollcall needs on this computer, as <code>rollcall self-test</code> does: the ONNX Runtime library and the models (their checksums), a
        photo and a video through the face engine and the camera's video path, a database, the key store and the data folder.
      </p>
      <button id="self-test" onClick={run} disabled={running}>
        {running ? "Checking…" : "Check this installation"}
      </button>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {report ? (
        <div data-testid="self-test-report">
          <Notice kind={report.ok ? "ok" : "error"}>
            {report.ok
              ? `All ${report.checks.length} checks passed: this installation can take the roll.`
              : `${report.checks.filter((c) => c.outcome === "failed").length} of ${report.checks.length} checks failed.`}
          </Notice>
          <table class="self-test">
            <tbody>
              {report.checks.map((c) => (
                <tr key={c.name} class={`outcome-${c.outcome}`}>
                  <th scope="row">{c.name}</th>
                  <td>{c.outcome}</td>
                  <td>
                    {c.found}
                    {c.problem ? <div class="problem">{c.problem}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="hint">
            Rollcall {report.version} on {report.platform}
            {report.executable ? ` · ${report.executable}` : ""}
          </p>
        </div>
      ) : null}
    </div>
  );
}

/** Backups: one now, to a file the user picks, and the daily automatic backup to a folder. */
function Backups({ info, reload }: { info: AppInfo; reload: () => void }) {
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [folder, setFolder] = useState(info.settings.backup_folder ?? "");
  const [keep, setKeep] = useState(info.settings.backup_keep ?? "14");
  const [status, setStatus] = useState<{ passphrase_set: boolean; backups: string[] } | null>(null);
  const [msg, setMsg] = useState<{ kind: "error" | "ok"; text: string } | null>(null);
  // Where "Back up now" writes unless the user picks another place: the Documents folder.
  const [path, setPath] = useState("");
  const refresh = () => api.backupStatus().then(setStatus, (e) => setMsg({ kind: "error", text: errorText(e) }));
  useEffect(() => {
    refresh();
    api.defaultDocumentPath(`rollcall-${isoDate(new Date())}.rollcall-backup`).then(setPath, () => {});
  }, []);
  const checked = () => {
    if (passphrase !== again) throw new Error("The two passphrases differ.");
    return passphrase;
  };
  const backupNow = async () => {
    try {
      const p = checked();
      try {
        await api.backupNow(path, p);
      } catch (e) {
        if (!isFailure(e, "exists") || !window.confirm(`${path} exists. Replace it?`)) throw e;
        await api.backupNow(path, p, true);
      }
      setMsg({ kind: "ok", text: `Backup written to ${path}. Keep the passphrase safe: without it nobody can read the backup, the school included.` });
    } catch (e) {
      setMsg({ kind: "error", text: errorText(e) });
    }
  };
  const pickFile = async () => {
    const chosen = await save({ defaultPath: path, filters: [{ name: "Rollcall backup", extensions: ["rollcall-backup"] }] });
    if (chosen) setPath(chosen);
  };
  const pickFolder = async () => {
    const dir = await open({ directory: true, multiple: false });
    if (typeof dir === "string") setFolder(dir);
  };
  const saveAuto = async (e: Event) => {
    e.preventDefault();
    try {
      if (passphrase || again) await api.setBackupPassphrase(checked());
      await api.saveSettings({ backup_folder: folder, backup_keep: keep });
      let text = folder ? "Automatic backup saved." : "Automatic backup is off.";
      if (folder) {
        const r = await api.autoBackupNow();
        text += ` First backup: ${r.written}.`;
      }
      setMsg({ kind: "ok", text });
      setPassphrase("");
      setAgain("");
      refresh();
      reload();
    } catch (err) {
      setMsg({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <form class="card" onSubmit={saveAuto} aria-label="Backups">
      <h2>Backups</h2>
      <p class="hint">
        A backup is the whole register, encrypted with a passphrase the school chooses. Write the passphrase down and keep it somewhere safe: a restore
        (<code>rollcall restore FILE</code>) needs it, and nobody can recover it.
      </p>
      <label>
        Passphrase <input type="password" name="backup-passphrase" autocomplete="new-password" value={passphrase} onInput={(e) => setPassphrase((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        The same again <input type="password" name="backup-passphrase-again" autocomplete="new-password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
      </label>
      <div class="row">
        <label>
          Back up to <input name="backup-path" size={50} value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" onClick={pickFile}>
          Choose…
        </button>
        <button type="button" id="backup-now" onClick={backupNow} disabled={!passphrase || !path}>
          Back up now
        </button>
      </div>
      <fieldset>
        <legend>Daily automatic backup{status ? (status.passphrase_set ? " (passphrase set)" : " (no passphrase set yet)") : ""}</legend>
        <label>
          Folder <input name="backup-folder" value={folder} placeholder="off" onInput={(e) => setFolder((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" onClick={pickFolder}>
          Choose…
        </button>
        <label>
          Keep the last <input type="number" name="backup-keep" min={1} max={365} style={{ width: "5em" }} value={keep} onInput={(e) => setKeep((e.target as HTMLInputElement).value)} /> backups
        </label>
        <button type="submit" id="save-auto-backup">
          Save automatic backup
        </button>
        {status?.backups.length ? <p class="hint">Latest: {status.backups[status.backups.length - 1]} ({status.backups.length} kept)</p> : null}
      </fieldset>
      {msg ? (
        <Notice kind={msg.kind} testid="backup-result">
          {msg.text}
        </Notice>
      ) : null}
    </form>
  );
}

function ClassRule({ klass, onSaved }: { klass: ClassInfo; onSaved: () => void }) {
  const [start, setStart] = useState(klass.session_start ?? "");
  const [late, setLate] = useState(klass.late_after_minutes);
  const [msg, setMsg] = useState<string | null>(null);
  return (
    <form
      class="row"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.updateClass(klass.name, start || null, late);
          setMsg("saved");
          onSaved();
        } catch (err) {
          setMsg(errorText(err));
        }
      }}
    >
      <strong>{klass.name}</strong>
      <label>
        starts <input type="time" value={start} onInput={(e) => setStart((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        late after <input type="number" min={0} max={120} value={late} onInput={(e) => setLate(Number((e.target as HTMLInputElement).value))} /> min
      </label>
      <button type="submit">Save</button>
      {msg ? <span class="hint">{msg}</span> : null}
    </form>
  );
}

/** First run: the first office account (on a new database), school, first class, camera and the
 * mood question, instead of an empty window. */
export function SetupPage({ info, onDone }: { info: AppInfo; onDone: () => void }) {
  const [school, setSchool] = useState(info.settings.school_name ?? "");
  const newAccount = !info.accounts_exist;
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [klass, setKlass] = useState("");
  const [start, setStart] = useState("08:30");
  const [late, setLate] = useState(10);
  const [camera, setCamera] = useState("0");
  const [mood, setMood] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const finish = async (e: Event) => {
    e.preventDefault();
    if (!mood) {
      setError("Please choose whether mood recognition is on or off.");
      return;
    }
    if (newAccount && password !== again) {
      setError("The two passwords differ.");
      return;
    }
    try {
      if (newAccount) await api.signIn(name, password);
      if (klass.trim()) await api.createClass(klass.trim(), start || null, late);
      await api.saveSettings({ school_name: school, camera, mood, min_face: "40", setup_done: "yes" });
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <main class="setup">
      <form class="card" onSubmit={finish} aria-label="First-run setup">
        <h1>Welcome to Rollcall</h1>
        <p>Four questions and you are ready. You can change all of this later in Settings.</p>
        <label>
          1. School name <input name="setup-school" value={school} onInput={(e) => setSchool((e.target as HTMLInputElement).value)} />
        </label>
        {newAccount ? (
          <fieldset>
            <legend>Your office account (it can do everything, including creating the staff's accounts)</legend>
            <label>
              Your name <input name="setup-name" autocomplete="username" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Password (10 characters or more) <input name="setup-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              The same again <input name="setup-password-again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
            </label>
          </fieldset>
        ) : null}
        <fieldset>
          <legend>2. First class (optional: a roster import creates classes too)</legend>
          <label>
            Name <input name="setup-class" value={klass} onInput={(e) => setKlass((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Lesson starts <input type="time" value={start} onInput={(e) => setStart((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Late after (minutes) <input type="number" min={0} value={late} onInput={(e) => setLate(Number((e.target as HTMLInputElement).value))} />
          </label>
        </fieldset>
        <div>
          <strong>3.</strong>
          <SourcePicker id="setup-source" value={camera} onChange={setCamera} />
        </div>
        <div>
          <strong>4.</strong>
          <MoodChoice value={mood} onChange={setMood} />
        </div>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button class="primary" type="submit" id="finish-setup">
          Start using Rollcall
        </button>
      </form>
    </main>
  );
}
