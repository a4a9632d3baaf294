//! Taking the roll from a stream of frames: detect faces, follow them as tracks, decide each
//! track's identity once from several frames (a vote, so one bad frame never marks the wrong
//! child), apply the attendance rules, record marks and moods.
//!
//! A track is embedded only until it is recognised; after that its face costs only detection
//! (and an expression sample now and then), which is what keeps a busy doorway real-time. With
//! the liveness check on, a recognised track is judged (stillness from its first frame, the
//! model's score from the frame after its recognition) before it is marked.
//!
//! The roll never gives up on a mark: a write that finds the database busy (a long roster
//! import, a backup) is queued and retried while the camera goes on, and `finish` waits for the
//! queue to empty. A run that watched nothing (no frame, no face, nobody to recognise) records
//! no absence: `finish` puts its session back as it found it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, NaiveTime};
use opencv::core::Mat;
use serde::Serialize;

use super::lessons;
use super::mood::MoodAccumulator;
use super::rules::{AttendanceRules, LivenessMode, Status};
use crate::recognition::{Decision, EnrolmentRisk, Enrolled, Recognizer, Strictness};
use crate::storage::{Class, GalleryEntry, LessonSlot, MarkOutcome, Session, SessionOpening, Sighting, Store, StoreError, Student};
use crate::tracking::Tracker;
use crate::vision::embedder::EMBEDDING_MODEL_ID;
use crate::vision::liveness::THRESHOLD as LIVE_THRESHOLD;
use crate::vision::{DetectOptions, Expression, Face, FaceAnalyzer, LivenessCheck};

#[derive(Debug, Clone)]
pub struct RollOptions {
    /// Frames averaged for an identity decision (the recognizer is calibrated for this).
    pub track_len: usize,
    /// A track still undecided after this many embedded frames is a stranger.
    pub max_track_frames: usize,
    /// Sample expressions (mood) of recognised students. Off: the model is never run.
    pub mood: bool,
    /// Sample a recognised face's expression every this many frames.
    pub mood_every: u64,
    /// How often `last_seen` of a present student is written.
    pub seen_every: Duration,
    /// How often (wall clock) mood summaries and the session's heartbeat are written: a killed
    /// process loses at most this much mood, and its session is closed on the next start.
    pub flush_every: Duration,
    /// Frames a track survives without a detection.
    pub max_missed_frames: u64,
    /// Run the full detector on every this many frames; in between, the faces of the previous
    /// frame are followed (`FaceDetector::follow`), which costs a fraction of the pyramid. A new
    /// face is therefore found within this many frames. 1 = full detection on every frame.
    pub detect_every: u64,
    /// The school's minimum similarity over the calibrated threshold (`Recognizer::with_floor`).
    pub min_similarity: Option<f32>,
    /// The school's strictness (`settings::STRICTNESS`).
    pub strictness: Strictness,
    /// How often a running roll looks for enrolment changes (and retrains when there are).
    pub gallery_check_every: Duration,
    /// Id of the embedder that embeds this roll's faces: only enrolments made by it are used.
    pub embedding_model: &'static str,
    /// What the detector looks for in this camera's frames (the smallest face size).
    pub detect: DetectOptions,
    /// What a face judged a photo or a screen held up does (`settings::LIVENESS`). Off here; the
    /// CLI, the app and `serve` pass the school's setting (warn unless it chose).
    pub liveness: LivenessMode,
    /// Where the frames come from, for the audit log's account of a spoof attempt.
    pub camera: String,
}

