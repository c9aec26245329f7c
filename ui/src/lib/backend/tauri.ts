// Tauri implementation of `Backend`: generated with the contract (see
// `tauriCommands` in `../bindings`), one command or event each.
import { tauriCommands } from "../bindings";
import type { Backend } from "./index";

export function tauriBackend(): Backend {
  return tauriCommands();
}
