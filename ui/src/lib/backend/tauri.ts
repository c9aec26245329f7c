// Tauri implementation of `Backend`. Each method is one command; the lead
// implements exactly these in src-tauri. Arguments are passed as one object
// whose keys are the Rust parameter names (Tauri maps camelCase JS keys to
// snake_case Rust parameters by default; we pass snake_case via
// `#[tauri::command(rename_all = "snake_case")]`). Every command returns
// `Result<T, AppError>`.
//
// | command                | args                                               | returns          |
// |------------------------|----------------------------------------------------|------------------|
// | app_info               | —                                                  | AppInfo          |
// | session                | —                                                  | SessionInfo      |
// | sign_in                | platform_url: String, token: String (native confirm first) | SessionInfo |
// | sign_out               | —                                                  | ()               |
// | queue_page             | filter: QueueFilter, offset: u32, limit: u32       | QueuePage        |
// | open_item              | assignment_id: String                              | OpenedItem       |
// | item_status            | assignment_id: String                              | QueueStatus      |
// | save_draft             | assignment_id, answers: Answers, pending: Option<Vec<PendingAnnotation>> | SaveResult (refuses not-editable work) |
// | validate               | assignment_id, answers: Answers                    | ValidationReport |
// | submit                 | assignment_id, answers: Answers                    | SubmitResult     |
// | review_decision        | assignment_id, input: ReviewInput                  | SubmitResult     |
// | time_log               | assignment_id                                      | TimeLog          |
// | record_time            | assignment_id, span: TimeSpan                      | TimeLog          |
// | correct_time_log       | assignment_id, spans: Vec<TimeSpan>                | TimeLog          |
// | record_waiting         | span: TimeSpan                                     | WaitingTime      |
// | sync_status            | —                                                  | SyncState        |
// | sync_now               | on_progress: Channel<SyncProgress>                 | SyncState        |
// | earnings_summary       | query: EarningsQuery                               | EarningsOverview |
// | earnings_series        | query: EarningsQuery, bucket: EarningsGrouping     | EarningsSeries   |
// | payouts                | —                                                  | Vec<PayoutView>  |
// | discrepancies          | —                                                  | Vec<Discrepancy> |
// | export_earnings_csv    | query: EarningsQuery                               | String (CSV)     |
// | diff_rows              | request: DiffRowsRequest                           | DiffRowWindow    |
// | scan_frame             | handle: String, frame: u32, window: WindowLevel    | ScanFrame        |
// | scan_pixel             | handle: String, frame: u32, x: u32, y: u32         | PixelValue       |
// | preview_choose_rubric  | — (native file dialog)                             | PreviewSelection |
// | preview_choose_samples | — (native folder dialog)                           | PreviewSelection |
// | preview_open           | — (opens what was chosen)                          | PreviewState     |
// | preview_item           | item_id: String                                    | OpenedItem       |
// | preview_validate       | item_id: String, answers: Answers                  | ValidationReport |
// | settings               | —                                                  | Settings         |
// | save_settings          | settings: Settings                                 | Settings         |
// | take_links             | —                                                  | LinkOutcome[]    |
// | sign_in_with_code      | platform_url: string, code: string                 | SessionInfo      |
//
// Events pushed by the backend (`app.emit(name, payload)`):
//
// | event            | payload      |
// |------------------|--------------|
// | sync://status    | SyncState    |
// | sync://progress  | SyncProgress |
// | preview://changed| PreviewState |
// | link://pending   | —            |
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Backend } from "./index";
import type { SyncProgress, SyncStatus, PreviewState } from "./types";

export function tauriBackend(): Backend {
  return {
    appInfo: () => invoke("app_info"),
    session: () => invoke("session"),
    signIn: (platform_url, token) => invoke("sign_in", { platform_url, token }),
    signOut: () => invoke("sign_out"),
    queuePage: (filter, offset, limit) => invoke("queue_page", { filter, offset, limit }),
    openItem: (assignment_id) => invoke("open_item", { assignment_id }),
    itemStatus: (assignment_id) => invoke("item_status", { assignment_id }),
    saveDraft: (assignment_id, answers, pending) => invoke("save_draft", { assignment_id, answers, pending: pending ?? null }),
    validate: (assignment_id, answers) => invoke("validate", { assignment_id, answers }),
    submit: (assignment_id, answers) => invoke("submit", { assignment_id, answers }),
    reviewDecision: (assignment_id, input) => invoke("review_decision", { assignment_id, input }),
    timeLog: (assignment_id) => invoke("time_log", { assignment_id }),
    recordTime: (assignment_id, span) => invoke("record_time", { assignment_id, span }),
    correctTimeLog: (assignment_id, spans) => invoke("correct_time_log", { assignment_id, spans }),
    recordWaiting: (span) => invoke("record_waiting", { span }),
    syncStatus: () => invoke("sync_status"),
    syncNow: (onProgress) => {
      const on_progress = new Channel<SyncProgress>();
      on_progress.onmessage = onProgress;
      return invoke("sync_now", { on_progress });
    },
    onSyncStatus: (cb) => listen<SyncStatus>("sync://status", (e) => cb(e.payload)),
    onSyncProgress: (cb) => listen<SyncProgress>("sync://progress", (e) => cb(e.payload)),
    earningsSummary: (query) => invoke("earnings_summary", { query }),
    earningsSeries: (query, grouping) => invoke("earnings_series", { query, bucket: grouping }),
    payouts: () => invoke("payouts"),
    discrepancies: () => invoke("discrepancies"),
    exportEarningsCsv: (query) => invoke("export_earnings_csv", { query }),
    diffRows: (request) => invoke("diff_rows", { request }),
    scanFrame: (handle, frame, window) => invoke("scan_frame", { handle, frame, window }),
    scanPixel: (handle, frame, x, y) => invoke("scan_pixel", { handle, frame, x, y }),
    previewChooseRubric: () => invoke("preview_choose_rubric"),
    previewChooseSamples: () => invoke("preview_choose_samples"),
    previewOpen: () => invoke("preview_open"),
    previewItem: (item_id) => invoke("preview_item", { item_id }),
    previewValidate: (item_id, answers) => invoke("preview_validate", { item_id, answers }),
    onPreviewChanged: (cb) => listen<PreviewState>("preview://changed", (e) => cb(e.payload)),
    settings: () => invoke("settings"),
    saveSettings: (settings) => invoke("save_settings", { settings }),
    // ---- issue 18 ----
    takeLinks: () => invoke("take_links"),
    onLinkPending: (cb) => listen("link://pending", () => cb()),
    signInWithCode: (platform_url, code) => invoke("sign_in_with_code", { platform_url, code }),
    // ---- end issue 18 ----
  };
}
