// Live: every room taking the roll (a grid when there are several), one of them large with
// names over faces, and its lesson's roster filling in as students arrive.
import { useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  clock,
  errorText,
  isoDate,
  lessonInFocus,
  roomKey,
  type ClassInfo,
  type DailyReport,
  type FaceView,
  type LiveStats,
  type Picture,
  type RollEvent,
  type RoomInfo,
  type RoomMessage,
} from "../api";
import { ClassSelect, Empty, Notice, StatusChip } from "../components/common";
import { SourcePicker } from "../components/source";
import { VideoView } from "../components/video";

/** What the page knows of one room. */
interface Room {
  class: string;
  lesson: string;
  source: string;
  running: boolean;
  picture: Picture | null;
  faces: FaceView[];
  stats: LiveStats | null;
  lost: string | null;
  error: string | null;
  /** Why the liveness check is not running although the school asked for it. */
  unchecked: string | null;
  /** Students this roll will often ask to look at the camera again (their photos disagree). */
  retake: number;
  log: RollEvent[];
}

const newRoom = (r: { class: string; lesson: string; source?: string }): Room => ({
  class: r.class,
  lesson: r.lesson,
  source: r.source ?? "",
  running: true,
  picture: null,
  faces: [],
  stats: null,
  lost: null,
  error: null,
  unchecked: null,
  retake: 0,
  log: [],
});

/** The entrance's room: "Entrance", or "Entrance (Gate A)" from the timetable (core: schedule::entrance_name). */
const isEntrance = (room: string | undefined) => room === "Entrance" || !!room?.startsWith("Entrance (");

