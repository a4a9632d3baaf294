//! "Does this installation work?" in one report (issue 15): what a school's IT technician runs
//! first after installing, on each of thirty PCs, and what Settings shows as "About this
//! installation". Every check uses the same code path as the product (the runtime lookup, the
//! face engine, the capture path a camera uses, the encrypted store), so a pass means the app
//! will start and recognise, and a failure is the sentence the app itself would have said.
//!
//! Nothing here writes to the register: the database check makes a new one in a temporary
//! folder, and the data-folder check only creates and removes a temporary file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::keys::{DatabaseKey, KeyStore};
use crate::runtime::{self, ModelFile};
use crate::source::{FrameSource, Next, SourceSpec};
use crate::storage::Store;
use crate::vision::{self, AnalyzerOptions, DetectOptions, FaceAnalyzer};

/// The self-test's own files, shipped in the models folder (public-domain; models/README.md).
pub const PHOTO: ModelFile = ModelFile {
    name: "self-test photo",
    relative_path: "selftest/face.jpg",
    sha256: "1398c12da7bf4647401a4f2bdd54df23b2b82944f6b0c139099edbc56fd93fb3",
};
pub const VIDEO: ModelFile = ModelFile {
    name: "self-test video",
    relative_path: "selftest/face.mp4",
    sha256: "2ba67c8714dc5ff7c3b0d063621e3c9d3d3046f4b9f2789a4e4c8f480e8c5c09",
};
/// The photo's FaceNet (fp16) embedding as this project computed it: 512 little-endian f32.
pub const REFERENCE: ModelFile = ModelFile {
    name: "self-test reference embedding",
    relative_path: "selftest/face.fp16.embedding",
    sha256: "ad7a7f639ed9cc2087d9df108bb4892c20045eb2c2eb404163d38d91668e01fa",
};
pub const SELF_TEST_FILES: [ModelFile; 3] = [PHOTO, VIDEO, REFERENCE];

/// The same model on another CPU or ONNX Runtime build agrees to within rounding (measured 1.0000
/// here); a wrong preprocessing or a broken library lands far below (a different person scores
/// under 0.5).
const MIN_REFERENCE_COSINE: f32 = 0.98;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// Works, but not as shipped (another ONNX Runtime build named by ROLLCALL_ORT_LIB).
    Warning,
    Failed,
    /// Needs what an earlier check found missing.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    /// What was found where (paths, versions, counts).
    pub found: String,
    /// For a failure or warning: the sentence that says what is wrong and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: &'static str,
    pub platform: String,
    pub executable: Option<PathBuf>,
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    /// The first failure's sentence (what the exit status 1 is about).
    pub fn first_problem(&self) -> Option<&str> {
        self.checks.iter().find(|c| c.outcome == Outcome::Failed).and_then(|c| c.problem.as_deref())
    }

    /// The report as text, one line per check, for a terminal or a log.
    pub fn to_text(&self) -> String {
        let mut s = format!("Rollcall {} self-test on {}\n", self.version, self.platform);
        if let Some(exe) = &self.executable {
            s += &format!("  program: {}\n", exe.display());
        }
        for c in &self.checks {
            let tag = match c.outcome {
                Outcome::Ok => "ok     ",
                Outcome::Warning => "WARNING",
                Outcome::Failed => "FAILED ",
                Outcome::Skipped => "skipped",
            };
            s += &format!("  {tag} {:<14} {}\n", c.name, c.found);
            if let Some(p) = &c.problem {
                s += &format!("          {:<14} -> {}\n", "", p.replace('\n', "\n             "));
            }
        }
        let failed = self.checks.iter().filter(|c| c.outcome == Outcome::Failed).count();
        s += &match failed {
            0 => format!("All {} checks passed: this installation can take the roll.\n", self.checks.len()),
            n => format!("{n} of {} checks failed (what to do is under each).\n", self.checks.len()),
        };
        s
    }
}

/// What to test: the models folder (as `--models`; `None` searches as the app does) and the
/// register the program would open (its data folder is checked, the file is not opened).
#[derive(Debug, Clone)]
pub struct Options {
    pub models_dir: Option<PathBuf>,
    pub database: PathBuf,
}

