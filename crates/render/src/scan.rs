//! Scans: DICOM (via `dicom-object` + `dicom-pixeldata`), PNG and JPEG.
//!
//! [`decode_scan`] turns bytes into a [`Scan`]: pixel values in modality
//! units (rescale slope/intercept applied, so CT values are Hounsfield
//! units), frames, spacing and window presets. [`render_frame`] applies a
//! window through a lookup table into RGBA; [`pixel_value`], [`measure`] and
//! [`region_stats`] back the readout, length and region tools. Malformed,
//! truncated or unsupported files give [`RenderError::UnsupportedScan`],
//! never a panic.
//!
//! Here: the types and the entry point. The formats are read in `dicom`
//! (helped by `walk`, `encapsulated`, `pixels` and `dcmtk`) and `image`
//! (PNG, JPEG); `frame` renders through a window, `tools` measures.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::RenderError;

/// Short name used throughout this module.
pub type Window = ScanWindow;

/// Largest number of samples (pixels × channels × frames) decoded.
pub const MAX_SAMPLES: usize = 256 * 1024 * 1024;

/// A display window (window/level) in modality units. Exported to
/// TypeScript as `ScanWindow` (not to shadow the DOM's `Window`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScanWindow {
    /// Modality value shown mid-grey (window level).
    pub center: f64,
    /// Range of modality values spread over black to white; at least 1.
    pub width: f64,
}

/// A named display window offered in the viewer (from the file or a CT preset).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowPreset {
    /// Label shown in the window menu (e.g. "Lung", or the file's window explanation).
    pub name: String,
    /// Centre and width in modality units.
    pub window: Window,
}

/// The container a scan was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ScanFormat {
    /// DICOM Part 10 file.
    Dicom,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
}

/// Everything about a scan the UI needs besides pixels.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ScanInfo {
    /// The container the scan was read from.
    pub format: ScanFormat,
    /// Columns, in pixels.
    pub width: u32,
    /// Rows, in pixels.
    pub height: u32,
    /// Number of frames (1 for a single image).
    pub frames: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u8,
    /// DICOM modality code (`CT`, `MR`, `CR`, ...), when the file has one.
    pub modality: Option<String>,
    /// Unit of pixel values (`HU` for CT), if known.
    pub units: Option<String>,
    /// Millimetres per pixel as (row spacing, column spacing).
    pub pixel_spacing: Option<(f64, f64)>,
    /// Photometric interpretation (`MONOCHROME2`, `RGB`, ...); PNG and JPEG report `MONOCHROME2` or `RGB`.
    pub photometric: String,
    /// Window the viewer opens with: the file's first window, or one spanning `min..max`.
    pub default_window: Window,
    /// Windows offered: the file's own, then presets that suit the modality.
    pub presets: Vec<WindowPreset>,
    /// Smallest pixel value over all frames, in modality units.
    pub min: f64,
    /// Largest pixel value over all frames, in modality units.
    pub max: f64,
    /// What the reviewer should know about how the image was read: a
    /// tolerated non-conformance, an uncertain colour model.
    pub warnings: Vec<String>,
}

/// A decoded scan: info plus pixel values in modality units.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Dimensions, format, windows and other facts about the scan.
    pub info: ScanInfo,
    /// One buffer per frame: `height × width × channels` samples, row-major.
    frames: Vec<Samples>,
    /// MONOCHROME1: low values are displayed bright.
    invert: bool,
}

/// One frame's samples in the narrowest of four types that holds every
/// value exactly. Most scans' values are integers: CT in Hounsfield units
/// (12 or 16 bits stored, an integral rescale), 8-bit grey and colour. Kept
/// as `f32` they took 4 bytes a sample; as `i16` or `u8` they take 2 or 1,
/// so the caches of decoded scans and slices (bounded in bytes) hold two to
/// four times as many frames.
#[derive(Debug, Clone)]
enum Samples {
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    F32(Vec<f32>),
}

impl Samples {
    /// `values` in the narrowest type that holds each of them exactly
    /// (integral and within its range; anything else, NaN included, keeps
    /// `f32`).
    fn compact(values: Vec<f32>) -> Samples {
        let mut integral = true;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in &values {
            if v.fract() != 0.0 {
                // NaN and the infinities land here too (their fract is NaN).
                integral = false;
                break;
            }
            lo = lo.min(f64::from(v));
            hi = hi.max(f64::from(v));
        }
        let narrowed = if integral {
            Samples::integers(lo, hi, values.iter().map(|&v| f64::from(v)))
        } else {
            None
        };
        narrowed.unwrap_or(Samples::F32(values))
    }