impl Default for RollOptions {
    fn default() -> Self {
        RollOptions {
            track_len: 3,
            max_track_frames: 12,
            mood: true,
            mood_every: 5,
            seen_every: Duration::from_secs(10),
            flush_every: Duration::from_secs(5),
            max_missed_frames: 10,
            detect_every: 3,
            min_similarity: None,
            strictness: Strictness::default(),
            gallery_check_every: Duration::from_secs(5),
            embedding_model: EMBEDDING_MODEL_ID,
            detect: DetectOptions::default(),
            liveness: LivenessMode::Off,
            camera: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
enum Identity {
    #[default]
    Pending,
    Student(i32),
    Stranger,
    /// Looked like this student, but judged a photo or a screen held up: not marked (block mode).
    Spoof(i32),
    /// Recognised as this student; the liveness check has not decided yet. No more embeddings
    /// are needed: only the check's own frames (stillness, scores) until it can say.
    Judging { row: i32, similarity: f32 },
    /// Recognised as a student of the school who is not in this roll's classes: not marked here.
    OtherClass,
}

/// A picture fed as a video does not change between frames; a camera's own noise alone changes
/// every frame by more than this (mean absolute difference of the face's 16x16 sample, in grey
/// levels; nearest-neighbour sampling keeps the noise, which averaging would smooth away).
const STILL_CHANGE: f32 = 0.5;
/// Frame-to-frame changes seen before liveness is decided (a video can repeat a frame or two; a
/// picture repeats them all).
const STILL_PAIRS: usize = 4;
const THUMB: i32 = 16;
/// Liveness scores averaged for a track's verdict, unless its first says live beyond doubt.
const LIVE_FRAMES: usize = 3;
/// A first score this high decides "live" alone: on spoof_dev's whole pictures 93 % of live faces
/// score at least this (and 15 % of attacks, which pass the threshold anyway). The others, and
/// every attack, are averaged over `LIVE_FRAMES` frames: the model costs about a third of an
/// embedding per face, and one score for most faces keeps a crowd's decision within 15 % of
/// what it costs without the check (`cargo bench --bench roll -- crowd`).
const SURE_LIVE: f32 = 0.5;

/// A track's liveness, from its frames so far.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LiveVerdict {
    /// Too few frames yet to tell a still picture from a face.
    Wait,
    Live,
    /// The mean score of the judged frames, if any; `still`: nothing in the face moved.
    Spoof { score: Option<f32>, still: bool },
    CannotJudge,
}

#[derive(Debug, Clone, Default)]
struct TrackState {
    /// The latest embeddings of this face (at most `max_track_frames`).
    embeddings: Vec<Vec<f32>>,
    /// Embedded since the track started or since the recognizer last changed: a track is
    /// written off as a stranger after `max_track_frames` of them without a decision.
    examined: usize,
    votes: Vec<Option<String>>,
    identity: Identity,
    first_seen: Option<NaiveDateTime>,
    /// Liveness scores of the judged frames (at most `max_track_frames`), and how many frames
    /// were put to the check, judged or not (a face too close or too small is not).
    live: Vec<f32>,
    live_tries: usize,
    /// Frame-to-frame changes of the face's pixels (see `STILL_CHANGE`), and the last sample
    /// with where it was taken (the next frame is sampled there too: the box itself jitters).
    changes: Vec<f32>,
    thumb: Option<(opencv::core::Rect, Vec<u8>)>,
    /// Marked although judged a photo or a screen (warn mode): the live view says so on the face.
    flagged: bool,
}

impl TrackState {
    /// Frames the liveness check has sampled so far.
    fn frames_watched(&self) -> usize {
        self.changes.len() + usize::from(self.thumb.is_some())
    }

    /// Enough scores for a verdict: `LIVE_FRAMES` of them, or all so far sure of a live face.
    fn scored_enough(&self) -> bool {
        self.live.len() >= LIVE_FRAMES || (!self.live.is_empty() && self.live.iter().all(|&s| s >= SURE_LIVE))
    }

    /// `enough`: no more frames will come for this decision (the track has had its allowance).
    fn liveness(&self, enough: bool) -> LiveVerdict {
        if self.changes.len() < STILL_PAIRS && !enough {
            return LiveVerdict::Wait;
        }
        let still = self.changes.len() >= STILL_PAIRS && self.changes.iter().all(|&c| c < STILL_CHANGE);
        let score = (!self.live.is_empty()).then(|| self.live.iter().sum::<f32>() / self.live.len() as f32);
        match score {
            _ if still => LiveVerdict::Spoof { score, still },
            Some(_) if !self.scored_enough() && !enough => LiveVerdict::Wait,
            Some(s) if s >= LIVE_THRESHOLD => LiveVerdict::Live,
            Some(_) => LiveVerdict::Spoof { score, still },
            None if self.live_tries < LIVE_FRAMES && !enough => LiveVerdict::Wait,
            None => LiveVerdict::CannotJudge,
        }
    }
}

/// Something the roll did that a person may want to see.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RollEvent {
    Marked { student_id: String, name: String, status: Status, at: NaiveDateTime, late_minutes: i64, similarity: f32 },
    Stranger { track: u64 },
    /// A student of the school who is not in this roll's class(es): recognised, not marked here.
    OtherClass { track: u64 },
    /// A face that looked like this student was judged a photo or a screen held up: not marked
    /// (block) or marked and flagged for review (warn). `score`: the mean liveness score of its
    /// frames (none judged: `still` decided it).
    Spoof { student_id: String, name: String, score: Option<f32>, still: bool, marked: bool },
}

/// A face in the frame as the roll sees it (what the live view draws).
#[derive(Debug, Clone, Serialize)]
pub struct FaceView {
    pub face: Face,
    pub track: u64,
    pub student_id: Option<String>,
    pub name: Option<String>,
    pub stranger: bool,
    /// A student of the school recognised, but not one of this roll's: not marked here.
    pub other_class: bool,
    pub mood: Option<Expression>,
    /// Judged a photo or a screen held up (the live view says so on the face).
    pub spoof: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct FrameOutcome {
    pub faces: Vec<FaceView>,
    pub events: Vec<RollEvent>,
    pub embedded: usize,
}

/// What a mark made in warn mode of a face judged a photo or a screen says to the teacher (the
/// day report, the Excel export); the attempt's details are in the audit log.
pub const SPOOF_REVIEW: &str = "possible photo or screen held up: check this mark (audit log, liveness_spoof)";

/// How a run ended, as `Roll::finish` judged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RunVerdict {
    /// The run watched (frames, faces, somebody to recognise): the session is held, and its
    /// unmarked students are absent.
    Held,
    /// The run watched nothing usable: no absence was recorded. The sentence says what went wrong.
    NotWatched(String),
}

/// A lesson's register this roll writes to, and what its marks are judged against.
struct Register {
    session: Session,
    opening: SessionOpening,
    rules: AttendanceRules,
    /// This run's frames and faces when the register was opened (its counts grow from there).
    frames_at_open: u64,
    faces_at_open: u64,
}

impl Register {
    fn open(store: &mut Store, class: &Class, lesson: LessonSlot, starts_at: NaiveDateTime, source: &str, frames: u64, faces: u64) -> anyhow::Result<Register> {
        let (session, opening) = store.open_session(class, starts_at.date(), lesson, starts_at, source)?;
        let rules = AttendanceRules { starts_at: session.starts_at, late_after_minutes: session.late_after_minutes as i64 };
        Ok(Register { session, opening, rules, frames_at_open: frames, faces_at_open: faces })
    }
}

/// Whose marks the roll writes where.
enum Target {
    /// One class's lesson: every recognised student is marked in it.
    Lesson(Register),
    /// The entrance: every student of `classes` is recognised, and each is marked in the lesson
    /// that is on for them at that moment (`lessons::for_run`), opened when the first of its
    /// students comes in. A student with no lesson on is seen, not marked.
    Entrance { classes: Vec<Class>, source: String, opened: BTreeMap<(i32, NaiveTime), Register>, member_of: HashMap<i32, Vec<i32>> },
}

pub struct Roll {
    target: Target,
    /// Where each recognised student's marks went this run (session ids, and their rules).
    placed: HashMap<i32, Vec<(i32, AttendanceRules)>>,
    recognizer: Recognizer,
    /// The students this roll marks (its classes' members).
    students: HashMap<i32, Student>,
    /// How many of them the recognizer knows (consent and photos).
    recognisable: usize,
    tracker: Tracker<TrackState>,
    moods: HashMap<i32, MoodAccumulator>,
    last_mood: HashMap<i32, Expression>,
    last_written: HashMap<i32, NaiveDateTime>,
    last_flush: Instant,
    options: RollOptions,
    frame_no: u64,
    marked: usize,
    /// This run's frames, faces detected, and frames examined with somebody to recognise.
    frames: u64,
    faces: u64,
    frames_with_gallery: u64,
    /// Sightings waiting for a busy database, by session and student row.
    pending: BTreeMap<(i32, i32), Sighting>,
    /// Sightings whose first mark is queued (counted as marked already).
    pending_marks: std::collections::HashSet<(i32, i32)>,
    /// Students this run has seen the register hold a mark for (by session): a queued sighting
    /// of one of them is not a new mark.
    known_marks: std::collections::HashSet<(i32, i32)>,
    class_ids: Vec<i32>,
    /// Every class of the school: the recognizer knows all their students, though the roll marks
    /// only its own. A stranger is then judged against a school-size gallery, whose cohort and
    /// calibration refuse far more look-alikes than a class's 30 students can (models/README.md:
    /// a class of 26 among 407, strangers accepted 2.8 % -> 0.9 %), and a student of another
    /// class is recognised as themselves instead of as a look-alike here.
    school_classes: Vec<i32>,
    /// What the recognizer was trained on, and its index (each student's template count and
    /// newest id), kept so that after an enrolment change only the students who changed are read.
    gallery: Vec<Enrolled>,
    gallery_index: HashMap<String, GalleryEntry>,
    gallery_version: (i64, Option<i32>, Option<i32>),
    gallery_checked: Instant,
    /// A retraining under way on its own thread (see `follow_enrolment`).
    retraining: Option<Retraining>,
}

struct Retraining {
    /// The new recognizer, and the gallery it was trained on (the roll's own from then on).
    result: std::sync::mpsc::Receiver<(anyhow::Result<Recognizer>, Vec<Enrolled>)>,
    version: (i64, Option<i32>, Option<i32>),
    index: HashMap<String, GalleryEntry>,
}

impl Roll {
    /// Open (or continue) the class's session for `lesson` on `starts_at`'s date and train the
    /// recognizer on the school's enrolled students (only the class's are marked).
    pub fn start(store: &mut Store, class: &Class, lesson: LessonSlot, starts_at: NaiveDateTime, source: &str, options: RollOptions) -> anyhow::Result<Roll> {
        let register = Register::open(store, class, lesson, starts_at, source, 0, 0)?;
        let marked = store.marks(register.session.id)?.len();
        Self::new(store, Target::Lesson(register), vec![class.id], marked, options)
    }

