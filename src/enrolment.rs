//! Enrolment photos: each must show exactly one usable face (faces less than half the size of
//! the largest are background and ignored). "Usable" is checked, and a
//! rejected photo says why, so the office can retake it instead of enrolling a bad template:
//! - size: the face is at least `MIN_FACE_PX` pixels tall (smaller faces embed poorly);
//! - sharpness: the variance of the Laplacian of the face crop is at least `MIN_SHARPNESS`;
//! - pose: the nose sits between the eyes (a strongly turned head gives a different embedding);
//! - consent: a parent's written consent on record and no objection standing (`crate::consent`);
//!   without it no photo is even looked at, and storage refuses the templates anyway;
//! - identity: the face must not already be enrolled as somebody else (the same photo filed
//!   under two students, or a look-alike the live roll would take for the other student). Such
//!   a photo is refused, naming the other student, unless the office says they are different
//!   people (twins): `allow_lookalike`.
//!
//! A student's photos as a whole: `advice` after each enrolment (too few, near-copies), and
//! `check_photos` over a roll's students, which trains the recognizer that roll would and names
//! the students it would most often turn away (`recognition::EnrolmentRisk`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use opencv::core::{Mat, Rect};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;

use crate::attendance::live::RollOf;
use crate::attendance::roll::{among, Roll, RollOptions};
use crate::recognition::{EnrolmentRisk, Enrolled};
use crate::storage::{Store, StoreError, Student, Template};
use crate::vision::{load_image, DetectOptions, Face, FaceAnalyzer};

pub const MIN_FACE_PX: f32 = 60.0;
pub const MIN_SHARPNESS: f64 = 15.0;
/// Horizontal nose position between the eyes, 0 = on the left eye, 1 = on the right eye.
pub const POSE_RANGE: (f32, f32) = (0.2, 0.8);

#[derive(Debug, Clone, Serialize)]
pub struct AcceptedPhoto {
    pub embedding: Vec<f32>,
    pub face_size: f32,
    pub sharpness: f64,
    /// Where the face is in the picture.
    #[serde(skip)]
    pub face: Face,
}

/// Check one photo and embed its face, or say why it cannot be used.
pub fn check_photo(analyzer: &mut FaceAnalyzer, path: &Path) -> Result<AcceptedPhoto, String> {
    let image = load_image(path).map_err(|e| e.to_string())?;
    check_image(analyzer, &image)
}

pub fn check_image(analyzer: &mut FaceAnalyzer, image: &Mat) -> Result<AcceptedPhoto, String> {
    // The subject of an enrolment photo is large: skip looking for tiny background faces,
    // which also keeps a 12-megapixel phone photo fast.
    let min_side = image.rows().min(image.cols()) as f32;
    let faces = analyzer.detect(image, &DetectOptions::min_face((min_side / 25.0).max(20.0))).map_err(|e| format!("detection failed: {e}"))?;
    // A face less than half the height of the largest is someone in the background (or a
    // false detection in the hair or the wall), not a second subject.
    let largest = faces.iter().map(|f| f.height()).fold(0.0, f32::max);
    let usable: Vec<&Face> = faces.iter().filter(|f| f.height() >= MIN_FACE_PX && f.height() >= 0.5 * largest).collect();
    let face = match (faces.len(), usable.len()) {
        (0, _) => return Err("no face found".into()),
        (_, 0) => {
            let h = faces.iter().map(|f| f.height()).fold(0.0, f32::max);
            return Err(format!("the face is too small ({h:.0} px tall, at least {MIN_FACE_PX:.0} needed): move closer"));
        }
        (_, 1) => usable[0],
        (_, n) => return Err(format!("{n} faces found: an enrolment photo must show only the student")),
    };
    let [le, re, nose, _, _] = face.landmarks;
    let span = re[0] - le[0];
    let pos = if span.abs() > 1e-3 { (nose[0] - le[0]) / span } else { 0.5 };
    if !(POSE_RANGE.0..=POSE_RANGE.1).contains(&pos) {
        return Err("the head is turned too far: face the camera".into());
    }
    let sharpness = sharpness(image, face).map_err(|e| e.to_string())?;
    if sharpness < MIN_SHARPNESS {
        return Err(format!("the photo is blurred (sharpness {sharpness:.0}, at least {MIN_SHARPNESS:.0} needed)"));
    }
    let embedding = analyzer
        .embedder
        .embed(image, std::slice::from_ref(face))
        .map_err(|e| format!("embedding failed: {e}"))?
        .remove(0)
        .ok_or("the face is cut off by the edge of the photo")?;
    Ok(AcceptedPhoto { embedding: embedding.0, face_size: face.height(), sharpness, face: *face })
}