    /// Stored values through the modality rescale (`v × slope +
    /// intercept`, each result as `f32`, as DICOM defines it) in the
    /// narrowest type that holds them: with an integral slope and intercept
    /// (CT's usual 1 and -1024) the integers go straight into `u8`, `i16`
    /// or `u16`, without an `f32` copy of the frame first.
    fn rescaled(values: &[i64], slope: f64, intercept: f64) -> Samples {
        let value = |v: i64| v as f64 * slope + intercept;
        if slope.fract() == 0.0 && intercept.fract() == 0.0 {
            let (lo, hi) =
                values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        let x = value(v);
                        (lo.min(x), hi.max(x))
                    });
            // Each result is an integer-valued f64 (sums and products of
            // integer-valued f64s are), so where an integer type holds them
            // each cast is exact and equals the `f32` that the general path
            // gives for the same f64.
            if let Some(narrowed) = Samples::integers(lo, hi, values.iter().map(|&v| value(v))) {
                return narrowed;
            }
        }
        Samples::compact(values.iter().map(|&v| value(v) as f32).collect())
    }

    /// `values`, integers from `lo` to `hi` (an empty list has `lo` = +∞,
    /// `hi` = −∞), in the narrowest integer type that holds them all, each
    /// cast exact; `None` where none does. `values` is read only then.
    fn integers(lo: f64, hi: f64, values: impl Iterator<Item = f64>) -> Option<Samples> {
        if lo >= 0.0 && hi <= 255.0 {
            Some(Samples::U8(values.map(|v| v as u8).collect()))
        } else if lo >= -32768.0 && hi <= 32767.0 {
            Some(Samples::I16(values.map(|v| v as i16).collect()))
        } else if lo >= 0.0 && hi <= 65535.0 {
            Some(Samples::U16(values.map(|v| v as u16).collect()))
        } else {
            None
        }
    }

    fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::U16(v) => v.len(),
            Samples::F32(v) => v.len(),
        }
    }

    /// Sample `i`, as the `f32` it was decoded as.
    fn get(&self, i: usize) -> Option<f32> {
        match self {
            Samples::U8(v) => v.get(i).map(|&x| f32::from(x)),
            Samples::I16(v) => v.get(i).map(|&x| f32::from(x)),
            Samples::U16(v) => v.get(i).map(|&x| f32::from(x)),
            Samples::F32(v) => v.get(i).copied(),
        }
    }

    /// Every sample as `f32`, in order.
    fn to_f32(&self) -> Vec<f32> {
        match self {
            Samples::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            Samples::I16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            Samples::U16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            Samples::F32(v) => v.clone(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Samples::U8(v) => crate::vec_heap_bytes(v),
            Samples::I16(v) => crate::vec_heap_bytes(v),
            Samples::U16(v) => crate::vec_heap_bytes(v),
            Samples::F32(v) => crate::vec_heap_bytes(v),
        }
    }
}

/// An RGBA8 image (row-major, 4 bytes per pixel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaImage {
    /// Columns, in pixels.
    pub width: u32,
    /// Rows, in pixels.
    pub height: u32,
    /// `width × height × 4` bytes: red, green, blue, alpha per pixel.
    pub data: Vec<u8>,
}

/// The unit a measured length is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Millimetres: the scan gives pixel spacing.
    Mm,
    /// Pixels: the scan gives no pixel spacing.
    Px,
}

/// A measured distance, in millimetres when the scan gives pixel spacing, else in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Length {
    /// The length in `unit`.
    pub value: f64,
    /// Millimetres or pixels.
    pub unit: LengthUnit,
    /// Length in pixels regardless of spacing.
    pub pixels: f64,
}

/// Statistics of a rectangular region annotation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RegionStats {
    /// Number of pixels inside the region.
    pub pixels: u64,
    /// Mean pixel value, in modality units.
    pub mean: f64,
    /// Population standard deviation of the pixel values.
    pub std_dev: f64,
    /// Smallest pixel value in the region.
    pub min: f64,
    /// Largest pixel value in the region.
    pub max: f64,
    /// Area in mm² when the pixel spacing is known.
    pub area_mm2: Option<f64>,
}

fn unsupported(reason: impl Into<String>) -> RenderError {
    RenderError::UnsupportedScan {
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sniffed {
    Dicom,
    Png,
    Jpeg,
    Unknown,
}

fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Sniffed::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Sniffed::Jpeg
    } else if bytes.len() >= 132 && &bytes[128..132] == b"DICM" || bytes.starts_with(b"DICM") {
        Sniffed::Dicom
    } else {
        Sniffed::Unknown
    }
}

