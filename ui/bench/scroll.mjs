// Scroll benchmark: headless Chromium drives the mock build (dist-mock/) and
// scrolls the 10,000-row queue and a 10,000+-line diff at a steady speed,
// recording the interval between animation frames. Reports frames, p50/p95/
// max frame interval, frames over 50 ms, and the largest DOM row count seen.
//
//   npm run bench:scroll            (builds dist-mock first)
//
// Software rendering (--disable-gpu) on a shared CI core is much slower than
// a laptop's GPU: read the numbers as an upper bound and as a regression
// signal between runs on the same machine, not as the user's frame rate.
import { chromium } from "playwright-core";
import { serveDir } from "../tests/browser/serve.mjs";

const { base, close } = await serveDir("dist-mock", "mock.html");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});

/** Scrolls `selector` from top to bottom in `ms` and measures frames. */
async function scrollRun(page, selector, rowSelector, ms) {
  return page.evaluate(
    ({ selector, rowSelector, ms }) =>
      new Promise((resolve) => {
        const el = document.querySelector(selector);
        const max = el.scrollHeight - el.clientHeight;
        const frames = [];
        let maxRows = 0;
        const t0 = performance.now();
        let last = t0;
        function step(now) {
          frames.push(now - last);
          last = now;
          maxRows = Math.max(maxRows, document.querySelectorAll(rowSelector).length);
          const f = Math.min(1, (now - t0) / ms);
          el.scrollTop = f * max;
          if (f < 1) requestAnimationFrame(step);
          else resolve({ frames: frames.slice(1), maxRows, scrolled: max });
        }
        requestAnimationFrame(step);
      }),
    { selector, rowSelector, ms },
  );
}

function report(name, r) {
  const s = [...r.frames].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  const slow = s.filter((x) => x > 50).length;
  console.log(
    `${name}: ${s.length} frames over ${Math.round(r.scrolled)} px; frame interval p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${s[s.length - 1].toFixed(1)} ms; ${slow} frames > 50 ms; at most ${r.maxRows} rows in the DOM`,
  );
  return { name, frames: s.length, p50: Number(q(0.5)), p95: Number(q(0.95)), slow, maxRows: r.maxRows };
}

const results = [];
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

await page.goto(`${base}?size=10000`);
await page.waitForSelector('[data-testid="queue-count"]:has-text("10,000 items")');
results.push(report("queue, 10,000 items", await scrollRun(page, '[data-testid="queue-scroller"]', "[data-queue-row]", 4000)));

await page.goto(`${base}?difflines=12000`);
await page.fill('input[aria-label="Search queue"]', "Rust #0:");
await page.waitForTimeout(300);
await page.locator("[data-queue-row] .card").first().click();
await page.click('button.fname[title="src/pipeline.rs"]');
await page.waitForSelector("[data-diff-row]");
const rows = Number(await page.locator('[role="table"][aria-label="Diff rows"]').getAttribute("aria-rowcount"));
results.push(report(`diff, ${rows.toLocaleString("en")} rows`, await scrollRun(page, '[data-testid="diff-scroller"]', "[data-diff-row]", 4000)));

await browser.close();
await close();
if (process.env.BENCH_JSON) console.log(JSON.stringify(results));
