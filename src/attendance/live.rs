//! Running a session from its frame source to its end: the one loop that both the CLI and the
//! desktop app drive. It reads frames, stamps them with a time, hands them to the `Roll`,
//! rides out a lost camera (the source reconnects; marks so far are already saved) and closes
//! the session at the end. What happens around it (printing, streaming to a window, a stop
//! button) is the caller's, through `SessionObserver`.

use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime};
use opencv::core::Mat;
use serde::Serialize;

use super::roll::{FrameOutcome, Roll, RollEvent, RollOptions};
use crate::source::{FrameSource, Next, SourceSpec};
use crate::storage::Store;
use crate::vision::FaceAnalyzer;

#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub class: String,
    pub source: SourceSpec,
    /// Lesson start; `None` uses the class's configured start, else the moment the run starts.
    pub start: Option<NaiveTime>,
    /// Stop a live source at this time of day.
    pub until: Option<NaiveTime>,
    /// Sample moods (only if the expression model is loaded).
    pub mood: bool,
    pub max_frames: Option<u64>,
    pub max_seconds: Option<f64>,
    /// Deliver a video file's frames at the file's own frame rate, as a camera would, instead
    /// of as fast as the machine can (the desktop app's "file as camera").
    pub realtime: bool,
    /// The school's minimum similarity (settings::MIN_SIMILARITY); `None`: calibrated only.
    pub min_similarity: Option<f32>,
}

impl SessionPlan {
    pub fn new(class: &str, source: SourceSpec) -> Self {
        SessionPlan { class: class.to_string(), source, start: None, until: None, mood: true, max_frames: None, max_seconds: None, realtime: false, min_similarity: None }
    }
}

/// What a session is, once it has started.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub class: String,
    pub date: NaiveDate,
    pub starts_at: NaiveDateTime,
    pub late_after_minutes: i32,
    pub source: String,
    pub enrolled: usize,
    pub unknown_threshold: f32,
    pub threshold_method: &'static str,
    pub mood: bool,
}

/// Running figures, updated every frame.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveStats {
    pub frames: u64,
    /// Frames per second over the last second.
    pub fps: f64,
    pub faces_seen: usize,
    pub marked: usize,
    pub source_outages: u32,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    #[serde(flatten)]
    pub info: SessionInfo,
    pub frames: u64,
    pub seconds: f64,
    pub fps: f64,
    pub faces: usize,
    pub new_marks: Vec<RollEvent>,
    pub strangers: usize,
    pub marked_total: usize,
    pub source_outages: u32,
}

