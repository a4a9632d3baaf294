//! Face verification by the LFW protocol: for each of 10 folds, the similarity threshold is chosen
//! on the other nine and accuracy is measured on the held-out fold; the mean and standard
//! deviation over folds are reported. A pair with an image that yields no embedding is a wrong
//! answer, never skipped.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use super::{EmbeddingCache, column, embed_images, optional_column, read_rows, resolve, FileError};
use crate::vision::{cosine, FaceAnalyzer};

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub accuracy: f64,
    pub accuracy_std: f64,
    #[serde(rename = "tar_at_far_1e-3")]
    pub tar_at_far_1e_3: f64,
    /// Mean of the per-fold thresholds (cosine similarity; "same" when above).
    pub threshold: f64,
    pub pairs: usize,
    pub folds: usize,
    pub images: usize,
    pub no_face: usize,
    pub unreadable: usize,
    pub errors: Vec<FileError>,
}

struct Pair {
    a: usize,
    b: usize,
    same: bool,
    fold: usize,
}

pub fn run(analyzer: &mut FaceAnalyzer, pairs_csv: &Path, seed: u64, subtract_mean: bool, cache: &mut EmbeddingCache) -> anyhow::Result<VerifyReport> {
    let (headers, rows) = read_rows(pairs_csv)?;
    let ca = column(&headers, pairs_csv, &["path_a"])?;
    let cb = column(&headers, pairs_csv, &["path_b"])?;
    let cs = column(&headers, pairs_csv, &["same"])?;
    let cf = optional_column(&headers, &["fold", "lfw_view2_fold"]);

    let mut index: HashMap<String, usize> = HashMap::new();
    let mut labels = Vec::new();
    let mut intern = |p: &str| {
        *index.entry(p.to_string()).or_insert_with(|| {
            labels.push(p.to_string());
            labels.len() - 1
        })
    };
    let mut pairs = Vec::with_capacity(rows.len());
    let mut fold_names: Vec<String> = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        let same = match r.get(cs).unwrap_or("").to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "same" => true,
            "0" | "false" | "no" | "different" => false,
            other => anyhow::bail!("{}: row {}: `same` must be 1/0 or true/false, got {other:?}", pairs_csv.display(), n + 2),
        };
        let fold = match cf {
            Some(c) => {
                let name = r.get(c).unwrap_or("").to_string();
                match fold_names.iter().position(|f| *f == name) {
                    Some(i) => i,
                    None => {
                        fold_names.push(name);
                        fold_names.len() - 1
                    }
                }
            }
            None => 0,
        };
        let a = intern(r.get(ca).unwrap_or(""));
        let b = intern(r.get(cb).unwrap_or(""));
        pairs.push(Pair { a, b, same, fold });
    }
    anyhow::ensure!(!pairs.is_empty(), "{}: no pairs", pairs_csv.display());
    let folds = if cf.is_some() && fold_names.len() >= 2 {
        fold_names.len()
    } else {
        // No folds given: 10 random folds, reproducible by seed.
        let k = 10.min(pairs.len()).max(1);
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        for (pos, &i) in order.iter().enumerate() {
            pairs[i].fold = pos % k;
        }
        k
    };

    let paths: Vec<_> = labels.iter().map(|l| resolve(pairs_csv, l)).collect();
    let (embeddings, no_face, errors) = embed_images(analyzer, &paths, &labels, cache).context("embedding failed")?;
    let same: Vec<bool> = pairs.iter().map(|p| p.same).collect();
    let fold_of: Vec<usize> = pairs.iter().map(|p| p.fold).collect();
    let plain = pair_scores(&pairs, &embeddings, None);
    let cv = if subtract_mean {
        // Centre the embeddings on the mean of the training folds' images (never the test fold's).
        cross_validate_with(&same, &fold_of, folds, |f| {
            let train: Vec<&Vec<f32>> = pairs
                .iter()
                .filter(|p| p.fold != f)
                .flat_map(|p| [p.a, p.b])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter_map(|i| embeddings[i].as_ref())
                .collect();
            pair_scores(&pairs, &embeddings, Some(&mean_of(&train)))
        })
    } else {
        cross_validate(&plain, &same, &fold_of, folds)
    };
    let scores = plain;
    Ok(VerifyReport {
        accuracy: cv.mean,
        accuracy_std: cv.std,
        tar_at_far_1e_3: tar_at_far(&scores, &same, 1e-3),
        threshold: cv.thresholds.iter().sum::<f64>() / cv.thresholds.len().max(1) as f64,
        pairs: pairs.len(),
        folds,
        images: labels.len(),
        no_face,
        unreadable: errors.len(),
        errors,
    })
}

