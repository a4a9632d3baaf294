//! Running a session from its frame source to its end: the one loop that both the CLI and the
//! desktop app drive. It reads frames, stamps them with a time, hands them to the `Roll`,
//! rides out a lost camera (the source reconnects; marks so far are already saved) and closes
//! the session at the end. What happens around it (printing, streaming to a window, a stop
//! button) is the caller's, through `SessionObserver`.
//!
//! A register that says "absent" must have watched: `check_plan` refuses, before anything is
//! written, a run that cannot watch (a time already past, a still picture, nobody enrolled for
//! the recognition model in use, a lesson start that contradicts the session's), and a run that
//! in the end saw no picture or no face records no absence and fails with the reason.

use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime};
use opencv::core::Mat;
use serde::Serialize;

use super::lessons;
use super::roll::{FrameOutcome, Roll, RollEvent, RollOptions, RunVerdict};
use crate::source::{FrameSource, Next, SourceSpec};
use crate::storage::{Class, Store, StoreError};
use crate::vision::{DetectOptions, EmbedderModel, FaceAnalyzer, SharedAnalyzer};

/// Whose roll a run takes.
#[derive(Debug, Clone, PartialEq)]
pub enum RollOf {
    /// One class's lesson (the timetable's, or the one the run's start names).
    Class(String),
    /// The entrance: every enrolled student of these classes (empty: of every class) is
    /// recognised and marked in the lesson that is on for them (or their next one that day).
    Entrance(Vec<String>),
}

impl RollOf {
    /// The classes whose students this roll recognises.
    pub fn classes(&self, store: &mut Store) -> Result<Vec<Class>, StoreError> {
        match self {
            RollOf::Class(name) => Ok(vec![store.class(name)?]),
            RollOf::Entrance(names) if names.is_empty() => store.classes(),
            RollOf::Entrance(names) => names.iter().map(|n| store.class(n)).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub roll_of: RollOf,
    pub source: SourceSpec,
    /// Lesson start; `None` uses the class's configured start, else the moment the run starts.
    pub start: Option<NaiveTime>,
    /// Stop a live source at this time of day.
    pub until: Option<NaiveTime>,
    /// Sample moods (only if the expression model is loaded). Off unless the school switched
    /// mood recognition on (`settings::mood_enabled`).
    pub mood: bool,
    pub max_frames: Option<u64>,
    pub max_seconds: Option<f64>,
    /// Deliver a video file's frames at the file's own frame rate, as a camera would, instead
    /// of as fast as the machine can (the desktop app's "file as camera").
    pub realtime: bool,
    /// The school's minimum similarity (settings::MIN_SIMILARITY); `None`: calibrated only.
    pub min_similarity: Option<f32>,
    /// The school's strictness (settings::STRICTNESS).
    pub strictness: crate::recognition::Strictness,
    /// Smallest face, in pixels, to look for in this camera's frames (settings::MIN_FACE);
    /// `None`: the detector's own setting.
    pub min_face: Option<f32>,
    /// What a face judged a photo or a screen held up does (settings::LIVENESS).
    pub liveness: super::LivenessMode,
}

impl SessionPlan {
    pub fn new(class: &str, source: SourceSpec) -> Self {
        Self::of(RollOf::Class(class.to_string()), source)
    }

    /// The entrance's roll for `classes` (empty: the whole school).
    pub fn entrance(classes: Vec<String>, source: SourceSpec) -> Self {
        Self::of(RollOf::Entrance(classes), source)
    }

    fn of(roll_of: RollOf, source: SourceSpec) -> Self {
        SessionPlan {
            roll_of,
            source,
            start: None,
            until: None,
            mood: false,
            max_frames: None,
            max_seconds: None,
            realtime: false,
            min_similarity: None,
            strictness: Default::default(),
            min_face: None,
            liveness: super::LivenessMode::Off,
        }
    }
}

/// What a session is, once it has started.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// The session's id in the register (live messages of several rooms say whose they are);
    /// `None` at the entrance, which writes to each student's own lesson.
    pub session_id: Option<i32>,
    /// The class, or at the entrance "entrance (7B, 8C)".
    pub class: String,
    pub date: NaiveDate,
    /// The lesson's scheduled start ("HH:MM"): which of the class's lessons that day this is.
    pub lesson: String,
    /// When the run stops by itself: the `until` asked for, else the lesson's end.
    pub until: Option<NaiveTime>,
    pub starts_at: NaiveDateTime,
    pub late_after_minutes: i32,
    pub source: String,
    /// This roll's students the camera can recognise ...
    pub enrolled: usize,
    /// ... among this many of the school's (the recognizer knows every class, marks its own).
    pub school_enrolled: usize,
    pub unknown_threshold: f32,
    pub threshold_method: &'static str,
    /// Students whose own photos this roll's recognizer mostly refuses: it will often ask them to
    /// look at the camera again (`crate::enrolment::check_photos` names them).
    pub photos_to_retake: usize,
    pub mood: bool,
    /// "off", "warn" or "block"; "unavailable" when asked for but the model could not be loaded
    /// (the run then goes on without it, and `liveness_unavailable` says why).
    pub liveness: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_unavailable: Option<String>,
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
    /// A file played as a camera: frames passed over because the engine was busy (a live camera
    /// drops them itself).
    pub frames_skipped: u64,
    /// Sightings the register could not take yet (a busy file, or a school's server that went
    /// away): kept on this PC and written when it frees, so the Live page can say so.
    pub unsaved: usize,
    /// Whether the register is a school's server rather than this PC's file.
    pub register_on_server: bool,
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
    /// Tracks recognised as students of the school's other classes (not marked here).
    pub other_class: usize,
    /// Faces judged a photo or a screen held up (`RollEvent::Spoof`).
    pub spoofs: Vec<RollEvent>,
    pub marked_total: usize,
    pub source_outages: u32,
    /// Frames of a file played as a camera that were passed over (the engine was busy).
    pub frames_skipped: u64,
}

/// Why a session was not run, or recorded no register. Each is a sentence for the person who
/// started it; `code` names the case for a program.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("--until {until} has already passed (it is {now}): there is nothing left to watch")]
    UntilPassed { until: NaiveTime, now: String },
    #[error("nobody in class {class} is enrolled yet: enrol students (`rollcall enroll`, or Students in the app) before taking the roll by camera; until then mark the register by hand")]
    NobodyEnrolled { class: String },
    #[error("nobody in class {class} may be recognised: {waiting} student(s) have face templates but no usable consent on record (record a parent's consent with `rollcall consent STUDENT_ID grant …`, or Students in the app); until then mark the register by hand")]
    NoConsent { class: String, waiting: usize },
    #[error("class {class} has no faces enrolled with the {model} FaceNet ({others}): take the roll with the model they were enrolled with (--embedder), or enrol them again with this one")]
    OtherModel { class: String, model: String, others: String },
    #[error("no register was taken for class {class}, and no absence was recorded: {reason}")]
    NotWatched { class: String, reason: String },
}

