//! Series (issue #16) against fixtures written by pydicom
//! (`fixtures/dicom/generate_series.py`): the order along the slice normal
//! whatever the file order, a gantry tilt, gaps and duplicates, a mixed
//! series split into stacks, sampled slices pixel-exact against pydicom's
//! decode, zip archives delivered whole or as loose files, and hostile
//! archives refused without losing the rest.

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::Arc;

use assay_render::archive::ArchiveLimits;
use assay_render::series::{open_series, ReadFile, Series, SeriesFile, SliceCache};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dicom")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// The entries of a zip fixture as loose files, in archive order.
fn unzip(name: &str) -> Vec<(String, Vec<u8>)> {
    crate::support::zip_entries(&fixture(name))
}

fn open_files(files: Vec<(String, Vec<u8>)>) -> Series {
    try_open(files).unwrap_or_else(|e| panic!("the series should open: {e}"))
}

fn try_open(files: Vec<(String, Vec<u8>)>) -> Result<Series, assay_render::RenderError> {
    let list: Vec<SeriesFile> = files
        .iter()
        .map(|(n, _)| SeriesFile {
            name: n.clone(),
            media_type: "application/dicom".into(),
        })
        .collect();
    let data: Arc<Vec<Vec<u8>>> = Arc::new(files.into_iter().map(|(_, d)| d).collect());
    let read: ReadFile =
        Arc::new(move |i| data.get(i).cloned().ok_or_else(|| format!("no file {i}")));
    open_series(&list, read, ArchiveLimits::default())
}

fn reference_slices() -> Vec<Vec<f32>> {
    let meta = json("series_ct300.json");
    let n = meta["rows"].as_u64().unwrap() as usize * meta["cols"].as_u64().unwrap() as usize;
    let all: Vec<f32> = fixture("series_ct300.ref.f32")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    all.chunks_exact(n).map(<[f32]>::to_vec).collect()
}

