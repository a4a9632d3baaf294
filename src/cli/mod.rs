//! The `rollcall` command line: the arguments (clap), and one call into `attendance` or `engine`
//! per command. Nothing here decides anything; everything printed goes through `output::Printer`.
//!
//! Exit status (the README's table): 0 done; 1 failed, with a sentence on stderr saying why
//! (nothing, or not everything, was done); 2 the command line was wrong (clap's usage errors);
//! 3 done in part: some inputs could not be used (they are listed).

mod accounts;
mod attendance;
mod backup;
mod engine;
mod keys;
mod output;
mod privacy;
mod self_test;
mod serve;
mod server;
mod session;
mod timetable;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{NaiveDate, NaiveTime};
use clap::{Args, Parser, Subcommand};

use rollcall::attendance::RegisterRef;
use rollcall::calendar::{parse_date, parse_time};
use rollcall::settings::MIN_FACE_RANGE;
use rollcall::timetable::{LessonInput, LessonRef};
use rollcall::status::Status;
use rollcall::vision::{EmbedderModel, Margin};

pub use output::Printer;

#[derive(Parser)]
#[command(name = "rollcall", version, about = "Takes the class roll by face, on the school's own machine")]
struct Cli {
    /// Print one machine-readable JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// The database file (default: the OS's app-data folder; its folder must exist), or a school's
    /// PostgreSQL server: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require] (the password
    /// from PGPASSWORD or ~/.pgpass; see `rollcall server check`).
    #[arg(long, global = true, env = "ROLLCALL_DB")]
    db: Option<PathBuf>,
    /// The school, in a district's database on a PostgreSQL server that holds several (default:
    /// the only one this user may use). `server prepare --school NAME` adds a school.
    #[arg(long, global = true, env = "ROLLCALL_SCHOOL")]
    school: Option<String>,
    /// The staff account to sign in as (its password: ROLLCALL_PASSWORD, else asked for). On a
    /// database with no account yet, the first sign-in creates this office account.
    #[arg(long, global = true, env = "ROLLCALL_USER")]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct EngineArgs {
    /// Folder with the model files (default: next to the program, then the source tree's models/).
    #[arg(long, global = true, env = "ROLLCALL_MODELS")]
    pub models: Option<PathBuf>,
    /// Smallest face to look for, in pixels (20-400; default 20, `run` uses the setting, 40).
    #[arg(long, global = true, value_parser = parse_min_face)]
    pub min_face: Option<f32>,
    /// Threads for FaceNet (1-64; default: all cores).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: Option<u16>,
    /// FaceNet build: `fp16` (default) or `int8` (1.4-1.9x faster on a CPU, as accurate on LFW;
    /// its embeddings are kept apart: students enrolled with one are recognised only with it).
    #[arg(long, global = true, value_parser = parse_embedder)]
    pub embedder: Option<EmbedderModel>,
    /// Context around the face box in the FaceNet crop: a fraction of the box (`0.3`) or pixels (`32px`).
    #[arg(long, global = true, value_parser = parse_margin)]
    pub margin: Option<Margin>,
}

fn parse_min_face(s: &str) -> Result<f32, String> {
    s.trim()
        .parse::<f32>()
        .ok()
        .filter(|v| (MIN_FACE_RANGE.0..=MIN_FACE_RANGE.1).contains(v))
        .ok_or_else(|| format!("the smallest face is a number of pixels from {} to {}, got {s:?}", MIN_FACE_RANGE.0, MIN_FACE_RANGE.1))
}

fn parse_strictness(s: &str) -> Result<rollcall::recognition::Strictness, String> {
    rollcall::recognition::Strictness::parse(s).ok_or_else(|| format!("strictness is standard, strict or strictest, got {s:?}"))
}

fn parse_embedder(s: &str) -> Result<EmbedderModel, String> {
    EmbedderModel::parse(s).ok_or_else(|| format!("embedder must be fp16 or int8, got {s:?}"))
}

