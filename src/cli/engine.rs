//! The face-engine commands: detect, embed, compare, expression, and the evaluations.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use opencv::core::{Mat, Point, Rect, Scalar};
use opencv::imgproc;
use opencv::prelude::*;
use serde_json::json;

use super::{EngineArgs, Outcome, Printer};
use rollcall::eval::{self, FileError};
use rollcall::files::{self, Protected};
use rollcall::runtime::Threads;
use rollcall::storage::sidecar;
use rollcall::vision::analyzer::most_central;
use rollcall::vision::image::save_image;
use rollcall::vision::{cosine, load_image, AnalyzerOptions, DetectOptions, DetectorConfig, Face, FaceAnalyzer};

/// Cosine similarity above which two faces are taken to be the same person: the threshold the
/// LFW protocol chose on LFW dev (mean of the 10 folds' thresholds; see models/README.md).
const SAME_PERSON_THRESHOLD: f32 = 0.37;

pub fn analyzer(engine: &EngineArgs, expressions: bool) -> anyhow::Result<FaceAnalyzer> {
    let mut options = AnalyzerOptions {
        models_dir: engine.models.clone(),
        detector: DetectorConfig { min_face: engine.min_face.unwrap_or(20.0), ..DetectorConfig::default() },
        expressions,
        embedder_model: engine.embedder.unwrap_or_default(),
        ..AnalyzerOptions::default()
    };
    if let Some(t) = engine.threads {
        options.embedder_threads = Threads::new(t as usize);
    }
    let mut analyzer = FaceAnalyzer::load(&options)?;
    if let Some(m) = engine.margin {
        analyzer.embedder.set_margin(m);
    }
    Ok(analyzer)
}

/// Done, or done in part when some inputs were unusable.
fn outcome(errors: &[FileError]) -> Outcome {
    if errors.is_empty() {
        Outcome::Done
    } else {
        Outcome::Partial
    }
}

/// An evaluation that could use none of its inputs measured nothing: that is a failure.
fn measured(used: usize, what: &str, errors: &[FileError]) -> anyhow::Result<Outcome> {
    if used == 0 {
        let first = errors.first().map(|e| format!(" (first: {}: {})", e.path, e.error)).unwrap_or_default();
        anyhow::bail!("no {what} could be used: nothing was measured{first}");
    }
    Ok(outcome(errors))
}

pub fn detect(out: &Printer, engine: &EngineArgs, images: &[PathBuf], annotate: Option<&Path>, force: bool, db: Option<&Path>) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    // Never draw over an input picture or the database.
    let db = db.map(Path::to_path_buf).unwrap_or_else(rollcall::storage::Store::default_path);
    let database = vec![db.clone(), sidecar(&db, "-wal"), sidecar(&db, "-shm")];
    let protected = Protected { database, inputs: images.to_vec() };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let bar = eval::progress(images.len(), "detecting");
    for path in images {
        bar.inc(1);
        let image = match load_image(path) {
            Ok(m) => m,
            Err(e) => {
                bar.suspend(|| eprintln!("skipped: {e}"));
                errors.push(FileError { path: path.display().to_string(), error: e.to_string() });
                continue;
            }
        };
        let faces = a.detect(&image, &DetectOptions::default())?;
        if let Some(target) = annotate {
            let target = annotation_path(target, path, images.len() > 1)?;
            let drawn = annotated(&image, &faces)?;
            files::write_file(&target, force, &protected, |tmp| save_image(tmp, &drawn))?;
        }
        if !out.is_json() {
            bar.suspend(|| {
                out.text(|s| {
                    writeln!(s, "{}: {} face(s)", path.display(), faces.len())?;
                    for f in &faces {
                        writeln!(s, "  box ({:.1}, {:.1}, {:.1}, {:.1})  score {:.3}", f.x1, f.y1, f.x2, f.y2, f.score)?;
                    }
                    Ok(())
                })
            })?;
        }
        results.push(json!({"path": path, "width": image.cols(), "height": image.rows(), "faces": faces}));
    }
    bar.finish_and_clear();
    let summary = json!({"images": results, "processed": results.len(), "failed": errors.len(), "errors": errors});
    out.print(&summary, |s| if errors.is_empty() { Ok(()) } else { writeln!(s, "{} of {} image(s) could not be read", errors.len(), images.len()) })?;
    Ok(outcome(&errors))
}

