//! Tauri commands: one-line adapters into `assay_app::Workbench`, defined by
//! the table in `command_table.rs` (see [`crate::contract`]). Errors cross
//! IPC as `{code, message}` (`assay_app::AppError`).

use std::sync::Arc;

use assay_app::menu::MenuAction;
use assay_app::preview::{PreviewSelection, PreviewState};
use assay_app::update::{UpdateCheck, UpdateInstall};
use assay_app::views::{DiffRowWindow, DiffRowsRequest, PixelValue, ScanFrame};
use assay_app::*;
use assay_protocol::TimeSpan;
use assay_rubric::{Answers, ValidationReport};
use assay_sync::SyncProgress;
use tauri::State;

use crate::contract::contract;

type Wb<'a> = State<'a, Arc<Workbench>>;
type R<T> = Result<T, AppError>;

include!("command_table.rs");
