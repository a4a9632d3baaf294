//! MTCNN face detection (Zhang et al. 2016), a faithful port of the reference cascade
//! (`tools/model-recipe/scripts/mtcnn_min.py`, itself following davidsandberg/facenet's
//! `detect_face.py`): image pyramid -> P-Net per scale with NMS per scale and across scales ->
//! box regression and squaring -> R-Net on batched 24x24 crops -> O-Net on batched 48x48 crops
//! with 5 landmarks -> final NMS.
//!
//! The ONNX nets take NHWC with height and width swapped (`t[n, x, y, c] = img[y, x, c]`), RGB,
//! `(px - 127.5) / 128`. Input buffers are kept between calls so a frame allocates only its crops.

use std::path::Path;

use opencv::core::{Mat, Rect, Scalar, Size, CV_32FC3};
use opencv::imgproc;
use opencv::prelude::*;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Serialize;

use super::area::{self, IntegralImage};
use super::geometry::{nms, Overlap, ScoredBox};
use super::{DetectOptions, Face, VisionError};
use crate::runtime::{self, Threads};

/// Detector settings. The defaults are the original paper's; a live camera loop usually wants a
/// larger `min_face` (faces far smaller than 40 px are too small to recognise anyway).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectorConfig {
    /// Smallest face side, in pixels, that the pyramid looks for.
    pub min_face: f32,
    /// Face-probability thresholds of P-Net, R-Net and O-Net.
    pub thresholds: [f32; 3],
    /// Ratio between successive pyramid scales.
    pub scale_factor: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig { min_face: 20.0, thresholds: [0.6, 0.7, 0.7], scale_factor: 0.709 }
    }
}

const MEAN: f32 = 127.5;
const SCALE: f32 = 0.0078125;

/// One set of the three nets with its own buffers. The detector keeps one per core and splits
/// each stage's work between them: the nets are small and called many times per frame, where
/// ONNX Runtime's intra-op threads gain little (models/README.md), but two independent halves
/// of the work run truly in parallel.
struct Cascade {
    pnet: Session,
    rnet: Session,
    onet: Session,
    /// Reused input buffer for P-Net (the largest per-frame tensor).
    pnet_input: Vec<f32>,
    /// Reused input buffer for the batched R-Net / O-Net crops.
    crop_input: Vec<f32>,
    crop: Mat,
    resized: Mat,
}

/// P-Net's boxes at one pyramid level, before cross-level NMS.
type LevelBoxes = Vec<(ScoredBox, [f32; 4])>;

/// R-Net and O-Net output for a batch of crops.
struct Refined {
    prob: Vec<f32>,
    reg: Vec<[f32; 4]>,
    landmarks: Vec<[f32; 10]>,
}

pub struct FaceDetector {
    workers: Vec<Cascade>,
    config: DetectorConfig,
    /// The frame's integral image: every pyramid level and shrinking crop is read from it.
    integral: IntegralImage,
}

impl FaceDetector {
    /// Load the cascade `workers` times (one per core to use; each session single-threaded).
    pub fn load(models_dir: &Path, config: DetectorConfig, workers: usize) -> Result<Self, VisionError> {
        // We parallelise across pyramid levels and crops ourselves; OpenCV's own pool would
        // compete for the same cores (it cost ~6 ms per 640x480 frame in thread hand-offs).
        opencv::core::set_num_threads(1)?;
        let single = Threads::single();
        let workers = (0..workers.max(1))
            .map(|_| {
                Ok(Cascade {
                    pnet: runtime::load_session(models_dir, &runtime::PNET, single)?,
                    rnet: runtime::load_session(models_dir, &runtime::RNET, single)?,
                    onet: runtime::load_session(models_dir, &runtime::ONET, single)?,
                    pnet_input: Vec::new(),
                    crop_input: Vec::new(),
                    crop: Mat::default(),
                    resized: Mat::default(),
                })
            })
            .collect::<Result<Vec<_>, VisionError>>()?;
        Ok(FaceDetector { workers, config, integral: IntegralImage::default() })
    }

    /// The settings it was loaded with (a call's `DetectOptions` may override some, for that call).
    pub fn config(&self) -> DetectorConfig {
        self.config
    }

