//! Faces in pixels: detection (MTCNN), embeddings (FaceNet), expressions (mini-Xception) and
//! liveness (MiniFASNet).
//!
//! Invariant: this module knows nothing of students, classes or storage. It turns images into
//! boxes, vectors and probabilities; what they mean for attendance is decided elsewhere.

pub mod analyzer;
pub mod area;
pub mod detector;
pub mod embedder;
pub mod expression;
pub mod face;
pub mod geometry;
pub mod image;
pub mod liveness;
pub mod shared;

pub use analyzer::{AnalyzedFace, AnalyzerOptions, FaceAnalyzer};
pub use detector::{DetectorConfig, FaceDetector};
pub use face::{DetectOptions, Face};
pub use embedder::{cosine, Embedder, EmbedderModel, Embedding, Margin};
pub use expression::{Expression, ExpressionClassifier, ExpressionResult};
pub use image::{load_image, ImageError};
pub use liveness::{CannotJudge, Liveness, LivenessCheck};
pub use shared::{SharedAnalyzer, TakeTurns};

/// Anything that can go wrong while running a network on pixels.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error("inference failed: {0}")]
    Inference(#[from] ort::Error),
    #[error("image operation failed: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("unexpected model output: {0}")]
    Output(String),
}
