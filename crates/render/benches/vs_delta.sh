#!/usr/bin/env bash
# Time our highlighted diff view model against git-delta on the same
# ≥10,000-line diff, one run each, and print the ratio.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if ! command -v delta >/dev/null 2>&1; then
  cargo install --locked git-delta
fi
cargo build --release -q -p assay-render --example diff_bench
BIN="$CARGO_TARGET_DIR/release/examples/diff_bench"
INPUT="${1:-$(mktemp -t assay-bench-XXXX.diff)}"
[ -s "$INPUT" ] || "$BIN" --generate "$INPUT"
echo "input: $INPUT ($(wc -l <"$INPUT") lines), $(nproc) cores, $(delta --version)"
now() { date +%s%N; }
# Warm the page cache for both.
cat "$INPUT" >/dev/null
t0=$(now)
delta --no-gitconfig --paging=never --color-only <"$INPUT" >/dev/null
t1=$(now)
ours=$("$BIN" "$INPUT")
t2=$(now)
delta_ms=$(( (t1 - t0) / 1000000 ))
ours_ms=$(( (t2 - t1) / 1000000 ))
echo "delta (--color-only, whole process): ${delta_ms} ms"
echo "assay-render view model (whole process): ${ours_ms} ms  [$ours]"
awk -v d="$delta_ms" -v o="$ours_ms" 'BEGIN { printf "ratio delta/assay = %.2fx (>1 means assay is faster)\n", d / (o > 0 ? o : 1) }'
