//! Who is this face? A linear SVM per enrolled student (one-vs-rest) over FaceNet embeddings, with
//! an open-set "unknown" decision whose threshold is calibrated from the enrolled data itself.
//!
//! How a decision is made (for one embedding or a whole track of them):
//! 1. The probe is the normalised mean of the track's embeddings: averaging frames of one person
//!    cancels per-frame noise (pose, blur), which is why identity is decided per track.
//! 2. The enrolled students nearest by cosine to their centroid form a shortlist; each shortlisted
//!    student's SVM scores the probe and the highest score wins. Each SVM was trained against its
//!    nearest other students ("hard negatives"), so it is sharpest exactly where the shortlist
//!    needs it, and training stays fast for 1,000 students.
//! 3. The winner is accepted only if the probe's cosine to its centroid reaches the threshold,
//!    and, for tracks, also that student's own threshold (below).
//!
//! Calibration of the threshold (no test data, only the gallery): leave-one-identity-out gives
//! "stranger" scores (each student's photos against everybody else's centroids: what a
//! never-enrolled person looks like to this gallery), leave-one-photo-out gives "genuine" scores.
//! Both are simulated at the live loop's track length. The threshold minimises
//! `STRANGER_WEIGHT x false accepts + false rejects` over those (marking a stranger present is worse
//! than asking a student to look at the camera a moment longer), but is lowered if it would reject
//! more than `GENUINE_REJECT_CAP` of the students' own probes: a roll that does not recognise its
//! students is not used. On single photos this cap is what sets the threshold (strangers cannot
//! be told apart on one photo, see models/README.md); on tracks of 3+ frames the weighted optimum
//! usually does.
//! With too few enrolled photos (fewer than 20 leave-one-identity-out scores) there is too little
//! to learn from and a fixed threshold, measured on LFW, is used.
//!
//! Per-student thresholds (tracks only): one global threshold lets a look-alike through. On LFW
//! dev almost every stranger accepted was a look-alike of one enrolled person (Hu Jintao taken for
//! Wen Jiabao, Edmund Stoiber for Dick Cheney) scoring 0.65-0.72 to that centroid, above the global
//! threshold, while that person's own left-out tracks scored 0.81-0.93. So a track is accepted as a
//! student only if it is about as close to them as their own photos are to each other: at least
//! the median of their leave-out track scores minus `STUDENT_MARGIN`, never above
//! `STUDENT_CEILING` (near-identical webcam captures must not set a bar no live frame reaches)
//! and never below the global threshold. Measured with the same recipe on LFW dev (40 random splits,
//! enrol 5, tracks of 3, 10 unknown identities): strangers accepted 2.4 % -> 0.17 % on average, top-1
//! 99.1 % -> 98.8 %. On single photos it costs 3 points of top-1 and strangers cannot be told
//! apart anyway, so `track_len` 1 keeps the global threshold alone.
//!
//! Invariant: this module sees vectors and opaque keys; it knows nothing of storage or students'
//! names.

use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, Array2, ArrayView1};
use serde::Serialize;

use crate::vision::cosine;

/// Weight of a stranger accepted against a student rejected, in the calibration.
pub const STRANGER_WEIGHT: f64 = 30.0;
/// Threshold used when the gallery is too small to calibrate (fewer than 20 stranger scores,
/// e.g. a few students with one photo each): the same/different-person threshold the LFW
/// protocol chose on LFW dev (cosine 0.37, 98.7 % of pairs right). A track's mean embedding
/// against the enrolled photos is at least as reliable as one photo pair.
pub const FALLBACK_THRESHOLD: f32 = 0.37;
/// Never accept below this, whatever the calibration says (LFW: about 5 % of different-person
/// pairs score above 0.30).
pub const MIN_THRESHOLD: f32 = 0.30;
/// Largest share of students' own probes the calibrated threshold may reject.
pub const GENUINE_REJECT_CAP: f64 = 0.03;
/// Share of students' own single photos the single-photo threshold rejects.
pub const GENUINE_REJECT_SINGLE: f64 = 0.02;
/// How far below a student's typical own-track score a track may fall and still be them.
pub const STUDENT_MARGIN: f32 = 0.15;
/// Highest per-student threshold (see the module comment).
pub const STUDENT_CEILING: f32 = 0.75;
/// Fewer enrolled photos than this give no per-student threshold (the median of two is noise).
const MIN_PHOTOS_FOR_STUDENT_THRESHOLD: usize = 3;
const SHORTLIST: usize = 5;
/// Below this many leave-one-identity-out scores the calibration is not trusted.
const MIN_STRANGER_SCORES: usize = 20;
const MIN_IDENTITIES_TO_CENTER: usize = 8;
const HARD_NEGATIVE_IDENTITIES: usize = 20;

