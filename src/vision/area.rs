//! Area ("box filter") resampling of one frame at many sizes, through its integral image.
//!
//! MTCNN resizes the frame once per pyramid level and cuts every candidate box out of it, all
//! with area interpolation (OpenCV's `INTER_AREA`). OpenCV reads every source pixel for each of
//! those resizes: ~1 ms per pyramid level for a 640x480 frame on the workplace's CPU, whatever the
//! level's size, eight levels per frame. But the average of a frame over any rectangle, even
//! one with fractional edges, is a difference of four values of the frame's integral seen as a
//! piecewise-constant function, and that function is exactly the bilinear interpolation of the
//! discrete integral image. So one integral image per frame (OpenCV's, well under a millisecond)
//! makes every later resize cost only its own output size.
//!
//! The averages are INTER_AREA's exact-coverage averages. Two details differ, both below one
//! grey level: OpenCV drops edge slivers narrower than 1/1000 px and sums in f32; this sums in f64.

use opencv::core::{Mat, Vec3i, CV_32S};
use opencv::imgproc;
use opencv::prelude::*;

/// The integral image of an 8-bit 3-channel frame, kept between frames to reuse its buffer.
#[derive(Default)]
pub struct IntegralImage {
    sums: Mat,
    width: usize,
    height: usize,
}

/// Where a coordinate falls between the integral image's samples: left sample, weight of the right.
#[derive(Clone, Copy)]
struct Tap {
    index: usize,
    frac: f64,
}

impl IntegralImage {
    /// Frames up to this many pixels: their channel sums fit the i32 integral (255 * 2^22 < 2^31)
    /// and its buffer stays under 51 MB. Larger photos (a phone's 8000x6000) are resized the
    /// ordinary way.
    pub const MAX_PIXELS: usize = 1 << 22;

