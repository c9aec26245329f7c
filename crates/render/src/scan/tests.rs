use super::dicom::{decode_dicom_with, inflate_dataset};
use super::frame::{render_pixels, Packing};
use super::*;
use dicom_core::{dicom_value, DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

struct Spec {
    rows: u16,
    cols: u16,
    frames: u32,
    bits: u16,
    signed: bool,
    photometric: &'static str,
    modality: &'static str,
    slope: &'static str,
    intercept: &'static str,
    windows: Option<(&'static str, &'static str)>,
    spacing: Option<&'static str>,
    samples: u16,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            rows: 4,
            cols: 3,
            frames: 1,
            bits: 16,
            signed: false,
            photometric: "MONOCHROME2",
            modality: "MR",
            slope: "1",
            intercept: "0",
            windows: None,
            spacing: None,
            samples: 1,
        }
    }
}

/// A DICOM file (with preamble) built with dicom-object.
fn dicom(spec: &Spec, pixel_bytes: Vec<u8>) -> Vec<u8> {
    let image = [
        el(tags::MODALITY, VR::CS, spec.modality),
        el(tags::ROWS, VR::US, spec.rows),
        el(tags::COLUMNS, VR::US, spec.cols),
        el(tags::SAMPLES_PER_PIXEL, VR::US, spec.samples),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, spec.photometric),
        el(tags::BITS_ALLOCATED, VR::US, spec.bits),
        el(
            tags::BITS_STORED,
            VR::US,
            if spec.bits == 16 { 12u16 } else { 8 },
        ),
        el(
            tags::HIGH_BIT,
            VR::US,
            if spec.bits == 16 { 11u16 } else { 7 },
        ),
        el(tags::PIXEL_REPRESENTATION, VR::US, u16::from(spec.signed)),
        el(tags::RESCALE_SLOPE, VR::DS, spec.slope),
        el(tags::RESCALE_INTERCEPT, VR::DS, spec.intercept),
        el(
            tags::PIXEL_DATA,
            if spec.bits == 16 { VR::OW } else { VR::OB },
            pixel_bytes,
        ),
    ];
    let mut obj =
        InMemDicomObject::from_element_iter(ct_instance("1.2.3.4.5").into_iter().chain(image));
    if spec.frames > 1 {
        obj.put(el(tags::NUMBER_OF_FRAMES, VR::IS, spec.frames.to_string()));
    }
    if spec.samples == 3 {
        obj.put(el(tags::PLANAR_CONFIGURATION, VR::US, 0u16));
    }
    if let Some((c, w)) = spec.windows {
        obj.put(el(tags::WINDOW_CENTER, VR::DS, c));
        obj.put(el(tags::WINDOW_WIDTH, VR::DS, w));
        obj.put(el(
            tags::WINDOW_CENTER_WIDTH_EXPLANATION,
            VR::LO,
            dicom_value!(Strs, ["WINDOW1", "WINDOW2"]),
        ));
    }
    if let Some(s) = spec.spacing {
        obj.put(el(tags::PIXEL_SPACING, VR::DS, s));
    }
    file_bytes(obj)
}

/// A CT image's SOP class and the instance `uid`: how each test file starts.
fn ct_instance(uid: &str) -> [InMemElement; 2] {
    [
        el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        el(tags::SOP_INSTANCE_UID, VR::UI, uid),
    ]
}

