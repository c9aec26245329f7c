import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { resolve } from "node:path";

// Two entries: index.html (the Tauri app) and mock.html (the same app on the
// in-memory mock backend, for `npm run dev` — open /mock.html — and the
// headless browser tests).
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  build: {
    // `vite build --mode mock` builds only mock.html into dist-mock/, so the
    // mock never ships inside the Tauri bundle (dist/).
    outDir: mode === "mock" ? "dist-mock" : "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    rollupOptions: {
      input: mode === "mock" ? { mock: resolve(import.meta.dirname, "mock.html") } : { main: resolve(import.meta.dirname, "index.html") },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
}));
