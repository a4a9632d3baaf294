//! FaceNet embeddings (Inception-ResNet-v1, davidsandberg 20180408-102900, 512-d).
//!
//! Crop: the detector's box grown by a margin, clamped to the image, resized bilinearly to
//! 160x160, RGB, `(px - 127.5) / 128` ("fixed image standardisation", which this model was trained
//! with). Faces are batched through one session call. Outputs are re-normalised to unit length so
//! cosine similarity is a dot product whatever the model variant.

use std::path::Path;

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::{Face, VisionError};
use crate::runtime::{self, Threads};

pub const EMBEDDING_DIM: usize = 512;
const INPUT: i32 = 160;

/// Identifies the model that produced an embedding: embeddings of different models (or crops)
/// must never be compared, so stored ones carry this. The default model's.
pub const EMBEDDING_MODEL_ID: &str = EmbedderModel::Fp16.id();

/// Which revision of the crop rule ([`crop_frame`]) computed an embedding, for caches of
/// evaluation embeddings. It is not part of [`EmbedderModel::id`]: the revision only changed the
/// crop of pictures that are a crop of the face itself (tight ID photos), so a school's stored
/// templates, made from such photos by the earlier rule, still compare with camera faces as they
/// did; enrolling those photos again makes them match better.
pub const CROP_REVISION: &str = "crop-2";

/// Which build of FaceNet computes embeddings. Both are the same network with the same crop;
/// their embeddings are close (cosine ~0.998) but not interchangeable, so each has its own id and
/// enrolments made with one are not used with the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedderModel {
    /// fp16 weights computed in fp32: the reference model, the default.
    #[default]
    Fp16,
    /// int8 (static QDQ, 7-bit weights): 1.4-1.9x faster on this workplace's CPU (batch 1 to 8),
    /// as accurate on LFW dev.
    Int8,
}

impl EmbedderModel {
    pub const fn id(self) -> &'static str {
        match self {
            EmbedderModel::Fp16 => "facenet512-20180408-fp16/margin-0.3/fixed-std",
            EmbedderModel::Int8 => "facenet512-20180408-int8qdq/margin-0.3/fixed-std",
        }
    }

    pub fn file(self) -> &'static runtime::ModelFile {
        match self {
            EmbedderModel::Fp16 => &runtime::FACENET,
            EmbedderModel::Int8 => &runtime::FACENET_INT8,
        }
    }

    /// The short name people type (`--embedder fp16|int8`).
    pub const fn name(self) -> &'static str {
        match self {
            EmbedderModel::Fp16 => "fp16",
            EmbedderModel::Int8 => "int8",
        }
    }

    /// The build whose embeddings carry this id.
    pub fn from_id(id: &str) -> Option<Self> {
        [EmbedderModel::Fp16, EmbedderModel::Int8].into_iter().find(|m| m.id() == id)
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "fp16" => Some(EmbedderModel::Fp16),
            "int8" => Some(EmbedderModel::Int8),
            _ => None,
        }
    }
}

/// A unit-length face embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }
}

/// Cosine similarity of two embeddings (a dot product, as both are unit length). Eight running
/// sums, so that the compiler can use SIMD lanes (a plain `sum()` must add in order): recognising
/// a face among 2,000 students and calibrating for them is mostly this.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// How much context around the detector's box goes into the crop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Margin {
    /// A fixed number of pixels in total (half on each side), as facenet's `align_dataset_mtcnn`.
    Pixels(f32),
    /// A fraction of the box's larger side in total (half on each side): the same framing for a
    /// small face far from the camera and a large one close to it.
    Fraction(f32),
}

impl Default for Margin {
    fn default() -> Self {
        // Chosen on LFW dev (see models/README.md "Crop"): a 32 px margin on 250 px LFW images is
        // about 0.3 of the typical ~110 px MTCNN box; expressed as a fraction it carries over to
        // other resolutions.
        Margin::Fraction(0.3)
    }
}

pub struct Embedder {
    session: Session,
    model: EmbedderModel,
    margin: Margin,
    input: Vec<f32>,
    resized: Mat,
}

impl Embedder {
    pub fn load(models_dir: &Path, model: EmbedderModel, threads: Threads) -> Result<Self, VisionError> {
        Ok(Embedder {
            session: runtime::load_session(models_dir, model.file(), threads)?,
            model,
            margin: Margin::default(),
            input: Vec::new(),
            resized: Mat::default(),
        })
    }