    /// The entrance's roll: every student of `classes` recognised, each marked in the lesson on
    /// for them when they come in. Opens nothing until somebody is recognised.
    pub fn entrance(store: &mut Store, classes: Vec<Class>, source: &str, options: RollOptions) -> anyhow::Result<Roll> {
        let ids: Vec<i32> = classes.iter().map(|c| c.id).collect();
        let member_of = Self::memberships(store, &ids)?;
        let target = Target::Entrance { classes, source: source.to_string(), opened: BTreeMap::new(), member_of };
        Self::new(store, target, ids, 0, options)
    }

    fn new(store: &mut Store, target: Target, class_ids: Vec<i32>, marked: usize, options: RollOptions) -> anyhow::Result<Roll> {
        let school_classes = Self::school_classes(store)?;
        // Version and index before the gallery: a photo added in between is read again later.
        let gallery_version = store.gallery_version(&school_classes, options.embedding_model)?;
        let gallery_index = Self::index(store, &school_classes, &options)?;
        let gallery = store.gallery(&school_classes, options.embedding_model)?;
        let students = Self::students(store, &class_ids)?;
        let recognizer = Self::fit(&gallery, &options)?;
        Ok(Roll {
            target,
            placed: HashMap::new(),
            recognizer,
            recognisable: recognisable(&gallery, &students),
            students,
            tracker: Tracker::new(options.max_missed_frames),
            moods: HashMap::new(),
            last_mood: HashMap::new(),
            last_written: HashMap::new(),
            last_flush: Instant::now(),
            options,
            frame_no: 0,
            marked,
            frames: 0,
            faces: 0,
            frames_with_gallery: 0,
            pending: BTreeMap::new(),
            pending_marks: Default::default(),
            known_marks: Default::default(),
            class_ids,
            school_classes,
            gallery,
            gallery_index,
            gallery_version,
            gallery_checked: Instant::now(),
            retraining: None,
        })
    }

    /// Which of `class_ids` each student is in today.
    fn memberships(store: &mut Store, class_ids: &[i32]) -> anyhow::Result<HashMap<i32, Vec<i32>>> {
        let mut member_of: HashMap<i32, Vec<i32>> = HashMap::new();
        for &c in class_ids {
            for s in store.class_students(c)? {
                member_of.entry(s.id).or_default().push(c);
            }
        }
        Ok(member_of)
    }

    fn index(store: &mut Store, class_ids: &[i32], options: &RollOptions) -> anyhow::Result<HashMap<String, GalleryEntry>> {
        Ok(store.gallery_index(class_ids, options.embedding_model)?.into_iter().map(|e| (e.student.to_string(), e)).collect())
    }

    /// The students a roll of these classes marks, by row.
    pub fn students(store: &mut Store, class_ids: &[i32]) -> Result<HashMap<i32, Student>, StoreError> {
        let mut students = HashMap::new();
        for &c in class_ids {
            students.extend(store.class_students(c)?.into_iter().map(|s| (s.id, s)));
        }
        Ok(students)
    }

    /// The classes whose students a roll's recognizer knows: all of them (why: `Roll::school_classes`'s
    /// field comment).
    pub fn school_classes(store: &mut Store) -> Result<Vec<i32>, StoreError> {
        Ok(store.classes()?.iter().map(|c| c.id).collect())
    }

