//! Demo data: five opportunities with rubrics and rates, 50 hand-written or
//! generated items (coding-task validation in Python/TypeScript/Go/Rust, code
//! review diffs including a multi-thousand-line refactor, a services agreement
//! in two versions, generated DICOM and PNG scans, pairwise model answers),
//! experts, assignments and a history of submissions, outcomes, ledger entries
//! and payouts.

pub mod auto_review;
mod coding;
mod dicom;
mod legal;
mod pairwise;
mod review;
mod rubrics;

use std::collections::BTreeMap;

use assay_protocol::{
    AssignmentKind, Attestation, ExpertProfile, FieldValue, Item, OutcomeStatus, SubmissionReceipt,
    SubmissionRequest, TimeSpan,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::auth;
use crate::blobs::BlobStore;
use crate::error::Error;
use crate::rules::Rules;
use crate::storage::{NewAssignment, NewExpert, Storage};

/// The demo reviewer's credentials.
pub const DEMO_EMAIL: &str = "demo@assay.dev";
/// The demo reviewer's password.
pub const DEMO_PASSWORD: &str = "demo";
/// The demo reviewer's expert id.
pub const DEMO_EXPERT_ID: &str = "exp-demo";

/// Opportunity ids of the demo.
pub const OPP_CODING: &str = "opp-coding-validation";
/// The code review opportunity.
pub const OPP_REVIEW: &str = "opp-code-review";
/// The legal redline opportunity.
pub const OPP_LEGAL: &str = "opp-legal-redline";
/// The scan triage opportunity.
pub const OPP_SCANS: &str = "opp-scan-triage";
/// The pairwise preference opportunity.
pub const OPP_PAIRWISE: &str = "opp-pairwise-preference";

/// Opportunities whose first open item is an unpaid screening (qualification)
/// task for the demo reviewer.
pub const SCREENING_OPPORTUNITIES: &[&str] = &[OPP_CODING, OPP_LEGAL];

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    /// Side length of generated scan frames (pixels).
    pub scan_size: u16,
    /// Frames per multi-frame scan.
    pub scan_frames: u16,
    /// Slices (one file each) of the demo CT series.
    pub series_slices: u16,
}

impl SeedOptions {
    /// Full-size demo (the desktop demo).
    pub fn full() -> Self {
        Self {
            scan_size: 256,
            scan_frames: 12,
            series_slices: 300,
        }
    }

    /// Same items, smaller scans: fast enough for tests.
    pub fn small() -> Self {
        Self {
            scan_size: 64,
            scan_frames: 3,
            series_slices: 40,
        }
    }
}

/// What seeding created.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    /// Opportunities created.
    pub opportunities: usize,
    /// Items created.
    pub items: usize,
    /// Attachment blobs stored.
    pub blobs: usize,
    /// Open grading assignments the seed handed out.
    pub active_grade_assignments: usize,
    /// Unpaid qualification tasks (one per opportunity in [`SCREENING_OPPORTUNITIES`]).
    pub screening_assignments: usize,
    /// Senior review assignments created.
    pub senior_review_assignments: usize,
    /// Submissions already made in the seeded history.
    pub past_submissions: usize,
    /// Payouts already made in the seeded history.
    pub payouts: usize,
    /// Ids of the items, by opportunity.
    pub items_by_opportunity: BTreeMap<String, Vec<String>>,
}

/// An item under construction: fields may still hold raw attachment bytes.
pub(crate) struct DemoItem {
    pub id: String,
    pub title: String,
    pub fields: Vec<(String, DemoField)>,
}

pub(crate) enum DemoField {
    Text(String),
    Json(serde_json::Value),
    Blob {
        bytes: Vec<u8>,
        media_type: &'static str,
        filename: String,
    },
    /// Several attachments in one field (a series: one file per slice).
    Blobs(Vec<(Vec<u8>, &'static str, String)>),
}

impl DemoItem {
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            fields: Vec::new(),
        }
    }

    pub fn text(mut self, field: &str, value: impl Into<String>) -> Self {
        self.fields
            .push((field.to_owned(), DemoField::Text(value.into())));
        self
    }

    pub fn json(mut self, field: &str, value: serde_json::Value) -> Self {
        self.fields.push((field.to_owned(), DemoField::Json(value)));
        self
    }

