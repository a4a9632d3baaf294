// The one place the UI talks to the backend. Every figure the UI shows comes from here: the UI
// never computes attendance (status, lateness, rates) itself.
import { Channel, invoke } from "@tauri-apps/api/core";

export type Status = "present" | "late" | "absent" | "excused";
export const STATUSES: Status[] = ["present", "late", "absent", "excused"];
export type Mood = "angry" | "disgust" | "fear" | "happy" | "sad" | "surprise" | "neutral";

export interface Settings {
  school_name: string | null;
  camera: string | null;
  /** "on" | "off"; null until the first-run question is answered. */
  mood: string | null;
  min_face: string | null;
  /** "auto" (or null): the threshold calibrated from the enrolled photos; else a cosine floor. */
  min_similarity: string | null;
  /** "standard" (or null), "strict" or "strictest": the same share of strangers at any school size. */
  strictness: string | null;
  /** "off", "warn" (or null) or "block": what a face judged a photo or a screen held up does. */
  liveness: string | null;
  setup_done: string | null;
  /** Minutes without use before the app locks (default 10). */
  idle_lock_minutes: string | null;
  /** The daily automatic backup: its folder (empty: off) and how many it keeps. */
  backup_folder: string | null;
  backup_keep: string | null;
  /** Retention (days; "keep" or years for attendance): applied by the purge at start and daily. */
  retention_left_days: string | null;
  retention_unmatched_days: string | null;
  retention_mood_days: string | null;
  retention_attendance_years: string | null;
  /** "on": the app starts and stops each timetabled lesson's session by itself. */
  timetable_sessions: string | null;
}

export type Role = "office" | "teacher";

/** Who is signed in: an office account does everything; a teacher sees the classes it teaches. */
export interface Account {
  name: string;
  role: Role;
  classes: string[];
}

export interface AppInfo {
  /** null: nobody is signed in (the sign-in screen). */
  account: Account | null;
  /** false on a new database: the first-run setup creates the first office account. */
  accounts_exist: boolean;
  idle_lock_minutes: number;
  version: string;
  database: string;
  data_folder: string;
  /** The register is the school's PostgreSQL server rather than this PC's file. */
  on_server: boolean;
  engine: "loading" | "ready" | "failed";
  engine_error: string | null;
  session_running: boolean;
  settings: Settings;
}

/** One line of the installation's self-test (`rollcall self-test`). */
export interface SelfTestCheck {
  name: string;
  outcome: "ok" | "warning" | "failed" | "skipped";
  /** What was found where. */
  found: string;
  /** What is wrong and what to do (failures and warnings). */
  problem?: string;
  ms: number;
}

export interface SelfTestReport {
  version: string;
  platform: string;
  executable: string | null;
  ok: boolean;
  checks: SelfTestCheck[];
}

export interface ClassInfo {
  name: string;
  session_start: string | null;
  late_after_minutes: number;
  students: number;
  enrolled: number;
}

export interface StudentRow {
  student_id: string;
  first_name: string;
  last_name: string;
  name: string;
  /** The class they are in now; null: they left. */
  class: string | null;
  enrolled_photos: number;
  /** Only "granted" lets the camera enrol and recognise them; the others are registered by hand. */
  consent: ConsentState;
}

export type ConsentState = "none" | "granted" | "withdrawn" | "objected";

/** The photo check of a roll's students: who to photograph again, those the roll would most often turn away first. */
export interface PhotoCheck {
  classes: string[];
  students: number;
  with_photos: number;
  photos: number;
  threshold: number;
  method: string;
  advice: { student_id: string; name: string; photos: number; at_risk: boolean; advice: string[] }[];
}
export type ConsentKind = "granted" | "withdrawn" | "objected";

/** A consent event as a person enters it. */
export interface ConsentRequest {
  kind: ConsentKind;
  by: string;
  relation: string | null;
  date: string;
  how: string | null;
  note: string | null;
}

/** A consent event as recorded. */
export interface ConsentEvent extends ConsentRequest {
  recorded_at: string;
  recorded_by: string;
}

