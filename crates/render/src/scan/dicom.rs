//! DICOM: the header read and checked (transfer syntax, sizes, functional
//! groups), the pixel data decoded (natively, through `dicom-pixeldata`, or
//! through dcmtk for what neither reads) and rescaled into modality units.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io::Cursor;

use dicom_core::dictionary::DataDictionary;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::*;

fn text_tag(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().trim_end_matches('\0').trim().to_string())
        .filter(|s| !s.is_empty())
}

fn floats_tag(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.is_finite())
        .collect()
}

/// Standard CT presets (centre / width in HU).
const CT_PRESETS: &[(&str, f64, f64)] = &[
    ("Soft tissue", 40.0, 400.0),
    ("Lung", -600.0, 1500.0),
    ("Bone", 400.0, 1800.0),
    ("Brain", 40.0, 80.0),
    ("Liver", 60.0, 160.0),
    ("Mediastinum", 50.0, 350.0),
    ("Abdomen", 60.0, 400.0),
];

const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Largest inflated data set of a Deflated Explicit VR Little Endian file.
const MAX_INFLATED: u64 = 1 << 30;

/// Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the
/// file meta group is a raw deflate stream. Inflate it (bounded: a deflate
/// bomb is an error) and relabel the file as Explicit VR Little Endian.
pub(super) fn inflate_dataset(bytes: &[u8], limit: u64) -> Result<Vec<u8>, RenderError> {
    use std::io::Read;
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        132
    } else if bytes.starts_with(b"DICM") {
        4
    } else {
        return Err(unsupported(
            "a deflated DICOM file needs a file meta group (DICM)",
        ));
    };
    let group_len = bytes
        .get(start..start + 12)
        .filter(|h| h[..6] == [0x02, 0x00, 0x00, 0x00, b'U', b'L'])
        .map(|h| u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize)
        .ok_or_else(|| unsupported("the file meta group has no group length"))?;
    let meta_end = start + 12 + group_len;
    let meta = bytes
        .get(..meta_end)
        .ok_or_else(|| unsupported("the file meta group is truncated"))?;
    let mut out = meta.to_vec();
    // Same length: "1.2.840.10008.1.2.1" padded with NULs (trimmed by parsers).
    let uid = DEFLATED.as_bytes();
    let at = out
        .windows(uid.len())
        .position(|w| w == uid)
        .ok_or_else(|| unsupported("the deflated file's transfer syntax was not found"))?;
    let mut relabel = EXPLICIT_LE.as_bytes().to_vec();
    relabel.resize(uid.len(), 0);
    out[at..at + uid.len()].copy_from_slice(&relabel);
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(&bytes[meta_end..])
        .take(limit + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| {
            unsupported(format!(
                "cannot inflate the Deflated Explicit VR Little Endian ({DEFLATED}) data set: {e}"
            ))
        })?;
    if inflated.len() as u64 > limit {
        return Err(unsupported(format!(
            "the deflated data set inflates to more than {} MiB (refused)",
            limit >> 20
        )));
    }
    out.extend_from_slice(&inflated);
    Ok(out)
}

/// Transfer syntax UID from the file meta group, if readable.
fn transfer_syntax_of(bytes: &[u8]) -> Option<String> {
    let needle = [0x02u8, 0x00, 0x10, 0x00, b'U', b'I'];
    let at = bytes.windows(6).take(4096).position(|w| w == needle)?;
    let len = usize::from(u16::from_le_bytes([
        *bytes.get(at + 6)?,
        *bytes.get(at + 7)?,
    ]));
    let raw = bytes.get(at + 8..at + 8 + len)?;
    Some(
        String::from_utf8_lossy(raw)
            .trim_end_matches(['\0', ' '])
            .to_string(),
    )
}