/// `obj` as a DICOM file with preamble (explicit VR little endian).
fn file_bytes(obj: InMemDicomObject) -> Vec<u8> {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

/// One data element of a test file.
fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> InMemElement {
    DataElement::new(tag, vr, value.into())
}

/// A window of `center` and `width`.
fn win(center: f64, width: f64) -> Window {
    Window { center, width }
}

fn u16_bytes(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn ct_16bit_signed_with_rescale_windows_spacing() {
    let raw: Vec<i16> = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1000];
    let bytes: Vec<u8> = raw.iter().flat_map(|x| x.to_le_bytes()).collect();
    let spec = Spec {
        signed: true,
        modality: "CT",
        slope: "2",
        intercept: "-1024",
        windows: Some(("40\\-600", "400\\1500")),
        spacing: Some("0.5\\0.25"),
        ..Spec::default()
    };
    let scan = decode_scan(&dicom(&spec, bytes), "application/dicom").unwrap();
    let i = &scan.info;
    assert_eq!((i.width, i.height, i.frames, i.channels), (3, 4, 1, 1));
    assert_eq!(i.format, ScanFormat::Dicom);
    assert_eq!(i.modality.as_deref(), Some("CT"));
    assert_eq!(i.units.as_deref(), Some("HU"));
    assert_eq!(i.pixel_spacing, Some((0.5, 0.25)));
    assert_eq!(i.default_window, win(40.0, 400.0));
    assert_eq!(i.presets[0].name, "WINDOW1");
    assert_eq!(i.presets[1].window, win(-600.0, 1500.0));
    assert!(i.presets.iter().any(|p| p.name == "Lung"));
    assert!(i.presets.iter().any(|p| p.name == "Bone"));
    // value = raw * 2 - 1024
    assert_eq!(pixel_value(&scan, 0, 0, 0).unwrap(), -1024.0);
    assert_eq!(pixel_value(&scan, 0, 1, 1).unwrap(), 4.0 * 2.0 - 1024.0);
    assert_eq!(pixel_value(&scan, 0, 2, 3).unwrap(), -1000.0 * 2.0 - 1024.0);
    assert_eq!((i.min, i.max), (-3024.0, -1004.0));
    assert!(pixel_value(&scan, 0, 3, 0).is_err());
    assert!(pixel_value(&scan, 1, 0, 0).is_err());
    // 4 px right and 2 px down: sqrt((4*0.25)^2 + (2*0.5)^2) mm.
    let len = measure(&scan, (0.0, 0.0), (4.0, 2.0));
    assert_eq!(len.unit, LengthUnit::Mm);
    assert!((len.value - 2f64.sqrt()).abs() < 1e-9);
    assert!((len.pixels - 20f64.sqrt()).abs() < 1e-9);
}

#[test]
fn windowing_lut_and_monochrome1() {
    let vals: Vec<u16> = vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100];
    let spec = Spec::default();
    let scan = decode_scan(&dicom(&spec, u16_bytes(&vals)), "application/dicom").unwrap();
    let img = render_frame(&scan, 0, win(500.0, 1000.0)).unwrap();
    assert_eq!(img.data.len(), 12 * 4);
    let grey: Vec<u8> = img.data.chunks(4).map(|p| p[0]).collect();
    assert_eq!(grey[0], 0);
    assert_eq!(grey[11], 255);
    assert!(grey.windows(2).all(|w| w[0] <= w[1]), "{grey:?}");
    assert!((120..=135).contains(&grey[5]), "{grey:?}");
    assert!(img
        .data
        .chunks(4)
        .all(|p| p[3] == 255 && p[0] == p[1] && p[1] == p[2]));
    // Narrow window saturates.
    let img = render_frame(&scan, 0, win(550.0, 1.0)).unwrap();
    assert_eq!(img.data[5 * 4], 0);
    assert_eq!(img.data[6 * 4], 255);
    // MONOCHROME1 inverts.
    let inv = Spec {
        photometric: "MONOCHROME1",
        ..Spec::default()
    };
    let scan1 = decode_scan(&dicom(&inv, u16_bytes(&vals)), "application/dicom").unwrap();
    let img1 = render_frame(&scan1, 0, win(500.0, 1000.0)).unwrap();
    assert_eq!(img1.data[0], 255);
    assert_eq!(img1.data[11 * 4], 0);
    // Non-finite windows don't panic.
    assert!(render_frame(&scan, 0, win(f64::NAN, f64::INFINITY)).is_ok());
    // The PNG the page gets is one grey byte a pixel, the rendered values.
    let png = render_frame_png(&scan, 0, scan.info.default_window).unwrap();
    let back = decode_scan(&png, "image/png").unwrap();
    assert_eq!(
        (back.info.width, back.info.height, back.info.channels),
        (3, 4, 1)
    );
    let shown = render_frame(&scan, 0, scan.info.default_window).unwrap();
    for (k, px) in shown.data.chunks(4).enumerate() {
        let (x, y) = (k as u32 % 3, k as u32 / 3);
        assert_eq!(pixel_value(&back, 0, x, y).unwrap(), f64::from(px[0]));
    }
}

