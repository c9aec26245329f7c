//! Offline store (rusqlite): migrations, items, drafts, outbox, ledger, blobs.