    /// Compute the integral of `image` (8-bit, 3 channels). `false` when the frame is too large
    /// for it; the previous contents are then invalid.
    pub fn update(&mut self, image: &Mat) -> opencv::Result<bool> {
        let (w, h) = (image.cols() as usize, image.rows() as usize);
        if w * h > Self::MAX_PIXELS || image.channels() != 3 {
            self.width = 0;
            self.height = 0;
            return Ok(false);
        }
        imgproc::integral(image, &mut self.sums, CV_32S)?;
        self.width = w;
        self.height = h;
        Ok(self.sums.is_continuous())
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    fn tap(x: f64, size: usize) -> Tap {
        let x = x.clamp(0.0, size as f64);
        let index = (x.floor() as usize).min(size - 1);
        Tap { index, frac: x - index as f64 }
    }

    /// Sum of each channel (in the frame's order) over every cell of the grid `xs` x `ys` (frame
    /// coordinates, increasing; the frame is zero outside itself), as `emit(column, row, sums)`,
    /// row by row.
    pub fn cell_sums(&self, xs: &[f64], ys: &[f64], mut emit: impl FnMut(usize, usize, [f64; 3])) -> opencv::Result<()> {
        if xs.len() < 2 || ys.len() < 2 || self.width == 0 {
            return Ok(());
        }
        let sums = self.sums.data_typed::<Vec3i>()?;
        let stride = self.width + 1;
        let cols: Vec<Tap> = xs.iter().map(|&x| Self::tap(x, self.width)).collect();
        // The integral at every grid point of one grid row: bilinear between the four samples
        // around it. Two rows are kept; each cell is the difference of its four corners.
        let row_at = |y: f64, out: &mut Vec<[f64; 3]>| {
            let t = Self::tap(y, self.height);
            let (top, bottom) = (&sums[t.index * stride..], &sums[(t.index + 1) * stride..]);
            out.clear();
            out.extend(cols.iter().map(|c| {
                let mut v = [0f64; 3];
                for (ch, value) in v.iter_mut().enumerate() {
                    let upper = top[c.index][ch] as f64 * (1.0 - c.frac) + top[c.index + 1][ch] as f64 * c.frac;
                    let lower = bottom[c.index][ch] as f64 * (1.0 - c.frac) + bottom[c.index + 1][ch] as f64 * c.frac;
                    *value = upper * (1.0 - t.frac) + lower * t.frac;
                }
                v
            }));
        };
        let mut above = Vec::with_capacity(cols.len());
        let mut below = Vec::with_capacity(cols.len());
        row_at(ys[0], &mut above);
        for (row, &y) in ys[1..].iter().enumerate() {
            row_at(y, &mut below);
            for col in 0..cols.len() - 1 {
                let (a, b, c, d) = (above[col], above[col + 1], below[col], below[col + 1]);
                emit(col, row, [d[0] - b[0] - c[0] + a[0], d[1] - b[1] - c[1] + a[1], d[2] - b[2] - c[2] + a[2]]);
            }
            std::mem::swap(&mut above, &mut below);
        }
        Ok(())
    }
}

/// Grid lines `start + k * step` for k = 0..=cells.
pub fn grid(start: f64, step: f64, cells: usize) -> impl Iterator<Item = f64> {
    (0..=cells).map(move |k| start + k as f64 * step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{Size, Vec3b, CV_8UC3};

    /// A deterministic, busy 8-bit frame (no flat areas, so rounding differences would show).
    fn frame(w: i32, h: i32) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(h, w, CV_8UC3, 0.into()).unwrap();
        for y in 0..h {
            for x in 0..w {
                let v = |k: i32| (((x * 7 + y * 13 + k * 31) ^ (x * y + k)) % 256) as u8;
                *m.at_2d_mut::<Vec3b>(y, x).unwrap() = Vec3b::from([v(0), v(1), v(2)]);
            }
        }
        m
    }

    /// Our resize of the whole frame to `dw` x `dh`, rounded to 8 bits as OpenCV does.
    fn resize(ii: &IntegralImage, dw: usize, dh: usize) -> Vec<[u8; 3]> {
        let (w, h) = (ii.width() as f64, ii.height() as f64);
        let (sx, sy) = (w / dw as f64, h / dh as f64);
        let xs: Vec<f64> = grid(0.0, sx, dw).collect();
        let ys: Vec<f64> = grid(0.0, sy, dh).collect();
        let mut out = vec![[0u8; 3]; dw * dh];
        ii.cell_sums(&xs, &ys, |c, r, s| {
            let area = (xs[c + 1].min(w) - xs[c]) * (ys[r + 1].min(h) - ys[r]);
            out[r * dw + c] = s.map(|v| (v / area).round_ties_even().clamp(0.0, 255.0) as u8);
        })
        .unwrap();
        out
    }

    #[test]
    fn resizing_matches_opencv_inter_area_within_one_level() {
        let src = frame(640, 480);
        let mut ii = IntegralImage::default();
        assert!(ii.update(&src).unwrap());
        // The pyramid sizes of a 640x480 frame at min face 40, and an integer factor.
        for (dw, dh) in [(192, 144), (137, 103), (97, 73), (25, 19), (18, 13), (320, 240)] {
            let mut reference = Mat::default();
            imgproc::resize(&src, &mut reference, Size::new(dw, dh), 0.0, 0.0, imgproc::INTER_AREA).unwrap();
            let ours = resize(&ii, dw as usize, dh as usize);
            let theirs = reference.data_typed::<Vec3b>().unwrap();
            let mut differing = 0;
            for (a, b) in ours.iter().zip(theirs) {
                for ch in 0..3 {
                    let d = (a[ch] as i32 - b[ch] as i32).abs();
                    assert!(d <= 1, "{dw}x{dh}: differs by {d}");
                    differing += (d > 0) as usize;
                }
            }
            // Only rounding ties land differently.
            assert!(differing * 100 <= ours.len() * 3, "{dw}x{dh}: {differing} values differ");
        }
    }

    #[test]
    fn cells_outside_the_frame_count_as_zero() {
        let src = Mat::new_rows_cols_with_default(4, 4, CV_8UC3, opencv::core::Scalar::all(10.0)).unwrap();
        let mut ii = IntegralImage::default();
        assert!(ii.update(&src).unwrap());
        let mut got = Vec::new();
        // A cell half outside on the left: 4 of its 8 px^2 are inside, the rest counts as zero.
        ii.cell_sums(&[-2.0, 2.0], &[0.0, 2.0], |_, _, s| got.push(s)).unwrap();
        assert_eq!(got, vec![[40.0, 40.0, 40.0]]);
        // Fractional edges weigh by coverage.
        got.clear();
        ii.cell_sums(&[0.5, 1.75], &[0.0, 1.0], |_, _, s| got.push(s)).unwrap();
        assert!((got[0][0] - 12.5).abs() < 1e-9);
    }

    #[test]
    fn frames_too_large_are_declined() {
        let mut ii = IntegralImage::default();
        let big = Mat::new_rows_cols_with_default(2049, 2049, CV_8UC3, 0.into()).unwrap();
        assert!(!ii.update(&big).unwrap());
        assert_eq!(ii.width(), 0);
    }
}
