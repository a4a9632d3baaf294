//! Mood over a session: expression samples of a student are summed into a distribution; what is
//! stored is the summary (dominant mood and shares), not per-frame noise.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::vision::{Expression, ExpressionResult};

#[derive(Debug, Clone, Default)]
pub struct MoodAccumulator {
    sums: [f64; 7],
    samples: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MoodSummary {
    pub samples: u32,
    pub dominant: Expression,
    pub distribution: BTreeMap<String, f64>,
}

impl MoodAccumulator {
    pub fn add(&mut self, r: &ExpressionResult) {
        for (s, p) in self.sums.iter_mut().zip(r.probabilities) {
            *s += p as f64;
        }
        self.samples += 1;
    }

    pub fn summary(&self) -> Option<MoodSummary> {
        if self.samples == 0 {
            return None;
        }
        let total: f64 = self.sums.iter().sum::<f64>().max(1e-9);
        let best = (0..7).max_by(|&a, &b| self.sums[a].total_cmp(&self.sums[b])).unwrap_or(6);
        Some(MoodSummary {
            samples: self.samples,
            dominant: Expression::ALL[best],
            distribution: Expression::ALL.iter().map(|e| (e.as_str().to_string(), self.sums[e.index()] / total)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_is_the_largest_summed_probability() {
        let mut m = MoodAccumulator::default();
        assert!(m.summary().is_none());
        let mut p = [0.0f32; 7];
        p[3] = 0.6;
        p[6] = 0.4;
        m.add(&ExpressionResult { label: Expression::Happy, probabilities: p });
        let mut q = [0.0f32; 7];
        q[6] = 0.9;
        q[3] = 0.1;
        m.add(&ExpressionResult { label: Expression::Neutral, probabilities: q });
        m.add(&ExpressionResult { label: Expression::Neutral, probabilities: q });
        let s = m.summary().unwrap();
        assert_eq!(s.dominant, Expression::Neutral);
        assert_eq!(s.samples, 3);
        assert!((s.distribution["neutral"] - 2.2 / 3.0).abs() < 1e-6);
    }
}
