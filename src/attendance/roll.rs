//! Taking the roll from a stream of frames: detect faces, follow them as tracks, decide each
//! track's identity once from several frames (a vote, so one bad frame never marks the wrong
//! child), apply the attendance rules, record marks and moods.
//!
//! A track is embedded only until it is decided; after that its face costs only detection
//! (and an expression sample now and then), which is what keeps a busy doorway real-time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use opencv::core::Mat;
use serde::Serialize;

use super::mood::MoodAccumulator;
use super::rules::{AttendanceRules, Status};
use crate::recognition::{Decision, Recognizer};
use crate::storage::{Class, MarkOutcome, Session, Store, Student};
use crate::tracking::Tracker;
use crate::vision::embedder::EMBEDDING_MODEL_ID;
use crate::vision::{Expression, Face, FaceAnalyzer};

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
    /// How often mood summaries are written during a session.
    pub mood_flush_every: Duration,
    /// Frames a track survives without a detection.
    pub max_missed_frames: u64,
    /// Run the full detector on every this many frames; in between, the faces of the previous
    /// frame are followed (`FaceDetector::follow`), which costs a fraction of the pyramid. A new
    /// face is therefore found within this many frames. 1 = full detection on every frame.
    pub detect_every: u64,
    /// The school's minimum similarity over the calibrated threshold (`Recognizer::with_floor`).
    pub min_similarity: Option<f32>,
    /// How often a running roll looks for enrolment changes (and retrains when there are).
    pub gallery_check_every: Duration,
    /// Id of the embedder that embeds this roll's faces: only enrolments made by it are used.
    pub embedding_model: &'static str,
}