export function LivePage({
  classes,
  defaultSource,
  office,
  visible,
  onNavigate,
}: {
  classes: ClassInfo[];
  defaultSource: string;
  /** An office account may also take the roll at the entrance (the whole school). */
  office: boolean;
  /** The page stays mounted while hidden (the rooms stream to it); shown again, it reloads the roster. */
  visible: boolean;
  onNavigate: (page: string) => void;
}) {
  const [klass, setKlass] = useState(classes[0]?.name ?? "");
  const [source, setSource] = useState(defaultSource);
  const [rooms, setRooms] = useState<Record<string, Room>>({});
  // The room shown large; null: the form to start one.
  const [focus, setFocus] = useState<string | null>(null);
  const [report, setReport] = useState<DailyReport | null>(null);
  const [startAt, setStartAt] = useState("");
  const [atEntrance, setAtEntrance] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Frames are drawn at the display's pace: only each room's newest waiting frame is rendered.
  const frames = useRef<Record<string, Extract<RoomMessage, { kind: "frame" }>>>({});
  const frameScheduled = useRef(false);

  useEffect(() => {
    if (!klass && classes.length) setKlass(classes[0].name);
  }, [classes]);

  const focused = focus ? rooms[focus] : undefined;
  const entranceFocused = isEntrance(focused?.class);
  const rosterClass = focused && !entranceFocused ? focused.class : klass;

  // Bumped by any room's mark or end: the roster shown is read again (the messages arrive on a
  // listener made once, so they ask for a refresh rather than call one with stale state).
  const [changed, setChanged] = useState(0);
  const refresh = async (k = rosterClass) => {
    if (!k) return;
    try {
      setReport(await api.reportDaily(k, isoDate(new Date())));
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    if (visible) refresh();
  }, [rosterClass, visible, changed]);
  const changedNow = () => setChanged((c) => c + 1);

  const update = (key: string, change: (r: Room) => Partial<Room>, base?: { class: string; lesson: string }) =>
    setRooms((all) => {
      const r = all[key] ?? (base ? newRoom(base) : undefined);
      return r ? { ...all, [key]: { ...r, ...change(r) } } : all;
    });

  const onMessage = (m: RoomMessage) => {
    const key = roomKey(m);
    switch (m.kind) {
      case "frame":
        frames.current[key] = m;
        if (!frameScheduled.current) {
          frameScheduled.current = true;
          requestAnimationFrame(() => {
            frameScheduled.current = false;
            const waiting = frames.current;
            frames.current = {};
            setRooms((all) => {
              const next = { ...all };
              for (const [k, f] of Object.entries(waiting)) if (next[k]) next[k] = { ...next[k], picture: f.picture, faces: f.faces, stats: f.stats };
              return next;
            });
          });
        }
        break;
      case "event":
        update(key, (r) => ({ log: [m.event, ...r.log].slice(0, 50) }));
        if (m.event.event === "marked") changedNow();
        break;
      case "source_lost":
        update(key, () => ({ lost: `Camera lost: reconnecting (attempt ${m.attempt}). Marks so far are saved.` }));
        break;
      case "source_back":
        update(key, () => ({ lost: null }));
        break;
      case "started":
        update(key, () => ({ running: true, source: m.info.source, unchecked: m.info.liveness_unavailable ?? null, retake: m.info.photos_to_retake ?? 0 }), m);
        // A room the timetable started is shown large when nothing else is.
        setFocus((f) => f ?? key);
        changedNow();
        break;
      case "ended":
        update(key, () => ({ running: false, lost: null }));
        changedNow();
        break;
      case "failed":
        update(key, () => ({ running: false, lost: null, error: m.error }));
        changedNow();
        break;
    }
  };

  // Listen to every room (again after a sign-in: the page stays mounted); rooms already running
  // (the timetable's, or started before the last sign-in) appear at once.
  useEffect(() => {
    if (!visible) return;
    api
      .liveWatch(onMessage)
      .then((running: RoomInfo[]) => {
        setRooms((all) => {
          const next = { ...all };
          for (const r of running) next[roomKey(r)] = { ...(next[roomKey(r)] ?? newRoom(r)), running: true, source: r.source };
          return next;
        });
        if (running.length) setFocus((f) => f ?? roomKey(running[0]));
      })
      .catch((e) => setError(errorText(e)));
  }, [visible]);

  const start = async () => {
    setError(null);
    try {
      const r = await api.sessionStart(klass, source, atEntrance ? null : startAt || null, atEntrance);
      const key = roomKey(r);
      setRooms((all) => ({ ...all, [key]: { ...newRoom(r), picture: all[key]?.picture ?? null } }));
      setFocus(key);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const stop = async (room: Room) => {
    await api.sessionStop({ class: room.class, lesson: room.lesson }).catch((e) => setError(errorText(e)));
    update(roomKey(room), () => ({ running: false, lost: null }));
  };
  // The alternative way: a person registers a student the camera may not (or cannot) recognise.
  const markPresent = async (studentId: string) => {
    try {
      await api.markByHand(rosterClass, isoDate(new Date()), roll?.lesson || null, studentId, "present");
      refresh();
    } catch (e) {
      setError(errorText(e));
    }
  };

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

  const running = !!focused?.running;
  const current = classes.find((c) => c.name === rosterClass);
  const roll = report ? lessonInFocus(report, focused ? focused.lesson : null) : undefined;
  const others = Object.entries(rooms).filter(([k, r]) => r.running && k !== focus);
  return (
    <section class="live">
      <h1>Live</h1>
      <div class="toolbar">
        {focused && running ? (
          <>
            <strong class="room-name" data-testid="room-name">
              {focused.class} · lesson {focused.lesson}
            </strong>
            <button class="primary danger" id="stop-session" onClick={() => stop(focused)}>
              Stop session
            </button>
            <button id="new-room" onClick={() => setFocus(null)} title="Take another class's roll on another camera at the same time">
              Another room…
            </button>
          </>
        ) : (
          <>
            <ClassSelect name="class" classes={classes} value={klass} onChange={(k) => { setKlass(k); setFocus(null); }} disabled={atEntrance} />
            {office ? (
              <label title="One camera at the school's gate: every enrolled student is marked in the lesson on for them (or their next one today)">
                <input type="checkbox" id="at-entrance" checked={atEntrance} onChange={(e) => setAtEntrance((e.target as HTMLInputElement).checked)} /> At the entrance (whole school)
              </label>
            ) : null}
            <button class="primary" id="start-session" onClick={start} disabled={(!klass && !atEntrance) || !source}>
              Start session
            </button>
          </>
        )}
        {focused?.stats ? (
          <span class="stats" data-testid="stats">
            {focused.stats.fps.toFixed(0)} fps · {focused.stats.marked} marked
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
      {error ? (
        <Notice kind="error">
          {error} {running ? null : "Choose another camera, a video file or a stream above and start again."}
        </Notice>
      ) : null}
      {focused?.error ? <Notice kind="error">{`${focused.class} · lesson ${focused.lesson}: ${focused.error}`}</Notice> : null}
      {focused?.unchecked ? (
        <Notice kind="error" testid="liveness-unavailable">
          {`The liveness check is unavailable, so a photo or a screen held up is not caught: ${focused.unchecked}`}
        </Notice>
      ) : null}
      {focused?.retake ? (
        <Notice kind="info" testid="photos-to-retake">
          {`${focused.retake} student(s) of this roll will often be asked to look at the camera again: their enrolled photos disagree with each other. Check photos on the Students page names them; photograph them again.`}
        </Notice>
      ) : null}
      {focused?.lost ? (
        <Notice kind="info" testid="source-lost">
          {focused.lost}
        </Notice>
      ) : null}
      {focused?.stats?.unsaved ? (
        <Notice kind="info" testid="register-away">
          {focused.stats.register_on_server
            ? `The school's server cannot be reached: ${focused.stats.unsaved} sighting(s) are kept on this PC and written to the register when it is back. The roll goes on.`
            : `The register is busy (another program is writing to it): ${focused.stats.unsaved} sighting(s) wait on this PC and are written when it frees. The roll goes on.`}
        </Notice>
      ) : null}
      {current && current.enrolled === 0 ? (
        <Notice kind="info">
          Nobody in {current.name} is enrolled yet, so every face will be "unknown" (or "not in this class" for the school's other students).{" "}
          <button onClick={() => onNavigate("students")}>Enrol students</button>
        </Notice>
      ) : null}
      {others.length ? (
        <div class="room-grid" aria-label="Other rooms running">
          {others.map(([k, r]) => (
            <div class="room-tile" key={k} data-room={k}>
              <button class="room-focus" onClick={() => setFocus(k)} title="Show this room large">
                <VideoView picture={r.picture} faces={r.faces} placeholder="Waiting for the first picture…" testid="room-video" />
              </button>
              <div class="room-caption">
                <strong>
                  {r.class} · {r.lesson}
                </strong>
                <span class="stats">{r.stats ? `${r.stats.fps.toFixed(0)} fps · ${r.stats.marked} marked` : "starting…"}</span>
                {r.lost ? <span class="room-lost">camera lost</span> : null}
                {r.stats?.unsaved ? <span class="room-lost">{r.stats.register_on_server ? "server away" : "register busy"}</span> : null}
                <button class="room-stop" onClick={() => stop(r)}>
                  Stop
                </button>
              </div>
            </div>
          ))}
        </div>
      ) : null}
      <div class="live-grid">
        <VideoView picture={focused?.picture ?? null} faces={focused?.faces ?? []} placeholder={running ? "Waiting for the first picture…" : "Press Start session to take the roll."} />
        {entranceFocused && focused ? (
          <aside class="roster" aria-label="At the entrance">
            <h2>At the entrance</h2>
            <p class="hint">Each student recognised is marked in the lesson on for them now, or their next lesson today, in each of their classes.</p>
            <ul data-testid="entrance-marks">
              {focused.log
                .filter((e) => e.event === "marked")
                .map((e, i) =>
                  e.event === "marked" ? (
                    <li key={i} data-student={e.student_id}>
                      <span class="name">{e.name}</span>
                      <span class="seen">{clock(e.at)}</span>
                      <StatusChip status={e.status} manual={false} />
                    </li>
                  ) : null,
                )}
            </ul>
          </aside>
        ) : (
        <aside class="roster" aria-label="Today's roster">
          <h2>
            {rosterClass} today {roll?.lesson ? <small data-testid="lesson">lesson {roll.lesson}{roll.ends ? `–${roll.ends}` : ""}</small> : null}
          </h2>
          {roll && roll.students.length ? (
            <ul>
              {roll.students.map((s) => (
                <li key={s.student_id} data-student={s.student_id} class={s.by_hand ? "by-hand" : undefined}>
                  <span class="name">
                    {s.name}
                    {s.by_hand ? <small title="no consent for the camera, or no face enrolled"> by hand</small> : null}
                    {s.review ? (
                      <small class="review warn" title={s.review}>
                        {" "}
                        check: photo or screen?
                      </small>
                    ) : null}
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
        )}
      </div>
      {focused?.log.length ? (
        <ol class="event-log" aria-label="What happened">
          {focused.log.map((e, i) => (
            <li key={i} class={e.event === "spoof" ? "spoof" : undefined}>
              {e.event === "marked"
                ? `${clock(e.at)} ${e.name}: ${e.status}${e.status === "late" ? ` (${e.late_minutes} min)` : ""}`
                : e.event === "spoof"
                  ? `Possible photo or screen held up, looking like ${e.name}: ${e.marked ? "marked, flagged for review" : "not marked"} (in the audit log)`
                  : e.event === "other_class"
                    ? "A student of another class was seen (not marked here)"
                    : "An unknown person was seen"}
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}
