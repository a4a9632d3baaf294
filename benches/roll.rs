//! The live loop's speed: frames per second once every track is decided (the steady state of a
//! classroom), and the time for one frame full of new faces (a crowd at the door); and a term's
//! report and Excel export of a 30-student class (what reading the encrypted database costs).
//!
//! Run: `cargo bench --bench roll` (needs ../shared/datasets or ROLLCALL_DATASETS).

use std::path::PathBuf;
use std::time::Duration;

use chrono::Local;
use criterion::{criterion_group, criterion_main, Criterion};
use opencv::core::{Mat, Rect, Size, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;
use rollcall::attendance::{FrameOutcome, LivenessMode, Roll, RollOptions};
use rollcall::storage::{RosterEntry, Store};
use rollcall::vision::embedder::EMBEDDING_MODEL_ID;
use rollcall::vision::{load_image, AnalyzerOptions, DetectOptions, DetectorConfig, FaceAnalyzer};

fn datasets() -> PathBuf {
    std::env::var_os("ROLLCALL_DATASETS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"))
}

fn analyzer() -> FaceAnalyzer {
    FaceAnalyzer::load(&AnalyzerOptions { detector: DetectorConfig { min_face: 40.0, ..Default::default() }, ..Default::default() }).unwrap()
}

/// A parent's consent, as a roster's consent columns give it (enrolment needs it).
fn consented() -> rollcall::storage::RosterConsent {
    rollcall::storage::RosterConsent {
        kind: rollcall::consent::ConsentKind::Granted,
        by: "A Parent".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
    }
}

/// A store whose class "B" has one student per face of `frame`, enrolled from that frame.
fn class_of(frame: &Mat, a: &mut FaceAnalyzer, dir: &tempfile::TempDir) -> Store {
    let keys = rollcall::keys::KeyStore::File(dir.path().join("bench.key"));
    let mut store = Store::open_with(&dir.path().join("bench.sqlite3"), &keys).unwrap();
    let faces = a.detect(frame, &DetectOptions::default()).unwrap();
    let entries: Vec<RosterEntry> = (0..faces.len())
        .map(|i| RosterEntry { student_id: format!("S{i}"), first_name: "F".into(), last_name: format!("{i}"), class: "B".into(), consent: Some(consented()) })
        .collect();
    store.apply_roster(&entries, Default::default(), "bench").unwrap();
    for (i, e) in a.embedder.embed(frame, &faces).unwrap().into_iter().enumerate() {
        let s = store.student(&format!("S{i}")).unwrap();
        store.add_enrolments(&s, EMBEDDING_MODEL_ID, &[(e.unwrap().0, "bench".into(), 100.0)]).unwrap();
    }
    store
}