/// Decode a scan. The content decides the format (magic bytes); the media
/// type (`application/dicom`, `image/png`, `image/jpeg`) is used when the
/// content has no recognisable signature (e.g. DICOM without preamble).
pub fn decode_scan(bytes: &[u8], media_type: &str) -> Result<Scan, RenderError> {
    if bytes.is_empty() {
        return Err(unsupported("the file is empty"));
    }
    let kind = match sniff(bytes) {
        Sniffed::Unknown => match media_type.split(';').next().unwrap_or("").trim() {
            "application/dicom" | "application/dicom+binary" => Sniffed::Dicom,
            "image/png" => Sniffed::Png,
            "image/jpeg" | "image/jpg" => Sniffed::Jpeg,
            other => {
                return Err(unsupported(format!(
                    "unrecognised file (media type `{other}`); expected DICOM, PNG or JPEG"
                )))
            }
        },
        k => k,
    };
    // The decoders are third-party code fed untrusted bytes: a panic inside
    // them must become an error message, not a crash of the app.
    let result = catch_unwind(AssertUnwindSafe(|| match kind {
        Sniffed::Png => decode_png(bytes),
        Sniffed::Jpeg => decode_jpeg(bytes),
        _ => decode_dicom(bytes),
    }));
    match result {
        Ok(r) => r,
        Err(_) => Err(unsupported("the decoder failed on malformed image data")),
    }
}

fn check_size(
    width: u32,
    height: u32,
    channels: usize,
    frames: usize,
) -> Result<usize, RenderError> {
    if width == 0 || height == 0 || frames == 0 {
        return Err(unsupported("the image has no pixels"));
    }
    let per_frame = (width as usize)
        .checked_mul(height as usize)
        .and_then(|v| v.checked_mul(channels))
        .ok_or_else(|| unsupported("image dimensions overflow"))?;
    if per_frame.saturating_mul(frames) > MAX_SAMPLES {
        return Err(unsupported(format!(
            "image too large ({width}×{height}×{frames} frames)"
        )));
    }
    Ok(per_frame)
}

fn min_max(frames: &[Samples]) -> (f64, f64) {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    let mut see = |v: f32| {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    };
    for f in frames {
        match f {
            Samples::U8(v) => v.iter().for_each(|&x| see(f32::from(x))),
            Samples::I16(v) => v.iter().for_each(|&x| see(f32::from(x))),
            Samples::U16(v) => v.iter().for_each(|&x| see(f32::from(x))),
            Samples::F32(v) => v.iter().for_each(|&x| see(x)),
        }
    }
    if lo > hi {
        (0.0, 0.0)
    } else {
        (f64::from(lo), f64::from(hi))
    }
}

fn full_range(min: f64, max: f64) -> Window {
    Window {
        center: f64::midpoint(min, max),
        width: (max - min).max(1.0),
    }
}

impl Scan {
    /// Dimensions, format, windows and other facts about the scan.
    pub fn info(&self) -> &ScanInfo {
        &self.info
    }

    /// Bytes the decoded samples occupy (what a cache of scans counts).
    pub fn heap_bytes(&self) -> usize {
        self.frames
            .iter()
            .map(Samples::heap_bytes)
            .sum::<usize>()
            .saturating_add(crate::vec_heap_bytes(&self.frames))
            .saturating_add(size_of::<Self>())
    }

    /// A copy of the samples of a frame: `height × width × channels`,
    /// row-major, in modality units (grey) or 0..=255 RGB (8-bit colour).
    pub fn samples(&self, frame: u32) -> Result<Vec<f32>, RenderError> {
        Ok(self.frame(frame)?.to_f32())
    }

    fn frame(&self, frame: u32) -> Result<&Samples, RenderError> {
        self.frames.get(frame as usize).ok_or_else(|| {
            RenderError::OutOfRange(format!(
                "frame {} of a scan with {} frames",
                frame + 1,
                self.frames.len()
            ))
        })
    }

    fn index(&self, x: u32, y: u32) -> Result<usize, RenderError> {
        if x >= self.info.width || y >= self.info.height {
            return Err(RenderError::OutOfRange(format!(
                "pixel ({x}, {y}) outside {}×{}",
                self.info.width, self.info.height
            )));
        }
        Ok((y as usize * self.info.width as usize + x as usize) * self.info.channels as usize)
    }
}

mod dcmtk;
mod dicom;
mod encapsulated;
mod frame;
mod image;
mod pixels;
mod tools;
mod walk;

use dicom::{decode_dicom, syntax_name};
pub(crate) use dicom::{dicom_header, DicomHeader};
pub use frame::{render_frame, render_frame_png};
use image::{decode_jpeg, decode_png};
pub use tools::{drag_window, measure, pixel_value, region_stats};
use walk::check_stream;

#[cfg(test)]
mod tests;
