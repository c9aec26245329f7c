// Types crossing from the Rust shell to the UI. Everything Rust already
// exports (ts-rs, `src/lib/bindings/`) is re-exported from here so the
// compiler checks the UI against the real shapes; the few UI-side
// definitions below are marked and are for views Rust does not serve yet.

import type { Block } from "../bindings/Block";
import type { DiffMode } from "../bindings/DiffMode";
import type { FieldView as RustFieldView } from "../bindings/FieldView";
import type { OpenedItem as RustOpenedItem } from "../bindings/OpenedItem";
import type { ReviewDecision } from "../bindings/ReviewDecision";
import type { TimeSpan } from "../bindings/TimeSpan";

// session
export type { SessionInfo } from "../bindings/SessionInfo";
export type { ExpertSummary } from "../bindings/ExpertSummary";

// queue (statuses from crates/store)
export type { QueueStatus } from "../bindings/QueueStatus";
export type { QueueSort } from "../bindings/QueueSort";
export type { QueueFilter } from "../bindings/QueueFilter";
export type { QueueEntry } from "../bindings/QueueEntry";
export type { QueueGroup } from "../bindings/QueueGroup";
export type { QueuePage } from "../bindings/QueuePage";
import type { QueueEntry } from "../bindings/QueueEntry";
/** Older name used across the UI. */
export type QueueRow = QueueEntry;

// item
export type { OpportunityRef } from "../bindings/OpportunityRef";
export type { TimeLog } from "../bindings/TimeLog";
export type { SaveResult } from "../bindings/SaveResult";
export type { SubmitResult } from "../bindings/SubmitResult";
export type { ReviewInput } from "../bindings/ReviewInput";
export type { ItemIssue } from "../bindings/ItemIssue";
// Validation comes from crates/rubric: `ok` is true when no issue has
// severity "error"; warnings never block submitting.
export type { ValidationReport } from "../bindings/ValidationReport";
export type { ValidationIssue } from "../bindings/ValidationIssue";
export type { IssueSeverity } from "../bindings/IssueSeverity";

/**
 * Another expert's submission under senior review (protocol
 * `ReviewedSubmission`; `answers` is untyped JSON there, read with
 * `asAnswers`; `active_seconds` arrives as a JSON number).
 */
export type ReviewedSubmissionView = {
  submission_id: string;
  answers: unknown;
  active_seconds: number;
  submitted_at: string;
};

/**
 * Everything the item screen needs: Rust's `OpenedItem`, with the field views
 * widened by the UI-side viewers.
 */
export type OpenedItem = Omit<RustOpenedItem, "views" | "reviewed"> & {
  views: FieldView[];
  reviewed: ReviewedSubmissionView | null;
};

// viewers: crates/render view models, composed by crates/app
import type { LegalDocView } from "../bindings/LegalDocView";
export type { LegalDocView };
export type { Clause } from "../bindings/Clause";
export type { LegalRun } from "../bindings/LegalRun";
export type { DefinedTerm } from "../bindings/DefinedTerm";
export type { Block };
export type { Inline } from "../bindings/Inline";
export type { ListItem } from "../bindings/ListItem";
export type { ChatView } from "../bindings/ChatView";
export type { ChatTurn } from "../bindings/ChatTurn";
export type { ChatRole } from "../bindings/ChatRole";
export type { CodeView } from "../bindings/CodeView";
export type { CodeLine } from "../bindings/CodeLine";
export type { StyledRun } from "../bindings/StyledRun";
export type { TokenClass } from "../bindings/TokenClass";
export type { TestSuiteView } from "../bindings/TestSuiteView";
export type { TestCase } from "../bindings/TestCase";
export type { TestOutcome } from "../bindings/TestOutcome";
export type { TestStatus } from "../bindings/TestStatus";
export type { DiffRow } from "../bindings/DiffRow";
export type { SplitCell } from "../bindings/SplitCell";
export type { LineKind } from "../bindings/LineKind";
export type { FileStatus } from "../bindings/FileStatus";
export type { FileTree } from "../bindings/FileTree";
export type { DiffSummary } from "../bindings/DiffSummary";
export type { DiffFileSummary } from "../bindings/DiffFileSummary";
export type { DiffRowsRequest } from "../bindings/DiffRowsRequest";
export type { DiffRowWindow } from "../bindings/DiffRowWindow";

/**
 * View of one scoped field, tagged by `kind`: Rust's `FieldView` plus
 * `legal_redline` and `scan` as crates/app serves them (listed here until
 * the generated FieldView binding is refreshed; identical shapes).
 */
export type FieldView =
  | RustFieldView
  | { kind: "legal_redline"; field_id: string; doc: LegalDocView }
  | { kind: "scan"; field_id: string; handle: string; info: ScanInfo };

// ---- scan frames (crates/app `ScanFrame`, `PixelValue`; same shapes).

/** Window centre / width (render `Window`). */
export type { ScanWindow as WindowLevel } from "../bindings/ScanWindow";
export type { WindowPreset } from "../bindings/WindowPreset";
export type { ScanInfo } from "../bindings/ScanInfo";
import type { ScanInfo } from "../bindings/ScanInfo";
/** One rendered frame: an 8-bit grey image after windowing, as a PNG data URL. */
export type ScanFrame = { frame: number; width: number; height: number; data_url: string };
export type PixelValue = {
  x: number;
  y: number;
  frame: number;
  value: number;
  unit: string | null;
};

// sync
export type { SyncState } from "../bindings/SyncState";
import type { SyncState } from "../bindings/SyncState";
/** Older name used across the UI. */
export type SyncStatus = SyncState;
/** crates/sync progress, via the `sync_now` channel and `sync://progress`. */
export type { SyncProgress } from "../bindings/SyncProgress";
export type { SyncPhase } from "../bindings/SyncPhase";

// earnings
export type { EarningsGrouping } from "../bindings/EarningsGrouping";
export type { EarningsQuery } from "../bindings/EarningsQuery";
export type { UnpaidTime } from "../bindings/UnpaidTime";
export type { WaitingTime } from "../bindings/WaitingTime";
export type { EarningsOverview } from "../bindings/EarningsOverview";
export type { EarningsPoint } from "../bindings/EarningsPoint";
export type { EarningsSeries } from "../bindings/EarningsSeries";
export type { CsvExport } from "../bindings/CsvExport";
export type { PayoutView } from "../bindings/PayoutView";
export type { Discrepancy } from "../bindings/Discrepancy";

// settings
export type { Theme } from "../bindings/Theme";
export type { Settings } from "../bindings/Settings";
/** Action name → key chords, e.g. "Mod+Enter", "j", "?", "Shift+G". */
export type Keymap = { [action in string]?: string[] };

// preview
export type { PreviewItemRef } from "../bindings/PreviewItemRef";
export type { PreviewSelection } from "../bindings/PreviewSelection";
export type { PreviewState } from "../bindings/PreviewState";

export type { TimeSpan, ReviewDecision, DiffMode };
