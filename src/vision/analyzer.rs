//! One object that runs the whole per-image pipeline (detect -> embed -> expression) with
//! sessions created once and buffers reused, so per-frame work allocates no model or session.

use std::path::{Path, PathBuf};

use opencv::core::Mat;
use serde::Serialize;

use super::{DetectOptions, DetectorConfig, Embedder, EmbedderModel, Embedding, ExpressionClassifier, ExpressionResult, Face, FaceDetector, LivenessCheck, VisionError};
use crate::runtime::{self, Threads};

#[derive(Debug, Clone)]
pub struct AnalyzerOptions {
    /// Models folder; `None` searches the documented locations (see `runtime::locate_models_dir`).
    pub models_dir: Option<PathBuf>,
    pub detector: DetectorConfig,
    /// Parallel MTCNN workers (one per core; each runs single-threaded sessions, see benches/).
    pub detector_workers: usize,
    /// Which FaceNet build embeds faces.
    pub embedder_model: EmbedderModel,
    /// Threads of the FaceNet session (one large call per batch: uses every core).
    pub embedder_threads: Threads,
    /// Load and run the expression model. A school may switch mood recognition off entirely.
    pub expressions: bool,
    /// Load the liveness check (a photo or screen held up). Unlike the other models, a missing or
    /// broken liveness model does not stop the engine: it is unavailable, and says why.
    pub liveness: bool,
}

impl Default for AnalyzerOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        AnalyzerOptions {
            models_dir: None,
            detector: DetectorConfig::default(),
            detector_workers: cores.min(4),
            embedder_model: EmbedderModel::default(),
            embedder_threads: Threads::new(cores),
            expressions: true,
            liveness: true,
        }
    }
}

/// A face with what the pipeline learned about it.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzedFace {
    pub face: Face,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Embedding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<ExpressionResult>,
}

/// The face engine: what callers ask (`detect`, `follow`, `analyze`, the embedder and the
/// expression model) with the models loaded once. The detector is its own: a call says what it
/// needs in `DetectOptions`, nobody changes the detector's settings in place.
pub struct FaceAnalyzer {
    detector: FaceDetector,
    pub embedder: Embedder,
    pub expression: Option<ExpressionClassifier>,
    pub liveness: Option<LivenessCheck>,
    /// Why the liveness check could not be loaded (sessions then run without it and say so).
    pub liveness_unavailable: Option<String>,
    models_dir: PathBuf,
}

impl FaceAnalyzer {
    pub fn load(options: &AnalyzerOptions) -> Result<Self, VisionError> {
        let models_dir = runtime::locate_models_dir(options.models_dir.as_deref())?;
        let detector = FaceDetector::load(&models_dir, options.detector, options.detector_workers)?;
        let embedder = Embedder::load(&models_dir, options.embedder_model, options.embedder_threads)?;
        let expression = if options.expressions {
            Some(ExpressionClassifier::load(&models_dir, Threads::single())?)
        } else {
            None
        };
        let (liveness, liveness_unavailable) = match options.liveness.then(|| LivenessCheck::load(&models_dir, options.embedder_threads)) {
            None => (None, Some("switched off for this engine".to_string())),
            Some(Ok(check)) => (Some(check), None),
            Some(Err(e)) => {
                tracing::warn!("the liveness check is unavailable: {e}");
                (None, Some(e.to_string()))
            }
        };
        Ok(FaceAnalyzer { detector, embedder, expression, liveness, liveness_unavailable, models_dir })
    }

    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// The detector's own settings (what `DetectOptions::default()` uses).
    pub fn detector_config(&self) -> DetectorConfig {
        self.detector.config()
    }

    /// Every face in an 8-bit BGR image (none is an empty list, not an error).
    pub fn detect(&mut self, image: &Mat, options: &DetectOptions) -> Result<Vec<Face>, VisionError> {
        self.detector.detect(image, options)
    }

    /// The faces of the previous frame followed into this one (cheaper than `detect`, but finds
    /// no new face: `FaceDetector::follow`).
    pub fn follow(&mut self, image: &Mat, previous: &[Face]) -> Result<Vec<Face>, VisionError> {
        self.detector.follow(image, previous)
    }

    /// Detect every face, embed them all in one batch, and classify their expressions.
    pub fn analyze(&mut self, image: &Mat, options: &DetectOptions) -> Result<Vec<AnalyzedFace>, VisionError> {
        let faces = self.detector.detect(image, options)?;
        let embeddings = self.embedder.embed(image, &faces)?;
        let expressions = match &mut self.expression {
            Some(classifier) => classifier.classify(image, &faces)?.into_iter().map(Some).collect(),
            None => vec![None; faces.len()],
        };
        Ok(faces
            .into_iter()
            .zip(embeddings)
            .zip(expressions)
            .map(|((face, embedding), expression)| AnalyzedFace { face, embedding, expression })
            .collect())
    }
}

/// The face whose centre is nearest the image centre (the subject of a portrait or ID photo).
pub fn most_central(faces: &[Face], width: i32, height: i32) -> Option<usize> {
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    faces
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let d = |f: &Face| {
                let (x, y) = f.center();
                (x - cx).powi(2) + (y - cy).powi(2)
            };
            d(a).total_cmp(&d(b))
        })
        .map(|(i, _)| i)
}