/// Enrolled embeddings of one identity (the key is opaque here: a student id).
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub key: String,
    pub embeddings: Vec<Vec<f32>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Decision {
    Known { key: String, similarity: f32 },
    Unknown { best_similarity: f32 },
}

impl Decision {
    pub fn key(&self) -> Option<&str> {
        match self {
            Decision::Known { key, .. } => Some(key),
            Decision::Unknown { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub threshold: f32,
    pub method: &'static str,
    pub stranger_scores: usize,
    pub genuine_scores: usize,
    /// On the calibration scores themselves (an estimate, not a test result).
    pub stranger_accept_rate: f64,
    pub genuine_reject_rate: f64,
    /// Quantiles of the calibration scores, to see how far apart the two sides are.
    pub stranger_q50_q98_q99: [f32; 3],
    pub genuine_q01_q02_q05: [f32; 3],
    /// Lowest, median and highest per-student threshold (all equal to `threshold` when none apply).
    pub student_thresholds_min_median_max: [f32; 3],
}

fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub struct Recognizer {
    /// Mean of every enrolled embedding, subtracted before any comparison when the gallery is
    /// large enough for the mean to describe "a face" rather than these few people.
    center: Option<Vec<f32>>,
    keys: Vec<String>,
    centroids: Vec<Vec<f32>>,
    /// One-vs-rest SVM per identity; empty when fewer than two identities are enrolled.
    svms: Vec<Svm<f64, bool>>,
    /// Effective acceptance threshold of each identity (global threshold included).
    thresholds: Vec<f32>,
    calibration: Calibration,
}

fn normalised_mean<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Option<Vec<f32>> {
    let mut sum: Vec<f32> = Vec::new();
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 1e-12).then(|| sum.iter().map(|x| x / norm).collect())
}

impl Recognizer {
    /// Train on the gallery. `track_len` is how many frames a live decision averages; the
    /// calibration simulates probes of that size.
    pub fn train(gallery: &[Enrolled], track_len: usize) -> anyhow::Result<Recognizer> {
        let gallery: Vec<&Enrolled> = gallery.iter().filter(|e| !e.embeddings.is_empty()).collect();
        let center = (gallery.len() >= MIN_IDENTITIES_TO_CENTER).then(|| {
            let all: Vec<&[f32]> = gallery.iter().flat_map(|e| e.embeddings.iter().map(Vec::as_slice)).collect();
            let mut m = vec![0f32; all[0].len()];
            for v in &all {
                m.iter_mut().zip(*v).for_each(|(a, b)| *a += b);
            }
            m.iter_mut().for_each(|a| *a /= all.len() as f32);
            m
        });
        let centred: Vec<Enrolled> = gallery
            .iter()
            .map(|e| Enrolled { key: e.key.clone(), embeddings: e.embeddings.iter().map(|v| centre(center.as_deref(), v)).collect() })
            .collect();
        let gallery: Vec<&Enrolled> = centred.iter().collect();
        let keys: Vec<String> = gallery.iter().map(|e| e.key.clone()).collect();
        let centroids: Vec<Vec<f32>> = gallery
            .iter()
            .map(|e| normalised_mean(e.embeddings.iter().map(Vec::as_slice)).unwrap_or_else(|| e.embeddings[0].clone()))
            .collect();
        let svms = if gallery.len() >= 2 { train_svms(&gallery, &centroids)? } else { Vec::new() };
        let (calibration, thresholds) = calibrate(&gallery, &centroids, track_len.max(1));
        Ok(Recognizer { center, keys, centroids, svms, thresholds, calibration })
    }

    /// Never accept below `floor`, whatever the calibration chose: a school that would rather
    /// ask a student to look at the camera again than risk a wrong mark.
    pub fn with_floor(mut self, floor: f32) -> Recognizer {
        if floor > self.calibration.threshold {
            self.calibration.threshold = floor;
            self.calibration.method = "set by the school (minimum similarity)";
        }
        self.thresholds.iter_mut().for_each(|t| *t = t.max(floor));
        let [lo, mid, hi] = self.calibration.student_thresholds_min_median_max;
        self.calibration.student_thresholds_min_median_max = [lo.max(floor), mid.max(floor), hi.max(floor)];
        self
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn threshold(&self) -> f32 {
        self.calibration.threshold
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Decide the identity of a track (one or more embeddings of the same face).
    pub fn decide(&self, track: &[&[f32]]) -> Decision {
        let Some(probe) = normalised_mean(track.iter().copied()) else {
            return Decision::Unknown { best_similarity: 0.0 };
        };
        let probe = centre(self.center.as_deref(), &probe);
        self.decide_probe(&probe, Some(&self.thresholds))
    }

    /// The student one embedding looks most like, with no threshold: a single frame's vote.
    pub fn vote(&self, embedding: &[f32]) -> Option<String> {
        let probe = centre(self.center.as_deref(), embedding);
        self.decide_probe(&probe, None).key().map(str::to_string)
    }

    /// `thresholds`: each identity's acceptance threshold, or `None` to accept the best match.
    fn decide_probe(&self, probe: &[f32], thresholds: Option<&[f32]>) -> Decision {
        if self.keys.is_empty() {
            return Decision::Unknown { best_similarity: 0.0 };
        }
        let sims: Vec<f32> = self.centroids.iter().map(|c| cosine(c, probe)).collect();
        let mut order: Vec<usize> = (0..sims.len()).collect();
        order.sort_by(|&a, &b| sims[b].total_cmp(&sims[a]));
        let best = order[0];
        let chosen = if self.svms.is_empty() {
            best
        } else {
            let x = Array1::from_iter(probe.iter().map(|&v| v as f64));
            *order
                .iter()
                .take(SHORTLIST)
                .max_by(|&&a, &&b| svm_score(&self.svms[a], x.view()).total_cmp(&svm_score(&self.svms[b], x.view())))
                .expect("non-empty")
        };
        if thresholds.is_none_or(|t| sims[chosen] >= t[chosen]) {
            Decision::Known { key: self.keys[chosen].clone(), similarity: sims[chosen] }
        } else {
            Decision::Unknown { best_similarity: sims[best] }
        }
    }
}

/// `v - center`, re-normalised (or `v` itself without a center).
fn centre(center: Option<&[f32]>, v: &[f32]) -> Vec<f32> {
    match center {
        None => v.to_vec(),
        Some(c) => {
            let d: Vec<f32> = v.iter().zip(c).map(|(a, b)| a - b).collect();
            let n = d.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            d.iter().map(|x| x / n).collect()
        }
    }
}

fn svm_score(svm: &Svm<f64, bool>, x: ArrayView1<f64>) -> f64 {
    svm.weighted_sum(&x) - svm.rho
}

/// One SVM per identity. They are independent, so the cores share them out.
fn train_svms(gallery: &[&Enrolled], centroids: &[Vec<f32>]) -> anyhow::Result<Vec<Svm<f64, bool>>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = gallery.len().div_ceil(cores).max(1);
    let indices: Vec<usize> = (0..gallery.len()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|&i| train_one(gallery, centroids, i)).collect::<anyhow::Result<Vec<_>>>()))
            .collect();
        let mut svms = Vec::with_capacity(gallery.len());
        for h in handles {
            svms.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok(svms)
    })
}

