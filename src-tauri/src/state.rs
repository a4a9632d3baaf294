//! What the shell keeps between calls: the open database, the face engine (loaded once, in the
//! background, at start), the rooms taking the roll (several at once, started by a person or by
//! the timetable) and the enrolment preview.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use opencv::core::Mat;
use rollcall::accounts::Presence;
use rollcall::attendance::rooms::Rooms;
use rollcall::storage::Store;
use rollcall::vision::{AnalyzerOptions, FaceAnalyzer, SharedAnalyzer};

use crate::camera::{self, LiveFeed};

/// The face engine, shared by every room, the enrolment preview and photo enrolment: its ONNX
/// sessions are created once, and each use takes its turn (`SharedAnalyzer`).
pub type Engine = Arc<OnceLock<Result<Arc<SharedAnalyzer>, String>>>;

/// A background loop (session or preview) and the flag that ends it.
pub struct Running {
    pub stop: Arc<AtomicBool>,
    pub handle: JoinHandle<()>,
}

impl Running {
    pub fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.handle.join();
    }
}

pub struct AppState {
    pub store: Mutex<Store>,
    pub engine: Engine,
    /// The rooms taking the roll; made when first needed (the engine must be loaded).
    rooms: Mutex<Option<Rooms>>,
    /// The Live page's line: every room's messages, tagged with the room.
    pub feed: LiveFeed,
    pub preview: Mutex<Option<Running>>,
    /// The enrolment preview's last picture judged usable, for "capture".
    pub preview_frame: Arc<Mutex<Option<Mat>>>,
    pub config_dir: Option<PathBuf>,
    /// Set once the app has started closing (its loops are being stopped).
    pub closing: AtomicBool,
    /// Who is signed in (`None`: the sign-in screen). A running session goes on while the app
    /// is locked: the roll is taken by the camera, not by whoever sits at the PC.
    pub presence: Mutex<Option<Presence>>,
}

/// Why the app could not open its database at start (what `app_info` tells the window).
pub struct StartupFailure(pub String);

/// File in the app's config folder that remembers a data folder chosen in Settings.
const DATA_FOLDER_FILE: &str = "data-folder.txt";
/// File in the app's config folder that remembers the school's server chosen in Settings: its
/// address with the school, without the password (kept in `SERVER_PASSWORD_FILE`).
const SERVER_FILE: &str = "register-server.txt";
/// libpq's password file of the app's own, readable by this user only.
const SERVER_PASSWORD_FILE: &str = "server.pgpass";
pub const DB_FILE_NAME: &str = "rollcall.sqlite3";

impl AppState {
    pub fn open(config_dir: Option<PathBuf>) -> anyhow::Result<AppState> {
        let store = match database_path(config_dir.as_deref()) {
            Some(path) => Store::open(&path)?,
            None => Store::open_default()?,
        };
        let engine: Engine = Arc::new(OnceLock::new());
        // Load the models while the window opens, so the first session starts at once.
        let loader = engine.clone();
        std::thread::spawn(move || {
            loader.get_or_init(load_engine);
        });
        Ok(AppState {
            store: Mutex::new(store),
            engine,
            rooms: Mutex::new(None),
            feed: LiveFeed::default(),
            preview: Mutex::new(None),
            preview_frame: Arc::default(),
            config_dir,
            closing: AtomicBool::new(false),
            presence: Mutex::new(None),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine, waiting for the start-up load if it is still running.
    pub fn engine(&self) -> Result<&Arc<SharedAnalyzer>, String> {
        self.engine.get_or_init(load_engine).as_ref().map_err(Clone::clone)
    }

    /// Work on the rooms (made on first use, on the current database, once the engine is loaded).
    pub fn with_rooms<R>(&self, f: impl FnOnce(&mut Rooms) -> R) -> Result<R, String> {
        let mut slot = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let engine = self.engine()?.clone();
            let db = self.store().location();
            *slot = Some(Rooms::new(engine, db, camera::observers(self.feed.clone())));
        }
        Ok(f(slot.as_mut().expect("made above")))
    }

    /// Forget the rooms (none running): the next ones open the database chosen since.
    pub fn reset_rooms(&self) {
        *self.rooms.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn engine_status(&self) -> (&'static str, Option<String>) {
        match self.engine.get() {
            None => ("loading", None),
            Some(Ok(_)) => ("ready", None),
            Some(Err(e)) => ("failed", Some(e.clone())),
        }
    }

    pub fn data_folder_file(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join(DATA_FOLDER_FILE))
    }

    pub fn server_file(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join(SERVER_FILE))
    }

    pub fn server_password_file(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join(SERVER_PASSWORD_FILE))
    }

    pub fn session_running(&self) -> bool {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|r| !r.running().is_empty())
    }

    /// Stop every camera loop and wait for each to close what it opened (the sessions' marks
    /// and mood summaries are written by then).
    pub fn stop_all(&self) {
        let events = self.rooms.lock().unwrap_or_else(|e| e.into_inner()).as_mut().map(Rooms::stop_all).unwrap_or_default();
        camera::announce(&self.feed, events);
        Self::stop(&self.preview);
    }

    /// End the loop in `slot`, if any, and wait for it.
    pub fn stop(slot: &Mutex<Option<Running>>) {
        let running = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = running {
            r.finish();
        }
    }
}

fn load_engine() -> Result<Arc<SharedAnalyzer>, String> {
    let started = std::time::Instant::now();
    let analyzer = FaceAnalyzer::load(&AnalyzerOptions::default()).map_err(|e| e.to_string())?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, models = %analyzer.models_dir().display(), "face engine loaded");
    Ok(Arc::new(SharedAnalyzer::new(analyzer)))
}

/// `--db PATH` or `ROLLCALL_DB` (as for the CLI), else the school's server or a data folder
/// chosen in Settings; `None`: the OS's app-data folder (the same database the CLI uses by default).
pub fn database_path(config_dir: Option<&std::path::Path>) -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--db" {
            return args.next().map(PathBuf::from);
        }
    }
    if let Some(p) = std::env::var_os("ROLLCALL_DB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(server) = config_dir.and_then(|d| std::fs::read_to_string(d.join(SERVER_FILE)).ok()).filter(|s| !s.trim().is_empty()) {
        return Some(PathBuf::from(server.trim()));
    }
    let folder = config_dir.and_then(|d| std::fs::read_to_string(d.join(DATA_FOLDER_FILE)).ok())?;
    let folder = folder.trim();
    (!folder.is_empty()).then(|| PathBuf::from(folder).join(DB_FILE_NAME))
}