impl SessionError {
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::UntilPassed { .. } => "until_passed",
            SessionError::NobodyEnrolled { .. } => "nobody_enrolled",
            SessionError::NoConsent { .. } => "no_consent",
            SessionError::OtherModel { .. } => "other_model",
            SessionError::NotWatched { .. } => "not_watched",
        }
    }
}

/// How long the end of a session waits for a busy database to take its last marks before it
/// gives up and names them (a roster import of a whole district takes seconds, not minutes).
const FINISH_PATIENCE: Duration = Duration::from_secs(600);
/// While a session runs, a write waits this long for another writer, then is queued: the
/// camera loop must not stall behind an import.
const LIVE_BUSY_TIMEOUT_MS: u32 = 250;

/// Check, before anything is written, that a session can watch: a file source that exists and
/// is not a still picture, a live source's `until` not already past, somebody enrolled with
/// `model_id`, and (for a class) a lesson start that agrees with the session the class already
/// has today. Returns the classes whose students the run recognises.
pub fn check_plan(store: &mut Store, plan: &SessionPlan, model_id: &str) -> anyhow::Result<Vec<Class>> {
    plan.source.check()?;
    let now = Local::now().naive_local();
    if let Some(until) = plan.until.filter(|u| plan.source.is_live() && *u <= now.time()) {
        return Err(SessionError::UntilPassed { until, now: now.format("%H:%M").to_string() }.into());
    }
    match &plan.roll_of {
        RollOf::Class(name) => {
            let class = store.class(name)?;
            check_enrolled(store, &class, model_id)?;
            // Which lesson this is (refused between lessons, or with a start that contradicts what a
            // camera already judged the lesson's marks against).
            lessons::for_run(store, &class, now, plan.start)?;
            Ok(vec![class])
        }
        RollOf::Entrance(_) => {
            let classes = plan.roll_of.classes(store)?;
            // Somebody, in one of the classes, recognisable by this model.
            let mut first = None;
            for class in &classes {
                match check_enrolled(store, class, model_id) {
                    Ok(()) => return Ok(classes),
                    Err(e) => first = first.or(Some(e)),
                }
            }
            Err(first.unwrap_or_else(|| anyhow::anyhow!("there is no class yet: import a roster first")))
        }
    }
}

