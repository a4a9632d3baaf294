//! Several rooms at once: the registry of running sessions.
//!
//! Each running lesson's roll is a thread of its own with its own database connection and its
//! own camera; all of them share one face engine (`vision::SharedAnalyzer`: loaded once, each
//! frame taking its turn). A camera that cannot be opened, or fails, ends only its own room: the
//! others keep running, and the scheduler tries it again a little later while its lesson is due.
//! Stopping a room asks its loop to stop between frames; the session is then closed like any
//! other, so nothing marked is lost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::live::{run_session, run_session_from, SessionObserver, SessionPlan, SessionSummary};
use crate::schedule::LessonOn;
use crate::source::FrameSource;
use crate::storage::Location;
use crate::vision::SharedAnalyzer;

/// A room whose camera failed is tried again after this long, while its lesson is due.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What happened to a room, for the log (and the app's Live page).
#[derive(Debug)]
pub enum RoomEvent {
    Started {
        lesson: LessonOn,
        source: String,
    },
    /// Asked to stop: its lesson ended, or the process is stopping.
    Stopping {
        lesson: LessonOn,
    },
    Ended {
        lesson: LessonOn,
        summary: SessionSummary,
    },
    Failed {
        lesson: LessonOn,
        error: String,
    },
}

/// Makes each room's observer; it is handed the room's stop flag, which it must answer in
/// `stop_requested`.
pub type ObserverFactory = Box<dyn Fn(&LessonOn, Arc<AtomicBool>) -> Box<dyn SessionObserver + Send> + Send>;

/// A running room, as a front end lists it.
#[derive(Debug, Clone)]
pub struct RunningRoom {
    pub lesson: LessonOn,
    pub source: String,
    pub by_hand: bool,
}

struct Room {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<anyhow::Result<SessionSummary>>,
    /// Started by a person: the scheduler leaves it running until that person (or the source)
    /// ends it.
    by_hand: bool,
    source: String,
}

pub struct Rooms {
    engine: Arc<SharedAnalyzer>,
    db: Location,
    observers: ObserverFactory,
    running: BTreeMap<LessonOn, Room>,
    /// When each lesson's last run ended, and whether it ended well (then it is not run again
    /// that day: a file played to its end, or a stop at the lesson's end).
    finished: BTreeMap<LessonOn, (Instant, bool)>,
}

impl Rooms {
    pub fn new(engine: Arc<SharedAnalyzer>, db: Location, observers: ObserverFactory) -> Rooms {
        Rooms { engine, db, observers, running: BTreeMap::new(), finished: BTreeMap::new() }
    }

    /// The lessons whose rooms are running.
    pub fn running(&self) -> Vec<LessonOn> {
        self.running.iter().filter(|(_, r)| !r.handle.is_finished()).map(|(l, _)| l.clone()).collect()
    }

    /// The running rooms: which lesson, on which source, started by a person or the timetable.
    pub fn list(&self) -> Vec<RunningRoom> {
        self.running
            .iter()
            .filter(|(_, r)| !r.handle.is_finished())
            .map(|(l, r)| RunningRoom { lesson: l.clone(), source: r.source.clone(), by_hand: r.by_hand })
            .collect()
    }

    /// The running room watching `source` (a camera is opened by one room at a time).
    pub fn watching(&self, source: &str) -> Option<&LessonOn> {
        self.running.iter().find(|(_, r)| r.source == source && !r.handle.is_finished()).map(|(l, _)| l)
    }

    /// Start a room now, for a person: its source already open (so a missing camera was reported
    /// to them), kept running whatever the timetable says until stopped. Refused while the same
    /// lesson's room is running.
    pub fn start_by_hand(&mut self, lesson: LessonOn, plan: SessionPlan, source: FrameSource) -> Result<Vec<RoomEvent>, String> {
        let mut events = self.reap();
        if self.running.contains_key(&lesson) {
            return Err(format!(
                "class {}'s lesson at {} is already being taken by a camera: stop that room first",
                lesson.class,
                lesson.start.format("%H:%M")
            ));
        }
        events.push(RoomEvent::Started { lesson: lesson.clone(), source: plan.source.describe() });
        self.spawn(lesson, plan, Some(source), true);
        Ok(events)
    }

