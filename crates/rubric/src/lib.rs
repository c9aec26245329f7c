//! Rubric engine: schema, field scoping, answer validation and lint.

pub mod model;

pub use model::*;