    pub fn model(&self) -> EmbedderModel {
        self.model
    }

    /// The id stored with this embedder's embeddings (see [`EmbedderModel::id`]).
    pub fn model_id(&self) -> &'static str {
        self.model.id()
    }

    pub fn set_margin(&mut self, margin: Margin) {
        self.margin = margin;
    }

    pub fn margin(&self) -> Margin {
        self.margin
    }

    /// Embed the given faces of one image in a single batch. A face whose crop is empty gets
    /// `None` (it cannot happen with the detector's own boxes, but boxes may come from elsewhere).
    pub fn embed(&mut self, image: &Mat, faces: &[Face]) -> Result<Vec<Option<Embedding>>, VisionError> {
        let mut crops = Vec::with_capacity(faces.len());
        let mut has_crop = Vec::with_capacity(faces.len());
        for f in faces {
            let c = self.crop(image, f)?;
            has_crop.push(c.is_some());
            crops.extend(c);
        }
        let mut out = self.embed_crops(&crops)?.into_iter();
        Ok(has_crop.into_iter().map(|h| if h { out.next() } else { None }).collect())
    }

    /// The 160x160 BGR crop the embedder would use for a face, to embed later in a larger batch
    /// (evaluations gather crops from many images into one call).
    pub fn crop(&self, image: &Mat, face: &Face) -> Result<Option<Mat>, VisionError> {
        let Some(frame) = crop_frame(self.margin, image.size()?, face) else { return Ok(None) };
        let roi = Mat::roi(image, frame.rect)?;
        let mut out = Mat::default();
        match frame.padding {
            None => imgproc::resize(&roi, &mut out, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?,
            Some([top, bottom, left, right]) => {
                let mut padded = Mat::default();
                opencv::core::copy_make_border(&roi, &mut padded, top, bottom, left, right, opencv::core::BORDER_CONSTANT, opencv::core::Scalar::all(0.0))?;
                imgproc::resize(&padded, &mut out, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?;
            }
        }
        Ok(Some(out))
    }

    /// Embed 160x160 BGR crops (from [`Embedder::crop`]) in one batch.
    pub fn embed_crops(&mut self, crops: &[Mat]) -> Result<Vec<Embedding>, VisionError> {
        let per = (INPUT * INPUT * 3) as usize;
        self.input.clear();
        self.input.resize(crops.len() * per, 0.0);
        for (k, crop) in crops.iter().enumerate() {
            if crop.rows() != INPUT || crop.cols() != INPUT {
                imgproc::resize(crop, &mut self.resized, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?;
                fill_standardised(&self.resized, &mut self.input[k * per..(k + 1) * per])?;
            } else {
                fill_standardised(crop, &mut self.input[k * per..(k + 1) * per])?;
            }
        }
        self.run(crops.len())
    }

    fn run(&mut self, n: usize) -> Result<Vec<Embedding>, VisionError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let s = INPUT as usize;
        let input = TensorRef::from_array_view(([n, s, s, 3], &self.input[..]))?;
        let outputs = self.session.run(ort::inputs![input])?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
        if shape.len() != 2 || shape[1] as usize != EMBEDDING_DIM || shape[0] as usize != n {
            return Err(VisionError::Output(format!("FaceNet returned shape {shape:?}, expected [{n}, 512]")));
        }
        Ok(data.chunks_exact(EMBEDDING_DIM).map(|v| Embedding(normalised(v))).collect())
    }
}

/// The part of the picture a face's crop takes, and what is added around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropFrame {
    /// The box grown by the margin, within the picture.
    pub rect: Rect,
    /// Black pixels added above, below, left and right of `rect`, when the picture is a crop of
    /// this very face (see [`crop_frame`]).
    pub padding: Option<[i32; 4]>,
}

