import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { resolve } from "node:path";

// Vitest's reporter uses Map.groupBy (Node >= 21) to print failures; on
// Node 20 it would crash instead of showing them.
const M = Map as unknown as { groupBy?: unknown };
if (typeof M.groupBy !== "function") {
  M.groupBy = <K, V>(items: Iterable<V>, key: (v: V, i: number) => K): Map<K, V[]> => {
    const out = new Map<K, V[]>();
    let i = 0;
    for (const v of items) {
      const k = key(v, i++);
      const list = out.get(k);
      if (list) list.push(v);
      else out.set(k, [v]);
    }
    return out;
  };
}

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
      input:
        mode === "mock"
          ? { mock: resolve(import.meta.dirname, "mock.html") }
          : { main: resolve(import.meta.dirname, "index.html") },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test-setup.ts"],
    // Whole-app tests mount the item screen (diff, rubric, timers): on a
    // 2-core CI machine with other work running they take several seconds,
    // so 5 s timed out while nothing was wrong. A real hang still fails.
    testTimeout: 30_000,
    // The stylesheet's text for src/fonts.test.ts (`?raw`): Vitest hands
    // every other CSS file over empty, as before.
    css: { include: [/\/src\/app\.css(\?|$)/] },
  },
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
}));
