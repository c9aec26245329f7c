import { invoke } from "@tauri-apps/api/core";
import type { Backend } from "./index";

export function tauriBackend(): Backend {
  return {
    appInfo: () => invoke("app_info"),
  };
}