fn steady_state(c: &mut Criterion) {
    let img = load_image(&datasets().join("detection_dlib_voc_train/images/2008_001322.jpg")).unwrap();
    let mut frame = Mat::default();
    imgproc::resize(&img, &mut frame, Size::new(640, 480), 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
    let mut a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let mut store = class_of(&frame, &mut a, &dir);
    let class = store.class("B").unwrap();
    let mut roll = start(&mut store, &class, RollOptions::default());
    // Decide every track first.
    for _ in 0..6 {
        roll.process(&mut store, &mut a, &frame, Local::now().naive_local()).unwrap();
    }
    assert!(roll.marked() >= 3, "the three faces should be marked, got {}", roll.marked());
    c.bench_function("roll_640x480_3_decided_faces_with_mood", |b| {
        b.iter(|| {
            let out = roll.process(&mut store, &mut a, &frame, Local::now().naive_local()).unwrap();
            assert_eq!(out.embedded, 0);
        })
    });
}

/// The door's camera with the whole school enrolled: the three real faces of the steady-state
/// frame plus 1,997 generated students (5 random unit vectors each: this measures cost, not
/// accuracy). Per frame once every track is decided; and the frame right after an enrolment
/// change, while the 2,000-student recognizer is retrained on its own thread (the loop must not
/// wait for it).
fn school_at_the_door(c: &mut Criterion) {
    use rand::{Rng, SeedableRng};
    let img = load_image(&datasets().join("detection_dlib_voc_train/images/2008_001322.jpg")).unwrap();
    let mut frame = Mat::default();
    imgproc::resize(&img, &mut frame, Size::new(640, 480), 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
    let mut a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let mut store = class_of(&frame, &mut a, &dir);
    // The class's real students keep their ids (S0..); the rest of the 2,000 are generated.
    let real = store.students(Some("B")).unwrap().len();
    let all: Vec<RosterEntry> = (0..2000)
        .map(|i| RosterEntry { student_id: format!("S{i}"), first_name: "F".into(), last_name: format!("{i}"), class: "B".into(), consent: Some(consented()) })
        .collect();
    store.apply_roster(&all, Default::default(), "bench").unwrap();
    let others = &all[real..];
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut unit = || -> Vec<f32> {
        let v: Vec<f32> = (0..512).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    };
    for e in others {
        let s = store.student(&e.student_id).unwrap();
        let items: Vec<(Vec<f32>, String, f32)> = (0..5).map(|_| (unit(), "generated".to_string(), 100.0)).collect();
        store.add_enrolments(&s, EMBEDDING_MODEL_ID, &items).unwrap();
    }
    let class = store.class("B").unwrap();
    let options = RollOptions { gallery_check_every: Duration::ZERO, ..RollOptions::default() };
    let mut roll = start(&mut store, &class, options);
    assert_eq!(roll.recognizer().len(), 2000);
    for _ in 0..6 {
        roll.process(&mut store, &mut a, &frame, Local::now().naive_local()).unwrap();
    }
    assert!(roll.marked() >= 3, "the three faces should be marked among 2,000, got {}", roll.marked());
    let mut group = c.benchmark_group("school_2000_enrolled");
    group.sample_size(20);
    group.bench_function("roll_640x480_3_decided_faces", |b| b.iter(|| roll.process(&mut store, &mut a, &frame, Local::now().naive_local()).unwrap()));
    let newcomer = store.student(&others[0].student_id).unwrap();
    group.bench_function("frame_after_an_enrolment_change", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Untimed: a template added (the gallery's version changes).
                store.add_enrolments(&newcomer, EMBEDDING_MODEL_ID, &[(unit(), "generated".into(), 100.0)]).unwrap();
                total += frame_then_retrained(&mut roll, &mut store, &mut a, &frame);
            }
            total
        })
    });
    // A student deleted (or consent ended): the kept gallery loses them, nothing is read again.
    let mut leaving = others[1..].iter();
    group.bench_function("frame_after_a_student_deleted", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = roll.recognizer().len();
                store.delete_student(&leaving.next().expect("more students than iterations").student_id, "bench").unwrap();
                total += frame_then_retrained(&mut roll, &mut store, &mut a, &frame);
                assert_eq!(roll.recognizer().len(), before - 1);
            }
            total
        })
    });
    group.finish();
}

fn start(store: &mut Store, class: &rollcall::storage::Class, options: RollOptions) -> Roll {
    let now = Local::now().naive_local();
    Roll::start(store, class, rollcall::storage::LessonSlot::at(now.time()), now, "bench", options).unwrap()
}

/// The time of the one frame after a change (timed); then, untimed, frames until the retraining
/// the change started is done, so that the next change starts from a settled roll.
fn frame_then_retrained(roll: &mut Roll, store: &mut Store, a: &mut FaceAnalyzer, frame: &Mat) -> Duration {
    let t = std::time::Instant::now();
    roll.process(store, a, frame, Local::now().naive_local()).unwrap();
    let spent = t.elapsed();
    while roll.retraining() {
        std::thread::sleep(Duration::from_millis(20));
        roll.process(store, a, frame, Local::now().naive_local()).unwrap();
    }
    spent
}

/// `iters` fresh rolls (started untimed), each given `frames` in turn (timed); `check` sees the
/// last frame's outcome of each.
fn fresh_rolls(
    iters: u64,
    store: &mut Store,
    class: &rollcall::storage::Class,
    a: &mut FaceAnalyzer,
    liveness: LivenessMode,
    frames: &[&Mat],
    check: impl Fn(&FrameOutcome),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut roll = start(store, class, RollOptions { liveness, ..RollOptions::default() });
        let t = std::time::Instant::now();
        let mut last = None;
        for f in frames {
            last = Some(roll.process(store, a, f, Local::now().naive_local()).unwrap());
        }
        total += t.elapsed();
        check(&last.expect("at least one frame"));
    }
    total
}