    pub fn blob(
        mut self,
        field: &str,
        bytes: Vec<u8>,
        media_type: &'static str,
        filename: impl Into<String>,
    ) -> Self {
        self.fields.push((
            field.to_owned(),
            DemoField::Blob {
                bytes,
                media_type,
                filename: filename.into(),
            },
        ));
        self
    }
}

/// Fixed reference time of the demo history (so seeded data is reproducible
/// relative to "now" only where it must be: leases and due dates).
fn days_ago(now: DateTime<Utc>, days: i64, hours: i64) -> DateTime<Utc> {
    now - Duration::days(days) - Duration::hours(hours)
}

fn store_item(
    storage: &dyn Storage,
    blobs: &BlobStore,
    opportunity_id: &str,
    demo: DemoItem,
    created_at: DateTime<Utc>,
    blob_count: &mut usize,
) -> Result<Item, Error> {
    let mut fields = BTreeMap::new();
    for (name, f) in demo.fields {
        let value = match f {
            DemoField::Text(t) => FieldValue::Text(t),
            DemoField::Json(j) => FieldValue::Json(j),
            DemoField::Blob {
                bytes,
                media_type,
                filename,
            } => {
                let meta = blobs.put(storage, &bytes, media_type)?;
                *blob_count += 1;
                FieldValue::Attachment(assay_protocol::AttachmentRef {
                    sha256: meta.sha256,
                    size: meta.size,
                    media_type: media_type.to_owned(),
                    filename,
                })
            }
            DemoField::Blobs(files) => {
                let mut refs = Vec::with_capacity(files.len());
                for (bytes, media_type, filename) in files {
                    let meta = blobs.put(storage, &bytes, media_type)?;
                    *blob_count += 1;
                    refs.push(assay_protocol::AttachmentRef {
                        sha256: meta.sha256,
                        size: meta.size,
                        media_type: media_type.to_owned(),
                        filename,
                    });
                }
                FieldValue::Attachments(refs)
            }
        };
        fields.insert(name, value);
    }
    let item = Item {
        id: demo.id,
        opportunity_id: opportunity_id.to_owned(),
        title: demo.title,
        fields,
        created_at,
    };
    storage.insert_item(&item)?;
    Ok(item)
}

#[allow(clippy::too_many_arguments)] // a flat list reads best for seed data
fn expert(
    id: &str,
    email: &str,
    name: &str,
    password: Option<&str>,
    expertise: &[&str],
    attestations: &[(&str, &str)],
    senior: bool,
    timezone: &str,
) -> NewExpert {
    let salt = auth::generate_salt();
    NewExpert {
        profile: ExpertProfile {
            id: id.into(),
            email: email.into(),
            display_name: name.into(),
            expertise: expertise.iter().map(|s| (*s).to_owned()).collect(),
            attestations: attestations
                .iter()
                .map(|(kind, issuer)| Attestation {
                    kind: (*kind).to_owned(),
                    issuer: (*issuer).to_owned(),
                    verified_at: Utc
                        .with_ymd_and_hms(2026, 3, 14, 9, 30, 0)
                        .single()
                        .unwrap_or_default(),
                })
                .collect(),
            senior_reviewer: senior,
            timezone: timezone.into(),
        },
        // Experts without a password sign in only with tokens issued for them
        // (admin API, CLI); "!" never equals a hex digest.
        password_hash: password.map_or_else(|| "!".to_owned(), |p| auth::hash_password(&salt, p)),
        salt,
    }
}

