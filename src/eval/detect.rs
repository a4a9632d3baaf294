//! Detection accuracy against boxes drawn by people: a detection matches a true face when their
//! IoU is at least 0.4 (annotation styles differ: MTCNN's boxes are taller than dlib's), each true
//! face and each detection matching at most once, best overlaps first.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::{column, progress, read_rows, resolve, FileError};
use crate::vision::geometry::iou_xywh;
use crate::vision::{load_image, DetectOptions, FaceAnalyzer};

pub const MATCH_IOU: f32 = 0.4;

#[derive(Debug, Serialize)]
pub struct DetectReport {
    pub recall: f64,
    pub precision: f64,
    pub images: usize,
    pub faces: usize,
    pub detections: usize,
    pub matched: usize,
    pub ms_per_image: f64,
    pub min_face: f32,
    pub unreadable: usize,
    pub errors: Vec<FileError>,
}

pub fn run(detector: &mut FaceAnalyzer, boxes_csv: &Path) -> anyhow::Result<DetectReport> {
    let (headers, rows) = read_rows(boxes_csv)?;
    let cp = column(&headers, boxes_csv, &["path"])?;
    let cols = [
        column(&headers, boxes_csv, &["x"])?,
        column(&headers, boxes_csv, &["y"])?,
        column(&headers, boxes_csv, &["w"])?,
        column(&headers, boxes_csv, &["h"])?,
    ];
    let mut truth: BTreeMap<String, Vec<[f32; 4]>> = BTreeMap::new();
    for (n, r) in rows.iter().enumerate() {
        let path = r.get(cp).unwrap_or("").to_string();
        let vals: Vec<&str> = cols.iter().map(|&c| r.get(c).unwrap_or("")).collect();
        let entry = truth.entry(path).or_default();
        // A row with an empty box marks an image with no face at all.
        if vals.iter().all(|v| v.is_empty()) {
            continue;
        }
        let mut b = [0f32; 4];
        for (k, v) in vals.iter().enumerate() {
            b[k] = v.parse().map_err(|_| anyhow::anyhow!("{}: row {}: bad number {v:?}", boxes_csv.display(), n + 2))?;
        }
        entry.push(b);
    }

    let (mut faces, mut detections, mut matched) = (0, 0, 0);
    let mut errors = Vec::new();
    let mut elapsed = 0.0;
    let mut timed = 0;
    let bar = progress(truth.len(), "detecting");
    for (rel, gt) in &truth {
        bar.inc(1);
        faces += gt.len();
        let image = match load_image(&resolve(boxes_csv, rel)) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FileError { path: rel.clone(), error: e.to_string() });
                continue;
            }
        };
        let t = Instant::now();
        let found = detector.detect(&image, &DetectOptions::default())?;
        elapsed += t.elapsed().as_secs_f64();
        timed += 1;
        detections += found.len();
        matched += match_count(gt, &found.iter().map(|f| f.xywh()).collect::<Vec<_>>());
    }
    bar.finish_and_clear();
    Ok(DetectReport {
        recall: if faces > 0 { matched as f64 / faces as f64 } else { 1.0 },
        precision: if detections > 0 { matched as f64 / detections as f64 } else { 1.0 },
        images: truth.len(),
        faces,
        detections,
        matched,
        ms_per_image: if timed > 0 { 1000.0 * elapsed / timed as f64 } else { 0.0 },
        min_face: detector.detector_config().min_face,
        unreadable: errors.len(),
        errors,
    })
}

/// Greedy one-to-one matching by descending IoU; returns the number of matches.
pub fn match_count(truth: &[[f32; 4]], found: &[[f32; 4]]) -> usize {
    let mut candidates = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, f) in found.iter().enumerate() {
            let iou = iou_xywh(*t, *f);
            if iou >= MATCH_IOU {
                candidates.push((iou, i, j));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_t, mut used_f) = (vec![false; truth.len()], vec![false; found.len()]);
    let mut n = 0;
    for (_, i, j) in candidates {
        if !used_t[i] && !used_f[j] {
            used_t[i] = true;
            used_f[j] = true;
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_detection_matches_one_face() {
        let truth = [[0., 0., 10., 10.], [1., 1., 10., 10.]];
        let found = [[0., 0., 10., 10.]];
        assert_eq!(match_count(&truth, &found), 1);
        assert_eq!(match_count(&truth, &[[0., 0., 10., 10.], [1., 1., 10., 10.]]), 2);
        assert_eq!(match_count(&truth, &[[50., 50., 10., 10.]]), 0);
    }
}