/// Reviewer-facing name of a transfer syntax (how the pixel data is
/// encoded), for messages.
pub(super) fn syntax_name(uid: &str) -> Option<&'static str> {
    let tail = uid.strip_prefix("1.2.840.10008.1.2")?;
    Some(match tail {
        "" => "Implicit VR Little Endian (uncompressed)",
        ".1" => "Explicit VR Little Endian (uncompressed)",
        ".1.98" => "Encapsulated Uncompressed Explicit VR Little Endian",
        ".1.99" => "Deflated Explicit VR Little Endian",
        ".2" => "Explicit VR Big Endian (uncompressed)",
        ".4.50" => "JPEG Baseline",
        ".4.51" => "JPEG Extended",
        ".4.57" => "JPEG Lossless",
        ".4.70" => "JPEG Lossless (first-order prediction)",
        ".4.80" => "JPEG-LS Lossless",
        ".4.81" => "JPEG-LS Near-Lossless",
        ".4.90" => "JPEG 2000 Lossless",
        ".4.91" => "JPEG 2000",
        ".4.92" => "JPEG 2000 Part 2 Multi-component Lossless",
        ".4.93" => "JPEG 2000 Part 2 Multi-component",
        ".4.94" => "JPIP Referenced",
        ".4.95" => "JPIP Referenced Deflate",
        ".4.100" | ".4.100.1" | ".4.101" | ".4.101.1" => "MPEG-2 video",
        ".4.102" | ".4.102.1" | ".4.103" | ".4.103.1" | ".4.104" | ".4.104.1" | ".4.105"
        | ".4.105.1" | ".4.106" | ".4.106.1" => "MPEG-4 AVC/H.264 video",
        ".4.107" | ".4.108" => "HEVC/H.265 video",
        ".4.110" => "JPEG XL Lossless",
        ".4.111" => "JPEG XL JPEG Recompression",
        ".4.112" => "JPEG XL",
        ".4.201" => "High-Throughput JPEG 2000 Lossless",
        ".4.202" => "High-Throughput JPEG 2000 Lossless (RPCL)",
        ".4.203" => "High-Throughput JPEG 2000",
        ".4.204" => "JPIP HTJ2K Referenced",
        ".4.205" => "JPIP HTJ2K Referenced Deflate",
        ".5" => "RLE Lossless",
        _ => return None,
    })
}

/// Refuse, with a message naming it, a transfer syntax whose pixel data
/// this build cannot decode (JPEG-LS, JPEG XL, video, unknown UIDs).
fn check_transfer_syntax(uid: &str) -> Result<(), RenderError> {
    if uid == DEFLATED {
        return Ok(());
    }
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) if ts.can_decode_all() => Ok(()),
        Some(ts) => Err(unsupported(format!(
            "{} ({uid}) is not supported",
            syntax_name(uid).unwrap_or(ts.name())
        ))),
        None => Err(unsupported(match syntax_name(uid) {
            Some(name) => format!("{name} ({uid}) is not supported"),
            None => format!("the transfer syntax {uid} is unknown and not supported"),
        })),
    }
}

/// JPEG-LS transfer syntaxes (lossless and near-lossless).
fn is_jpegls(uid: &str) -> bool {
    matches!(uid, "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81")
}

/// JPEG 2000 transfer syntaxes (Part 1, Part 2 and High-Throughput).
fn is_jpeg2000(uid: &str) -> bool {
    matches!(
        uid,
        "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.92"
            | "1.2.840.10008.1.2.4.93"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203"
    )
}

/// Check each JPEG 2000 codestream's size marker (SIZ) against the DICOM
/// header before decoding: the codec writes the decoded components into a
/// buffer sized from the header and fails hard (index out of bounds) when a
/// corrupt or inconsistent codestream is larger or has more components.
fn check_jpeg2000_sizes(
    fragments: &[Vec<u8>],
    rows: u32,
    cols: u32,
    samples: u16,
    bits_allocated: u16,
) -> Result<(), String> {
    let be16 = |b: &[u8], at: usize| b.get(at..at + 2).map(|v| u16::from_be_bytes([v[0], v[1]]));
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    };
    let mut codestreams = 0;
    for fragment in fragments {
        // SOC then SIZ starts a codestream; other fragments continue one
        // (or wrap it in a JP2 file, which the codec checks itself).
        if !fragment.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
            continue;
        }
        codestreams += 1;
        let n = codestreams;
        let truncated = || format!("the codestream header of frame {n} is truncated");
        let x = be32(fragment, 8).ok_or_else(truncated)?;
        let y = be32(fragment, 12).ok_or_else(truncated)?;
        let x0 = be32(fragment, 16).ok_or_else(truncated)?;
        let y0 = be32(fragment, 20).ok_or_else(truncated)?;
        let components = be16(fragment, 40).ok_or_else(truncated)?;
        let (w, h) = (x.saturating_sub(x0), y.saturating_sub(y0));
        if (w, h, components) != (cols, rows, samples) {
            return Err(format!(
                "the codestream of frame {n} is {w}×{h} with {components} component(s) \
                 but the DICOM header says {cols}×{rows} with {samples} (inconsistent or corrupt file)"
            ));
        }
        for c in 0..usize::from(components) {
            let at = 42 + 3 * c;
            let depth = fragment.get(at).ok_or_else(truncated)?;
            let (dx, dy) = (fragment.get(at + 1), fragment.get(at + 2));
            let bits = u16::from(depth & 0x7F) + 1;
            if bits > bits_allocated || dx != Some(&1) || dy != Some(&1) {
                return Err(format!(
                    "component {} of the codestream of frame {n} has {bits} bits or is \
                     subsampled, which does not fit {bits_allocated} bits allocated",
                    c + 1
                ));
            }
        }
    }
    Ok(())
}

