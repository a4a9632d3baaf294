// Live: the camera with names over faces, and today's roster filling in as students arrive.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, clock, errorText, isoDate, lessonInFocus, type ClassInfo, type DailyReport, type FaceView, type LiveMessage, type LiveStats, type Picture, type RollEvent } from "../api";
import { ClassSelect, Empty, Notice, StatusChip } from "../components/common";
import { SourcePicker } from "../components/source";
import { VideoView } from "../components/video";

export function LivePage({
  classes,
  defaultSource,
  sessionRunning,
  visible,
  onNavigate,
}: {
  classes: ClassInfo[];
  defaultSource: string;
  /** The backend has a session running (perhaps started before the last sign-in, by someone else). */
  sessionRunning: boolean;
  /** The page stays mounted while hidden (a session streams to it); shown again, it reloads the roster. */
  visible: boolean;
  onNavigate: (page: string) => void;
}) {
  const [klass, setKlass] = useState(classes[0]?.name ?? "");
  const [source, setSource] = useState(defaultSource);
  const [running, setRunning] = useState(false);
  const [picture, setPicture] = useState<Picture | null>(null);
  const [faces, setFaces] = useState<FaceView[]>([]);
  const [stats, setStats] = useState<LiveStats | null>(null);
  const [report, setReport] = useState<DailyReport | null>(null);
  // The lesson the running session registers (from its "started" message); empty: the timetable's.
  const [lesson, setLesson] = useState<string | null>(null);
  const [startAt, setStartAt] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [lost, setLost] = useState<string | null>(null);
  const [log, setLog] = useState<RollEvent[]>([]);
  const frameQueued = useRef<Extract<LiveMessage, { kind: "frame" }> | null>(null);

  useEffect(() => {
    if (!klass && classes.length) setKlass(classes[0].name);
  }, [classes]);

  const refresh = async (k = klass) => {
    if (!k) return;
    try {
      setReport(await api.reportDaily(k, isoDate(new Date())));
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    if (visible) refresh();
  }, [klass, visible]);

  // Frames are drawn at the display's pace: only the newest waiting frame is rendered.
  const onMessage = (m: LiveMessage) => {
    switch (m.kind) {
      case "frame":
        if (!frameQueued.current) {
          requestAnimationFrame(() => {
            const f = frameQueued.current;
            frameQueued.current = null;
            if (f) {
              setPicture(f.picture);
              setFaces(f.faces);
              setStats(f.stats);
            }
          });
        }
        frameQueued.current = m;
        break;
      case "event":
        setLog((l) => [m.event, ...l].slice(0, 50));
        if (m.event.event === "marked") refresh();
        break;
      case "source_lost":
        setLost(`Camera lost: reconnecting (attempt ${m.attempt}). Marks so far are saved.`);
        break;
      case "source_back":
        setLost(null);
        break;
      case "started":
        setLesson(m.info.lesson);
        refresh();
        break;
      case "ended":
        setRunning(false);
        setLost(null);
        refresh();
        break;
      case "failed":
        setRunning(false);
        setError(m.error);
        refresh();
        break;
    }
  };

  const start = async () => {
    setError(null);
    setLog([]);
    try {
      await api.sessionStart(klass, source, startAt || null, onMessage);
      setRunning(true);
    } catch (e) {
      setError(errorText(e));
    }
  };
  // The alternative way: a person registers a student the camera may not (or cannot) recognise.
  const markPresent = async (studentId: string) => {
    try {
      await api.markByHand(klass, isoDate(new Date()), roll?.lesson || null, studentId, "present");
      refresh();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const stop = async () => {
    await api.sessionStop().catch((e) => setError(errorText(e)));
    setRunning(false);
    setOrphan(false);
  };
  // A session this page did not start (another account signed in meanwhile) can still be stopped.
  const [orphan, setOrphan] = useState(false);
  useEffect(() => setOrphan(sessionRunning && !running), [sessionRunning]);

  if (!classes.length) {
    return (
      <section>
        <h1>Live</h1>
        <Empty title="No class yet">
          Create a class and enrol its students first. <button onClick={() => onNavigate("students")}>Go to Students</button>
        </Empty>
      </section>
    );
  }

  const current = classes.find((c) => c.name === klass);
  const roll = report ? lessonInFocus(report, running ? lesson : null) : undefined;
  return (
    <section class="live">
      <h1>Live</h1>
      <div class="toolbar">
        <ClassSelect name="class" classes={classes} value={klass} onChange={setKlass} disabled={running} />
        {running ? (
          <button class="primary danger" id="stop-session" onClick={stop}>
            Stop session
          </button>
        ) : (
          <button class="primary" id="start-session" onClick={start} disabled={!klass || !source}>
            Start session
          </button>
        )}
        {stats ? (
          <span class="stats" data-testid="stats">
            {stats.fps.toFixed(0)} fps · {stats.marked} marked
          </span>
        ) : null}
      </div>
      {!running ? (
        <>
          <SourcePicker id="live-source" value={source} onChange={setSource} />
          <label class="hint">
            Lesson start{" "}
            <input type="time" name="lesson-start" value={startAt} onInput={(e) => setStartAt((e.target as HTMLInputElement).value)} />{" "}
            <small>empty: the timetable's lesson on now (or the class's usual start)</small>
          </label>
        </>
      ) : null}
      {orphan && !running ? (
        <Notice kind="info" testid="orphan-session">
          A session started before the last sign-in is still taking the roll. <button id="stop-orphan" onClick={stop}>Stop it</button>
        </Notice>
      ) : null}
      {error ? (
        <Notice kind="error">
          {error} {running ? null : "Choose another camera, a video file or a stream above and start again."}
        </Notice>
      ) : null}
      {lost ? (
        <Notice kind="info" testid="source-lost">
          {lost}
        </Notice>
      ) : null}
      {current && current.enrolled === 0 ? (
        <Notice kind="info">
          Nobody in {current.name} is enrolled yet, so every face will be "unknown". <button onClick={() => onNavigate("students")}>Enrol students</button>
        </Notice>
      ) : null}
      <div class="live-grid">
        <VideoView picture={picture} faces={faces} placeholder={running ? "Waiting for the first picture…" : "Press Start session to take the roll."} />
        <aside class="roster" aria-label="Today's roster">
          <h2>
            Today {roll?.lesson ? <small data-testid="lesson">lesson {roll.lesson}{roll.ends ? `–${roll.ends}` : ""}</small> : null}
          </h2>
          {roll && roll.students.length ? (
            <ul>
              {roll.students.map((s) => (
                <li key={s.student_id} data-student={s.student_id} class={s.by_hand ? "by-hand" : undefined}>
                  <span class="name">
                    {s.name}
                    {s.by_hand ? <small title="no consent for the camera, or no face enrolled"> by hand</small> : null}
                  </span>
                  <span class="seen">{s.first_seen ? clock(s.first_seen) : ""}</span>
                  {s.by_hand && !s.how ? (
                    <button class="mark-present" onClick={() => markPresent(s.student_id)} title="Register by hand: present">
                      Mark present
                    </button>
                  ) : (
                    <StatusChip status={s.status} manual={s.how !== null && s.how !== "camera"} />
                  )}
                </li>
              ))}
            </ul>
          ) : (
            <Empty title="No students in this class">Import a roster on the Students page.</Empty>
          )}
          {roll ? (
            <p class="counts">
              {roll.counts.present} present · {roll.counts.late} late · {roll.counts.absent} not seen
              {roll.to_mark_by_hand ? <strong data-testid="to-mark-by-hand"> · {roll.to_mark_by_hand} to mark by hand</strong> : null}
            </p>
          ) : null}
        </aside>
      </div>
      {log.length ? (
        <ol class="event-log" aria-label="What happened">
          {log.map((e, i) => (
            <li key={i}>{e.event === "marked" ? `${clock(e.at)} ${e.name}: ${e.status}${e.status === "late" ? ` (${e.late_minutes} min)` : ""}` : "An unknown person was seen"}</li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}
