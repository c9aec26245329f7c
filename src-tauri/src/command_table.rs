// The IPC contract: every command and event, once. Included by commands.rs
// (which defines the commands from it) and by build.rs (which reads the
// names only). A row: `sync|async fn name(args) -> Result = |wb| body`,
// where `|wb, app|` also binds the app handle and `@channel name: T,` is a
// channel the command streams `T` messages on. Rename a command here and
// the generated UI module (`cargo xtask bindings`) renames its method, so
// every caller and the mock stop compiling until they follow.
contract! {
    commands {
        /// Version, profile identifier and data folder.
        sync fn app_info() -> AppInfo = |wb| { Ok(wb.info()) }
        /// Who is signed in where (waits briefly for the saved session to resume).
        async fn session() -> SessionInfo = |wb| { wb.session().await }
        /// Signs in after the person confirmed the address in a native dialog;
        /// the token goes to the OS keyring, never to disk or logs.
        async fn sign_in(platform_url: String, token: String) -> SessionInfo = |wb| {
            wb.sign_in(&platform_url, &token).await
        }
        /// Signs out (drafts and the outbox are kept); returns the session as it is now.
        async fn sign_out() -> SessionInfo = |wb| { wb.sign_out().await }
        /// One window of the queue, filtered and sorted.
        sync fn queue_page(filter: QueueFilter, offset: u32, limit: u32) -> QueuePage = |wb| {
            wb.queue_page(&filter, offset, limit)
        }
        /// Everything the item screen shows, with `editable` decided by Rust.
        async fn open_item(assignment_id: String) -> OpenedItem = |wb| {
            wb.open_item(&assignment_id).await
        }
        /// The assignment's current status (sync may change it while it is open).
        sync fn item_status(assignment_id: String) -> assay_store::QueueStatus = |wb| {
            wb.item_status(&assignment_id)
        }
        /// Persists a draft with the annotations begun but not added (`pending`;
        /// omitted = keep what is stored). Work that is no longer editable is
        /// refused (`not_editable`); the result carries the new status.
        sync fn save_draft(
            assignment_id: String,
            answers: Answers,
            pending: Option<Vec<assay_store::PendingAnnotation>>,
        ) -> SaveResult = |wb| {
            wb.save_draft(&assignment_id, &answers, pending.as_deref())
        }
        /// Validates answers against the assignment's rubric.
        sync fn validate(assignment_id: String, answers: Answers) -> ValidationReport = |wb| {
            wb.validate(&assignment_id, &answers)
        }
        /// Validates, then puts the grade with its time log in the durable outbox.
        async fn submit(assignment_id: String, answers: Answers) -> SubmitResult = |wb| {
            wb.submit(&assignment_id, &answers).await
        }
        /// Senior review decision on another expert's submission
        /// (`RULES.review_feedback_min_chars` of feedback to reject or send back).
        async fn review_decision(assignment_id: String, input: ReviewInput) -> SubmitResult = |wb| {
            wb.review_decision(&assignment_id, &input).await
        }
        /// The assignment's time log.
        sync fn time_log(assignment_id: String) -> TimeLog = |wb| { wb.time_log(&assignment_id) }
        /// Appends one closed span of active time measured by the UI.
        sync fn record_time(assignment_id: String, span: TimeSpan) -> TimeLog = |wb| {
            wb.record_time(&assignment_id, &span)
        }
        /// Appends one closed span of idle waiting (signed in, present, nothing
        /// to work on): unpaid time.
        sync fn record_waiting(span: TimeSpan) -> WaitingTime = |wb| { wb.record_waiting(&span) }
        /// Replaces the log with the reviewer's corrected spans.
        sync fn correct_time_log(assignment_id: String, spans: Vec<TimeSpan>) -> TimeLog = |wb| {
            wb.correct_time_log(&assignment_id, &spans)
        }
        /// What is wrong with each span (null: nothing), as the store judges
        /// the spans it writes, and the seconds they cover; the time log
        /// editor shows these words and this total.
        sync fn check_time_log(spans: Vec<TimeSpan>) -> TimeLogCheck = |wb| {
            Ok(wb.check_time_log(&spans))
        }
        /// Sync health for the status bar.
        async fn sync_state() -> SyncState = |wb| { wb.sync_state().await }
        /// Syncs now, streaming progress on `on_progress`.
        async fn sync_now(@channel on_progress: SyncProgress,) -> SyncState = |wb| {
            wb.sync_now(move |p| drop(on_progress.send(p))).await
        }
        /// The local days a period of the earnings screen covers today (the
        /// days earnings are counted in: the reviewer's, not the browser's).
        sync fn earnings_period(period: EarningsPeriod) -> EarningsRange = |wb| {
            Ok(wb.earnings_period(period))
        }
        /// Earned, pending and paid money and paid/unpaid time for a period.
        sync fn earnings_overview(query: EarningsQuery) -> EarningsOverview = |wb| {
            wb.earnings_overview(&query)
        }
        /// Earnings per day, week or opportunity.
        sync fn earnings_series(query: EarningsQuery, bucket: EarningsGrouping) -> EarningsSeries = |wb| {
            wb.earnings_series(&query, bucket)
        }
        /// Payouts received.
        sync fn payouts() -> Vec<PayoutView> = |wb| { wb.payouts() }
        /// Accepted work the ledger pays differently than the rate card says.
        sync fn discrepancies() -> Vec<Discrepancy> = |wb| { wb.discrepancies() }
        /// Asks where to save (native dialog) and writes the CSV there; null when cancelled.
        async fn export_earnings_csv(query: EarningsQuery) -> Option<CsvExport> = |wb, app| {
            match crate::dialogs::save_csv(&app, &wb.earnings_csv_file_name()).await {
                Some(path) => wb.export_earnings_csv(&query, &path).map(Some),
                None => Ok(None),
            }
        }
        /// One window of a diff's rows.
        sync fn diff_rows(request: DiffRowsRequest) -> DiffRowWindow = |wb| { wb.diff_rows(&request) }
        /// One scan frame rendered with a window centre/width.
        sync fn scan_frame(handle: String, frame: u32, window: assay_render::Window) -> ScanFrame = |wb| {
            wb.scan_frame(&handle, frame, window)
        }
        /// The stored value of one scan pixel.
        sync fn scan_pixel(handle: String, frame: u32, x: u32, y: u32) -> PixelValue = |wb| {
            wb.scan_pixel(&handle, frame, x, y)
        }
        /// Opens the system's file dialog; the backend keeps the pick (cancel keeps the last).
        async fn preview_choose_rubric() -> PreviewSelection = |wb| { wb.preview_choose_rubric().await }
        /// Opens the system's folder dialog for the sample items.
        async fn preview_choose_samples() -> PreviewSelection = |wb| { wb.preview_choose_samples().await }
        /// Opens the preview of what was chosen in the dialogs.
        sync fn preview_open() -> PreviewState = |wb| { wb.preview_open() }
        /// One sample item as the reviewer would see it.
        sync fn preview_item(item_id: String) -> OpenedItem = |wb| { wb.preview_item(&item_id) }
        /// Validates answers to a sample item.
        sync fn preview_validate(item_id: String, answers: Answers) -> ValidationReport = |wb| {
            wb.preview_validate(&item_id, &answers)
        }
        /// Whether the preview offers "Publish" (the platform decides from the token's role).
        async fn preview_publish_access() -> PublishAccess = |wb| { wb.publish_access().await }
        /// What publishing the previewed rubric would do: lint result and version, as the platform checks it.
        async fn preview_publish_check() -> PublishPlan = |wb| { wb.publish_check().await }
        /// Publishes the previewed rubric; the new version, or the platform's findings.
        async fn preview_publish() -> PublishOutcome = |wb| { wb.publish_rubric().await }
        /// The UI settings.
        sync fn settings() -> Settings = |wb| { wb.settings() }
        /// Saves the UI settings (bounds: `RULES`); returns what was saved.
        sync fn save_settings(settings: Settings) -> Settings = |wb| { wb.save_settings(settings) }
        /// `assay://` links received at launch or from a second launch, each
        /// checked in Rust: what to open, or why it was refused.
        async fn take_links() -> Vec<links::LinkOutcome> = |wb, app| {
            let _ = &wb;
            Ok(tauri::Manager::state::<Arc<links::LinkInbox>>(&app).take())
        }
        /// Signs in with a one-time code from an `assay://signin` link (after
        /// the person confirmed the platform); the token goes to the keyring.
        async fn sign_in_with_code(platform_url: String, code: String) -> SessionInfo = |wb| {
            wb.sign_in_with_code(&platform_url, &code).await
        }
        /// Checks the signed-in platform for a newer Assay; never installs
        /// (issue 18). A refused manifest (bad version, another target, HTML)
        /// is an error naming the problem.
        async fn check_for_update() -> UpdateCheck = |wb| { wb.check_for_update().await }
        /// Installs the update the last check offered, after the person
        /// confirmed it (and, with grades still unsent after a sync,
        /// `confirm_unsent`): downloads it bounded, verifies its signature
        /// with the compiled-in key, installs it, then restarts Assay.
        async fn install_update(confirm_unsent: bool) -> UpdateInstall = |wb, app| {
            let done = wb.install_update(confirm_unsent).await?;
            if matches!(done, UpdateInstall::Installed { .. }) {
                crate::desktop::restart_soon(&app);
            }
            Ok(done)
        }
    }
    events {
        /// Sync health changed.
        SYNC_STATE = "sync://state": SyncState;
        /// Progress of any sync, including background ones.
        SYNC_PROGRESS = "sync://progress": SyncProgress;
        /// The previewed rubric or sample items changed on disk (file watcher).
        PREVIEW_CHANGED = "preview://changed": PreviewState;
        /// An `assay://` link arrived; the UI fetches it with `take_links`.
        LINK_PENDING = "link://pending": ();
        /// An entry of the native menu the UI carries out was chosen.
        MENU_ACTION = "menu://action": MenuAction;
    }
}
