//! Integration tests of the public API of `assay-render`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

mod support;

mod render {
    mod big_diff;
    mod dicom_classes;
    mod dicom_codecs;
    mod highlight_golden;
    mod regex_prefilter;
    mod series;
    mod xss;
}