#[test]
fn multi_frame_8bit_and_rgb() {
    let spec = Spec {
        frames: 3,
        bits: 8,
        ..Spec::default()
    };
    let bytes: Vec<u8> = (0..36).collect();
    let scan = decode_scan(&dicom(&spec, bytes), "application/dicom").unwrap();
    assert_eq!(scan.info.frames, 3);
    assert_eq!(pixel_value(&scan, 2, 0, 0).unwrap(), 24.0);
    assert_eq!(pixel_value(&scan, 1, 2, 3).unwrap(), 23.0);
    assert!(render_frame(&scan, 3, scan.info.default_window).is_err());
    let stats = region_stats(&scan, 0, 0.0, 0.0, 2.0, 2.0).unwrap();
    assert_eq!(stats.pixels, 4);
    assert_eq!((stats.min, stats.max, stats.mean), (0.0, 4.0, 2.0));
    assert_eq!(stats.area_mm2, None);
    assert!(region_stats(&scan, 0, 10.0, 10.0, 2.0, 2.0).is_err());
    assert_eq!(measure(&scan, (0.0, 0.0), (3.0, 4.0)).unit, LengthUnit::Px);

    let rgb = Spec {
        bits: 8,
        samples: 3,
        photometric: "RGB",
        rows: 1,
        cols: 2,
        ..Spec::default()
    };
    let scan = decode_scan(
        &dicom(&rgb, vec![255, 0, 0, 0, 0, 255]),
        "application/dicom",
    )
    .unwrap();
    assert_eq!(scan.info.channels, 3);
    let img = render_frame(&scan, 0, win(128.0, 256.0)).unwrap();
    assert_eq!(&img.data[..4], &[255, 0, 0, 255]);
    assert_eq!(&img.data[4..], &[0, 0, 255, 255]);
}

/// The page's packed pixels are the RGBA render's, less what never varies
/// (alpha; green and blue of grey), for every kind of sample and for
/// inverted and colour scans; a frame whose samples run short stops at the
/// same pixel in both.
#[test]
fn packed_pixels_are_the_rgba_render_less_what_never_varies() {
    let vals: Vec<u16> = (0..12).map(|i| i * 90).collect();
    let cases = [
        decode_scan(
            &dicom(&Spec::default(), u16_bytes(&vals)),
            "application/dicom",
        )
        .unwrap(),
        decode_scan(
            &dicom(
                &Spec {
                    photometric: "MONOCHROME1",
                    ..Spec::default()
                },
                u16_bytes(&vals),
            ),
            "application/dicom",
        )
        .unwrap(),
        decode_scan(
            &dicom(
                &Spec {
                    bits: 8,
                    samples: 3,
                    photometric: "RGB",
                    rows: 2,
                    cols: 2,
                    ..Spec::default()
                },
                (0..12).map(|i| i * 20).collect(),
            ),
            "application/dicom",
        )
        .unwrap(),
    ];
    let mut f32_scan = cases[0].clone();
    f32_scan.frames = vec![Samples::F32(
        vals.iter().map(|&v| f32::from(v) + 0.5).collect(),
    )];
    let mut short = cases[0].clone();
    short.frames = vec![Samples::U16(vals[..7].to_vec())];
    for scan in cases.iter().chain([&f32_scan, &short]) {
        for window in [
            scan.info.default_window,
            win(300.0, 200.0),
            win(f64::NAN, 1.0),
        ] {
            let rgba = render_frame(scan, 0, window).unwrap().data;
            let packed = render_pixels(scan, 0, window, Packing::Native).unwrap();
            let expected: Vec<u8> = if scan.info.channels == 3 {
                rgba.chunks_exact(4)
                    .flat_map(|px| px[..3].to_vec())
                    .collect()
            } else {
                assert!(rgba
                    .chunks_exact(4)
                    .all(|px| px[0] == px[1] && px[1] == px[2]));
                rgba.chunks_exact(4).map(|px| px[0]).collect()
            };
            assert!(rgba.chunks_exact(4).all(|px| px[3] == 255));
            assert_eq!(packed, expected);
        }
    }
    assert_eq!(
        render_pixels(&short, 0, short.info.default_window, Packing::Native)
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn png_and_jpeg() {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 2, 2);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Sixteen);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(
            &u16_bytes(&[1, 2, 3, 4000])
                .iter()
                .collect::<Vec<_>>()
                .chunks(2)
                .flat_map(|c| [*c[1], *c[0]])
                .collect::<Vec<u8>>(),
        )
        .unwrap();
    }
    let scan = decode_scan(&out, "application/octet-stream").unwrap();
    assert_eq!(scan.info.format, ScanFormat::Png);
    assert_eq!(pixel_value(&scan, 0, 1, 1).unwrap(), 4000.0);
    assert_eq!(scan.info.max, 4000.0);

    // Small JPEGs made with ImageMagick (fixtures/*.jpg).
    let grey = decode_scan(include_bytes!("../../fixtures/gray4x2.jpg"), "image/jpeg").unwrap();
    assert_eq!(grey.info.format, ScanFormat::Jpeg);
    assert_eq!(
        (grey.info.width, grey.info.height, grey.info.channels),
        (4, 2, 1)
    );
    // A black-to-white vertical gradient: the top row is darker.
    assert!(pixel_value(&grey, 0, 0, 0).unwrap() < pixel_value(&grey, 0, 0, 1).unwrap());
    let red = decode_scan(
        include_bytes!("../../fixtures/red3x2.jpg"),
        "application/octet-stream",
    )
    .unwrap();
    assert_eq!(
        (red.info.width, red.info.height, red.info.channels),
        (3, 2, 3)
    );
    let img = render_frame(&red, 0, red.info.default_window).unwrap();
    assert!(
        img.data[0] > 240 && img.data[1] < 20 && img.data[2] < 20,
        "{:?}",
        &img.data[..4]
    );
    // Colour reaches the page as RGB, the rendered bytes without alpha.
    let png = render_frame_png(&red, 0, red.info.default_window).unwrap();
    let back = decode_scan(&png, "image/png").unwrap();
    assert_eq!(back.info.channels, 3);
    let again = render_frame(&back, 0, back.info.default_window).unwrap();
    assert_eq!(again.data, img.data);
    // A truncated JPEG gives a clear error.
    let err = decode_scan(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], "image/jpeg").unwrap_err();
    assert!(err.to_string().contains("JPEG"), "{err}");
}