/// The item of a functional group sequence (per-frame `frame`, else shared)
/// that holds `inner`, e.g. the Pixel Value Transformation of frame 3.
fn functional_group(
    obj: &InMemDicomObject,
    frame: usize,
    inner: dicom_core::Tag,
) -> Option<&InMemDicomObject> {
    let item = |seq: dicom_core::Tag, i: usize| {
        obj.element_opt(seq)
            .ok()
            .flatten()
            .and_then(|e| e.items())
            .and_then(|items| items.get(i))
            .and_then(|group| group.element_opt(inner).ok().flatten())
            .and_then(|e| e.items())
            .and_then(|items| items.first())
    };
    item(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, frame)
        .or_else(|| item(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, 0))
}

/// Rescale slope and intercept of a frame: the image's own, else the
/// functional groups' (enhanced objects), else the RT Dose grid scaling.
fn rescale_of(obj: &InMemDicomObject, frame: usize) -> (f64, f64) {
    let pair = |o: &InMemDicomObject| {
        let slope = floats_tag(o, tags::RESCALE_SLOPE).first().copied();
        let intercept = floats_tag(o, tags::RESCALE_INTERCEPT).first().copied();
        (slope.is_some() || intercept.is_some())
            .then(|| (slope.unwrap_or(1.0), intercept.unwrap_or(0.0)))
    };
    pair(obj)
        .or_else(|| {
            functional_group(obj, frame, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE).and_then(pair)
        })
        .or_else(|| {
            floats_tag(obj, tags::DOSE_GRID_SCALING)
                .first()
                .map(|&s| (s, 0.0))
        })
        .unwrap_or((1.0, 0.0))
}

fn int_tag(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<i64>().ok())
}

fn ints_tag(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<i64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_int::<i64>().ok())
        .unwrap_or_default()
}