/// Somebody in `class` can be recognised by `model_id`, or why not.
fn check_enrolled(store: &mut Store, class: &Class, model_id: &str) -> anyhow::Result<()> {
    let by_model = store.enrolled_by_model(class.id)?;
    if by_model.iter().any(|(m, n)| m == model_id && *n > 0) {
        return Ok(());
    }
    if by_model.is_empty() {
        let waiting = store.students(Some(&class.name))?.iter().filter(|s| s.enrolled_photos > 0 && !s.consent.usable()).count();
        if waiting > 0 {
            return Err(SessionError::NoConsent { class: class.name.clone(), waiting }.into());
        }
        return Err(SessionError::NobodyEnrolled { class: class.name.clone() }.into());
    }
    let name = |id: &str| EmbedderModel::from_id(id).map_or(id.to_string(), |m| m.name().to_string());
    let others = by_model.iter().map(|(m, n)| format!("{n} student(s) enrolled with {}", name(m))).collect::<Vec<_>>().join(", ");
    Err(SessionError::OtherModel { class: class.name.clone(), model: name(model_id), others }.into())
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

/// How a session reaches the face engine: one of its own, or the one several rooms share (each
/// frame takes its turn, see `vision::shared`).
pub enum Engine<'a> {
    Own(&'a mut FaceAnalyzer),
    Shared(&'a SharedAnalyzer),
}

impl Engine<'_> {
    pub fn with<R>(&mut self, f: impl FnOnce(&mut FaceAnalyzer) -> R) -> R {
        match self {
            Engine::Own(a) => f(a),
            Engine::Shared(s) => s.with(f),
        }
    }
}

impl<'a> From<&'a mut FaceAnalyzer> for Engine<'a> {
    fn from(a: &'a mut FaceAnalyzer) -> Self {
        Engine::Own(a)
    }
}

impl<'a> From<&'a SharedAnalyzer> for Engine<'a> {
    fn from(s: &'a SharedAnalyzer) -> Self {
        Engine::Shared(s)
    }
}

/// A file played as a camera that is this far behind its own timeline passes frames over
/// instead of queueing: a busy engine examines fewer of its frames, as with a live camera.
const LATE_FRAME: Duration = Duration::from_millis(100);

/// Open the source, run the class's session until the source ends, a limit is reached or the
/// observer asks to stop, then close it. Marks are written as they happen, so an error half-way
/// loses nothing already marked.
pub fn run_session<'a>(
    store: &mut Store,
    engine: impl Into<Engine<'a>>,
    plan: &SessionPlan,
    observer: &mut dyn SessionObserver,
) -> anyhow::Result<SessionSummary> {
    let mut engine = engine.into();
    check_plan(store, plan, engine.with(|a| a.embedder.model_id()))?;
    let source = FrameSource::open(plan.source.clone())?;
    run_session_from(store, engine, plan, source, observer)
}

/// As `run_session`, with the source already open (a caller that must report a missing camera
/// at once, before handing the loop to another thread).
pub fn run_session_from<'a>(
    store: &mut Store,
    engine: impl Into<Engine<'a>>,
    plan: &SessionPlan,
    source: FrameSource,
    observer: &mut dyn SessionObserver,
) -> anyhow::Result<SessionSummary> {
    let mut engine = engine.into();
    let classes = check_plan(store, plan, engine.with(|a| a.embedder.model_id()))?;
    let result = watch(store, &mut engine, plan, classes, source, observer);
    store.set_busy_timeout(crate::storage::DEFAULT_BUSY_TIMEOUT_MS)?;
    result
}

