//! Box arithmetic of the MTCNN cascade. It keeps the original's conventions (davidsandberg/facenet
//! `detect_face.py`): boxes are `x1,y1,x2,y2` in pixels, areas and widths count both end pixels
//! (`x2 - x1 + 1`) where the original does, and stage-1 boxes are 1-based. Parity with the reference
//! boxes depends on these details, so they are kept exactly rather than "cleaned up".

/// A candidate box with its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
}

impl ScoredBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32, score: f32) -> Self {
        ScoredBox { x1, y1, x2, y2, score }
    }

    /// Area with inclusive pixel ends, as the original NMS computes it.
    fn inclusive_area(&self) -> f32 {
        (self.x2 - self.x1 + 1.0) * (self.y2 - self.y1 + 1.0)
    }

    /// Grow the shorter side so the box is square around the same centre (`rerec`).
    /// Width here is `x2 - x1` (not +1), as in the original.
    pub fn squared(&self) -> ScoredBox {
        let w = self.x2 - self.x1;
        let h = self.y2 - self.y1;
        let l = w.max(h);
        let x1 = self.x1 + w * 0.5 - l * 0.5;
        let y1 = self.y1 + h * 0.5 - l * 0.5;
        ScoredBox { x1, y1, x2: x1 + l, y2: y1 + l, score: self.score }
    }

    /// Apply a bounding-box regression `[dx1, dy1, dx2, dy2]` scaled by the inclusive size (`bbreg`).
    pub fn regressed(&self, reg: [f32; 4]) -> ScoredBox {
        let w = self.x2 - self.x1 + 1.0;
        let h = self.y2 - self.y1 + 1.0;
        ScoredBox {
            x1: self.x1 + reg[0] * w,
            y1: self.y1 + reg[1] * h,
            x2: self.x2 + reg[2] * w,
            y2: self.y2 + reg[3] * h,
            score: self.score,
        }
    }

    /// Round every coordinate toward zero (numpy `fix`).
    pub fn truncated(&self) -> ScoredBox {
        ScoredBox { x1: self.x1.trunc(), y1: self.y1.trunc(), x2: self.x2.trunc(), y2: self.y2.trunc(), score: self.score }
    }
}

/// How overlap is measured during NMS: `Union` is IoU; `Min` divides by the smaller area, which
/// the last stage uses to drop a small box lying inside a bigger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    Union,
    Min,
}

/// Greedy non-maximum suppression. Returns the indices kept, highest score first. A box is
/// suppressed when its overlap with a kept box is strictly greater than `threshold`.
pub fn nms(boxes: &[ScoredBox], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    // Stable sort by descending score; equal scores keep the later index first, as numpy's
    // ascending argsort taken from its end does.
    order.sort_by(|&a, &b| boxes[b].score.total_cmp(&boxes[a].score).then(b.cmp(&a)));
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let a = &boxes[i];
        let area_a = a.inclusive_area();
        for &j in &order[pos + 1..] {
            if suppressed[j] {
                continue;
            }
            let b = &boxes[j];
            let iw = (a.x2.min(b.x2) - a.x1.max(b.x1) + 1.0).max(0.0);
            let ih = (a.y2.min(b.y2) - a.y1.max(b.y1) + 1.0).max(0.0);
            let inter = iw * ih;
            let area_b = b.inclusive_area();
            let o = match overlap {
                Overlap::Union => inter / (area_a + area_b - inter),
                Overlap::Min => inter / area_a.min(area_b),
            };
            if o > threshold {
                suppressed[j] = true;
            }
        }
    }
    keep
}

/// Intersection over union of two `x, y, w, h` rectangles (continuous coordinates), used for
/// scoring detections against ground truth.
pub fn iou_xywh(a: [f32; 4], b: [f32; 4]) -> f32 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let iy = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x1: f32, y1: f32, x2: f32, y2: f32, s: f32) -> ScoredBox {
        ScoredBox::new(x1, y1, x2, y2, s)
    }

    #[test]
    fn nms_union_keeps_best_of_overlapping_pair_and_distant_box() {
        // Boxes 0 and 1: 10x10 (inclusive 11x11 = 121), offset by 1 px: inter = 10*10 = 100,
        // IoU = 100 / (121 + 121 - 100) = 0.704 > 0.5, so the lower-scored one goes.
        let boxes = [b(0., 0., 10., 10., 0.9), b(1., 1., 11., 11., 0.95), b(50., 50., 60., 60., 0.8)];
        assert_eq!(nms(&boxes, 0.5, Overlap::Union), vec![1, 2]);
        // At a threshold above that IoU both survive.
        assert_eq!(nms(&boxes, 0.71, Overlap::Union), vec![1, 0, 2]);
    }

    #[test]
    fn nms_min_removes_box_nested_inside_a_bigger_one() {
        // Small box fully inside: inter = its own area, so Min overlap = 1.0; IoU is only 36/441.
        let boxes = [b(0., 0., 20., 20., 0.9), b(5., 5., 10., 10., 0.99)];
        assert_eq!(nms(&boxes, 0.7, Overlap::Min), vec![1]);
        assert_eq!(nms(&boxes, 0.7, Overlap::Union), vec![1, 0]);
    }

    #[test]
    fn nms_of_nothing_is_nothing() {
        assert!(nms(&[], 0.5, Overlap::Union).is_empty());
    }

    #[test]
    fn nms_suppression_is_strictly_greater_than_threshold() {
        // Touching boxes sharing one pixel column: inter = 1*11 = 11, IoU = 11 / (121+121-11) = 0.0476.
        let boxes = [b(0., 0., 10., 10., 0.9), b(10., 0., 20., 10., 0.8)];
        let iou = 11.0 / 231.0;
        assert_eq!(nms(&boxes, iou, Overlap::Union), vec![0, 1]);
        assert_eq!(nms(&boxes, iou - 1e-4, Overlap::Union), vec![0]);
    }

    #[test]
    fn squared_grows_the_short_side_around_the_centre() {
        let s = b(10., 20., 30., 60., 0.5).squared(); // w = 20, h = 40
        assert_eq!((s.x1, s.y1, s.x2, s.y2), (0., 20., 40., 60.));
        let s = b(0., 0., 40., 10., 0.5).squared(); // w = 40, h = 10
        assert_eq!((s.x1, s.y1, s.x2, s.y2), (0., -15., 40., 25.));
    }

    #[test]
    fn regression_scales_by_inclusive_size() {
        // Inclusive width/height 11: offsets of 0.1 move by 1.1 px.
        let r = b(0., 0., 10., 10., 0.5).regressed([0.1, -0.1, 0.1, 0.2]);
        assert!((r.x1 - 1.1).abs() < 1e-5 && (r.y1 + 1.1).abs() < 1e-5);
        assert!((r.x2 - 11.1).abs() < 1e-5 && (r.y2 - 12.2).abs() < 1e-5);
    }

    #[test]
    fn truncation_rounds_toward_zero() {
        let t = b(-1.7, 2.7, 3.2, -0.5, 0.1).truncated();
        assert_eq!((t.x1, t.y1, t.x2, t.y2), (-1., 2., 3., -0.));
    }

    #[test]
    fn iou_of_rectangles() {
        assert_eq!(iou_xywh([0., 0., 10., 10.], [0., 0., 10., 10.]), 1.0);
        assert_eq!(iou_xywh([0., 0., 10., 10.], [10., 0., 10., 10.]), 0.0);
        // half overlap: inter 50, union 150
        assert!((iou_xywh([0., 0., 10., 10.], [5., 0., 10., 10.]) - 1.0 / 3.0).abs() < 1e-6);
    }
}
