//! Integration tests of assay-store.

mod support;

mod store {
    mod crash;
}
