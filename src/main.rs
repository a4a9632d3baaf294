//! `rollcall`: the command-line face of the core library.

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use opencv::core::{Mat, Point, Rect, Scalar};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use rollcall::attendance::live::SessionPlan;
use rollcall::eval::{self, FileError};
use rollcall::source::SourceSpec;
use rollcall::runtime::Threads;
use rollcall::vision::analyzer::most_central;
use rollcall::vision::image::save_image;
use rollcall::vision::{cosine, load_image, AnalyzerOptions, DetectorConfig, EmbedderModel, Face, FaceAnalyzer, Margin};

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
    /// The database file (default: the OS's app-data folder).
    #[arg(long, global = true, env = "ROLLCALL_DB")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct EngineArgs {
    /// Folder with the model files (default: next to the program, then the source tree's models/).
    #[arg(long, global = true, env = "ROLLCALL_MODELS")]
    models: Option<PathBuf>,
    /// Smallest face to look for, in pixels (default 20; `run` uses 40).
    #[arg(long, global = true)]
    min_face: Option<f32>,
    /// Threads for FaceNet (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// FaceNet build: `fp16` (default) or `int8` (1.4-1.9x faster on a CPU, as accurate on LFW;
    /// its embeddings are kept apart: students enrolled with one are recognised only with it).
    #[arg(long, global = true, value_parser = parse_embedder)]
    embedder: Option<EmbedderModel>,
    /// Context around the face box in the FaceNet crop: a fraction of the box (`0.3`) or pixels (`32px`).
    #[arg(long, global = true, value_parser = parse_margin)]
    margin: Option<Margin>,
}

fn parse_embedder(s: &str) -> Result<EmbedderModel, String> {
    EmbedderModel::parse(s).ok_or_else(|| format!("embedder must be fp16 or int8, got {s:?}"))
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
    /// Class rosters (CSV or XLSX: student_id, first_name, last_name, class).
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Show the settings the app and `run` share (`rollcall settings`), or change one
    /// (`rollcall settings set mood off`, `… set min_similarity 0.7`).
    Settings {
        #[command(subcommand)]
        action: Option<SettingsCommand>,
    },
    /// List classes and their lesson rules.
    Classes,
    /// Set a class's lesson start and late rule.
    Class {
        name: String,
        /// Lesson start "HH:MM", or "none" (a session starts when its run starts).
        #[arg(long)]
        start: Option<String>,
        /// Minutes of grace before a student counts as late.
        #[arg(long)]
        late_after: Option<i32>,
    },
    /// Enrol a student from photos (each must show exactly one usable face), or --dir DIR with one folder per student id.
    Enroll {
        student_id: Option<String>,
        photos: Vec<PathBuf>,
        #[arg(long, conflicts_with = "student_id")]
        dir: Option<PathBuf>,
    },
    /// List students and how many photos each has enrolled.
    Students {
        #[arg(long)]
        class: Option<String>,
    },
    /// Delete a student and all their data (embeddings, marks, moods).
    DeleteStudent {
        student_id: String,
        #[arg(long, default_value = "office")]
        by: String,
    },
    /// Take the roll: a camera index, a video file or an RTSP/HTTP URL.
    Run {
        #[arg(long)]
        class: String,
        #[arg(long)]
        source: String,
        /// Stop a live session at this time (HH:MM); a file ends at its end.
        #[arg(long)]
        until: Option<String>,
        /// Lesson start for lateness (HH:MM); default: the class's, else now.
        #[arg(long)]
        start: Option<String>,
        /// Do not run or store mood recognition.
        #[arg(long)]
        no_mood: bool,
        /// Never accept a face below this cosine similarity (0.30-0.95), over the threshold
        /// calibrated from the enrolled photos. Default: the `min_similarity` setting, else none.
        #[arg(long)]
        min_similarity: Option<f32>,
        /// Stop after this many frames.
        #[arg(long)]
        max_frames: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        max_seconds: Option<f64>,
    },
    /// The day's roll of a class.
    Report {
        #[arg(long)]
        class: String,
        #[arg(long)]
        date: String,
    },
    /// One student's attendance over a date range.
    History {
        #[arg(long)]
        student: String,
        #[command(flatten)]
        range: DateRange,
    },
    /// A class's attendance rate and status counts over a date range.
    Summary {
        #[arg(long)]
        class: String,
        #[command(flatten)]
        range: DateRange,
    },
    /// Export a class's attendance to Excel (default name Attendance_<class>_<from>_<to>.xlsx).
    Export {
        #[arg(long)]
        class: String,
        #[command(flatten)]
        range: DateRange,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Change a student's status for a day, with a reason (logged; the camera's record is kept).
    Override {
        #[arg(long)]
        class: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        student: String,
        /// present, late, absent or excused
        #[arg(long)]
        status: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "teacher")]
        by: String,
    },
    /// The audit log of manual changes and deletions.
    Audit,
}

/// `--from D --to D`, both inclusive (YYYY-MM-DD or `today`).
#[derive(Args)]
struct DateRange {
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
}