    /// The recognizer a roll with these options decides with (the photo check trains the same one).
    pub fn fit(gallery: &[Enrolled], options: &RollOptions) -> anyhow::Result<Recognizer> {
        let mut recognizer = Recognizer::train_with(gallery, options.track_len, options.strictness.config())?;
        if let Some(floor) = options.min_similarity {
            recognizer = recognizer.with_floor(floor);
        }
        Ok(recognizer)
    }

    /// The registers a student seen at `at` is marked in: the lesson's, or at the entrance the
    /// lesson on for them in each of their classes (opened on first need). Remembered for the run.
    fn registers_for(&mut self, store: &mut Store, row: i32, at: NaiveDateTime) -> anyhow::Result<Vec<(i32, AttendanceRules)>> {
        // A lesson's roll places everyone in it; at the entrance the lesson depends on the time
        // (a student may come through the gate again for the afternoon).
        if let (Target::Lesson(_), Some(known)) = (&self.target, self.placed.get(&row)) {
            return Ok(known.clone());
        }
        let found = match &mut self.target {
            Target::Lesson(r) => vec![(r.session.id, r.rules)],
            Target::Entrance { classes, source, opened, member_of } => {
                let mut found = Vec::new();
                for class_id in member_of.get(&row).cloned().unwrap_or_default() {
                    let Some(class) = classes.iter().find(|c| c.id == class_id) else { continue };
                    // The day's lessons of this class are over: nothing to register for it now.
                    let Some(run) = lessons::for_entrance(store, class, at)? else { continue };
                    let key = (class.id, run.lesson.start);
                    if !opened.contains_key(&key) {
                        if let Some(id) = run.adopts {
                            store.set_session_start(id, run.lesson, run.starts_at, "camera run (entrance)")?;
                        }
                        let register = Register::open(store, class, run.lesson, run.starts_at, source, self.frames, self.faces)?;
                        tracing::info!(class = %class.name, lesson = %run.lesson.key(), session = register.session.id, "entrance: a lesson's register opened");
                        opened.insert(key, register);
                    }
                    let r = &opened[&key];
                    found.push((r.session.id, r.rules));
                }
                found
            }
        };
        if !found.is_empty() {
            self.placed.insert(row, found.clone());
        }
        Ok(found)
    }

    fn registers(&self) -> Vec<&Register> {
        match &self.target {
            Target::Lesson(r) => vec![r],
            Target::Entrance { opened, .. } => opened.values().collect(),
        }
    }