/// Run every check. Never panics on what it finds: each problem is one failed check.
pub fn run(options: &Options) -> Report {
    let mut checks = Vec::new();
    let ort = timed(&mut checks, "ONNX Runtime", check_runtime);
    let models = timed_value(&mut checks, "models", || check_models(options.models_dir.as_deref()));
    let mut engine = None;
    match (&models, ort) {
        (Some(dir), true) => {
            engine = timed_value(&mut checks, "face engine", || check_engine(dir));
        }
        _ => checks.push(skipped("face engine", "needs ONNX Runtime and the models")),
    }
    match &models {
        Some(dir) => {
            timed(&mut checks, "video", || check_video(dir, engine.as_mut()));
        }
        None => checks.push(skipped("video", "needs the models folder (the test video is kept there)")),
    }
    timed(&mut checks, "database", check_database);
    timed(&mut checks, "database key", check_key_store);
    timed(&mut checks, "data folder", || check_data_folder(&options.database));
    let ok = checks.iter().all(|c| c.outcome != Outcome::Failed);
    Report {
        version: env!("CARGO_PKG_VERSION"),
        platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        executable: std::env::current_exe().ok(),
        ok,
        checks,
    }
}

/// A check's result: what was found, and whether it works (`Err`: the sentence).
struct Found {
    outcome: Outcome,
    found: String,
    problem: Option<String>,
}

impl Found {
    fn ok(found: impl Into<String>) -> Self {
        Found { outcome: Outcome::Ok, found: found.into(), problem: None }
    }
    fn failed(found: impl Into<String>, problem: impl Into<String>) -> Self {
        Found { outcome: Outcome::Failed, found: found.into(), problem: Some(problem.into()) }
    }
}

fn skipped(name: &'static str, why: &str) -> Check {
    Check { name, outcome: Outcome::Skipped, found: format!("not run: {why}"), problem: None, ms: 0 }
}

fn timed(checks: &mut Vec<Check>, name: &'static str, f: impl FnOnce() -> Found) -> bool {
    timed_value(checks, name, || (f(), Some(()))).is_some()
}

/// Run a check that also hands on what later checks need (`None` when it failed).
fn timed_value<T>(checks: &mut Vec<Check>, name: &'static str, f: impl FnOnce() -> (Found, Option<T>)) -> Option<T> {
    let started = Instant::now();
    let (found, value) = f();
    let failed = found.outcome == Outcome::Failed;
    checks.push(Check { name, outcome: found.outcome, found: found.found, problem: found.problem, ms: started.elapsed().as_millis() as u64 });
    if failed {
        None
    } else {
        value
    }
}

fn check_runtime() -> Found {
    let path = match runtime::locate_library() {
        Ok(p) => p,
        Err(e) => return Found::failed("not found", e.to_string()),
    };
    let pinned = match (runtime::PINNED_LIBRARY_SHA256, std::fs::read(&path)) {
        (Some(want), Ok(bytes)) => runtime::sha256_hex(&bytes) == want,
        _ => false,
    };
    if let Err(e) = runtime::environment() {
        return Found::failed(format!("{} (could not be loaded)", path.display()), e.to_string());
    }
    if pinned {
        Found::ok(format!("{} at {} (the pinned build, sha256 checked)", runtime::ORT_VERSION, path.display()))
    } else {
        Found {
            outcome: Outcome::Warning,
            found: format!("loaded from {}", path.display()),
            problem: Some(format!(
                "this is not the ONNX Runtime {} build Rollcall ships (its sha256 differs): it loaded, but recognition was measured only with the shipped one; unset ROLLCALL_ORT_LIB or reinstall",
                runtime::ORT_VERSION
            )),
        }
    }
}