pub fn embed(out: &Printer, engine: &EngineArgs, image: &Path) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    let img = load_image(image)?;
    let faces = a.detect(&img, &DetectOptions::default())?;
    let embeddings = a.embedder.embed(&img, &faces)?;
    let rows: Vec<_> = faces.iter().zip(&embeddings).map(|(f, e)| json!({"face": f, "embedding": e.as_ref().map(|e| &e.0)})).collect();
    out.print(&json!({"path": image, "model": a.embedder.model_id(), "faces": rows}), |s| {
        writeln!(s, "{}: {} face(s)", image.display(), faces.len())?;
        for (f, e) in faces.iter().zip(&embeddings) {
            let head: Vec<String> = e.as_ref().map(|e| e.0.iter().take(6).map(|v| format!("{v:+.4}")).collect()).unwrap_or_default();
            writeln!(s, "  box ({:.0}, {:.0}, {:.0}, {:.0})  [{} ...] (512 values; --json for all)", f.x1, f.y1, f.x2, f.y2, head.join(", "))?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn compare(out: &Printer, engine: &EngineArgs, pa: &Path, pb: &Path) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    let mut main_face = |p: &Path| -> anyhow::Result<Vec<f32>> {
        let img = load_image(p)?;
        let faces = a.detect(&img, &DetectOptions::default())?;
        let k = most_central(&faces, img.cols(), img.rows()).with_context(|| format!("no face found in {}", p.display()))?;
        let e = a.embedder.embed(&img, &faces[k..=k])?.remove(0);
        e.map(|e| e.0).with_context(|| format!("the face in {} is cut off by the image border", p.display()))
    };
    let ea = main_face(pa)?;
    let eb = main_face(pb)?;
    let c = cosine(&ea, &eb);
    let same = c > SAME_PERSON_THRESHOLD;
    out.print(&json!({"a": pa, "b": pb, "cosine": c, "same": same, "threshold": SAME_PERSON_THRESHOLD}), |s| {
        writeln!(s, "cosine {c:.4}: {} (threshold {SAME_PERSON_THRESHOLD})", if same { "same person" } else { "different people" })
    })?;
    Ok(Outcome::Done)
}

pub fn expression(out: &Printer, engine: &EngineArgs, images: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, true)?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for path in images {
        let image = match load_image(path) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipped: {e}");
                errors.push(FileError { path: path.display().to_string(), error: e.to_string() });
                continue;
            }
        };
        let faces = a.detect(&image, &DetectOptions::default())?;
        let exprs = a.expression.as_mut().context("the expression model is not loaded")?.classify(&image, &faces)?;
        out.text(|s| {
            writeln!(s, "{}: {} face(s)", path.display(), faces.len())?;
            for (f, e) in faces.iter().zip(&exprs) {
                let p = e.probabilities[e.label.index()];
                writeln!(s, "  box ({:.0}, {:.0}, {:.0}, {:.0})  {} ({:.0} %)", f.x1, f.y1, f.x2, f.y2, e.label, p * 100.0)?;
            }
            Ok(())
        })?;
        let faces: Vec<_> = faces
            .iter()
            .zip(&exprs)
            .map(|(f, e)| {
                let probs: serde_json::Map<String, serde_json::Value> =
                    rollcall::vision::Expression::ALL.iter().map(|x| (x.as_str().to_string(), json!(e.probabilities[x.index()]))).collect();
                json!({"face": f, "expression": e.label, "probabilities": probs})
            })
            .collect();
        results.push(json!({"path": path, "faces": faces}));
    }
    if out.is_json() {
        out.json(&json!({"images": results, "processed": results.len(), "failed": errors.len(), "errors": errors}))?;
    }
    Ok(outcome(&errors))
}

// Evaluations always print JSON: they are a machine-read contract.

pub fn eval_verify(out: &Printer, engine: &EngineArgs, pairs: &Path, seed: u64, subtract_mean: bool, cache: Option<&Path>) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    let r = eval::verify::run(&mut a, pairs, seed, subtract_mean, &mut eval::EmbeddingCache::open(cache)?)?;
    out.json(&r)?;
    measured(r.images - r.unreadable - r.no_face, "image", &r.errors)
}

/// The recognition decision's knobs for `eval identify` (each defaults to the product's).
#[derive(clap::Args, Debug)]
pub struct DecisionArgs {
    /// Decision knob: weight of the cohort (the next-nearest students) in the score (default: the product's).
    #[arg(long)]
    gap_weight: Option<f32>,
    /// Decision knob: how many next-nearest students make the score's cohort (default: the product's).
    #[arg(long)]
    cohort: Option<usize>,
    /// Decision knob: standard deviations above the simulated strangers (default: the product's).
    #[arg(long)]
    stranger_k: Option<f32>,
    /// Decision knob: the winner's SVM must also accept the track (its decision value at least
    /// minus this margin; `none`: no SVM).
    #[arg(long)]
    svm_veto: Option<String>,
    /// Decision knob: standard deviations above the simulated strangers from which the SVM is
    /// not asked (default: the product's).
    #[arg(long)]
    sure_k: Option<f32>,
    /// Decision knob: no per-student bars.
    #[arg(long)]
    no_student_bars: bool,
}