impl DateRange {
    fn parse(&self) -> anyhow::Result<(chrono::NaiveDate, chrono::NaiveDate)> {
        let (from, to) = (date_arg(&self.from)?, date_arg(&self.to)?);
        anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
        Ok((from, to))
    }
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Change a setting (checked before it is stored).
    Set { key: String, value: String },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Import a roster; --dry-run only reports what would change and any problems.
    Import {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
}

fn date_arg(s: &str) -> anyhow::Result<chrono::NaiveDate> {
    if s == "today" {
        return Ok(chrono::Local::now().date_naive());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("{s:?} is not a date: use YYYY-MM-DD (or `today`)"))
}

fn time_arg(s: &str) -> anyhow::Result<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s, "%H:%M").with_context(|| format!("{s:?} is not a time: use HH:MM"))
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
        detector: DetectorConfig { min_face: engine.min_face.unwrap_or(20.0), ..DetectorConfig::default() },
        expressions,
        embedder_model: engine.embedder.unwrap_or_default(),
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
    let db = cli.db.clone();
    let store = || cli::attendance::open_store(db.as_deref());
    match cli.command {
        Command::Roster(RosterCommand::Import { file, dry_run }) => {
            let ok = cli::attendance::roster_import(&mut store()?, &file, dry_run, json)?;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Command::Settings { action } => {
            let mut st = store()?;
            if let Some(SettingsCommand::Set { key, value }) = action {
                rollcall::settings::validate(&key, &value).map_err(|e| anyhow::anyhow!("{e} (settings: {})", rollcall::settings::KEYS.join(", ")))?;
                st.set_setting(&key, &value)?;
            }
            let mut all = serde_json::Map::new();
            for key in rollcall::settings::KEYS {
                all.insert(key.to_string(), st.setting(key)?.map_or(Value::Null, Value::String));
            }
            if json {
                print_json(&Value::Object(all))?;
            } else {
                for (k, v) in all {
                    println!("{k:<16} {}", v.as_str().unwrap_or("(not set)"));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Classes => {
            let classes = store()?.classes()?;
            if json {
                print_json(&json!({"classes": classes}))?;
            } else if classes.is_empty() {
                println!("no classes yet: import a roster with `rollcall roster import FILE`");
            } else {
                for c in classes {
                    println!("{:<10} lesson starts {:<6} late after {} min", c.name, c.session_start.as_deref().unwrap_or("(run)"), c.late_after_minutes);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Class { name, start, late_after } => {
            let mut st = store()?;
            let current = st.class(&name)?;
            let start = match start.as_deref() {
                None => current.lesson_start(),
                Some("none") => None,
                Some(t) => Some(time_arg(t)?),
            };
            let c = st.set_class_rules(&name, start, late_after.unwrap_or(current.late_after_minutes))?;
            println!("{}: lesson starts {}, late after {} min", c.name, c.session_start.as_deref().unwrap_or("(run)"), c.late_after_minutes);
            Ok(ExitCode::SUCCESS)
        }
        Command::Enroll { student_id, photos, dir } => {
            let mut st = store()?;
            let mut a = analyzer(&cli.engine, false)?;
            let ok = cli::attendance::enroll(&mut st, &mut a, student_id.as_deref(), &photos, dir.as_deref(), json)?;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Command::Students { class } => {
            cli::attendance::students(&mut store()?, class.as_deref(), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DeleteStudent { student_id, by } => {
            store()?.delete_student(&student_id, &by)?;
            println!("deleted {student_id} and all their data");
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { class, source, until, start, no_mood, min_similarity, max_frames, max_seconds } => {
            let mut st = store()?;
            // Mood stays on for the CLI until someone switches it off (the app asks on first run).
            let mood = !no_mood && rollcall::settings::mood(&mut st)?.unwrap_or(true);
            let mut engine = cli.engine.clone();
            // Live rooms: faces under 40 px are too small to recognise, and skipping them is
            // what keeps the loop real-time (unless --min-face was given).
            engine.min_face.get_or_insert(rollcall::settings::min_face(&mut st)?);
            if let Some(v) = min_similarity {
                rollcall::settings::validate(rollcall::settings::MIN_SIMILARITY, &v.to_string()).map_err(|e| anyhow::anyhow!("--min-similarity: {e}"))?;
            }
            let min_similarity = min_similarity.or(rollcall::settings::min_similarity(&mut st)?);
            let mut a = analyzer(&engine, mood)?;
            let plan = SessionPlan {
                min_similarity,
                until: until.as_deref().map(time_arg).transpose()?,
                start: start.as_deref().map(time_arg).transpose()?,
                mood,
                max_frames,
                max_seconds,
                ..SessionPlan::new(&class, SourceSpec::parse(&source))
            };
            cli::attendance::run(&mut st, &mut a, &plan, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { class, date } => {
            cli::attendance::report_day(&mut store()?, &class, date_arg(&date)?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::History { student, range } => {
            let (from, to) = range.parse()?;
            cli::attendance::history(&mut store()?, &student, from, to, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Summary { class, range } => {
            let (from, to) = range.parse()?;
            cli::attendance::summary(&mut store()?, &class, from, to, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { class, range, out } => {
            let (from, to) = range.parse()?;
            cli::attendance::export(&mut store()?, &class, from, to, out.as_deref(), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Override { class, date, student, status, reason, by } => {
            let status = rollcall::attendance::Status::parse(&status)
                .with_context(|| format!("{status:?} is not a status: use present, late, absent or excused"))?;
            cli::attendance::override_mark(&mut store()?, &class, date_arg(&date)?, &student, status, &reason, &by, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit => {
            let log = store()?.audit_log()?;
            if json {
                print_json(&json!({"audit": log}))?;
            } else {
                for e in log {
                    println!("{}  {:<8} {:<16} {} -> {}  {}", e.at, e.actor, e.action, e.old_value.unwrap_or_default(), e.new_value.unwrap_or_default(), e.reason);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
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
                print_json(&json!({"path": image, "model": a.embedder.model_id(), "faces": out}))?;
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