    /// Find faces in an 8-bit BGR image. No face is an empty list, not an error.
    pub fn detect(&mut self, image: &Mat, options: &DetectOptions) -> Result<Vec<Face>, VisionError> {
        if image.rows() < 12 || image.cols() < 12 {
            return Ok(Vec::new());
        }
        let min_face = options.min_face.unwrap_or(self.config.min_face);
        // The integral image's buffer is kept between frames, taken out while the workers
        // borrow `self`.
        let mut integral = std::mem::take(&mut self.integral);
        let faces = self.cascade(image, &mut integral, min_face);
        self.integral = integral;
        faces
    }

    fn cascade(&mut self, image: &Mat, integral: &mut IntegralImage, min_face: f32) -> Result<Vec<Face>, VisionError> {
        let area = if integral.update(image)? { Some(&*integral) } else { None };
        let stage1 = self.stage1(image, area, min_face)?;
        if stage1.is_empty() {
            return Ok(Vec::new());
        }
        let stage2 = self.stage2(image, area, &stage1)?;
        if stage2.is_empty() {
            return Ok(Vec::new());
        }
        self.stage3(image, area, &stage2)
    }

    /// Follow faces found in the previous frame into this one without the image pyramid: O-Net
    /// alone on each previous box, squared (as R-Net would have handed it over). Between frames a
    /// face moves a little and O-Net's box regression takes up the motion; a box that no longer
    /// holds a face falls under O-Net's threshold. Several times cheaper than `detect`, but it
    /// cannot find a face that was not there before: callers still run `detect` regularly.
    pub fn follow(&mut self, image: &Mat, previous: &[Face]) -> Result<Vec<Face>, VisionError> {
        if previous.is_empty() || image.rows() < 12 || image.cols() < 12 {
            return Ok(Vec::new());
        }
        let boxes: Vec<ScoredBox> = previous.iter().map(|f| ScoredBox::new(f.x1, f.y1, f.x2, f.y2, f.score).squared()).collect();
        // A few boxes: an integral image of the whole frame would cost more than it saves.
        self.stage3(image, None, &boxes)
    }

    /// Pyramid scales: `m * factor^k` while the scaled short side stays >= 12 px (P-Net's window).
    pub fn scales(&self, height: i32, width: i32, min_face: f32) -> Vec<f64> {
        pyramid_scales(height, width, min_face, self.config.scale_factor)
    }

    fn stage1(&mut self, image: &Mat, area: Option<&IntegralImage>, min_face: f32) -> Result<Vec<ScoredBox>, VisionError> {
        let (h, w) = (image.rows(), image.cols());
        let scales = self.scales(h, w, min_face);
        // Give each worker a share of the levels balanced by pixel count (the first level is
        // about half of the whole pyramid), then gather the results back in level order so the
        // outcome is identical to a sequential run.
        let mut load = vec![0f64; self.workers.len()];
        let mut assignment: Vec<Vec<usize>> = vec![Vec::new(); self.workers.len()];
        for (level, s) in scales.iter().enumerate() {
            let k = (0..load.len()).min_by(|&a, &b| load[a].total_cmp(&load[b])).unwrap_or(0);
            // Cost model, measured: P-Net work grows with the level's area (s^2 of the frame);
            // without the integral image, OpenCV's resize reads the whole frame at every level,
            // worth ~0.03 of a frame's area.
            load[k] += s * s + if area.is_some() { 0.0 } else { 0.03 };
            assignment[k].push(level);
        }
        let threshold = self.config.thresholds[0];
        let per_worker = parallel(&mut self.workers, assignment, |cascade, levels| {
            levels.into_iter().map(|l| Ok((l, cascade.pnet_level(image, area, scales[l], threshold)?))).collect::<Result<Vec<_>, VisionError>>()
        })?;
        let mut levels: Vec<(usize, LevelBoxes)> = per_worker.into_iter().flatten().collect();
        levels.sort_by_key(|(l, _)| *l);
        let all: LevelBoxes = levels.into_iter().flat_map(|(_, b)| b).collect();
        let boxes: Vec<ScoredBox> = all.iter().map(|(b, _)| *b).collect();
        let keep = nms(&boxes, 0.7, Overlap::Union);
        Ok(keep
            .into_iter()
            .map(|i| {
                let (b, r) = all[i];
                // Stage-1 refinement scales by x2 - x1 (no +1), unlike `bbreg`.
                let (bw, bh) = (b.x2 - b.x1, b.y2 - b.y1);
                ScoredBox::new(b.x1 + r[0] * bw, b.y1 + r[1] * bh, b.x2 + r[2] * bw, b.y2 + r[3] * bh, b.score)
                    .squared()
                    .truncated()
            })
            .collect())
    }

