//! PNG and JPEG images as scans: one frame, grey or colour, the full range
//! as the default window.

use std::io::Cursor;

use super::*;

fn image_scan(
    format: ScanFormat,
    width: u32,
    height: u32,
    channels: u8,
    photometric: &str,
    samples: Vec<f32>,
) -> Scan {
    let frames = vec![Samples::compact(samples)];
    let (min, max) = min_max(&frames);
    // Identity for 8-bit data under the DICOM linear function.
    let full = Window {
        center: 128.0,
        width: 256.0,
    };
    Scan {
        info: ScanInfo {
            format,
            width,
            height,
            frames: 1,
            channels,
            modality: None,
            units: None,
            pixel_spacing: None,
            photometric: photometric.to_string(),
            default_window: if max > 255.0 {
                full_range(min, max)
            } else {
                full
            },
            presets: vec![
                WindowPreset {
                    name: "Full range".into(),
                    window: full_range(min, max),
                },
                WindowPreset {
                    name: "Original".into(),
                    window: if max > 255.0 {
                        full_range(0.0, 65535.0)
                    } else {
                        full
                    },
                },
            ],
            min,
            max,
            warnings: Vec::new(),
        },
        frames,
        invert: false,
    }
}

pub(super) fn decode_png(bytes: &[u8]) -> Result<Scan, RenderError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder
        .read_info()
        .map_err(|e| unsupported(format!("invalid PNG: {e}")))?;
    let (w, h) = {
        let info = reader.info();
        (info.width, info.height)
    };
    check_size(w, h, 4, 1)?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| unsupported(format!("invalid or truncated PNG: {e}")))?;
    buf.truncate(frame.buffer_size());
    let sixteen = frame.bit_depth == png::BitDepth::Sixteen;
    let values: Vec<f32> = if sixteen {
        buf.chunks_exact(2)
            .map(|c| f32::from(u16::from_be_bytes([c[0], c[1]])))
            .collect()
    } else {
        buf.iter().map(|&b| f32::from(b)).collect()
    };
    let (src_channels, keep, photometric) = match frame.color_type {
        png::ColorType::Grayscale => (1, 1, "MONOCHROME2"),
        png::ColorType::GrayscaleAlpha => (2, 1, "MONOCHROME2"),
        png::ColorType::Rgb => (3, 3, "RGB"),
        png::ColorType::Rgba => (4, 3, "RGB"),
        png::ColorType::Indexed => return Err(unsupported("indexed PNG could not be expanded")),
    };
    let n = (frame.width as usize) * (frame.height as usize);
    if values.len() < n * src_channels {
        return Err(unsupported("truncated PNG pixel data"));
    }
    let samples: Vec<f32> = if src_channels == keep {
        values
    } else {
        values
            .chunks_exact(src_channels)
            .flat_map(|px| px[..keep].iter().copied())
            .collect()
    };
    Ok(image_scan(
        ScanFormat::Png,
        frame.width,
        frame.height,
        keep as u8,
        photometric,
        samples,
    ))
}

pub(super) fn decode_jpeg(bytes: &[u8]) -> Result<Scan, RenderError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(MAX_SAMPLES);
    let pixels = decoder
        .decode()
        .map_err(|e| unsupported(format!("invalid or truncated JPEG: {e}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| unsupported("JPEG without image information"))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let (channels, samples): (u8, Vec<f32>) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (1, pixels.iter().map(|&b| f32::from(b)).collect()),
        // jpeg-decoder writes 16-bit samples in native byte order.
        jpeg_decoder::PixelFormat::L16 => (
            1,
            pixels
                .chunks_exact(2)
                .map(|c| f32::from(u16::from_ne_bytes([c[0], c[1]])))
                .collect(),
        ),
        jpeg_decoder::PixelFormat::RGB24 => (3, pixels.iter().map(|&b| f32::from(b)).collect()),
        jpeg_decoder::PixelFormat::CMYK32 => {
            return Err(unsupported("CMYK JPEG images are not supported"))
        }
    };
    let per_frame = check_size(w, h, channels as usize, 1)?;
    if samples.len() < per_frame {
        return Err(unsupported("truncated JPEG pixel data"));
    }
    let photometric = if channels == 1 { "MONOCHROME2" } else { "RGB" };
    Ok(image_scan(
        ScanFormat::Jpeg,
        w,
        h,
        channels,
        photometric,
        samples,
    ))
}
