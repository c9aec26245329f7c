// The one interface the UI talks to. The real app uses the Tauri
// implementation (tauri.ts, which documents the command names); tests and
// `npm run dev` use the in-memory mock (mock.ts) with the same shape.
//
// Every method rejects with an `AppError` (`{code, message}`); see
// `errors.ts` for how the UI reacts to each `ErrorCode`.
import type { AppInfo } from "../bindings/AppInfo";
import type { AppError } from "../bindings/AppError";
import type { Answers } from "../bindings/Answers";
import type { TimeSpan } from "../bindings/TimeSpan";
import type { QueueStatus } from "../bindings/QueueStatus";
import type { PendingAnnotation } from "../bindings/PendingAnnotation";
import type { LinkOutcome } from "../bindings/LinkOutcome";
import type {
  CsvExport,
  DiffRowWindow,
  DiffRowsRequest,
  Discrepancy,
  EarningsGrouping,
  EarningsQuery,
  EarningsSeries,
  EarningsOverview,
  OpenedItem,
  PayoutView,
  PixelValue,
  PreviewSelection,
  PreviewState,
  QueueFilter,
  QueuePage,
  ReviewInput,
  SaveResult,
  ScanFrame,
  SessionInfo,
  Settings,
  SubmitResult,
  SyncProgress,
  SyncStatus,
  TimeLog,
  ValidationReport,
  WaitingTime,
  WindowLevel,
} from "./types";

/** Call to stop receiving events. */
export type Unsubscribe = () => void;

export interface Backend {
  appInfo(): Promise<AppInfo>;

  // session — the token goes to the OS keyring, never to disk or logs.
  session(): Promise<SessionInfo>;
  signIn(platformUrl: string, token: string): Promise<SessionInfo>;
  signOut(): Promise<void>;

  // queue
  queuePage(filter: QueueFilter, offset: number, limit: number): Promise<QueuePage>;

  // item
  openItem(assignmentId: string): Promise<OpenedItem>;
  /** The assignment's current status (sync may change it while it is open). */
  itemStatus(assignmentId: string): Promise<QueueStatus>;
  /**
   * Persist a draft (the UI debounces ≤300 ms) with the annotations begun but
   * not added (`pending`; omitted = keep what is stored). Rust refuses work
   * that is no longer editable (`not_editable`); the result carries the new status.
   */
  saveDraft(assignmentId: string, answers: Answers, pending?: PendingAnnotation[] | null): Promise<SaveResult>;
  validate(assignmentId: string, answers: Answers): Promise<ValidationReport>;
  /** Validates, then puts the grade with its time log in the durable outbox. */
  submit(assignmentId: string, answers: Answers): Promise<SubmitResult>;
  /** Senior review decision on another expert's submission. */
  reviewDecision(assignmentId: string, input: ReviewInput): Promise<SubmitResult>;

  // time on task
  timeLog(assignmentId: string): Promise<TimeLog>;
  /** Append one closed span of active time measured by the UI. */
  recordTime(assignmentId: string, span: TimeSpan): Promise<TimeLog>;
  /** Replace the log with the reviewer's corrected spans. */
  correctTimeLog(assignmentId: string, spans: TimeSpan[]): Promise<TimeLog>;
  /** Append one closed span of idle waiting (signed in, present, nothing to work on): unpaid time. */
  recordWaiting(span: TimeSpan): Promise<WaitingTime>;

  // sync
  syncStatus(): Promise<SyncStatus>;
  syncNow(onProgress: (p: SyncProgress) => void): Promise<SyncStatus>;
  onSyncStatus(cb: (s: SyncStatus) => void): Promise<Unsubscribe>;
  /** Progress of any sync, including background ones (`sync://progress`). */
  onSyncProgress(cb: (p: SyncProgress) => void): Promise<Unsubscribe>;

  // earnings
  earningsSummary(q: EarningsQuery): Promise<EarningsOverview>;
  earningsSeries(q: EarningsQuery, grouping: EarningsGrouping): Promise<EarningsSeries>;
  payouts(): Promise<PayoutView[]>;
  discrepancies(): Promise<Discrepancy[]>;
  /** Asks where to save (native dialog) and writes the CSV there; null when cancelled. */
  exportEarningsCsv(q: EarningsQuery): Promise<CsvExport | null>;

  // viewers
  diffRows(req: DiffRowsRequest): Promise<DiffRowWindow>;
  scanFrame(handle: string, frame: number, window: WindowLevel): Promise<ScanFrame>;
  scanPixel(handle: string, frame: number, x: number, y: number): Promise<PixelValue>;

  // rubric preview (spec authors)
  /** Opens the system's file dialog; the backend keeps the pick (cancel keeps the last). */
  previewChooseRubric(): Promise<PreviewSelection>;
  /** Opens the system's folder dialog for the sample items. */
  previewChooseSamples(): Promise<PreviewSelection>;
  /** Opens the preview of what was chosen in the dialogs. */
  previewOpen(): Promise<PreviewState>;
  previewItem(itemId: string): Promise<OpenedItem>;
  previewValidate(itemId: string, answers: Answers): Promise<ValidationReport>;
  /** Fires after the backend reloads the rubric or items (file watcher). */
  onPreviewChanged(cb: (s: PreviewState) => void): Promise<Unsubscribe>;

  // settings
  settings(): Promise<Settings>;
  saveSettings(s: Settings): Promise<Settings>;

  // ---- issue 18: assay:// links ----
  /**
   * Links the OS handed over (at launch, or passed on by a second launch),
   * each already checked by Rust (opened or refused with a reason); empties
   * the inbox.
   */
  takeLinks(): Promise<LinkOutcome[]>;
  /** Fires when links wait to be taken (`link://pending`). */
  onLinkPending(cb: () => void): Promise<Unsubscribe>;
  /**
   * Signs in with the one-time code of an `assay://signin` link: Rust asks
   * the reviewer to confirm the platform, exchanges the code for a token
   * (kept in the OS keyring) and starts syncing.
   */
  signInWithCode(platformUrl: string, code: string): Promise<SessionInfo>;
  // ---- end issue 18 ----
}

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}
