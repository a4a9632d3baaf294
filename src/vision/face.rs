//! What the engine finds: a `Face` (box, confidence, landmarks) and the options of one
//! `detect` call. Kept apart from any detector so another detector, or a fake engine in a test,
//! returns the same type.

use serde::Serialize;

/// A detected face: box in pixel coordinates of the input image, confidence, and five
/// landmarks (left eye, right eye, nose, left mouth corner, right mouth corner; "left" is the
/// image's left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Face {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) * 0.5, (self.y1 + self.y2) * 0.5)
    }
    /// `x, y, w, h`.
    pub fn xywh(&self) -> [f32; 4] {
        [self.x1, self.y1, self.width(), self.height()]
    }
}

/// Options of one detection call. Each caller says what it needs for its own pictures (an
/// enrolment photo looks only for large faces, a classroom camera for faces as small as the
/// school's setting) instead of changing the shared detector's settings in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DetectOptions {
    /// Smallest face side, in pixels, to look for; `None`: the detector's own setting.
    pub min_face: Option<f32>,
}

impl DetectOptions {
    pub fn min_face(min_face: f32) -> DetectOptions {
        DetectOptions { min_face: Some(min_face) }
    }
}
