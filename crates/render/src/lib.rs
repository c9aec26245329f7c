pub mod diff;
pub mod error;
pub mod highlight;
pub mod markdown;
pub mod scan;
pub mod testsuite;
pub mod xss;
