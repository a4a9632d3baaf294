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

    pub fn is_live(&self) -> bool {
        !matches!(self, SourceSpec::File(_))
    }

    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Camera(i) => format!("camera {i}"),
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Url(u) => u.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("video file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("cannot open {0}: {1}")]
    Open(String, String),
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

fn open_capture(spec: &SourceSpec) -> Result<VideoCapture, SourceError> {
    let cap = match spec {
        SourceSpec::Camera(i) => VideoCapture::new(*i, videoio::CAP_ANY)?,
        SourceSpec::File(p) => {
            if !p.is_file() {
                return Err(SourceError::MissingFile(p.clone()));
            }
            VideoCapture::from_file(p, videoio::CAP_ANY)?
        }
        SourceSpec::Url(u) => VideoCapture::from_file(u, videoio::CAP_FFMPEG)?,
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
}
