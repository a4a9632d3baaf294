//! Engine speed, measured the way the live loop uses it.
//!
//! Run: `cargo bench --bench engine` (needs ../shared/datasets or ROLLCALL_DATASETS for the
//! real group photo). Figures are in models/README.md.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opencv::core::{Mat, Size};
use opencv::imgproc;
use rollcall::runtime::{self, Threads};
use rollcall::vision::{load_image, AnalyzerOptions, DetectOptions, DetectorConfig, Embedder, EmbedderModel, ExpressionClassifier, FaceAnalyzer, FaceDetector};

fn datasets() -> PathBuf {
    std::env::var_os("ROLLCALL_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"))
}

/// A 640x480 classroom-like frame: a real photo of three people, resized.
fn frame_640x480() -> Mat {
    let path = datasets().join("detection_dlib_voc_train/images/2008_001322.jpg");
    let img = load_image(&path).unwrap_or_else(|e| panic!("benchmark data missing: {e}"));
    let mut out = Mat::default();
    imgproc::resize(&img, &mut out, Size::new(640, 480), 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
    out
}

fn detection(c: &mut Criterion) {
    let models = runtime::locate_models_dir(None).unwrap();
    let frame = frame_640x480();
    let config = DetectorConfig { min_face: 40.0, ..DetectorConfig::default() };
    let mut group = c.benchmark_group("mtcnn_640x480_min40");
    for (name, workers) in [("1_worker", 1), ("2_workers", 2)] {
        let mut det = FaceDetector::load(&models, config, workers).unwrap();
        let faces = det.detect(&frame, &DetectOptions::default()).unwrap();
        assert!(faces.len() >= 3, "expected the three faces, found {}", faces.len());
        group.bench_function(name, |b| b.iter(|| det.detect(&frame, &DetectOptions::default()).unwrap()));
    }
    group.finish();
    let mut det = FaceDetector::load(&models, DetectorConfig::default(), 2).unwrap();
    c.bench_function("mtcnn_640x480_min20_2_workers", |b| b.iter(|| det.detect(&frame, &DetectOptions::default()).unwrap()));
}

fn embedding(c: &mut Criterion) {
    let models = runtime::locate_models_dir(None).unwrap();
    let frame = frame_640x480();
    let mut det = FaceDetector::load(&models, DetectorConfig { min_face: 40.0, ..Default::default() }, 1).unwrap();
    let face = det.detect(&frame, &DetectOptions::default()).unwrap()[0];
    let mut group = c.benchmark_group("facenet");
    for (model, threads) in [(EmbedderModel::Fp16, 1), (EmbedderModel::Fp16, 2), (EmbedderModel::Int8, 1), (EmbedderModel::Int8, 2)] {
        let name = if model == EmbedderModel::Fp16 { "" } else { "int8_" };
        let mut emb = Embedder::load(&models, model, Threads::new(threads)).unwrap();
        let crop = emb.crop(&frame, &face).unwrap().unwrap();
        for batch in [1usize, 8] {
            let crops = vec![crop.clone(); batch];
            group.bench_function(format!("{name}batch{batch}_{threads}_threads"), |b| b.iter(|| emb.embed_crops(&crops).unwrap()));
        }
    }
    // ONNX Runtime's spin-waiting, off everywhere else (see runtime::Threads): one big net may gain.
    let mut emb = Embedder::load(&models, EmbedderModel::Fp16, Threads { intra: 2, spinning: true }).unwrap();
    let crop = emb.crop(&frame, &face).unwrap().unwrap();
    group.bench_function("batch1_2_spinning_threads", |b| b.iter(|| emb.embed_crops(std::slice::from_ref(&crop)).unwrap()));
    group.finish();
}

fn expression(c: &mut Criterion) {
    let models = runtime::locate_models_dir(None).unwrap();
    let frame = frame_640x480();
    let mut det = FaceDetector::load(&models, DetectorConfig { min_face: 40.0, ..Default::default() }, 1).unwrap();
    let faces = det.detect(&frame, &DetectOptions::default()).unwrap();
    let mut cls = ExpressionClassifier::load(&models, Threads::single()).unwrap();
    c.bench_function("expression_1_face", |b| b.iter(|| cls.classify(&frame, &faces[..1]).unwrap()));
}

fn loading(c: &mut Criterion) {
    // The runtime library is loaded once per process; this measures reading, checking (sha256)
    // and initialising all five models, which happens at each app start.
    runtime::environment().unwrap();
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("load_all_models", |b| b.iter(|| FaceAnalyzer::load(&AnalyzerOptions::default()).unwrap()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = detection, embedding, expression, loading
}
criterion_main!(benches);
