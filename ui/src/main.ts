import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { tauriBackend } from "./lib/backend/tauri";
import { ensureUsableLanguage } from "./lib/logic/locale";
import { BOOT_MARK } from "./lib/logic/marks";

// Before anything formats: WebKitGTK reports LANG=C as the language "C".
ensureUsableLanguage();

const target = document.getElementById("app");
if (!target) throw new Error("missing #app");
globalThis.performance?.mark?.(BOOT_MARK);
mount(App, { target, props: { backend: tauriBackend() } });
