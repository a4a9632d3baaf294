//! Following faces from frame to frame, so identity can be decided once per person (over
//! several frames) instead of on every frame. Matching is greedy by overlap: at camera frame
//! rates a face moves little between frames, and a classroom door sees few faces at once.

use crate::vision::geometry::iou_xywh;
use crate::vision::Face;

/// Minimum overlap for a detection to continue a track.
pub const MATCH_IOU: f32 = 0.3;

#[derive(Debug, Clone)]
pub struct Track<T> {
    pub id: u64,
    pub face: Face,
    pub first_frame: u64,
    pub last_frame: u64,
    pub hits: u32,
    /// What the caller keeps per track (embeddings, decision, mood samples...).
    pub state: T,
}

pub struct Tracker<T> {
    tracks: Vec<Track<T>>,
    next_id: u64,
    /// Frames a track survives without a detection (a blink, a passing occlusion).
    max_missed: u64,
}

impl<T: Default> Tracker<T> {
    pub fn new(max_missed: u64) -> Self {
        Tracker { tracks: Vec::new(), next_id: 1, max_missed }
    }

    /// Match this frame's faces to tracks; returns, for each face, the index of its track in
    /// [`Tracker::tracks_mut`]. Unmatched faces start tracks; tracks unseen for too long end.
    pub fn update(&mut self, frame: u64, faces: &[Face]) -> Vec<usize> {
        self.tracks.retain(|t| frame.saturating_sub(t.last_frame) <= self.max_missed);
        let mut pairs = Vec::new();
        for (fi, f) in faces.iter().enumerate() {
            for (ti, t) in self.tracks.iter().enumerate() {
                let iou = iou_xywh(f.xywh(), t.face.xywh());
                if iou >= MATCH_IOU {
                    pairs.push((iou, fi, ti));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut face_track = vec![usize::MAX; faces.len()];
        let mut used = vec![false; self.tracks.len()];
        for (_, fi, ti) in pairs {
            if face_track[fi] == usize::MAX && !used[ti] {
                face_track[fi] = ti;
                used[ti] = true;
            }
        }
        for (fi, f) in faces.iter().enumerate() {
            match face_track[fi] {
                usize::MAX => {
                    self.tracks.push(Track { id: self.next_id, face: *f, first_frame: frame, last_frame: frame, hits: 1, state: T::default() });
                    self.next_id += 1;
                    face_track[fi] = self.tracks.len() - 1;
                }
                ti => {
                    let t = &mut self.tracks[ti];
                    t.face = *f;
                    t.last_frame = frame;
                    t.hits += 1;
                }
            }
        }
        face_track
    }

    pub fn tracks(&self) -> &[Track<T>] {
        &self.tracks
    }

    pub fn tracks_mut(&mut self) -> &mut [Track<T>] {
        &mut self.tracks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32) -> Face {
        Face { x1: x, y1: 0.0, x2: x + 50.0, y2: 60.0, score: 1.0, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn a_moving_face_keeps_its_track_and_a_new_one_gets_another() {
        let mut t: Tracker<()> = Tracker::new(5);
        let a = t.update(0, &[face(0.0)]);
        let b = t.update(1, &[face(5.0), face(200.0)]);
        assert_eq!(a[0], b[0]);
        assert_ne!(b[0], b[1]);
        assert_eq!(t.tracks()[b[0]].hits, 2);
        assert_eq!(t.tracks().len(), 2);
    }

    #[test]
    fn tracks_end_after_missing_too_long() {
        let mut t: Tracker<()> = Tracker::new(2);
        t.update(0, &[face(0.0)]);
        t.update(2, &[]);
        assert_eq!(t.tracks().len(), 1);
        t.update(3, &[]);
        assert!(t.tracks().is_empty());
        let id = t.update(4, &[face(0.0)]);
        assert_eq!(t.tracks()[id[0]].id, 2, "a face after the gap is a new track");
    }
}
