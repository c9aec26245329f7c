// What the viewers that take annotations (scan, series, redline) share.
import type { Annotation } from "../../bindings";

/** A rectangle on one frame of a scan or series, in image pixels. */
export type Region = { frame: number; x: number; y: number; width: number; height: number };

/** A comment begun on a `K` (an `A`) but not added yet: kept with the draft. */
export type Begun<K extends string, A> = { [key in K]: A } & {
  text: string;
  severity: string | null;
};

/** Props of a viewer that shows annotations and lets the reviewer begin one on a `K`. */
export type AnnotatingProps<K extends string, A> = {
  annotations?: Annotation[];
  severities?: string[] | null;
  /** A comment begun but not added, restored from the draft. */
  pending?: Begun<K, A> | null;
  /** The begun comment changed (or was cancelled): kept with the draft. */
  onPending?: (p: Begun<K, A> | null) => void;
};
