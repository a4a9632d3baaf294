//! Evaluation protocols: how accuracy is measured, on the shared data sets and on held-out data.
//! Each reads a CSV whose paths are relative to the CSV's own folder and returns one report that
//! the CLI prints as a JSON object. The JSON field names are a contract.

pub mod detect;
pub mod expression;
pub mod identify;
pub mod liveness;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use opencv::prelude::MatTraitConst;
use serde::Serialize;

use crate::vision::analyzer::most_central;
use crate::vision::{load_image, DetectOptions, FaceAnalyzer};

/// An input that could not be used, with the reason; evaluations go on without it.
#[derive(Debug, Clone, Serialize)]
pub struct FileError {
    pub path: String,
    pub error: String,
}

/// Read a CSV into header-keyed rows.
pub(crate) fn read_rows(csv_path: &Path) -> anyhow::Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(csv_path)
        .with_context(|| format!("cannot open {}", csv_path.display()))?;
    let headers = reader.headers().with_context(|| format!("{}: no header row", csv_path.display()))?.clone();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: malformed CSV", csv_path.display()))?;
    Ok((headers, rows))
}

/// Index of a required column, or an error naming the columns that are there.
pub(crate) fn column(headers: &csv::StringRecord, csv_path: &Path, names: &[&str]) -> anyhow::Result<usize> {
    optional_column(headers, names).with_context(|| {
        format!(
            "{}: missing column {} (columns present: {})",
            csv_path.display(),
            names.join(" or "),
            headers.iter().collect::<Vec<_>>().join(",")
        )
    })
}

pub(crate) fn optional_column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| headers.iter().position(|h| h.eq_ignore_ascii_case(n)))
}

/// Paths in our CSVs are relative to the CSV's folder.
pub(crate) fn resolve(csv_path: &Path, relative: &str) -> PathBuf {
    csv_path.parent().unwrap_or(Path::new(".")).join(relative)
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Embeddings of images already computed, kept in a file between evaluation runs (`--cache`):
/// sweeps over seeds and settings embed each image once. Keyed by the embedder's model id and crop
/// revision, the image's absolute path, size and modification time, so a changed file, model or
/// crop is embedded again.
#[derive(Default)]
pub struct EmbeddingCache {
    file: Option<PathBuf>,
    entries: std::collections::HashMap<String, Option<Vec<f32>>>,
    added: usize,
}

#[derive(Serialize, serde::Deserialize)]
struct CacheLine {
    k: String,
    e: Option<Vec<f32>>,
}

impl EmbeddingCache {
    /// Read the cache file (a missing one is an empty cache).
    pub fn open(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut cache = EmbeddingCache { file: file.map(Path::to_path_buf), ..Default::default() };
        if let Some(f) = file.filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read the cache {}", f.display()))?;
            for line in text.lines() {
                if let Ok(l) = serde_json::from_str::<CacheLine>(line) {
                    cache.entries.insert(l.k, l.e);
                }
            }
        }
        Ok(cache)
    }

    fn key(model: &str, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
        let abs = path.canonicalize().ok()?;
        Some(format!("{model}|{}|{}|{}|{mtime}", crate::vision::embedder::CROP_REVISION, abs.display(), meta.len()))
    }

    /// Append what was computed this run.
    pub fn save(&self, new: &[(String, Option<Vec<f32>>)]) -> anyhow::Result<()> {
        let Some(f) = &self.file else { return Ok(()) };
        if new.is_empty() {
            return Ok(());
        }
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::OpenOptions::new().create(true).append(true).open(f)?);
        for (k, e) in new {
            serde_json::to_writer(&mut out, &CacheLine { k: k.clone(), e: e.clone() })?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Embed each image once (the face nearest the image centre), in batches. Returns one optional
/// embedding per path (None: unreadable or no face), the no-face count and the unreadable files.
/// Images in `cache` are not embedded again; what is embedded is added to it.
pub fn embed_images(
    analyzer: &mut FaceAnalyzer,
    paths: &[std::path::PathBuf],
    labels: &[String],
    cache: &mut EmbeddingCache,
) -> anyhow::Result<(Vec<Option<Vec<f32>>>, usize, Vec<FileError>)> {
    const BATCH: usize = 16;
    let mut out: Vec<Option<Vec<f32>>> = vec![None; paths.len()];
    let mut no_face = 0;
    let mut errors = Vec::new();
    let bar = progress(paths.len(), "embedding");
    let mut crops = Vec::with_capacity(BATCH);
    let mut owners = Vec::with_capacity(BATCH);
    // The margin is part of the key: `--margin` gives other vectors for the same photo.
    let model = format!("{}/{:?}", analyzer.embedder.model_id(), analyzer.embedder.margin());
    let keys: Vec<Option<String>> = paths.iter().map(|p| EmbeddingCache::key(&model, p)).collect();
    let mut computed: Vec<usize> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        bar.inc(1);
        if let Some(hit) = keys[i].as_ref().and_then(|k| cache.entries.get(k)) {
            match hit {
                Some(e) => out[i] = Some(e.clone()),
                None => no_face += 1,
            }
            continue;
        }
        let image = match load_image(path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FileError { path: labels[i].clone(), error: e.to_string() });
                continue;
            }
        };
        computed.push(i);
        let faces = analyzer.detect(&image, &DetectOptions::default())?;
        let Some(k) = most_central(&faces, image.cols(), image.rows()) else {
            no_face += 1;
            continue;
        };
        match analyzer.embedder.crop(&image, &faces[k])? {
            Some(c) => {
                crops.push(c);
                owners.push(i);
            }
            None => no_face += 1,
        }
        if crops.len() == BATCH {
            for (owner, e) in owners.drain(..).zip(analyzer.embedder.embed_crops(&crops)?) {
                out[owner] = Some(e.0);
            }
            crops.clear();
        }
    }
    if !crops.is_empty() {
        for (owner, e) in owners.drain(..).zip(analyzer.embedder.embed_crops(&crops)?) {
            out[owner] = Some(e.0);
        }
    }
    bar.finish_and_clear();
    let new: Vec<(String, Option<Vec<f32>>)> = computed.iter().filter_map(|&i| keys[i].clone().map(|k| (k, out[i].clone()))).collect();
    cache.added += new.len();
    for (k, e) in &new {
        cache.entries.insert(k.clone(), e.clone());
    }
    cache.save(&new)?;
    Ok((out, no_face, errors))
}