fn watch(
    store: &mut Store,
    engine: &mut Engine,
    plan: &SessionPlan,
    classes: Vec<Class>,
    mut source: FrameSource,
    observer: &mut dyn SessionObserver,
) -> anyhow::Result<SessionSummary> {
    let run_started = Local::now().naive_local();
    let (has_expression, model_id, liveness_unavailable) = engine.with(|a| (a.expression.is_some(), a.embedder.model_id(), a.liveness.is_none().then(|| a.liveness_unavailable.clone().unwrap_or_default())));
    let mood = plan.mood && has_expression;
    let liveness_unavailable = liveness_unavailable.filter(|_| plan.liveness != super::LivenessMode::Off);
    if let Some(why) = &liveness_unavailable {
        tracing::warn!("liveness is {} but unavailable, so not checked: {why}", plan.liveness.as_str());
    }
    let options = RollOptions {
        mood,
        min_similarity: plan.min_similarity,
        strictness: plan.strictness,
        embedding_model: model_id,
        detect: DetectOptions { min_face: plan.min_face },
        liveness: plan.liveness,
        camera: plan.source.describe(),
        ..RollOptions::default()
    };
    let described = plan.source.describe();
    let (mut roll, lesson_end, name) = match &plan.roll_of {
        RollOf::Class(_) => {
            let class = classes.into_iter().next().ok_or_else(|| anyhow::anyhow!("no class to take the roll of"))?;
            let run = lessons::for_run(store, &class, run_started, plan.start)?;
            // A day's register kept by hand until now (a correction made before the lesson opened it)
            // gets its real lesson and start from the first camera run, audited.
            if let Some(id) = run.adopts {
                store.set_session_start(id, run.lesson, run.starts_at, "camera run")?;
            }
            // Opening the session waits out a busy database (an import, a backup) like any mark does.
            let roll = patiently(store, |store| Roll::start(store, &class, run.lesson, run.starts_at, &described, options.clone()))?;
            (roll, run.lesson.end, class.name)
        }
        RollOf::Entrance(_) => {
            let name = format!("entrance ({})", classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "));
            let roll = patiently(store, |store| Roll::entrance(store, classes.clone(), &described, options.clone()))?;
            (roll, None, name)
        }
    };
    // From now on a write that finds the database busy is queued, not waited for.
    store.set_busy_timeout(LIVE_BUSY_TIMEOUT_MS)?;
    let cal = roll.recognizer().calibration();
    // A timetabled lesson's run ends with the lesson unless told otherwise.
    let until = plan.until.or(lesson_end.filter(|e| *e > run_started.time()));
    let info = SessionInfo {
        session_id: roll.session().map(|s| s.id),
        class: name.clone(),
        date: roll.session().map_or(run_started.date(), |s| s.date),
        lesson: roll.session().map_or_else(String::new, |s| s.lesson_start.clone()),
        until: until.filter(|_| plan.source.is_live()),
        // The session's own start: the one its marks are judged against (printed as used).
        starts_at: roll.session().map_or(run_started, |s| s.starts_at),
        late_after_minutes: roll.session().map_or(0, |s| s.late_after_minutes),
        source: described.clone(),
        enrolled: roll.recognisable(),
        school_enrolled: roll.recognizer().len(),
        unknown_threshold: cal.threshold,
        threshold_method: cal.method,
        photos_to_retake: roll.enrolment_risks().len(),
        mood,
        liveness: if liveness_unavailable.is_some() { "unavailable" } else { plan.liveness.as_str() },
        liveness_unavailable,
    };
    observer.started(&info);

    let live = plan.source.is_live();
    let mut frame = Mat::default();
    let mut new_marks = Vec::new();
    let mut strangers = 0;
    let mut other_class = 0;
    let mut spoofs = Vec::new();
    let mut stats = LiveStats { marked: roll.marked(), register_on_server: store.is_server(), ..LiveStats::default() };
    let started = Instant::now();
    let (mut window, mut window_frames) = (Instant::now(), 0u32);
    let mut was_lost = false;
    loop {
        if observer.stop_requested()
            || until.is_some_and(|u| live && Local::now().naive_local().time() >= u)
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
                roll.idle(store)?;
                continue;
            }
            Next::Frame { position: Some(p) } => {
                if plan.realtime {
                    pace(started, p, observer);
                    if started.elapsed() > p + LATE_FRAME {
                        stats.frames_skipped += 1;
                        continue;
                    }
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
        let outcome = engine.with(|a| roll.process(store, a, &frame, at))?;
        stats.frames += 1;
        stats.faces_seen += outcome.faces.len();
        stats.marked = roll.marked();
        stats.unsaved = roll.pending();
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
                RollEvent::OtherClass { .. } => other_class += 1,
                RollEvent::Spoof { .. } => spoofs.push(e),
            }
        }
    }
    let ended = if live { Local::now().naive_local() } else { run_started + chrono::Duration::from_std(started.elapsed()).unwrap_or_default() };
    if let RunVerdict::NotWatched(reason) = roll.finish(store, ended.max(run_started), FINISH_PATIENCE)? {
        return Err(SessionError::NotWatched { class: name, reason }.into());
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(SessionSummary {
        info,
        frames: stats.frames,
        seconds,
        fps: stats.frames as f64 / seconds.max(1e-9),
        faces: stats.faces_seen,
        new_marks,
        strangers,
        other_class,
        spoofs,
        marked_total: roll.marked(),
        source_outages: stats.source_outages,
        frames_skipped: stats.frames_skipped,
    })
}

/// Retry `f` while it fails because the database is busy (or a school's server is away: then
/// reconnecting between tries), up to `FINISH_PATIENCE`.
fn patiently<T>(store: &mut Store, mut f: impl FnMut(&mut Store) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match store.revive().map_err(anyhow::Error::from).and_then(|()| f(store)) {
            Err(e) if started.elapsed() < FINISH_PATIENCE && e.downcast_ref::<crate::storage::StoreError>().is_some_and(|s| s.is_busy()) => {
                tracing::warn!("database busy: waiting to open the session");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
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
