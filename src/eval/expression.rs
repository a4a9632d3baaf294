//! Expression accuracy on labelled images: 7-class accuracy, recall per class, and the confusion
//! matrix (rows: true class, columns: predicted, in [`Expression::ALL`] order). Images are face
//! crops unless `detect` is set, in which case the face nearest the centre is classified and an
//! image with no face counts as a wrong answer.

use std::collections::BTreeMap;
use std::path::Path;

use opencv::core::Mat;
use opencv::prelude::MatTraitConst;
use serde::Serialize;

use super::{column, progress, read_rows, resolve, FileError};
use crate::vision::analyzer::most_central;
use crate::vision::{load_image, DetectOptions, Expression, ExpressionClassifier, FaceAnalyzer};

fn classifier(analyzer: &mut FaceAnalyzer) -> &mut ExpressionClassifier {
    analyzer.expression.as_mut().expect("presence checked at the start of the run")
}

#[derive(Debug, Serialize)]
pub struct ExpressionReport {
    pub accuracy: f64,
    pub per_class_recall: BTreeMap<String, Option<f64>>,
    pub labels: Vec<&'static str>,
    pub confusion: Vec<Vec<usize>>,
    pub images: usize,
    pub evaluated: usize,
    pub skipped_labels: usize,
    pub no_face: usize,
    pub unreadable: usize,
    pub errors: Vec<FileError>,
}

pub fn run(analyzer: &mut FaceAnalyzer, labels_csv: &Path, detect: bool) -> anyhow::Result<ExpressionReport> {
    const BATCH: usize = 64;
    let (headers, rows) = read_rows(labels_csv)?;
    let cp = column(&headers, labels_csv, &["path"])?;
    let ce = column(&headers, labels_csv, &["expression", "emotion", "label"])?;
    anyhow::ensure!(analyzer.expression.is_some(), "the expression model is switched off");
    let mut confusion = vec![vec![0usize; 7]; 7];
    let (mut skipped, mut no_face, mut evaluated) = (0, 0, 0);
    let mut errors = Vec::new();
    let mut crops: Vec<Mat> = Vec::with_capacity(BATCH);
    let mut truths: Vec<Expression> = Vec::with_capacity(BATCH);
    let bar = progress(rows.len(), "classifying");
    for (n, r) in rows.iter().enumerate() {
        bar.inc(1);
        let rel = r.get(cp).unwrap_or("");
        if let Some(truth) = Expression::parse(r.get(ce).unwrap_or("")) {
            match load_image(&resolve(labels_csv, rel)) {
                Err(e) => errors.push(FileError { path: rel.to_string(), error: e.to_string() }),
                Ok(image) if detect => {
                    evaluated += 1;
                    let faces = analyzer.detect(&image, &DetectOptions::default())?;
                    match most_central(&faces, image.cols(), image.rows()) {
                        Some(k) => {
                            let res = classifier(analyzer).classify(&image, &faces[k..=k])?;
                            confusion[truth.index()][res[0].label.index()] += 1;
                        }
                        None => no_face += 1,
                    }
                }
                Ok(image) => {
                    evaluated += 1;
                    crops.push(image);
                    truths.push(truth);
                }
            }
        } else {
            skipped += 1;
        }
        if crops.len() == BATCH || (n + 1 == rows.len() && !crops.is_empty()) {
            for (r, truth) in classifier(analyzer).classify_crops(&crops)?.into_iter().zip(truths.drain(..)) {
                confusion[truth.index()][r.label.index()] += 1;
            }
            crops.clear();
        }
    }
    bar.finish_and_clear();
    let correct: usize = (0..7).map(|i| confusion[i][i]).sum();
    let per_class_recall = Expression::ALL
        .iter()
        .map(|e| {
            let row: usize = confusion[e.index()].iter().sum();
            (e.as_str().to_string(), (row > 0).then(|| confusion[e.index()][e.index()] as f64 / row as f64))
        })
        .collect();
    Ok(ExpressionReport {
        accuracy: if evaluated > 0 { correct as f64 / evaluated as f64 } else { 0.0 },
        per_class_recall,
        labels: Expression::ALL.iter().map(|e| e.as_str()).collect(),
        confusion,
        images: rows.len(),
        evaluated,
        skipped_labels: skipped,
        no_face,
        unreadable: errors.len(),
        errors,
    })
}
