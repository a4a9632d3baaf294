//! The camera loops behind the live view and the enrolment preview, and how their pictures reach
//! the window. Recognition runs on every frame; the window gets what it can take: a frame is
//! handed to a separate encoder thread through a one-slot mailbox and dropped if the encoder is
//! still busy, so a slow webview never slows the roll. Every room's messages go down one line to
//! the Live page (`LiveFeed`), each tagged with its room (class and lesson).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use opencv::core::Mat;
use opencv::prelude::MatTraitConst;
use serde::Serialize;
use tauri::ipc::Channel;

use rollcall::accounts::Account;
use rollcall::attendance::live::{LiveStats, SessionInfo, SessionObserver, SessionSummary};
use rollcall::attendance::rooms::{ObserverFactory, RoomEvent};
use rollcall::attendance::{FaceView, FrameOutcome, RollEvent};
use rollcall::enrolment::check_image;
use rollcall::schedule::LessonOn;
use rollcall::source::{FrameSource, Next, SourceSpec};
use rollcall::vision::image::encode_preview;

use crate::state::{Engine, Running};

/// Preview pictures are at most this wide (the live view is never larger on a classroom screen).
const PREVIEW_WIDTH: i32 = 960;
const PREVIEW_QUALITY: i32 = 70;
/// The live view is refreshed at most this often. More costs the webview (and on 2 cores, the
/// recognition beside it) without a visible gain for boxes and names: under Xvfb on 2 cores, 66 ms
/// painted 10.3 pictures/s with the roll at 27.8 fps, 100 ms painted 7.8/s with the roll at 29.0
/// fps (the clip's own rate is 29.97).
const LIVE_VIEW_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    /// JPEG, base64.
    pub jpeg: String,
    /// Size of the camera frame the face boxes refer to.
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveMessage {
    Started { info: SessionInfo },
    Frame { picture: Picture, faces: Vec<FaceView>, stats: LiveStats },
    Event { event: RollEvent },
    SourceLost { attempt: u32, wait_seconds: f32 },
    SourceBack,
    Ended { summary: SessionSummary },
    Failed { error: String },
}

/// A room's message, as the Live page receives it: which room (class, and lesson start "HH:MM")
/// and what happened there.
#[derive(Debug, Clone, Serialize)]
pub struct RoomMessage {
    pub class: String,
    pub lesson: String,
    #[serde(flatten)]
    pub message: LiveMessage,
}

/// The Live page's line, replaced each time the page (re)subscribes (after each sign-in), with
/// who listens: a teacher gets only their classes' rooms. Messages sent while no page listens are
/// dropped (the register is in the database, not in the messages).
#[derive(Clone, Default)]
pub struct LiveFeed(Arc<Mutex<Option<(Channel<RoomMessage>, Account)>>>);