fn train_one(gallery: &[&Enrolled], centroids: &[Vec<f32>], i: usize) -> anyhow::Result<Svm<f64, bool>> {
    let dim = centroids[0].len();
    let own = gallery[i];
    // Hard negatives: the identities whose centroids are nearest to this one.
    let sims: Vec<f32> = centroids.iter().map(|c| cosine(c, &centroids[i])).collect();
    let mut others: Vec<usize> = (0..gallery.len()).filter(|&j| j != i).collect();
    let k = HARD_NEGATIVE_IDENTITIES.min(others.len());
    if k < others.len() {
        others.select_nth_unstable_by(k, |&a, &b| sims[b].total_cmp(&sims[a]));
        others.truncate(k);
    }
    let negatives: Vec<&Vec<f32>> = others.iter().flat_map(|&j| gallery[j].embeddings.iter()).collect();
    let n = own.embeddings.len() + negatives.len();
    let mut records = Array2::<f64>::zeros((n, dim));
    let mut targets = Array1::<bool>::from_elem(n, false);
    for (r, e) in own.embeddings.iter().chain(negatives.iter().copied()).enumerate() {
        records.row_mut(r).iter_mut().zip(e).for_each(|(d, &v)| *d = v as f64);
    }
    targets.slice_mut(ndarray::s![..own.embeddings.len()]).fill(true);
    // Balance the classes: a handful of positives against ~100 negatives.
    let c_pos = 10.0 * negatives.len() as f64 / own.embeddings.len() as f64;
    let dataset = Dataset::new(records, targets);
    Svm::<f64, bool>::params()
        .pos_neg_weights(c_pos, 10.0)
        .linear_kernel()
        .fit(&dataset)
        .map_err(|e| anyhow::anyhow!("SVM training failed for {}: {e}", own.key))
}

