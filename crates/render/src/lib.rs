//! View models for item viewers; heavy work stays in Rust.