/// The models folder, every pinned model and self-test file present with its checksum.
fn check_models(explicit: Option<&Path>) -> (Found, Option<PathBuf>) {
    let dir = match runtime::locate_models_dir(explicit) {
        Ok(d) => d,
        Err(e) => return (Found::failed("not found", e.to_string()), None),
    };
    let files: Vec<&ModelFile> = runtime::ALL_MODELS.iter().chain(SELF_TEST_FILES.iter()).collect();
    for m in &files {
        if let Err(e) = runtime::read_pinned(&dir, m) {
            return (Found::failed(dir.display().to_string(), e.to_string()), None);
        }
    }
    (Found::ok(format!("{}: {} files, every sha256 matches its pin", dir.display(), files.len())), Some(dir))
}

/// Load the engine as the app does, then decode the photo, detect, embed and classify its face.
fn check_engine(models_dir: &Path) -> (Found, Option<FaceAnalyzer>) {
    let options = AnalyzerOptions { models_dir: Some(models_dir.to_path_buf()), ..AnalyzerOptions::default() };
    let mut analyzer = match FaceAnalyzer::load(&options) {
        Ok(a) => a,
        Err(e) => return (Found::failed("the models did not load", e.to_string()), None),
    };
    let photo = models_dir.join(PHOTO.relative_path);
    let image = match vision::load_image(&photo) {
        Ok(i) => i,
        Err(e) => return (Found::failed(format!("{} not decoded", photo.display()), format!("{e}: this build cannot decode JPEG photos")), None),
    };
    let faces = match analyzer.analyze(&image, &DetectOptions::default()) {
        Ok(f) => f,
        Err(e) => return (Found::failed("inference failed", e.to_string()), None),
    };
    let [face] = faces.as_slice() else {
        let msg = format!("{} face(s) found in the test photo, 1 expected: the detector does not work as shipped; reinstall", faces.len());
        return (Found::failed("detection", msg), None);
    };
    let reference = std::fs::read(models_dir.join(REFERENCE.relative_path)).map(|b| crate::storage::embedding_from_bytes(&b)).unwrap_or_default();
    let cosine = face.embedding.as_ref().map(|e| vision::cosine(e.as_slice(), &reference)).unwrap_or(0.0);
    let mood = face.expression.as_ref().map(|e| e.label.as_str()).unwrap_or("not classified");
    let mood = mood.to_string();
    let found = format!("1 face (detector score {:.3}); embedding agrees with the reference (cosine {cosine:.4}); expression {mood}", face.face.score);
    if cosine < MIN_REFERENCE_COSINE {
        let msg = format!("the face's embedding differs from the one this build was made with (cosine {cosine:.3}, at least {MIN_REFERENCE_COSINE} expected): the ONNX Runtime library or a model is not the shipped one; reinstall");
        return (Found::failed(found, msg), None);
    }
    (Found::ok(found), Some(analyzer))
}

/// Open the test video through the camera's capture path (this is what needs the platform's
/// video plugin: FFmpeg inside OpenCV), read every frame, and find the face in one.
fn check_video(models_dir: &Path, engine: Option<&mut FaceAnalyzer>) -> Found {
    let path = models_dir.join(VIDEO.relative_path);
    let mut source = match FrameSource::open(SourceSpec::File(path.clone())) {
        Ok(s) => s,
        Err(e) => return Found::failed(format!("{} not opened", path.display()), format!("{e}: OpenCV's video plugin (FFmpeg) is missing from this installation, so cameras streaming H.264, RTSP and video files will not open; reinstall")),
    };
    let backend = source.backend();
    let mut frame = opencv::core::Mat::default();
    let mut frames = 0;
    let mut middle = None;
    loop {
        match source.next(&mut frame) {
            Ok(Next::Frame { .. }) => {
                frames += 1;
                if frames == 5 {
                    middle = Some(frame.clone());
                }
            }
            Ok(Next::End) => break,
            Ok(Next::Reconnecting { .. }) => break,
            Err(e) => return Found::failed(format!("{frames} frames read"), e.to_string()),
        }
    }
    if frames == 0 {
        return Found::failed(format!("opened through {backend}"), "the test video opened but gave no frame: the video plugin cannot decode H.264; reinstall");
    }
    let faces = match (engine, middle) {
        (Some(engine), Some(frame)) => match engine.detect(&frame, &DetectOptions::default()) {
            Ok(f) if f.len() == 1 => "; 1 face in frame 5".to_string(),
            Ok(f) => format!("; {} faces in frame 5", f.len()),
            Err(e) => return Found::failed(format!("{frames} frames"), e.to_string()),
        },
        _ => String::new(),
    };
    Found::ok(format!("{} frames of H.264 read through {backend} (the camera's capture path){faces}", frames))
}