/// Scores of a student's own probes against a centroid made without them: probes of
/// `track_len` photos (cyclic groups) against the mean of the others when there are enough
/// photos, else each photo against the mean of the rest (leave-one-out). With few photos the
/// centroid is noisier than the real one, so these scores err low (the safe side).
fn genuine_scores(embeddings: &[Vec<f32>], track_len: usize) -> Vec<f32> {
    let n = embeddings.len();
    if n < 2 {
        return Vec::new();
    }
    let t = if n > track_len { track_len } else { 1 };
    (0..n)
        .filter_map(|start| {
            let held: Vec<usize> = (0..t).map(|k| (start + k) % n).collect();
            let probe = normalised_mean(held.iter().map(|&i| embeddings[i].as_slice()))?;
            let rest = normalised_mean((0..n).filter(|i| !held.contains(i)).map(|i| embeddings[i].as_slice()))?;
            Some(cosine(&probe, &rest))
        })
        .collect()
}

/// Probes of `track_len` photos of one identity: every photo alone when `track_len` is 1, else
/// the means of consecutive groups (and every photo alone when there are too few for a group).
fn simulated_tracks(embeddings: &[Vec<f32>], track_len: usize) -> Vec<Vec<f32>> {
    if track_len <= 1 || embeddings.len() < track_len {
        return embeddings.to_vec();
    }
    (0..embeddings.len())
        .filter_map(|start| normalised_mean((0..track_len).map(|k| embeddings[(start + k) % embeddings.len()].as_slice())))
        .collect()
}