fn check_ct300(series: &Series, shuffle_note: &str) {
    let meta = json("series_ct300.json");
    let view = series.view();
    assert_eq!(view.stacks.len(), 1, "{shuffle_note}: {:?}", view.warnings);
    let stack = &view.stacks[0];
    assert_eq!(stack.slices, 300);
    assert_eq!(view.total_slices, 300);
    assert_eq!(stack.orientation, "axial");
    assert!(
        stack.label.starts_with("CT axial 64×64 · 300 slices"),
        "{}",
        stack.label
    );
    let order: Vec<String> = meta["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let names: Vec<String> = stack
        .names
        .iter()
        .map(|n| n.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(names, order, "{shuffle_note}: slices ordered by position");
    let positions: Vec<f64> = meta["positions_mm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(stack.positions_mm.len(), 300);
    for (a, b) in stack.positions_mm.iter().zip(&positions) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert_eq!(stack.spacing_mm, Some(1.25));
    assert!(stack.warnings.is_empty(), "{:?}", stack.warnings);
    assert_eq!(stack.info.units.as_deref(), Some("HU"));
    assert!(stack.info.presets.iter().any(|p| p.name == "Lung"));
    // Sampled slices, pixel-exact against pydicom's decode.
    let sample: Vec<u32> = meta["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    for (k, want) in sample.iter().zip(reference_slices()) {
        let scan = series.decode_slice(0, *k).unwrap();
        let got = scan.samples(0).unwrap();
        assert_eq!(got.len(), want.len());
        let diff = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(
            diff, 0,
            "{shuffle_note}: slice {k} differs in {diff} samples"
        );
    }
}

#[test]
fn ct300_archive_is_ordered_by_position_and_pixel_exact() {
    let series = open_files(vec![("ct300.zip".into(), fixture("series_ct300.zip"))]);
    check_ct300(&series, "archive");
    // The archive stays in memory for on-demand reads, and only it.
    assert_eq!(series.held_bytes(), fixture("series_ct300.zip").len());
}

#[test]
fn ct300_as_loose_files_in_any_order() {
    let mut files = unzip("series_ct300.zip");
    check_ct300(&open_files(files.clone()), "archive order");
    files.reverse();
    check_ct300(&open_files(files.clone()), "reversed");
    // A deterministic shuffle (xorshift).
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..files.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        files.swap(i, (s % (i as u64 + 1)) as usize);
    }
    check_ct300(&open_files(files), "shuffled");
}

#[test]
fn gantry_tilt_gap_and_duplicate_are_ordered_and_named() {
    let meta = json("series_tilt.json");
    let series = open_files(vec![("tilt.zip".into(), fixture("series_tilt.zip"))]);
    let view = series.view();
    assert_eq!(view.stacks.len(), 1, "{:?}", view.warnings);
    let stack = &view.stacks[0];
    assert_eq!(stack.slices, 40, "39 slices and a duplicate");
    assert_eq!(stack.orientation, "oblique axial");
    let names: Vec<&str> = stack
        .names
        .iter()
        .map(|n| n.rsplit('/').next().unwrap())
        .filter(|n| *n != "tilt-dup.dcm")
        .collect();
    let want: Vec<&str> = meta["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, want);
    let dup = stack
        .names
        .iter()
        .position(|n| n.ends_with("tilt-dup.dcm"))
        .unwrap();
    assert!(
        (5..=6).contains(&dup),
        "the duplicate sits beside slice 6: {dup}"
    );
    let spacing = meta["spacing_mm"].as_f64().unwrap();
    assert!((stack.spacing_mm.unwrap() - spacing).abs() < 1e-4);
    let all = stack.warnings.join("\n");
    assert!(all.contains("1 duplicate slice position"), "{all}");
    assert!(all.contains("1 gap(s)"), "{all}");
    assert!(
        all.contains(&format!("{:.2} mm between slices", spacing * 2.0)),
        "{all}"
    );
    assert!(all.contains("tilted 20.0°"), "{all}");
}

#[test]
fn a_mixed_series_is_split_into_labelled_stacks() {
    let series = open_files(unzip("series_mixed.zip"));
    let view = series.view();
    let labels: Vec<&str> = view.stacks.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(view.stacks.len(), 3, "{labels:?}");
    for (i, start) in [
        "MR axial 64×64 · 30 slices · T1 AX",
        "MR sagittal 48×48 · 12 slices · T2 SAG",
        "MR 64×64 · 5 slices · LOCALIZER",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(labels[i].starts_with(start), "{labels:?}");
    }
    assert_eq!(
        view.stacks.iter().map(|s| s.first).collect::<Vec<_>>(),
        vec![0, 30, 42]
    );
    assert_eq!(view.total_slices, 47);
    assert!(view.warnings.iter().any(|w| w.contains("3 stacks")));
    // The localizer has no geometry: ordered by Instance Number (5..1 in
    // the file names loc-0..loc-4), and says so.
    let loc = &view.stacks[2];
    assert!(loc.warnings[0].contains("ordered by Instance Number"));
    assert!(loc.positions_mm.is_empty());
    let names: Vec<&str> = loc.names.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "loc-4.dcm",
            "loc-3.dcm",
            "loc-2.dcm",
            "loc-1.dcm",
            "loc-0.dcm"
        ]
    );
    // Each stack decodes at its own size.
    assert_eq!(series.decode_slice(1, 11).unwrap().info.width, 48);
    let sag = &view.stacks[1];
    // Sagittal slices run along x; the normal (row × column) points to -x.
    assert_eq!(sag.positions_mm.first(), Some(&-44.0));
    assert_eq!(sag.positions_mm.last(), Some(&0.0));
    assert_eq!(sag.spacing_mm, Some(4.0));
}

#[test]
fn bad_files_are_left_out_by_name_and_the_rest_opens() {
    let mut files: Vec<(String, Vec<u8>)> = unzip("series_mixed.zip")
        .into_iter()
        .filter(|(n, _)| n.starts_with("ax-"))
        .collect();
    let truncated = files[3].1[..400].to_vec();
    files.push(("truncated.dcm".into(), truncated));
    files.push(("notes.txt".into(), b"hello".to_vec()));
    files.push(("bomb.zip".into(), zip_bomb()));
    let series = open_files(files);
    let view = series.view();
    assert_eq!(view.stacks[0].slices, 30);
    let all = view.warnings.join("\n");
    assert!(
        all.contains("notes.txt is left out: not a DICOM file"),
        "{all}"
    );
    assert!(all.contains("truncated.dcm is left out"), "{all}");
    assert!(
        all.contains("bomb.zip is left out: archive bomb.zip: entry bomb.dcm expands"),
        "{all}"
    );
    // Nothing readable at all: one clear error naming the files.
    let err = try_open(vec![("bomb.zip".into(), zip_bomb())]).unwrap_err();
    assert!(err.to_string().contains("no readable DICOM slice"), "{err}");
    assert!(err.to_string().contains("zip bomb"), "{err}");
}

fn zip_bomb() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("bomb.dcm", opts).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn the_slice_cache_stays_under_its_budget() {
    let series = open_files(vec![("ct300.zip".into(), fixture("series_ct300.zip"))]);
    let one = series.decode_slice(0, 0).unwrap().heap_bytes();
    let cache: SliceCache<u32> = SliceCache::new(one * 10);
    for k in 0..300u32 {
        cache
            .get_or_decode(&k, || series.decode_slice(0, k))
            .unwrap();
        let st = cache.stats();
        assert!(st.bytes <= st.budget, "{st:?}");
    }
    let st = cache.stats();
    assert_eq!(st.entries, 10);
    assert_eq!(st.misses, 300);
    assert!(st.peak <= one * 10);
    // The most recent slices are the ones kept.
    cache.get_or_decode(&299, || panic!("cached")).unwrap();
    cache.get_or_decode(&290, || panic!("cached")).unwrap();
    let mut decoded = false;
    cache
        .get_or_decode(&0, || {
            decoded = true;
            series.decode_slice(0, 0)
        })
        .unwrap();
    assert!(decoded, "slice 0 was evicted long ago");
    cache.retain(|_| false);
    assert_eq!(cache.stats().bytes, 0);
}
