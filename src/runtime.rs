//! Finding and loading what inference needs from the disk: the ONNX Runtime shared library and the
//! model files. Both are looked up in a fixed, documented order, and every failure says where we
//! looked and which command fixes it, because "model not found" without a path is useless to a
//! school's IT person.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use sha2::{Digest, Sha256};

/// The command that installs everything this module looks for.
pub const SETUP_HINT: &str = "run `bash scripts/setup.sh` from the Rollcall source folder (or reinstall the app)";

/// ONNX Runtime version this build was made against (ort's `api-31`).
pub const ORT_VERSION: &str = "1.31.1";

/// The sha256 of the library this platform's build ships: the file inside ONNX Runtime's PyPI
/// wheel, as `scripts/setup.sh` and `tools/fetch-onnxruntime.py` check it (the self-test says
/// when another build was loaded instead).
pub const PINNED_LIBRARY_SHA256: Option<&str> = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
    Some("fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3")
} else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
    Some("f8b06155feece624e55e49124340eea279da812529ae6fbc46a9f2be9c9cad2e")
} else if cfg!(all(target_os = "windows", target_arch = "x86_64")) {
    Some("8482d2ee174e28504f99730fb01d6861575870283de4ed3a897ad39170d9a9b9")
} else {
    None
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("ONNX Runtime library not found. Looked in:\n{}\nSet ROLLCALL_ORT_LIB to the library file, or {SETUP_HINT}", .looked.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n"))]
    LibraryNotFound { looked: Vec<PathBuf> },
    #[error("ONNX Runtime library at {path} could not be loaded: {reason}. {SETUP_HINT}")]
    LibraryUnusable { path: PathBuf, reason: String },
    #[error("model file {path} is missing. {SETUP_HINT} (models are part of the repository: `git checkout models/`)")]
    ModelMissing { path: PathBuf },
    #[error("model file {path} is not the expected {name} (sha256 {actual}, expected {expected}); restore it with `git checkout models/` or {SETUP_HINT}")]
    ModelChecksum { name: &'static str, path: PathBuf, actual: String, expected: &'static str },
    #[error("model {path} could not be loaded by ONNX Runtime: {reason}")]
    ModelLoad { path: PathBuf, reason: String },
    #[error("no models folder found. Looked in:\n{}\nSet ROLLCALL_MODELS or pass --models DIR, or {SETUP_HINT}", .looked.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n"))]
    ModelsDirNotFound { looked: Vec<PathBuf> },
}

/// One model file we ship, pinned by checksum (see models/README.md for provenance).
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    pub name: &'static str,
    pub relative_path: &'static str,
    pub sha256: &'static str,
}

pub const PNET: ModelFile = ModelFile {
    name: "MTCNN P-Net",
    relative_path: "mtcnn/pnet.onnx",
    sha256: "ee50bba83cdb7a8ae0e98035de56cca3f07560bee16ffd23dbe4235ce76d24b9",
};
pub const RNET: ModelFile = ModelFile {
    name: "MTCNN R-Net",
    relative_path: "mtcnn/rnet.onnx",
    sha256: "5791462ea93b3920e823b3c5063cec854e22fd025a8eb2c192c2a00d65923c78",
};
pub const ONET: ModelFile = ModelFile {
    name: "MTCNN O-Net",
    relative_path: "mtcnn/onet.onnx",
    sha256: "bfe3ccc7e92a43cac0358fe3f07a07b51cc1ca38fbfe8bf3fe33f252e11bc547",
};
pub const FACENET: ModelFile = ModelFile {
    name: "FaceNet 512-d (fp16)",
    relative_path: "facenet512_fp16.onnx",
    sha256: "463d1fdf3c99037db19e7d73a605d5eab82184a975b1e8a468c1359f0b6fc274",
};
/// The same FaceNet, quantised to int8 (static QDQ, per-channel 7-bit weights): 1.4-1.9x faster
/// on a CPU, as accurate on LFW (models/README.md). Its raw output is not unit length.
pub const FACENET_INT8: ModelFile = ModelFile {
    name: "FaceNet 512-d (int8)",
    relative_path: "facenet512_int8_qdq.onnx",
    sha256: "59091991613bd859049299d85982abe133787ecb5c8bda6e4e06182a8aabdc7b",
};
pub const EXPRESSION: ModelFile = ModelFile {
    name: "FER-2013 mini-Xception expression",
    relative_path: "emotion_fer_minixception.onnx",
    sha256: "bf2189c7ec40c195f9671d426b9fc611f2ad31c318064cf19e209d4f63b5a263",
};
/// MiniFASNet V2 (2.7x view) and V1SE (4x view) in one graph: is the face live or held up.
pub const LIVENESS: ModelFile = ModelFile {
    name: "MiniFASNet anti-spoofing (V2 + V1SE)",
    relative_path: "liveness_minifasnet.onnx",
    sha256: "1aad3c3bedd65f3625a885a6c719eb3301d2767f4e654190428a94739c5742ee",
};
pub const ALL_MODELS: [ModelFile; 7] = [PNET, RNET, ONET, FACENET, FACENET_INT8, EXPRESSION, LIVENESS];

