//! The readout, length, region and window-drag tools, in modality units and
//! millimetres where the scan says its spacing.

use super::*;

/// Pixel value in modality units (e.g. HU). For RGB images: the luma.
pub fn pixel_value(scan: &Scan, frame: u32, x: u32, y: u32) -> Result<f64, RenderError> {
    value_at(scan, scan.frame(frame)?, x, y)
}

/// The value of pixel (`x`, `y`) in `data`, a frame of `scan`: modality
/// units, or the luma of RGB. Outside the image is an error.
fn value_at(scan: &Scan, data: &Samples, x: u32, y: u32) -> Result<f64, RenderError> {
    let i = scan.index(x, y)?;
    let at = |k: usize| -> Result<f64, RenderError> {
        data.get(k).map(f64::from).ok_or_else(|| {
            RenderError::OutOfRange(format!("pixel ({x}, {y}) past the frame's samples"))
        })
    };
    Ok(if scan.info.channels == 3 {
        0.299 * at(i)? + 0.587 * at(i + 1)? + 0.114 * at(i + 2)?
    } else {
        at(i)?
    })
}

/// Distance between two points (pixel coordinates): millimetres when the
/// pixel spacing is known, pixels otherwise.
pub fn measure(scan: &Scan, p1: (f64, f64), p2: (f64, f64)) -> Length {
    let dx = p2.0 - p1.0;
    let dy = p2.1 - p1.1;
    let pixels = (dx * dx + dy * dy).sqrt();
    match scan.info.pixel_spacing {
        Some((row, col)) => Length {
            value: ((dx * col).powi(2) + (dy * row).powi(2)).sqrt(),
            unit: LengthUnit::Mm,
            pixels,
        },
        None => Length {
            value: pixels,
            unit: LengthUnit::Px,
            pixels,
        },
    }
}

/// Statistics of the pixels inside a rectangle (clipped to the image).
pub fn region_stats(
    scan: &Scan,
    frame: u32,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
) -> Result<RegionStats, RenderError> {
    let data = scan.frame(frame)?;
    let clip = |v: f64, max: u32| -> u32 {
        if v.is_finite() {
            v.clamp(0.0, f64::from(max)) as u32
        } else {
            0
        }
    };
    let (x0, x1) = (
        clip(x.min(x + width), scan.info.width),
        clip(x.max(x + width), scan.info.width),
    );
    let (y0, y1) = (
        clip(y.min(y + height), scan.info.height),
        clip(y.max(y + height), scan.info.height),
    );
    if x1 <= x0 || y1 <= y0 {
        return Err(RenderError::OutOfRange(
            "the region has no pixels inside the image".into(),
        ));
    }
    let mut n = 0u64;
    let (mut sum, mut sum2) = (0.0f64, 0.0f64);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for yy in y0..y1 {
        for xx in x0..x1 {
            let v = value_at(scan, data, xx, yy)?;
            n += 1;
            sum += v;
            sum2 += v * v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let mean = sum / n as f64;
    let var = (sum2 / n as f64 - mean * mean).max(0.0);
    Ok(RegionStats {
        pixels: n,
        mean,
        std_dev: var.sqrt(),
        min: lo,
        max: hi,
        area_mm2: scan
            .info
            .pixel_spacing
            .map(|(r, c)| f64::from(x1 - x0) * c * f64::from(y1 - y0) * r),
    })
}

/// Window/level drag: horizontal motion changes the width, vertical the
/// centre, scaled to the scan's value range (one screen pixel ≈ 0.5% of it).
pub fn drag_window(scan: &Scan, start: Window, dx: f64, dy: f64) -> Window {
    let range = (scan.info.max - scan.info.min).max(1.0);
    let k = range / 200.0;
    Window {
        center: start.center + dy * k,
        width: (start.width + dx * k).max(1.0),
    }
}