impl DecisionArgs {
    pub fn config(&self) -> anyhow::Result<rollcall::recognition::DecisionConfig> {
        let d = rollcall::recognition::DecisionConfig::default();
        Ok(rollcall::recognition::DecisionConfig {
            gap_weight: self.gap_weight.unwrap_or(d.gap_weight),
            cohort: self.cohort.unwrap_or(d.cohort),
            stranger_k: self.stranger_k.unwrap_or(d.stranger_k),
            svm_veto: match self.svm_veto.as_deref() {
                None => d.svm_veto,
                Some("none") => None,
                Some(m) => Some(m.parse().map_err(|_| anyhow::anyhow!("--svm-veto is a margin like 0.5, or none"))?),
            },
            sure_k: self.sure_k.unwrap_or(d.sure_k),
            student_bars: !self.no_student_bars,
        })
    }
}

pub fn eval_identify(out: &Printer, engine: &EngineArgs, labels: &Path, options: eval::identify::IdentifyOptions, cache: Option<&Path>) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    let r = eval::identify::run(&mut a, labels, &options, &mut eval::EmbeddingCache::open(cache)?)?;
    out.json(&r)?;
    measured(r.images - r.unreadable - r.no_face, "image", &r.errors)
}

pub fn eval_detect(out: &Printer, engine: &EngineArgs, boxes: &Path) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, false)?;
    let r = eval::detect::run(&mut a, boxes)?;
    out.json(&r)?;
    measured(r.images - r.unreadable, "image", &r.errors)
}

pub fn eval_expression(out: &Printer, engine: &EngineArgs, labels: &Path, detect: bool) -> anyhow::Result<Outcome> {
    let mut a = analyzer(engine, true)?;
    let r = eval::expression::run(&mut a, labels, detect)?;
    out.json(&r)?;
    measured(r.evaluated, "image", &r.errors)
}

pub fn eval_liveness(out: &Printer, engine: &EngineArgs, labels: &Path, threshold: f32, judge_crops: bool) -> anyhow::Result<Outcome> {
    anyhow::ensure!((0.0..=1.0).contains(&threshold), "--threshold must be between 0 and 1 (a probability), not {threshold}");
    let mut a = analyzer(engine, false)?;
    let r = eval::liveness::run(&mut a, labels, threshold, judge_crops)?;
    out.json(&r)?;
    measured(r.live + r.spoof, "face", &r.errors)
}

fn annotation_path(out: &Path, input: &Path, many: bool) -> anyhow::Result<PathBuf> {
    if !many {
        return Ok(out.to_path_buf());
    }
    rollcall::storage::create_private_dir(out).with_context(|| format!("cannot create folder {}", out.display()))?;
    let stem = input.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "image".into());
    Ok(out.join(format!("{stem}.annotated.png")))
}

fn annotated(image: &Mat, faces: &[Face]) -> anyhow::Result<Mat> {
    let mut out = image.clone();
    let thickness = ((image.cols().max(image.rows()) as f32 / 400.0).ceil() as i32).max(1);
    for f in faces {
        let rect = Rect::new(f.x1 as i32, f.y1 as i32, f.width() as i32, f.height() as i32);
        imgproc::rectangle(&mut out, rect, Scalar::new(0.0, 200.0, 0.0, 0.0), thickness, imgproc::LINE_AA, 0)?;
        for p in f.landmarks {
            imgproc::circle(&mut out, Point::new(p[0] as i32, p[1] as i32), thickness + 1, Scalar::new(0.0, 0.0, 255.0, 0.0), -1, imgproc::LINE_AA, 0)?;
        }
        imgproc::put_text(
            &mut out,
            &format!("{:.2}", f.score),
            Point::new(f.x1 as i32, (f.y1 as i32 - 4).max(10)),
            imgproc::FONT_HERSHEY_SIMPLEX,
            0.4 * thickness as f64,
            Scalar::new(0.0, 200.0, 0.0, 0.0),
            thickness,
            imgproc::LINE_AA,
            false,
        )?;
    }
    Ok(out)
}