/// The experts of the demo (the demo reviewer first).
fn experts() -> Vec<NewExpert> {
    vec![
        expert(
            DEMO_EXPERT_ID,
            DEMO_EMAIL,
            "Dana Okafor",
            Some(DEMO_PASSWORD),
            &[
                "python",
                "rust",
                "typescript",
                "go",
                "contract-law",
                "radiology-qa",
                "llm-evaluation",
            ],
            &[
                ("identity", "Veriff"),
                ("degree:MSc Computer Science", "TU Delft"),
                (
                    "bar-admission:England & Wales (non-practising)",
                    "Solicitors Regulation Authority",
                ),
                ("nda", "Assay Labs"),
            ],
            true,
            "Europe/Amsterdam",
        ),
        expert(
            "exp-marco",
            "marco.bellini@example.org",
            "Marco Bellini",
            None,
            &["go", "rust", "distributed-systems"],
            &[("identity", "Veriff"), ("nda", "Assay Labs")],
            false,
            "Europe/Rome",
        ),
        expert(
            "exp-lena",
            "lena.hoffmann@example.org",
            "Dr. Lena Hoffmann",
            None,
            &["radiology", "neuroradiology"],
            &[
                ("identity", "Veriff"),
                ("licence:Fachärztin für Radiologie", "Ärztekammer Berlin"),
            ],
            false,
            "Europe/Berlin",
        ),
        expert(
            "exp-sam",
            "sam.achebe@example.org",
            "Sam Achebe",
            None,
            &["python", "typescript", "llm-evaluation"],
            &[("identity", "Veriff")],
            false,
            "Africa/Lagos",
        ),
    ]
}

/// Answers that satisfy each demo rubric (used for the seeded history and
/// for other experts' submissions under senior review).
pub fn sample_answers(opportunity_id: &str, variant: usize) -> serde_json::Value {
    rubrics::sample_answers(opportunity_id, variant)
}

/// `answers` with each diff-line comment anchored where it can be shown on
/// `item`: a comment whose file or new-side line is not in the item's diff
/// moves to the diff's first added line (the generic sample answers do not
/// know each item's file), so a senior review shows it inline, not outdated.
pub fn anchored_to(item: &Item, mut answers: serde_json::Value) -> serde_json::Value {
    let Some(all) = answers.get_mut("answers").and_then(|a| a.as_object_mut()) else {
        return answers;
    };
    for answer in all.values_mut() {
        let Some(items) = answer.get_mut("items").and_then(|i| i.as_array_mut()) else {
            continue;
        };
        for note in items {
            let Some(FieldValue::Text(diff)) = note
                .get("field")
                .and_then(|f| f.as_str())
                .and_then(|f| item.fields.get(f))
            else {
                continue;
            };
            let Some(anchor) = note.get_mut("anchor") else {
                continue;
            };
            if anchor.get("kind").and_then(|k| k.as_str()) != Some("diff_line") {
                continue;
            }
            let lines = new_side_lines(diff);
            let file = anchor.get("file").and_then(|f| f.as_str()).unwrap_or("");
            let line = anchor
                .get("line")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            if lines.iter().any(|(f, l, _)| f == file && *l == line) {
                continue;
            }
            if let Some((f, l, _)) = lines.iter().find(|(_, _, added)| *added) {
                anchor["file"] = serde_json::Value::from(f.clone());
                anchor["side"] = serde_json::Value::from("new");
                anchor["line"] = serde_json::Value::from(*l);
            }
        }
    }
    answers
}

/// Every new-side line of a unified diff: (file, line number, added).
fn new_side_lines(diff: &str) -> Vec<(String, u64, bool)> {
    let mut out = Vec::new();
    let mut file = String::new();
    let mut next: Option<u64> = None;
    for l in diff.lines() {
        if let Some(path) = l.strip_prefix("+++ ") {
            file = path.strip_prefix("b/").unwrap_or(path).trim().to_string();
            next = None;
        } else if let Some(hunk) = l.strip_prefix("@@ ") {
            // "@@ -a,b +c,d @@": the new side starts at c.
            next = hunk
                .split_whitespace()
                .find_map(|p| p.strip_prefix('+'))
                .and_then(|p| p.split(',').next())
                .and_then(|n| n.parse().ok());
        } else if let Some(n) = next {
            if l.starts_with('+') || l.starts_with(' ') || l.is_empty() {
                out.push((file.clone(), n, l.starts_with('+')));
                next = n.checked_add(1);
            }
        }
    }
    out
}

/// The rubric of each demo opportunity (also used by tests).
pub fn demo_rubrics() -> Result<Vec<assay_rubric::Rubric>, Error> {
    rubrics::all()
}