fn palette_of(obj: &InMemDicomObject) -> Result<pixels::Palette, String> {
    if obj
        .element_opt(tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)
        .ok()
        .flatten()
        .is_some()
    {
        return Err("segmented palette colour lookup tables are not supported".into());
    }
    let descriptor = |tag| {
        let mut d = ints_tag(obj, tag);
        // The entry count is always unsigned (0 means 65536).
        if let Some(n) = d.first_mut() {
            *n &= 0xFFFF;
        }
        d
    };
    let data = |tag| -> Result<Vec<u8>, String> {
        let value = obj
            .element_opt(tag)
            .ok()
            .flatten()
            .ok_or("the palette colour lookup table data is missing")?;
        let prim = value
            .value()
            .primitive()
            .ok_or("the palette colour lookup table data is not a value")?;
        pixels::native_bytes(prim, 2, false).map(Cow::into_owned)
    };
    let (dr, dg, db) = (
        descriptor(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
        descriptor(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
        descriptor(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
    );
    let (r, g, b) = (
        data(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
        data(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
        data(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
    );
    pixels::Palette::new([&dr, &dg, &db], [&r, &g, &b])
}

/// What a series needs to know about one DICOM file to place it, read
/// without its pixel data.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DicomHeader {
    pub rows: u32,
    pub cols: u32,
    pub frames: u32,
    pub position: Option<[f64; 3]>,
    pub orientation: Option<[f64; 6]>,
    pub instance: Option<i64>,
    pub series_uid: Option<String>,
    pub description: Option<String>,
    pub modality: Option<String>,
}

/// Reads a DICOM file's attributes up to (not including) the pixel data,
/// with the same tolerance and bounds as [`decode_scan`]; a panic in the
/// parser becomes an error.
pub(crate) fn dicom_header(bytes: &[u8]) -> Result<DicomHeader, RenderError> {
    catch_unwind(AssertUnwindSafe(|| dicom_header_inner(bytes)))
        .unwrap_or_else(|_| Err(unsupported("the parser failed on a malformed header")))
}

fn dicom_header_inner(bytes: &[u8]) -> Result<DicomHeader, RenderError> {
    if sniff(bytes) != Sniffed::Dicom {
        return Err(unsupported("not a DICOM file (no DICM signature)"));
    }
    let syntax = transfer_syntax_of(bytes);
    let inflated;
    let bytes = if syntax.as_deref() == Some(DEFLATED) {
        inflated = inflate_dataset(bytes, MAX_INFLATED)?;
        inflated.as_slice()
    } else {
        bytes
    };
    let (bytes, _) = check_stream(bytes)?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Auto)
        .read_until(tags::PIXEL_DATA)
        .from_reader(Cursor::new(&*bytes))
        .map_err(|e| unsupported(format!("not a readable DICOM file: {e}")))?;
    let dim = |tag| {
        int_tag(&obj, tag)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0 && u16::try_from(*v).is_ok())
    };
    let (Some(rows), Some(cols)) = (dim(tags::ROWS), dim(tags::COLUMNS)) else {
        return Err(unsupported(
            "the DICOM file has no image size (not an image)",
        ));
    };
    let frames = text_tag(&obj, tags::NUMBER_OF_FRAMES)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 1.0 && *f <= f64::from(u32::MAX))
        .map_or(1, |f| f as u32);
    let frame_group = |outer, inner| functional_group(&obj, 0, outer).map(|g| floats_tag(g, inner));
    let mut ipp = floats_tag(&obj, tags::IMAGE_POSITION_PATIENT);
    if ipp.len() < 3 {
        ipp = frame_group(tags::PLANE_POSITION_SEQUENCE, tags::IMAGE_POSITION_PATIENT)
            .unwrap_or_default();
    }
    let mut iop = floats_tag(&obj, tags::IMAGE_ORIENTATION_PATIENT);
    if iop.len() < 6 {
        iop = frame_group(
            tags::PLANE_ORIENTATION_SEQUENCE,
            tags::IMAGE_ORIENTATION_PATIENT,
        )
        .unwrap_or_default();
    }
    Ok(DicomHeader {
        rows,
        cols,
        frames,
        position: (ipp.len() >= 3).then(|| [ipp[0], ipp[1], ipp[2]]),
        orientation: (iop.len() >= 6).then(|| [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]]),
        instance: text_tag(&obj, tags::INSTANCE_NUMBER)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite() && v.abs() < 1e15)
            .map(|v| v as i64),
        series_uid: text_tag(&obj, tags::SERIES_INSTANCE_UID),
        description: text_tag(&obj, tags::SERIES_DESCRIPTION),
        modality: text_tag(&obj, tags::MODALITY),
    })
}

