// How the UI reacts to each backend `ErrorCode`.
import type { AppError } from "../bindings";
import type { ErrorCode } from "../bindings";
import { isAppError } from "../backend";

export type ErrorReaction =
  /** Token missing/expired: go to the sign-in screen. */
  | "sign_in"
  /** Platform unreachable: show the offline badge and keep working locally. */
  | "offline"
  /** Show the message next to the control that caused it. */
  | "inline"
  /** Show a dismissible notice. */
  | "notice"
  /** Local storage failed: persistent banner, work kept in memory. */
  | "banner";

export const REACTIONS: Record<ErrorCode, ErrorReaction> = {
  unauthenticated: "sign_in",
  offline: "offline",
  not_found: "notice",
  invalid: "inline",
  rejected: "inline",
  not_editable: "inline",
  storage: "banner",
  keyring: "notice",
  internal: "notice",
};

const PREFIX: Record<ErrorCode, string> = {
  unauthenticated: "Please sign in again",
  offline: "Offline — your work is kept on this machine and uploads when the platform is back",
  not_found: "No longer available",
  invalid: "Not valid",
  rejected: "The platform refused this",
  not_editable: "Read-only",
  storage:
    "Could not write to local storage — keep this window open; your answers are still in memory",
  keyring: "The system keyring is unavailable",
  internal: "Something went wrong",
};

/** Any thrown value as an AppError (unknown shapes become `internal`). */
export function toAppError(e: unknown): AppError {
  if (isAppError(e) && typeof e.code === "string" && e.code in REACTIONS) {
    return { code: e.code, message: String(e.message) };
  }
  if (e instanceof Error) return { code: "internal", message: e.message };
  if (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { message?: unknown }).message === "string"
  ) {
    return { code: "internal", message: (e as { message: string }).message };
  }
  return { code: "internal", message: String(e) };
}

export function reactionOf(e: unknown): ErrorReaction {
  return REACTIONS[toAppError(e).code];
}

/** One line for people: a code-specific lead and the backend's detail. */
export function describeError(e: unknown): string {
  const err = toAppError(e);
  const lead = PREFIX[err.code];
  return err.message && err.message !== lead ? `${lead}: ${err.message}` : lead;
}