/// A new encrypted database in a temporary folder: created, migrated, written and read back.
fn check_database() -> Found {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Found::failed("no temporary folder", format!("cannot create a temporary folder ({e}): the disk may be full or TEMP points to a folder that cannot be written")),
    };
    let path = dir.path().join("self-test.sqlite3");
    let result = Store::open_keyed(&path, &DatabaseKey::random()).and_then(|mut store| {
        store.set_setting("self_test", "written")?;
        store.setting("self_test")
    });
    match result {
        Ok(Some(v)) if v == "written" => Found::ok("a new encrypted database (SQLCipher) created, migrated, written and read back in a temporary folder"),
        Ok(other) => Found::failed("read back wrong", format!("the test database gave back {other:?}: the SQLite build is not working; reinstall")),
        Err(e) => Found::failed("could not be created", format!("{e}")),
    }
}

/// Where the register's key is kept, and whether that place can be used.
fn check_key_store() -> Found {
    let keys = KeyStore::from_env();
    match keys.load() {
        Ok(Some(_)) => Found::ok(format!("{} holds the register's key", keys.describe())),
        Ok(None) => Found::ok(format!("{}: available, no key yet (one is made when the register is first created)", keys.describe())),
        Err(e) => Found::failed(keys.describe(), e.to_string()),
    }
}

/// The register's folder: it exists and can be read and written, or can be created.
fn check_data_folder(database: &Path) -> Found {
    let folder = database.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fix = "give this user account read and write access to it, or choose another data folder (Settings, or --db / ROLLCALL_DB)";
    if folder.exists() {
        if !folder.is_dir() {
            return Found::failed(folder.display().to_string(), format!("the data folder {} is a file, not a folder: move the file away, or choose another data folder (Settings, or --db / ROLLCALL_DB)", folder.display()));
        }
        if let Err(e) = std::fs::read_dir(folder) {
            return Found::failed(folder.display().to_string(), format!("the data folder {} cannot be read ({e}): {fix}", folder.display()));
        }
        if let Err(e) = tempfile::tempfile_in(folder) {
            return Found::failed(folder.display().to_string(), format!("the data folder {} cannot be written ({e}): {fix}", folder.display()));
        }
        let register = match std::fs::metadata(database) {
            Ok(m) if m.is_file() => {
                if let Err(e) = std::fs::File::open(database) {
                    return Found::failed(database.display().to_string(), format!("the register {} cannot be read ({e}): {fix}", database.display()));
                }
                format!("the register is there ({:.1} MB)", m.len() as f64 / 1e6)
            }
            Ok(_) => return Found::failed(database.display().to_string(), format!("{} is not a file: move it away, or choose another data folder", database.display())),
            Err(_) => "no register yet (made at first start)".to_string(),
        };
        return Found::ok(format!("{} (readable and writable); {register}", folder.display()));
    }
    // Not there yet: the nearest folder that is must let us create it.
    let Some(existing) = folder.ancestors().skip(1).find(|a| a.exists()) else {
        return Found::failed(folder.display().to_string(), format!("no part of the data folder {} exists: choose another data folder", folder.display()));
    };
    if !existing.is_dir() {
        return Found::failed(folder.display().to_string(), format!("the data folder {} cannot be created: {} is a file, not a folder; choose another data folder (Settings, or --db / ROLLCALL_DB)", folder.display(), existing.display()));
    }
    match tempfile::tempfile_in(existing) {
        Ok(_) => Found::ok(format!("{} (made at first start; {} is writable)", folder.display(), existing.display())),
        Err(e) => Found::failed(folder.display().to_string(), format!("the data folder {} cannot be created: {} cannot be written ({e}); {fix}", folder.display(), existing.display())),
    }
}
