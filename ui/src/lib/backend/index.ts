// The one interface the UI talks to. The real app uses the Tauri
// implementation; tests use a mock with the same shape.
import type { AppInfo } from "../bindings/AppInfo";
import type { AppError } from "../bindings/AppError";

export interface Backend {
  appInfo(): Promise<AppInfo>;
}

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}
