// Static server for a built UI folder with the app's strict CSP (no inline
// scripts, no remote content), shared by the browser tests and benchmarks.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'";

/** Serves `ui/<folder>` on a free loopback port; `base` is the URL of `index`. */
export async function serveDir(folder, index) {
  const root = join(ui, folder);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://x");
      const path = normalize(
        join(root, decodeURIComponent(url.pathname === "/" ? `/${index}` : url.pathname)),
      );
      if (!path.startsWith(root)) throw new Error("outside root");
      const body = await readFile(path);
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "content-security-policy": CSP,
      });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${server.address().port}/${index}`,
    close: () => new Promise((r) => server.close(r)),
  };
}
