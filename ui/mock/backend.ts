// An in-memory stand-in for the Rust backend, for UI tests only (vitest and the mocked browser
// test). It is never part of the product build: only `vite build --mode mock` and the unit
// tests import it.
import { mockIPC } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import type { Account, ConsentState, DailyReport, LiveMessage, RoomMessage, Status } from "../src/api";

const FRAME = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAA8AFADAREAAhEBAxEB/8QAHAABAQACAgMAAAAAAAAAAAAAAAgGBwIJAwQF/8QAKhAAAQQBAwMDAwUAAAAAAAAAAQACAwQFBgcRCBITITFBUVNhFDJxg6P/xAAYAQEBAQEBAAAAAAAAAAAAAAAAAQIFBv/EABYRAQEBAAAAAAAAAAAAAAAAAAABEf/aAAwDAQACEQMRAD8AkRewcIQEBAQEBAQEBAQEBAQZdo/aTcrXsbZ9JaMyWQrucWCyIvHXLh7jyv4ZyPpyia9zVmx27WiK0l3UuhMlXqwt75bETW2IY2/V0kRc1o/khDWCoogICAgICDf/AEobFUdzczZ1Zqur5tP4WVsTa7ge25aI7uwn5YwFrnD57mD1BKJavCvXr1K8VWrBHDBCxscccbQ1jGAcBrQPQAD0ACMvIgjbq82CxOnKo3R0Xj46lR8zYsvTgZxHG554ZO1o9Ggu4a4DgdzmkD1KLKlVGhAQEBAQdhHR5Xx0OxWKkpFvmnt3JLfH3vM5o5/rbGjNbrRBBgW/VfHWdmNZR5MtEIw9iRvP3mt7ov8AQMQjrJRsQEBAQEFO9Gu82M0rdt7aamuR1aeWsC1jrEjg1jLRaGujcT7d4azt5PAc0j3cjNWsiCCWOszebGV8E/aXAXI7F+7JHJl3RuDhXhY4PbCfo9zg1xHPIa3g/uRYjNGhAQEBAQEG2ND9UO8WhakOMp6hZk6FcBsVbKRfqAxoAAaH8iQNAAAb38D4ARMfQ1Z1db1aprSU4c1UwcMre14xNfxPI/Ejy6Rp/LXAoY0zJJJNI6WV7nveS5znHkuJ9yT8lFcUBAQEBAQEBAQEBAQEBAQEBAQEBAQEBB//2Q==";

export interface MockState {
  settings: Record<string, string | null>;
  classes: { name: string; session_start: string | null; late_after_minutes: number }[];
  students: { student_id: string; first_name: string; last_name: string; class: string; enrolled_photos: number; consent: ConsentState }[];
  statuses: Record<string, Status>;
  /** Accounts by name, with their passwords (a stand-in: the real backend keeps argon2 hashes). */
  accounts: Record<string, Account & { password: string }>;
  /** Who is signed in. */
  account: Account | null;
  calls: { cmd: string; args: Record<string, unknown> }[];
  /** The register is a school's server that cannot be reached: a session's frames say so. */
  serverAway?: boolean;
  /** The server chosen in Settings (as the backend shows it), if any. */
  server?: string;
}

export function freshState(setupDone = false): MockState {
  return {
    settings: { school_name: null, camera: "0", mood: null, min_face: "40", min_similarity: null, setup_done: setupDone ? "yes" : null },
    classes: [{ name: "7B", session_start: "08:30", late_after_minutes: 10 }],
    students: [
      { student_id: "S1", first_name: "Ada", last_name: "Lovelace", class: "7B", enrolled_photos: 3, consent: "granted" },
      { student_id: "S2", first_name: "Alan", last_name: "Turing", class: "7B", enrolled_photos: 0, consent: "none" },
    ],
    statuses: { S1: "absent", S2: "absent" },
    // Set up: an office account is signed in. First run: no account yet (setup creates it).
    accounts: setupDone ? { Office: { name: "Office", role: "office", classes: [], password: "office password" } } : {},
    account: setupDone ? { name: "Office", role: "office", classes: [] } : null,
    calls: [],
  };
}

function daily(state: MockState, klass: string, date: string): DailyReport {
  const students = state.students
    .filter((s) => s.class === klass)
    .map((s) => ({
      student_id: s.student_id,
      name: `${s.first_name} ${s.last_name}`,
      status: (state.statuses[s.student_id] ?? "absent") as Status,
      first_seen: state.statuses[s.student_id] === "present" ? `${date}T08:27:00` : null,
      last_seen: null,
      late_minutes: 0,
      mood: state.statuses[s.student_id] === "present" ? "happy" : null,
      mood_distribution: state.statuses[s.student_id] === "present" ? { happy: 0.7, neutral: 0.3 } : null,
      mood_samples: 10,
      source: state.statuses[s.student_id] === "absent" ? null : "auto",
      auto_status: null,
      confidence: null,
      review: null,
      how: state.statuses[s.student_id] === "absent" ? null : ("camera" as const),
      by_hand: s.consent !== "granted" || s.enrolled_photos === 0,
    }));
  const counts = { present: 0, late: 0, absent: 0, excused: 0 } as Record<Status, number>;
  students.forEach((s) => counts[s.status]++);
  const to_mark_by_hand = students.filter((s) => s.by_hand && s.how === null).length;
  const lesson = { lesson: "08:30", ends: null, held: true, open: false, starts_at: `${date}T08:30:00`, to_mark_by_hand, students, counts };
  return { class: klass, date, mood: true, lessons: [lesson], session_held: true, session_open: false, counts };
}

