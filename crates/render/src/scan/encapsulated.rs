//! Encapsulated (compressed) DICOM pixel data: which fragments make which
//! frame, JPEG (ISO 10918) frames through `jpeg-decoder` with the colour
//! model decided as libjpeg and DCMTK do, and header checks of JPEG-LS
//! codestreams before CharLS allocates from them.

use std::borrow::Cow;

use super::pixels::Layout;

/// The compressed byte stream of each frame. DICOM allows one frame per
/// fragment, one frame over several fragments (found through the Basic
/// Offset Table or, for JPEG, the start-of-image markers), or a single
/// frame over all fragments.
pub(crate) fn frame_streams<'a>(
    fragments: &'a [Vec<u8>],
    offsets: &[u32],
    frames: usize,
    jpeg: bool,
) -> Result<Vec<Cow<'a, [u8]>>, String> {
    let concat = |group: &[&'a Vec<u8>]| -> Cow<'a, [u8]> {
        match group {
            [one] => Cow::Borrowed(one.as_slice()),
            many => Cow::Owned(many.iter().flat_map(|f| f.iter().copied()).collect()),
        }
    };
    let streams: Vec<Cow<'a, [u8]>> = if fragments.len() == frames {
        fragments
            .iter()
            .map(|f| Cow::Borrowed(f.as_slice()))
            .collect()
    } else if frames == 1 {
        let all: Vec<&Vec<u8>> = fragments.iter().collect();
        vec![concat(&all)]
    } else if offsets.len() == frames {
        // Offsets count the bytes of the fragment items (8-byte header
        // plus value) from the first fragment.
        let mut groups: Vec<Vec<&Vec<u8>>> = vec![Vec::new(); frames];
        let mut at = 0u64;
        for fragment in fragments {
            let frame = offsets
                .iter()
                .rposition(|&o| u64::from(o) <= at)
                .ok_or("the basic offset table does not start at the first fragment")?;
            groups[frame].push(fragment);
            at += 8 + fragment.len() as u64;
        }
        groups.iter().map(|g| concat(g)).collect()
    } else if jpeg {
        let mut groups: Vec<Vec<&Vec<u8>>> = Vec::new();
        for fragment in fragments {
            match groups.last_mut() {
                Some(group) if !fragment.starts_with(&[0xFF, 0xD8]) => group.push(fragment),
                _ => groups.push(vec![fragment]),
            }
        }
        groups.iter().map(|g| concat(g)).collect()
    } else {
        return Err(format!(
            "{} fragments for {frames} frames and no offset table to tell them apart",
            fragments.len()
        ));
    };
    if streams.len() != frames || streams.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "the pixel data holds {} compressed frame(s) but the header says {frames}",
            streams.iter().filter(|s| !s.is_empty()).count()
        ));
    }
    Ok(streams)
}

/// What the markers of a JPEG stream say (up to the first scan).
#[derive(Debug, Default)]
pub(crate) struct JpegHeader {
    pub sof: u8,
    pub precision: u8,
    pub width: u16,
    pub height: u16,
    pub ids: Vec<u8>,
    pub jfif: bool,
    /// Adobe APP14 transform flag (0: none, 1: YCbCr, 2: YCCK).
    pub adobe: Option<u8>,
}

pub(crate) fn jpeg_header(data: &[u8]) -> Result<JpegHeader, String> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("the frame does not start with a JPEG start-of-image marker".into());
    }
    let mut h = JpegHeader::default();
    let mut pos = 2;
    loop {
        // Skip fill bytes.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return Err("the JPEG header is truncated or corrupt".into());
        };
        let len = data
            .get(pos + 2..pos + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("the JPEG header is truncated")?;
        let body = data
            .get(pos + 4..pos + 2 + len)
            .ok_or("a JPEG marker segment runs past the end of the frame")?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if body.len() < 6 {
                    return Err("the JPEG frame header is truncated".into());
                }
                h.sof = marker;
                h.precision = body[0];
                h.height = u16::from_be_bytes([body[1], body[2]]);
                h.width = u16::from_be_bytes([body[3], body[4]]);
                let n = usize::from(body[5]);
                h.ids = (0..n)
                    .filter_map(|c| body.get(6 + 3 * c).copied())
                    .collect();
            }
            0xE0 if body.starts_with(b"JFIF\0") => h.jfif = true,
            0xEE if body.starts_with(b"Adobe") => h.adobe = body.get(11).copied(),
            0xDA => return Ok(h),
            _ => {}
        }
        pos += 2 + len;
    }
}

/// The colour model to decode three JPEG components with, and a warning
/// when the file does not settle it.
fn colour_model(h: &JpegHeader, photometric: &str) -> (bool, Option<String>) {
    let pi_ybr = photometric.starts_with("YBR");
    let pi_rgb = photometric == "RGB";
    // libjpeg's rule: JFIF means YCbCr; otherwise an Adobe marker says it
    // (transform 0 = RGB); otherwise component ids 'R' 'G' 'B' mean RGB.
    let markers = if h.jfif {
        Some((true, "a JFIF marker"))
    } else if let Some(t) = h.adobe {
        Some((t != 0, "an Adobe APP14 marker"))
    } else if h.ids == [b'R', b'G', b'B'] {
        Some((false, "component identifiers R, G, B"))
    } else {
        None
    };
    match markers {
        Some((ycbcr, what)) => {
            let agrees = if ycbcr { !pi_rgb } else { !pi_ybr };
            let warning = (!agrees).then(|| {
                format!(
                    "the colour model is uncertain: Photometric Interpretation {photometric} \
                     but the JPEG stream has {what} saying {}; decoded as {}",
                    if ycbcr { "YCbCr" } else { "RGB" },
                    if ycbcr { "YCbCr" } else { "RGB" },
                )
            });
            (ycbcr, warning)
        }
        // No marker: trust the DICOM header, as DCMTK does.
        None if pi_rgb => (false, None),
        None if pi_ybr => (true, None),
        None => (
            true,
            Some(format!(
                "the colour model is uncertain: Photometric Interpretation {photometric} and \
                 no JFIF or Adobe marker in the JPEG stream; decoded as YCbCr"
            )),
        ),
    }
}

