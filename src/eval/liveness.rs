//! Presentation-attack detection on labelled pictures (path,label with label live|spoof; optional
//! attack, kind, source): the standard rates at one threshold, APCER (attacks accepted as live)
//! and BPCER (live faces rejected), the AUC, a ROC, and the rates per attack, kind and source.
//!
//! Each picture is judged as the live loop judges a face: the largest detected face, with its
//! surroundings. A row of kind `crop` is a face already cut out; it has no surroundings, so it
//! cannot be judged unless `judge_crops` asks for the whole crop to be scored anyway (a
//! measurement of what the nets do out of their element, never what the product does). Faces
//! that cannot be judged are counted apart, per label and reason, and left out of the rates.

use std::collections::BTreeMap;
use std::path::Path;

use opencv::prelude::MatTraitConst;
use serde::Serialize;

use super::{column, optional_column, progress, read_rows, resolve, FileError};
use crate::vision::liveness::{self, CannotJudge, Liveness, LivenessCheck};
use crate::vision::{load_image, DetectOptions, Face, FaceAnalyzer};

/// Thresholds at which the ROC is reported (the nets' scores crowd near 0 and 1).
const ROC_AT: [f32; 18] = [0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Live,
    Spoof,
}

#[derive(Debug, Serialize)]
pub struct LivenessReport {
    /// A face scoring at or above it is judged live.
    pub threshold: f32,
    pub apcer: Option<f64>,
    pub bpcer: Option<f64>,
    pub accuracy: Option<f64>,
    pub auc: Option<f64>,
    /// Judged pictures, per label.
    pub live: usize,
    pub spoof: usize,
    pub cannot_judge: CannotJudgeCounts,
    pub per_attack: BTreeMap<String, Rates>,
    pub per_kind: BTreeMap<String, Rates>,
    pub per_source: BTreeMap<String, Rates>,
    pub roc: Vec<RocPoint>,
    pub images: usize,
    pub skipped_labels: usize,
    pub unreadable: usize,
    pub errors: Vec<FileError>,
}

#[derive(Debug, Default, Serialize)]
pub struct CannotJudgeCounts {
    pub live: usize,
    pub spoof: usize,
    pub no_face: usize,
    pub no_surroundings: usize,
    pub too_small: usize,
}

#[derive(Debug, Serialize)]
pub struct Rates {
    pub live: usize,
    pub spoof: usize,
    pub apcer: Option<f64>,
    pub bpcer: Option<f64>,
    pub auc: Option<f64>,
    pub cannot_judge: usize,
}

#[derive(Debug, Serialize)]
pub struct RocPoint {
    pub threshold: f32,
    pub apcer: Option<f64>,
    pub bpcer: Option<f64>,
}

struct Judged {
    label: Label,
    attack: String,
    kind: String,
    source: String,
    live: Option<f32>,
}

