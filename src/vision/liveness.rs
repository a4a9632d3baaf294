//! Is this a live face, or a photo or screen held up to the camera? MiniFASNet (Silent-Face
//! anti-spoofing, Apache-2.0): two small nets that look at the face with its surroundings, the
//! face box enlarged 2.7x and 4x, where a print's edge, a phone's bezel and the texture of paper or
//! pixels show. models/README.md has the model's provenance and its measured rates.
//!
//! Preprocessing follows upstream (`src/generate_patches.py`, `AffineCrop`): the box is scaled
//! about its centre (the scale lowered until it fits the picture), shifted inside the picture,
//! cropped at integer corners and resized to 80x80 (bilinear); BGR, 0..255, NCHW.
//!
//! A face the check cannot judge gets no score, never "live" by default: the picture holds too
//! little around the face (a face filling the frame, or a tight crop: the nets were trained on the
//! surroundings and score such faces as spoofs), or the face is too small to show texture.

use std::path::Path;

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Serialize;

use super::{Face, VisionError};
use crate::runtime::{self, Threads};

const INPUT: i32 = 80;
/// The two nets' views: the face box enlarged this much (upstream's model names: 2.7_80x80, 4_0_0_80x80).
const SCALES: [f32; 2] = [2.7, 4.0];
/// The least enlargement the picture must allow around the face to be judged: tight crops (about
/// 1x) were scored spoof for most live faces on spoof_dev; a close face in a 16:9 camera frame
/// (a 250 px face in 360 rows: 1.45x) still shows the nets an edge of its surroundings.
pub const MIN_CONTEXT: f32 = 1.2;
/// A face scoring at or above this is judged live (upstream's score, the mean real-face
/// probability of the two nets). Chosen for at most 2 % of live faces rejected on whole pictures
/// (models/README.md, "Liveness").
pub const THRESHOLD: f32 = 0.05;
/// Smaller faces hold too few pixels for the texture the nets look at: from 30 px, the 2.7x view
/// has at least the nets' 80 px and is not enlarged.
pub const MIN_FACE: f32 = 30.0;

/// What the check says about one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Liveness {
    /// Judged: the probability that the face is live (upstream's mean of the two nets).
    Scored { live: f32 },
    /// Not judged, with the reason.
    CannotJudge { reason: CannotJudge },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CannotJudge {
    /// The picture holds too little around the face (too close, or a tight crop).
    NoSurroundings,
    /// The face is smaller than [`MIN_FACE`] pixels.
    TooSmall,
}

impl CannotJudge {
    pub fn describe(self) -> &'static str {
        match self {
            CannotJudge::NoSurroundings => "the face fills the picture: step back from the camera",
            CannotJudge::TooSmall => "the face is too small: come closer to the camera",
        }
    }
}

impl Liveness {
    pub fn score(self) -> Option<f32> {
        match self {
            Liveness::Scored { live } => Some(live),
            Liveness::CannotJudge { .. } => None,
        }
    }
}

pub struct LivenessCheck {
    session: Session,
    input: [Vec<f32>; 2],
    bgr: Mat,
    resized: Mat,
}

impl LivenessCheck {
    pub fn load(models_dir: &Path, threads: Threads) -> Result<Self, VisionError> {
        Ok(LivenessCheck {
            session: runtime::load_session(models_dir, &runtime::LIVENESS, threads)?,
            input: [Vec::new(), Vec::new()],
            bgr: Mat::default(),
            resized: Mat::default(),
        })
    }

    /// Judge the given faces of one picture (8-bit BGR or gray), the judged ones in one batch.
    pub fn judge(&mut self, image: &Mat, faces: &[Face]) -> Result<Vec<Liveness>, VisionError> {
        let (w, h) = (image.cols(), image.rows());
        let reasons: Vec<Option<CannotJudge>> = faces.iter().map(|f| unjudgeable(f, w, h)).collect();
        let judged: Vec<&Face> = faces.iter().zip(&reasons).filter(|(_, r)| r.is_none()).map(|(f, _)| f).collect();
        let mut scores = self.score(image, &judged)?.into_iter();
        Ok(reasons
            .into_iter()
            .map(|r| match r {
                Some(reason) => Liveness::CannotJudge { reason },
                None => Liveness::Scored { live: scores.next().unwrap_or(0.0) },
            })
            .collect())
    }

    /// Score one face whatever its surroundings: for measuring the nets on tight crops (`eval
    /// liveness --judge-crops`), never for a decision.
    pub fn judge_anyway(&mut self, image: &Mat, face: &Face) -> Result<Liveness, VisionError> {
        Ok(Liveness::Scored { live: self.score(image, &[face])?[0] })
    }

