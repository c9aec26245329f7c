//! A check the crates that embed SQL migrations share.

#![allow(clippy::unwrap_used)] // test code: a panic is how a test fails

use std::path::Path;

/// Asserts that each numbered `.sql` file of `dir` (`0001_….sql`,
/// `0002_….sql`, ...) is embedded at its number's position in `embedded`,
/// and that nothing else is: a file added to the folder but not to the list
/// (or listed out of order) would never run.
pub fn assert_embedded_in_order(dir: &Path, embedded: &[&str]) {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let dir = dir.display();
    assert_eq!(
        files.len(),
        embedded.len(),
        "{dir}: files {names:?}, {} embedded",
        embedded.len()
    );
    for (i, ((name, sql), sql_embedded)) in files.iter().zip(embedded).enumerate() {
        assert!(
            name.starts_with(&format!("{:04}_", i + 1)),
            "{dir}: {name} is not number {}",
            i + 1
        );
        assert_eq!(
            sql,
            sql_embedded,
            "{dir}: {name} is not embedded at position {}",
            i + 1
        );
    }
}
