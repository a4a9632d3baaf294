//! Identification as the live loop does it: enrol K photos of each identity, train the
//! recognizer (its "unknown" threshold calibrated on the enrolled photos only), then decide the
//! rest, optionally grouped into tracks of T photos with one decision per track, and with some
//! identities never enrolled, who must come out unknown.

use std::collections::BTreeMap;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use super::{column, embed_images, read_rows, resolve, EmbeddingCache, FileError};
use crate::recognition::{Calibration, Decision, DecisionConfig, Enrolled, EnrolmentRisk, Recognizer};
use crate::vision::FaceAnalyzer;

/// A distractor's key in the gallery (and in `taken_for`).
const DISTRACTOR: &str = "distractor:";

#[derive(Debug, Clone)]
pub struct IdentifyOptions {
    pub enroll: usize,
    pub unknown_ids: usize,
    pub track: usize,
    pub seed: u64,
    /// Only identities with at least this many images take part (default: enroll + 1).
    pub min_images: Option<usize>,
    /// A labels CSV of other identities, each enrolled with one photo, to grow the gallery to a
    /// school's size. They are never probes (and must not be any of the labels' identities).
    pub distractors: Option<std::path::PathBuf>,
    /// The distractors are the school's other classes, as a class's roll sees them: the
    /// recognizer knows them, the roll does not mark them (a track decided as one of them is
    /// turned away, a stranger's as a student's).
    pub other_classes: bool,
    /// Follow the enrolment advice: students the calibration flags (`Recognizer::enrolment_risks`)
    /// get this many more of their photos enrolled, and the figures are those after retraining.
    pub rephotograph: usize,
    pub config: DecisionConfig,
}

#[derive(Debug, Serialize)]
pub struct IdentifyReport {
    pub top1_accuracy: f64,
    /// Known probes whose nearest student is right, with no "unknown" decision: what nearest
    /// centroid alone gets (the bar the decision's top-1 is compared with).
    pub closed_set_top1: f64,
    pub unknown_false_accept_rate: Option<f64>,
    pub known_false_reject_rate: f64,
    /// Known probes given somebody else's identity.
    pub known_misidentified_rate: f64,
    pub threshold: f32,
    pub calibration: Calibration,
    pub identities: usize,
    pub enrolled_identities: usize,
    pub unknown_identities: usize,
    /// Identities enrolled with one photo from the distractor list (part of `enrolled_identities`).
    pub distractors: usize,
    /// The distractors stood for the school's other classes (`IdentifyOptions::other_classes`).
    pub other_classes: bool,
    pub enrolled_images: usize,
    pub known_tracks: usize,
    pub unknown_tracks: usize,
    pub track_len: usize,
    pub images: usize,
    pub no_face: usize,
    pub unreadable: usize,
    pub errors: Vec<FileError>,
    /// The same figures for tracks of each length (an identity's last track may be shorter
    /// than `track_len`: what is left of its photos).
    pub by_length: Vec<LengthFigures>,
    /// Every wrong acceptance, a stranger's track taken for a student or a student's for another:
    /// who for whom tells a look-alike pair (an embedding's limit) from a miscalibrated threshold.
    pub taken_for: Vec<TakenFor>,
    /// Students' tracks turned away, by student: one student with every track refused points at
    /// their enrolment photos, many students with one each at the threshold.
    pub rejected_by_identity: BTreeMap<String, usize>,
    /// The students the enrolment advice would ask to photograph again (after re-photographing
    /// when `rephotograph` was asked for) ...
    pub at_risk: Vec<EnrolmentRisk>,
    /// ... and how many of the refused tracks are theirs: how well the advice points at them.
    pub at_risk_rejected: usize,
    /// Students who had more photos enrolled (`rephotograph`).
    pub rephotographed: usize,
    /// With `rephotograph`: the figures before, on the same probes (the photos newly enrolled are
    /// no longer probes in either).
    pub before_rephotograph: Option<Rates>,
}