/// The global threshold with its calibration report, and each identity's effective threshold.
fn calibrate(gallery: &[&Enrolled], centroids: &[Vec<f32>], track_len: usize) -> (Calibration, Vec<f32>) {
    // Each stranger probe's best score and the identity it scored against.
    let mut stranger_best: Vec<(f32, usize)> = Vec::new();
    if gallery.len() >= 2 {
        for (i, e) in gallery.iter().enumerate() {
            for probe in simulated_tracks(&e.embeddings, track_len) {
                let best = (0..centroids.len())
                    .filter(|&j| j != i)
                    .map(|j| (cosine(&centroids[j], &probe), j))
                    .fold((f32::MIN, 0), |a, b| if b.0 > a.0 { b } else { a });
                stranger_best.push(best);
            }
        }
    }
    let stranger: Vec<f32> = stranger_best.iter().map(|s| s.0).collect();
    let per_identity: Vec<Vec<f32>> = gallery.iter().map(|e| genuine_scores(&e.embeddings, track_len)).collect();
    let genuine: Vec<f32> = per_identity.iter().flatten().copied().collect();
    let rate = |scores: &[f32], t: f32, above: bool| -> f64 {
        if scores.is_empty() {
            return 0.0;
        }
        scores.iter().filter(|&&s| (s >= t) == above).count() as f64 / scores.len() as f64
    };
    let (threshold, method) = if stranger.len() < MIN_STRANGER_SCORES {
        // Too few students (or photos) to learn what strangers look like to this gallery.
        (FALLBACK_THRESHOLD, "fixed (too few enrolled photos to calibrate)")
    } else {
        let mut candidates: Vec<f32> = stranger.iter().chain(&genuine).map(|s| s + 1e-4).collect();
        candidates.push(MIN_THRESHOLD);
        candidates.retain(|&t| t >= MIN_THRESHOLD);
        candidates.sort_by(f32::total_cmp);
        let mut sorted = genuine.clone();
        sorted.sort_by(f32::total_cmp);
        if track_len == 1 {
            // One photo cannot tell a stranger from a student (models/README.md): the threshold
            // only keeps students' own rejections at GENUINE_REJECT_SINGLE.
            let t = if sorted.is_empty() { FALLBACK_THRESHOLD } else { quantile(&sorted, GENUINE_REJECT_SINGLE) };
            (t.max(MIN_THRESHOLD), "single photo: students' leave-one-out scores")
        } else {
            let cost = |t: f32| STRANGER_WEIGHT * rate(&stranger, t, true) + rate(&genuine, t, false);
            let optimum = candidates.iter().copied().min_by(|&a, &b| cost(a).total_cmp(&cost(b))).unwrap_or(FALLBACK_THRESHOLD);
            // A roll that does not recognise its students is not used: never reject more than
            // GENUINE_REJECT_CAP of the students' own (left-out) track probes.
            let cap = if sorted.is_empty() { optimum } else { quantile(&sorted, GENUINE_REJECT_CAP) };
            (optimum.min(cap).max(MIN_THRESHOLD), "tracks: leave-one-identity-out strangers, leave-out students")
        }
    };
    let thresholds: Vec<f32> = gallery
        .iter()
        .zip(&per_identity)
        .map(|(e, own)| {
            if track_len < 2 || e.embeddings.len() < MIN_PHOTOS_FOR_STUDENT_THRESHOLD || own.is_empty() {
                return threshold;
            }
            let mut own = own.clone();
            own.sort_by(f32::total_cmp);
            (quantile(&own, 0.5) - STUDENT_MARGIN).min(STUDENT_CEILING).max(threshold)
        })
        .collect();
    let stranger_accepted = stranger_best.iter().filter(|&&(s, j)| s >= thresholds[j]).count();
    let genuine_rejected: usize = per_identity.iter().zip(&thresholds).map(|(own, &t)| own.iter().filter(|&&s| s < t).count()).sum();
    let mut ss = stranger.clone();
    ss.sort_by(f32::total_cmp);
    let mut gs = genuine.clone();
    gs.sort_by(f32::total_cmp);
    let mut ts = thresholds.clone();
    ts.sort_by(f32::total_cmp);
    let calibration = Calibration {
        threshold,
        method,
        stranger_q50_q98_q99: [quantile(&ss, 0.5), quantile(&ss, 0.98), quantile(&ss, 0.99)],
        genuine_q01_q02_q05: [quantile(&gs, 0.01), quantile(&gs, 0.02), quantile(&gs, 0.05)],
        stranger_scores: stranger.len(),
        genuine_scores: genuine.len(),
        stranger_accept_rate: stranger_accepted as f64 / stranger.len().max(1) as f64,
        genuine_reject_rate: genuine_rejected as f64 / genuine.len().max(1) as f64,
        student_thresholds_min_median_max: if ts.is_empty() { [threshold; 3] } else { [ts[0], quantile(&ts, 0.5), ts[ts.len() - 1]] },
    };
    (calibration, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors around an axis, with small deterministic wobble.
    fn person(axis: usize, n: usize, dim: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|k| {
                let mut v = vec![0f32; dim];
                v[axis] = 1.0;
                v[(axis + 1 + k) % dim] = 0.15;
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    #[test]
    fn empty_gallery_knows_nobody() {
        let r = Recognizer::train(&[], 1).unwrap();
        assert!(matches!(r.decide(&[&person(0, 1, 8)[0]]), Decision::Unknown { .. }));
    }

    #[test]
    fn one_student_uses_the_fixed_threshold() {
        let g = [Enrolled { key: "a".into(), embeddings: person(0, 3, 8) }];
        let r = Recognizer::train(&g, 1).unwrap();
        assert_eq!(r.threshold(), FALLBACK_THRESHOLD);
        assert_eq!(r.decide(&[&person(0, 5, 8)[4]]).key(), Some("a"));
        assert!(r.decide(&[&person(4, 1, 8)[0]]).key().is_none());
    }

    #[test]
    fn several_students_are_told_apart_and_a_stranger_is_unknown() {
        let g: Vec<Enrolled> = (0..4).map(|i| Enrolled { key: format!("s{i}"), embeddings: person(i, 5, 16) }).collect();
        let r = Recognizer::train(&g, 1).unwrap();
        for i in 0..4 {
            let probe = &person(i, 7, 16)[6];
            assert_eq!(r.decide(&[probe]).key(), Some(format!("s{i}").as_str()));
        }
        assert!(r.decide(&[&person(10, 1, 16)[0]]).key().is_none());
        assert!(r.threshold() >= MIN_THRESHOLD);
    }

    #[test]
    fn a_look_alike_track_is_held_to_the_students_own_bar() {
        let g: Vec<Enrolled> = (0..4).map(|i| Enrolled { key: format!("s{i}"), embeddings: person(i, 5, 16) }).collect();
        let r = Recognizer::train(&g, 3).unwrap();
        // Cosine 0.70 to s0: far above the global threshold (strangers here score ~0), far below
        // how alike s0's own photos are (~0.98, so s0's bar is the ceiling).
        let mut look_alike = vec![0f32; 16];
        look_alike[0] = 1.0;
        look_alike[12] = 1.02;
        let n = look_alike.iter().map(|x| x * x).sum::<f32>().sqrt();
        look_alike.iter_mut().for_each(|x| *x /= n);
        assert!(r.threshold() < 0.7);
        assert_eq!(r.calibration().student_thresholds_min_median_max, [STUDENT_CEILING; 3]);
        assert!(r.decide(&[&look_alike]).key().is_none());
        let own = person(0, 8, 16);
        assert_eq!(r.decide(&[&own[5], &own[6], &own[7]]).key(), Some("s0"));
        // Single photos keep the global threshold alone.
        let single = Recognizer::train(&g, 1).unwrap();
        assert_eq!(single.calibration().student_thresholds_min_median_max, [single.threshold(); 3]);
    }

    #[test]
    fn a_school_floor_raises_every_threshold_and_never_lowers_one() {
        let g: Vec<Enrolled> = (0..4).map(|i| Enrolled { key: format!("s{i}"), embeddings: person(i, 5, 16) }).collect();
        let calibrated = Recognizer::train(&g, 3).unwrap();
        let t = calibrated.threshold();
        let own = person(1, 8, 16);
        let track = [own[5].as_slice(), own[6].as_slice(), own[7].as_slice()];
        let Decision::Known { similarity, .. } = calibrated.decide(&track) else { panic!("s1 not recognised") };
        let strict = Recognizer::train(&g, 3).unwrap().with_floor(similarity + 0.01);
        assert!(strict.decide(&track).key().is_none());
        assert_eq!(strict.threshold(), similarity + 0.01);
        let lax = Recognizer::train(&g, 3).unwrap().with_floor(0.0);
        assert_eq!(lax.threshold(), t);
        assert_eq!(lax.decide(&track).key(), Some("s1"));
    }
}