    /// Run R-Net (`size` 24) or O-Net (48) on the boxes, split across the workers in order.
    fn refine(&mut self, image: &Mat, area: Option<&IntegralImage>, boxes: &[ScoredBox], size: i32) -> Result<Refined, VisionError> {
        let chunk = boxes.len().div_ceil(self.workers.len()).max(1);
        let parts: Vec<&[ScoredBox]> = boxes.chunks(chunk).collect();
        let results = parallel(&mut self.workers, parts, |cascade, part| cascade.refine(image, area, part, size))?;
        let mut out = Refined { prob: Vec::new(), reg: Vec::new(), landmarks: Vec::new() };
        for r in results {
            out.prob.extend(r.prob);
            out.reg.extend(r.reg);
            out.landmarks.extend(r.landmarks);
        }
        Ok(out)
    }

    fn stage2(&mut self, image: &Mat, area: Option<&IntegralImage>, boxes: &[ScoredBox]) -> Result<Vec<ScoredBox>, VisionError> {
        let r = self.refine(image, area, boxes, 24)?;
        let mut kept = Vec::new();
        let mut regs = Vec::new();
        for (i, b) in boxes.iter().enumerate() {
            if r.prob[i] > self.config.thresholds[1] {
                kept.push(ScoredBox { score: r.prob[i], ..*b });
                regs.push(r.reg[i]);
            }
        }
        Ok(nms(&kept, 0.7, Overlap::Union).into_iter().map(|i| kept[i].regressed(regs[i]).squared()).collect())
    }

    fn stage3(&mut self, image: &Mat, area: Option<&IntegralImage>, boxes: &[ScoredBox]) -> Result<Vec<Face>, VisionError> {
        let boxes: Vec<ScoredBox> = boxes.iter().map(ScoredBox::truncated).collect();
        let r = self.refine(image, area, &boxes, 48)?;
        let mut kept = Vec::new();
        let mut points = Vec::new();
        for (i, b) in boxes.iter().enumerate() {
            if r.prob[i] <= self.config.thresholds[2] {
                continue;
            }
            let (bw, bh) = (b.x2 - b.x1 + 1.0, b.y2 - b.y1 + 1.0);
            let l = &r.landmarks[i];
            let mut pts = [[0f32; 2]; 5];
            for (k, p) in pts.iter_mut().enumerate() {
                *p = [bw * l[k] + b.x1 - 1.0, bh * l[k + 5] + b.y1 - 1.0];
            }
            kept.push(ScoredBox { score: r.prob[i], ..*b }.regressed(r.reg[i]));
            points.push(pts);
        }
        Ok(nms(&kept, 0.7, Overlap::Min)
            .into_iter()
            .map(|i| {
                let b = kept[i];
                Face { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score: b.score, landmarks: points[i] }
            })
            .collect())
    }
}