/// Whether the frames of a JPEG Extended file are 12-bit lossy JPEG, after
/// checking every frame's header against the DICOM header.
fn twelve_bit_jpeg(streams: &[Cow<'_, [u8]>], layout: &pixels::Layout) -> Result<bool, String> {
    let mut twelve = Vec::with_capacity(streams.len());
    for (i, s) in streams.iter().enumerate() {
        let h = encapsulated::jpeg_header(s)
            .and_then(|h| encapsulated::check_frame_against_header(&h, layout).map(|()| h))
            .map_err(|e| format!("frame {}: {e}", i + 1))?;
        twelve.push(h.precision == 12 && matches!(h.sof, 0xC0..=0xC2));
    }
    if twelve.iter().any(|&t| t) && (!twelve.iter().all(|&t| t) || layout.bits_allocated != 16) {
        return Err(
            "the JPEG frames mix 8- and 12-bit samples, or 12-bit samples are not stored in \
             16 bits allocated (inconsistent or corrupt file)"
                .into(),
        );
    }
    Ok(twelve.first() == Some(&true))
}

/// Decode a 12-bit JPEG Extended file through DCMTK's `dcmdjpeg` (found on
/// `search_path`): it rewrites the file uncompressed, bounded in time and
/// size, and the result is decoded as any uncompressed file.
fn decode_through_dcmtk(
    file: &[u8],
    layout: &pixels::Layout,
    label: &str,
    warnings: Vec<String>,
    search_path: Option<&OsStr>,
) -> Result<Scan, RenderError> {
    let Some(program) = dcmtk::find_program(dcmtk::PROGRAM, search_path) else {
        return Err(unsupported(dcmtk::missing_message(label)));
    };
    let cannot =
        |detail: String| unsupported(format!("cannot decode the {label} pixel data: {detail}"));
    let pixel_bytes = (layout.pixels() as u64)
        .saturating_mul(u64::from(layout.samples))
        .saturating_mul(u64::from(layout.frames))
        .saturating_mul(2);
    let (out, said) =
        dcmtk::decompress(&program, file, pixel_bytes, dcmtk::TIMEOUT).map_err(cannot)?;
    if transfer_syntax_of(&out).as_deref() != Some(EXPLICIT_LE) {
        return Err(cannot(format!(
            "{} did not write an uncompressed file",
            dcmtk::PROGRAM
        )));
    }
    let mut scan = decode_dicom_with(&out, None).map_err(|e| match e {
        RenderError::UnsupportedScan { reason } => cannot(format!(
            "after decompression by {}: {reason}",
            dcmtk::PROGRAM
        )),
        e => e,
    })?;
    let (w, h, f) = (scan.info.width, scan.info.height, scan.info.frames);
    if (w, h, f) != (layout.cols, layout.rows, layout.frames) {
        return Err(cannot(format!(
            "{} wrote a {w}×{h} image of {f} frame(s), but the file is {}×{} with {}",
            dcmtk::PROGRAM,
            layout.cols,
            layout.rows,
            layout.frames
        )));
    }
    let mut all = warnings;
    all.push(format!(
        "{label} with 12-bit samples was decoded by DCMTK's {} (an external program)",
        dcmtk::PROGRAM
    ));
    if let Some(said) = said {
        all.push(format!("{} reported: {said}", dcmtk::PROGRAM));
    }
    for w in std::mem::take(&mut scan.info.warnings) {
        if !all.contains(&w) {
            all.push(w);
        }
    }
    scan.info.warnings = all;
    Ok(scan)
}

pub(super) fn decode_dicom(bytes: &[u8]) -> Result<Scan, RenderError> {
    decode_dicom_with(bytes, std::env::var_os("PATH").as_deref())
}

/// JPEG Extended (Process 2 & 4), whose 12-bit frames go to DCMTK.
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// Decode a DICOM file; `search_path` (a `PATH`-style list) is where DCMTK's
/// `dcmdjpeg` is looked for when a 12-bit JPEG Extended file needs it.
pub(super) fn decode_dicom_with(
    bytes: &[u8],
    search_path: Option<&OsStr>,
) -> Result<Scan, RenderError> {
    let mut syntax = transfer_syntax_of(bytes);
    if let Some(uid) = syntax.as_deref() {
        check_transfer_syntax(uid)?;
    }
    let original = syntax.clone();
    let inflated;
    let bytes = if syntax.as_deref() == Some(DEFLATED) {
        inflated = inflate_dataset(bytes, MAX_INFLATED)?;
        syntax = Some(EXPLICIT_LE.to_string());
        inflated.as_slice()
    } else {
        bytes
    };
    let what = match original.as_deref() {
        Some(uid) => match syntax_name(uid) {
            Some(name) => format!("{name} ({uid}) pixel data"),
            None => format!("pixel data (transfer syntax {uid})"),
        },
        None => "DICOM pixel data".to_string(),
    };
    let cannot = |detail: String| unsupported(format!("cannot decode the {what}: {detail}"));
    let (bytes, mut warnings) = check_stream(bytes).map_err(|e| match e {
        RenderError::UnsupportedScan { reason }
            if reason.contains("pixel data fragment")
                || reason.contains("compressed pixel data") =>
        {
            cannot(reason)
        }
        e => e,
    })?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Auto)
        .from_reader(Cursor::new(&*bytes))
        .map_err(|e| unsupported(format!("not a readable DICOM file: {e}")))?;
    let syntax = syntax.unwrap_or_else(|| obj.meta().transfer_syntax().to_string());
    let Some(pixel_element) = obj.element_opt(tags::PIXEL_DATA).ok().flatten() else {
        return Err(unsupported(
            "the DICOM file has no pixel data (not an image)",
        ));
    };
    let us = |tag, default: Option<i64>| -> Result<i64, RenderError> {
        int_tag(&obj, tag).or(default).ok_or_else(|| {
            unsupported(format!(
                "the DICOM image lacks {} (corrupt or not an image)",
                dicom_dictionary_std::StandardDataDictionary
                    .by_tag(tag)
                    .map_or("a required attribute", |e| e.alias)
            ))
        })
    };
    let rows = us(tags::ROWS, None)?;
    let cols = us(tags::COLUMNS, None)?;
    let spp = us(tags::SAMPLES_PER_PIXEL, Some(1))?;
    let bits_allocated = us(tags::BITS_ALLOCATED, None)?;
    let bits_stored = us(tags::BITS_STORED, Some(bits_allocated))?;
    let high_bit = us(tags::HIGH_BIT, Some(bits_stored - 1))?;
    let declared_frames = text_tag(&obj, tags::NUMBER_OF_FRAMES)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    let in_u16 = |v: i64| (0..=i64::from(u16::MAX)).contains(&v);
    if ![rows, cols, spp, bits_allocated, bits_stored, high_bit]
        .into_iter()
        .all(in_u16)
        || !(1.0..=f64::from(u32::MAX)).contains(&declared_frames.max(1.0))
    {
        return Err(unsupported(
            "invalid image dimensions, samples per pixel, bits or number of frames",
        ));
    }
    let layout = pixels::Layout {
        rows: rows as u32,
        cols: cols as u32,
        samples: spp as u16,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        high_bit: high_bit as u16,
        signed: int_tag(&obj, tags::PIXEL_REPRESENTATION) == Some(1),
        planar: int_tag(&obj, tags::PLANAR_CONFIGURATION) == Some(1),
        frames: declared_frames.max(1.0) as u32,
    };
    layout.validate().map_err(cannot)?;
    check_size(
        layout.cols,
        layout.rows,
        spp as usize,
        layout.frames as usize,
    )?;
    let stored_pi = text_tag(&obj, tags::PHOTOMETRIC_INTERPRETATION)
        .unwrap_or_else(|| "MONOCHROME2".to_string());
    let frames_n = layout.frames as usize;
    let native = matches!(pixel_element.value(), dicom_core::DicomValue::Primitive(_))
        || syntax == "1.2.840.10008.1.2.1.98";
    let big_endian = syntax == "1.2.840.10008.1.2.2";

    // 1. Pixel data to frames of interleaved little-endian samples, and the
    //    photometric interpretation of what came out of the codec.
    let (raw_frames, pi): (Vec<Vec<u8>>, String) = match pixel_element.value() {
        dicom_core::DicomValue::Primitive(prim) => {
            let data = pixels::native_bytes(prim, layout.bytes_per_sample(), big_endian)
                .map_err(cannot)?;
            let ybr_422 = stored_pi == "YBR_FULL_422";
            (
                pixels::native_frames(&data, &layout, ybr_422).map_err(cannot)?,
                stored_pi.clone(),
            )
        }
        dicom_core::DicomValue::PixelSequence(seq) => {
            let fragments = seq.fragments();
            let offsets = seq.offset_table();
            if syntax == "1.2.840.10008.1.2.1.98" {
                let all: Vec<u8> = fragments.iter().flatten().copied().collect();
                (
                    pixels::native_frames(&all, &layout, stored_pi == "YBR_FULL_422")
                        .map_err(cannot)?,
                    stored_pi.clone(),
                )
            } else if syntax == "1.2.840.10008.1.2.5" {
                let streams = encapsulated::frame_streams(fragments, offsets, frames_n, false)
                    .map_err(cannot)?;
                let frames = streams
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        pixels::decode_rle_frame(s, &layout)
                            .map_err(|e| cannot(format!("frame {}: {e}", i + 1)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (frames, stored_pi.clone())
            } else if matches!(
                syntax.as_str(),
                "1.2.840.10008.1.2.4.50"
                    | "1.2.840.10008.1.2.4.51"
                    | "1.2.840.10008.1.2.4.57"
                    | "1.2.840.10008.1.2.4.70"
            ) {
                let streams = encapsulated::frame_streams(fragments, offsets, frames_n, true)
                    .map_err(cannot)?;
                let name = syntax_name(&syntax).unwrap_or("JPEG");
                let syntax_label = format!("{name} ({syntax})");
                if syntax == JPEG_EXTENDED && twelve_bit_jpeg(&streams, &layout).map_err(cannot)? {
                    return decode_through_dcmtk(
                        &bytes,
                        &layout,
                        &syntax_label,
                        warnings,
                        search_path,
                    );
                }
                let frames = streams
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        encapsulated::decode_jpeg_frame(
                            s,
                            &layout,
                            &stored_pi,
                            &syntax_label,
                            &mut warnings,
                        )
                        .map_err(|e| {
                            if e.contains("cannot be decoded") {
                                unsupported(e)
                            } else {
                                cannot(format!("frame {}: {e}", i + 1))
                            }
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let pi = if layout.samples == 3 {
                    "RGB".to_string()
                } else {
                    stored_pi.clone()
                };
                (frames, pi)
            } else {
                // JPEG 2000 and JPEG-LS: dicom-pixeldata's codecs (OpenJPEG,
                // CharLS), after checking each codestream's header.
                if is_jpeg2000(&syntax) {
                    check_jpeg2000_sizes(
                        fragments,
                        layout.rows,
                        layout.cols,
                        layout.samples,
                        layout.bits_allocated,
                    )
                    .map_err(cannot)?;
                }
                if is_jpegls(&syntax) {
                    if layout.bits_allocated > 16 {
                        return Err(cannot(format!(
                            "{} bits allocated are not supported in JPEG-LS",
                            layout.bits_allocated
                        )));
                    }
                    for (i, s) in encapsulated::frame_streams(fragments, offsets, frames_n, true)
                        .map_err(cannot)?
                        .iter()
                        .enumerate()
                    {
                        encapsulated::check_jpegls_header(s, &layout)
                            .map_err(|e| cannot(format!("frame {}: {e}", i + 1)))?;
                    }
                }
                let px = obj.decode_pixel_data().map_err(|e| {
                    // The decoder's own cause (e.g. "codestream truncated")
                    // is more telling than "could not decode pixel data".
                    let mut detail = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        detail.push_str(": ");
                        detail.push_str(&cause.to_string());
                        source = cause.source();
                    }
                    tracing::debug!(error = %detail, "DICOM pixel data decode failed");
                    cannot(detail)
                })?;
                let len = layout.decoded_frame_len();
                let data = px.data();
                if data.len() < len * frames_n {
                    return Err(cannot(format!(
                        "the codec returned {} bytes for {frames_n} frame(s) of {len}",
                        data.len()
                    )));
                }
                // OpenJPEG undoes the YBR_RCT/YBR_ICT component transform;
                // YBR_FULL components come out as stored and are converted
                // below.
                let pi = if layout.samples == 3 {
                    if stored_pi.starts_with("YBR_FULL")
                        && (is_jpeg2000(&syntax) || is_jpegls(&syntax))
                    {
                        "YBR_FULL".to_string()
                    } else {
                        "RGB".to_string()
                    }
                } else {
                    px.photometric_interpretation().as_str().to_string()
                };
                (
                    data[..len * frames_n]
                        .chunks_exact(len)
                        .map(<[u8]>::to_vec)
                        .collect(),
                    pi,
                )
            }
        }
        dicom_core::DicomValue::Sequence(_) => {
            return Err(cannot("the pixel data element is a sequence".into()))
        }
    };

    // 2. Stored values to modality values (grey) or RGB (colour).
    let palette = if pi == "PALETTE COLOR" {
        Some(palette_of(&obj).map_err(cannot)?)
    } else {
        None
    };
    let channels: u8 = if layout.samples == 3 || palette.is_some() {
        3
    } else {
        1
    };
    if layout.samples == 3 && pi.starts_with("YBR") && layout.bits_allocated != 8 {
        return Err(cannot(format!(
            "{pi} with {} bits allocated is not supported (expected 8)",
            layout.bits_allocated
        )));
    }
    let known = match layout.samples {
        1 => matches!(pi.as_str(), "MONOCHROME1" | "MONOCHROME2" | "PALETTE COLOR"),
        _ => matches!(pi.as_str(), "RGB" | "YBR_FULL" | "YBR_FULL_422"),
    };
    if !known {
        return Err(cannot(format!(
            "the photometric interpretation {pi} with {} sample(s) per pixel is not supported",
            layout.samples
        )));
    }
    let mut frames = Vec::with_capacity(frames_n);
    for (f, raw) in raw_frames.iter().enumerate() {
        let mut values = pixels::stored_values(raw, &layout);
        let samples = if let Some(palette) = &palette {
            Samples::compact(values.iter().flat_map(|&v| palette.map(v)).collect())
        } else if layout.samples == 3 {
            if pi == "YBR_FULL_422" && raw.len() < layout.decoded_frame_len() {
                values = pixels::expand_422(&values, &layout).map_err(cannot)?;
            } else if layout.planar && native {
                values = pixels::interleave_planes(&values, layout.pixels());
            }
            Samples::compact(if pi.starts_with("YBR_FULL") {
                values
                    .chunks_exact(3)
                    .flat_map(|p| pixels::ybr_full_to_rgb(p[0] as f32, p[1] as f32, p[2] as f32))
                    .collect()
            } else {
                values.iter().map(|&v| v as f32).collect()
            })
        } else {
            let (slope, intercept) = rescale_of(&obj, f);
            Samples::rescaled(&values, slope, intercept)
        };
        if samples.len() < layout.pixels() * usize::from(channels) {
            return Err(cannot(format!("frame {} is truncated", f + 1)));
        }
        frames.push(samples);
    }
    let photometric = pi;
    let invert = photometric == "MONOCHROME1";
    let modality = text_tag(&obj, tags::MODALITY);
    let units = if modality.as_deref() == Some("CT") {
        Some("HU".to_string())
    } else if modality.as_deref() == Some("RTDOSE") {
        text_tag(&obj, tags::DOSE_UNITS).map(|u| if u == "GY" { "Gy".into() } else { u })
    } else {
        text_tag(&obj, tags::RESCALE_TYPE).or_else(|| {
            functional_group(&obj, 0, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)
                .and_then(|g| text_tag(g, tags::RESCALE_TYPE))
        })
    };
    let spacing = {
        let s = floats_tag(&obj, tags::PIXEL_SPACING);
        let s = if s.len() >= 2 {
            s
        } else {
            let s = floats_tag(&obj, tags::IMAGER_PIXEL_SPACING);
            if s.len() >= 2 {
                s
            } else {
                functional_group(&obj, 0, tags::PIXEL_MEASURES_SEQUENCE)
                    .map(|g| floats_tag(g, tags::PIXEL_SPACING))
                    .unwrap_or_default()
            }
        };
        (s.len() >= 2 && s[0] > 0.0 && s[1] > 0.0).then(|| (s[0], s[1]))
    };
    let (min, max) = min_max(&frames);
    let voi: &InMemDicomObject = if obj
        .element_opt(tags::WINDOW_CENTER)
        .ok()
        .flatten()
        .is_some()
    {
        &obj
    } else {
        functional_group(&obj, 0, tags::FRAME_VOILUT_SEQUENCE).unwrap_or(&obj)
    };
    let centers = floats_tag(voi, tags::WINDOW_CENTER);
    let widths = floats_tag(voi, tags::WINDOW_WIDTH);
    let names: Vec<String> = voi
        .element_opt(tags::WINDOW_CENTER_WIDTH_EXPLANATION)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_str().ok().map(|v| v.to_vec()))
        .unwrap_or_default();
    let mut presets: Vec<WindowPreset> = centers
        .iter()
        .zip(widths.iter())
        .enumerate()
        .filter(|(_, (_, w))| **w >= 1.0)
        .map(|(i, (c, w))| WindowPreset {
            name: names
                .get(i)
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("Window {}", i + 1)),
            window: Window {
                center: *c,
                width: *w,
            },
        })
        .collect();
    let default_window = presets
        .first()
        .map_or_else(|| full_range(min, max), |p| p.window);
    if modality.as_deref() == Some("CT") {
        presets.extend(CT_PRESETS.iter().map(|(name, c, w)| WindowPreset {
            name: (*name).to_string(),
            window: Window {
                center: *c,
                width: *w,
            },
        }));
    }
    presets.push(WindowPreset {
        name: "Full range".into(),
        window: full_range(min, max),
    });
    Ok(Scan {
        info: ScanInfo {
            format: ScanFormat::Dicom,
            width: layout.cols,
            height: layout.rows,
            frames: layout.frames,
            channels,
            modality,
            units,
            pixel_spacing: spacing,
            photometric,
            default_window,
            presets,
            min,
            max,
            warnings,
        },
        frames,
        invert,
    })
}