/// 30 different people from LFW in a 6x5 mosaic (960x800).
fn crowd() -> Mat {
    let lfw = datasets().join("lfw_dev");
    let mut rdr = csv::Reader::from_path(lfw.join("labels.csv")).unwrap();
    let mut seen = std::collections::HashSet::new();
    let paths: Vec<PathBuf> = rdr.records().map(|r| r.unwrap()).filter(|r| seen.insert(r[1].to_string())).take(30).map(|r| lfw.join(&r[0])).collect();
    let mut mosaic = Mat::new_rows_cols_with_default(800, 960, CV_8UC3, opencv::core::Scalar::all(0.0)).unwrap();
    for (k, p) in paths.iter().enumerate() {
        let img = load_image(p).unwrap();
        // The central 160x160 of a 250x250 LFW image holds the face.
        let crop = Mat::roi(&img, Rect::new(45, 45, 160, 160)).unwrap();
        let mut dst = Mat::roi_mut(&mut mosaic, Rect::new((k % 6) as i32 * 160, (k / 6) as i32 * 160, 160, 160)).unwrap();
        crop.copy_to(&mut dst).unwrap();
    }
    mosaic
}

fn crowd_at_the_door(c: &mut Criterion) {
    let frame = crowd();
    let mut a = analyzer();
    let n = a.detect(&frame, &DetectOptions::default()).unwrap().len();
    assert!(n >= 28, "the mosaic should show 30 faces, found {n}");
    let dir = tempfile::tempdir().unwrap();
    let mut store = class_of(&frame, &mut a, &dir);
    let class = store.class("B").unwrap();
    let mut group = c.benchmark_group("crowd");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    // With the liveness check (what the CLI, the app and serve run: warn by default), the first
    // frame only samples each new face for stillness; the model scores a face once it is recognised.
    let once = [&frame];
    for (name, liveness) in [("frame_with_30_new_faces", LivenessMode::Off), ("frame_with_30_new_faces_liveness_on", LivenessMode::Warn)] {
        // A fresh roll each time (untimed): every face is a new track that must be embedded.
        group.bench_function(name, |b| {
            b.iter_custom(|iters| fresh_rolls(iters, &mut store, &class, &mut a, liveness, &once, |out| assert!(out.embedded >= 28)))
        });
    }
    // The frames until every face is decided (with the liveness check: recognised after 3, the
    // model's score from the 4th, stillness over 5, and 6 for a face whose first score is not sure;
    // without it: 3), each with a camera's noise: what the check costs a crowd in all.
    let noisy: Vec<Mat> = (0..6)
        .map(|k| {
            let mut noise = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), CV_8UC3, opencv::core::Scalar::all(0.0)).unwrap();
            opencv::core::set_rng_seed(k).unwrap();
            opencv::core::randn(&mut noise, &opencv::core::Scalar::all(3.0), &opencv::core::Scalar::all(2.0)).unwrap();
            let mut out = Mat::default();
            opencv::core::add(&frame, &noise, &mut out, &opencv::core::no_array(), -1).unwrap();
            out
        })
        .collect();
    let noisy: Vec<&Mat> = noisy.iter().collect();
    for (name, liveness) in [("first_6_frames_of_30_new_faces", LivenessMode::Off), ("first_6_frames_of_30_new_faces_liveness_on", LivenessMode::Warn)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                fresh_rolls(iters, &mut store, &class, &mut a, liveness, &noisy, |out| {
                    let named = out.faces.iter().filter(|v| v.student_id.is_some()).count();
                    assert!(named >= 28, "every face should be decided in 6 frames, {named} were");
                })
            })
        });
    }
    group.finish();
}

