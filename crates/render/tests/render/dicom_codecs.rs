//! Compressed DICOM decoded by `decode_scan`, against fixtures encoded by a
//! third-party encoder (pydicom + OpenJPEG, see `fixtures/dicom/generate.py`).
//! The pixel formulas here mirror the ones in that script; every pixel of
//! every frame is compared.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Once};
use std::time::{Duration, Instant};

use assay_render::{decode_scan, pixel_value, render_frame, RenderError, Scan, Window};

const ROWS: u32 = 48;
const COLS: u32 = 64;
const FRAMES: u32 = 2;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dicom")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A window of `center` and `width`.
fn win(center: f64, width: f64) -> Window {
    Window { center, width }
}

fn decode(name: &str) -> Scan {
    decode_scan(&fixture(name), "application/dicom")
        .unwrap_or_else(|e| panic!("{name} should decode: {e}"))
}

fn ct12(f: u32, y: u32, x: u32) -> i64 {
    i64::from((x * 67 + y * 29 + f * 811 + (x * y) % 53) % 4096)
}

fn mr16(f: u32, y: u32, x: u32) -> i64 {
    i64::from((x * 1031 + y * 977 + f * 12345 + x * y * 7) % 65536)
}

fn ct_signed(f: u32, y: u32, x: u32) -> i64 {
    i64::from((x * 131 + y * 71 + f * 997) % 6000) - 2000
}

fn rgb8(f: u32, y: u32, x: u32) -> [u8; 3] {
    [
        ((x * 4) % 256) as u8,
        ((y * 5) % 256) as u8,
        ((x + y + f * 50) % 256) as u8,
    ]
}

fn smooth12(f: u32, y: u32, x: u32) -> f64 {
    (2048.0 + 1200.0 * (f64::from(x) / 9.0 + f64::from(f)).sin() * (f64::from(y) / 7.0).cos())
        .round()
}

fn assert_geometry(scan: &Scan, channels: u8, photometric: &str) {
    let info = &scan.info;
    assert_eq!(
        (info.width, info.height, info.frames, info.channels),
        (COLS, ROWS, FRAMES, channels)
    );
    assert_eq!(info.photometric, photometric);
}

