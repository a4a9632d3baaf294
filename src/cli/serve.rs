//! `rollcall serve`: the timetable's scheduler for a computer no one sits at. Each lesson's roll
//! starts by itself a quarter of an hour before the lesson (on the lesson's camera), stops at its
//! end, and several rooms run at once on one face engine. Logs go to a file (`--log`); SIGTERM
//! or Ctrl-C stops every room cleanly (each session closed, nothing marked lost) and exits 0.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use opencv::core::Mat;
use serde::Serialize;

use super::engine::analyzer;
use super::session::{Caller, Need};
use super::{EngineArgs, Outcome, Printer, ServeArgs};
use rollcall::attendance::live::{LiveStats, SessionInfo, SessionObserver};
use rollcall::attendance::rooms::{RoomEvent, Rooms};
use rollcall::attendance::{FrameOutcome, RollEvent};
use rollcall::schedule::{self, Clock, LessonOn, RehearsalClock, SystemClock};
use rollcall::settings;
use rollcall::vision::SharedAnalyzer;

/// How often the scheduler looks at the clock, and re-reads the timetable (an edit applies
/// within a minute, without a restart).
const TICK: Duration = Duration::from_millis(250);
const REREAD: Duration = Duration::from_secs(60);

/// What one room did, for the closing summary.
#[derive(Debug, Serialize)]
struct RoomRun {
    class: String,
    lesson: String,
    source: String,
    frames: u64,
    frames_skipped: u64,
    fps: f64,
    marked: usize,
    new_marks: usize,
    error: Option<String>,
}

pub fn serve(out: &Printer, at: &Caller, engine: &EngineArgs, args: &ServeArgs) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("run the timetable's sessions"))?;
    let db = store.location();
    let mut defaults = settings::session_defaults(&mut store)?;
    if let Some(min_face) = engine.min_face {
        defaults.min_face = min_face;
    }
    let shared = Arc::new(SharedAnalyzer::new(analyzer(engine, defaults.mood)?));
    let clock: Box<dyn Clock> = match args.rehearse_from {
        Some(t) => Box::new(RehearsalClock::new(t, args.rate)),
        None => Box::new(SystemClock),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))?;
    let mut rooms = Rooms::new(shared, db.clone(), Box::new(|lesson, stop| Box::new(LogObserver { lesson: lesson.clone(), stop })));
    tracing::info!(database = %db, by = %me.name, clock = %clock.now().format("%Y-%m-%d %H:%M:%S"), "serving the timetable");

    let mut week = store.timetable(None)?;
    let mut read = Instant::now();
    let mut runs = Vec::new();
    let log = |events: Vec<RoomEvent>, runs: &mut Vec<RoomRun>| {
        for e in events {
            if let Some(run) = record(e) {
                runs.push(run);
            }
        }
    };
    while !stop.load(Ordering::SeqCst) {
        let now = clock.now();
        if args.stop_at.is_some_and(|t| now.time() >= t) {
            tracing::info!(at = %now.format("%H:%M"), "the clock reached --stop-at");
            break;
        }
        if read.elapsed() >= REREAD {
            match store.timetable(None) {
                Ok(w) => week = w,
                Err(e) => tracing::warn!(error = %e, "could not re-read the timetable; keeping the one read before"),
            }
            read = Instant::now();
        }
        let due = schedule::plans_due(&week, now, &defaults);
        log(rooms.tick(due), &mut runs);
        std::thread::sleep(TICK);
    }
    if stop.load(Ordering::SeqCst) {
        tracing::info!("asked to stop: closing every room's session");
    }
    log(rooms.stop_all(), &mut runs);
    let peak_rss_kb = peak_rss_kb();
    tracing::info!(rooms = runs.len(), peak_rss_kb, "stopped");
    out.print(&serde_json::json!({ "rooms": runs, "peak_rss_kb": peak_rss_kb }), |w| {
        for r in &runs {
            match &r.error {
                None => writeln!(
                    w,
                    "{} lesson {} ({}): {} frame(s) examined, {} passed over, {:.1} fps, {} marked ({} new)",
                    r.class, r.lesson, r.source, r.frames, r.frames_skipped, r.fps, r.marked, r.new_marks
                )?,
                Some(e) => writeln!(w, "{} lesson {} ({}): {e}", r.class, r.lesson, r.source)?,
            }
        }
        if let Some(kb) = peak_rss_kb {
            writeln!(w, "peak memory (RSS): {:.0} MB", kb as f64 / 1024.0)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

/// The process's peak resident memory, where the system tells it (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Log a room's event; a room that ended becomes a line of the summary.
fn record(e: RoomEvent) -> Option<RoomRun> {
    let hhmm = |t: NaiveTime| t.format("%H:%M").to_string();
    match e {
        RoomEvent::Started { lesson, source } => {
            tracing::info!(class = %lesson.class, lesson = %hhmm(lesson.start), %source, "room starting");
            None
        }
        RoomEvent::Stopping { lesson } => {
            tracing::info!(class = %lesson.class, lesson = %hhmm(lesson.start), "lesson over: stopping its room");
            None
        }
        RoomEvent::Ended { lesson, summary: s } => {
            tracing::info!(class = %lesson.class, lesson = %hhmm(lesson.start), frames = s.frames, skipped = s.frames_skipped, fps = format!("{:.1}", s.fps), marked = s.marked_total, "room ended");
            Some(RoomRun {
                class: lesson.class,
                lesson: hhmm(lesson.start),
                source: s.info.source.clone(),
                frames: s.frames,
                frames_skipped: s.frames_skipped,
                fps: s.fps,
                marked: s.marked_total,
                new_marks: s.new_marks.len(),
                error: None,
            })
        }
        RoomEvent::Failed { lesson, error } => {
            tracing::error!(class = %lesson.class, lesson = %hhmm(lesson.start), %error, "room failed (others carry on; tried again while the lesson is on)");
            Some(RoomRun {
                class: lesson.class,
                lesson: hhmm(lesson.start),
                source: String::new(),
                frames: 0,
                frames_skipped: 0,
                fps: 0.0,
                marked: 0,
                new_marks: 0,
                error: Some(error),
            })
        }
    }
}

/// A room's session, told to the log.
struct LogObserver {
    lesson: LessonOn,
    stop: Arc<AtomicBool>,
}

impl SessionObserver for LogObserver {
    fn started(&mut self, info: &SessionInfo) {
        let mut line = String::new();
        let _ = write!(line, "starts {}, late after {} min", info.starts_at.format("%H:%M"), info.late_after_minutes);
        tracing::info!(class = %info.class, lesson = %info.lesson, session = ?info.session_id, enrolled = info.enrolled, source = %info.source, "session open: {line}");
    }

    fn frame(&mut self, _frame: &Mat, outcome: &FrameOutcome, _stats: &LiveStats) {
        for e in &outcome.events {
            if let RollEvent::Marked { student_id, status, .. } = e {
                tracing::info!(class = %self.lesson.class, lesson = %self.lesson.start.format("%H:%M"), student = %student_id, status = %status, "marked");
            }
        }
    }

    fn source_lost(&mut self, attempt: u32, wait: Duration) {
        tracing::warn!(class = %self.lesson.class, attempt, wait_s = wait.as_secs_f32(), "camera lost: reconnecting");
    }

    fn source_back(&mut self) {
        tracing::info!(class = %self.lesson.class, "camera back");
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}
