//! Test support of the store's integration tests (not part of the library or
//! its binaries), the crash harness: run `crash-child` against one data
//! directory, SIGKILL it at random points, and after every kill reopen the store
//! and check that every acknowledged draft and submission is present and that
//! no assignment was queued for upload twice.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assay_store::{OutboxPayload, Store};

/// Outcome of a run.
#[derive(Debug, Default)]
pub struct CrashReport {
    pub kills: u32,
    pub acked_drafts: u64,
    pub acked_submissions: u64,
    pub outbox_entries: usize,
}

/// Small deterministic PRNG (xorshift64*), so runs are reproducible from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn text_of(answers: &serde_json::Value) -> Option<String> {
    answers["answers"]["notes"]["text"]
        .as_str()
        .map(str::to_string)
}

/// Run `kills` rounds of spawn → wait a random 0..`max_delay` → SIGKILL → verify.
pub fn run(
    child: &Path,
    dir: &Path,
    kills: u32,
    seed: u64,
    max_delay: Duration,
) -> Result<CrashReport, String> {
    let mut rng = Rng::new(seed);
    // Highest acknowledged draft text per assignment, and acknowledged submit keys.
    let mut acked_drafts: BTreeMap<String, (i64, String)> = BTreeMap::new();
    let mut acked_submits: BTreeMap<String, String> = BTreeMap::new();
    let mut report = CrashReport::default();
    for round in 0..kills {
        let mut proc = Command::new(child)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", child.display()))?;
        let stdout = proc.stdout.take().ok_or("child has no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut buf = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match buf.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    // Only complete lines are acknowledgements.
                    Ok(_) if line.ends_with('\n') => lines.push(line.trim_end().to_string()),
                    Ok(_) => break,
                }
            }
            lines
        });
        let delay_us = rng.below(max_delay.as_micros() as u64 + 1);
        let deadline = Instant::now() + Duration::from_micros(delay_us);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = proc.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = proc.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "round {round}: child exited early ({status}): {err}"
                ));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // `Child::kill` sends SIGKILL on Unix.
        proc.kill().map_err(|e| format!("kill: {e}"))?;
        let _ = proc.wait();
        let lines = reader.join().map_err(|_| "reader thread panicked")?;
        for line in lines {
            let parts: Vec<&str> = line.splitn(4, ' ').collect();
            match parts.as_slice() {
                ["D", id, rev, text] => {
                    let rev: i64 = rev.parse().map_err(|e| format!("bad line {line:?}: {e}"))?;
                    report.acked_drafts += 1;
                    acked_drafts.insert(id.to_string(), (rev, text.to_string()));
                }
                ["S", id, key] => {
                    report.acked_submissions += 1;
                    if let Some(prev) = acked_submits.insert(id.to_string(), key.to_string()) {
                        return Err(format!("{id} acknowledged twice: {prev} and {key}"));
                    }
                }
                _ => return Err(format!("unexpected child output {line:?}")),
            }
        }
        verify(dir, &acked_drafts, &acked_submits)
            .map_err(|e| format!("after kill {round}: {e}"))?;
        report.kills += 1;
    }
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    report.outbox_entries = store.outbox_entries().map_err(|e| e.to_string())?.len();
    Ok(report)
}

fn verify(
    dir: &Path,
    acked_drafts: &BTreeMap<String, (i64, String)>,
    acked_submits: &BTreeMap<String, String>,
) -> Result<(), String> {
    let store = Store::open(dir).map_err(|e| format!("reopen failed: {e}"))?;
    let entries = store.outbox_entries().map_err(|e| e.to_string())?;
    let mut by_assignment: BTreeMap<&str, &assay_store::OutboxEntry> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for e in &entries {
        if by_assignment.insert(e.assignment_id.as_str(), e).is_some() {
            return Err(format!("{} is in the outbox twice", e.assignment_id));
        }
        if !keys.insert(e.idempotency_key.as_str()) {
            return Err(format!("idempotency key {} reused", e.idempotency_key));
        }
    }
    for (id, key) in acked_submits {
        match by_assignment.get(id.as_str()) {
            Some(e) if &e.idempotency_key == key => {}
            Some(e) => {
                return Err(format!(
                    "{id}: acknowledged key {key}, stored key {}",
                    e.idempotency_key
                ))
            }
            None => return Err(format!("acknowledged submission of {id} is missing")),
        }
    }
    for (id, (rev, text)) in acked_drafts {
        if let Some(e) = by_assignment.get(id.as_str()) {
            // Submitted: the outbox must hold the acknowledged answers or newer ones.
            let OutboxPayload::Submission(req) = &e.payload else {
                return Err(format!("{id}: unexpected payload"));
            };
            let sent = text_of(&req.answers).ok_or(format!("{id}: answers unreadable"))?;
            let sent_rev: i64 = sent
                .rsplit('-')
                .next()
                .and_then(|r| r.parse().ok())
                .ok_or(format!("{id}: bad text {sent}"))?;
            if sent_rev < *rev {
                return Err(format!(
                    "{id}: submitted {sent} older than acknowledged {text}"
                ));
            }
            continue;
        }
        let d = store
            .draft(id)
            .map_err(|e| e.to_string())?
            .ok_or(format!("{id}: acknowledged draft {text} lost"))?;
        if d.revision < *rev {
            return Err(format!(
                "{id}: draft revision {} < acknowledged {rev}",
                d.revision
            ));
        }
        let stored = serde_json::to_value(&d.answers).map_err(|e| e.to_string())?;
        let expect = format!("{id}-rev-{}", d.revision);
        if text_of(&stored).as_deref() != Some(expect.as_str()) {
            return Err(format!(
                "{id}: draft content {stored} does not match revision"
            ));
        }
    }
    Ok(())
}