/// Every pixel of every frame equals `expected` (modality units).
fn assert_every_pixel(scan: &Scan, expected: impl Fn(u32, u32, u32) -> f64) {
    let mut checked = 0;
    for f in 0..FRAMES {
        for y in 0..ROWS {
            for x in 0..COLS {
                let got = pixel_value(scan, f, x, y).unwrap();
                let want = expected(f, y, x);
                assert_eq!(got, want, "frame {f} pixel ({x}, {y})");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, FRAMES * ROWS * COLS);
}

#[test]
fn jpeg2000_lossless_ct_12_bit_two_frames_with_rescale_and_windows() {
    let scan = decode("ct12_j2k_lossless.dcm");
    assert_geometry(&scan, 1, "MONOCHROME2");
    let info = &scan.info;
    assert_eq!(info.modality.as_deref(), Some("CT"));
    assert_eq!(info.units.as_deref(), Some("HU"));
    assert_eq!(info.pixel_spacing, Some((0.5, 0.75)));
    // HU = stored value - 1024.
    assert_every_pixel(&scan, |f, y, x| (ct12(f, y, x) - 1024) as f64);
    assert_eq!((info.min, info.max), (-1024.0, 4095.0 - 1024.0));
    // The file's two windows come first (named by their explanation), then
    // the CT presets and the full range.
    let names: Vec<&str> = info.presets.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(&names[..2], ["SOFT", "BONE"]);
    assert_eq!(info.presets[1].window, win(400.0, 1800.0));
    assert!(names.contains(&"Lung"));
    assert_eq!(names.last(), Some(&"Full range"));
    assert_eq!(info.default_window, win(40.0, 400.0));
}

#[test]
fn jpeg2000_lossless_mr_full_16_bit() {
    let scan = decode("mr16_j2k_lossless.dcm");
    assert_geometry(&scan, 1, "MONOCHROME2");
    assert_eq!(scan.info.modality.as_deref(), Some("MR"));
    assert_eq!(scan.info.units, None);
    assert_every_pixel(&scan, |f, y, x| mr16(f, y, x) as f64);
    // Values above 32767 survive (no sign confusion).
    assert!(scan.info.max > 60000.0, "max {}", scan.info.max);
    assert_eq!(scan.info.default_window, win(32768.0, 65536.0));
}

#[test]
fn jpeg2000_lossless_signed_16_bit() {
    let scan = decode("ct_signed16_j2k_lossless.dcm");
    assert_geometry(&scan, 1, "MONOCHROME2");
    assert_every_pixel(&scan, |f, y, x| ct_signed(f, y, x) as f64);
    assert_eq!((scan.info.min, scan.info.max), (-2000.0, 3999.0));
    // No window in the file: full range.
    assert_eq!(scan.info.presets.len(), 8); // seven CT presets and the full range
    assert_eq!(scan.info.default_window, win(999.5, 5999.0));
}

fn assert_rgb(name: &str, photometric: &str) {
    let scan = decode(name);
    assert_geometry(&scan, 3, photometric);
    // Identity window for 8-bit data: rendered bytes are the samples.
    let identity = win(128.0, 256.0);
    for f in 0..FRAMES {
        let img = render_frame(&scan, f, identity).unwrap();
        assert_eq!((img.width, img.height), (COLS, ROWS));
        for y in 0..ROWS {
            for x in 0..COLS {
                let i = ((y * COLS + x) * 4) as usize;
                assert_eq!(
                    img.data[i..i + 3],
                    rgb8(f, y, x),
                    "{name} frame {f} pixel ({x}, {y})"
                );
            }
        }
    }
}

#[test]
fn jpeg2000_lossless_rgb_8_bit() {
    assert_rgb("rgb8_j2k_lossless.dcm", "RGB");
}

#[test]
fn jpeg2000_lossless_rgb_with_reversible_colour_transform() {
    // Stored as YBR_RCT; the decoder undoes the transform, so the pixels
    // are RGB again (and reported as such).
    assert_rgb("rgb8_rct_j2k_lossless.dcm", "RGB");
}

#[test]
fn jpeg2000_lossy_within_tolerance() {
    let scan = decode("ct12_j2k_lossy.dcm");
    assert_geometry(&scan, 1, "MONOCHROME2");
    let mut worst = 0.0f64;
    let mut sum_sq = 0.0f64;
    for f in 0..FRAMES {
        for y in 0..ROWS {
            for x in 0..COLS {
                let got = pixel_value(&scan, f, x, y).unwrap();
                let err = (got - (smooth12(f, y, x) - 1024.0)).abs();
                worst = worst.max(err);
                sum_sq += err * err;
            }
        }
    }
    let rmse = (sum_sq / f64::from(FRAMES * ROWS * COLS)).sqrt();
    // Ratio 10 on a smooth 12-bit image: small but non-zero error.
    assert!(rmse < 8.0, "rmse {rmse}");
    assert!(worst < 64.0, "worst {worst}");
    assert!(rmse > 0.0, "a lossy fixture should not be bit-exact");
}

fn reason(err: RenderError) -> String {
    match err {
        RenderError::UnsupportedScan { reason } => reason,
        other => panic!("expected UnsupportedScan, got {other:?}"),
    }
}

#[test]
fn unsupported_syntaxes_are_named() {
    let err = decode_scan(&fixture("jpegxl_header_only.dcm"), "application/dicom").unwrap_err();
    assert_eq!(
        reason(err),
        "JPEG XL Lossless (1.2.840.10008.1.2.4.110) is not supported"
    );
    // JPEG-LS is decoded (CharLS): a file whose fragment is not a JPEG-LS
    // codestream is an error naming the syntax.
    let err = decode_scan(&fixture("jpegls_header_only.dcm"), "application/dicom").unwrap_err();
    assert_eq!(
        reason(err),
        "cannot decode the JPEG-LS Lossless (1.2.840.10008.1.2.4.80) pixel data: frame 1: \
         the JPEG-LS frame is 0×0 with 0 component(s) of 0 bits but the DICOM header says \
         64×48 with 1 of 16 bits allocated (inconsistent or corrupt file)"
    );
    // The same file under other UIDs of the same length.
    let with_uid = |uid: &str| {
        let mut bytes = fixture("jpegls_header_only.dcm");
        let old = b"1.2.840.10008.1.2.4.80";
        assert_eq!(uid.len(), old.len());
        let at = bytes.windows(old.len()).position(|w| w == old).unwrap();
        bytes[at..at + old.len()].copy_from_slice(uid.as_bytes());
        reason(decode_scan(&bytes, "application/dicom").unwrap_err())
    };
    assert_eq!(
        with_uid("1.2.840.10008.1.2.4.94"),
        "JPIP Referenced (1.2.840.10008.1.2.4.94) is not supported"
    );
    assert_eq!(
        with_uid("1.2.826.0.1.3680043.91"),
        "the transfer syntax 1.2.826.0.1.3680043.91 is unknown and not supported"
    );
}

const FUZZ_THREAD: &str = "dicom-fuzz";
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Count panics on decode threads, including those `decode_scan` catches.
fn count_decoder_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(FUZZ_THREAD) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Decode on a thread with a deadline: a hang is a failure, like a panic.
fn decode_with_deadline(bytes: Vec<u8>, what: &str) -> Result<Scan, RenderError> {
    count_decoder_panics();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(FUZZ_THREAD.into())
        .spawn(move || {
            let _ = tx.send(decode_scan(&bytes, "application/dicom"));
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: decoder hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: decoder panicked"),
    }
}

#[test]
fn truncated_jpeg2000_is_an_error_never_a_panic() {
    for name in ["ct12_j2k_lossless.dcm", "rgb8_rct_j2k_lossless.dcm"] {
        let good = fixture(name);
        let start = Instant::now();
        // Start of the first frame's codestream (SOC + SIZ markers).
        let codestream = good
            .windows(4)
            .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
            .unwrap();
        // Every offset inside the pixel data area and a spread before it.
        let pixel_start = good.len().saturating_sub(6000).max(200);
        let cuts = (0..pixel_start)
            .step_by(37)
            .chain(pixel_start..good.len())
            .collect::<Vec<_>>();
        for cut in cuts {
            let r = decode_with_deadline(good[..cut].to_vec(), &format!("{name} cut at {cut}"));
            match r {
                Err(e) => {
                    let reason = reason(e);
                    // Cut inside a codestream: the message says which one.
                    if cut > codestream + 16 && cut < good.len() - 10 {
                        assert!(
                            reason.starts_with("cannot decode the JPEG 2000 Lossless (1.2.840.10008.1.2.4.90) pixel data: "),
                            "{name} cut at {cut}: {reason}"
                        );
                    }
                }
                // Only the trailing sequence delimiter (8 bytes) and the
                // codestream's end marker (2 bytes, optional for OpenJPEG)
                // may go missing.
                Ok(_) => assert!(cut >= good.len() - 10, "{name} cut at {cut} decoded"),
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120));
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the decoder panicked");
}

/// A deterministic xorshift64 generator started at `seed`.
fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Decodes `bytes` (under the deadline); whatever decodes (a flipped header
/// byte may change the frame count or window) renders, every frame, full
/// size.
fn decode_and_render_all(bytes: Vec<u8>, what: &str) -> Result<(), RenderError> {
    let scan = decode_with_deadline(bytes, what)?;
    let info = &scan.info;
    for f in 0..info.frames {
        let img = render_frame(&scan, f, info.default_window).unwrap();
        assert_eq!(img.data.len(), (info.width * info.height * 4) as usize);
    }
    Ok(())
}

#[test]
fn corrupted_jpeg2000_bytes_are_an_error_or_an_image_never_a_panic() {
    let good = fixture("ct12_j2k_lossless.dcm");
    // Deterministic xorshift: flip one to three bytes, mostly inside the
    // codestream (the tail of the file), sometimes in the header.
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let codestream = good
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
        .unwrap();
    let (mut ok, mut err) = (0, 0);
    for round in 0..400 {
        let mut bad = good.clone();
        for _ in 0..=(next() % 3) {
            let pos = if next().is_multiple_of(8) {
                (next() as usize) % good.len()
            } else {
                codestream + (next() as usize) % (good.len() - codestream)
            };
            bad[pos] ^= (next() % 255 + 1) as u8;
        }
        match decode_and_render_all(bad, &format!("corruption round {round}")) {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert_eq!(ok + err, 400);
    // Entropy-coded data has no checksum: many flips decode to other pixels.
    // Flips in markers and headers must be caught, without any panic (not
    // even one that decode_scan would catch).
    assert!(err > 0);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the decoder panicked");
}

/// The fixtures of the failure classes (`fixtures/dicom/generate_classes.py`).
const CLASS_FIXTURES: &[&str] = &[
    "jpegls_lossless_ct16s.dcm",
    "jpegls_near_lossless_mr16.dcm",
    "jpegls_lossless_rgb8.dcm",
    "deflated_mr16.dcm",
    "enhanced_single_frame_mr12.dcm",
    "ybr_full_422_native.dcm",
    "rtdose32_raw.dcm",
    "rtdose32_rle.dcm",
    "signed32_rle.dcm",
    "rgb_planar_big_endian.dcm",
    "ct12s_big_endian.dcm",
    "palette_u8.dcm",
    "bits1_three_frames.dcm",
    "jpeg_baseline_rgb_app14_ids123.dcm",
    "jpeg_lossless_ct16s.dcm",
    "jpeg_baseline_grey_two_frames.dcm",
    "rle_s16.dcm",
    "implicit_s12.dcm",
    "jpeg_extended12.dcm",
    "invalid_vr.dcm",
];

#[test]
fn truncated_class_fixtures_are_errors_never_panics() {
    let start = Instant::now();
    for name in CLASS_FIXTURES {
        let good = fixture(name);
        for cut in (0..good.len()).step_by(3) {
            let r = decode_with_deadline(good[..cut].to_vec(), &format!("{name} cut at {cut}"));
            match r {
                Err(e) => assert!(!reason(e).is_empty()),
                // A cut may only lose trailing padding, delimiters or the
                // deflate stream's end; the frames themselves must be whole.
                Ok(scan) => assert!(
                    cut + 12 >= good.len(),
                    "{name} cut at {cut} decoded {:?}",
                    scan.info.frames
                ),
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(300));
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the decoder panicked");
}

#[test]
fn corrupted_class_fixtures_are_errors_or_images_never_panics() {
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let (mut ok, mut err) = (0, 0);
    for name in CLASS_FIXTURES {
        let good = fixture(name);
        for round in 0..150 {
            let mut bad = good.clone();
            for _ in 0..=(next() % 3) {
                let pos = (next() as usize) % good.len();
                bad[pos] ^= (next() % 255 + 1) as u8;
            }
            match decode_and_render_all(bad, &format!("{name} corruption round {round}")) {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert!(!reason(e).is_empty());
                    err += 1;
                }
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok} err {err}");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the decoder panicked");
}

/// Overwrite the value of a 2-byte US element (explicit VR LE) in place.
fn set_us(bytes: &mut [u8], group: u16, elem: u16, value: u16) {
    let mut tag = Vec::new();
    tag.extend_from_slice(&group.to_le_bytes());
    tag.extend_from_slice(&elem.to_le_bytes());
    tag.extend_from_slice(b"US");
    let at = bytes.windows(6).position(|w| w == tag).unwrap();
    bytes[at + 8..at + 10].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn huge_headers_and_lying_lengths_are_errors() {
    // A 65535 × 32769 header (2^31 pixels) over a few bytes of pixel data:
    // refused before anything that size is allocated.
    for name in [
        "u16_rescale.dcm",
        "rtdose32_rle.dcm",
        "jpegls_lossless_mr12.dcm",
    ] {
        let mut bytes = fixture(name);
        set_us(&mut bytes, 0x0028, 0x0010, 65535);
        set_us(&mut bytes, 0x0028, 0x0011, 32769);
        let start = Instant::now();
        let err = reason(decode_with_deadline(bytes, name).unwrap_err());
        assert!(err.starts_with("image too large"), "{name}: {err}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    // A header that disagrees with the codestream (JPEG-LS, RLE, JPEG).
    for name in [
        "jpegls_lossless_mr12.dcm",
        "rtdose32_rle.dcm",
        "jpeg_baseline_ycbcr.dcm",
        "u16_rescale.dcm",
    ] {
        let mut bytes = fixture(name);
        set_us(&mut bytes, 0x0028, 0x0010, 4000);
        let err = reason(decode_with_deadline(bytes, name).unwrap_err());
        assert!(err.starts_with("cannot decode the "), "{name}: {err}");
    }
    // A fragment that claims more bytes than the file holds.
    let mut bytes = fixture("rtdose32_rle.dcm");
    let item = [0xFE, 0xFF, 0x00, 0xE0];
    let first = bytes.windows(4).position(|w| w == item).unwrap();
    let second = first
        + 4
        + bytes[first + 4..]
            .windows(4)
            .position(|w| w == item)
            .unwrap();
    bytes[second + 4..second + 8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let err = reason(decode_with_deadline(bytes, "lying fragment").unwrap_err());
    assert!(
        err.starts_with("cannot decode the RLE Lossless (1.2.840.10008.1.2.5) pixel data: a pixel data fragment claims 2147483632 bytes"),
        "{err}"
    );
    // An RLE segment offset past the end of its fragment.
    let mut bytes = fixture("signed32_rle.dcm");
    let header = bytes.windows(4).rposition(|w| w == item).unwrap() + 8;
    bytes[header + 8..header + 12].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
    let err = reason(decode_with_deadline(bytes, "lying RLE offset").unwrap_err());
    assert!(err.contains("RLE segment"), "{err}");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the decoder panicked");
}