/// The caller's side of a running session. Called on the session's thread: keep each call short
/// (hand heavy work such as encoding a preview to another thread, and drop it when busy).
pub trait SessionObserver {
    fn started(&mut self, _info: &SessionInfo) {}
    fn frame(&mut self, _frame: &Mat, _outcome: &FrameOutcome, _stats: &LiveStats) {}
    fn source_lost(&mut self, _attempt: u32, _wait: Duration) {}
    fn source_back(&mut self) {}
    /// Checked between frames; true ends the session cleanly.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Open the source, run the class's session until the source ends, a limit is reached or the
/// observer asks to stop, then close it. Marks are written as they happen, so an error half-way
/// loses nothing already marked.
pub fn run_session(store: &mut Store, analyzer: &mut FaceAnalyzer, plan: &SessionPlan, observer: &mut dyn SessionObserver) -> anyhow::Result<SessionSummary> {
    store.class(&plan.class)?;
    let source = FrameSource::open(plan.source.clone())?;
    run_session_from(store, analyzer, plan, source, observer)
}

/// As `run_session`, with the source already open (a caller that must report a missing camera
/// at once, before handing the loop to another thread).
pub fn run_session_from(store: &mut Store, analyzer: &mut FaceAnalyzer, plan: &SessionPlan, mut source: FrameSource, observer: &mut dyn SessionObserver) -> anyhow::Result<SessionSummary> {
    let class = store.class(&plan.class)?;
    let run_started = Local::now().naive_local();
    let starts_at = plan.start.or_else(|| class.lesson_start()).map(|t| run_started.date().and_time(t)).unwrap_or(run_started);
    let mood = plan.mood && analyzer.expression.is_some();
    let mut roll = Roll::start(store, &class, starts_at, &plan.source.describe(), RollOptions { mood, min_similarity: plan.min_similarity, embedding_model: analyzer.embedder.model_id(), ..RollOptions::default() })?;
    let cal = roll.recognizer().calibration();
    let info = SessionInfo {
        class: class.name.clone(),
        date: roll.session().date,
        starts_at,
        late_after_minutes: roll.session().late_after_minutes,
        source: plan.source.describe(),
        enrolled: roll.recognizer().len(),
        unknown_threshold: cal.threshold,
        threshold_method: cal.method,
        mood,
    };
    observer.started(&info);

    let live = plan.source.is_live();
    let mut frame = Mat::default();
    let mut new_marks = Vec::new();
    let mut strangers = 0;
    let mut stats = LiveStats { marked: roll.marked(), ..LiveStats::default() };
    let started = Instant::now();
    let (mut window, mut window_frames) = (Instant::now(), 0u32);
    let mut was_lost = false;
    loop {
        if observer.stop_requested()
            || plan.until.is_some_and(|u| live && Local::now().naive_local().time() >= u)
            || plan.max_frames.is_some_and(|m| stats.frames >= m)
            || plan.max_seconds.is_some_and(|m| started.elapsed().as_secs_f64() >= m)
        {
            break;
        }
        let at: NaiveDateTime = match source.next(&mut frame)? {
            Next::End => break,
            Next::Reconnecting { attempt, wait } => {
                if attempt == 1 && !was_lost {
                    stats.source_outages += 1;
                }
                was_lost = true;
                observer.source_lost(attempt, wait);
                continue;
            }
            Next::Frame { position: Some(p) } => {
                if plan.realtime {
                    pace(started, p, observer);
                }
                // A file's frames are stamped on the video's own timeline from the run's start.
                run_started + chrono::Duration::from_std(p).unwrap_or_default()
            }
            Next::Frame { position: None } => Local::now().naive_local(),
        };
        if was_lost {
            was_lost = false;
            observer.source_back();
        }
        let outcome = roll.process(store, analyzer, &frame, at)?;
        stats.frames += 1;
        stats.faces_seen += outcome.faces.len();
        stats.marked = roll.marked();
        stats.seconds = started.elapsed().as_secs_f64();
        window_frames += 1;
        if window.elapsed() >= Duration::from_secs(1) {
            stats.fps = window_frames as f64 / window.elapsed().as_secs_f64();
            window = Instant::now();
            window_frames = 0;
        } else if stats.fps == 0.0 {
            stats.fps = stats.frames as f64 / stats.seconds.max(1e-3);
        }
        observer.frame(&frame, &outcome, &stats);
        for e in outcome.events {
            match e {
                RollEvent::Marked { .. } => new_marks.push(e),
                RollEvent::Stranger { .. } => strangers += 1,
            }
        }
    }
    let ended = if live { Local::now().naive_local() } else { run_started + chrono::Duration::from_std(started.elapsed()).unwrap_or_default() };
    roll.finish(store, ended.max(run_started))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(SessionSummary {
        info,
        frames: stats.frames,
        seconds,
        fps: stats.frames as f64 / seconds.max(1e-9),
        faces: stats.faces_seen,
        new_marks,
        strangers,
        marked_total: roll.marked(),
        source_outages: stats.source_outages,
    })
}

/// Wait until a file's frame at `position` is due, checking for a stop now and then.
fn pace(started: Instant, position: Duration, observer: &dyn SessionObserver) {
    while let Some(wait) = position.checked_sub(started.elapsed()) {
        if wait.is_zero() || observer.stop_requested() {
            break;
        }
        std::thread::sleep(wait.min(Duration::from_millis(50)));
    }
}
