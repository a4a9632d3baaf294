//! Reading pictures from disk into the one pixel format the engine uses everywhere: an 8-bit,
//! 3-channel BGR `Mat` (OpenCV's native order; the networks' RGB order is applied when their
//! input tensors are filled, so no extra conversion pass is spent per frame).

use std::path::{Path, PathBuf};

use opencv::core::{Mat, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not an image OpenCV can decode (JPEG, PNG, BMP, TIFF, WebP, ...)")]
    Undecodable { path: PathBuf },
    #[error("{path}: image decoding failed: {reason}")]
    Decoder { path: PathBuf, reason: String },
    #[error("{path} is {width} x {height} pixels ({megapixels:.0} megapixels): Rollcall reads pictures of up to {MAX_MEGAPIXELS} megapixels; resize it")]
    TooLarge { path: PathBuf, width: usize, height: usize, megapixels: f64 },
    #[error("{path} is incomplete (the file ends before the picture does): copy or download it again")]
    Truncated { path: PathBuf },
}

/// Pictures larger than this are refused before decoding: a 1 MB PNG can declare 20000 x 20000
/// pixels and take 1.2 GB to decode. A 12-megapixel phone photo is well within it.
pub const MAX_MEGAPIXELS: f64 = 40.0;

/// Decode an image file to 8-bit BGR. Grayscale, 16-bit and RGBA inputs are converted (alpha is
/// dropped), and the EXIF orientation of phone photos is applied, so faces are upright.
/// Pictures larger than `MAX_MEGAPIXELS` and truncated JPEG/PNG files are refused.
pub fn load_image(path: &Path) -> Result<Mat, ImageError> {
    let too_big = |len: u64| len > MAX_FILE_BYTES;
    if let Ok(meta) = std::fs::metadata(path) {
        if too_big(meta.len()) {
            return Err(ImageError::Decoder { path: path.to_path_buf(), reason: format!("the file is {} MB; a photo is at most {} MB", meta.len() >> 20, MAX_FILE_BYTES >> 20) });
        }
    }
    let bytes = std::fs::read(path).map_err(|source| ImageError::Io { path: path.to_path_buf(), source })?;
    decode_image(&bytes).map_err(|e| match e {
        DecodeError::Empty => ImageError::Undecodable { path: path.to_path_buf() },
        DecodeError::OpenCv(reason) => ImageError::Decoder { path: path.to_path_buf(), reason },
        DecodeError::TooLarge { width, height } => {
            ImageError::TooLarge { path: path.to_path_buf(), width, height, megapixels: (width * height) as f64 / 1e6 }
        }
        DecodeError::Truncated => ImageError::Truncated { path: path.to_path_buf() },
    })
}

/// Files larger than this are not photos.
const MAX_FILE_BYTES: u64 = 100 << 20;

#[derive(Debug)]
pub enum DecodeError {
    Empty,
    OpenCv(String),
    TooLarge { width: usize, height: usize },
    Truncated,
}

/// A JPEG must end with its end-of-image marker and a PNG with its IEND chunk (trailing padding
/// is allowed): otherwise the decoder fills the missing part with grey, without an error.
fn truncated(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let body = &bytes[..end];
    if bytes.starts_with(&[0xFF, 0xD8]) {
        !body.ends_with(&[0xFF, 0xD9])
    } else if bytes.starts_with(b"\x89PNG") {
        // IEND's type and CRC are the file's last 8 bytes.
        body.len() < 12 || &body[body.len() - 8..body.len() - 4] != b"IEND"
    } else {
        false
    }
}

/// Decode image bytes (already in memory, e.g. a webcam capture sent by the UI) to 8-bit BGR.
/// The size declared in the header is checked first, so a small file that declares a huge
/// picture costs nothing.
pub fn decode_image(bytes: &[u8]) -> Result<Mat, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if let Ok(size) = imagesize::blob_size(bytes) {
        if (size.width as f64) * (size.height as f64) > MAX_MEGAPIXELS * 1e6 {
            return Err(DecodeError::TooLarge { width: size.width, height: size.height });
        }
    }
    if truncated(bytes) {
        return Err(DecodeError::Truncated);
    }
    let buf = Vector::<u8>::from_slice(bytes);
    // IMREAD_COLOR converts any depth/channel count to 8-bit BGR and honours EXIF orientation.
    let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR).map_err(|e| DecodeError::OpenCv(e.message))?;
    if mat.empty() || mat.cols() == 0 || mat.rows() == 0 {
        return Err(DecodeError::Empty);
    }
    Ok(mat)
}

/// Encode a BGR image as PNG or JPEG according to the file extension and write it.
pub fn save_image(path: &Path, image: &Mat) -> anyhow::Result<()> {
    let ok = imgcodecs::imwrite(path.to_string_lossy().as_ref(), image, &Vector::new())?;
    anyhow::ensure!(ok, "could not write {} (unsupported extension or unwritable folder)", path.display());
    Ok(())
}

/// Encode a frame as JPEG for a preview (the desktop app's live view), first scaling it down
/// to at most `max_width` pixels wide: a preview never needs more, and a 4K camera frame would
/// cost the encoder ten times as much. Returns the bytes and the encoded size; the scale is
/// `encoded width / frame width`.
pub fn encode_preview(frame: &Mat, max_width: i32, quality: i32) -> opencv::Result<(Vec<u8>, i32, i32)> {
    let scaled;
    let src = if frame.cols() > max_width && max_width > 0 {
        let h = (frame.rows() as f64 * max_width as f64 / frame.cols() as f64).round() as i32;
        let mut out = Mat::default();
        opencv::imgproc::resize(frame, &mut out, opencv::core::Size::new(max_width, h.max(1)), 0.0, 0.0, opencv::imgproc::INTER_AREA)?;
        scaled = out;
        &scaled
    } else {
        frame
    };
    let mut buf = Vector::<u8>::new();
    let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality.clamp(10, 100)]);
    imgcodecs::imencode(".jpg", src, &mut buf, &params)?;
    Ok((buf.to_vec(), src.cols(), src.rows()))
}
