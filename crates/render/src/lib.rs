pub mod diff;
pub mod error;
pub mod highlight;
pub mod xss;
