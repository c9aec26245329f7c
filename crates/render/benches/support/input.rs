//! Deterministic generator of a large, real-looking multi-language change
//! (shared by `benches/diff.rs` and `examples/diff_bench.rs`).

use similar::TextDiff;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn rust_fn(i: usize, v: u64) -> String {
    format!(
        "/// Computes the weighted score of bucket {i}.\n\
         ///\n\
         /// Returns `None` when the bucket is empty.\n\
         pub fn score_{i}(items: &[Item], weight: f64) -> Option<f64> {{\n\
         \x20   if items.is_empty() {{\n\
         \x20       return None; // nothing to score\n\
         \x20   }}\n\
         \x20   let total: f64 = items.iter().map(|it| it.value * weight + {v}.0).sum();\n\
         \x20   let label = format!(\"bucket-{{}}-{i}\", items.len());\n\
         \x20   tracing::debug!(%label, total, \"scored\");\n\
         \x20   Some(total / items.len() as f64)\n\
         }}\n\n"
    )
}

fn py_fn(i: usize, v: u64) -> String {
    format!(
        "def score_{i}(items, weight={v}):\n\
         \x20   \"\"\"Compute the weighted score of bucket {i}.\n\
         \n\
         \x20   Returns None when the bucket is empty.\n\
         \x20   \"\"\"\n\
         \x20   if not items:\n\
         \x20       return None  # nothing to score\n\
         \x20   total = sum(it.value * weight + {v} for it in items)\n\
         \x20   label = f\"bucket-{{len(items)}}-{i}\"\n\
         \x20   log.debug(\"scored %s %s\", label, total)\n\
         \x20   return total / len(items)\n\n\n"
    )
}

fn ts_fn(i: usize, v: u64) -> String {
    format!(
        "/**\n * Computes the weighted score of bucket {i}.\n */\n\
         export function score{i}(items: Item[], weight = {v}): number | null {{\n\
         \x20 if (items.length === 0) {{\n\
         \x20   return null; // nothing to score\n\
         \x20 }}\n\
         \x20 const total = items.reduce((acc, it) => acc + it.value * weight + {v}, 0);\n\
         \x20 const label = `bucket-${{items.length}}-{i}`;\n\
         \x20 console.debug('scored', label, total);\n\
         \x20 return total / items.length;\n\
         }}\n\n"
    )
}

fn go_fn(i: usize, v: u64) -> String {
    format!(
        "// Score{i} computes the weighted score of bucket {i}.\n\
         func Score{i}(items []Item, weight float64) (float64, bool) {{\n\
         \tif len(items) == 0 {{\n\
         \t\treturn 0, false // nothing to score\n\
         \t}}\n\
         \ttotal := 0.0\n\
         \tfor _, it := range items {{\n\
         \t\ttotal += it.Value*weight + {v}\n\
         \t}}\n\
         \tlabel := fmt.Sprintf(\"bucket-%d-{i}\", len(items))\n\
         \tlog.Printf(\"scored %s %f\", label, total)\n\
         \treturn total / float64(len(items)), true\n\
         }}\n\n"
    )
}

/// Old and new versions of one generated source file.
fn file_pair(lang: usize, funcs: usize, rng: &mut Lcg) -> (String, String, &'static str) {
    let (gen, ext): (fn(usize, u64) -> String, &str) = match lang % 4 {
        0 => (rust_fn, "rs"),
        1 => (py_fn, "py"),
        2 => (ts_fn, "ts"),
        _ => (go_fn, "go"),
    };
    let mut old = String::new();
    let mut new = String::new();
    for i in 0..funcs {
        let v = rng.below(1000);
        let block = gen(i, v);
        old.push_str(&block);
        match rng.below(10) {
            // Modified constant in a few lines.
            0..=3 => new.push_str(&gen(i, v + 1 + rng.below(50))),
            // Function removed.
            4 => {}
            // Function added after.
            5 => {
                new.push_str(&block);
                new.push_str(&gen(i + 100_000, rng.below(1000)));
            }
            // Renamed identifiers.
            6 => new.push_str(&block.replace("items", "entries")),
            _ => new.push_str(&block),
        }
    }
    (old, new, ext)
}

/// A git-style unified diff of `files` generated files with `funcs` functions
/// each (deterministic). 24 files × 50 functions ≈ 12,000 diff lines.
pub fn generate_diff(files: usize, funcs: usize) -> String {
    let mut rng = Lcg(0x5eed_1234_abcd_0042);
    let mut out = String::new();
    for f in 0..files {
        let (old, new, ext) = file_pair(f, funcs, &mut rng);
        let path = format!("src/module_{f}/scoring.{ext}");
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
        out.push_str("index 1111111..2222222 100644\n");
        let diff = TextDiff::from_lines(&old, &new);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
    }
    out
}