export interface PurgeReport {
  dry_run: boolean;
  at: string;
  policy: { template_days_after_leaving: number; template_days_unrecognised: number; mood_days: number; attendance_years: number | null };
  templates_of_students_who_left: number;
  templates_unrecognised: number;
  mood_summaries: number;
  sessions: number;
  marks: number;
}

export interface StudentDay {
  student_id: string;
  name: string;
  /** null: no register was taken that day. */
  status: Status | null;
  first_seen: string | null;
  last_seen: string | null;
  late_minutes: number;
  mood: string | null;
  mood_distribution: Record<string, number> | null;
  mood_samples: number;
  source: string | null;
  auto_status: Status | null;
  confidence: number | null;
  /** Why a person should check the mark (the camera marked a face judged a photo or a screen). */
  review: string | null;
  /** "camera", "by hand" or "corrected"; null: no mark. */
  how: "camera" | "by hand" | "corrected" | null;
  /** The camera cannot recognise them (no consent, or no face enrolled): a person marks them. */
  by_hand: boolean;
}

/** One lesson's register on a day. */
export interface LessonRoll {
  /** The lesson's scheduled start "HH:MM" (its name within the day); "" for a class with no lesson times. */
  lesson: string;
  /** Its scheduled end "HH:MM", when a timetable gives one. */
  ends: string | null;
  held: boolean;
  open: boolean;
  /** What lateness is judged against. */
  starts_at: string | null;
  /** Students only a person can register, with no mark yet. */
  to_mark_by_hand: number;
  students: StudentDay[];
  counts: Record<Status, number>;
}

/** A class's day: each lesson (held, running, or timetabled and not taken) in the order of the day. */
export interface DailyReport {
  class: string;
  date: string;
  mood: boolean;
  lessons: LessonRoll[];
  session_held: boolean;
  session_open: boolean;
  /** Every held lesson's marks, each student counted once per lesson. */
  counts: Record<Status, number>;
}

/** The lesson a page shows: the running one, else the latest held, else the first. */
export function lessonInFocus(report: DailyReport, lesson?: string | null): LessonRoll | undefined {
  const ls = report.lessons;
  return ls.find((l) => l.lesson === lesson) ?? ls.find((l) => l.open) ?? [...ls].reverse().find((l) => l.held) ?? ls[0];
}

export interface HistoryDay extends StudentDay {
  date: string;
  lesson: string;
  class: string;
}

export interface StudentHistory {
  student_id: string;
  name: string;
  class: string;
  from: string;
  to: string;
  days: HistoryDay[];
  counts: Record<Status, number>;
  attendance_rate: number | null;
}

export interface StudentSummary {
  student_id: string;
  name: string;
  counts: Record<Status, number>;
  attendance_rate: number | null;
  late_minutes_total: number;
  mood: string | null;
  /** Status in each of the summary's lessons (same order). */
  statuses: (Status | null)[];
  moods: (string | null)[];
}

export interface ClassSummary {
  class: string;
  from: string;
  to: string;
  /** Every lesson held in the range (a day with two lessons has two). */
  lessons: { date: string; lesson: string }[];
  students: StudentSummary[];
  counts: Record<Status, number>;
  attendance_rate: number | null;
}

/** One weekly lesson of a class (a stream's password is shown as ***). */
export interface Lesson {
  class: string;
  weekday: "Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun";
  start: string;
  end: string;
  room: string;
  camera: string;
}

/** A lesson as typed on the Timetable page: the words of a timetable file's row. */
export interface LessonInput {
  class: string;
  weekday: string;
  start: string;
  end: string;
  room: string;
  camera: string;
}

/** What a timetable import did, or as a dry run would do. */
export interface TimetableImport {
  file: string;
  dry_run: boolean;
  lessons: number;
  encoding: string | null;
  problems: { row: number; problem: string }[];
  changes: { added: Lesson[]; removed: Lesson[]; unchanged: number; classes: string[] };
  applied: boolean;
}

export interface RosterEntry {
  student_id: string;
  first_name: string;
  last_name: string;
  class: string;
}

