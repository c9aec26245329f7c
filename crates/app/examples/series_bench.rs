//! A CT series of single-frame DICOM files written by pydicom (default
//! 512×512×300, `crates/render/tests/fixtures/dicom/generate_series.py
//! --bench DIR`; `cargo xtask bench` generates and caches it in
//! `target/bench-data/`), opened and scrolled through the app's view cache,
//! paired and repeated:
//!
//! `cargo run --release -p assay-app --example series_bench -- --dir DIR [--runs R]`
//!
//! Each run starts from a fresh cache and reads the files the way the app
//! reads synced attachments (whole file, sha256 checked). Measured:
//! - "time to first slice": open the series (read and parse every file's
//!   header, order the stack) and render slice 1 as the UI gets it (windowed
//!   PNG data URL); its anchor, in the same run, is decoding and rendering
//!   that one file alone (what a single scan costs);
//! - "scroll, not cached": render each slice in turn from 1 to N (decode on
//!   demand): p50 and p99 per slice; anchor: the same slices scrolled back
//!   while the cache holds them (render only);
//! - memory: the decoded-slice cache's peak bytes against its budget (the
//!   default 256 MiB, and a 32 MiB budget that must evict), and the
//!   process's peak resident memory (`VmHWM`).
//!
//! Printed: median and min over runs of each figure, CPU and wall.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use assay_app::views::{BlobReader, ViewCache};
use assay_pgtest::process::peak_rss_kib;
use assay_protocol::AttachmentRef;
use assay_render::series::DEFAULT_SLICE_CACHE_BYTES;
use assay_render::{decode_scan, render_frame_png};
use common::{arg, cores, load, print_arms, quantile, thread_cpu_ns, Arm};
use sha2::{Digest, Sha256};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("give --dir DIR (see the header of this file)"))?;
    let runs = arg("--runs", 7)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no .dcm files in {}", dir.display());
    let list: Vec<AttachmentRef> = files
        .iter()
        .map(|p| -> anyhow::Result<AttachmentRef> {
            let bytes = std::fs::read(p)?;
            Ok(AttachmentRef {
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                media_type: "application/dicom".into(),
                filename: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let base = dir.clone();
    let blobs: BlobReader = Arc::new(move |a: &AttachmentRef| {
        let bytes = std::fs::read(base.join(&a.filename)).map_err(|e| e.to_string())?;
        if hex::encode(Sha256::digest(&bytes)) != a.sha256 {
            return Err(format!("{} changed on disk", a.filename));
        }
        Ok(bytes)
    });
    let total_bytes: u64 = list.iter().map(|a| a.size).sum();
    println!(
        "series_bench: {} files ({:.1} MiB) in {}; {} runs; {} cores; load {}",
        list.len(),
        total_bytes as f64 / 1048576.0,
        dir.display(),
        runs,
        cores(),
        load()
    );

    let (mut ttfs, mut single) = (Arm::default(), Arm::default());
    let (mut miss50, mut miss99, mut hit50, mut hit99) = (
        Arm::default(),
        Arm::default(),
        Arm::default(),
        Arm::default(),
    );
    let mut peaks: Vec<(usize, usize, usize)> = Vec::new();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let cpu_ms = |c: u64| (thread_cpu_ns().saturating_sub(c)) as f64 / 1e6;
    for run in 0..runs {
        // Budgets alternate: the default, and one that must evict.
        let budget = if run % 2 == 0 {
            DEFAULT_SLICE_CACHE_BYTES
        } else {
            32 << 20
        };
        let cache = ViewCache::with_slice_budget(budget);
        let mut pair = |first: bool| -> anyhow::Result<()> {
            if first {
                let (t, c) = (Instant::now(), thread_cpu_ns());
                let view = cache
                    .open_series("bench/series", &list, &blobs)
                    .map_err(anyhow::Error::msg)?;
                let stack = &view.stacks[0];
                let png = cache.scan_frame("bench/series#0", 0, stack.info.default_window)?;
                anyhow::ensure!(
                    png.data_url.len() > 100 && view.total_slices as usize == list.len()
                );
                ttfs.push(ms(t), cpu_ms(c));
            } else {
                let (t, c) = (Instant::now(), thread_cpu_ns());
                let bytes = blobs(&list[0]).map_err(anyhow::Error::msg)?;
                let scan = decode_scan(&bytes, "application/dicom")?;
                let png = render_frame_png(&scan, 0, scan.info.default_window)?;
                anyhow::ensure!(png.len() > 100);
                single.push(ms(t), cpu_ms(c));
            }
            Ok(())
        };
        // Paired, order alternating between runs.
        if run % 2 == 0 {
            pair(true)?;
            pair(false)?;
        } else {
            pair(false)?;
            pair(true)?;
        }
        let view_window = assay_render::Window {
            center: 40.0,
            width: 400.0,
        };
        let n = list.len() as u32;
        let (mut miss, mut miss_cpu) = (Vec::new(), Vec::new());
        for k in 1..n {
            let (t, c) = (Instant::now(), thread_cpu_ns());
            cache.scan_frame("bench/series#0", k, view_window)?;
            miss.push(ms(t));
            miss_cpu.push(cpu_ms(c));
        }
        let (mut hit, mut hit_cpu) = (Vec::new(), Vec::new());
        let kept = cache.slice_cache_stats().entries as u32;
        for k in (n.saturating_sub(kept)..n).rev() {
            let (t, c) = (Instant::now(), thread_cpu_ns());
            cache.scan_frame("bench/series#0", k, view_window)?;
            hit.push(ms(t));
            hit_cpu.push(cpu_ms(c));
        }
        let st = cache.slice_cache_stats();
        anyhow::ensure!(st.peak <= st.budget, "cache over budget: {st:?}");
        peaks.push((budget, st.peak, st.entries));
        miss50.push(quantile(&miss, 0.5), quantile(&miss_cpu, 0.5));
        miss99.push(quantile(&miss, 0.99), quantile(&miss_cpu, 0.99));
        hit50.push(quantile(&hit, 0.5), quantile(&hit_cpu, 0.5));
        hit99.push(quantile(&hit, 0.99), quantile(&hit_cpu, 0.99));
    }
    print_arms(
        "ms",
        &[
            (&ttfs, "time to first slice (open + render slice 1)"),
            (&single, "  anchor: decode + render that file alone"),
            (&miss50, "scroll p50, decode on demand"),
            (&miss99, "scroll p99, decode on demand"),
            (&hit50, "  anchor: scroll p50, cached slices"),
            (&hit99, "  anchor: scroll p99, cached slices"),
        ],
    );
    for budget in [DEFAULT_SLICE_CACHE_BYTES, 32 << 20] {
        let p: Vec<&(usize, usize, usize)> = peaks.iter().filter(|p| p.0 == budget).collect();
        if let Some(max) = p.iter().map(|p| p.1).max() {
            println!(
                "slice cache budget {:>4} MiB: peak {:.1} MiB, {} slices kept (max over {} runs)",
                budget >> 20,
                max as f64 / 1048576.0,
                p.iter().map(|p| p.2).max().unwrap_or(0),
                p.len()
            );
        }
    }
    println!(
        "process peak resident memory (VmHWM): {:.1} MiB",
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}
