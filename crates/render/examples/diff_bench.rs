//! Build the highlighted diff view model of a unified diff file and report
//! the time (used by `benches/vs_delta.sh`).
//!
//! `diff_bench FILE` — time the view model of FILE.
//! `diff_bench --generate OUT` — write the deterministic benchmark diff.

use std::time::Instant;

use assay_render::diff::{parse_unified_diff, DiffRows};
use assay_rubric::model::DiffMode;

#[path = "../benches/support/input.rs"]
mod bench_input;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, out] if flag == "--generate" => {
            let text = bench_input::generate_diff(24, 50);
            std::fs::write(out, &text)?;
            eprintln!("wrote {} lines to {out}", text.lines().count());
        }
        [file] => {
            let start = Instant::now();
            let text = std::fs::read_to_string(file)?;
            let diff = parse_unified_diff(&text)?;
            let parsed = start.elapsed();
            let rows = DiffRows::new(diff);
            rows.highlight_all();
            let built = start.elapsed();
            // Materialise and serialise every row, as the webview would get
            // them window by window.
            let mut bytes = 0usize;
            let mut n = 0usize;
            for f in 0..rows.file_count() {
                let count = rows.row_count(f, DiffMode::Unified, &[]);
                let r = rows.rows_for(f, 0, count, DiffMode::Unified, &[])?;
                n += r.len();
                bytes += serde_json::to_vec(&r)?.len();
            }
            let total = start.elapsed();
            println!(
                "lines={} rows={n} json_bytes={bytes} parse_ms={:.1} highlight_ms={:.1} total_ms={:.1}",
                text.lines().count(),
                parsed.as_secs_f64() * 1e3,
                (built - parsed).as_secs_f64() * 1e3,
                total.as_secs_f64() * 1e3
            );
        }
        _ => {
            eprintln!("usage: diff_bench FILE | diff_bench --generate OUT");
            std::process::exit(2);
        }
    }
    Ok(())
}