/// What became of one enrolment photo.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoVerdict {
    pub student_id: String,
    pub photo: PathBuf,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face_size: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A face scoring at least this against the mean of another student's templates is taken for
/// theirs. The same photo scores above 0.99. Measured on LFW dev (fp16, a photo against the mean
/// of 3 photos of each of 176 people): another photo of the same person reaches 0.70 in 81 % of
/// cases; a different person in 1.5e-5 of comparisons, so at 2,000 enrolled students about 3 % of
/// new students meet a look-alike this close (and are asked to confirm with `allow_lookalike`).
pub const LOOKALIKE_SIMILARITY: f32 = 0.70;

#[derive(Debug, Clone, Copy, Default)]
pub struct EnrolOptions {
    /// Enrol even if the face matches another student's (the office knows they are twins).
    pub allow_lookalike: bool,
}

/// Another student whose enrolled face this one matches (against the mean of their templates),
/// as a sentence.
fn lookalike(embedding: &[f32], others: &[Template]) -> Option<String> {
    let mut means: BTreeMap<&str, (Vec<f32>, &Template)> = BTreeMap::new();
    for t in others {
        let (sum, _) = means.entry(t.student_id.as_str()).or_insert_with(|| (vec![0.0; t.embedding.len()], t));
        sum.iter_mut().zip(&t.embedding).for_each(|(s, x)| *s += x);
    }
    let (score, who) = means
        .values()
        .map(|(sum, t)| {
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            (embedding.iter().zip(sum).map(|(a, b)| a * b).sum::<f32>() / norm, *t)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (score >= LOOKALIKE_SIMILARITY).then(|| {
        format!(
            "this face is already enrolled as {} ({}, similarity {score:.2}): the same person cannot be two students. If they are different people (twins), enrol with --allow-lookalike",
            who.student_id, who.name
        )
    })
}

/// Check each (student id, photo) pair and store the accepted photos' embeddings (never the
/// photos), one transaction per student. A rejected photo or an unknown student id is reported
/// in its verdict and does not stop the others. `progress` is called after each photo.
pub fn enrol_photos(
    store: &mut Store,
    analyzer: &mut FaceAnalyzer,
    work: &[(String, PathBuf)],
    options: EnrolOptions,
    mut progress: impl FnMut(&PhotoVerdict),
) -> Result<Vec<PhotoVerdict>, StoreError> {
    let mut verdicts = Vec::with_capacity(work.len());
    let mut accepted: BTreeMap<&str, Vec<(Vec<f32>, String, f32)>> = BTreeMap::new();
    let mut others: Option<(String, Vec<Template>)> = None;
    let mut refused: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (id, photo) in work {
        let student = store.student(id);
        // No photo of a student without usable consent is even looked at.
        if let Ok(s) = &student {
            if !refused.contains_key(id) {
                refused.insert(id.clone(), store.consent_refusal(s)?);
            }
        }
        let outcome = match student {
            Err(e) => Err(e.to_string()),
            Ok(_) if refused.get(id).is_some_and(Option::is_some) => Err(refused[id].clone().unwrap_or_default()),
            Ok(student) => check_photo(analyzer, photo).and_then(|a| {
                if options.allow_lookalike {
                    return Ok(a);
                }
                if others.as_ref().is_none_or(|(who, _)| who != id) {
                    let templates = store.templates_except(student.id, analyzer.embedder.model_id()).map_err(|e| e.to_string())?;
                    others = Some((id.clone(), templates));
                }
                // Photos of other students accepted earlier in this batch count too.
                let batch: Vec<Template> = accepted
                    .iter()
                    .filter(|(other, _)| **other != id.as_str())
                    .flat_map(|(other, items)| items.iter().map(move |(e, _, _)| Template { student_row: 0, student_id: other.to_string(), name: "enrolled just now".into(), embedding: e.clone() }))
                    .collect();
                match others.as_ref().and_then(|(_, t)| lookalike(&a.embedding, t)).or_else(|| lookalike(&a.embedding, &batch)) {
                    Some(reason) => Err(reason),
                    None => Ok(a),
                }
            }),
        };
        let verdict = match outcome {
            Ok(a) => {
                let label = photo.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
                accepted.entry(id.as_str()).or_default().push((a.embedding, label, a.face_size));
                PhotoVerdict { student_id: id.clone(), photo: photo.clone(), accepted: true, face_size: Some(a.face_size), reason: None }
            }
            Err(reason) => PhotoVerdict { student_id: id.clone(), photo: photo.clone(), accepted: false, face_size: None, reason: Some(reason) },
        };
        progress(&verdict);
        verdicts.push(verdict);
    }
    for (id, items) in &accepted {
        let s = store.student(id)?;
        store.add_enrolments(&s, analyzer.embedder.model_id(), items)?;
    }
    Ok(verdicts)
}

/// Photos a student should have for recognition to hold, and how alike is too alike.
pub const RECOMMENDED_PHOTOS: usize = 5;
pub const MIN_GOOD_PHOTOS: usize = 3;
/// Two photos scoring at least this are near-copies (burst captures of a still face): they add
/// nothing a new day's light or expression would need. Different photos of one person score
/// 0.5-0.9 with this model (LFW dev).
pub const TOO_ALIKE: f32 = 0.95;

/// Advice on a student's enrolled photos, from the recognition measurements (models/README.md
/// "Recognition"): with 2 photos about 98 % of students are recognised on a first pass at 1-2 %
/// of strangers accepted; with 5, 99 % with none. `None`: nothing to add.
pub fn advice(store: &mut Store, student_id: &str, model_id: &str) -> Result<Option<String>, StoreError> {
    let student = store.student(student_id)?;
    Ok(photo_advice(student_id, &store.templates_of(student.id, model_id)?))
}

/// `advice` on a student's templates.
fn photo_advice(student_id: &str, photos: &[Vec<f32>]) -> Option<String> {
    let n = photos.len();
    if n == 0 {
        return None;
    }
    if n < MIN_GOOD_PHOTOS {
        return Some(format!(
            "{student_id}: {n} photo(s) enrolled; enrol {MIN_GOOD_PHOTOS}-{RECOMMENDED_PHOTOS} varied photos (measured: with 2 photos about 2 in 100 students are asked to look at the camera again, 2-3 in 100 in a school of 1,600; with 5 fewer than 1 in 100)"
        ));
    }
    // Near-copies count once: what calibrates a student is how many different looks they have.
    let mut distinct: Vec<&Vec<f32>> = Vec::new();
    for p in photos {
        if distinct.iter().all(|d| crate::vision::cosine(d, p) < TOO_ALIKE) {
            distinct.push(p);
        }
    }
    let k = distinct.len();
    (k < MIN_GOOD_PHOTOS).then(|| {
        format!(
            "{student_id}: {n} photos enrolled but only {k} differ (the others are nearly identical to one of them); take some at another moment (other light, expression, a slight turn) so that recognition holds on other days"
        )
    })
}

/// Which students to photograph again before a roll: the students of `classes` (a lesson's roll:
/// one class; the entrance: the classes it serves), judged with the recognizer that roll would
/// train. See `PhotoCheck`.
pub fn check_photos(store: &mut Store, roll_of: &RollOf, model_id: &'static str) -> anyhow::Result<PhotoCheck> {
    let classes = roll_of.classes(store)?;
    // The school's strictness and floor, as a roll started now would read them.
    let defaults = crate::settings::session_defaults(store)?;
    let options = RollOptions { strictness: defaults.strictness, min_similarity: defaults.min_similarity, embedding_model: model_id, ..RollOptions::default() };
    // The roll's recognizer knows the whole school (`Roll::school_classes`); its students are checked.
    let school = Roll::school_classes(store)?;
    let school_gallery = store.gallery(&school, options.embedding_model)?;
    let everyone = Roll::students(store, &school)?;
    let students = Roll::students(store, &classes.iter().map(|c| c.id).collect::<Vec<_>>())?;
    // The recognizer's keys are students' rows.
    let of = |who: &'_ HashMap<i32, Student>, key: &str| key.parse::<i32>().ok().and_then(|row| who.get(&row)).cloned();
    let recognizer = Roll::fit(&school_gallery, &options)?;
    let gallery: Vec<&Enrolled> = school_gallery.iter().filter(|e| among(&students, &e.key)).collect();
    let risks: BTreeMap<String, EnrolmentRisk> =
        recognizer.enrolment_risks().into_iter().filter_map(|r| of(&students, &r.key).map(|s| (s.student_id, r))).collect();
    let mut advice = Vec::new();
    for e in &gallery {
        let Some(student) = of(&students, &e.key) else { continue };
        let id = student.student_id.as_str();
        let mut says: Vec<String> = photo_advice(id, &e.embeddings).into_iter().collect();
        let risk = risks.get(id);
        if let Some(r) = risk {
            says.push(match r.looks_like.as_ref().and_then(|k| of(&everyone, k)) {
                Some(other) => format!(
                    "{id}: most of their photos look more like {} ({}) than like each other: check that every photo is of {id} (one filed under the wrong student?); if they are, the two look alike and each needs {RECOMMENDED_PHOTOS} varied photos",
                    other.student_id,
                    other.name()
                ),
                None => format!(
                    "{id}: their photos differ from each other more than the roll allows (median score {:.2}, threshold {:.2}), so the camera will often ask them to look again; enrol {MIN_GOOD_PHOTOS}-{RECOMMENDED_PHOTOS} new varied photos (measured in a class of 26: re-photographing the students flagged so cut the students turned away from 1.2 % to 0.3 %, 4.1 % to 0.6 % on tight crops)",
                    r.median_score, r.threshold
                ),
            });
        }
        if !says.is_empty() {
            advice.push(PhotoAdvice { student_id: id.to_string(), name: student.name(), photos: e.embeddings.len(), at_risk: risk.is_some(), advice: says });
        }
    }
    // The surest to be turned away first, then the rest by id.
    let order = |a: &PhotoAdvice| risks.get(a.student_id.as_str()).map_or(f32::INFINITY, |r| r.median_score);
    advice.sort_by(|a, b| order(a).total_cmp(&order(b)).then_with(|| a.student_id.cmp(&b.student_id)));
    let calibration = recognizer.calibration();
    Ok(PhotoCheck {
        classes: classes.iter().map(|c| c.name.clone()).collect(),
        students: students.len(),
        with_photos: gallery.len(),
        photos: gallery.iter().map(|e| e.embeddings.len()).sum(),
        threshold: calibration.threshold,
        method: calibration.method,
        advice,
    })
}

/// The photo check of a roll's students (`check_photos`).
#[derive(Debug, Clone, Serialize)]
pub struct PhotoCheck {
    pub classes: Vec<String>,
    /// Students in the classes today, and those of them recognisable (consent and photos).
    pub students: usize,
    pub with_photos: usize,
    pub photos: usize,
    /// The roll's threshold and how it was set (calibrated, or fixed for a small class).
    pub threshold: f32,
    pub method: &'static str,
    /// Students with something to do, those the roll would most often turn away first.
    pub advice: Vec<PhotoAdvice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoAdvice {
    pub student_id: String,
    pub name: String,
    pub photos: usize,
    /// Their own photos mostly fail the roll's decision (`recognition::EnrolmentRisk`): the ones to
    /// photograph again first.
    pub at_risk: bool,
    pub advice: Vec<String>,
}

/// Enrol one frame (a webcam capture): the same checks as a photo.
pub fn enrol_image(store: &mut Store, analyzer: &mut FaceAnalyzer, student_id: &str, image: &Mat, label: &str, options: EnrolOptions) -> anyhow::Result<Result<AcceptedPhoto, String>> {
    let student = store.student(student_id)?;
    if let Some(why) = store.consent_refusal(&student)? {
        return Ok(Err(why));
    }
    let mut verdict = check_image(analyzer, image);
    // A camera capture can be of a photo or a screen held up: refused unless the school switched
    // the check off. One frame, so only a face the model judges a spoof is refused (about 1 live
    // face in 60 is, on spoof_dev: the student tries again); one it cannot judge is let through.
    if let (Ok(a), Some(check)) = (&verdict, analyzer.liveness.as_mut()) {
        if crate::settings::liveness(store)? != crate::attendance::LivenessMode::Off {
            if let Some(score) = check.judge(image, std::slice::from_ref(&a.face))?[0].score().filter(|&s| s < crate::vision::liveness::THRESHOLD) {
                verdict = Err(format!("this looks like a photo or a screen held up to the camera (liveness {score:.2}): the student must stand in front of the camera"));
            }
        }
    }
    if let (Ok(a), false) = (&verdict, options.allow_lookalike) {
        if let Some(reason) = lookalike(&a.embedding, &store.templates_except(student.id, analyzer.embedder.model_id())?) {
            verdict = Err(reason);
        }
    }
    if let Ok(a) = &verdict {
        store.add_enrolments(&student, analyzer.embedder.model_id(), &[(a.embedding.clone(), label.to_string(), a.face_size)])?;
    }
    Ok(verdict)
}

/// Variance of the Laplacian over the face, on a crop scaled to 112 px so the figure does not
/// depend on the photo's resolution.
fn sharpness(image: &Mat, face: &Face) -> opencv::Result<f64> {
    let x = face.x1.max(0.0) as i32;
    let y = face.y1.max(0.0) as i32;
    let w = (face.x2.min(image.cols() as f32) as i32 - x).max(1);
    let h = (face.y2.min(image.rows() as f32) as i32 - y).max(1);
    let roi = Mat::roi(image, Rect::new(x, y, w, h))?;
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&roi, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let mut small = Mat::default();
    imgproc::resize(&gray, &mut small, opencv::core::Size::new(112, 112), 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut lap = Mat::default();
    imgproc::laplacian(&small, &mut lap, opencv::core::CV_64F, 1, 1.0, 0.0, opencv::core::BORDER_DEFAULT)?;
    let mut mean = Mat::default();
    let mut std = Mat::default();
    opencv::core::mean_std_dev(&lap, &mut mean, &mut std, &opencv::core::no_array())?;
    let s = *std.at_2d::<f64>(0, 0)?;
    Ok(s * s)
}