    fn score(&mut self, image: &Mat, faces: &[&Face]) -> Result<Vec<f32>, VisionError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let (w, h) = (image.cols(), image.rows());
        let image = if image.channels() == 1 {
            imgproc::cvt_color_def(image, &mut self.bgr, imgproc::COLOR_GRAY2BGR)?;
            &self.bgr
        } else {
            image
        };
        let per = (3 * INPUT * INPUT) as usize;
        for (view, scale) in SCALES.iter().enumerate() {
            self.input[view].clear();
            self.input[view].resize(faces.len() * per, 0.0);
            for (slot, face) in faces.iter().enumerate() {
                let crop = Mat::roi(image, view_rect(face, *scale, w, h))?;
                imgproc::resize(&crop, &mut self.resized, Size::new(INPUT, INPUT), 0.0, 0.0, imgproc::INTER_LINEAR)?;
                to_planar(&self.resized, &mut self.input[view][slot * per..(slot + 1) * per])?;
            }
        }
        let s = INPUT as usize;
        let shape = [faces.len(), 3, s, s];
        let outputs = self.session.run(ort::inputs![
            "crop27" => TensorRef::from_array_view((shape, &self.input[0][..]))?,
            "crop40" => TensorRef::from_array_view((shape, &self.input[1][..]))?,
        ])?;
        let (out_shape, live) = outputs["live"].try_extract_tensor::<f32>()?;
        if live.len() != faces.len() {
            return Err(VisionError::Output(format!("liveness model returned shape {out_shape:?}, expected [{}]", faces.len())));
        }
        Ok(live.to_vec())
    }
}

/// Why a face cannot be judged in a `width` x `height` picture, if it cannot.
pub fn unjudgeable(face: &Face, width: i32, height: i32) -> Option<CannotJudge> {
    let (bw, bh) = (face.width(), face.height());
    if bw.min(bh) < MIN_FACE {
        return Some(CannotJudge::TooSmall);
    }
    let room = (width as f32 / bw).min(height as f32 / bh);
    (room < MIN_CONTEXT).then_some(CannotJudge::NoSurroundings)
}

/// Upstream's crop: the box scaled about its centre by `scale` (lowered until it fits), shifted
/// back inside the picture, corners truncated to integers.
pub fn view_rect(face: &Face, scale: f32, width: i32, height: i32) -> Rect {
    let (w, h) = (width as f32, height as f32);
    let (bw, bh) = (face.width().max(1.0), face.height().max(1.0));
    let scale = scale.min((h - 1.0) / bh).min((w - 1.0) / bw);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (face.x1 + bw / 2.0, face.y1 + bh / 2.0);
    let (mut l, mut t, mut r, mut b) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > w {
        l -= r - w;
        r = w;
    }
    if b > h {
        t -= b - h;
        b = h;
    }
    let (l, t) = (l.max(0.0) as i32, t.max(0.0) as i32);
    let (r, b) = ((r as i32).min(width), (b as i32).min(height));
    Rect::new(l, t, (r - l).max(1), (b - t).max(1))
}

/// HWC BGR bytes -> CHW floats, 0..255 (upstream feeds the pixels unscaled).
fn to_planar(bgr: &Mat, dst: &mut [f32]) -> Result<(), VisionError> {
    let plane = dst.len() / 3;
    for (i, px) in bgr.data_bytes()?.chunks_exact(3).enumerate() {
        for c in 0..3 {
            dst[c * plane + i] = px[c] as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x1: f32, y1: f32, x2: f32, y2: f32) -> Face {
        Face { x1, y1, x2, y2, score: 1.0, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn a_view_is_the_box_enlarged_about_its_centre_and_kept_inside_the_picture() {
        // 100x100 box centred at (320, 240) in 640x480: 2.7x is 270 wide, from 185 to 455.
        assert_eq!(view_rect(&face(270.0, 190.0, 370.0, 290.0), 2.7, 640, 480), Rect::new(185, 105, 270, 270));
        // Near the left edge: shifted right, same size.
        assert_eq!(view_rect(&face(0.0, 190.0, 100.0, 290.0), 2.7, 640, 480), Rect::new(0, 105, 270, 270));
        // A 150 px box: 4x would not fit 480 rows, lowered to (480-1)/150.
        let r = view_rect(&face(245.0, 165.0, 395.0, 315.0), 4.0, 640, 480);
        assert_eq!((r.width, r.height, r.y), (479, 479, 0));
    }

    #[test]
    fn a_face_filling_the_picture_or_too_small_is_not_judged() {
        assert_eq!(unjudgeable(&face(270.0, 190.0, 370.0, 290.0), 640, 480), None);
        assert_eq!(unjudgeable(&face(0.0, 0.0, 60.0, 64.0), 64, 64), Some(CannotJudge::NoSurroundings));
        assert_eq!(unjudgeable(&face(10.0, 10.0, 35.0, 45.0), 640, 480), Some(CannotJudge::TooSmall));
    }
}
