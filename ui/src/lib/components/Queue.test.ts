import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { Backend } from "../backend";
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

/** The queue on `backend` (any error it reports fails the test). */
function mountQueue(backend: Backend, selectedId: string | null = null) {
  app = mount(Queue, {
    target: document.body,
    props: {
      backend,
      selectedId,
      onOpen: () => {},
      onError: (e: unknown) => {
        throw e;
      },
    },
  });
}

describe("Queue", () => {
  it("shows why a quarantined item is held back on its row, and only there", async () => {
    // The first two rows in due order, from the same deterministic data.
    const [held, other] = (await mockBackend({ now: NOW }).queuePage(FILTER, 0, 2)).rows;
    const backend = mockBackend({
      now: NOW,
      heldBack: { [held.assignment_id]: "the platform sent a malformed item (GET /items/{id})" },
    });
    mountQueue(backend);
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

describe("Queue scrolling", () => {
  // jsdom lays nothing out: the scroller is given a 520 px viewport (10 rows).
  beforeEach(() =>
    Object.defineProperty(HTMLElement.prototype, "clientHeight", {
      configurable: true,
      get: () => 520,
    }),
  );
  afterEach(() => {
    delete (HTMLElement.prototype as { clientHeight?: number }).clientHeight;
  });

  it("draws no rows beyond the viewport while flung, and draws them again once it settles", async () => {
    mountQueue(mockBackend({ now: NOW, queueSize: 3000 }));
    const scroller = document.querySelector<HTMLElement>('[data-testid="queue-scroller"]');
    const drawn = () => document.querySelectorAll("ul.rows > li").length;
    await until(() => document.querySelectorAll("[data-queue-row]").length > 0, "the first rows");
    // At the top: the 10 lines in view and 8 below.
    expect(drawn()).toBe(18);
    const scrollTo = (top: number) => {
      if (!scroller) throw new Error("no scroller");
      scroller.scrollTop = top;
      scroller.dispatchEvent(new Event("scroll"));
      flushSync();
    };
    // A jump farther than the viewport and the 8 lines drawn beyond it (the
    // scrollbar dragged): the 10 lines in view only.
    scrollTo(52 * 1000);
    expect(drawn()).toBe(10);
    scrollTo(52 * 2000);
    expect(drawn()).toBe(10);
    // Once the scrolling settles, 8 lines on each side again.
    await until(() => drawn() === 26, "the rows beyond the viewport after the fling");
    // Scrolling by less draws them all along: by 3 lines, and by 15 (more
    // than the viewport, but lines drawn beyond it come into view).
    scrollTo(52 * 2003);
    expect(drawn()).toBe(26);
    scrollTo(52 * 2018);
    expect(drawn()).toBe(26);
    scrollTo(52 * 2003);
    await until(
      () => document.querySelectorAll("[data-queue-row]").length === 26,
      "the rows at 2,003",
    );
  });
});

describe("Queue memory", () => {
  it("keeps only the chunks near the rows in view, and the selected row's", async () => {
    const inner = mockBackend({ now: NOW, queueSize: 3000 });
    const fetched: number[] = [];
    const backend = {
      ...inner,
      queuePage: (f: typeof FILTER, offset: number, limit: number) => {
        fetched.push(offset);
        return inner.queuePage(f, offset, limit);
      },
    };
    const [selected] = (await inner.queuePage(FILTER, 0, 1)).rows;
    mountQueue(backend, selected.assignment_id);
    const scroller = () =>
      document.querySelector<HTMLElement>('[data-testid="queue-scroller"]') as HTMLElement;
    const rows = () => document.querySelectorAll("[data-queue-row]").length;
    await until(() => rows() > 0, "the first rows");
    const scrollTo = async (top: number, what: string) => {
      scroller().scrollTop = top;
      scroller().dispatchEvent(new Event("scroll"));
      flushSync();
      await until(() => rows() > 0, what);
    };
    // Far down the queue: chunks are fetched on the way, the early ones let go
    // (not fetched again on the way back up while near), the selected row's kept.
    for (const top of [52 * 1000, 52 * 2000, 52 * 2900]) await scrollTo(top, `rows at ${top}`);
    await until(() => fetched.includes(2900), "the chunk at 2,900");
    fetched.length = 0;
    await scrollTo(52 * 1000, "rows at 1,000 again");
    await until(() => fetched.includes(1000), "the chunk at 1,000 fetched again");
    fetched.length = 0;
    await scrollTo(0, "the top again");
    await new Promise((r) => setTimeout(r, 50));
    flushSync();
    // Chunk 0 holds the selected row: still loaded, so not fetched again.
    expect(fetched).not.toContain(0);
    expect(document.querySelector(`[data-queue-row="${selected.assignment_id}"]`)).not.toBeNull();
  });

  it("asks for its first rows as it starts, before its first render, and once", async () => {
    const inner = mockBackend({ now: NOW, queueSize: 300 });
    const asked: number[] = [];
    mountQueue({
      ...inner,
      queuePage: (f: typeof FILTER, offset: number, limit: number) => {
        asked.push(offset);
        return inner.queuePage(f, offset, limit);
      },
    });
    // Before any effect ran: the request is already out.
    expect(asked).toEqual([0]);
    await until(() => document.querySelectorAll("[data-queue-row]").length > 0, "the first rows");
    expect(asked.filter((o) => o === 0)).toEqual([0]);
  });
});