/// The headline figures of one decision on one set of probes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rates {
    pub top1_accuracy: f64,
    pub closed_set_top1: f64,
    pub unknown_false_accept_rate: Option<f64>,
    pub known_false_reject_rate: f64,
    pub known_misidentified_rate: f64,
    /// Students `Recognizer::enrolment_risks` flagged.
    pub students_flagged: usize,
}

/// Every probe track decided, counted by track length (an identity's last track may be short).
struct Outcome {
    by_length: Vec<LengthFigures>,
    nearest_right: usize,
    taken_for: Vec<TakenFor>,
    rejected_by_identity: BTreeMap<String, usize>,
}

impl Outcome {
    /// `marks`: whether the roll marks a student the recognizer named (not another class's).
    fn of(recognizer: &Recognizer, known: &[(&str, Vec<&[f32]>)], unknown: &[(&str, Vec<&[f32]>)], track: usize, marks: &dyn Fn(&str) -> bool) -> Outcome {
        let decide = |frames: &[&[f32]]| match recognizer.decide(frames) {
            Decision::Known { key, similarity } if !marks(&key) => Decision::Unknown { best_similarity: similarity },
            d => d,
        };
        let mut by_length: Vec<LengthFigures> = (1..=track).map(|length| LengthFigures { length, ..Default::default() }).collect();
        let slot = |frames: usize| frames.clamp(1, track) - 1;
        let mut o = Outcome { by_length: Vec::new(), nearest_right: 0, taken_for: Vec::new(), rejected_by_identity: BTreeMap::new() };
        for (id, frames) in known {
            let figures = &mut by_length[slot(frames.len())];
            figures.known_tracks += 1;
            if recognizer.nearest(frames).as_deref() == Some(*id) {
                o.nearest_right += 1;
            }
            match decide(frames) {
                Decision::Known { key, .. } if key == *id => {}
                Decision::Known { key, similarity } => {
                    o.taken_for.push(TakenFor { identity: id.to_string(), stranger: false, taken_for: key, similarity, frames: frames.len() });
                    figures.known_misidentified += 1
                }
                Decision::Unknown { .. } => {
                    *o.rejected_by_identity.entry(id.to_string()).or_default() += 1;
                    figures.known_rejected += 1
                }
            }
        }
        for (id, frames) in unknown {
            let figures = &mut by_length[slot(frames.len())];
            figures.unknown_tracks += 1;
            if let Decision::Known { key, similarity } = decide(frames) {
                o.taken_for.push(TakenFor { identity: id.to_string(), stranger: true, taken_for: key, similarity, frames: frames.len() });
                figures.unknown_accepted += 1;
            }
        }
        o.by_length = by_length;
        o
    }