/// A JPEG frame must have the size and component count the DICOM header
/// gives, whoever decodes it.
pub(crate) fn check_frame_against_header(h: &JpegHeader, layout: &Layout) -> Result<(), String> {
    if (u32::from(h.width), u32::from(h.height), h.ids.len())
        == (layout.cols, layout.rows, usize::from(layout.samples))
    {
        return Ok(());
    }
    Err(format!(
        "the JPEG frame is {}×{} with {} component(s) but the DICOM header says {}×{} with {} \
         (inconsistent or corrupt file)",
        h.width,
        h.height,
        h.ids.len(),
        layout.cols,
        layout.rows,
        layout.samples
    ))
}

/// Decode one JPEG frame into interleaved little-endian samples of the
/// layout's width. Colour frames come out as RGB.
pub(crate) fn decode_jpeg_frame(
    data: &[u8],
    layout: &Layout,
    photometric: &str,
    syntax: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, String> {
    let h = jpeg_header(data)?;
    check_frame_against_header(&h, layout)?;
    let lossless = matches!(h.sof, 0xC3 | 0xC7 | 0xCB | 0xCF);
    if !lossless && h.precision != 8 {
        return Err(format!(
            "{syntax} with {}-bit samples cannot be decoded: Assay decodes lossy JPEG of more \
             than 8 bits only in DICOM files of the JPEG Extended transfer syntax \
             (1.2.840.10008.1.2.4.51), through DCMTK. Convert the file to an uncompressed or \
             lossless syntax first, e.g. with DCMTK (`dcmdjpeg in.dcm out.dcm`) or GDCM \
             (`gdcmconv --raw in.dcm out.dcm`)",
            h.precision
        ));
    }
    let mut decoder = jpeg_decoder::Decoder::new(data);
    decoder.set_max_decoding_buffer_size(layout.decoded_frame_len().saturating_mul(2).max(1 << 16));
    if layout.samples == 3 {
        let (ycbcr, warning) = if lossless {
            // Lossless JPEG in DICOM keeps the components as stored.
            (false, None)
        } else {
            colour_model(&h, photometric)
        };
        if let Some(w) = warning {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        decoder.set_color_transform(if ycbcr {
            jpeg_decoder::ColorTransform::YCbCr
        } else {
            jpeg_decoder::ColorTransform::RGB
        });
    }
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder
        .info()
        .ok_or("the JPEG frame has no image information")?;
    let values: Vec<u32> = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::RGB24 => {
            pixels.iter().map(|&b| u32::from(b)).collect()
        }
        // jpeg-decoder writes 16-bit samples in native byte order.
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .map(|c| u32::from(u16::from_ne_bytes([c[0], c[1]])))
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => {
            return Err("CMYK JPEG frames are not supported".into())
        }
    };
    let want = layout.pixels() * usize::from(layout.samples);
    if values.len() < want {
        return Err("the JPEG frame decoded to fewer pixels than the header says".into());
    }
    let bytes = layout.bytes_per_sample();
    Ok(values[..want]
        .iter()
        .flat_map(|v| v.to_le_bytes().into_iter().take(bytes))
        .collect())
}

/// Check a JPEG-LS frame header (SOF55) against the DICOM header before
/// CharLS allocates the image it describes.
pub(crate) fn check_jpegls_header(data: &[u8], layout: &Layout) -> Result<(), String> {
    let mut pos = 2;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("the frame does not start with a JPEG-LS start-of-image marker".into());
    }
    while let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) {
        let len = data
            .get(pos + 2..pos + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("the JPEG-LS header is truncated")?;
        if marker == 0xF7 {
            let b = data
                .get(pos + 4..pos + 10)
                .ok_or("the JPEG-LS frame header is truncated")?;
            let (bits, h, w, n) = (
                b[0],
                u16::from_be_bytes([b[1], b[2]]),
                u16::from_be_bytes([b[3], b[4]]),
                b[5],
            );
            if (u32::from(w), u32::from(h), u16::from(n))
                != (layout.cols, layout.rows, layout.samples)
                || u16::from(bits) > layout.bits_allocated
            {
                return Err(format!(
                    "the JPEG-LS frame is {w}×{h} with {n} component(s) of {bits} bits but the \
                     DICOM header says {}×{} with {} of {} bits allocated (inconsistent or corrupt file)",
                    layout.cols, layout.rows, layout.samples, layout.bits_allocated
                ));
            }
            return Ok(());
        }
        pos += 2 + len;
    }
    Err("the JPEG-LS frame header is missing or corrupt".into())
}
