// Modal dialog behaviour shared by every dialog: Tab / Shift+Tab cycle
// through the dialog's focusable elements only, Escape closes it, and focus
// goes back to the element that opened it when it goes away.
//
//   <div role="dialog" aria-modal="true" aria-labelledby="x-title" use:modal={{ onclose }}>
//
// Initial focus: an element marked `data-autofocus` (or `autofocus`), else the
// first focusable element, else the dialog itself; the dialog opens scrolled
// to its top whatever that element is.
//
// Focus returns to the opener: the focused element when the dialog opened or,
// when nothing had focus (WebKit does not focus a clicked button), the control
// the pointer last pressed; failing both, the page's `[data-focus-home]`
// region, never `<body>`.

export type ModalOptions = {
  onclose: () => void;
};

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type='hidden'])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
  "[contenteditable='true']",
].join(",");

/** Focusable elements inside `root`, in tab order (document order; positive tabindex is not used). */
export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => {
    if (el.closest("[inert]")) return false;
    if (el.getAttribute("aria-hidden") === "true") return false;
    // Hidden by layout (display: none): jsdom has no layout, so only trust
    // `hidden` there; browsers also report no client rects for such elements.
    if (el.hidden) return false;
    const style = el.ownerDocument.defaultView?.getComputedStyle(el);
    if (style && (style.display === "none" || style.visibility === "hidden")) return false;
    return true;
  });
}

// The control the pointer last pressed, for dialogs opened by a click that
// did not move focus.
let lastPressed: { el: HTMLElement; at: number } | null = null;
if (typeof document !== "undefined") {
  document.addEventListener(
    "pointerdown",
    (e) => {
      const t = e.target instanceof Element ? e.target.closest<HTMLElement>(FOCUSABLE) : null;
      lastPressed = t ? { el: t, at: Date.now() } : null;
    },
    true,
  );
}

function openerOf(doc: Document): HTMLElement | null {
  const active = doc.activeElement;
  if (active instanceof HTMLElement && active !== doc.body) return active;
  if (lastPressed && Date.now() - lastPressed.at < 2000 && lastPressed.el.ownerDocument === doc)
    return lastPressed.el;
  return null;
}

export function modal(node: HTMLElement, options: ModalOptions) {
  let opts = options;
  const doc = node.ownerDocument;
  const opener = openerOf(doc);
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");

  function initialFocus() {
    const marked = node.querySelector<HTMLElement>("[data-autofocus], [autofocus]");
    const target = marked ?? focusables(node)[0] ?? node;
    target.focus({ preventScroll: true });
    node.scrollTop = 0;
  }

  function onKeydown(e: KeyboardEvent) {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      opts.onclose();
      return;
    }
    if (e.key !== "Tab") return;
    const items = focusables(node);
    if (items.length === 0) {
      e.preventDefault();
      node.focus();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = doc.activeElement as HTMLElement | null;
    const inside = active !== null && node.contains(active) && active !== node;
    if (e.shiftKey) {
      if (!inside || active === first) {
        e.preventDefault();
        last.focus();
      }
    } else if (!inside || active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  // Focus that escapes (a click on the backdrop, a programmatic focus) is pulled back.
  function onFocusIn(e: FocusEvent) {
    const t = e.target as Node | null;
    if (t && !node.contains(t)) {
      const items = focusables(node);
      (items[0] ?? node).focus();
    }
  }

  node.addEventListener("keydown", onKeydown);
  doc.addEventListener("focusin", onFocusIn);
  // After the dialog's children are in the DOM.
  queueMicrotask(initialFocus);

  return {
    update(next: ModalOptions) {
      opts = next;
    },
    destroy() {
      node.removeEventListener("keydown", onKeydown);
      doc.removeEventListener("focusin", onFocusIn);
      // After the dialog is gone (an opener inside inert content may need a frame).
      const back = opener?.isConnected ? opener : null;
      const home = () => doc.querySelector<HTMLElement>("[data-focus-home]");
      const target = back ?? home();
      target?.focus({ preventScroll: true });
      queueMicrotask(() => {
        const a = doc.activeElement;
        if (!a || a === doc.body || !a.isConnected)
          (back?.isConnected ? back : home())?.focus({ preventScroll: true });
      });
    },
  };
}
