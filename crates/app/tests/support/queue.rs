//! Queue rows the app's tests pick.

use assay_app::types::QueueEntry;
use assay_protocol::AssignmentKind;
use assay_store::QueueStatus;

/// A paid grade, downloaded and not yet started.
pub fn is_new_grade(r: &QueueEntry) -> bool {
    r.kind == AssignmentKind::Grade && r.downloaded && r.status == QueueStatus::New
}
