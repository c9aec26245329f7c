// The one interface the UI talks to: the commands and events generated from
// the Rust table (src-tauri/src/command_table.rs → `../bindings`). The real
// app uses the Tauri implementation (generated too); tests and `npm run dev`
// use the in-memory mock (mock.ts), which implements the same interface, so
// a renamed or changed command breaks `npm run check`, not the app.
//
// Every method rejects with an `AppError` (`{code, message}`); see
// `errors.ts` for how the UI reacts to each `ErrorCode`.
import type { AppError, Commands, Events } from "../bindings";

export type { Unsubscribe } from "../bindings";

export interface Backend extends Commands, Events {}

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}