/// Retraining after an enrolment change, and deciding a track, for school-sized galleries:
/// 1,000 and 2,000 students with 5 photos each (targets: training <= 10 s, a decision <= 1 ms).
/// The vectors are random unit vectors (seeded): this measures cost, not accuracy.
fn training(c: &mut Criterion) {
    use rand::{Rng, SeedableRng};
    use rollcall::recognition::{Enrolled, Recognizer};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut unit = |base: &[f32]| -> Vec<f32> {
        let v: Vec<f32> = base.iter().map(|b| b + rng.gen_range(-0.04f32..0.04)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    };
    let mut base_rng = rand::rngs::StdRng::seed_from_u64(1);
    let gallery: Vec<Enrolled> = (0..2000)
        .map(|i| {
            let base: Vec<f32> = (0..512).map(|_| base_rng.gen_range(-1.0f32..1.0) / 22.0).collect();
            Enrolled { key: i.to_string(), embeddings: (0..5).map(|_| unit(&base)).collect() }
        })
        .collect();
    let mut group = c.benchmark_group("recognizer");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("train_1000_students_5_photos", |b| b.iter(|| Recognizer::train(&gallery[..1000], 3).unwrap()));
    group.bench_function("train_2000_students_5_photos", |b| b.iter(|| Recognizer::train(&gallery, 3).unwrap()));
    group.finish();
    let recognizer = Recognizer::train(&gallery, 3).unwrap();
    let track: Vec<Vec<f32>> = gallery[17].embeddings[..3].to_vec();
    let track: Vec<&[f32]> = track.iter().map(Vec::as_slice).collect();
    c.bench_function("recognizer/decide_track_of_3_among_2000_students", |b| b.iter(|| recognizer.decide(&track)));
    c.bench_function("recognizer/vote_one_frame_among_2000_students", |b| b.iter(|| recognizer.vote(track[0])));
}

/// A 30-student class over a term (60 school days from 2026-09-01, every student marked each
/// day): the summary a teacher opens, and its Excel export.
fn term_report(c: &mut Criterion) {
    use chrono::{Datelike, NaiveDate, Weekday};
    use rollcall::attendance::Status;
    let dir = tempfile::tempdir().unwrap();
    let keys = rollcall::keys::KeyStore::File(dir.path().join("bench.key"));
    let mut store = Store::open_with(&dir.path().join("bench.sqlite3"), &keys).unwrap();
    let entries: Vec<RosterEntry> = (0..30)
        .map(|i| RosterEntry {
            student_id: format!("T{i:02}"),
            first_name: format!("First{i}"),
            last_name: format!("Last{i}"),
            class: "T".into(),
            consent: None,
        })
        .collect();
    store.apply_roster(&entries, Default::default(), "bench").unwrap();
    let class = store.class("T").unwrap();
    let students: Vec<_> = (0..30).map(|i| store.student(&format!("T{i:02}")).unwrap()).collect();
    let from = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let days: Vec<NaiveDate> = from.iter_days().filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).take(60).collect();
    for (k, day) in days.iter().enumerate() {
        let (session, _) = store
            .open_session(
                &class,
                *day,
                rollcall::storage::LessonSlot::at(chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap()),
                day.and_hms_opt(8, 30, 0).unwrap(),
                "bench",
            )
            .unwrap();
        for (i, s) in students.iter().enumerate() {
            let status = match (i + k) % 20 {
                0 => Status::Absent,
                1 => Status::Late,
                _ => Status::Present,
            };
            store.mark_by_hand(session.id, s, status, "bench").unwrap();
        }
        store.close_session(session.id, day.and_hms_opt(9, 30, 0).unwrap(), 0, 0).unwrap();
    }
    let to = *days.last().unwrap();
    let out = dir.path().join("term.xlsx");
    let mut group = c.benchmark_group("term_30_students_60_days");
    group.sample_size(20);
    group.bench_function("summary", |b| b.iter(|| assert_eq!(rollcall::report::summary(&mut store, "T", from, to).unwrap().students.len(), 30)));
    group.bench_function("excel_export", |b| b.iter(|| rollcall::report::xlsx::export(&mut store, "T", from, to, &out, true, "bench").unwrap()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = steady_state, crowd_at_the_door, training, school_at_the_door, term_report
}
criterion_main!(benches);