#[test]
fn malformed_inputs_give_clear_errors() {
    let good = dicom(&Spec::default(), u16_bytes(&[1; 12]));
    for cut in [0, 10, 131, 132, 200, good.len() / 2, good.len() - 3] {
        match decode_scan(&good[..cut], "application/dicom") {
            Err(RenderError::UnsupportedScan { reason }) => assert!(!reason.is_empty()),
            Ok(_) => panic!("truncated at {cut} decoded"),
            Err(e) => panic!("wrong error {e}"),
        }
    }
    assert!(matches!(
        decode_scan(b"hello", "text/plain"),
        Err(RenderError::UnsupportedScan { .. })
    ));
    assert!(decode_scan(b"\x89PNG\r\n\x1a\nbroken", "image/png").is_err());
    // A DICOM without pixel data.
    let out = file_bytes(InMemDicomObject::from_element_iter(ct_instance("1.2.3")));
    let err = decode_scan(&out, "application/dicom").unwrap_err();
    assert!(err.to_string().contains("no pixel data"), "{err}");
}

mod props {
    use super::*;
    use proptest::prelude::*;
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), kind in 0usize..3) {
            let mt = ["application/dicom", "image/png", "image/jpeg"][kind];
            let _ = decode_scan(&bytes, mt);
        }
        #[test]
        fn corrupted_dicom_never_panics(pos in 0usize..400, val in any::<u8>(), cut in 0usize..400) {
            let mut good = dicom(&Spec::default(), u16_bytes(&[7; 12]));
            let p = pos % good.len();
            good[p] = val;
            let c = good.len() - (cut % good.len());
            let _ = decode_scan(&good[..c], "application/dicom");
        }
    }
}
/// Every single-byte corruption of a valid file decodes or gives a clear
/// error (no panic, no runaway allocation from a corrupt length).
#[test]
fn every_single_byte_corruption_is_handled() {
    let good = dicom(&Spec::default(), u16_bytes(&[7; 12]));
    for p in 0..good.len() {
        for val in [0u8, 0xFF, 0x7F] {
            let mut g = good.clone();
            g[p] = val;
            if let Err(e) = decode_scan(&g, "application/dicom") {
                assert!(matches!(e, RenderError::UnsupportedScan { .. }), "{e}");
            }
        }
    }
}