impl Cascade {
    /// P-Net over one pyramid level: candidate boxes (1-based, in image pixels) after the
    /// per-level NMS, with their regressions.
    fn pnet_level(&mut self, image: &Mat, area: Option<&IntegralImage>, s: f64, threshold: f32) -> Result<LevelBoxes, VisionError> {
        let (h, w) = (image.rows(), image.cols());
        let hs = (h as f64 * s).ceil() as i32;
        let ws = (w as f64 * s).ceil() as i32;
        if let Some(integral) = area {
            fill_swapped_from(integral, ws as usize, hs as usize, &mut self.pnet_input)?;
        } else {
            imgproc::resize(image, &mut self.resized, Size::new(ws, hs), 0.0, 0.0, imgproc::INTER_AREA)?;
            fill_swapped(&self.resized, &mut self.pnet_input)?;
        }
        let input = TensorRef::from_array_view(([1usize, ws as usize, hs as usize, 3], &self.pnet_input[..]))?;
        let outputs = self.pnet.run(ort::inputs![input])?;
        let (reg_shape, reg) = outputs[0].try_extract_tensor::<f32>()?;
        let (prob_shape, prob) = outputs[1].try_extract_tensor::<f32>()?;
        // Both outputs are [1, W', H', C] in the swapped layout.
        let (wp, hp) = (prob_shape[1] as usize, prob_shape[2] as usize);
        if reg_shape[1] as usize != wp || reg_shape[2] as usize != hp {
            return Err(VisionError::Output(format!("P-Net shapes disagree: {reg_shape:?} vs {prob_shape:?}")));
        }
        let mut boxes = Vec::new();
        let mut regs = Vec::new();
        for x in 0..wp {
            for y in 0..hp {
                let cell = x * hp + y;
                let p = prob[cell * 2 + 1];
                if p < threshold {
                    continue;
                }
                let (xf, yf) = (x as f64, y as f64);
                boxes.push(ScoredBox::new(
                    ((2.0 * xf + 1.0) / s).trunc() as f32,
                    ((2.0 * yf + 1.0) / s).trunc() as f32,
                    ((2.0 * xf + 12.0) / s).trunc() as f32,
                    ((2.0 * yf + 12.0) / s).trunc() as f32,
                    p,
                ));
                regs.push([reg[cell * 4], reg[cell * 4 + 1], reg[cell * 4 + 2], reg[cell * 4 + 3]]);
            }
        }
        Ok(nms(&boxes, 0.5, Overlap::Union).into_iter().map(|i| (boxes[i], regs[i])).collect())
    }

    /// R-Net (`size` 24) or O-Net (`size` 48) on a batch of crops.
    fn refine(&mut self, image: &Mat, area: Option<&IntegralImage>, boxes: &[ScoredBox], size: i32) -> Result<Refined, VisionError> {
        let n = boxes.len();
        let mut out = Refined { prob: Vec::with_capacity(n), reg: Vec::with_capacity(n), landmarks: Vec::new() };
        if n == 0 {
            return Ok(out);
        }
        fill_crops(image, area, boxes, size, &mut self.crop_input, &mut self.crop, &mut self.resized)?;
        let s = size as usize;
        let input = TensorRef::from_array_view(([n, s, s, 3], &self.crop_input[..]))?;
        let net = if size == 24 { &mut self.rnet } else { &mut self.onet };
        let outputs = net.run(ort::inputs![input])?;
        let (_, reg) = outputs[0].try_extract_tensor::<f32>()?;
        // R-Net: [regression, probability]; O-Net: [regression, landmarks, probability].
        let (_, prob) = outputs[outputs.len() - 1].try_extract_tensor::<f32>()?;
        for i in 0..n {
            out.prob.push(prob[i * 2 + 1]);
            out.reg.push([reg[i * 4], reg[i * 4 + 1], reg[i * 4 + 2], reg[i * 4 + 3]]);
        }
        if outputs.len() == 3 {
            let (_, lmk) = outputs[1].try_extract_tensor::<f32>()?;
            out.landmarks = lmk.chunks_exact(10).map(|c| c.try_into().expect("chunks of 10")).collect();
        }
        Ok(out)
    }
}

/// Run `work` on each worker with its share of the items, in parallel (inline when there is one).
fn parallel<I: Send, R: Send>(
    workers: &mut [Cascade],
    shares: Vec<I>,
    work: impl Fn(&mut Cascade, I) -> Result<R, VisionError> + Sync,
) -> Result<Vec<R>, VisionError> {
    // The calling thread takes the first share itself: one thread fewer to start per stage, and
    // none at all when there is only one share.
    let mut pairs = workers.iter_mut().zip(shares);
    let Some((first_worker, first_share)) = pairs.next() else { return Ok(Vec::new()) };
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = pairs.map(|(w, s)| scope.spawn(move || work(w, s))).collect();
        let mut results = vec![work(first_worker, first_share)];
        for h in handles {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results.into_iter().collect()
    })
}