/// How a session uses threads. The small MTCNN nets are called many times per frame, where ONNX
/// Runtime's default spin-waiting costs more than it gains (models/README.md measured 33 -> 56 ms
/// per frame with 2 spinning threads); FaceNet is one big call and scales with threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    pub intra: usize,
    pub spinning: bool,
}

impl Threads {
    pub fn single() -> Self {
        Threads { intra: 1, spinning: false }
    }
    pub fn new(intra: usize) -> Self {
        Threads { intra: intra.max(1), spinning: false }
    }
}

fn platform_dir() -> &'static str {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        "linux-x86_64"
    } else if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        "linux-aarch64"
    } else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
        "macos-arm64"
    } else if cfg!(target_os = "windows") {
        "windows-x86_64"
    } else {
        "unsupported"
    }
}

fn library_file_names() -> &'static [&'static str] {
    if cfg!(target_os = "windows") {
        &["onnxruntime.dll"]
    } else if cfg!(target_os = "macos") {
        &["libonnxruntime.dylib", "libonnxruntime.1.31.1.dylib"]
    } else {
        &["libonnxruntime.so", "libonnxruntime.so.1.31.1", "libonnxruntime.so.1"]
    }
}

static RESOURCE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// An installed app's resource folder (the desktop shell knows it from its bundler): searched
/// for the runtime library and the models right after the explicit settings. Set once, at start.
pub fn set_resource_dir(dir: PathBuf) {
    let _ = RESOURCE_DIR.set(dir);
}

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf))
}

/// The folders where the runtime library may be, in the order they are tried when no explicit
/// `ROLLCALL_ORT_LIB` (or ort's own `ORT_DYLIB_PATH`) names the file: next to the executable (and its `lib/`, and the
/// installed bundle's resource folder), then the source tree's `vendor/` that setup fills.
pub fn library_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(res) = RESOURCE_DIR.get() {
        dirs.push(res.join("vendor/onnxruntime").join(platform_dir()));
    }
    if let Some(exe) = exe_dir() {
        dirs.push(exe.clone());
        dirs.push(exe.join("lib"));
        // Tauri's Linux bundle puts resources under /usr/lib/<product name>/.
        dirs.push(exe.join("../lib/Rollcall/vendor/onnxruntime").join(platform_dir()));
        dirs.push(exe.join("../lib/rollcall/vendor/onnxruntime").join(platform_dir()));
        // macOS .app: Contents/MacOS/<exe> with resources in Contents/Resources.
        dirs.push(exe.join("../Resources/vendor/onnxruntime").join(platform_dir()));
        dirs.push(exe.join("vendor/onnxruntime").join(platform_dir()));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/onnxruntime").join(platform_dir()));
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd.join("vendor/onnxruntime").join(platform_dir()));
    }
    dirs
}

/// Find the ONNX Runtime library, or say everywhere we looked.
pub fn locate_library() -> Result<PathBuf, RuntimeError> {
    // An explicit setting is authoritative: if it is wrong, say so instead of quietly using
    // another copy that may be a different version.
    for var in ["ROLLCALL_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            return if p.is_file() { Ok(p) } else { Err(RuntimeError::LibraryNotFound { looked: vec![p] }) };
        }
    }
    let mut looked = Vec::new();
    for dir in library_search_dirs() {
        for name in library_file_names() {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
            looked.push(p);
        }
    }
    Err(RuntimeError::LibraryNotFound { looked })
}