/** What a roster import does (or, previewed, would do). */
export interface RosterChanges {
  dry_run: boolean;
  classes_created: string[];
  added: RosterEntry[];
  /** name / class: [old, new] when they change (old class null: in no class until now). */
  changed: { student_id: string; name?: [string, string]; class?: [string | null, string] }[];
  /** [student id, name, class] of students of the file's classes who are not in it. */
  missing: [string, string, string][];
  missing_leave: boolean;
  /** Consent decisions the file records that are not on record yet: [student id, decision]. */
  consent: [string, { kind: ConsentKind; by: string; date: string }][];
  templates_deleted: number;
  unchanged: number;
}

export interface RosterPreview {
  entries: RosterEntry[];
  problems: { row: number; problem: string }[];
  encoding: string | null;
  changes: RosterChanges;
}

/** An error from a command: `code` to act on (e.g. "exists": ask before replacing), `message` to show. */
export interface Failure {
  code: string;
  message: string;
}

export function isFailure(e: unknown, code: string): e is Failure {
  return typeof e === "object" && e !== null && (e as Failure).code === code;
}

export interface PhotoVerdict {
  student_id: string;
  photo: string;
  accepted: boolean;
  face_size?: number;
  reason?: string;
}

export interface Face {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

export interface FaceView {
  face: Face;
  track: number;
  student_id: string | null;
  name: string | null;
  stranger: boolean;
  /** A student of the school, but not of this roll's class(es): not marked here. */
  other_class: boolean;
  mood: Mood | null;
  /** Judged a photo or a screen held up. */
  spoof: boolean;
}

export interface Picture {
  jpeg: string;
  width: number;
  height: number;
}

export interface LiveStats {
  frames: number;
  fps: number;
  faces_seen: number;
  marked: number;
  source_outages: number;
  seconds: number;
  /** Sightings the register could not take yet (kept on this PC, written when it frees). */
  unsaved: number;
  /** Whether the register is the school's server rather than this PC's file. */
  register_on_server: boolean;
}

export interface SessionInfo {
  /** null at the entrance (each student is marked in their own lesson). */
  session_id: number | null;
  class: string;
  date: string;
  /** The lesson's scheduled start "HH:MM". */
  lesson: string;
  /** When the run stops by itself ("HH:MM:SS"), if it does. */
  until: string | null;
  starts_at: string;
  late_after_minutes: number;
  source: string;
  /** This roll's students the camera can recognise ... */
  enrolled: number;
  /** ... among this many of the school's (the recognizer knows every class and marks its own). */
  school_enrolled: number;
  /** Students whose own photos this roll mostly refuses (the office's Check photos names them). */
  photos_to_retake: number;
  mood: boolean;
  /** "off", "warn", "block", or "unavailable" (asked for, but the model could not be loaded: why in liveness_unavailable). */
  liveness: string;
  liveness_unavailable?: string;
}

export type RollEvent =
  | { event: "marked"; student_id: string; name: string; status: Status; at: string; late_minutes: number; similarity: number }
  | { event: "stranger"; track: number }
  | { event: "other_class"; track: number }
  | { event: "spoof"; student_id: string; name: string; score: number | null; still: boolean; marked: boolean };

export type LiveMessage =
  | { kind: "started"; info: SessionInfo }
  | { kind: "frame"; picture: Picture; faces: FaceView[]; stats: LiveStats }
  | { kind: "event"; event: RollEvent }
  | { kind: "source_lost"; attempt: number; wait_seconds: number }
  | { kind: "source_back" }
  | { kind: "ended"; summary: { frames: number; fps: number; marked_total: number } }
  | { kind: "failed"; error: string };

/** A room's message: which room (class, and lesson start "HH:MM") and what happened there. */
export type RoomMessage = LiveMessage & { class: string; lesson: string };

/** A room taking the roll. */
export interface RoomInfo {
  class: string;
  lesson: string;
  source: string;
  by_hand: boolean;
}

/** The key of a room in the Live page: class and lesson. */
export const roomKey = (r: { class: string; lesson: string }) => `${r.class} ${r.lesson}`;

export type PreviewMessage =
  | { kind: "frame"; picture: Picture }
  | { kind: "quality"; ok: boolean; message: string }
  | { kind: "source_lost"; attempt: number }
  | { kind: "ended"; error: string | null };

function channel<T>(onMessage: (m: T) => void): Channel<T> {
  const ch = new Channel<T>();
  ch.onmessage = onMessage;
  return ch;
}

/** Sent when the backend says nobody is signed in (signed out, or locked after the idle time):
 * the window shows the sign-in screen. */
export const SIGNED_OUT_EVENT = "rollcall-signed-out";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (isFailure(e, "signed_out")) window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    throw e;
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  /** The installation's self-test: ONNX Runtime, models, a photo and a video through the engine, a database, the key store, the data folder. */
  selfTest: () => call<SelfTestReport>("self_test"),
  /** On a database with no account yet this creates the first office account. */
  signIn: (name: string, password: string) => call<{ account: Account; created: boolean }>("sign_in", { name, password }),
  signOut: (idle = false) => call<void>("sign_out", { idle }),
  /** Returns how many mood summaries are still stored when mood was switched off. */
  saveSettings: (settings: Partial<Record<keyof Settings, string>>) => call<{ moods_kept: number }>("save_settings", { settings }),
  purgeMoods: () => call<{ deleted: number }>("purge_moods"),
  setDataFolder: (folder: string) => call<{ database: string }>("set_data_folder", { folder }),
  /** The school's server as the register; whoever is signed in signs in again there. */
  setRegisterServer: (address: string, school: string, password: string) =>
    call<{ database: string }>("set_register_server", { address, school: school || null, password: password || null }),