/// The pyramid of the original: first scale `12 / min_face`, then times `factor` while the short
/// side, scaled, is at least 12 px.
pub fn pyramid_scales(height: i32, width: i32, min_face: f32, factor: f64) -> Vec<f64> {
    let m = 12.0 / min_face.max(12.0) as f64;
    let factor = factor.clamp(0.1, 0.95);
    let mut min_side = height.min(width) as f64 * m;
    let mut scales = Vec::new();
    let mut s = m;
    while min_side >= 12.0 {
        scales.push(s);
        s *= factor;
        min_side *= factor;
    }
    scales
}

/// Write a BGR u8 image into `out` as one [W, H, 3] RGB block, normalised.
fn fill_swapped(image: &Mat, out: &mut Vec<f32>) -> Result<(), VisionError> {
    let (h, w) = (image.rows() as usize, image.cols() as usize);
    out.resize(w * h * 3, 0.0);
    let dst = &mut out[..];
    let src = image.data_bytes()?;
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        for x in 0..w {
            let s = &row[x * 3..x * 3 + 3];
            let d = &mut dst[(x * h + y) * 3..(x * h + y) * 3 + 3];
            put_pixel(d, [s[0] as f32, s[1] as f32, s[2] as f32]);
        }
    }
    Ok(())
}

/// The whole frame at `ws` x `hs` by area interpolation, rounded to 8 bits (as the reference's
/// resize of an 8-bit image), written as `fill_swapped` does.
fn fill_swapped_from(integral: &IntegralImage, ws: usize, hs: usize, out: &mut Vec<f32>) -> Result<(), VisionError> {
    let (w, h) = (integral.width() as f64, integral.height() as f64);
    let xs: Vec<f64> = area::grid(0.0, w / ws as f64, ws).collect();
    let ys: Vec<f64> = area::grid(0.0, h / hs as f64, hs).collect();
    out.resize(ws * hs * 3, 0.0);
    integral.cell_sums(&xs, &ys, |x, y, sums| {
        // The last cells are cut by the frame's edge; OpenCV averages over what is left.
        let cell = (xs[x + 1].min(w) - xs[x]) * (ys[y + 1].min(h) - ys[y]);
        put_pixel(&mut out[(x * hs + y) * 3..], sums.map(|v| round_half_even(v / cell).clamp(0.0, 255.0) as f32));
    })?;
    Ok(())
}

/// Store one BGR pixel (0-255 scale) at the start of `dst` as the nets take it: RGB,
/// `(px - 127.5) * 0.0078125`.
fn put_pixel(dst: &mut [f32], bgr: [f32; 3]) {
    dst[0] = (bgr[2] - MEAN) * SCALE;
    dst[1] = (bgr[1] - MEAN) * SCALE;
    dst[2] = (bgr[0] - MEAN) * SCALE;
}

/// Round to the nearest integer, halves to even, as OpenCV's `cvRound` does for 8-bit results.
/// For 0 <= v < 2^51: adding 1.5 * 2^52 leaves no fraction bits, so the hardware's default
/// rounding does the work. `f64::round_ties_even` is a library call on baseline x86-64 (no
/// SSE4.1 `roundsd`) and took 40 % of a pyramid level's fill.
fn round_half_even(v: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    (v + SHIFT) - SHIFT
}

