//! `rollcall`: the command-line face of the core library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use opencv::core::{Mat, Point, Rect, Scalar};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use serde_json::json;

use rollcall::eval::{self, FileError};
use rollcall::runtime::Threads;
use rollcall::vision::analyzer::most_central;
use rollcall::vision::image::save_image;
use rollcall::vision::{cosine, load_image, AnalyzerOptions, DetectorConfig, Face, FaceAnalyzer, Margin};

/// Cosine similarity above which two faces are taken to be the same person: the threshold the
/// LFW protocol chose on LFW dev (mean of the 10 folds' thresholds; see models/README.md).
const SAME_PERSON_THRESHOLD: f32 = 0.37;

#[derive(Parser)]
#[command(name = "rollcall", version, about = "Takes the class roll by face, on the school's own machine")]
struct Cli {
    /// Print one machine-readable JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct EngineArgs {
    /// Folder with the model files (default: next to the program, then the source tree's models/).
    #[arg(long, global = true, env = "ROLLCALL_MODELS")]
    models: Option<PathBuf>,
    /// Smallest face to look for, in pixels.
    #[arg(long, global = true, default_value_t = 20.0)]
    min_face: f32,
    /// Threads for FaceNet (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Context around the face box in the FaceNet crop: a fraction of the box (`0.3`) or pixels (`32px`).
    #[arg(long, global = true, value_parser = parse_margin)]
    margin: Option<Margin>,
}

