// Issue 13: a command renamed in Rust breaks the UI's build, not the app at
// run time. The UI's `Backend` is the generated `Commands & Events`
// (src-tauri/src/command_table.rs → lib/bindings, `cargo xtask bindings`),
// so renaming a row of the table renames the method there. The
// `@ts-expect-error` lines below are checked by `npm run check` (an unused
// one is itself an error): against the contract as it would be generated
// after renaming `earnings_overview`, an implementation and a caller written
// for the old name stop compiling. At run time, every name the UI can call
// is a command Rust has, and the recording the mock replays names only
// commands of today's table.
import { describe, expect, it } from "vitest";
import type { Backend } from "./lib/backend";
import { DEMO, replayBackend } from "./lib/backend/replay";
import { COMMAND_NAMES, type Commands, EVENT_NAMES, tauriCommands } from "./lib/bindings";

/** The contract after renaming `earnings_overview` to `earnings_summary` in the Rust table. */
type Renamed = Omit<Backend, "earningsOverview"> & {
  earningsSummary: Commands["earningsOverview"];
};

/** `save_draft` → `saveDraft`, as the generator names methods. */
const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const generated = [...Object.keys(COMMAND_NAMES), ...Object.keys(EVENT_NAMES)].sort();

describe("the contract generated from Rust", () => {
  it("a renamed command stops implementations and callers from compiling", () => {
    const backend: Backend = replayBackend();
    // @ts-expect-error an implementation of today's names lacks `earningsSummary`
    const stale: Renamed = backend;
    const caller = (b: Renamed) =>
      // @ts-expect-error a caller of the old name: `earningsOverview` is gone
      b.earningsOverview({ from: null, to: null, opportunity_id: null });
    // @ts-expect-error the name before issue 13's rename is no command
    const old: Backend["earningsSummary"] | undefined = undefined;
    expect(stale).toBe(backend);
    expect(typeof caller).toBe("function");
    expect(old).toBeUndefined();
  });

  it("each method calls the Rust command it is named after", () => {
    for (const [method, command] of Object.entries(COMMAND_NAMES)) {
      expect(camel(command)).toBe(method);
    }
    // The Tauri implementation has exactly the generated commands and listeners.
    expect(Object.keys(tauriCommands()).sort()).toEqual(generated);
    // The replay backend implements every one of them.
    const replay = replayBackend() as unknown as Record<string, unknown>;
    const missing = generated.filter((name) => typeof replay[name] !== "function");
    expect(missing).toEqual([]);
  });

  it("the recording the mock replays names only commands of today's table", () => {
    const commands = new Set<string>(Object.values(COMMAND_NAMES));
    const unknown = [...new Set(DEMO.calls.map((c) => c.command))].filter((c) => !commands.has(c));
    expect(unknown).toEqual([]);
    expect(commands.has("earnings_overview")).toBe(true);
    expect(commands.has("earnings_summary")).toBe(false);
  });
});
