//! The one client interface the sync engine talks to. The engine, store,
//! outbox, UI and time tracking see Assay's protocol types only; which
//! platform answers is decided here, once, at sign-in.

use assay_protocol::*;
use reqwest::Response;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::client::{Limits, PlatformClient};
use crate::error::{Result, SyncError};
use crate::labelstudio::LabelStudioClient;

/// Which kind of platform a session talks to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// An Assay platform (the reference protocol).
    #[default]
    Assay,
    /// A Label Studio (Community) server.
    LabelStudio,
}

impl PlatformKind {
    /// The name shown in the status bar.
    pub fn label(self) -> &'static str {
        match self {
            Self::Assay => "Assay platform",
            Self::LabelStudio => "Label Studio",
        }
    }

    /// Whether the platform reports rates, earnings and payouts.
    pub fn reports_pay(self) -> bool {
        matches!(self, Self::Assay)
    }
}

/// A platform client of either kind, with the protocol's operations.
#[derive(Debug, Clone)]
pub enum Connector {
    /// The Assay protocol ([`PlatformClient`]).
    Assay(PlatformClient),
    /// A Label Studio server, mapped onto the protocol.
    LabelStudio(LabelStudioClient),
}

impl From<PlatformClient> for Connector {
    fn from(c: PlatformClient) -> Self {
        Self::Assay(c)
    }
}

impl From<LabelStudioClient> for Connector {
    fn from(c: LabelStudioClient) -> Self {
        Self::LabelStudio(c)
    }
}

/// `$call` on the client inside `$self`, whichever kind it is (both kinds
/// have the method): `either!(self, c => c.me().await)`.
macro_rules! either {
    ($self:expr, $c:ident => $call:expr) => {
        match $self {
            Self::Assay($c) => $call,
            Self::LabelStudio($c) => $call,
        }
    };
}

impl Connector {
    /// Which kind of platform this is.
    pub fn kind(&self) -> PlatformKind {
        match self {
            Self::Assay(_) => PlatformKind::Assay,
            Self::LabelStudio(_) => PlatformKind::LabelStudio,
        }
    }

    /// The platform's base URL, as configured.
    pub fn base_url(&self) -> &str {
        either!(self, c => c.base_url())
    }

    /// The same connector with other size and time limits.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        match self {
            Self::Assay(c) => Self::Assay(c.with_limits(limits)),
            Self::LabelStudio(c) => Self::LabelStudio(c.with_limits(limits)),
        }
    }

    /// Whether the platform answers, and its protocol version.
    pub async fn health(&self) -> Result<Health> {
        either!(self, c => c.health().await)
    }

    /// The signed-in expert's profile.
    pub async fn me(&self) -> Result<ExpertProfile> {
        either!(self, c => c.me().await)
    }

    /// Revoke the token where the platform can; Label Studio tokens are
    /// managed in Label Studio (the app still removes it from the keyring).
    pub async fn logout(&self) -> Result<()> {
        match self {
            Self::Assay(c) => c.logout().await,
            Self::LabelStudio(_) => Ok(()),
        }
    }

    /// The opportunities open to the expert.
    pub async fn opportunities(&self) -> Result<OpportunityList> {
        either!(self, c => c.opportunities().await)
    }

    /// One page of assignment changes after `since`.
    pub async fn assignments(
        &self,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AssignmentPage> {
        either!(self, c => c.assignments(since, limit).await)
    }

    /// Renew an assignment's lease; the new expiry.
    pub async fn renew_lease(&self, assignment_id: &str) -> Result<Lease> {
        either!(self, c => c.renew_lease(assignment_id).await)
    }

    /// Hand an assignment back.
    pub async fn release(&self, assignment_id: &str) -> Result<()> {
        match self {
            Self::Assay(c) => c.release(assignment_id).await,
            Self::LabelStudio(_) => Ok(()),
        }
    }

    /// An item envelope as raw JSON, so hidden fields can be dropped before decoding.
    pub async fn item_raw(&self, item_id: &str) -> Result<serde_json::Value> {
        either!(self, c => c.item_raw(item_id).await)
    }

    /// Fetch the media a raw item envelope still points at (Label Studio
    /// images), rewriting each field in place; returns the bytes to store as
    /// blobs before the item. Call it after hidden fields are removed: only
    /// what the reviewer may see is downloaded. Assay items carry attachment
    /// references already (downloaded later by digest).
    pub async fn resolve_media(&self, raw: &mut serde_json::Value) -> Result<Vec<Vec<u8>>> {
        match self {
            Self::Assay(_) => Ok(Vec::new()),
            Self::LabelStudio(c) => c.resolve_media(raw).await,
        }
    }

    /// One rubric version.
    pub async fn rubric(&self, id: &str, version: u32) -> Result<RubricEnvelope> {
        either!(self, c => c.rubric(id, version).await)
    }

    /// Start downloading an attachment from byte `offset` (Assay platforms only).
    pub async fn attachment(&self, sha256: &str, offset: u64) -> Result<Response> {
        match self {
            Self::Assay(c) => c.attachment(sha256, offset).await,
            Self::LabelStudio(_) => Err(SyncError::Protocol(
                "Label Studio tasks carry no Assay attachments".into(),
            )),
        }
    }

    /// Upload a submission; repeating `idempotency_key` replays the original receipt.
    pub async fn submit(
        &self,
        req: &SubmissionRequest,
        idempotency_key: &str,
    ) -> Result<SubmissionReceipt> {
        either!(self, c => c.submit(req, idempotency_key).await)
    }

    /// Upload a senior review; idempotent by `idempotency_key`.
    pub async fn review(
        &self,
        req: &ReviewRequest,
        idempotency_key: &str,
    ) -> Result<ReviewReceipt> {
        either!(self, c => c.review(req, idempotency_key).await)
    }

    /// One page of review outcome changes after `since`.
    pub async fn outcomes(&self, since: Option<&str>, limit: Option<u32>) -> Result<OutcomePage> {
        match self {
            Self::Assay(c) => c.outcomes(since, limit).await,
            // A feed Label Studio does not have: one empty, final page.
            Self::LabelStudio(_) => Ok(OutcomePage::default()),
        }
    }

    /// One page of ledger changes after `since` (empty where the platform has no pay).
    pub async fn ledger(&self, since: Option<&str>, limit: Option<u32>) -> Result<LedgerPage> {
        match self {
            Self::Assay(c) => c.ledger(since, limit).await,
            // A feed Label Studio does not have: one empty, final page.
            Self::LabelStudio(_) => Ok(LedgerPage::default()),
        }
    }

    /// The rates of the expert's opportunities (empty where the platform has no pay).
    pub async fn rate_card(&self) -> Result<RateCard> {
        match self {
            Self::Assay(c) => c.rate_card().await,
            Self::LabelStudio(_) => Ok(RateCard { rates: Vec::new() }),
        }
    }

    /// The expert's payouts (empty where the platform has no pay).
    pub async fn payouts(&self) -> Result<PayoutList> {
        match self {
            Self::Assay(c) => c.payouts().await,
            Self::LabelStudio(_) => Ok(PayoutList {
                payouts: Vec::new(),
            }),
        }
    }
}
