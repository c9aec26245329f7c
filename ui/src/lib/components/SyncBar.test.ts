import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { RULES, type SyncState } from "../bindings";
import { IDLE_SYNC } from "../backend/defaults";
import SyncBar from "./SyncBar.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

/** Idle: signed in, online, nothing pending; each test changes what it shows. */
const base = IDLE_SYNC;

function show(status: SyncState) {
  app = mount(SyncBar, {
    target: document.body,
    props: { status, progress: null, onSync: () => {} },
  });
  flushSync();
}

describe("SyncBar", () => {
  it("names the failing route and the reason in words", () => {
    show({
      ...base,
      online: false,
      last_error: {
        code: "offline",
        message:
          "the platform did not finish answering GET /outcomes within 60s; Assay will retry.",
      },
    });
    const err = document.querySelector('[role="alert"]');
    expect(err?.textContent).toContain("GET /outcomes within 60s");
  });

  it("shows an offline error's first clause whole and the technical rest on request", () => {
    const message =
      "The platform can't be reached (error sending request for url (http://127.0.0.1:8787/v1/assignments?page=1): client error (Connect)).";
    show({ ...base, online: false, last_error: { code: "offline", message } });
    const err = document.querySelector('[data-testid="sync-error"]');
    expect(err?.textContent?.trim()).toBe("⚠ The platform can't be reached");
    expect(document.querySelector('[data-testid="sync-error-detail"]')).toBeNull();
    (document.querySelector('[data-testid="sync-error-more"]') as HTMLButtonElement).click();
    flushSync();
    expect(document.querySelector('[data-testid="sync-error-detail"]')?.textContent).toBe(message);
  });

  it("names each held-back item with its reason", () => {
    const q = (kind: "item" | "attachment", label: string, reason: string) => ({
      kind,
      key: label,
      label,
      reason,
      attempts: 1,
      next_attempt_at: "2026-01-01T10:00:00Z",
      first_failed_at: "2026-01-01T10:00:00Z",
    });
    show({
      ...base,
      quarantined: [
        q("attachment", "scan.dcm", "integrity check failed"),
        q("item", "Diff #4", "nested too deeply"),
      ],
    });
    const badge = document.querySelector('[data-testid="quarantined"]');
    expect(badge?.textContent).toContain("2 held back");
    expect(badge?.textContent).toContain("Attachment “scan.dcm”: integrity check failed");
    expect(badge?.getAttribute("title")).toContain("Item “Diff #4”: nested too deeply");
  });

  it("names the sync engine's window for leases about to end", () => {
    show({ ...base, expiring_leases: ["a1", "a2"] });
    const badge = document.querySelector('[data-testid="expiring-leases"]');
    expect(badge?.textContent).toBe("2 leases ending");
    // Rust warns 15 minutes ahead (RULES.lease_warn_before_s), not an hour.
    expect(badge?.getAttribute("title")).toBe("Leases ending within 15 minutes");
    expect(RULES.lease_warn_before_s).toBe(15 * 60);
  });

  it("shows nothing held back when the sync recovered", () => {
    show(base);
    expect(document.querySelector('[data-testid="quarantined"]')).toBeNull();
    expect(document.querySelector('[role="alert"]')).toBeNull();
  });
});