/// A deflate bomb (a small stream of zeros that inflates past the limit)
/// is refused without inflating more than the limit.
#[test]
fn deflate_bomb_is_refused() {
    use std::io::Write;
    let good = include_bytes!("../../tests/fixtures/dicom/deflated_mr16.dcm");
    let group_len = u32::from_le_bytes([good[140], good[141], good[142], good[143]]) as usize;
    let meta_end = 132 + 12 + group_len;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..8 {
        enc.write_all(&zeros).unwrap();
    }
    let stream = enc.finish().unwrap();
    assert!(stream.len() < 20_000, "{}", stream.len());
    let mut bomb = good[..meta_end].to_vec();
    bomb.extend_from_slice(&stream);
    let err = inflate_dataset(&bomb, 4 << 20).unwrap_err();
    assert!(
        err.to_string().contains("inflates to more than 4 MiB"),
        "{err}"
    );
    // Under the limit it inflates (and the file is relabelled).
    let ok = inflate_dataset(&bomb, 16 << 20).unwrap();
    assert_eq!(ok.len(), meta_end + (8 << 20));
    assert!(ok.windows(22).any(|w| w == b"1.2.840.10008.1.2.1\0\0\0"));
    // Zeros are not a data set: decode_scan gives an error, not a panic.
    assert!(decode_scan(&bomb, "application/dicom").is_err());
}

#[test]
fn fragments_map_to_frames() {
    use super::encapsulated::frame_streams;
    let f = |b: &[u8]| b.to_vec();
    let frags = vec![f(&[0xFF, 0xD8, 1]), f(&[2, 3]), f(&[0xFF, 0xD8, 4])];
    // JPEG: a new frame starts at each start-of-image marker.
    let s = frame_streams(&frags, &[], 2, true).unwrap();
    assert_eq!(s[0].as_ref(), [0xFF, 0xD8, 1, 2, 3]);
    assert_eq!(s[1].as_ref(), [0xFF, 0xD8, 4]);
    // Basic offset table: item offsets (8-byte headers included).
    let s = frame_streams(&frags, &[0, 8 + 3 + 8 + 2], 2, false).unwrap();
    assert_eq!(s[1].as_ref(), [0xFF, 0xD8, 4]);
    // One frame over all fragments; one fragment per frame.
    assert_eq!(frame_streams(&frags, &[], 1, false).unwrap()[0].len(), 8);
    assert_eq!(frame_streams(&frags, &[], 3, false).unwrap().len(), 3);
    // Not enough information: an error, not a guess.
    assert!(frame_streams(&frags, &[], 2, false).is_err());
    assert!(frame_streams(&frags, &[], 5, true).is_err());
}

/// Fuzz finding (seed 16, input 121): an Explicit VR Big Endian file with
/// junk after the pixel data, read by the parser as an element of 2.2 GB
/// that it allocated before finding the end of the file. The walker now
/// reads big endian too and refuses the length before the parser runs.
#[test]
fn big_endian_lying_length_is_refused_before_parsing() {
    let bytes = include_bytes!("../../tests/fixtures/fuzz/blowup_seed16_input121.dcm");
    let err = decode_scan(bytes, "application/dicom").expect_err("a corrupt file must not decode");
    let msg = err.to_string();
    assert!(
        msg.contains("(ECFF,1225)") && msg.contains("claims") && msg.contains("remain"),
        "{msg}"
    );
    // The walker refuses the same stream on its own, before any parser.
    let walked = check_stream(bytes).expect_err("refused by the walker");
    assert!(walked.to_string().contains("(ECFF,1225)"), "{walked}");
}