static ENVIRONMENT: OnceLock<Result<Environment, RuntimeError>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loaded once from the located library. A library can
/// be loaded only once per process, so the first failure is final and is returned again.
pub fn environment() -> Result<&'static Environment, RuntimeError> {
    ENVIRONMENT
        .get_or_init(|| {
            let path = locate_library()?;
            tracing::info!(path = %path.display(), "loading ONNX Runtime");
            let unusable = |reason: String| RuntimeError::LibraryUnusable { path: path.clone(), reason };
            ort::init_from(&path)
                .map_err(|e| unusable(e.to_string()))?
                .with_name("rollcall")
                .with_telemetry(false)
                .build()
                .map_err(|e| unusable(e.to_string()))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Where the model files live, in order: the `--models` flag / `ROLLCALL_MODELS`, next to the
/// executable (`models/`, an installed bundle's resources), the source tree's `models/`.
pub fn locate_models_dir(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let mut candidates = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p.to_path_buf());
    } else if let Some(p) = std::env::var_os("ROLLCALL_MODELS") {
        candidates.push(PathBuf::from(p));
    } else {
        if let Some(res) = RESOURCE_DIR.get() {
            candidates.push(res.join("models"));
        }
        if let Some(exe) = exe_dir() {
            candidates.push(exe.join("models"));
            candidates.push(exe.join("../lib/Rollcall/models"));
            candidates.push(exe.join("../lib/rollcall/models"));
            candidates.push(exe.join("../Resources/models"));
        }
        candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    }
    // A folder left by another build (a development tree's `target/release/models`, copied there
    // by the app's bundler before the models changed) must not shadow the right one: prefer the
    // first whose SHA256SUMS lists this build's files. Without one, the first folder with models
    // is used, and loading names the file that does not match.
    let with_models: Vec<&PathBuf> = candidates.iter().filter(|c| c.join(PNET.relative_path).is_file()).collect();
    with_models
        .iter()
        .find(|c| lists_these_models(c))
        .or(with_models.first())
        .map(|c| c.to_path_buf())
        .ok_or(RuntimeError::ModelsDirNotFound { looked: candidates })
}

/// Whether `dir/SHA256SUMS` names every model this build pins, with the pinned checksum.
fn lists_these_models(dir: &Path) -> bool {
    let Ok(sums) = std::fs::read_to_string(dir.join("SHA256SUMS")) else { return false };
    let listed: Vec<(&str, &str)> = sums.lines().filter_map(|l| l.split_once("  ")).collect();
    ALL_MODELS.iter().all(|m| listed.contains(&(m.sha256, m.relative_path)))
}

/// Read a model file, check it is the file we pinned, and create its session.
pub fn load_session(models_dir: &Path, model: &ModelFile, threads: Threads) -> Result<Session, RuntimeError> {
    let bytes = read_pinned(models_dir, model)?;
    let path = models_dir.join(model.relative_path);
    let env = environment()?;
    let load_err = |reason: String| RuntimeError::ModelLoad { path: path.clone(), reason };
    Session::builder(env)
        .map_err(|e| load_err(e.to_string()))?
        .with_intra_threads(threads.intra)
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.with_intra_op_spinning(threads.spinning))
        .and_then(|b| b.with_inter_op_spinning(false))
        .map_err(|e| load_err(e.to_string()))?
        .commit_from_memory(&bytes)
        .map_err(|e| load_err(e.to_string()))
}

/// The bytes of a pinned file in `models_dir`, refused if missing or not the file we pinned.
pub fn read_pinned(models_dir: &Path, model: &ModelFile) -> Result<Vec<u8>, RuntimeError> {
    let path = models_dir.join(model.relative_path);
    let bytes = std::fs::read(&path).map_err(|_| RuntimeError::ModelMissing { path: path.clone() })?;
    let actual = sha256_hex(&bytes);
    if actual != model.sha256 {
        return Err(RuntimeError::ModelChecksum { name: model.name, path, actual, expected: model.sha256 });
    }
    Ok(bytes)
}

/// A file's sha256 in lowercase hex, as SHA256SUMS writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_match_their_pins() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        for m in ALL_MODELS {
            let bytes = std::fs::read(dir.join(m.relative_path)).unwrap();
            assert_eq!(hex(&Sha256::digest(&bytes)), m.sha256, "{}", m.name);
        }
        // SHA256SUMS is how a models folder is recognised as this build's (`locate_models_dir`).
        assert!(lists_these_models(&dir), "models/SHA256SUMS does not list the pinned files");
    }

    #[test]
    fn a_stale_models_folder_does_not_shadow_the_right_one() {
        let stale = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(stale.path().join("mtcnn")).unwrap();
        std::fs::write(stale.path().join(PNET.relative_path), b"an older P-Net").unwrap();
        std::fs::write(stale.path().join("SHA256SUMS"), "0000  mtcnn/pnet.onnx\n").unwrap();
        assert!(!lists_these_models(stale.path()));
        assert!(lists_these_models(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models")));
    }
}
