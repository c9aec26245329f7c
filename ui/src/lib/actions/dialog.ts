// Modal dialog behaviour shared by every dialog: Tab / Shift+Tab cycle
// through the dialog's focusable elements only, Escape closes it, and focus
// goes back to the element that opened it when it goes away.
//
//   <div role="dialog" aria-modal="true" aria-labelledby="x-title" use:modal={{ onclose }}>
//
// Initial focus: an element marked `data-autofocus` (or `autofocus`), else the
// first focusable element, else the dialog itself.

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

export function modal(node: HTMLElement, options: ModalOptions) {
  let opts = options;
  const doc = node.ownerDocument;
  const opener = doc.activeElement instanceof HTMLElement && doc.activeElement !== doc.body ? doc.activeElement : null;
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");

  function initialFocus() {
    const marked = node.querySelector<HTMLElement>("[data-autofocus], [autofocus]");
    const target = marked ?? focusables(node)[0] ?? node;
    target.focus();
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
      if (opener && opener.isConnected) opener.focus();
    },
  };
}