fn submission(
    assignment: &assay_protocol::Assignment,
    answers: serde_json::Value,
    minutes: u64,
    at: DateTime<Utc>,
) -> SubmissionRequest {
    let secs = minutes * 60;
    SubmissionRequest {
        assignment_id: assignment.id.clone(),
        rubric_id: assignment.rubric_id.clone(),
        rubric_version: assignment.rubric_version,
        answers,
        active_seconds: secs,
        time_log: vec![TimeSpan {
            started_at: at - Duration::seconds(i64::try_from(secs).unwrap_or(0)),
            ended_at: at,
            corrected: false,
        }],
        client_created_at: at,
    }
}

/// The small demo ([`SeedOptions::small`]) and `count` bulk assignments on
/// copies of its items ([`seed_bulk`]), all as at `now`: what benchmarks and
/// large-queue tests start from. Like [`seed_demo`], refuses a database that
/// holds data.
pub fn seed_small_with_bulk(
    storage: &dyn Storage,
    blobs: &BlobStore,
    count: usize,
    now: DateTime<Utc>,
) -> Result<BulkSummary, Error> {
    let summary = seed_demo(storage, blobs, SeedOptions::small(), now)?;
    seed_bulk(storage, &summary, count, now)
}

/// What [`seed_bulk`] created.
#[derive(Debug, Clone, Default)]
pub struct BulkSummary {
    /// Item ids in creation order (oldest assignment first).
    pub items: Vec<String>,
}