/// Crop each 1-based inclusive box out of the frame, zero outside the image, resize it to
/// `size` with area interpolation in floating point (as the reference does), and pack the batch
/// in the nets' swapped, normalised layout. Boxes at least `size` wide are averaged from the
/// integral image when there is one; smaller ones are enlarged by OpenCV from the crop in float
/// (area interpolation enlarges bilinearly, which an integral cannot do). `crop` and `resized`
/// are scratch buffers.
fn fill_crops(
    image: &Mat,
    area: Option<&IntegralImage>,
    boxes: &[ScoredBox],
    size: i32,
    out: &mut Vec<f32>,
    crop: &mut Mat,
    resized: &mut Mat,
) -> Result<(), VisionError> {
    let n = size as usize;
    let per = n * n * 3;
    out.clear();
    out.resize(boxes.len() * per, 0.0);
    let (ih, iw) = (image.rows(), image.cols());
    for (k, b) in boxes.iter().enumerate() {
        let dst = &mut out[k * per..(k + 1) * per];
        let (x1, y1, x2, y2) = (b.x1 as i64, b.y1 as i64, b.x2 as i64, b.y2 as i64);
        let (tw, th) = (x2 - x1 + 1, y2 - y1 + 1);
        // A box wider than ~4x the image comes from a runaway regression: the crop would be
        // almost all padding, so it stays zero (it will be rejected) instead of allocating it.
        if tw <= 0 || th <= 0 || tw > 4 * iw as i64 + 64 || th > 4 * ih as i64 + 64 {
            dst.fill(-MEAN * SCALE);
            continue;
        }
        if let Some(integral) = area.filter(|_| tw >= size as i64 && th >= size as i64) {
            let (sx, sy) = (tw as f64 / size as f64, th as f64 / size as f64);
            let xs: Vec<f64> = area::grid((x1 - 1) as f64, sx, n).collect();
            let ys: Vec<f64> = area::grid((y1 - 1) as f64, sy, n).collect();
            // Padding counts as zero pixels: every cell is averaged over its full size.
            let cell = sx * sy;
            integral.cell_sums(&xs, &ys, |x, y, sums| {
                put_pixel(&mut dst[(x * n + y) * 3..], sums.map(|v| (v / cell) as f32));
            })?;
            continue;
        }
        // The crop in float, zero outside the image, then OpenCV's resize (as the reference).
        let (sx0, sy0) = ((x1 - 1).max(0), (y1 - 1).max(0));
        let (sx1, sy1) = (x2.min(iw as i64), y2.min(ih as i64));
        let inside = sx0 == x1 - 1 && sy0 == y1 - 1 && sx1 == x2 && sy1 == y2;
        if inside {
            let rect = Rect::new(sx0 as i32, sy0 as i32, tw as i32, th as i32);
            Mat::roi(image, rect)?.convert_to(crop, CV_32FC3, 1.0, 0.0)?;
        } else {
            *crop = Mat::new_rows_cols_with_default(th as i32, tw as i32, CV_32FC3, Scalar::all(0.0))?;
            if sx1 > sx0 && sy1 > sy0 {
                let (dx0, dy0) = (sx0 - (x1 - 1), sy0 - (y1 - 1));
                let src_rect = Rect::new(sx0 as i32, sy0 as i32, (sx1 - sx0) as i32, (sy1 - sy0) as i32);
                let dst_rect = Rect::new(dx0 as i32, dy0 as i32, src_rect.width, src_rect.height);
                Mat::roi(image, src_rect)?.convert_to(&mut Mat::roi_mut(crop, dst_rect)?, CV_32FC3, 1.0, 0.0)?;
            }
        }
        imgproc::resize(crop, resized, Size::new(size, size), 0.0, 0.0, imgproc::INTER_AREA)?;
        let px = resized.data_typed::<opencv::core::Vec3f>()?;
        for y in 0..n {
            for x in 0..n {
                let s = px[y * n + x];
                let d = &mut dst[(x * n + y) * 3..(x * n + y) * 3 + 3];
                put_pixel(d, [s[0], s[1], s[2]]);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_takes_halves_to_even_like_opencv() {
        for (v, r) in [(0.0, 0.0), (0.5, 0.0), (1.5, 2.0), (2.5, 2.0), (2.4999, 2.0), (2.5001, 3.0), (254.5, 254.0), (255.0, 255.0)] {
            assert_eq!(round_half_even(v), r, "{v}");
            assert_eq!(round_half_even(v), f64::round_ties_even(v), "{v}");
        }
    }

    #[test]
    fn pyramid_matches_the_original_rule() {
        // 250x250, min face 20: m = 0.6; 150 -> 106.35 -> ... while >= 12.
        let s = pyramid_scales(250, 250, 20.0, 0.709);
        assert!((s[0] - 0.6).abs() < 1e-12);
        assert!((s[1] - 0.6 * 0.709).abs() < 1e-12);
        let last = *s.last().unwrap();
        assert!(250.0 * last >= 12.0 && 250.0 * last * 0.709 < 12.0);
        assert_eq!(s.len(), 8);
        // Too small for one P-Net window: no scale at all.
        assert!(pyramid_scales(10, 300, 20.0, 0.709).is_empty());
    }
}
