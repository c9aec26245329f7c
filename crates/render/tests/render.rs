//! Integration tests of the public API of `assay-render`.

mod render {
    mod big_diff;
    mod dicom_classes;
    mod dicom_codecs;
    mod series;
    mod xss;
}
