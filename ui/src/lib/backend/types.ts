// Types crossing from the Rust shell to the UI: all generated from Rust into
// `../bindings` (one module, `cargo xtask bindings`). Nothing is declared
// here that Rust serves; only UI-side shapes follow.

export type * from "../bindings";

/** Action name → key chords, e.g. "Mod+Enter", "j", "?", "Shift+G". */
export type Keymap = { [action in string]?: string[] };