export function installMockBackend(state: MockState) {
  // The Live page's line (live_watch): every room's messages go down it.
  let feed: Channel<RoomMessage> | null = null;
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, any>;
      state.calls.push({ cmd, args });
      switch (cmd) {
        case "app_info":
          return {
            account: state.account,
            accounts_exist: Object.keys(state.accounts).length > 0,
            idle_lock_minutes: 10,
            version: "test",
            database: state.server ?? "/tmp/rollcall.sqlite3",
            data_folder: "/tmp",
            on_server: !!state.server,
            engine: "ready",
            engine_error: null,
            session_running: false,
            settings: { ...state.settings },
          };
        case "sign_in": {
          const known = state.accounts[args.name];
          if (!Object.keys(state.accounts).length) state.accounts[args.name] = { name: args.name, role: "office", classes: [], password: args.password };
          else if (!known || known.password !== args.password) throw { code: "sign_in", message: `unknown account or wrong password for "${args.name}"` };
          const { password: _, ...account } = state.accounts[args.name];
          state.account = account;
          return { account, created: !known };
        }
        case "sign_out":
          state.account = null;
          return null;
        case "save_settings":
          Object.assign(state.settings, args.settings);
          return { moods_kept: 0 };
        case "list_classes":
          return state.classes.filter((c) => state.account?.role === "office" || state.account?.classes.includes(c.name)).map((c) => {
            const members = state.students.filter((s) => s.class === c.name);
            return { ...c, students: members.length, enrolled: members.filter((s) => s.enrolled_photos > 0).length };
          });
        case "create_class":
          if (state.classes.some((c) => c.name === args.name)) throw `class ${args.name} already exists`;
          state.classes.push({ name: args.name, session_start: args.start, late_after_minutes: args.lateAfterMinutes });
          return null;
        case "check_photos": {
          const mine = state.students.filter((s) => !args.class || s.class === args.class);
          const enrolled = mine.filter((s) => s.enrolled_photos > 0);
          return {
            classes: args.class ? [args.class] : [...new Set(mine.map((s) => s.class))],
            students: mine.length,
            with_photos: enrolled.length,
            photos: enrolled.reduce((n, s) => n + s.enrolled_photos, 0),
            threshold: 0.41,
            method: "fixed for the number of students (too few to calibrate)",
            advice: enrolled
              .filter((s) => s.enrolled_photos < 3)
              .map((s) => ({ student_id: s.student_id, name: `${s.first_name} ${s.last_name}`, photos: s.enrolled_photos, at_risk: false, advice: [`${s.student_id}: ${s.enrolled_photos} photo(s) enrolled; enrol 3-5 varied photos`] })),
          };
        }
        case "list_students":
          return state.students.filter((s) => !args.class || s.class === args.class).map((s) => ({ ...s, name: `${s.first_name} ${s.last_name}` }));
        case "probe_cameras":
          return [];
        case "report_daily":
          return daily(state, args.class, args.date);
        case "report_summary":
          return { class: args.class, from: args.from, to: args.to, lessons: [{ date: args.to, lesson: "08:30" }], students: [], counts: { present: 1, late: 0, absent: 1, excused: 0 }, attendance_rate: 0.5 };
        case "timetable":
          return [{ class: "7B", weekday: "Mon", start: "08:30", end: "09:20", room: "12", camera: "0" }];
        case "timetable_edit":
          return args.now ? { ...(args.now as object) } : null;
        case "default_export_path":
          return `/home/office/Documents/${args.class}.xlsx`;
        case "override_mark":
          state.statuses[args.studentId] = args.status;
          return { old: "absent", new: args.status };
        case "set_register_server": {
          const address = String(args.address);
          if (!address.startsWith("postgres://")) throw "not a database server's address: not a postgres:// URL";
          state.server = `${address.replace(/^postgres:\/\//, "postgres://").split("?")[0]}${args.school ? `?school=${args.school}` : ""}`;
          state.account = null;
          return { database: state.server };
        }
        case "live_watch":
          feed = args.channel as Channel<RoomMessage>;
          return [];
        case "session_start": {
          const room = { class: args.class as string, lesson: "08:30" };
          const send = (m: LiveMessage) => feed?.onmessage({ ...m, ...room } as RoomMessage);
          setTimeout(() => {
            send({ kind: "started", info: { session_id: 1, class: args.class, date: "", lesson: "08:30", until: null, starts_at: "", late_after_minutes: 10, source: args.source, enrolled: 1, school_enrolled: 1, photos_to_retake: 0, mood: true, liveness: "warn" } });
            send({
              kind: "frame",
              picture: { jpeg: FRAME, width: 80, height: 60 },
              faces: [{ face: { x1: 26, y1: 14, x2: 54, y2: 42, score: 0.99 }, track: 1, student_id: "S1", name: "Ada Lovelace", stranger: false, other_class: false, mood: "happy", spoof: false }],
              stats: { frames: 1, fps: 30, faces_seen: 1, marked: 1, source_outages: 0, seconds: 0.1, unsaved: state.serverAway ? 1 : 0, register_on_server: !!state.serverAway },
            });
            state.statuses.S1 = "present";
            send({ kind: "event", event: { event: "marked", student_id: "S1", name: "Ada Lovelace", status: "present", at: "2026-11-28T08:27:00", late_minutes: 0, similarity: 0.8 } });
          }, 50);
          return { ...room, source: args.source };
        }
        case "session_stop":
          return null;
        default:
          throw `the mock backend has no ${cmd}`;
      }
    },
    { shouldMockEvents: true },
  );
}
