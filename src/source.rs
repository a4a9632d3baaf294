//! Where frames come from: a camera (by index), a video file, or a network stream (RTSP/HTTP).
//! One type for all three, because the attendance loop must not care. A live source that
//! fails (camera unplugged, stream dropped) is reopened with back-off, without ending the
//! session; a file ends the session at its end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Camera(i32),
    File(PathBuf),
    Url(String),
}

impl SourceSpec {
    /// "0" is camera 0; anything with "://" a URL; the rest a file path.
    pub fn parse(s: &str) -> SourceSpec {
        if let Ok(i) = s.trim().parse::<i32>() {
            SourceSpec::Camera(i)
        } else if s.contains("://") {
            SourceSpec::Url(s.to_string())
        } else {
            SourceSpec::File(PathBuf::from(s))
        }
    }

    /// What can be told without opening the source: a file that is missing, or a still picture.
    pub fn check(&self) -> Result<(), SourceError> {
        if let SourceSpec::File(p) = self {
            if !p.is_file() {
                return Err(SourceError::MissingFile(p.clone()));
            }
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            if STILL_PICTURE.contains(&ext.as_str()) {
                return Err(SourceError::StillPicture(p.clone()));
            }
        }
        Ok(())
    }

    pub fn is_live(&self) -> bool {
        !matches!(self, SourceSpec::File(_))
    }

    /// How the source is shown and stored: a URL without its password (an IP camera's
    /// `rtsp://user:password@host/...` must not end up in the database or a log).
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Camera(i) => format!("camera {i}"),
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Url(u) => redact_password(u),
        }
    }
}

/// The URL with its password replaced by `***`.
pub fn redact_password(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => u.to_string(),
        // Not parseable: keep what is before any credentials.
        Err(_) => match (u.find("://"), u.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}***{}", &u[..scheme + 3], &u[at..]),
            _ => u.to_string(),
        },
    }
}

