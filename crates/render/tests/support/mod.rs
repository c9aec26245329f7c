//! What the render test binaries (`render`, `fuzz`) share.

use std::io::{Cursor, Read};

/// The entries of a zip, as (name, bytes), in archive order.
pub fn zip_entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}