    /// Ask one room to stop, and wait for it to close its session.
    pub fn stop(&mut self, lesson: &LessonOn) -> Option<RoomEvent> {
        let room = self.running.remove(lesson)?;
        room.stop.store(true, Ordering::SeqCst);
        Some(self.ended(lesson.clone(), room))
    }

    /// Bring the rooms in line with what is due: start each due lesson that is not running (and
    /// did not already end well, or failed longer than `RETRY_AFTER` ago), ask rooms whose lesson
    /// is no longer due to stop (not those a person started), and collect rooms that ended.
    pub fn tick(&mut self, due: Vec<(LessonOn, SessionPlan)>) -> Vec<RoomEvent> {
        let mut events = self.reap();
        for (lesson, room) in &self.running {
            if !room.by_hand && !due.iter().any(|(l, _)| l == lesson) && !room.stop.swap(true, Ordering::SeqCst) {
                events.push(RoomEvent::Stopping { lesson: lesson.clone() });
            }
        }
        for (lesson, plan) in due {
            if self.running.contains_key(&lesson) {
                continue;
            }
            match self.finished.get(&lesson) {
                Some((_, true)) => continue,
                Some((at, false)) if at.elapsed() < RETRY_AFTER => continue,
                _ => {}
            }
            events.push(RoomEvent::Started { lesson: lesson.clone(), source: plan.source.describe() });
            self.spawn(lesson, plan, None, false);
        }
        events
    }

    fn spawn(&mut self, lesson: LessonOn, plan: SessionPlan, source: Option<FrameSource>, by_hand: bool) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut observer = (self.observers)(&lesson, stop.clone());
        let (engine, db) = (self.engine.clone(), self.db.clone());
        let name = format!("room {} {}", lesson.class, lesson.start.format("%H:%M"));
        let described = plan.source.describe();
        let spawned = std::thread::Builder::new().name(name).spawn(move || -> anyhow::Result<SessionSummary> {
            let mut store = db.open()?;
            match source {
                Some(source) => run_session_from(&mut store, &*engine, &plan, source, observer.as_mut()),
                None => run_session(&mut store, &*engine, &plan, observer.as_mut()),
            }
        });
        match spawned {
            Ok(handle) => {
                self.running.insert(lesson, Room { stop, handle, by_hand, source: described });
            }
            Err(e) => {
                tracing::error!(class = %lesson.class, error = %e, "could not start a room's thread");
                self.finished.insert(lesson, (Instant::now(), false));
            }
        }
    }

    /// Rooms whose thread has ended.
    fn reap(&mut self) -> Vec<RoomEvent> {
        let ended: Vec<LessonOn> = self.running.iter().filter(|(_, r)| r.handle.is_finished()).map(|(l, _)| l.clone()).collect();
        ended.into_iter().filter_map(|l| self.running.remove(&l).map(|room| self.ended(l, room))).collect()
    }

    fn ended(&mut self, lesson: LessonOn, room: Room) -> RoomEvent {
        let result = room.handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the room's thread panicked")));
        self.finished.insert(lesson.clone(), (Instant::now(), result.is_ok()));
        match result {
            Ok(summary) => RoomEvent::Ended { lesson, summary },
            Err(e) => RoomEvent::Failed { lesson, error: format!("{e:#}") },
        }
    }

    /// Stop every room and wait for each to close its session.
    pub fn stop_all(&mut self) -> Vec<RoomEvent> {
        for room in self.running.values() {
            room.stop.store(true, Ordering::SeqCst);
        }
        let all: Vec<LessonOn> = self.running.keys().cloned().collect();
        all.into_iter().filter_map(|l| self.running.remove(&l).map(|room| self.ended(l, room))).collect()
    }
}