/// Fuzz findings (seed 1 input 1586, seed 2 input 3889): an OB element of
/// undefined length outside the pixel data made the parser ask for
/// 3.5 GiB. Refused by the walker, naming the element.
#[test]
fn undefined_length_outside_sequences_and_pixels_is_refused() {
    for bytes in [
        &include_bytes!("../../tests/fixtures/fuzz/blowup_seed1_input1586.dcm")[..],
        &include_bytes!("../../tests/fixtures/fuzz/blowup_seed2_input3889.dcm")[..],
    ] {
        let msg = decode_scan(bytes, "application/dicom")
            .expect_err("a corrupt file must not decode")
            .to_string();
        assert!(msg.contains("has an undefined length"), "{msg}");
    }
}

/// Fuzz finding (seed 2, input 14776): Bits Allocated (0028,0100) declared
/// 75 bytes. The parser reads a US value as whole 2-byte numbers (74 bytes)
/// while the walker skipped 75, so from there on the two read different
/// element headers and the parser asked for 4.0 GiB. The walker now refuses
/// a numeric value that is not a whole number of values, naming it.
#[test]
fn numeric_value_of_a_partial_length_is_refused_before_parsing() {
    let bytes = include_bytes!("../../tests/fixtures/fuzz/blowup_seed2_input14776.dcm");
    let msg = decode_scan(bytes, "application/dicom")
        .expect_err("a corrupt file must not decode")
        .to_string();
    assert!(
        msg.contains("(0028,0100) (US) is 75 bytes long, not a whole number of 2-byte values"),
        "{msg}"
    );
    let walked = check_stream(bytes).expect_err("refused by the walker");
    assert!(walked.to_string().contains("(0028,0100)"), "{walked}");
}

/// Inserts a raw element before Rows (0028,0010) of a file made by
/// [`dicom`] (explicit VR little endian, no group lengths in the data set).
fn with_element_before_rows(file: &[u8], element: &[u8]) -> Vec<u8> {
    let rows = [0x28, 0x00, 0x10, 0x00, b'U', b'S'];
    let at = file
        .windows(rows.len())
        .position(|w| w == rows)
        .expect("Rows element");
    let mut out = file[..at].to_vec();
    out.extend_from_slice(element);
    out.extend_from_slice(&file[at..]);
    out
}

/// The same fault in an element the image does not need (Acquisition
/// Matrix, US, 3 bytes) is read whole as text with a warning, as tolerant
/// toolkits read on past it: the pixels are those of the file without it.
#[test]
fn partial_numeric_value_outside_the_image_attributes_is_tolerated() {
    let spec = Spec::default();
    let pixels: Vec<u16> = (0..12).map(|v| v * 100).collect();
    let clean = dicom(&spec, u16_bytes(&pixels));
    let odd = [0x18, 0x00, 0x10, 0x13, b'U', b'S', 3, 0, 1, 2, 3];
    let bytes = with_element_before_rows(&clean, &odd);
    let scan = decode_scan(&bytes, "application/dicom").expect("tolerated");
    let reference = decode_scan(&clean, "application/dicom").expect("clean file");
    assert_eq!(scan.samples(0).unwrap(), reference.samples(0).unwrap());
    assert_eq!(scan.info.warnings.len(), 1, "{:?}", scan.info.warnings);
    assert!(
        scan.info.warnings[0].contains("(0018,1310) (US) is 3 bytes long")
            && scan.info.warnings[0].contains("read as LO"),
        "{:?}",
        scan.info.warnings
    );
    // Rows, needed for the image, with the same fault is refused.
    let bad_rows = with_element_before_rows(&clean, &[0x28, 0x00, 0x10, 0x00, b'U', b'S', 1, 0, 4]);
    let msg = decode_scan(&bad_rows, "application/dicom")
        .expect_err("refused")
        .to_string();
    assert!(msg.contains("(0028,0010) (US) is 1 bytes long"), "{msg}");
}

/// SV, UV and OV have a 4-byte length in the standard but dicom-encoding
/// 0.8 reads a 2-byte one; the walker has the parser read them as UN so
/// both agree on where the next element starts.
#[test]
fn sv_element_is_read_with_its_standard_length() {
    let spec = Spec::default();
    let pixels: Vec<u16> = (0..12).collect();
    let clean = dicom(&spec, u16_bytes(&pixels));
    let mut sv = vec![0x19, 0x00, 0x10, 0x10, b'S', b'V', 0, 0, 8, 0, 0, 0];
    sv.extend_from_slice(&(-5i64).to_le_bytes());
    let bytes = with_element_before_rows(&clean, &sv);
    let scan = decode_scan(&bytes, "application/dicom").expect("decodes");
    assert_eq!(
        scan.samples(0).unwrap(),
        &(0..12).map(|v| v as f32).collect::<Vec<_>>()[..]
    );
    assert!(
        scan.info
            .warnings
            .iter()
            .any(|w| w.contains("(0019,1010) (SV) read as unknown bytes")),
        "{:?}",
        scan.info.warnings
    );
}