fn parse_margin(s: &str) -> Result<Margin, String> {
    let bad = || format!("margin must be a fraction from 0 to 1 like 0.3, or pixels from 0 to 200 like 32px, got {s:?}");
    match s.strip_suffix("px") {
        Some(px) => px.trim().parse().ok().filter(|v| (0.0..=200.0).contains(v)).map(Margin::Pixels).ok_or_else(bad),
        None => s.trim().parse().ok().filter(|v| (0.0..=1.0).contains(v)).map(Margin::Fraction).ok_or_else(bad),
    }
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Every account, its role and classes (no passwords).
    List,
    /// A new account; its password from ROLLCALL_NEW_PASSWORD or typed twice.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: rollcall::accounts::Role,
        /// A class a teacher account teaches (repeat for several).
        #[arg(long)]
        class: Vec<String>,
    },
    /// Change an account's password (your own, or anyone's from an office account).
    Password { name: String },
    /// Set the classes a teacher account teaches (replacing its list).
    Classes {
        name: String,
        #[arg(long)]
        class: Vec<String>,
    },
    /// Disable an account (it can no longer sign in).
    Disable { name: String },
    /// Enable a disabled account, or unlock one locked after failed sign-ins.
    Enable { name: String },
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Reach the server and say whether Rollcall can use it: the password, the version (14 or
    /// newer), where Rollcall's schema stands. Writes nothing.
    Check {
        /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]; without a
        /// password, PGPASSWORD or ~/.pgpass gives it.
        url: String,
    },
    /// Create Rollcall's tables on the server, or bring them up to this version's schema (the
    /// school's IT runs it once, and after an upgrade).
    Prepare {
        /// As for `server check`.
        url: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Where the key is kept, and what it protects.
    Status,
    /// Re-encrypt the database under a new key (a random one; with ROLLCALL_PASSPHRASE, a new
    /// passphrase from ROLLCALL_NEW_PASSPHRASE or typed twice).
    Rotate,
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
        /// Replace annotated pictures that already exist.
        #[arg(long)]
        force: bool,
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
    /// The weekly timetable (`timetable [--class C]`), or `timetable import FILE.csv|xlsx
    /// [--dry-run]` (columns class, weekday, start, end, and optionally room, camera): the file
    /// is the week of the classes it names, their earlier lessons are replaced. A row of class
    /// `*` is the entrance's hours: its camera registers every class, as `run --entrance` does.
    Timetable {
        #[command(subcommand)]
        action: Option<TimetableCommand>,
        #[arg(long)]
        class: Option<String>,
    },
    /// Set a class's lesson start and late rule.
    Class {
        name: String,
        /// Lesson start "HH:MM", or "none" (a session starts when its run starts).
        #[arg(long)]
        start: Option<String>,
        /// Minutes of grace before a student counts as late.
        #[arg(long, value_parser = clap::value_parser!(u16).range(0..=600))]
        late_after: Option<u16>,
    },
    /// Enrol a student from photos (each must show exactly one usable face), or --dir DIR with one folder per student id.
    Enroll {
        student_id: Option<String>,
        photos: Vec<PathBuf>,
        #[arg(long, conflicts_with = "student_id")]
        dir: Option<PathBuf>,
        /// Enrol even if the face matches another student's (they are twins).
        #[arg(long)]
        allow_lookalike: bool,
    },
    /// Which students to photograph again before a roll: those whose own photos the roll's
    /// recognizer would mostly turn away, a photo that looks like another student, too few or
    /// too alike photos. --class CLASS: a lesson's roll; else the entrance's (every class, or --classes).
    CheckPhotos {
        #[arg(long, conflicts_with = "classes")]
        class: Option<String>,
        /// The entrance's classes (comma-separated; default: every class).
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
    },
    /// List students and how many photos each has enrolled.
    Students {
        #[arg(long)]
        class: Option<String>,
    },
    /// Delete a student and all their data (templates, marks, moods); the audit log keeps that it happened.
    DeleteStudent { student_id: String },
    /// Take the roll: a camera index, a video file or an RTSP/HTTP URL.
    Run(RunArgs),
    /// Take every lesson's roll from the timetable by itself, several rooms at once, until
    /// stopped (SIGTERM or Ctrl-C): for a computer no one sits at. Office accounts only.
    Serve(ServeArgs),
    /// The day's roll of a class, lesson by lesson.
    Report {
        #[arg(long)]
        class: String,
        /// YYYY-MM-DD or `today`.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
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
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Change a student's status in a lesson, with a reason (logged; the camera's record is kept).
    Override {
        #[arg(long)]
        class: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// The lesson's start (HH:MM), when the class had several lessons that day.
        #[arg(long, value_parser = parse_time)]
        lesson: Option<NaiveTime>,
        #[arg(long)]
        student: String,
        /// present, late, absent or excused
        #[arg(long)]
        status: Status,
        #[arg(long)]
        reason: String,
    },
    /// The audit log of manual changes and deletions.
    Audit,
    /// Consent to process a student's face data: record an event
    /// (`consent 1042 grant --by "Ana Silva" --relation mother --date 2026-09-01`), show a
    /// student's history (`consent 1042`), or each student's state (`consent --class 7B`).
    Consent(ConsentArgs),
    /// Register a student by hand (the alternative to the camera): present, late, absent or excused.
    Mark {
        #[arg(long)]
        class: String,
        #[arg(long)]
        student: String,
        #[arg(long)]
        status: Status,
        /// YYYY-MM-DD or `today`.
        #[arg(long, value_parser = parse_date, default_value = "today")]
        date: NaiveDate,
        /// The lesson's start (HH:MM), when the class has several lessons that day (default: the
        /// one on now).
        #[arg(long, value_parser = parse_time)]
        lesson: Option<NaiveTime>,
    },
    /// A student leaves the school: their classes end today, their register is kept (archived),
    /// and their face data is deleted as `retention_left_days` says (default: at once).
    Leave { student_id: String },
    /// An encrypted backup of the whole register (a consistent copy, even while a session runs).
    /// The passphrase: ROLLCALL_BACKUP_PASSPHRASE, else asked for on the terminal. `--auto` runs
    /// the daily automatic backup (into the `backup_folder` setting, keeping the last
    /// `backup_keep`) if today's is not there yet: for a scheduled task on a PC the app is not
    /// open on; `--set-auto-passphrase` keeps the passphrase the automatic backups use.
    #[command(group = clap::ArgGroup::new("what").required(true).args(["out", "auto", "set_auto_passphrase"]))]
    Backup {
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        auto: bool,
        #[arg(long)]
        set_auto_passphrase: bool,
        /// Replace the file if it exists (with --auto: a new backup even if today's exists).
        #[arg(long)]
        force: bool,
    },
    /// The database's encryption key: where it is kept (`key status`), or re-encrypt the database
    /// under a new one (`key rotate`; close the app first).
    #[command(subcommand)]
    Key(KeyCommand),
    /// A school's PostgreSQL server: `server check URL` (can Rollcall use it?), `server prepare
    /// URL` (create or update Rollcall's tables there; with --school, a district's school, added
    /// if new). Then give its URL as --db or ROLLCALL_DB.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Move this PC's register (--db, or the default file) to a school's PostgreSQL server: every
    /// table copied with its ids in one transaction, counted against the file before it is kept.
    /// The server's database (or, with --school, that school of a district's database) must be
    /// empty; the file is left as it was. Then use the server with --db URL (every PC with the
    /// same key file: `rollcall key status`).
    MigrateTo {
        /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]
        url: String,
    },
    /// Staff accounts: office (everything) and teacher (their own classes' roll and reports).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Restore a backup over the database (checked first; the replaced database is kept aside),
    /// or with --check only say what the backup holds.
    Restore {
        file: PathBuf,
        #[arg(long)]
        check: bool,
    },
    /// Delete what the retention settings say is due (templates of students who left or not
    /// recognised for long, old mood summaries, expired registers); counts only, never names.
    Purge {
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Everything held about a student, as JSON (an access request; GDPR Art. 15/20).
    ExportStudent {
        student_id: String,
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check this installation: ONNX Runtime and the models (their pins), a photo decoded,
    /// detected, embedded and classified, a video opened through the camera's capture path, a
    /// database made in a temporary folder, the key store and the data folder. Exit 0 or 1.
    SelfTest,
    /// The school's privacy report (Markdown): what is processed, where, for how long, on what consent.
    PrivacyReport {
        /// Write it to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct ConsentArgs {
    /// The student (omit with --class, or for the whole school).
    student_id: Option<String>,
    /// grant, withdraw or object (omit to show the student's history).
    #[arg(requires_all = ["by", "date"])]
    action: Option<rollcall::consent::ConsentKind>,
    /// Who: the parent's or guardian's name, or `student` for the child's own objection.
    #[arg(long)]
    by: Option<String>,
    /// mother, father, guardian, …
    #[arg(long)]
    relation: Option<String>,
    /// The date on the form (YYYY-MM-DD or `today`; never in the future).
    #[arg(long, value_parser = parse_date)]
    date: Option<NaiveDate>,
    /// How it was given: paper-form, e-mail, portal, in person, …
    #[arg(long)]
    how: Option<String>,
    #[arg(long)]
    note: Option<String>,
    /// Each student's state in this class.
    #[arg(long, conflicts_with_all = ["student_id", "action"])]
    class: Option<String>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The class whose lesson's roll this is.
    #[arg(long, required_unless_present = "entrance")]
    pub class: Option<String>,
    /// The entrance's roll: every enrolled student (of --classes, else of the whole school) is
    /// recognised and marked in the lesson on for them then, or their next lesson that day (a
    /// class with no timetable: its day's register). Needs an office account.
    #[arg(long, conflicts_with_all = ["class", "start"])]
    pub entrance: bool,
    /// With --entrance: only these classes (comma-separated).
    #[arg(long, value_delimiter = ',', requires = "entrance")]
    pub classes: Vec<String>,
    #[arg(long)]
    pub source: String,
    /// Stop a live session at this time (HH:MM); a file ends at its end.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<NaiveTime>,
    /// Lesson start (HH:MM): the roll of the timetabled lesson on at that time, late judged from
    /// it, or a lesson of its own starting then. Default: the timetabled lesson on now; a class
    /// with no timetable that day continues the day's register, else starts at the class's start.
    /// A lesson a camera has already watched keeps its start (a different one is refused).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<NaiveTime>,
    /// Do not run or store mood recognition (it is off anyway unless the `mood` setting is on).
    #[arg(long)]
    pub no_mood: bool,
    /// Never accept a face below this cosine similarity (0.30-0.95), over the threshold
    /// calibrated from the enrolled photos. Default: the `min_similarity` setting, else none.
    #[arg(long)]
    pub min_similarity: Option<f32>,
    /// How far above what strangers score a face must be: standard, strict or strictest (the same
    /// share of strangers at any school size). Default: the `strictness` setting, else standard.
    #[arg(long, value_parser = parse_strictness)]
    pub strictness: Option<rollcall::recognition::Strictness>,
    /// A face judged a photo or a screen held up: off (not checked), warn (marked, flagged for
    /// review in the audit log) or block (not marked). Default: the `liveness` setting, else warn.
    #[arg(long)]
    pub liveness: Option<rollcall::attendance::LivenessMode>,
    /// Stop after this many frames.
    #[arg(long)]
    pub max_frames: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Write the log here (appended) instead of to the terminal.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Rehearse today's timetable from this time (HH:MM) instead of following the clock.
    #[arg(long, value_parser = parse_time)]
    pub rehearse_from: Option<NaiveTime>,
    /// With --rehearse-from: how many times faster than real time the rehearsal runs.
    #[arg(long, default_value_t = 1.0, requires = "rehearse_from")]
    pub rate: f64,
    /// Stop (cleanly, as on SIGTERM) when the clock reaches this time (HH:MM).
    #[arg(long, value_parser = parse_time)]
    pub stop_at: Option<NaiveTime>,
}

/// `--from D --to D`, both inclusive (YYYY-MM-DD or `today`).
#[derive(Args)]
pub struct DateRange {
    #[arg(long, value_parser = parse_date)]
    from: NaiveDate,
    #[arg(long, value_parser = parse_date)]
    to: NaiveDate,
}

impl DateRange {
    fn checked(&self) -> anyhow::Result<(NaiveDate, NaiveDate)> {
        rollcall::calendar::date_range(self.from, self.to).map_err(anyhow::Error::msg)
    }
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Change a setting (checked before it is stored).
    Set {
        key: String,
        value: String,
        /// With `mood off`: also delete every mood summary already stored.
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Subcommand)]
enum TimetableCommand {
    /// Import lessons; --dry-run lists what would change and any problems.
    Import {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Add one lesson to a class's week (checked against the rest of the week as an import is);
    /// class `*` adds hours of the entrance (its room names the gate).
    Add {
        #[command(flatten)]
        lesson: LessonKeyArgs,
        /// HH:MM
        #[arg(long)]
        end: String,
        /// A camera number, a video file or an RTSP/HTTP URL.
        #[arg(long, default_value = "")]
        camera: String,
    },
    /// Remove one lesson: the class's lesson starting then on that day (class `*`: the
    /// entrance's hours at the gate named by --room).
    Remove {
        #[command(flatten)]
        lesson: LessonKeyArgs,
    },
}

/// Which lesson of the week: its class, day, start and room.
#[derive(clap::Args)]
struct LessonKeyArgs {
    #[arg(long)]
    class: String,
    /// Monday … Sunday, Mon, or 1-7 from Monday.
    #[arg(long)]
    day: String,
    /// HH:MM
    #[arg(long)]
    start: String,
    #[arg(long, default_value = "")]
    room: String,
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Import a roster; --dry-run lists what would change (adds, changes old -> new, students missing) and any problems.
    Import {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
        /// Students of the file's classes who are not in it leave those classes (their register so far is kept).
        #[arg(long)]
        remove_missing: bool,
    },
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
        /// Keep embeddings in this file between runs (each image is embedded once per model).
        #[arg(long)]
        cache: Option<PathBuf>,
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
        /// Other identities (path,identity CSV), each enrolled with one photo: a school-size gallery.
        #[arg(long)]
        distractors: Option<PathBuf>,
        /// The distractors are the school's other classes: a track taken for one of them is not
        /// a mark in this class (a class's roll knows the whole school and marks only its own).
        #[arg(long, requires = "distractors")]
        other_classes: bool,
        /// Follow the enrolment advice: the students `check-photos` would flag get this many more
        /// of their photos enrolled; the figures are those after training again.
        #[arg(long, default_value_t = 0)]
        rephotograph: usize,
        /// Keep embeddings in this file between runs (each image is embedded once per model).
        #[arg(long)]
        cache: Option<PathBuf>,
        #[command(flatten)]
        decision: engine::DecisionArgs,
    },
    /// Detection recall and precision on a boxes CSV (path,x,y,w,h).
    Detect {
        #[arg(long)]
        boxes: PathBuf,
    },
    /// Liveness (presentation-attack detection) on a labels CSV (path,label with label live or
    /// spoof; optional attack, kind, source): apcer, bpcer, accuracy, auc, the ROC, and rates per
    /// attack, kind and source.
    Liveness {
        #[arg(long)]
        labels: PathBuf,
        /// A face scoring at or above this is judged live (default: the product's).
        #[arg(long, default_value_t = rollcall::vision::liveness::THRESHOLD)]
        threshold: f32,
        /// Score rows of kind `crop` (tight face crops) anyway, though the check needs the face's
        /// surroundings: by default they cannot be judged, as in the live loop.
        #[arg(long)]
        judge_crops: bool,
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

/// How a command that ran to its end went.
pub enum Outcome {
    Done,
    /// Some inputs could not be used (they were listed).
    Partial,
}

/// The process: logging, a private umask, the arguments, one command, the exit status.
pub fn main() -> ExitCode {
    rollcall::files::private_umask();
    let cli = Cli::parse();
    if let Err(e) = logging(&cli) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    match try_main(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(3),
        // The reader of our output has gone (`| head`): end quietly, as command-line tools do.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings to the terminal; `serve` tells what it does (info) and, with `--log`, into a file.
fn logging(cli: &Cli) -> anyhow::Result<()> {
    let (default, file) = match &cli.command {
        Command::Serve(a) => ("info", a.log.as_deref()),
        _ => ("warn", None),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| default.into());
    match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot write the log file {}: {e}", path.display()))?;
            tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(std::sync::Mutex::new(f)).init();
        }
        None => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
    }
    Ok(())
}

fn try_main(cli: Cli) -> anyhow::Result<Outcome> {
    let out = Printer::new(cli.json);
    // The school goes into the server's address, which every part of the run reopens.
    let in_school = match &cli.school {
        Some(school) if !matches!(cli.command, Command::Server(_) | Command::MigrateTo { .. }) => {
            Some(rollcall::storage::server::ServerUrl::location_in_school(cli.db.as_deref(), school)?)
        }
        _ => None,
    };
    let db = in_school.as_deref().or(cli.db.as_deref());
    let school = cli.school.as_deref();
    let at = &session::Caller { db, user: cli.user.as_deref() };
    let engine = &cli.engine;
    match cli.command {
        Command::Detect { images, annotate, force } => engine::detect(&out, engine, &images, annotate.as_deref(), force, db),
        Command::Embed { image } => engine::embed(&out, engine, &image),
        Command::Compare { a, b } => engine::compare(&out, engine, &a, &b),
        Command::Expression { images } => engine::expression(&out, engine, &images),
        Command::Eval(EvalCommand::Verify { pairs, seed, no_subtract_mean, cache }) => {
            engine::eval_verify(&out, engine, &pairs, seed, !no_subtract_mean, cache.as_deref())
        }
        Command::Eval(EvalCommand::Identify { labels, enroll, unknown_ids, track, seed, min_images, distractors, other_classes, rephotograph, cache, decision }) => {
            let options =
                rollcall::eval::identify::IdentifyOptions { enroll, unknown_ids, track, seed, min_images, distractors, other_classes, rephotograph, config: decision.config()? };
            engine::eval_identify(&out, engine, &labels, options, cache.as_deref())
        }
        Command::Eval(EvalCommand::Detect { boxes }) => engine::eval_detect(&out, engine, &boxes),
        Command::Eval(EvalCommand::Expression { labels, detect }) => engine::eval_expression(&out, engine, &labels, detect),
        Command::Eval(EvalCommand::Liveness { labels, threshold, judge_crops }) => engine::eval_liveness(&out, engine, &labels, threshold, judge_crops),
        Command::Roster(RosterCommand::Import { file, dry_run, remove_missing }) => attendance::roster_import(&out, at, &file, dry_run, remove_missing),
        Command::Settings { action: None } => attendance::settings_show(&out, at),
        Command::Settings { action: Some(SettingsCommand::Set { key, value, purge }) } => attendance::settings_set(&out, at, &key, &value, purge),
        Command::Classes => attendance::classes(&out, at),
        Command::Timetable { action: None, class } => timetable::show(&out, at, class.as_deref()),
        Command::Timetable { action: Some(TimetableCommand::Import { file, dry_run }), .. } => timetable::import(&out, at, &file, dry_run),
        Command::Timetable { action: Some(TimetableCommand::Add { lesson: LessonKeyArgs { class, day, start, room }, end, camera }), .. } => {
            timetable::edit(&out, at, None, Some(LessonInput { class, weekday: day, start, end, room, camera }))
        }
        Command::Timetable { action: Some(TimetableCommand::Remove { lesson: LessonKeyArgs { class, day, start, room } }), .. } => {
            timetable::edit(&out, at, Some(LessonRef { class, weekday: day, start, room }), None)
        }
        Command::Class { name, start, late_after } => attendance::class_rules(&out, at, &name, start.as_deref(), late_after),
        Command::Enroll { student_id, photos, dir, allow_lookalike } => {
            attendance::enroll(&out, at, engine, student_id.as_deref(), &photos, dir.as_deref(), allow_lookalike)
        }
        Command::CheckPhotos { class, classes } => attendance::check_photos(&out, at, engine, class, classes),
        Command::Students { class } => attendance::students(&out, at, class.as_deref()),
        Command::DeleteStudent { student_id } => attendance::delete_student(&out, at, &student_id),
        Command::Run(args) => attendance::run(&out, at, engine, &args),
        Command::Serve(args) => serve::serve(&out, at, engine, &args),
        Command::Report { class, date } => attendance::report_day(&out, at, &class, date),
        Command::History { student, range } => attendance::history(&out, at, &student, range.checked()?),
        Command::Summary { class, range } => attendance::summary(&out, at, &class, range.checked()?),
        Command::Export { class, range, out: file, force } => attendance::export(&out, at, &class, range.checked()?, file.as_deref(), force),
        Command::Override { class, date, lesson, student, status, reason } => {
            attendance::override_mark(&out, at, &RegisterRef { class: &class, date, lesson }, &student, status, &reason)
        }
        Command::Audit => attendance::audit(&out, at),
        Command::Consent(c) => match (c.student_id, c.action) {
            (Some(id), Some(kind)) => {
                let request = rollcall::consent::ConsentRequest {
                    kind,
                    by: c.by.unwrap_or_default(),
                    relation: c.relation,
                    date: c.date.unwrap_or_default(),
                    how: c.how,
                    note: c.note,
                };
                privacy::consent_record(&out, at, &id, request)
            }
            (Some(id), None) => privacy::consent_history(&out, at, &id),
            (None, _) => privacy::consent_list(&out, at, c.class.as_deref()),
        },
        Command::Mark { class, student, status, date, lesson } => privacy::mark(&out, at, &RegisterRef { class: &class, date, lesson }, &student, status),
        Command::Backup { out: file, auto, force, .. } => match file {
            Some(file) => backup::backup(&out, at, &file, force),
            None if auto => backup::auto(&out, at, force),
            None => backup::set_auto_passphrase(&out, at),
        },
        Command::Restore { file, check } => backup::restore(&out, at, &file, check),
        Command::Key(KeyCommand::Status) => keys::status(&out, at),
        Command::Key(KeyCommand::Rotate) => keys::rotate(&out, at),
        Command::Server(ServerCommand::Check { url }) => server::check(&out, &url, school),
        Command::Server(ServerCommand::Prepare { url }) => server::prepare(&out, &url, school),
        Command::MigrateTo { url } => server::migrate_to(&out, at, &url, school),
        Command::Account(c) => match c {
            AccountCommand::List => accounts::list(&out, at),
            AccountCommand::Add { name, role, class } => accounts::add(&out, at, &name, role, &class),
            AccountCommand::Password { name } => accounts::password(&out, at, &name),
            AccountCommand::Classes { name, class } => accounts::classes(&out, at, &name, &class),
            AccountCommand::Disable { name } => accounts::set_disabled(&out, at, &name, true),
            AccountCommand::Enable { name } => accounts::set_disabled(&out, at, &name, false),
        },
        Command::Leave { student_id } => privacy::leave(&out, at, &student_id),
        Command::Purge { dry_run } => privacy::purge(&out, at, dry_run),
        Command::ExportStudent { student_id, out: file, force } => privacy::export_student(&out, at, &student_id, &file, force),
        Command::SelfTest => self_test::run(&out, engine, db),
        Command::PrivacyReport { out: file, force } => privacy::privacy_report(&out, at, file.as_deref(), force),
    }
}