pub struct CrossValidation {
    pub mean: f64,
    pub std: f64,
    pub thresholds: Vec<f64>,
}

/// Accuracy at a threshold: a pair is "same" when its score is strictly above it; a pair
/// without a score is always wrong.
pub fn accuracy_at(scores: &[Option<f32>], same: &[bool], threshold: f64, pick: impl Fn(usize) -> bool) -> (usize, usize) {
    let (mut right, mut total) = (0, 0);
    for (i, (s, &y)) in scores.iter().zip(same).enumerate() {
        if !pick(i) {
            continue;
        }
        total += 1;
        if let Some(s) = s {
            if ((*s as f64) > threshold) == y {
                right += 1;
            }
        }
    }
    (right, total)
}

/// The threshold that maximises accuracy over the picked pairs: candidates are midpoints between
/// consecutive distinct scores (and the ends).
pub fn best_threshold(scores: &[Option<f32>], same: &[bool], pick: impl Fn(usize) -> bool + Copy) -> f64 {
    let mut s: Vec<f64> = scores.iter().enumerate().filter(|(i, _)| pick(*i)).filter_map(|(_, s)| s.map(f64::from)).collect();
    s.sort_by(f64::total_cmp);
    s.dedup();
    if s.is_empty() {
        return 0.5;
    }
    // Sweep: count correct answers at each candidate in O(n log n).
    let mut items: Vec<(f64, bool)> =
        scores.iter().zip(same).enumerate().filter(|(i, _)| pick(*i)).filter_map(|(_, (s, &y))| s.map(|s| (s as f64, y))).collect();
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Threshold below everything: all predicted same.
    let mut correct: i64 = items.iter().filter(|(_, y)| *y).count() as i64;
    let mut best = (correct, s[0] - 1e-6);
    let mut i = 0;
    while i < items.len() {
        let v = items[i].0;
        while i < items.len() && items[i].0 == v {
            // Moving the threshold to >= v flips these to "different".
            correct += if items[i].1 { -1 } else { 1 };
            i += 1;
        }
        let next = if i < items.len() { (v + items[i].0) / 2.0 } else { v + 1e-6 };
        if correct > best.0 {
            best = (correct, next);
        }
    }
    best.1
}

pub fn cross_validate(scores: &[Option<f32>], same: &[bool], fold_of: &[usize], folds: usize) -> CrossValidation {
    cross_validate_with(same, fold_of, folds, |_| scores.to_vec())
}

/// Cross-validation where each fold may score the pairs differently (e.g. centred on its own
/// training mean): `scores_for(f)` gives all pairs' scores as seen when fold `f` is the test fold.
pub fn cross_validate_with(
    same: &[bool],
    fold_of: &[usize],
    folds: usize,
    scores_for: impl Fn(usize) -> Vec<Option<f32>>,
) -> CrossValidation {
    let mut accs = Vec::new();
    let mut thresholds = Vec::new();
    for f in 0..folds {
        let scores = scores_for(f);
        let t = best_threshold(&scores, same, |i| fold_of[i] != f);
        let (right, total) = accuracy_at(&scores, same, t, |i| fold_of[i] == f);
        if total > 0 {
            accs.push(right as f64 / total as f64);
            thresholds.push(t);
        }
    }
    let n = accs.len().max(1) as f64;
    let mean = accs.iter().sum::<f64>() / n;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
    CrossValidation { mean, std: var.sqrt(), thresholds }
}