  listClasses: () => call<ClassInfo[]>("list_classes"),
  createClass: (name: string, start: string | null, lateAfterMinutes: number) =>
    call<void>("create_class", { name, start, lateAfterMinutes }),
  updateClass: (name: string, start: string | null, lateAfterMinutes: number) =>
    call<void>("update_class", { name, start, lateAfterMinutes }),

  rosterPreview: (path: string, removeMissing: boolean) => call<RosterPreview>("roster_preview", { path, removeMissing }),
  rosterImport: (path: string, removeMissing: boolean) => call<RosterChanges>("roster_import", { path, removeMissing }),
  listStudents: (klass?: string) => call<StudentRow[]>("list_students", { class: klass ?? null }),
  deleteStudent: (studentId: string) => call<void>("delete_student", { studentId }),
  /** A class's lesson roll, or (no class) the entrance's: every class. */
  checkPhotos: (klass?: string) => call<PhotoCheck>("check_photos", { class: klass ?? null }),
  /** `advice`: how to make the student's photos do better (too few, too alike), or null. */
  enrolPhotos: (studentId: string, photos: string[]) => call<{ verdicts: PhotoVerdict[]; advice: string | null }>("enrol_photos", { studentId, photos }),

  probeCameras: () => call<number[]>("probe_cameras"),
  /** Every room's messages from now on (replacing an earlier listener); the rooms running now. */
  liveWatch: (onMessage: (m: RoomMessage) => void) => call<RoomInfo[]>("live_watch", { channel: channel(onMessage) }),
  /** `entrance`: the whole school at the gate (office accounts), each student marked in their own lesson. */
  sessionStart: (klass: string, source: string, start: string | null, entrance = false) =>
    call<{ class: string; lesson: string; source: string }>("session_start", { class: klass, source, start, entrance }),
  /** Stop one room, or (no class) every room this account sees. */
  sessionStop: (room?: { class: string; lesson: string }) => call<void>("session_stop", { class: room?.class ?? null, lesson: room?.lesson ?? null }),
  previewStart: (source: string, onMessage: (m: PreviewMessage) => void) =>
    call<void>("preview_start", { source, channel: channel(onMessage) }),
  previewCapture: (studentId: string) =>
    call<{ accepted: boolean; reason?: string; face_size?: number; advice: string | null }>("preview_capture", { studentId }),
  previewStop: () => call<void>("preview_stop"),

