// Scroll benchmark: headless Chromium drives the mock build (dist-mock/) and
// scrolls the 10,000-row queue and a 10,000-row diff, at a fast reading
// speed (3,000 px/s) and end to end in 4 s (a new window of rows every
// frame), recording the interval between animation frames. Reports frames, p50/p95/
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

/** Scrolls `selector` for `ms` at `speed` px/s (0: top to bottom in `ms`)
 *  and records the interval between animation frames. */
async function scrollRun(page, selector, rowSelector, ms, speed) {
  return page.evaluate(
    ({ selector, rowSelector, ms, speed }) =>
      new Promise((resolve) => {
        const el = document.querySelector(selector);
        el.scrollTop = 0;
        const max = el.scrollHeight - el.clientHeight;
        const frames = [];
        let maxRows = 0;
        let t0 = null;
        let last = 0;
        function step(now) {
          if (t0 === null) t0 = last = now;
          else frames.push(now - last);
          last = now;
          maxRows = Math.max(maxRows, document.querySelectorAll(rowSelector).length);
          const t = now - t0;
          el.scrollTop = speed > 0 ? Math.min(max, (t / 1000) * speed) : Math.min(1, t / ms) * max;
          if (t < ms) requestAnimationFrame(step);
          else resolve({ frames, maxRows, scrolled: el.scrollTop });
        }
        requestAnimationFrame(() => requestAnimationFrame(step));
      }),
    { selector, rowSelector, ms, speed },
  );
}

function report(name, r) {
  const s = [...r.frames].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  const slow = s.filter((x) => x > 50).length;
  console.log(
    `${name}: ${s.length} frames over ${Math.round(r.scrolled)} px; frame interval p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${s[s.length - 1].toFixed(1)} ms; ${slow} frames > 50 ms; at most ${r.maxRows} rows in the DOM`,
  );
  return {
    name,
    frames: s.length,
    p50: Number(q(0.5)),
    p95: Number(q(0.95)),
    slow,
    maxRows: r.maxRows,
  };
}

const results = [];
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

await page.goto(`${base}?size=10000`);
await page.waitForSelector('[data-testid="queue-count"]:has-text("10,000 items")');
const queue = ['[data-testid="queue-scroller"]', "[data-queue-row]"];
results.push(
  report("queue, 10,000 items, 3,000 px/s", await scrollRun(page, ...queue, 4000, 3000)),
);
results.push(
  report("queue, 10,000 items, end to end in 4 s", await scrollRun(page, ...queue, 4000, 0)),
);

await page.goto(`${base}?difflines=8000`);
await page.fill('input[aria-label="Search queue"]', "Rust #0:");
await page.waitForTimeout(300);
await page.locator("[data-queue-row] .card").first().click();
await page.click('button.fname[title="src/pipeline.rs"]');
await page.waitForSelector("[data-diff-row]");
const rows = Number(
  await page.locator('[role="table"][aria-label="Diff rows"]').getAttribute("aria-rowcount"),
);
const diff = ['[data-testid="diff-scroller"]', "[data-diff-row]"];
const label = `diff, ${rows.toLocaleString("en")} rows`;
results.push(report(`${label}, 3,000 px/s`, await scrollRun(page, ...diff, 4000, 3000)));
results.push(report(`${label}, end to end in 4 s`, await scrollRun(page, ...diff, 4000, 0)));

await browser.close();
await close();
if (process.env.BENCH_JSON) console.log(JSON.stringify(results));