fn mean_of(vectors: &[&Vec<f32>]) -> Vec<f32> {
    let mut m = vec![0f32; vectors.first().map_or(0, |v| v.len())];
    for v in vectors {
        for (a, b) in m.iter_mut().zip(v.iter()) {
            *a += b;
        }
    }
    let n = vectors.len().max(1) as f32;
    m.iter_mut().for_each(|a| *a /= n);
    m
}

/// Cosine of each pair, optionally after subtracting `center` from both embeddings.
fn pair_scores(pairs: &[Pair], embeddings: &[Option<Vec<f32>>], center: Option<&[f32]>) -> Vec<Option<f32>> {
    let centred = |e: &Vec<f32>| -> Vec<f32> {
        match center {
            Some(c) => e.iter().zip(c).map(|(a, b)| a - b).collect(),
            None => e.clone(),
        }
    };
    pairs
        .iter()
        .map(|p| match (&embeddings[p.a], &embeddings[p.b]) {
            (Some(a), Some(b)) => {
                let (a, b) = (centred(a), centred(b));
                let norm = (cosine(&a, &a) * cosine(&b, &b)).sqrt().max(1e-12);
                Some(cosine(&a, &b) / norm)
            }
            _ => None,
        })
        .collect()
}

/// True accept rate at the strictest threshold whose false accept rate is at most `far`
/// (pairs without a score count as rejections).
pub fn tar_at_far(scores: &[Option<f32>], same: &[bool], far: f64) -> f64 {
    let mut impostor: Vec<f32> = scores.iter().zip(same).filter(|(_, &y)| !y).filter_map(|(s, _)| *s).collect();
    let n_impostor = same.iter().filter(|&&y| !y).count();
    let n_genuine = same.iter().filter(|&&y| y).count();
    if n_genuine == 0 {
        return 0.0;
    }
    impostor.sort_by(|a, b| b.total_cmp(a));
    let allowed = (far * n_impostor as f64).floor() as usize;
    // Accept when score > threshold; the threshold sits at the (allowed+1)-th highest impostor.
    let threshold = impostor.get(allowed).copied().unwrap_or(f32::NEG_INFINITY);
    let accepted = scores.iter().zip(same).filter(|(s, &y)| y && s.is_some_and(|s| s > threshold)).count();
    accepted as f64 / n_genuine as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_threshold_separates_separable_scores() {
        let scores = [Some(0.9), Some(0.8), Some(0.3), Some(0.2)];
        let same = [true, true, false, false];
        let t = best_threshold(&scores, &same, |_| true);
        assert!(t > 0.3 && t < 0.8, "{t}");
        assert_eq!(accuracy_at(&scores, &same, t, |_| true), (4, 4));
    }

    #[test]
    fn missing_scores_are_wrong_answers() {
        let scores = [Some(0.9), None, Some(0.2), None];
        let same = [true, true, false, false];
        let t = best_threshold(&scores, &same, |_| true);
        assert_eq!(accuracy_at(&scores, &same, t, |_| true), (2, 4));
    }

    #[test]
    fn cross_validation_uses_other_folds_for_the_threshold() {
        // Fold 1 wants a threshold of 0.75, which loses fold 0's same pair at 0.6; fold 0 wants
        // 0.5, which accepts fold 1's different pair at 0.7. Each fold is half right.
        let scores = [Some(0.6), Some(0.4), Some(0.8), Some(0.7)];
        let same = [true, false, true, false];
        let folds = [0, 0, 1, 1];
        let cv = cross_validate(&scores, &same, &folds, 2);
        assert_eq!(cv.thresholds.len(), 2);
        assert!((cv.thresholds[0] - 0.75).abs() < 1e-9);
        assert!((cv.thresholds[1] - 0.5).abs() < 1e-6, "{:?}", cv.thresholds);
        assert!((cv.mean - 0.5).abs() < 1e-9, "{}", cv.mean);
    }

    #[test]
    fn tar_at_zero_false_accepts() {
        let scores = [Some(0.9), Some(0.7), Some(0.5), Some(0.6), Some(0.4)];
        let same = [true, true, true, false, false];
        // No impostor may pass: threshold = 0.6, genuine above it: 0.9, 0.7.
        assert!((tar_at_far(&scores, &same, 1e-3) - 2.0 / 3.0).abs() < 1e-9);
    }
}