pub fn run(analyzer: &mut FaceAnalyzer, labels_csv: &Path, threshold: f32, judge_crops: bool) -> anyhow::Result<LivenessReport> {
    let (headers, rows) = read_rows(labels_csv)?;
    let cp = column(&headers, labels_csv, &["path"])?;
    let cl = column(&headers, labels_csv, &["label"])?;
    let (ca, ck, cs) = (optional_column(&headers, &["attack"]), optional_column(&headers, &["kind"]), optional_column(&headers, &["source"]));
    let mut check = LivenessCheck::load(analyzer.models_dir(), crate::runtime::Threads::single())?;
    let mut judged = Vec::new();
    let mut cannot = CannotJudgeCounts::default();
    let (mut skipped, mut errors) = (0, Vec::new());
    let bar = progress(rows.len(), "judging");
    for r in &rows {
        bar.inc(1);
        let field = |c: Option<usize>| c.and_then(|c| r.get(c)).unwrap_or("").to_string();
        let label = match r.get(cl).unwrap_or("").to_ascii_lowercase().as_str() {
            "live" | "real" | "bona_fide" | "bonafide" => Label::Live,
            "spoof" | "fake" | "attack" => Label::Spoof,
            _ => {
                skipped += 1;
                continue;
            }
        };
        let rel = r.get(cp).unwrap_or("");
        let image = match load_image(&resolve(labels_csv, rel)) {
            Ok(image) => image,
            Err(e) => {
                errors.push(FileError { path: rel.to_string(), error: e.to_string() });
                continue;
            }
        };
        let kind = field(ck);
        let (w, h) = (image.cols(), image.rows());
        let verdict = if kind == "crop" {
            let whole = Face { x1: 0.0, y1: 0.0, x2: w as f32, y2: h as f32, score: 1.0, landmarks: [[0.0; 2]; 5] };
            match liveness::unjudgeable(&whole, w, h) {
                Some(CannotJudge::NoSurroundings) if judge_crops => Some(check.judge_anyway(&image, &whole)?),
                _ => Some(check.judge(&image, std::slice::from_ref(&whole))?[0]),
            }
        } else {
            let faces = analyzer.detect(&image, &DetectOptions::default())?;
            match faces.iter().max_by(|a, b| (a.width() * a.height()).total_cmp(&(b.width() * b.height()))) {
                Some(face) => Some(check.judge(&image, std::slice::from_ref(face))?[0]),
                None => None,
            }
        };
        let live = match verdict {
            Some(Liveness::Scored { live }) => Some(live),
            Some(Liveness::CannotJudge { reason }) => {
                match reason {
                    CannotJudge::NoSurroundings => cannot.no_surroundings += 1,
                    CannotJudge::TooSmall => cannot.too_small += 1,
                }
                None
            }
            None => {
                cannot.no_face += 1;
                None
            }
        };
        if live.is_none() {
            match label {
                Label::Live => cannot.live += 1,
                Label::Spoof => cannot.spoof += 1,
            }
        }
        let source = field(cs);
        let source = source.split('@').next().unwrap_or("").to_string();
        let attack = if label == Label::Live { String::new() } else { field(ca) };
        judged.push(Judged { label, attack, kind, source, live });
    }
    bar.finish_and_clear();
    let all: Vec<&Judged> = judged.iter().collect();
    let group = |key: fn(&Judged) -> &str| {
        let mut groups: BTreeMap<String, Vec<&Judged>> = BTreeMap::new();
        for j in &judged {
            if !key(j).is_empty() {
                groups.entry(key(j).to_string()).or_default().push(j);
            }
        }
        groups.into_iter().map(|(k, v)| (k, rates(&v, threshold))).collect::<BTreeMap<_, _>>()
    };
    let total = rates(&all, threshold);
    let correct = all.iter().filter(|j| j.live.is_some_and(|s| (s >= threshold) == (j.label == Label::Live))).count();
    let scored = total.live + total.spoof;
    Ok(LivenessReport {
        threshold,
        apcer: total.apcer,
        bpcer: total.bpcer,
        accuracy: (scored > 0).then(|| correct as f64 / scored as f64),
        auc: total.auc,
        live: total.live,
        spoof: total.spoof,
        cannot_judge: cannot,
        per_attack: group(|j| &j.attack),
        per_kind: group(|j| &j.kind),
        per_source: group(|j| &j.source),
        roc: ROC_AT
            .iter()
            .map(|&t| {
                let r = rates(&all, t);
                RocPoint { threshold: t, apcer: r.apcer, bpcer: r.bpcer }
            })
            .collect(),
        images: rows.len(),
        skipped_labels: skipped,
        unreadable: errors.len(),
        errors,
    })
}

fn rates(rows: &[&Judged], threshold: f32) -> Rates {
    let scores = |l: Label| rows.iter().filter(|j| j.label == l).filter_map(|j| j.live).collect::<Vec<f32>>();
    let (live, spoof) = (scores(Label::Live), scores(Label::Spoof));
    let share = |xs: &[f32], f: &dyn Fn(f32) -> bool| (!xs.is_empty()).then(|| xs.iter().filter(|&&x| f(x)).count() as f64 / xs.len() as f64);
    Rates {
        live: live.len(),
        spoof: spoof.len(),
        apcer: share(&spoof, &|s| s >= threshold),
        bpcer: share(&live, &|s| s < threshold),
        auc: auc(&live, &spoof),
        cannot_judge: rows.iter().filter(|j| j.live.is_none()).count(),
    }
}

/// The probability that a live face scores above an attack (ties count half): the area under the
/// ROC, by ranks (Mann-Whitney).
pub fn auc(live: &[f32], spoof: &[f32]) -> Option<f64> {
    if live.is_empty() || spoof.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = live.iter().map(|&s| (s, true)).chain(spoof.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mean_rank = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        rank_sum += all[i..j].iter().filter(|x| x.1).count() as f64 * mean_rank;
        i = j;
    }
    let (n, m) = (live.len() as f64, spoof.len() as f64);
    Some((rank_sum - n * (n + 1.0) / 2.0) / (n * m))
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_is_the_share_of_live_over_spoof_pairs() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auc(&[0.5], &[0.5]), Some(0.5));
        // pairs: (0.9>0.3) (0.9>0.6) (0.4>0.3) (0.4<0.6): 3 of 4
        assert_eq!(auc(&[0.9, 0.4], &[0.3, 0.6]), Some(0.75));
        assert_eq!(auc(&[], &[0.3]), None);
    }
}