    /// Enrolment changed while the roll runs (a student enrolled at the door, another deleted):
    /// retrain, and give the faces already written off as strangers another look. Training runs
    /// on a thread of its own (a school-size gallery takes seconds): the loop goes on with the
    /// recognizer it has, and the students it may mark are the new ones at once (a deleted
    /// student is never marked while the new recognizer is being made).
    fn follow_enrolment(&mut self, store: &mut Store) -> anyhow::Result<()> {
        if let Some(pending) = &self.retraining {
            let (recognizer, gallery) = match pending.result.try_recv() {
                Ok((trained, gallery)) => (trained?, gallery),
                Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.retraining = None;
                    anyhow::bail!("retraining the recognizer failed (its thread ended)");
                }
            };
            let (version, index) = (pending.version, pending.index.clone());
            self.retraining = None;
            self.recognisable = recognisable(&gallery, &self.students);
            self.gallery = gallery;
            self.gallery_index = index;
            self.gallery_version = version;
            tracing::info!(students = recognizer.len(), threshold = recognizer.threshold(), "enrolment changed: recognizer retrained");
            self.recognizer = recognizer;
            self.reconsider_tracks();
            return Ok(());
        }
        if self.gallery_checked.elapsed() < self.options.gallery_check_every {
            return Ok(());
        }
        self.gallery_checked = Instant::now();
        // A class added since the start brings its students into the gallery.
        let school = match Self::school_classes(store) {
            Ok(c) => c,
            Err(e) if e.is_busy() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let version = match store.gallery_version(&school, self.options.embedding_model) {
            Ok(v) => v,
            // A server that is away (or a busy file): look again at the next check.
            Err(e) if e.is_busy() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if version == self.gallery_version && school == self.school_classes {
            return Ok(());
        }
        self.school_classes = school;
        // Read only the students whose templates changed (a photo added, a student newly
        // consented or moved in); keep the rest, and drop those gone (deleted, consent ended,
        // moved out). A school-size gallery read whole costs a quarter of a second on this thread.
        let index = Self::index(store, &self.school_classes, &self.options)?;
        let changed: Vec<i32> = index.iter().filter(|(key, e)| self.gallery_index.get(*key) != Some(*e)).map(|(_, e)| e.student).collect();
        // The kept students move to the retraining (no copy of a school's templates); until it
        // is done the roll holds none, so a failed retraining means a whole read next time.
        let was = std::mem::take(&mut self.gallery_index);
        let mut gallery: Vec<Enrolled> =
            std::mem::take(&mut self.gallery).into_iter().filter(|e| index.get(&e.key).is_some_and(|now| was.get(&e.key) == Some(now))).collect();
        gallery.extend(store.gallery_of(&changed, self.options.embedding_model)?);
        // In the order a whole read gives (by student row), so that either way trains the same.
        gallery.sort_by_key(|e| e.key.parse::<i32>().unwrap_or(i32::MAX));
        self.students = Self::students(store, &self.class_ids)?;
        if let Target::Entrance { member_of, .. } = &mut self.target {
            *member_of = Self::memberships(store, &self.class_ids)?;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let options = self.options.clone();
        std::thread::Builder::new().name("retrain".into()).spawn(move || {
            let trained = Self::fit(&gallery, &options);
            let _ = tx.send((trained, gallery));
        })?;
        self.retraining = Some(Retraining { result: rx, version, index });
        Ok(())
    }

    /// After a retraining: strangers and undecided faces are judged again, a deleted student's
    /// track is nobody's.
    fn reconsider_tracks(&mut self) {
        for track in self.tracker.tracks_mut() {
            let st = &mut track.state;
            match st.identity {
                // A stranger may be the student just enrolled: the frames already seen of them are
                // judged again by the new recognizer (with the next new one), and they get a
                // stranger's full allowance of new frames.
                Identity::Stranger | Identity::Pending | Identity::OtherClass => {
                    st.identity = Identity::Pending;
                    st.examined = 0;
                    st.votes = st.embeddings.iter().map(|e| self.recognizer.vote(e)).collect();
                }
                // A deleted student is nobody now.
                Identity::Student(row) | Identity::Judging { row, .. } if !self.students.contains_key(&row) => {
                    *st = TrackState { first_seen: st.first_seen, ..TrackState::default() };
                }
                Identity::Student(_) | Identity::Spoof(_) | Identity::Judging { .. } => {}
            }
        }
    }

    /// The lesson's session (`None` at the entrance, which writes to each student's lesson).
    pub fn session(&self) -> Option<&Session> {
        match &self.target {
            Target::Lesson(r) => Some(&r.session),
            Target::Entrance { .. } => None,
        }
    }

    pub fn recognizer(&self) -> &Recognizer {
        &self.recognizer
    }

    /// How many of this roll's students the recognizer knows (consent and photos).
    pub fn recognisable(&self) -> usize {
        self.recognisable
    }

    /// This roll's students whose photos the decision would often turn away (the photo check's
    /// list; other classes' students are theirs to check).
    pub fn enrolment_risks(&self) -> Vec<EnrolmentRisk> {
        self.recognizer.enrolment_risks().into_iter().filter(|r| among(&self.students, &r.key)).collect()
    }

    /// A retraining after an enrolment change is under way (the loop goes on meanwhile).
    pub fn retraining(&self) -> bool {
        self.retraining.is_some()
    }

    /// Students marked in this session so far (including earlier runs of the same session); at
    /// the entrance, the marks this run made.
    pub fn marked(&self) -> usize {
        self.marked
    }

    /// Process one frame seen at `at`.
    pub fn process(&mut self, store: &mut Store, analyzer: &mut FaceAnalyzer, frame: &Mat, at: NaiveDateTime) -> anyhow::Result<FrameOutcome> {
        self.follow_enrolment(store)?;
        let frame_no = self.frame_no;
        self.frame_no += 1;
        let previous: Vec<Face> = self.tracker.tracks().iter().filter(|t| t.last_frame + 1 == frame_no).map(|t| t.face).collect();
        let faces = if frame_no % self.options.detect_every.max(1) == 0 || previous.is_empty() {
            analyzer.detect(frame, &self.options.detect)?
        } else {
            analyzer.follow(frame, &previous)?
        };
        let track_of = self.tracker.update(frame_no, &faces);
        let mut out = FrameOutcome::default();
        self.frames += 1;
        self.faces += faces.len() as u64;
        if self.recognisable > 0 {
            self.frames_with_gallery += 1;
        }
        self.write_pending(store)?;

        let checking = self.options.liveness != LivenessMode::Off && analyzer.liveness.is_some();
        if let Some(check) = analyzer.liveness.as_mut().filter(|_| checking) {
            self.watch_liveness(check, frame, &faces, &track_of)?;
        }

        // Embed, in one batch, only the faces whose track is still unrecognised.
        let mut decided: Vec<(i32, NaiveDateTime, f32, Option<&'static str>)> = Vec::new();
        // Faces judged a photo or screen: (student row, mean score, still, marked anyway).
        let mut spoofs: Vec<(i32, Option<f32>, bool, bool)> = Vec::new();
        let pending: Vec<usize> = (0..faces.len()).filter(|&i| self.tracker.tracks()[track_of[i]].state.identity == Identity::Pending).collect();
        if !pending.is_empty() {
            let batch: Vec<Face> = pending.iter().map(|&i| faces[i]).collect();
            let embeddings = analyzer.embedder.embed(frame, &batch)?;
            out.embedded = pending.len();
            for (&i, e) in pending.iter().zip(embeddings) {
                let Some(e) = e else { continue };
                let vote = self.recognizer.vote(&e.0);
                let track = &mut self.tracker.tracks_mut()[track_of[i]];
                let st = &mut track.state;
                st.first_seen.get_or_insert(at);
                st.embeddings.push(e.0);
                st.votes.push(vote);
                st.examined += 1;
                if st.embeddings.len() > self.options.max_track_frames {
                    st.embeddings.remove(0);
                    st.votes.remove(0);
                }
                if st.embeddings.len() < self.options.track_len {
                    continue;
                }
                let refs: Vec<&[f32]> = st.embeddings.iter().map(Vec::as_slice).collect();
                match self.recognizer.decide(&refs) {
                    Decision::Known { key, similarity } => {
                        // The vote: most single frames must agree with the track's decision.
                        let agree = st.votes.iter().filter(|v| v.as_deref() == Some(key.as_str())).count();
                        if agree * 2 > st.votes.len() {
                            // Only a student still in the class: one deleted a moment ago may
                            // still be known to the recognizer until its retraining is done.
                            if let Some(row) = key.parse::<i32>().ok().filter(|r| self.students.contains_key(r)) {
                                if checking {
                                    st.identity = Identity::Judging { row, similarity };
                                } else {
                                    st.identity = Identity::Student(row);
                                    decided.push((row, st.first_seen.unwrap_or(at), similarity, None));
                                }
                            } else {
                                // Another class's student (or one deleted a moment ago: the
                                // retraining under way will judge them again).
                                st.identity = Identity::OtherClass;
                                out.events.push(RollEvent::OtherClass { track: track.id });
                            }
                        }
                    }
                    Decision::Unknown { best_similarity } if st.examined >= self.options.max_track_frames => {
                        tracing::debug!(track = track.id, best_similarity, frames = st.embeddings.len(), "a stranger: nobody enrolled is close enough");
                        st.identity = Identity::Stranger;
                        out.events.push(RollEvent::Stranger { track: track.id });
                    }
                    Decision::Unknown { .. } => {}
                }
            }
        }

        // Recognised faces the liveness check has now seen enough of: marked, flagged or refused.
        for &t in &track_of {
            let track = &mut self.tracker.tracks_mut()[t];
            let st = &mut track.state;
            let Identity::Judging { row, similarity } = st.identity else { continue };
            if !self.students.contains_key(&row) {
                continue;
            }
            let verdict = st.liveness(st.frames_watched() >= self.options.max_track_frames);
            tracing::debug!(track = track.id, ?verdict, live = ?st.live, changes = ?st.changes, "liveness at the decision");
            match (self.options.liveness, verdict) {
                (_, LiveVerdict::Wait) => {}
                (LivenessMode::Block, LiveVerdict::Spoof { score, still }) => {
                    st.identity = Identity::Spoof(row);
                    spoofs.push((row, score, still, false));
                }
                // Not marked until the face can be judged (closer, or further back).
                (LivenessMode::Block, LiveVerdict::CannotJudge) => {}
                (_, LiveVerdict::Spoof { score, still }) => {
                    st.identity = Identity::Student(row);
                    st.flagged = true;
                    decided.push((row, st.first_seen.unwrap_or(at), similarity, Some(SPOOF_REVIEW)));
                    spoofs.push((row, score, still, true));
                }
                _ => {
                    st.identity = Identity::Student(row);
                    decided.push((row, st.first_seen.unwrap_or(at), similarity, None));
                }
            }
        }

        // Students recognised in this frame: marked in their register(s).
        for (row, first_seen, similarity, review) in decided {
            for (session, rules) in self.registers_for(store, row, at)? {
                let (status, late) = rules.judge(first_seen);
                let sighting = Sighting { first_seen, last_seen: at, status, late_minutes: late, confidence: similarity, review };
                if let Some(MarkOutcome::Marked { status, late_minutes }) = self.write_sighting(store, session, row, sighting)? {
                    if let Some(s) = self.students.get(&row) {
                        out.events.push(RollEvent::Marked {
                            student_id: s.student_id.clone(),
                            name: s.name(),
                            status,
                            at: first_seen,
                            late_minutes,
                            similarity,
                        });
                    }
                }
            }
            self.last_written.insert(row, at);
        }

        // Spoof attempts: in the audit log (time, camera, the student it resembled, the score; no
        // picture), and on the live view.
        for (row, score, still, marked) in spoofs {
            let Some(s) = self.students.get(&row) else { continue };
            let why = match (still, score) {
                (true, _) => "nothing in the face moved from frame to frame: a still picture".to_string(),
                (false, Some(score)) => format!("liveness score {score:.3}, under {LIVE_THRESHOLD}"),
                (false, None) => "not judged".to_string(),
            };
            let outcome = if marked { "marked, flagged for review" } else { "not marked" };
            let reason = format!("a face like {} on {} at {}: possible photo or screen held up ({why})", s.name(), self.options.camera, at.format("%H:%M:%S"));
            if let Err(e) = store.audit_liveness(self.session().map(|x| x.id), (row, &s.student_id), outcome, reason) {
                tracing::warn!("could not write a spoof attempt to the audit log: {e}");
            }
            tracing::warn!(student = %s.student_id, ?score, still, marked, "possible photo or screen held up");
            out.events.push(RollEvent::Spoof { student_id: s.student_id.clone(), name: s.name(), score, still, marked });
        }

        // Recognised faces: keep last_seen fresh (throttled) and sample their mood.
        let mut mood_faces = Vec::new();
        let mut mood_rows = Vec::new();
        for (i, face) in faces.iter().enumerate() {
            let track = &self.tracker.tracks()[track_of[i]];
            if let Identity::Student(row) = track.state.identity {
                let mood_due = self.options.mood && (frame_no - track.first_frame) % self.options.mood_every.max(1) == 0;
                let due = self.last_written.get(&row).is_none_or(|t| (at - *t).to_std().unwrap_or_default() >= self.options.seen_every);
                if due {
                    let seen = Sighting::again(at);
                    for (session, _) in self.placed.get(&row).cloned().unwrap_or_default() {
                        self.write_sighting(store, session, row, seen)?;
                    }
                    self.last_written.insert(row, at);
                }
                if mood_due {
                    mood_faces.push(*face);
                    mood_rows.push(row);
                }
            }
        }
        if let (false, Some(classifier)) = (mood_faces.is_empty(), analyzer.expression.as_mut().filter(|_| self.options.mood)) {
            for (row, r) in mood_rows.iter().zip(classifier.classify(frame, &mood_faces)?) {
                self.moods.entry(*row).or_default().add(&r);
                self.last_mood.insert(*row, r.label);
            }
        }
        if self.last_flush.elapsed() >= self.options.flush_every {
            self.flush(store)?;
        }

        for (i, face) in faces.iter().enumerate() {
            let track = &self.tracker.tracks()[track_of[i]];
            let (student_id, name, mood) = match track.state.identity {
                Identity::Student(row) => {
                    let s = self.students.get(&row);
                    (s.map(|s| s.student_id.clone()), s.map(Student::name), self.last_mood.get(&row).copied())
                }
                _ => (None, None, None),
            };
            let spoof = matches!(track.state.identity, Identity::Spoof(_)) || track.state.flagged;
            let identity = &track.state.identity;
            out.faces.push(FaceView {
                face: *face,
                track: track.id,
                student_id,
                name,
                stranger: *identity == Identity::Stranger,
                other_class: *identity == Identity::OtherClass,
                mood,
                spoof,
            });
        }
        Ok(out)
    }

    /// The liveness check's share of a frame. Every face not yet decided is sampled for
    /// stillness (a few hundred pixels); the model scores only faces already recognised, from the
    /// frame after (nothing is marked for a stranger, and a crowd's embeddings and scores do not
    /// land on the same frames).
    fn watch_liveness(&mut self, check: &mut LivenessCheck, frame: &Mat, faces: &[Face], track_of: &[usize]) -> anyhow::Result<()> {
        let tracks = self.tracker.tracks();
        let watched: Vec<usize> =
            (0..faces.len()).filter(|&i| matches!(tracks[track_of[i]].state.identity, Identity::Pending | Identity::Judging { .. })).collect();
        let scored: Vec<usize> = watched
            .iter()
            .copied()
            .filter(|&i| matches!(tracks[track_of[i]].state.identity, Identity::Judging { .. }) && !tracks[track_of[i]].state.scored_enough())
            .collect();
        let batch: Vec<Face> = scored.iter().map(|&i| faces[i]).collect();
        for (&i, v) in scored.iter().zip(check.judge(frame, &batch)?) {
            let st = &mut self.tracker.tracks_mut()[track_of[i]].state;
            st.live.extend(v.score());
            st.live_tries += 1;
        }
        let cap = self.options.max_track_frames;
        for &i in &watched {
            let st = &mut self.tracker.tracks_mut()[track_of[i]].state;
            if let Some((rect, prev)) = st.thumb.take() {
                let now = thumbnail(frame, rect)?;
                if !now.is_empty() && now.len() == prev.len() {
                    st.changes.push(prev.iter().zip(&now).map(|(a, b)| a.abs_diff(*b) as f32).sum::<f32>() / now.len() as f32);
                }
            }
            let rect = face_rect(&faces[i], frame);
            st.thumb = Some((rect, thumbnail(frame, rect)?));
            for v in [&mut st.live, &mut st.changes] {
                if v.len() > cap {
                    v.remove(0);
                }
            }
        }
        Ok(())
    }

    /// Write a sighting now, or queue it if the database is busy. Returns what it did to the
    /// record: `None` when queued (a first sighting of this run then counts as a new mark).
    fn write_sighting(&mut self, store: &mut Store, session: i32, row: i32, s: Sighting) -> anyhow::Result<Option<MarkOutcome>> {
        if let Some(p) = self.pending.get_mut(&(session, row)) {
            p.first_seen = p.first_seen.min(s.first_seen);
            p.last_seen = p.last_seen.max(s.last_seen);
            p.review = p.review.or(s.review);
            return Ok(None);
        }
        match store.record_sighting(session, row, &s) {
            Ok(outcome) => {
                self.known_marks.insert((session, row));
                if matches!(outcome, MarkOutcome::Marked { .. }) {
                    self.marked += 1;
                }
                Ok(Some(outcome))
            }
            Err(e) if e.is_busy() => {
                tracing::warn!(student = row, "database busy: the sighting is queued and will be written when it frees");
                self.pending.insert((session, row), s);
                if s.confidence > 0.0 && !self.known_marks.contains(&(session, row)) && self.pending_marks.insert((session, row)) {
                    self.marked += 1;
                    return Ok(Some(MarkOutcome::Marked { status: s.status, late_minutes: s.late_minutes }));
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Try the queued sightings again; those the database is still too busy for stay queued.
    fn write_pending(&mut self, store: &mut Store) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // A school's server that went away: a new connection once it is back.
        match store.revive() {
            Err(e) if e.is_busy() => return Ok(()),
            other => other?,
        }
        while let Some((&(session, row), &s)) = self.pending.iter().next() {
            match store.record_sighting(session, row, &s) {
                Ok(outcome) => {
                    self.pending.remove(&(session, row));
                    self.known_marks.insert((session, row));
                    // Counted when queued; a mark a person or another run made meanwhile wins.
                    if self.pending_marks.remove(&(session, row)) && outcome == MarkOutcome::Seen {
                        self.marked = self.marked.saturating_sub(1);
                    }
                }
                Err(e) if e.is_busy() => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Between frames (a camera that is away): keep trying the queue and keep the heartbeat going.
    pub fn idle(&mut self, store: &mut Store) -> anyhow::Result<()> {
        self.write_pending(store)?;
        if self.last_flush.elapsed() >= self.options.flush_every {
            self.flush(store)?;
        }
        Ok(())
    }

    /// Sightings still waiting for the database.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Mood summaries and the sessions' sign of life. Skipped while the database is busy (both
    /// are written again at the next flush, and at the end).
    fn flush(&mut self, store: &mut Store) -> anyhow::Result<()> {
        self.last_flush = Instant::now();
        let beats: Vec<(i32, i64, i64)> = self.registers().iter().map(|r| (r.session.id, self.session_frames(r), self.session_faces(r))).collect();
        let written = self.flush_moods(store).and_then(|()| {
            for (id, frames, faces) in beats {
                store.session_heartbeat(id, frames, faces)?;
            }
            Ok(())
        });
        match written {
            Err(e) if e.downcast_ref::<StoreError>().is_some_and(StoreError::is_busy) => Ok(()),
            other => other,
        }
    }

    /// A register's frames and faces watched: before this run, and by this run since it opened.
    fn session_frames(&self, r: &Register) -> i64 {
        r.session.frames + (self.frames - r.frames_at_open) as i64
    }

    fn session_faces(&self, r: &Register) -> i64 {
        r.session.faces + (self.faces - r.faces_at_open) as i64
    }

    fn flush_moods(&mut self, store: &mut Store) -> anyhow::Result<()> {
        for (row, acc) in &self.moods {
            if let Some(s) = acc.summary() {
                let json = serde_json::to_string(&s.distribution)?;
                for (session, _) in self.placed.get(row).map(Vec::as_slice).unwrap_or_default() {
                    store.save_mood(*session, *row, s.samples as i32, s.dominant.as_str(), &json)?;
                }
            }
        }
        Ok(())
    }

    /// Did this run watch? Frames arrived, faces were seen in them, and somebody was enrolled
    /// to recognise them. Otherwise the reason, as a sentence.
    pub fn watched(&self) -> Result<(), String> {
        if self.frames == 0 {
            return Err("the camera never delivered a picture".into());
        }
        if self.frames < self.options.track_len as u64 {
            return Err(format!("only {} picture(s) arrived: too few to recognise anyone (a still picture is not a camera)", self.frames));
        }
        if self.frames_with_gallery == 0 {
            return Err("nobody in the class could be recognised (no enrolled faces for this recognition model)".into());
        }
        if self.faces == 0 {
            return Err(format!(
                "no face was detected in {} picture(s): is the camera pointed at the students, and is the smallest face size right for it?",
                self.frames
            ));
        }
        Ok(())
    }

    /// End the run. One that watched writes what is queued (waiting for a busy database as long
    /// as it takes, up to `patience`), the mood summaries, and closes the session: it is held.
    /// One that watched nothing puts the session back as it found it: no absence is recorded.
    pub fn finish(&mut self, store: &mut Store, at: NaiveDateTime, patience: Duration) -> anyhow::Result<RunVerdict> {
        if let Err(reason) = self.watched() {
            let opened: Vec<(i32, SessionOpening)> = self.registers().iter().map(|r| (r.session.id, r.opening)).collect();
            for (id, opening) in opened {
                store.abandon_session(id, opening)?;
            }
            return Ok(RunVerdict::NotWatched(reason));
        }
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            // A school's server that went away after the last sighting: a new connection first.
            let written = store.revive().map_err(anyhow::Error::from).and_then(|()| self.write_pending(store)).and_then(|()| {
                if self.pending.is_empty() {
                    self.flush_moods(store)?;
                    let counts: Vec<(i32, i64, i64)> = self.registers().iter().map(|r| (r.session.id, self.session_frames(r), self.session_faces(r))).collect();
                    for (id, frames, faces) in counts {
                        store.close_session(id, at, frames, faces)?;
                    }
                }
                Ok(())
            });
            match written {
                Ok(()) if self.pending.is_empty() => return Ok(RunVerdict::Held),
                Err(e) if !e.downcast_ref::<StoreError>().is_some_and(StoreError::is_busy) => return Err(e),
                _ => {}
            }
            if started.elapsed() >= patience {
                let rows: Vec<String> =
                    self.pending.keys().filter_map(|(_, r)| self.students.get(r)).map(|s| format!("{} ({})", s.student_id, s.name())).collect();
                anyhow::bail!(
                    "the database stayed busy for {} s: these sightings could not be saved, mark them by hand: {}",
                    patience.as_secs(),
                    if rows.is_empty() { "(mood summaries only)".to_string() } else { rows.join(", ") }
                );
            }
            tracing::warn!(queued = self.pending.len(), "database busy: waiting to save the session's last marks");
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }
}

/// Whether the recognizer's `key` (a student's row) is one of `students`.
pub fn among(students: &HashMap<i32, Student>, key: &str) -> bool {
    key.parse::<i32>().is_ok_and(|row| students.contains_key(&row))
}

/// How many of `students` have templates in `gallery`.
fn recognisable(gallery: &[Enrolled], students: &HashMap<i32, Student>) -> usize {
    gallery.iter().filter(|e| among(students, &e.key)).count()
}

fn face_rect(face: &Face, frame: &Mat) -> opencv::core::Rect {
    use opencv::core::Rect;
    use opencv::prelude::*;
    Rect::new(face.x1.max(0.0) as i32, face.y1.max(0.0) as i32, face.width().max(1.0) as i32, face.height().max(1.0) as i32) & Rect::new(0, 0, frame.cols(), frame.rows())
}

/// The frame's pixels in `r` sampled on a 16x16 grid (nearest neighbour: a camera's noise stays in).
fn thumbnail(frame: &Mat, r: opencv::core::Rect) -> anyhow::Result<Vec<u8>> {
    use opencv::core::{Rect, Size};
    use opencv::prelude::*;
    let r = r & Rect::new(0, 0, frame.cols(), frame.rows());
    if r.width < 1 || r.height < 1 {
        return Ok(Vec::new());
    }
    let mut small = Mat::default();
    opencv::imgproc::resize(&Mat::roi(frame, r)?, &mut small, Size::new(THUMB, THUMB), 0.0, 0.0, opencv::imgproc::INTER_NEAREST)?;
    Ok(small.data_bytes()?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track the check has watched for `frames` frames, each moving by `change`, with `scores`.
    fn watched(frames: usize, change: f32, scores: &[f32], tries: usize) -> TrackState {
        TrackState {
            changes: vec![change; frames - 1],
            thumb: Some((opencv::core::Rect::default(), Vec::new())),
            live: scores.to_vec(),
            live_tries: tries,
            ..TrackState::default()
        }
    }

    #[test]
    fn a_sure_first_score_decides_live_and_an_unsure_one_waits_for_the_average() {
        // Too few frames to tell a still picture: wait, whatever the score.
        assert_eq!(watched(3, 2.0, &[0.9], 1).liveness(false), LiveVerdict::Wait);
        // One score beyond doubt, and the face moves: live.
        assert_eq!(watched(5, 2.0, &[0.9], 1).liveness(false), LiveVerdict::Live);
        // An unsure score: more frames, then their mean decides.
        assert_eq!(watched(5, 2.0, &[0.2], 1).liveness(false), LiveVerdict::Wait);
        assert_eq!(watched(7, 2.0, &[0.2, 0.01, 0.03], 3).liveness(false), LiveVerdict::Live);
        assert!(matches!(watched(7, 2.0, &[0.04, 0.01, 0.03], 3).liveness(false), LiveVerdict::Spoof { still: false, .. }));
        // The track's allowance is spent: the scores it has decide.
        assert!(matches!(watched(12, 2.0, &[0.02], 1).liveness(true), LiveVerdict::Spoof { .. }));
    }

    #[test]
    fn a_still_face_is_a_spoof_whatever_its_score_and_an_unjudgeable_one_is_never_live() {
        assert_eq!(watched(5, 0.1, &[0.99], 1).liveness(false), LiveVerdict::Spoof { score: Some(0.99), still: true });
        // Too close or too small on every try: after LIVE_FRAMES tries it cannot be judged.
        assert_eq!(watched(5, 2.0, &[], 2).liveness(false), LiveVerdict::Wait);
        assert_eq!(watched(5, 2.0, &[], 3).liveness(false), LiveVerdict::CannotJudge);
    }
}
