//! Reference platform server (axum) and demo data.