/// The crop for a face: its box grown by the margin. Where the grown box runs past the picture on
/// both sides of an axis, the picture is a crop of this face (a tight ID photo, an aligned 112 px
/// crop, a face filling the camera's view): the part past the picture is filled with black, so
/// the face keeps the scale FaceNet was trained on instead of coming out larger. Where it runs
/// past one side only (a face at the edge of a camera's view) the crop is clamped: measured in
/// models/README.md "Crop", black there lost a profile face in the shared clip that clamping keeps.
/// `None` when nothing of the face is in the picture.
pub fn crop_frame(margin: Margin, image_size: Size, face: &Face) -> Option<CropFrame> {
    let total = match margin {
        Margin::Pixels(p) => p,
        Margin::Fraction(f) => f * face.width().max(face.height()),
    };
    let half = total / 2.0;
    let (w, h) = (image_size.width as f32, image_size.height as f32);
    let (gx1, gy1, gx2, gy2) = (face.x1 - half, face.y1 - half, face.x2 + half, face.y2 + half);
    let x1 = gx1.max(0.0) as i32;
    let y1 = gy1.max(0.0) as i32;
    let x2 = gx2.min(w) as i32;
    let y2 = gy2.min(h) as i32;
    if x2 - x1 < 2 || y2 - y1 < 2 {
        return None;
    }
    let picture_is_the_face = (gx1 < 0.0 && gx2 > w) || (gy1 < 0.0 && gy2 > h);
    let past = |v: f32| v.max(0.0).round() as i32;
    let padding = picture_is_the_face.then(|| [past(-gy1), past(gy2 - h), past(-gx1), past(gx2 - w)]);
    Some(CropFrame { rect: Rect::new(x1, y1, x2 - x1, y2 - y1), padding })
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

/// BGR u8 160x160 -> RGB `(px - 127.5) / 128`, HWC (FaceNet is plain NHWC, no swap).
fn fill_standardised(image: &Mat, dst: &mut [f32]) -> Result<(), VisionError> {
    let src = image.data_bytes()?;
    for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
        d[0] = (s[2] as f32 - 127.5) / 128.0;
        d[1] = (s[1] as f32 - 127.5) / 128.0;
        d[2] = (s[0] as f32 - 127.5) / 128.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_unit_vectors() {
        let a = normalised(&[3.0, 4.0]);
        assert!((a[0] - 0.6).abs() < 1e-6 && (a[1] - 0.8).abs() < 1e-6);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!((cosine(&a, &normalised(&[-4.0, 3.0]))).abs() < 1e-6);
    }

    fn face(x: f32, y: f32, side: f32) -> Face {
        Face { x1: x, y1: y, x2: x + side, y2: y + side, score: 1.0, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn fractional_margin_scales_with_the_face() {
        let size = Size::new(1000, 1000);
        // 100 px face, 0.3 -> 30 px in all, 15 per side.
        assert_eq!(crop_frame(Margin::Fraction(0.3), size, &face(100.0, 100.0, 100.0)), Some(CropFrame { rect: Rect::new(85, 85, 130, 130), padding: None }));
        // Fixed pixels do not scale.
        assert_eq!(crop_frame(Margin::Pixels(32.0), size, &face(100.0, 100.0, 200.0)), Some(CropFrame { rect: Rect::new(84, 84, 232, 232), padding: None }));
    }

    #[test]
    fn a_face_at_the_edge_is_clamped_and_empty_crops_are_none() {
        let size = Size::new(200, 100);
        // Past the left and bottom edges only: a face at the side of a camera's view.
        assert_eq!(crop_frame(Margin::Pixels(20.0), size, &face(-5.0, 90.0, 30.0)), Some(CropFrame { rect: Rect::new(0, 80, 35, 20), padding: None }));
        assert_eq!(crop_frame(Margin::Pixels(0.0), size, &face(300.0, 300.0, 30.0)), None);
    }

    #[test]
    fn a_picture_that_is_the_face_is_padded_not_stretched() {
        // A 112 px tight crop whose face box is 104 px: 0.3 grows it by 15.6 px on each side,
        // past all four edges.
        let size = Size::new(112, 112);
        let f = face(4.0, 6.0, 104.0);
        let frame = crop_frame(Margin::Fraction(0.3), size, &f).unwrap();
        assert_eq!(frame.rect, Rect::new(0, 0, 112, 112));
        assert_eq!(frame.padding, Some([10, 14, 12, 12]));
        // Past the top and bottom but neither side: still the whole face, padded where it runs past.
        let frame = crop_frame(Margin::Fraction(0.3), Size::new(300, 110), &face(100.0, 5.0, 100.0)).unwrap();
        assert_eq!(frame.rect, Rect::new(85, 0, 130, 110));
        assert_eq!(frame.padding, Some([10, 10, 0, 0]));
    }
}
