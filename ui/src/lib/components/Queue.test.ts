import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { mockBackend } from "../backend/mock";
import Queue from "./Queue.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const NOW = Date.parse("2026-11-20T09:00:00Z");
const FILTER = { search: "", statuses: [], opportunity_id: null, kind: null, sort: "due" as const };

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
    flushSync();
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Queue", () => {
  it("shows why a quarantined item is held back on its row, and only there", async () => {
    // The first two rows in due order, from the same deterministic data.
    const [held, other] = (await mockBackend({ now: NOW }).queuePage(FILTER, 0, 2)).rows;
    const backend = mockBackend({
      now: NOW,
      heldBack: { [held.assignment_id]: "the platform sent a malformed item (GET /items/{id})" },
    });
    app = mount(Queue, {
      target: document.body,
      props: {
        backend,
        onOpen: () => {},
        onError: (e: unknown) => {
          throw e;
        },
      },
    });
    const row = (id: string) => document.querySelector(`[data-queue-row="${id}"]`);
    await until(
      () => row(held.assignment_id) !== null && row(other.assignment_id) !== null,
      "the rows",
    );
    const warning = row(held.assignment_id)?.querySelector('[data-testid="held-back"]');
    expect(warning?.textContent).toContain(
      "⚠ Held back: the platform sent a malformed item (GET /items/{id})",
    );
    expect(warning?.getAttribute("title")).toContain("malformed item");
    expect(row(held.assignment_id)?.getAttribute("data-downloaded")).toBe("false");
    expect(row(other.assignment_id)?.querySelector('[data-testid="held-back"]')).toBeNull();
  });
});