  reportDaily: (klass: string, date: string) => call<DailyReport>("report_daily", { class: klass, date }),
  reportHistory: (studentId: string, from: string, to: string) =>
    call<StudentHistory>("report_history", { studentId, from, to }),
  reportSummary: (klass: string, from: string, to: string) => call<ClassSummary>("report_summary", { class: klass, from, to }),
  overrideMark: (klass: string, date: string, lesson: string | null, studentId: string, status: Status, reason: string) =>
    call<{ old: Status; new: Status }>("override_mark", { class: klass, date, lesson, studentId, status, reason }),
  /** Fails with code "exists" when the file is there and `overwrite` is false. */
  exportXlsx: (klass: string, from: string, to: string, path: string, overwrite = false) =>
    call<{ path: string; students: number; lessons: number }>("export_xlsx", { class: klass, from, to, path, overwrite }),
  defaultExportPath: (klass: string, from: string, to: string) => call<string>("default_export_path", { class: klass, from, to }),

  consentHistory: (studentId: string) =>
    call<{ student_id: string; name: string; state: ConsentState; history: ConsentEvent[] }>("consent_history", { studentId }),
  recordConsent: (studentId: string, request: ConsentRequest) =>
    call<{ before: ConsentState; after: ConsentState; templates_deleted: number }>("record_consent", { studentId, request }),
  recordConsentBulk: (studentIds: string[], request: ConsentRequest) => call<{ recorded: number }>("record_consent_bulk", { studentIds, request }),
  markByHand: (klass: string, date: string, lesson: string | null, studentId: string, status: Status) =>
    call<{ old: Status; new: Status }>("mark_by_hand", { class: klass, date, lesson, studentId, status }),
  purge: (dryRun: boolean) => call<PurgeReport>("purge", { dryRun }),
  timetable: () => call<Lesson[]>("timetable"),
  timetableImport: (path: string, dryRun: boolean) => call<TimetableImport>("timetable_import", { path, dryRun }),
  /** Change one lesson (`was` names it by class, weekday and start; null adds), or remove it (`now` null). */
  timetableEdit: (was: { class: string; weekday: string; start: string } | null, now: LessonInput | null) =>
    call<Lesson | null>("timetable_edit", { was, now }),
  privacyReport: () => call<string>("privacy_report"),
  /** Fails with code "exists" when the file is there and `overwrite` is false. */
  savePrivacyReport: (path: string, overwrite = false) => call<{ path: string }>("save_privacy_report", { path, overwrite }),
  /** Fails with code "exists" when the file is there and `overwrite` is false. */
  exportStudent: (studentId: string, path: string, overwrite = false) =>
    call<{ path: string; marks: number; consent_events: number; templates: number }>("export_student", { studentId, path, overwrite }),
  /** The student leaves the school: archived (register kept), face data deleted per the retention settings. */
  leaveSchool: (studentId: string) => call<{ classes_left: string[]; templates_deleted: number }>("leave_school", { studentId }),
  defaultDocumentPath: (name: string) => call<string>("default_document_path", { name }),

  /** An encrypted backup now (code "exists": ask before replacing). */
  backupNow: (path: string, passphrase: string, overwrite = false) =>
    call<{ created_at: string; database_bytes: number }>("backup_now", { path, passphrase, overwrite }),
  backupStatus: () => call<{ passphrase_set: boolean; folder: string | null; backups: string[] }>("backup_status"),
  setBackupPassphrase: (passphrase: string) => call<void>("set_backup_passphrase", { passphrase }),
  autoBackupNow: () => call<{ written: string | null; removed: string[] }>("auto_backup_now"),
};

/** Errors from commands carry a sentence already; anything else becomes one. */
export function errorText(e: unknown): string {
  if (typeof e === "string") return e;
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null && typeof (e as Failure).message === "string") return (e as Failure).message;
  return JSON.stringify(e);
}

/** Local date as YYYY-MM-DD (the backend's date format). */
export function isoDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** "2026-11-28T08:03:12" -> "08:03". */
export function clock(t: string | null): string {
  return t ? t.slice(11, 16) : "";
}