fn parse_margin(s: &str) -> Result<Margin, String> {
    let bad = || format!("margin must be a fraction like 0.3 or pixels like 32px, got {s:?}");
    match s.strip_suffix("px") {
        Some(px) => px.trim().parse().map(Margin::Pixels).map_err(|_| bad()),
        None => s.trim().parse().map(Margin::Fraction).map_err(|_| bad()),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Find faces (boxes, scores, five landmarks) in images.
    Detect {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Write a copy with boxes and landmarks drawn (a folder when several images are given).
        #[arg(long)]
        annotate: Option<PathBuf>,
    },
    /// Print the 512-d FaceNet embedding of every face in an image.
    Embed { image: PathBuf },
    /// Compare the main face (nearest the centre) of two images.
    Compare { a: PathBuf, b: PathBuf },
    /// Facial expression of every face in images.
    Expression {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Measure accuracy on labelled data (JSON on stdout).
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Verification by the LFW protocol on a pairs CSV (path_a,path_b,same[,fold]).
    Verify {
        #[arg(long)]
        pairs: PathBuf,
        /// Seed of the random folds used when the CSV has no fold column.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Do not centre embeddings on the mean of the training folds' images before the cosine
        /// (centring is the default: +0.2 to +0.3 points on LFW dev, see models/README.md).
        #[arg(long)]
        no_subtract_mean: bool,
    },
    /// Identification with an "unknown" decision on a labels CSV (path,identity).
    Identify {
        #[arg(long)]
        labels: PathBuf,
        /// Photos enrolled per identity; the rest are probes.
        #[arg(long)]
        enroll: usize,
        /// Identities never enrolled, whose photos must come out unknown.
        #[arg(long, default_value_t = 0)]
        unknown_ids: usize,
        /// Photos per track (one decision per track, as the live loop decides over frames).
        #[arg(long, default_value_t = 1)]
        track: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only identities with at least this many photos take part (default: enroll + 1).
        #[arg(long)]
        min_images: Option<usize>,
    },
    /// Detection recall and precision on a boxes CSV (path,x,y,w,h).
    Detect {
        #[arg(long)]
        boxes: PathBuf,
    },
    /// Expression accuracy on a labels CSV (path,expression).
    Expression {
        #[arg(long)]
        labels: PathBuf,
        /// Images are full photos: detect the face first.
        #[arg(long)]
        detect: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn analyzer(engine: &EngineArgs, expressions: bool) -> anyhow::Result<FaceAnalyzer> {
    let mut options = AnalyzerOptions {
        models_dir: engine.models.clone(),
        detector: DetectorConfig { min_face: engine.min_face, ..DetectorConfig::default() },
        expressions,
        ..AnalyzerOptions::default()
    };
    if let Some(t) = engine.threads {
        options.embedder_threads = Threads::new(t);
    }
    let mut analyzer = FaceAnalyzer::load(&options)?;
    if let Some(m) = engine.margin {
        analyzer.embedder.set_margin(m);
    }
    Ok(analyzer)
}

/// Exit status: 0 when every input was used, 2 when some were not (they are listed in the output).
fn status(errors: &[FileError]) -> ExitCode {
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    match cli.command {
        Command::Detect { images, annotate } => {
            let mut a = analyzer(&cli.engine, false)?;
            let mut results = Vec::new();
            let mut errors = Vec::new();
            let bar = eval::progress(images.len(), "detecting");
            for path in &images {
                bar.inc(1);
                let image = match load_image(path) {
                    Ok(m) => m,
                    Err(e) => {
                        bar.suspend(|| eprintln!("skipped: {e}"));
                        errors.push(FileError { path: path.display().to_string(), error: e.to_string() });
                        continue;
                    }
                };
                let faces = a.detector.detect(&image)?;
                if let Some(out) = &annotate {
                    let target = annotation_path(out, path, images.len() > 1)?;
                    save_image(&target, &annotated(&image, &faces)?)?;
                }
                results.push(json!({"path": path, "width": image.cols(), "height": image.rows(), "faces": faces}));
                if !json {
                    bar.suspend(|| {
                        println!("{}: {} face(s)", path.display(), faces.len());
                        for f in &faces {
                            println!(
                                "  box ({:.1}, {:.1}, {:.1}, {:.1})  score {:.3}",
                                f.x1, f.y1, f.x2, f.y2, f.score
                            );
                        }
                    });
                }
            }
            bar.finish_and_clear();
            if json {
                print_json(&json!({"images": results, "processed": results.len(), "failed": errors.len(), "errors": errors}))?;
            } else if !errors.is_empty() {
                println!("{} of {} image(s) could not be read", errors.len(), images.len());
            }
            Ok(status(&errors))
        }
        Command::Embed { image } => {
            let mut a = analyzer(&cli.engine, false)?;
            let img = load_image(&image)?;
            let faces = a.detector.detect(&img)?;
            let embeddings = a.embedder.embed(&img, &faces)?;
            let out: Vec<_> =
                faces.iter().zip(&embeddings).map(|(f, e)| json!({"face": f, "embedding": e.as_ref().map(|e| &e.0)})).collect();
            if json {
                print_json(&json!({"path": image, "model": rollcall::vision::embedder::EMBEDDING_MODEL_ID, "faces": out}))?;
            } else {
                println!("{}: {} face(s)", image.display(), faces.len());
                for (f, e) in faces.iter().zip(&embeddings) {
                    let head: Vec<String> =
                        e.as_ref().map(|e| e.0.iter().take(6).map(|v| format!("{v:+.4}")).collect()).unwrap_or_default();
                    println!("  box ({:.0}, {:.0}, {:.0}, {:.0})  [{} ...] (512 values; --json for all)", f.x1, f.y1, f.x2, f.y2, head.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { a: pa, b: pb } => {
            let mut a = analyzer(&cli.engine, false)?;
            let mut main_face = |p: &Path| -> anyhow::Result<Vec<f32>> {
                let img = load_image(p)?;
                let faces = a.detector.detect(&img)?;
                let k = most_central(&faces, img.cols(), img.rows())
                    .with_context(|| format!("no face found in {}", p.display()))?;
                let e = a.embedder.embed(&img, &faces[k..=k])?.remove(0);
                e.map(|e| e.0).with_context(|| format!("the face in {} is cut off by the image border", p.display()))
            };
            let ea = main_face(&pa)?;
            let eb = main_face(&pb)?;
            let c = cosine(&ea, &eb);
            let same = c > SAME_PERSON_THRESHOLD;
            if json {
                print_json(&json!({"a": pa, "b": pb, "cosine": c, "same": same, "threshold": SAME_PERSON_THRESHOLD}))?;
            } else {
                println!(
                    "cosine {c:.4}: {} (threshold {SAME_PERSON_THRESHOLD})",
                    if same { "same person" } else { "different people" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Expression { images } => {
            let mut a = analyzer(&cli.engine, true)?;
            let mut results = Vec::new();
            let mut errors = Vec::new();
            for path in &images {
                let image = match load_image(path) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("skipped: {e}");
                        errors.push(FileError { path: path.display().to_string(), error: e.to_string() });
                        continue;
                    }
                };
                let faces = a.detector.detect(&image)?;
                let exprs = a.expression.as_mut().expect("loaded with expressions").classify(&image, &faces)?;
                if !json {
                    println!("{}: {} face(s)", path.display(), faces.len());
                    for (f, e) in faces.iter().zip(&exprs) {
                        let p = e.probabilities[e.label.index()];
                        println!("  box ({:.0}, {:.0}, {:.0}, {:.0})  {} ({:.0} %)", f.x1, f.y1, f.x2, f.y2, e.label, p * 100.0);
                    }
                }
                let faces: Vec<_> = faces
                    .iter()
                    .zip(&exprs)
                    .map(|(f, e)| {
                        let probs: serde_json::Map<String, serde_json::Value> = rollcall::vision::Expression::ALL
                            .iter()
                            .map(|x| (x.as_str().to_string(), json!(e.probabilities[x.index()])))
                            .collect();
                        json!({"face": f, "expression": e.label, "probabilities": probs})
                    })
                    .collect();
                results.push(json!({"path": path, "faces": faces}));
            }
            if json {
                print_json(&json!({"images": results, "processed": results.len(), "failed": errors.len(), "errors": errors}))?;
            }
            Ok(status(&errors))
        }
        Command::Eval(e) => {
            // Evaluations always print JSON: they are a machine-read contract.
            match e {
                EvalCommand::Verify { pairs, seed, no_subtract_mean } => {
                    let mut a = analyzer(&cli.engine, false)?;
                    print_json(&eval::verify::run(&mut a, &pairs, seed, !no_subtract_mean)?)?;
                }
                EvalCommand::Identify { labels, enroll, unknown_ids, track, seed, min_images } => {
                    let mut a = analyzer(&cli.engine, false)?;
                    let options = eval::identify::IdentifyOptions { enroll, unknown_ids, track, seed, min_images };
                    print_json(&eval::identify::run(&mut a, &labels, &options)?)?;
                }
                EvalCommand::Detect { boxes } => {
                    let mut a = analyzer(&cli.engine, false)?;
                    print_json(&eval::detect::run(&mut a.detector, &boxes)?)?;
                }
                EvalCommand::Expression { labels, detect } => {
                    let mut a = analyzer(&cli.engine, true)?;
                    print_json(&eval::expression::run(&mut a, &labels, detect)?)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn annotation_path(out: &Path, input: &Path, many: bool) -> anyhow::Result<PathBuf> {
    if !many {
        return Ok(out.to_path_buf());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create folder {}", out.display()))?;
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
