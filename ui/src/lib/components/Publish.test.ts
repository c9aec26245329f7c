// issue 14: "Publish" in the rubric preview. The mock backend answers as the
// platform would (role, lint, version); the UI only shows what it is told.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { mockBackend } from "../backend/mock";
import type { PublishOutcome, PublishPlan } from "../bindings";
import Preview from "./Preview.svelte";
import PublishDialog from "./PublishDialog.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const $$ = (sel: string) => Array.from(document.querySelectorAll(sel));

async function until(ok: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    flushSync();
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function openPreview(role: "expert" | "author") {
  const b = mockBackend();
  b.setPublishRole(role);
  const errors: unknown[] = [];
  app = mount(Preview, {
    target: document.body,
    props: { backend: b, settings: await b.settings(), onError: (e: unknown) => errors.push(e) },
  });
  flushSync();
  ($("form.bar") as HTMLFormElement).requestSubmit();
  await until(() => !!$('[data-testid="preview-generation"]'), "the preview");
  return { b, errors };
}

const finding = (severity: string, line: number | null, message: string) => ({
  severity,
  code: severity === "error" ? "scale-range" : "no-examples",
  message,
  line,
  column: line === null ? null : 5,
});

describe("Publish in the rubric preview", () => {
  it("an expert token gets no Publish button", async () => {
    const { b } = await openPreview("expert");
    await until(() => b.calls.includes("previewPublishAccess"), "the access check");
    // Let the answer arrive and render before looking.
    await new Promise((r) => setTimeout(r, 50));
    flushSync();
    expect($('[data-testid="preview-generation"]')).not.toBeNull();
    expect($('[data-testid="preview-publish"]')).toBeNull();
  });

  it("an author confirms the version the platform names and sees it published", async () => {
    const { b } = await openPreview("author");
    await until(() => !!$('[data-testid="preview-publish"]'), "the Publish button");
    $<HTMLButtonElement>('[data-testid="preview-publish"]')?.click();
    await until(() => !!$('[data-testid="publish-version"]'), "the plan");
    const version = $('[data-testid="publish-version"]')?.textContent ?? "";
    expect(Number(version)).toBeGreaterThan(0);
    expect($('[data-testid="publish-summary"]')?.textContent).toContain(`as version ${version}`);
    // The mock's rubric has one lint warning: listed, not blocking.
    expect($$('[data-testid="publish-warning"]')).toHaveLength(1);
    const confirm = $<HTMLButtonElement>('[data-testid="publish-confirm"]');
    expect(confirm?.disabled).toBe(false);
    expect(confirm?.textContent).toBe(`Publish version ${version}`);
    confirm?.click();
    await until(() => !!$('[data-testid="publish-outcome"]'), "the outcome");
    expect($('[data-testid="publish-outcome"]')?.textContent).toContain(`version ${version}`);
    expect(b.calls.filter((c) => c === "previewPublish")).toHaveLength(1);
  });

  it("lint errors block the confirm button", async () => {
    const { b } = await openPreview("author");
    b.breakPreview();
    await until(() => !!$('[data-testid="preview-publish"]'), "the Publish button");
    $<HTMLButtonElement>('[data-testid="preview-publish"]')?.click();
    await until(() => $$('[data-testid="publish-error"]').length > 0, "the errors");
    expect($('[data-testid="publish-error"]')?.textContent).toContain("line 3, column 9");
    expect($<HTMLButtonElement>('[data-testid="publish-confirm"]')?.disabled).toBe(true);
    expect($('[data-testid="publish-summary"]')?.textContent).toContain("lint error");
  });

  it("a 403 from the platform is shown in the dialog", async () => {
    const { b } = await openPreview("author");
    await until(() => !!$('[data-testid="preview-publish"]'), "the Publish button");
    // The role changed on the platform after the button was shown.
    b.setPublishRole("expert");
    $<HTMLButtonElement>('[data-testid="preview-publish"]')?.click();
    await until(() => !!$('[data-testid="publish-failure"]'), "the refusal");
    const alert = $('[data-testid="publish-failure"]')?.textContent ?? "";
    expect(alert).toContain("403");
    expect(alert).toContain("author");
    expect($<HTMLButtonElement>('[data-testid="publish-confirm"]')?.disabled).toBe(true);
  });
});

describe("PublishDialog", () => {
  const plan: PublishPlan = {
    rubric_path: "/r/rubric.toml",
    rubric_id: "r",
    version: 3,
    latest_published: 2,
    errors: [],
    warnings: [finding("warning", null, "no examples")],
    can_confirm: true,
    summary: "Publishes r as version 3.",
  };

  it("shows what Rust decided: version, warnings, and confirm only when allowed", () => {
    let confirmed = 0;
    app = mount(PublishDialog, {
      target: document.body,
      props: {
        plan: { ...plan, can_confirm: false, errors: [finding("error", 12, "min > max")] },
        outcome: null,
        error: null,
        busy: false,
        onconfirm: () => confirmed++,
        onclose: () => {},
      },
    });
    flushSync();
    expect($('[data-testid="publish-version"]')?.textContent).toBe("3");
    expect($('[data-testid="publish-error"]')?.textContent).toContain(
      "line 12, column 5: min > max",
    );
    expect($$('[data-testid="publish-warning"]')).toHaveLength(1);
    const confirm = $<HTMLButtonElement>('[data-testid="publish-confirm"]');
    expect(confirm?.disabled).toBe(true);
    confirm?.click();
    expect(confirmed).toBe(0);
  });

  it("shows the platform's refusal with its findings", () => {
    const outcome: PublishOutcome = {
      published: false,
      rubric_id: null,
      version: null,
      created: false,
      summary:
        "The platform refused the rubric: the rubric has 1 lint error(s); nothing was published",
      errors: [finding("error", 7, "scale min above max")],
      warnings: [],
    };
    app = mount(PublishDialog, {
      target: document.body,
      props: { plan, outcome, error: null, busy: false, onconfirm: () => {}, onclose: () => {} },
    });
    flushSync();
    expect($('[data-testid="publish-outcome"]')?.textContent).toContain("refused");
    expect($('[data-testid="publish-error"]')?.textContent).toContain("line 7, column 5");
    expect($('[data-testid="publish-confirm"]')).toBeNull();
  });
});
