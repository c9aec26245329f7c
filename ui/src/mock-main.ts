// Entry of mock.html: the app on the in-memory mock backend, for
// `npm run dev` visual work and the headless browser tests. Query
// parameters: ?size=10000 (queue size), ?signedout=1, ?latency=ms,
// ?difflines=N (a big diff file of N lines with no collapsed context),
// ?update=V (the platform offers version V at start),
// ?replay=1 (the real app's recorded answers on the demo data instead of
// the synthetic set; see lib/backend/replay.ts).
import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { mockBackend } from "./lib/backend/mock";
import { replayBackend } from "./lib/backend/replay";

const params = new URLSearchParams(location.search);
const update = params.get("update");
function synthetic() {
  const b = mockBackend({
    queueSize: Number(params.get("size") ?? 60),
    signedIn: params.get("signedout") !== "1",
    latencyMs: Number(params.get("latency") ?? 0),
    diffLines: params.has("difflines") ? Number(params.get("difflines")) : undefined,
  });
  if (update)
    b.offerUpdate({
      current_version: "0.1.0",
      version: update,
      notes: "A newer version.",
      pub_date: null,
      target: "linux-x86_64-deb",
      size: 15_000_000,
    });
  return b;
}
const backend = params.get("replay") === "1" ? replayBackend() : synthetic();
(window as unknown as { __mock: typeof backend }).__mock = backend;
const target = document.getElementById("app");
if (!target) throw new Error("missing #app");
mount(App, { target, props: { backend } });