impl LiveFeed {
    pub fn listen(&self, channel: Channel<RoomMessage>, who: Account) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((channel, who));
    }

    pub fn send(&self, lesson: &LessonOn, message: LiveMessage) {
        if let Some((channel, who)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if who.sees_class(&lesson.class) {
                let _ = channel.send(RoomMessage { class: lesson.class.clone(), lesson: lesson.start.format("%H:%M").to_string(), message });
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PreviewMessage {
    Frame {
        picture: Picture,
    },
    /// Whether the current picture would be accepted for enrolment, and if not why.
    Quality {
        ok: bool,
        message: String,
    },
    SourceLost {
        attempt: u32,
    },
    Ended {
        error: Option<String>,
    },
}

fn picture(frame: &Mat) -> Option<Picture> {
    let (bytes, _, _) = encode_preview(frame, PREVIEW_WIDTH, PREVIEW_QUALITY).ok()?;
    Some(Picture { jpeg: base64::engine::general_purpose::STANDARD.encode(bytes), width: frame.cols(), height: frame.rows() })
}

type FrameMail = (Mat, Vec<FaceView>, LiveStats);

/// Sends a room's frames, events and troubles to the window.
struct WindowObserver {
    lesson: LessonOn,
    stop: Arc<AtomicBool>,
    feed: LiveFeed,
    mailbox: SyncSender<FrameMail>,
    last_picture: Option<Instant>,
}

impl SessionObserver for WindowObserver {
    fn started(&mut self, info: &SessionInfo) {
        tracing::info!(class = %info.class, lesson = %info.lesson, session = ?info.session_id, source = %info.source, "session started");
        self.feed.send(&self.lesson, LiveMessage::Started { info: info.clone() });
    }

    fn frame(&mut self, frame: &Mat, outcome: &FrameOutcome, stats: &LiveStats) {
        for event in &outcome.events {
            self.feed.send(&self.lesson, LiveMessage::Event { event: event.clone() });
        }
        if self.last_picture.is_some_and(|t| t.elapsed() < LIVE_VIEW_INTERVAL) {
            return;
        }
        match self.mailbox.try_send((frame.clone(), outcome.faces.clone(), stats.clone())) {
            Ok(()) => self.last_picture = Some(Instant::now()),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn source_lost(&mut self, attempt: u32, wait: Duration) {
        self.feed.send(&self.lesson, LiveMessage::SourceLost { attempt, wait_seconds: wait.as_secs_f32() });
    }

    fn source_back(&mut self) {
        self.feed.send(&self.lesson, LiveMessage::SourceBack);
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Each room's observer, with an encoder thread of its own (it ends with the room).
pub fn observers(feed: LiveFeed) -> ObserverFactory {
    Box::new(move |lesson: &LessonOn, stop: Arc<AtomicBool>| -> Box<dyn SessionObserver + Send> {
        let (mailbox, inbox) = sync_channel::<FrameMail>(1);
        let (encoder_feed, room) = (feed.clone(), lesson.clone());
        let spawned = std::thread::Builder::new().name("live-encoder".into()).spawn(move || {
            for (frame, faces, stats) in inbox {
                if let Some(picture) = picture(&frame) {
                    encoder_feed.send(&room, LiveMessage::Frame { picture, faces, stats });
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no encoder thread: this room's pictures are not shown");
        }
        Box::new(WindowObserver { lesson: lesson.clone(), stop, feed: feed.clone(), mailbox, last_picture: None })
    })
}

/// Tell the log and the window how rooms ended (the tests read "session ended" in the log).
pub fn announce(feed: &LiveFeed, events: Vec<RoomEvent>) {
    for e in events {
        match e {
            RoomEvent::Started { lesson, source } => tracing::info!(class = %lesson.class, lesson = %lesson.start.format("%H:%M"), %source, "room starting"),
            RoomEvent::Stopping { lesson } => tracing::info!(class = %lesson.class, lesson = %lesson.start.format("%H:%M"), "lesson over: stopping its room"),
            RoomEvent::Ended { lesson, summary } => {
                tracing::info!(frames = summary.frames, fps = summary.fps, marked = summary.marked_total, class = %lesson.class, "session ended");
                feed.send(&lesson, LiveMessage::Ended { summary });
            }
            RoomEvent::Failed { lesson, error } => {
                tracing::error!(%error, class = %lesson.class, "session ended with an error");
                feed.send(&lesson, LiveMessage::Failed { error });
            }
        }
    }
}

/// How often the enrolment preview judges the picture (each judgement embeds the face).
const QUALITY_EVERY: Duration = Duration::from_millis(250);

/// A camera preview for enrolment: pictures, and a face-quality verdict a few times a second.
/// The last picture judged usable is kept in `usable` for "capture": Capture enrols exactly the
/// picture the verdict was about, however far the camera has moved on. A video file loops (it
/// stands in for a camera).
pub fn start_preview(engine: Engine, spec: SourceSpec, usable: Arc<Mutex<Option<Mat>>>, channel: Channel<PreviewMessage>) -> anyhow::Result<Running> {
    let mut source = FrameSource::open(spec.clone())?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new().name("preview".into()).spawn(move || {
        let mut frame = Mat::default();
        let mut last_quality = Instant::now() - QUALITY_EVERY;
        let mut last_picture: Option<Instant> = None;
        let mut started = Instant::now();
        let mut error = None;
        while !flag.load(Ordering::SeqCst) {
            match source.next(&mut frame) {
                Ok(Next::Frame { position }) => {
                    if let Some(p) = position {
                        if let Some(wait) = p.checked_sub(started.elapsed()) {
                            std::thread::sleep(wait.min(Duration::from_millis(100)));
                        }
                    }
                }
                Ok(Next::Reconnecting { attempt, .. }) => {
                    let _ = channel.send(PreviewMessage::SourceLost { attempt });
                    continue;
                }
                Ok(Next::End) => match FrameSource::open(spec.clone()) {
                    Ok(s) => {
                        source = s;
                        started = Instant::now();
                        continue;
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                },
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
            // At most as often as the live view: every picture sent is queued in the webview, and
            // a busy machine's webview that falls behind would answer Capture only after the queue.
            if last_picture.is_none_or(|t| t.elapsed() >= LIVE_VIEW_INTERVAL) {
                if let Some(picture) = picture(&frame) {
                    last_picture = Some(Instant::now());
                    let _ = channel.send(PreviewMessage::Frame { picture });
                }
            }
            if last_quality.elapsed() >= QUALITY_EVERY {
                last_quality = Instant::now();
                if let Some(Ok(engine)) = engine.get() {
                    // Skip the verdict rather than delay a room's frame or a capture being enrolled.
                    if let Some(verdict) = engine.try_with(|analyzer| check_image(analyzer, &frame)) {
                        let (ok, message) = match verdict {
                            Ok(a) => {
                                *usable.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame.clone());
                                (true, format!("Good picture: face {:.0} px, sharp. Press Capture.", a.face_size))
                            }
                            Err(reason) => (false, reason),
                        };
                        let _ = channel.send(PreviewMessage::Quality { ok, message });
                    }
                }
            }
        }
        *usable.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let _ = channel.send(PreviewMessage::Ended { error });
    })?;
    Ok(Running { stop, handle })
}