impl Default for RollOptions {
    fn default() -> Self {
        RollOptions {
            track_len: 3,
            max_track_frames: 12,
            mood: true,
            mood_every: 5,
            seen_every: Duration::from_secs(10),
            mood_flush_every: Duration::from_secs(30),
            max_missed_frames: 10,
            detect_every: 3,
            min_similarity: None,
            gallery_check_every: Duration::from_secs(5),
            embedding_model: EMBEDDING_MODEL_ID,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
enum Identity {
    #[default]
    Pending,
    Student(i32),
    Stranger,
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
}

/// Something the roll did that a person may want to see.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RollEvent {
    Marked { student_id: String, name: String, status: Status, at: NaiveDateTime, late_minutes: i64, similarity: f32 },
    Stranger { track: u64 },
}

/// A face in the frame as the roll sees it (what the live view draws).
#[derive(Debug, Clone, Serialize)]
pub struct FaceView {
    pub face: Face,
    pub track: u64,
    pub student_id: Option<String>,
    pub name: Option<String>,
    pub stranger: bool,
    pub mood: Option<Expression>,
}

#[derive(Debug, Default, Serialize)]
pub struct FrameOutcome {
    pub faces: Vec<FaceView>,
    pub events: Vec<RollEvent>,
    pub embedded: usize,
}

pub struct Roll {
    session: Session,
    rules: AttendanceRules,
    recognizer: Recognizer,
    students: HashMap<i32, Student>,
    tracker: Tracker<TrackState>,
    moods: HashMap<i32, MoodAccumulator>,
    last_mood: HashMap<i32, Expression>,
    last_written: HashMap<i32, NaiveDateTime>,
    last_mood_flush: Option<NaiveDateTime>,
    options: RollOptions,
    frame_no: u64,
    marked: usize,
    class_id: i32,
    gallery_version: (i64, Option<i32>),
    gallery_checked: Instant,
}

impl Roll {
    /// Open (or continue) the class's session on `starts_at`'s date and train the recognizer on
    /// the class's enrolled students.
    pub fn start(store: &mut Store, class: &Class, starts_at: NaiveDateTime, source: &str, options: RollOptions) -> anyhow::Result<Roll> {
        let session = store.open_session(class, starts_at.date(), starts_at, source)?;
        let gallery_version = store.gallery_version(class.id, options.embedding_model)?;
        let (recognizer, students) = Self::train(store, class.id, &options)?;
        let rules = AttendanceRules { starts_at: session.starts_at, late_after_minutes: session.late_after_minutes as i64 };
        let marked = store.marks(session.id)?.len();
        Ok(Roll {
            session,
            rules,
            recognizer,
            students,
            tracker: Tracker::new(options.max_missed_frames),
            moods: HashMap::new(),
            last_mood: HashMap::new(),
            last_written: HashMap::new(),
            last_mood_flush: None,
            options,
            frame_no: 0,
            marked,
            class_id: class.id,
            gallery_version,
            gallery_checked: Instant::now(),
        })
    }

    fn train(store: &mut Store, class_id: i32, options: &RollOptions) -> anyhow::Result<(Recognizer, HashMap<i32, Student>)> {
        let gallery = store.gallery(class_id, options.embedding_model)?;
        let mut recognizer = Recognizer::train(&gallery, options.track_len)?;
        if let Some(floor) = options.min_similarity {
            recognizer = recognizer.with_floor(floor);
        }
        let students = store.class_students(class_id)?.into_iter().map(|s| (s.id, s)).collect();
        Ok((recognizer, students))
    }

    /// Enrolment changed while the roll runs (a student enrolled at the door, another deleted):
    /// retrain, and give the faces already written off as strangers another look.
    fn follow_enrolment(&mut self, store: &mut Store) -> anyhow::Result<()> {
        if self.gallery_checked.elapsed() < self.options.gallery_check_every {
            return Ok(());
        }
        self.gallery_checked = Instant::now();
        let version = store.gallery_version(self.class_id, self.options.embedding_model)?;
        if version == self.gallery_version {
            return Ok(());
        }
        let (recognizer, students) = Self::train(store, self.class_id, &self.options)?;
        tracing::info!(students = recognizer.len(), threshold = recognizer.threshold(), "enrolment changed: recognizer retrained");
        self.recognizer = recognizer;
        self.students = students;
        self.gallery_version = version;
        for track in self.tracker.tracks_mut() {
            let st = &mut track.state;
            match st.identity {
                // A stranger may be the student just enrolled: the frames already seen of them are
                // judged again by the new recognizer (with the next new one), and they get a
                // stranger's full allowance of new frames.
                Identity::Stranger | Identity::Pending => {
                    st.identity = Identity::Pending;
                    st.examined = 0;
                    st.votes = st.embeddings.iter().map(|e| self.recognizer.vote(e)).collect();
                }
                // A deleted student is nobody now.
                Identity::Student(row) if !self.students.contains_key(&row) => {
                    *st = TrackState { first_seen: st.first_seen, ..TrackState::default() };
                }
                Identity::Student(_) => {}
            }
        }
        Ok(())
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn recognizer(&self) -> &Recognizer {
        &self.recognizer
    }

    /// Students marked in this session so far (including earlier runs of the same session).
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
            analyzer.detector.detect(frame)?
        } else {
            analyzer.detector.follow(frame, &previous)?
        };
        let track_of = self.tracker.update(frame_no, &faces);
        let mut out = FrameOutcome::default();

        // Embed, in one batch, only the faces whose track is still undecided.
        let pending: Vec<usize> =
            (0..faces.len()).filter(|&i| self.tracker.tracks()[track_of[i]].state.identity == Identity::Pending).collect();
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
                            if let Ok(row) = key.parse::<i32>() {
                                st.identity = Identity::Student(row);
                                let first_seen = st.first_seen.unwrap_or(at);
                                let (status, late) = self.rules.judge(first_seen);
                                let outcome = store.record_sighting(self.session.id, row, first_seen, status, late, similarity)?;
                                self.last_written.insert(row, at);
                                if let MarkOutcome::Marked { status, late_minutes } = outcome {
                                    self.marked += 1;
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
                        }
                    }
                    Decision::Unknown { .. } if st.examined >= self.options.max_track_frames => {
                        st.identity = Identity::Stranger;
                        out.events.push(RollEvent::Stranger { track: track.id });
                    }
                    Decision::Unknown { .. } => {}
                }
            }
        }

        // Recognised faces: keep last_seen fresh (throttled) and sample their mood.
        let mut mood_faces = Vec::new();
        let mut mood_rows = Vec::new();
        for (i, face) in faces.iter().enumerate() {
            let track = &self.tracker.tracks()[track_of[i]];
            if let Identity::Student(row) = track.state.identity {
                let due = self.last_written.get(&row).is_none_or(|t| (at - *t).to_std().unwrap_or_default() >= self.options.seen_every);
                if due {
                    store.record_sighting(self.session.id, row, at, Status::Present, 0, 0.0)?;
                    self.last_written.insert(row, at);
                }
                if self.options.mood && (frame_no - track.first_frame) % self.options.mood_every.max(1) == 0 {
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
        if self.last_mood_flush.is_none_or(|t| (at - t).to_std().unwrap_or_default() >= self.options.mood_flush_every) {
            self.flush_moods(store)?;
            self.last_mood_flush = Some(at);
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
            out.faces.push(FaceView { face: *face, track: track.id, student_id, name, stranger: track.state.identity == Identity::Stranger, mood });
        }
        Ok(out)
    }

    fn flush_moods(&mut self, store: &mut Store) -> anyhow::Result<()> {
        for (row, acc) in &self.moods {
            if let Some(s) = acc.summary() {
                let json = serde_json::to_string(&s.distribution)?;
                store.save_mood(self.session.id, *row, s.samples as i32, s.dominant.as_str(), &json)?;
            }
        }
        Ok(())
    }

    /// Write the mood summaries and close the session (absent = not marked by now).
    pub fn finish(&mut self, store: &mut Store, at: NaiveDateTime) -> anyhow::Result<()> {
        self.flush_moods(store)?;
        store.close_session(self.session.id, at)?;
        Ok(())
    }
}
