//! The app's own scheduler: with `timetable_sessions` on, each timetabled lesson's room starts by
//! itself (on the lesson's camera, a quarter of an hour before it) and stops at its end, as
//! `rollcall serve` does on a PC no one sits at (both ask `rollcall::schedule::plans_due`). It
//! also collects rooms that ended by themselves (a file played to its end, a camera that failed)
//! and tells the window.

use std::time::{Duration, Instant};

use rollcall::schedule::{self, Clock, SystemClock};
use rollcall::settings;
use rollcall::storage::Lesson;
use tauri::{AppHandle, Manager};

use crate::camera;
use crate::state::AppState;

/// How often the rooms are brought in line with the timetable (and ended rooms collected).
const TICK: Duration = Duration::from_millis(500);
/// How often the timetable and the setting are read again (an edit applies within this).
const REREAD: Duration = Duration::from_secs(5);

pub fn spawn(handle: AppHandle) {
    let spawned = std::thread::Builder::new().name("scheduler".into()).spawn(move || {
        let clock = SystemClock;
        let mut week: Option<(Instant, bool, Vec<Lesson>, settings::SessionDefaults)> = None;
        loop {
            std::thread::sleep(TICK);
            let Some(state) = handle.try_state::<AppState>() else { continue };
            if state.closing.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            // Nothing to do before the engine has loaded (or if it failed: the window says so).
            if !state.engine.get().is_some_and(|e| e.is_ok()) {
                continue;
            }
            if week.as_ref().is_none_or(|(read, ..)| read.elapsed() >= REREAD) {
                let mut store = state.store();
                let read = settings::timetable_sessions(&mut store)
                    .and_then(|on| Ok((on, if on { store.timetable(None)? } else { Vec::new() }, settings::session_defaults(&mut store)?)));
                match read {
                    Ok((on, lessons, defaults)) => week = Some((Instant::now(), on, lessons, defaults)),
                    Err(e) => tracing::warn!(error = %e, "could not read the timetable; keeping the one read before"),
                }
            }
            let due = match &week {
                Some((_, true, lessons, defaults)) => schedule::plans_due(lessons, clock.now(), defaults),
                _ => Vec::new(),
            };
            match state.with_rooms(|rooms| rooms.tick(due)) {
                Ok(events) => camera::announce(&state.feed, events),
                Err(e) => tracing::warn!(error = %e, "the rooms could not be checked"),
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the timetable's scheduler could not start: sessions are started by hand only");
    }
}