/// File extensions of still pictures: a session needs a moving picture.
const STILL_PICTURE: [&str; 9] = ["jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff", "heic"];

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("video file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("cannot open {0}: {1}")]
    Open(String, String),
    #[error("{0} is a still picture, not a video: a session needs a camera, a video file or a stream (a photo cannot show who came in)")]
    StillPicture(PathBuf),
    #[error("video error: {0}")]
    OpenCv(#[from] opencv::Error),
}

/// What the next read gave.
#[derive(Debug)]
pub enum Next {
    /// A frame; for files, its position in the video.
    Frame { position: Option<Duration> },
    /// A live source is down and being reopened; the caller may check its stop conditions.
    Reconnecting { attempt: u32, wait: Duration },
    /// End of a file.
    End,
}

pub struct FrameSource {
    spec: SourceSpec,
    capture: VideoCapture,
    failures: u32,
    retry_at: Option<Instant>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// How long opening a network stream, or waiting for its next frame, may take.
const NETWORK_TIMEOUT_MS: i32 = 10_000;

fn open_capture(spec: &SourceSpec) -> Result<VideoCapture, SourceError> {
    let cap = match spec {
        SourceSpec::Camera(i) => VideoCapture::new(*i, videoio::CAP_ANY)?,
        SourceSpec::File(p) => {
            spec.check()?;
            let cap = VideoCapture::from_file(p, videoio::CAP_ANY)?;
            // A picture under another name opens as a one-frame "video".
            if cap.is_opened()? && cap.get(videoio::CAP_PROP_FRAME_COUNT).unwrap_or(0.0) == 1.0 {
                return Err(SourceError::StillPicture(p.clone()));
            }
            cap
        }
        // A stream that answers but sends nothing must not hold the loop for ffmpeg's default
        // 30 s: the session's heartbeat and stop button wait on it.
        SourceSpec::Url(u) => VideoCapture::from_file_with_params(
            u,
            videoio::CAP_FFMPEG,
            &opencv::core::Vector::from_slice(&[videoio::CAP_PROP_OPEN_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS, videoio::CAP_PROP_READ_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS]),
        )?,
    };
    if !cap.is_opened()? {
        let hint = match spec {
            SourceSpec::Camera(_) => "no such camera, or it is in use by another program",
            SourceSpec::File(_) => "not a video format this machine can decode",
            SourceSpec::Url(_) => "the stream did not answer",
        };
        return Err(SourceError::Open(spec.describe(), hint.into()));
    }
    Ok(cap)
}

impl FrameSource {
    pub fn open(spec: SourceSpec) -> Result<Self, SourceError> {
        let capture = open_capture(&spec)?;
        Ok(FrameSource { spec, capture, failures: 0, retry_at: None })
    }

    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// The OpenCV backend that opened the source (`FFMPEG`, `V4L2`, `MSMF`, `AVFOUNDATION`, …).
    pub fn backend(&self) -> String {
        self.capture.get_backend_name().unwrap_or_else(|_| "an unknown backend".into())
    }

    pub fn fps(&self) -> f64 {
        self.capture.get(videoio::CAP_PROP_FPS).unwrap_or(0.0)
    }

    /// Read the next frame into `frame`.
    pub fn next(&mut self, frame: &mut Mat) -> Result<Next, SourceError> {
        if let Some(at) = self.retry_at {
            let now = Instant::now();
            if now < at {
                std::thread::sleep((at - now).min(Duration::from_millis(200)));
                return Ok(Next::Reconnecting { attempt: self.failures, wait: at.saturating_duration_since(Instant::now()) });
            }
            match open_capture(&self.spec) {
                Ok(c) => {
                    tracing::info!(source = %self.spec.describe(), "reconnected");
                    self.capture = c;
                    self.retry_at = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reconnect failed");
                    return Ok(self.schedule_retry());
                }
            }
        }
        let ok = self.capture.read(frame).unwrap_or(false) && !frame.empty();
        if ok {
            self.failures = 0;
            let position = (!self.spec.is_live())
                .then(|| self.capture.get(videoio::CAP_PROP_POS_MSEC).ok())
                .flatten()
                .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0));
            return Ok(Next::Frame { position });
        }
        if self.spec.is_live() {
            tracing::warn!(source = %self.spec.describe(), "no frame: reconnecting");
            let _ = self.capture.release();
            Ok(self.schedule_retry())
        } else {
            Ok(Next::End)
        }
    }

    fn schedule_retry(&mut self) -> Next {
        self.failures += 1;
        let wait = Duration::from_millis(500u64.saturating_mul(1 << self.failures.min(5))).min(MAX_BACKOFF);
        self.retry_at = Some(Instant::now() + wait);
        Next::Reconnecting { attempt: self.failures, wait }
    }
}

/// Camera indices that open and deliver a frame, among the first `max`. Used to fill a camera
/// picker; a camera in use by another program does not deliver and is left out.
pub fn probe_cameras(max: i32) -> Vec<i32> {
    (0..max)
        .filter(|&i| {
            let Ok(mut cap) = VideoCapture::new(i, videoio::CAP_ANY) else { return false };
            let mut m = Mat::default();
            cap.is_opened().unwrap_or(false) && cap.read(&mut m).unwrap_or(false) && !m.empty()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(SourceSpec::parse("0"), SourceSpec::Camera(0));
        assert_eq!(SourceSpec::parse("rtsp://cam.local/stream"), SourceSpec::Url("rtsp://cam.local/stream".into()));
        assert_eq!(SourceSpec::parse("clip.mp4"), SourceSpec::File("clip.mp4".into()));
        assert!(!SourceSpec::parse("clip.mp4").is_live());
    }

    #[test]
    fn a_camera_password_is_never_shown_or_stored() {
        let d = SourceSpec::parse("rtsp://admin:s3cret@10.0.0.7:554/stream1").describe();
        assert_eq!(d, "rtsp://admin:***@10.0.0.7:554/stream1");
        assert_eq!(SourceSpec::parse("rtsp://10.0.0.7/stream").describe(), "rtsp://10.0.0.7/stream");
        assert!(!redact_password("rtsp://u:p w@[bad/x").contains("p w"));
    }
}