// --- 12-bit JPEG through DCMTK ------------------------------------------------

fn jpeg_extended12() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dicom/jpeg_extended12.dcm"),
    )
    .unwrap()
}

#[test]
fn twelve_bit_jpeg_without_dcmdjpeg_says_to_install_dcmtk() {
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        dcmtk::find_program(dcmtk::PROGRAM, Some(empty.path().as_os_str())),
        None
    );
    assert_eq!(dcmtk::find_program(dcmtk::PROGRAM, None), None);
    let err = decode_dicom_with(&jpeg_extended12(), Some(empty.path().as_os_str())).unwrap_err();
    let RenderError::UnsupportedScan { reason } = err else {
        panic!("expected UnsupportedScan, got {err:?}");
    };
    assert!(
        reason.starts_with(
            "JPEG Extended (1.2.840.10008.1.2.4.51) with 12-bit samples cannot be decoded: it \
             needs DCMTK's `dcmdjpeg`, which is not installed"
        ) && reason.contains("Install the `dcmtk` package"),
        "{reason}"
    );
}

#[cfg(unix)]
fn fake_program(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(dcmtk::PROGRAM);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `dcmtk::decompress`, retried while another test thread's fork briefly
/// holds the freshly written script open ("Text file busy").
#[cfg(unix)]
fn decompress(
    program: &std::path::Path,
    timeout: std::time::Duration,
) -> Result<(Vec<u8>, Option<String>), String> {
    for _ in 0..20 {
        match dcmtk::decompress(program, b"x", 100, timeout) {
            Err(e) if e.contains("Text file busy") => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
    dcmtk::decompress(program, b"x", 100, timeout)
}

#[cfg(unix)]
#[test]
fn dcmdjpeg_found_on_the_search_path_is_killed_when_it_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_program(dir.path(), "exec sleep 30");
    assert_eq!(
        dcmtk::find_program(dcmtk::PROGRAM, Some(dir.path().as_os_str())),
        Some(program.clone())
    );
    let started = std::time::Instant::now();
    let err = decompress(&program, std::time::Duration::from_millis(300)).unwrap_err();
    assert!(err.contains("took longer than"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[cfg(unix)]
#[test]
fn dcmdjpeg_output_larger_than_the_image_can_need_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Writes 4 MiB to the output path (its third argument), then waits.
    let program = fake_program(
        dir.path(),
        "head -c 4194304 /dev/zero > \"$3\"; exec sleep 30",
    );
    let started = std::time::Instant::now();
    let err = decompress(&program, std::time::Duration::from_secs(20)).unwrap_err();
    assert!(err.contains("wrote more than the"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    // A failing program's stderr is in the error.
    let program = fake_program(dir.path(), "echo 'F: broken stream' >&2; exit 1");
    let err = decompress(&program, std::time::Duration::from_secs(20)).unwrap_err();
    assert!(
        err.contains("could not decode it") && err.contains("F: broken stream"),
        "{err}"
    );
}

/// The type `s` keeps its samples in.
fn kind(s: &Samples) -> &'static str {
    match s {
        Samples::U8(_) => "u8",
        Samples::I16(_) => "i16",
        Samples::U16(_) => "u16",
        Samples::F32(_) => "f32",
    }
}

#[test]
fn samples_are_kept_in_the_narrowest_type_that_holds_them_exactly() {
    let cases: [(&[f32], &str); 9] = [
        (&[0.0, 17.0, 255.0], "u8"),
        (&[-1024.0, 0.0, 3071.0], "i16"),
        (&[-32768.0, 32767.0], "i16"),
        (&[0.0, 40_000.0, 65_535.0], "u16"),
        (&[0.5, 1.0], "f32"),
        (&[-1.0, 40_000.0], "f32"),
        (&[70_000.0], "f32"),
        (&[1.0, f32::NAN], "f32"),
        (&[f32::INFINITY, 1.0], "f32"),
    ];
    for (values, want) in cases {
        let s = Samples::compact(values.to_vec());
        assert_eq!(kind(&s), want, "{values:?}");
        let back = s.to_f32();
        assert_eq!(back.len(), values.len());
        for (i, (a, b)) in back.iter().zip(values).enumerate() {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{values:?}[{i}]: {a} != {b}"
            );
            assert_eq!(s.get(i).map(f32::to_bits), Some(a.to_bits()));
        }
        assert_eq!(s.get(values.len()), None);
    }
    // Two bytes a sample for CT's values instead of four.
    let ct: Vec<f32> = (0..4096).map(|v| v as f32 - 1024.0).collect();
    assert_eq!(Samples::compact(ct).heap_bytes(), 4096 * 2);
}

#[test]
fn a_ct_frame_is_held_in_two_bytes_a_sample_and_reads_back_as_decoded() {
    // 64×64 of 12-bit values with an integral rescale: HU integers.
    let raw: Vec<u16> = (0..64 * 64).map(|i| (i * 7 % 4096) as u16).collect();
    let spec = Spec {
        rows: 64,
        cols: 64,
        modality: "CT",
        slope: "1",
        intercept: "-1024",
        ..Spec::default()
    };
    let scan = decode_scan(&dicom(&spec, u16_bytes(&raw)), "application/dicom").unwrap();
    let want: Vec<f32> = raw.iter().map(|&v| f32::from(v) - 1024.0).collect();
    assert_eq!(scan.samples(0).unwrap(), want);
    assert!(
        scan.heap_bytes() < 64 * 64 * 2 + 1024,
        "{}",
        scan.heap_bytes()
    );
    // A fractional rescale keeps the values as decoded, in f32.
    let spec = Spec {
        slope: "0.5",
        ..spec
    };
    let scan = decode_scan(&dicom(&spec, u16_bytes(&raw)), "application/dicom").unwrap();
    let want: Vec<f32> = raw.iter().map(|&v| f32::from(v) * 0.5 - 1024.0).collect();
    assert_eq!(scan.samples(0).unwrap(), want);
    assert!(scan.heap_bytes() >= 64 * 64 * 4);
    assert_eq!(
        pixel_value(&scan, 0, 1, 0).unwrap(),
        f64::from(f32::from(raw[1]) * 0.5 - 1024.0)
    );
}

#[test]
fn rescaled_values_match_the_f32_of_the_dicom_formula() {
    let values: Vec<i64> = vec![0, 1, 2, 4095, 100, -5];
    for (slope, intercept) in [
        (1.0, -1024.0),
        (1.0, 0.0),
        (2.0, 10.0),
        (-3.0, 7.0),
        (16.0, 0.0),
        (0.5, -1024.0),
        (1.0, 0.25),
        (1e9, 0.0),
        (f64::NAN, 0.0),
    ] {
        let got = Samples::rescaled(&values, slope, intercept).to_f32();
        let want: Vec<f32> = values
            .iter()
            .map(|&v| (v as f64 * slope + intercept) as f32)
            .collect();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "slope {slope}, intercept {intercept}: {got:?} != {want:?}"
            );
        }
    }
    let kind_of = |values: &[i64], slope: f64, intercept: f64| {
        kind(&Samples::rescaled(values, slope, intercept))
    };
    assert_eq!(kind_of(&[0, 200, 255], 1.0, 0.0), "u8");
    assert_eq!(kind_of(&[0, 4095], 1.0, -1024.0), "i16");
    assert_eq!(kind_of(&[0, 200, 65_535], 1.0, 0.0), "u16");
    assert_eq!(kind_of(&[0, 4095], 0.5, 0.0), "f32");
    assert_eq!(kind_of(&[0, 4095], 1.0, 0.25), "f32");
    assert_eq!(kind_of(&[-1, 65_535], 1.0, 0.0), "f32");
    assert_eq!(kind_of(&[0, 1], f64::INFINITY, 0.0), "f32");
    assert_eq!(kind_of(&[], 1.0, -1024.0), "u8");
}
