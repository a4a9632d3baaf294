//! Writing files the user asked for (Excel exports, annotated pictures) without ever losing one:
//! - never over a protected file (the open database and the files SQLite keeps beside it, or
//!   the picture being annotated);
//! - never over an existing file unless the caller says so (the CLI's `--force`, the app asks);
//! - through a temporary file in the same folder, renamed into place when complete: a full disk
//!   or a crash leaves the old file as it was, never a truncated one. The result is readable by
//!   its owner only.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} is Rollcall's own database (or a file it keeps beside it): choose another file name")]
    Protected(PathBuf),
    #[error("{0} is one of the input pictures: choose another file name, so that the original is kept")]
    Input(PathBuf),
    #[error("{0} already exists: choose another name, or replace it on purpose (--force)")]
    Exists(PathBuf),
    #[error("the folder {0} does not exist")]
    NoFolder(PathBuf),
    #[error("cannot write {path}: {reason} (nothing was changed)")]
    Io { path: PathBuf, reason: String },
}

impl WriteError {
    /// A short name for a program (the app asks before replacing on `exists`).
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::Protected(_) => "protected",
            WriteError::Input(_) => "input",
            WriteError::Exists(_) => "exists",
            WriteError::NoFolder(_) => "no_folder",
            WriteError::Io { .. } => "io",
        }
    }
}

/// `name` with anything but letters, digits, `-`, `_` and `.` replaced by `_`: a file name that
/// is safe on every OS and cannot leave its folder.
pub fn safe_file_name(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    match s.trim_start_matches('.') {
        "" => "_".to_string(),
        t => t.to_string(),
    }
}

/// Files and folders this process creates are readable by their owner only (the database, its
/// journal files, exports, logs): the umask is 077. Called once at start by the CLI and the app.
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// What a file must not be written over.
#[derive(Debug, Default, Clone)]
pub struct Protected {
    /// The database and its -wal/-shm files.
    pub database: Vec<PathBuf>,
    /// Inputs of the command (pictures being annotated).
    pub inputs: Vec<PathBuf>,
}

/// The path as the file system knows it: the folder resolved (symlinks, `..`), the name kept.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Some(parent.canonicalize().ok()?.join(name))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Write `target` by calling `write` with a temporary path in the same folder (with the same
/// extension, for writers that choose the format by it), then renaming it into place.
pub fn write_file(target: &Path, overwrite: bool, protected: &Protected, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> Result<(), WriteError> {
    if let Some(p) = protected.database.iter().find(|p| same_file(p, target)) {
        return Err(WriteError::Protected(p.clone()));
    }
    if let Some(p) = protected.inputs.iter().find(|p| same_file(p, target)) {
        return Err(WriteError::Input(p.clone()));
    }
    let folder = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(WriteError::NoFolder(folder.to_path_buf()));
    }
    if !overwrite && target.symlink_metadata().is_ok() {
        return Err(WriteError::Exists(target.to_path_buf()));
    }
    let io = |e: &dyn std::fmt::Display| WriteError::Io { path: target.to_path_buf(), reason: e.to_string() };
    let suffix = target.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let tmp = tempfile::Builder::new().prefix(".rollcall-").suffix(&suffix).tempfile_in(folder).map_err(|e| io(&e))?;
    write(tmp.path()).map_err(|e| io(&format!("{e:#}")))?;
    tmp.as_file().sync_all().map_err(|e| io(&e))?;
    let persisted = if overwrite { tmp.persist(target).map(|_| ()) } else { tmp.persist_noclobber(target).map(|_| ()) };
    persisted.map_err(|e| if e.error.kind() == std::io::ErrorKind::AlreadyExists { WriteError::Exists(target.to_path_buf()) } else { io(&e.error) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_over_the_database_or_an_existing_file_and_a_failure_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite3");
        std::fs::write(&db, "db").unwrap();
        let protected = Protected { database: vec![db.clone(), dir.path().join("db.sqlite3-wal")], inputs: vec![] };
        let ok = |p: &Path| -> anyhow::Result<()> { Ok(std::fs::write(p, "new")?) };
        // Through another spelling of the same path, too.
        let other_spelling = dir.path().join(".").join("db.sqlite3");
        assert!(matches!(write_file(&other_spelling, true, &protected, ok), Err(WriteError::Protected(_))));
        assert!(matches!(write_file(&dir.path().join("db.sqlite3-wal"), true, &protected, ok), Err(WriteError::Protected(_))));
        assert_eq!(std::fs::read_to_string(&db).unwrap(), "db");

        let out = dir.path().join("out.xlsx");
        std::fs::write(&out, "old").unwrap();
        let e = write_file(&out, false, &protected, ok).unwrap_err();
        assert_eq!(e.code(), "exists");
        let failing = |p: &Path| -> anyhow::Result<()> {
            std::fs::write(p, "half")?;
            anyhow::bail!("disk full")
        };
        assert!(matches!(write_file(&out, true, &protected, failing), Err(WriteError::Io { .. })));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old", "a failed write leaves the old file");
        write_file(&out, true, &protected, ok).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".rollcall-")).collect();
        assert!(leftovers.is_empty(), "temporary files are cleaned up");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
