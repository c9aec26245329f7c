//! Tauri commands: one-line adapters into `assay_app::Workbench`.
//! Errors cross IPC as `{code, message}` (`assay_app::AppError`).

use std::sync::Arc;

use assay_app::preview::{PreviewSelection, PreviewState};
use assay_app::views::{DiffRowWindow, DiffRowsRequest, PixelValue, ScanFrame};
use assay_app::*;
use assay_protocol::TimeSpan;
use assay_rubric::{Answers, ValidationReport};
use tauri::ipc::Channel;
use tauri::State;

type Wb<'a> = State<'a, Arc<Workbench>>;
type R<T> = Result<T, AppError>;

#[tauri::command(rename_all = "snake_case")]
pub fn app_info(wb: Wb<'_>) -> R<AppInfo> {
    Ok(wb.info())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session(wb: Wb<'_>) -> R<SessionInfo> {
    wb.session().await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(wb: Wb<'_>, platform_url: String, token: String) -> R<SessionInfo> {
    wb.sign_in(&platform_url, &token).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(wb: Wb<'_>) -> R<()> {
    wb.sign_out().await
}

#[tauri::command(rename_all = "snake_case")]
pub fn queue_page(wb: Wb<'_>, filter: QueueFilter, offset: u32, limit: u32) -> R<QueuePage> {
    wb.queue_page(&filter, offset, limit)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn open_item(wb: Wb<'_>, assignment_id: String) -> R<OpenedItem> {
    wb.open_item(&assignment_id).await
}

#[tauri::command(rename_all = "snake_case")]
pub fn item_status(wb: Wb<'_>, assignment_id: String) -> R<assay_store::QueueStatus> {
    wb.item_status(&assignment_id)
}

#[tauri::command(rename_all = "snake_case")]
pub fn save_draft(
    wb: Wb<'_>,
    assignment_id: String,
    answers: Answers,
    pending: Option<Vec<assay_store::PendingAnnotation>>,
) -> R<SaveResult> {
    wb.save_draft(&assignment_id, &answers, pending.as_deref())
}

#[tauri::command(rename_all = "snake_case")]
pub fn validate(wb: Wb<'_>, assignment_id: String, answers: Answers) -> R<ValidationReport> {
    wb.validate(&assignment_id, &answers)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn submit(wb: Wb<'_>, assignment_id: String, answers: Answers) -> R<SubmitResult> {
    wb.submit(&assignment_id, &answers).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn review_decision(
    wb: Wb<'_>,
    assignment_id: String,
    input: ReviewInput,
) -> R<SubmitResult> {
    wb.review_decision(&assignment_id, &input).await
}

#[tauri::command(rename_all = "snake_case")]
pub fn time_log(wb: Wb<'_>, assignment_id: String) -> R<TimeLog> {
    wb.time_log(&assignment_id)
}

#[tauri::command(rename_all = "snake_case")]
pub fn record_time(wb: Wb<'_>, assignment_id: String, span: TimeSpan) -> R<TimeLog> {
    wb.record_time(&assignment_id, &span)
}

#[tauri::command(rename_all = "snake_case")]
pub fn record_waiting(wb: Wb<'_>, span: TimeSpan) -> R<WaitingTime> {
    wb.record_waiting(&span)
}

#[tauri::command(rename_all = "snake_case")]
pub fn correct_time_log(wb: Wb<'_>, assignment_id: String, spans: Vec<TimeSpan>) -> R<TimeLog> {
    wb.correct_time_log(&assignment_id, &spans)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(wb: Wb<'_>) -> R<SyncState> {
    wb.sync_state().await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(wb: Wb<'_>, on_progress: Channel<assay_sync::SyncProgress>) -> R<SyncState> {
    wb.sync_now(move |p| drop(on_progress.send(p))).await
}

#[tauri::command(rename_all = "snake_case")]
pub fn earnings_summary(wb: Wb<'_>, query: EarningsQuery) -> R<EarningsOverview> {
    wb.earnings_overview(&query)
}

#[tauri::command(rename_all = "snake_case")]
pub fn earnings_series(
    wb: Wb<'_>,
    query: EarningsQuery,
    bucket: EarningsGrouping,
) -> R<EarningsSeries> {
    wb.earnings_series(&query, bucket)
}

#[tauri::command(rename_all = "snake_case")]
pub fn payouts(wb: Wb<'_>) -> R<Vec<PayoutView>> {
    wb.payouts()
}

#[tauri::command(rename_all = "snake_case")]
pub fn discrepancies(wb: Wb<'_>) -> R<Vec<Discrepancy>> {
    wb.discrepancies()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_earnings_csv<Rt: tauri::Runtime>(
    app: tauri::AppHandle<Rt>,
    wb: Wb<'_>,
    query: EarningsQuery,
) -> R<Option<CsvExport>> {
    match crate::dialogs::save_csv(&app, &wb.earnings_csv_file_name()).await {
        Some(path) => wb.export_earnings_csv(&query, &path).map(Some),
        None => Ok(None),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub fn diff_rows(wb: Wb<'_>, request: DiffRowsRequest) -> R<DiffRowWindow> {
    wb.diff_rows(&request)
}

#[tauri::command(rename_all = "snake_case")]
pub fn scan_frame(
    wb: Wb<'_>,
    handle: String,
    frame: u32,
    window: assay_render::Window,
) -> R<ScanFrame> {
    wb.scan_frame(&handle, frame, window)
}

#[tauri::command(rename_all = "snake_case")]
pub fn scan_pixel(wb: Wb<'_>, handle: String, frame: u32, x: u32, y: u32) -> R<PixelValue> {
    wb.scan_pixel(&handle, frame, x, y)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn preview_choose_rubric(wb: Wb<'_>) -> R<PreviewSelection> {
    wb.preview_choose_rubric().await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn preview_choose_samples(wb: Wb<'_>) -> R<PreviewSelection> {
    wb.preview_choose_samples().await
}

#[tauri::command(rename_all = "snake_case")]
pub fn preview_open(wb: Wb<'_>) -> R<PreviewState> {
    wb.preview_open()
}

#[tauri::command(rename_all = "snake_case")]
pub fn preview_item(wb: Wb<'_>, item_id: String) -> R<OpenedItem> {
    wb.preview_item(&item_id)
}

#[tauri::command(rename_all = "snake_case")]
pub fn preview_validate(wb: Wb<'_>, item_id: String, answers: Answers) -> R<ValidationReport> {
    wb.preview_validate(&item_id, &answers)
}

#[tauri::command(rename_all = "snake_case")]
pub fn settings(wb: Wb<'_>) -> R<Settings> {
    wb.settings()
}

#[tauri::command(rename_all = "snake_case")]
pub fn save_settings(wb: Wb<'_>, settings: Settings) -> R<Settings> {
    wb.save_settings(settings)
}

// ---- issue 18: desktop integration ----

#[tauri::command(rename_all = "snake_case")]
pub fn take_links(
    inbox: State<'_, Arc<assay_app::links::LinkInbox>>,
) -> Vec<assay_app::links::LinkOutcome> {
    inbox.take()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in_with_code(wb: Wb<'_>, platform_url: String, code: String) -> R<SessionInfo> {
    wb.sign_in_with_code(&platform_url, &code).await
}

// ---- end issue 18 ----
