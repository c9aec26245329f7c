// Performance marks the start-up benchmark (tests/tests/startup.rs) reads.

/** Set when the queue's first rows are in the DOM. */
export const FIRST_ROW_MARK = "assay:first-queue-row";
/** Set when the UI's bundle has run and is about to mount the app. */
export const BOOT_MARK = "assay:boot";
/** Set when the sync bar first says when the last sync ended (the in-app pull bench). */
export const FIRST_SYNCED_MARK = "assay:first-synced";