    fn rates(&self) -> Rates {
        let total = |count: fn(&LengthFigures) -> usize| self.by_length.iter().map(count).sum::<usize>();
        let (known, unknown) = (total(|f| f.known_tracks), total(|f| f.unknown_tracks));
        let (rejected, wrong, accepted) = (total(|f| f.known_rejected), total(|f| f.known_misidentified), total(|f| f.unknown_accepted));
        let n_known = known.max(1) as f64;
        Rates {
            top1_accuracy: (known - rejected - wrong) as f64 / n_known,
            closed_set_top1: self.nearest_right as f64 / n_known,
            unknown_false_accept_rate: (unknown > 0).then(|| accepted as f64 / unknown as f64),
            known_false_reject_rate: rejected as f64 / n_known,
            known_misidentified_rate: wrong as f64 / n_known,
            students_flagged: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TakenFor {
    /// The identity the track's photos are of.
    pub identity: String,
    /// True when that identity was never enrolled (a stranger), false for another student.
    pub stranger: bool,
    /// The enrolled identity it was accepted as.
    pub taken_for: String,
    /// The raw cosine to that identity's centroid.
    pub similarity: f32,
    pub frames: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct LengthFigures {
    pub length: usize,
    pub known_tracks: usize,
    pub known_rejected: usize,
    pub known_misidentified: usize,
    pub unknown_tracks: usize,
    pub unknown_accepted: usize,
}

pub fn run(analyzer: &mut FaceAnalyzer, labels_csv: &Path, o: &IdentifyOptions, cache: &mut EmbeddingCache) -> anyhow::Result<IdentifyReport> {
    anyhow::ensure!(o.enroll >= 1, "--enroll must be at least 1");
    let track = o.track.max(1);
    let (headers, rows) = read_rows(labels_csv)?;
    let cp = column(&headers, labels_csv, &["path"])?;
    let ci = column(&headers, labels_csv, &["identity", "label", "name"])?;
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        by_id.entry(r.get(ci).unwrap_or("").to_string()).or_default().push(r.get(cp).unwrap_or("").to_string());
    }
    let min_images = o.min_images.unwrap_or(o.enroll + 1);
    let mut ids: Vec<String> = by_id.iter().filter(|(_, v)| v.len() >= min_images).map(|(k, _)| k.clone()).collect();
    anyhow::ensure!(!ids.is_empty(), "no identity has {min_images} or more images in {}", labels_csv.display());
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
    ids.shuffle(&mut rng);
    anyhow::ensure!(o.unknown_ids < ids.len(), "--unknown-ids {} leaves nobody to enrol ({} identities)", o.unknown_ids, ids.len());
    let (unknown, known) = ids.split_at(o.unknown_ids);

    // Every image of the participating identities, embedded once.
    let mut labels: Vec<String> = Vec::new();
    let mut plan: Vec<(String, Vec<usize>)> = Vec::new();
    for id in ids.iter() {
        let mut imgs = by_id[id].clone();
        imgs.shuffle(&mut rng);
        let idx: Vec<usize> = imgs.iter().map(|p| {
            labels.push(p.clone());
            labels.len() - 1
        }).collect();
        plan.push((id.clone(), idx));
    }
    let mut paths: Vec<_> = labels.iter().map(|l| resolve(labels_csv, l)).collect();
    // Distractors: one photo each (the first listed), appended after the participants' photos.
    let mut distractor_plan: Vec<(String, usize)> = Vec::new();
    if let Some(file) = &o.distractors {
        let (headers, rows) = read_rows(file)?;
        let cp = column(&headers, file, &["path"])?;
        let ci = column(&headers, file, &["identity", "label", "name"])?;
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            let id = r.get(ci).unwrap_or("").to_string();
            anyhow::ensure!(!by_id.contains_key(&id), "distractor {id:?} is also in {}: distractors must be other people", labels_csv.display());
            if seen.insert(id.clone()) {
                let rel = r.get(cp).unwrap_or("").to_string();
                paths.push(resolve(file, &rel));
                labels.push(rel);
                distractor_plan.push((id, labels.len() - 1));
            }
        }
    }
    let (embeddings, no_face, errors) = embed_images(analyzer, &paths, &labels, cache)?;
    let plan: BTreeMap<String, Vec<usize>> = plan.into_iter().collect();

    // The gallery with `extra` more photos enrolled for some students (taken from their probes).
    let build = |extra: &BTreeMap<String, usize>| {
        let mut gallery = Vec::new();
        let mut enrolled_images = 0;
        let mut known_probes: Vec<(String, Vec<usize>)> = Vec::new();
        for id in known {
            let idx = &plan[id];
            let want = o.enroll + extra.get(id).copied().unwrap_or(0);
            // Enrol the first K images that have a face; the rest are probes.
            let mut enrolled = Vec::new();
            let mut rest = Vec::new();
            for &i in idx {
                if enrolled.len() < want && embeddings[i].is_some() {
                    enrolled.push(embeddings[i].clone().expect("checked"));
                } else if enrolled.len() >= want {
                    rest.push(i);
                }
            }
            enrolled_images += enrolled.len();
            gallery.push(Enrolled { key: id.clone(), embeddings: enrolled });
            known_probes.extend(rest.chunks(track).map(|c| (id.clone(), c.to_vec())));
        }
        (gallery, enrolled_images, known_probes)
    };
    let (mut gallery, mut enrolled_images, mut known_probes) = build(&BTreeMap::new());
    let unknown_probes: Vec<(String, Vec<usize>)> =
        unknown.iter().flat_map(|id| plan[id].chunks(track).map(|c| (id.clone(), c.to_vec())).collect::<Vec<_>>()).collect();
    let mut distractors = 0;
    let mut distractor_gallery = Vec::new();
    for (id, i) in &distractor_plan {
        if let Some(e) = &embeddings[*i] {
            distractor_gallery.push(Enrolled { key: format!("{DISTRACTOR}{id}"), embeddings: vec![e.clone()] });
            distractors += 1;
        }
    }
    gallery.extend(distractor_gallery.iter().cloned());
    enrolled_images += distractors;

    let mut recognizer = Recognizer::train_with(&gallery, track, o.config)?;
    let mut at_risk = recognizer.enrolment_risks();
    // The school follows the advice: the students flagged have more photos taken (more of their
    // own, never seen by the first training), and the gallery is trained again.
    let mut rephotographed = 0;
    let mut first = None;
    if o.rephotograph > 0 && !at_risk.is_empty() {
        let extra: BTreeMap<String, usize> = at_risk.iter().map(|r| (r.key.clone(), o.rephotograph)).collect();
        rephotographed = extra.len();
        (gallery, enrolled_images, known_probes) = build(&extra);
        gallery.extend(distractor_gallery);
        enrolled_images += distractors;
        let again = Recognizer::train_with(&gallery, track, o.config)?;
        first = Some((std::mem::replace(&mut recognizer, again), at_risk.len()));
        at_risk = recognizer.enrolment_risks();
    }
    let frames_of = |members: &[usize]| -> Vec<&[f32]> { members.iter().filter_map(|&i| embeddings[i].as_deref()).collect() };
    let known_tracks: Vec<(&str, Vec<&[f32]>)> = known_probes.iter().map(|(id, m)| (id.as_str(), frames_of(m))).collect();
    let unknown_tracks: Vec<(&str, Vec<&[f32]>)> = unknown_probes.iter().map(|(id, m)| (id.as_str(), frames_of(m))).collect();
    let marks = |key: &str| !(o.other_classes && key.starts_with(DISTRACTOR));
    let before_rephotograph = first.map(|(r, flagged)| {
        let o = Outcome::of(&r, &known_tracks, &unknown_tracks, track, &marks);
        Rates { students_flagged: flagged, ..o.rates() }
    });
    let outcome = Outcome::of(&recognizer, &known_tracks, &unknown_tracks, track, &marks);
    let Rates { top1_accuracy, closed_set_top1, unknown_false_accept_rate, known_false_reject_rate, known_misidentified_rate, .. } = outcome.rates();
    let Outcome { by_length, taken_for, rejected_by_identity, .. } = outcome;
    Ok(IdentifyReport {
        top1_accuracy,
        closed_set_top1,
        unknown_false_accept_rate,
        known_false_reject_rate,
        known_misidentified_rate,
        threshold: recognizer.threshold(),
        calibration: recognizer.calibration().clone(),
        identities: ids.len(),
        enrolled_identities: known.len() + distractors,
        unknown_identities: unknown.len(),
        distractors,
        other_classes: o.other_classes,
        enrolled_images,
        known_tracks: known_probes.len(),
        unknown_tracks: unknown_probes.len(),
        track_len: track,
        images: labels.len(),
        no_face,
        unreadable: errors.len(),
        errors,
        by_length,
        at_risk_rejected: at_risk.iter().filter_map(|r| rejected_by_identity.get(&r.key)).sum(),
        at_risk,
        rephotographed,
        before_rephotograph,
        taken_for,
        rejected_by_identity,
    })
}