/// Adds `count` more active grade assignments for the demo reviewer, each on
/// a new item copied (new id, numbered title) from the demo items of a seeded
/// database in turn: realistic content at scale, for benchmarks and large-
/// queue tests. Runs after [`seed_demo`] on the same storage.
pub fn seed_bulk(
    storage: &dyn Storage,
    summary: &SeedSummary,
    count: usize,
    now: DateTime<Utc>,
) -> Result<BulkSummary, Error> {
    let mut templates: Vec<Item> = Vec::new();
    for id in summary.items_by_opportunity.values().flatten() {
        // Only items the demo reviewer may read (the copies are theirs).
        match storage.item_for_expert(DEMO_EXPERT_ID, id) {
            Ok(envelope) => templates.push(envelope.item),
            Err(crate::error::PlatformError::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if templates.is_empty() {
        return Err(Error::Demo(
            "no demo items to copy: run the demo seed first".into(),
        ));
    }
    let mut out = BulkSummary::default();
    for k in 0..count {
        let template = &templates[k % templates.len()];
        let id = format!("bulk-{k:06}");
        let minutes = i64::try_from(k).unwrap_or(i64::MAX);
        storage.insert_item(&Item {
            id: id.clone(),
            opportunity_id: template.opportunity_id.clone(),
            title: format!("{} · #{k}", template.title),
            fields: template.fields.clone(),
            created_at: now - Duration::days(1),
        })?;
        storage.create_assignment(&NewAssignment {
            id: format!("asg-bulk-{k:06}"),
            expert_id: DEMO_EXPERT_ID.into(),
            item_id: id.clone(),
            kind: AssignmentKind::Grade,
            assigned_at: now - Duration::days(1),
            lease_expires_at: now + Duration::days(3),
            due_at: now + Duration::days(3) + Duration::minutes(minutes % 10_000),
            review_of_submission_id: None,
        })?;
        out.items.push(id);
    }
    Ok(out)
}

/// A grade the demo data has an expert hand in.
struct PastGrade<'a> {
    /// Who grades.
    expert_id: &'a str,
    /// What is graded.
    item: &'a Item,
    /// When it was handed out (with an 8-hour lease).
    assigned: DateTime<Utc>,
    /// Days from `assigned` to when it is due.
    due_days: i64,
    /// Hours from `assigned` to the submission.
    after_hours: i64,
    /// Which sample answers ([`sample_answers`]).
    sample: usize,
    /// Minutes of work the submission reports.
    minutes: u64,
}

impl PastGrade<'_> {
    /// Assigns the grade (as assignment `id`) and submits it under
    /// idempotency `key`: the receipt and when it was submitted.
    fn hand_in(
        &self,
        storage: &dyn Storage,
        id: String,
        key: &str,
    ) -> Result<(SubmissionReceipt, DateTime<Utc>), Error> {
        let a = storage.create_assignment(&NewAssignment {
            id,
            expert_id: self.expert_id.into(),
            item_id: self.item.id.clone(),
            kind: AssignmentKind::Grade,
            assigned_at: self.assigned,
            lease_expires_at: self.assigned + Duration::hours(8),
            due_at: self.assigned + Duration::days(self.due_days),
            review_of_submission_id: None,
        })?;
        let submitted = self.assigned + Duration::hours(self.after_hours);
        let answers = anchored_to(
            self.item,
            sample_answers(&self.item.opportunity_id, self.sample),
        );
        let req = submission(&a, answers, self.minutes, submitted);
        let hash = crate::api::request_hash(&req).map_err(|e| Error::Demo(e.body.message))?;
        let receipt = storage.submit(self.expert_id, key, &hash, &req, submitted)?;
        Ok((receipt, submitted))
    }
}

/// Seeds an empty platform with the demo opportunities, items, attachments, assignments and history (as at `now`); a database that holds data is refused.
pub fn seed_demo(
    storage: &dyn Storage,
    blobs: &BlobStore,
    options: SeedOptions,
    now: DateTime<Utc>,
) -> Result<SeedSummary, Error> {
    let mut summary = SeedSummary::default();
    if !storage.list_opportunities()?.is_empty() {
        return Err(Error::Demo(
            "the database already holds data; seed an empty one".into(),
        ));
    }
    for e in experts() {
        storage.insert_expert(&e, days_ago(now, 120, 0))?;
    }

    // Opportunities, rubrics and rates.
    for (opportunity, rubric, rates) in rubrics::opportunities(now)? {
        let doc = serde_json::to_value(&rubric)?;
        storage.insert_opportunity(&opportunity, &doc, &rates)?;
        summary.opportunities += 1;
    }

    // Items.
    let sets: Vec<(&str, Vec<DemoItem>)> = vec![
        (OPP_CODING, coding::items().map_err(Error::Demo)?),
        (OPP_REVIEW, review::items()),
        (OPP_LEGAL, legal::items()),
        (OPP_SCANS, dicom::items(options).map_err(Error::Demo)?),
        (OPP_PAIRWISE, pairwise::items()),
    ];
    let mut all: Vec<Item> = Vec::new();
    for (opp, items) in sets {
        for (i, demo) in items.into_iter().enumerate() {
            let created = days_ago(now, 30 - (i as i64 % 20), i as i64 % 7);
            let item = store_item(storage, blobs, opp, demo, created, &mut summary.blobs)?;
            summary
                .items_by_opportunity
                .entry(opp.to_owned())
                .or_default()
                .push(item.id.clone());
            all.push(item);
        }
    }
    summary.items = all.len();

    // Per opportunity: the last item goes to senior review, the two before
    // it are the demo reviewer's history, the rest are active assignments.
    let mut history = Vec::new();
    let mut senior = Vec::new();
    let mut active = Vec::new();
    for ids in summary.items_by_opportunity.values() {
        let n = ids.len();
        for (i, id) in ids.iter().enumerate() {
            let item = all
                .iter()
                .find(|it| &it.id == id)
                .ok_or_else(|| Error::Demo("lost an item".into()))?;
            if i + 1 == n {
                senior.push(item.clone());
            } else if i + 3 >= n {
                history.push(item.clone());
            } else {
                active.push(item.clone());
            }
        }
    }

    let mut seq = 0usize;
    let mut next_id = |prefix: &str| {
        seq += 1;
        format!("{prefix}-{seq:04}")
    };

    // Active assignments, due over the coming days: the first open item of
    // some opportunities is an unpaid screening task, the rest are paid grades.
    let mut screened = std::collections::BTreeSet::new();
    for (i, item) in active.iter().enumerate() {
        let assigned = days_ago(now, 2, (i % 9) as i64);
        let screening = SCREENING_OPPORTUNITIES.contains(&item.opportunity_id.as_str())
            && screened.insert(item.opportunity_id.clone());
        storage.create_assignment(&NewAssignment {
            id: next_id("asg"),
            expert_id: DEMO_EXPERT_ID.into(),
            item_id: item.id.clone(),
            kind: if screening {
                AssignmentKind::Screening
            } else {
                AssignmentKind::Grade
            },
            assigned_at: assigned,
            lease_expires_at: now + Duration::days(3),
            due_at: now + Duration::days(3 + (i % 5) as i64),
            review_of_submission_id: None,
        })?;
        if screening {
            summary.screening_assignments += 1;
        } else {
            summary.active_grade_assignments += 1;
        }
    }

    // History: past submissions with every kind of outcome, then payouts.
    let outcomes = [
        (OutcomeStatus::Accepted, None),
        (OutcomeStatus::Accepted, None),
        (
            OutcomeStatus::Rejected,
            Some("The verdict contradicts the failing test `test_handles_unicode`; the rationale does not address it."),
        ),
        (OutcomeStatus::Accepted, None),
        (
            OutcomeStatus::NeedsRevision,
            Some("Good catch on clause 7.2, but the annotation on 11.4 needs a concrete suggested wording."),
        ),
        (OutcomeStatus::Accepted, None),
        (OutcomeStatus::Accepted, None),
        (OutcomeStatus::Pending, None),
        (OutcomeStatus::Accepted, None),
        (OutcomeStatus::Pending, None),
    ];
    for (i, item) in history.iter().enumerate() {
        let grade = PastGrade {
            expert_id: DEMO_EXPERT_ID,
            item,
            assigned: days_ago(now, 24 - 2 * i as i64, 3),
            due_days: 3,
            after_hours: 2,
            sample: i,
            minutes: 14 + (i as u64 * 7) % 40,
        };
        let (receipt, submitted) =
            grade.hand_in(storage, next_id("asg"), &format!("seed-history-{i}"))?;
        summary.past_submissions += 1;
        let (status, feedback) = outcomes[i % outcomes.len()];
        if status != OutcomeStatus::Pending {
            storage.decide_outcome(
                &receipt.submission_id,
                status,
                feedback,
                submitted + Duration::days(1),
            )?;
        }
        // Two payouts along the way, the last one a week ago.
        if i == 3 || i == 7 {
            let paid = submitted + Duration::days(2);
            summary.payouts += storage
                .create_payout(DEMO_EXPERT_ID, "bank_transfer", paid)?
                .len();
        }
    }

    // Senior review: other experts grade, the demo reviewer reviews.
    let others = ["exp-marco", "exp-lena", "exp-sam", "exp-marco", "exp-sam"];
    for (i, item) in senior.iter().enumerate() {
        let grade = PastGrade {
            expert_id: others[i % others.len()],
            item,
            assigned: days_ago(now, 1, 10),
            due_days: 2,
            after_hours: 3,
            sample: i + 1,
            minutes: 22 + i as u64 * 5,
        };
        let (receipt, submitted) =
            grade.hand_in(storage, next_id("asg"), &format!("seed-other-{i}"))?;
        storage.create_assignment(&NewAssignment {
            id: next_id("asg"),
            expert_id: DEMO_EXPERT_ID.into(),
            item_id: item.id.clone(),
            kind: AssignmentKind::SeniorReview,
            assigned_at: submitted + Duration::hours(1),
            lease_expires_at: now + Duration::days(2),
            due_at: now + Duration::days(2),
            review_of_submission_id: Some(receipt.submission_id),
        })?;
        summary.senior_review_assignments += 1;
    }
    // A history item sent back for revision was re-opened (with a 48 h lease)
    // when it was decided, days ago: give it a live lease, so work the demo
    // reviewer is meant to do never starts out lapsed.
    storage.extend_active_leases(DEMO_EXPERT_ID, now + Duration::days(2))?;
    Ok(summary)
}

/// Open the demo database, seeding it (full size) when it is empty, and make
/// sure the demo reviewer's active leases last at least three more days, so
/// a demo restarted days later still has work.
pub fn open_or_seed(
    db_path: &std::path::Path,
    blob_dir: &std::path::Path,
    options: SeedOptions,
) -> Result<crate::SqliteStorage, Error> {
    let storage = crate::SqliteStorage::open(db_path)?;
    let blobs = BlobStore::new(blob_dir);
    let now = Utc::now();
    if storage.list_opportunities()?.is_empty() {
        let s = seed_demo(&storage, &blobs, options, now)?;
        tracing::info!(items = s.items, "seeded the demo platform");
    } else {
        storage.extend_active_leases(DEMO_EXPERT_ID, now + Duration::days(3))?;
    }
    Ok(storage)
}

/// Run the demo platform in-process: seeded on first use, auto-review on
/// (decisions after `auto_review`, payouts periodically), no admin API.
pub async fn spawn_demo(
    db_path: std::path::PathBuf,
    bind: std::net::SocketAddr,
    auto_review: std::time::Duration,
) -> Result<crate::RunningServer, Error> {
    spawn_demo_with(db_path, bind, auto_review, SeedOptions::full()).await
}

/// [`spawn_demo`] with explicit seed options (tests use [`SeedOptions::small`]).
pub async fn spawn_demo_with(
    db_path: std::path::PathBuf,
    bind: std::net::SocketAddr,
    auto_review: std::time::Duration,
    options: SeedOptions,
) -> Result<crate::RunningServer, Error> {
    let mut config = crate::ServerConfig::new(db_path, bind);
    config.demo_auto_review = Some(auto_review);
    let (db, blob_dir) = (config.db_path.clone(), config.blob_dir());
    let storage = tokio::task::spawn_blocking(move || open_or_seed(&db, &blob_dir, options))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))??;
    crate::spawn_with_storage(config, std::sync::Arc::new(storage)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails
    use super::*;

    fn patch_item(patch: String) -> Item {
        Item {
            id: "itm".into(),
            opportunity_id: OPP_CODING.into(),
            title: "t".into(),
            fields: BTreeMap::from([("candidate_patch".to_string(), FieldValue::Text(patch))]),
            created_at: Utc.timestamp_opt(0, 0).single().unwrap(),
        }
    }

    fn first_anchor(answers: &serde_json::Value) -> serde_json::Value {
        answers["answers"]["line_comments"]["items"][0]["anchor"].clone()
    }

    #[test]
    fn sample_diff_comments_land_on_a_line_of_the_items_own_diff() {
        let old = "pub fn top_k() -> Vec<u8> {\n    Vec::new()\n}\n";
        let new = "use std::collections::HashMap;\n\npub fn top_k() -> Vec<u8> {\n    let m: HashMap<u8, u8> = HashMap::new();\n    m.into_keys().collect()\n}\n";
        let item = patch_item(coding::unified("src/topk.rs", old, new));
        // The generic sample names a file this item does not have.
        let raw = sample_answers(OPP_CODING, 1);
        assert_eq!(first_anchor(&raw)["file"], "src/solution");
        let a = first_anchor(&anchored_to(&item, raw));
        assert_eq!(a["file"], "src/topk.rs");
        assert_eq!(a["side"], "new");
        assert_eq!(a["line"], 1, "the diff's first added line: {a}");
        // The comment text and everything else stay as they were.
        let moved = anchored_to(&item, sample_answers(OPP_CODING, 1));
        assert_eq!(
            moved["answers"]["line_comments"]["items"][0]["comment"],
            sample_answers(OPP_CODING, 1)["answers"]["line_comments"]["items"][0]["comment"]
        );
        assert_eq!(
            moved["answers"]["verdict"],
            sample_answers(OPP_CODING, 1)["answers"]["verdict"]
        );
    }

    #[test]
    fn a_comment_already_on_a_line_of_the_diff_stays_there() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\ne\nf\ng\nH\n";
        let item = patch_item(coding::unified("src/solution", old, new));
        let mut answers = sample_answers(OPP_CODING, 1);
        answers["answers"]["line_comments"]["items"][0]["anchor"]["line"] = 6.into();
        let a = first_anchor(&anchored_to(&item, answers));
        assert_eq!(
            (a["file"].as_str(), a["line"].as_u64()),
            (Some("src/solution"), Some(6))
        );
    }

    #[test]
    fn new_side_lines_count_context_and_added_lines_only() {
        let d = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3,3 +3,4 @@\n c\n-d\n+D\n+E\n f\n";
        assert_eq!(
            new_side_lines(d),
            vec![
                ("x".to_string(), 3, false),
                ("x".to_string(), 4, true),
                ("x".to_string(), 5, true),
                ("x".to_string(), 6, false),
            ]
        );
    }
}
