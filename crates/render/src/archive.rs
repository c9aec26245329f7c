//! Zip archives of DICOM files (how PACS exports and platforms often ship a
//! series), read with bounds so a hostile archive is an error, never a hang
//! or unbounded memory: at most [`ArchiveLimits::max_entries`] entries, each
//! at most [`ArchiveLimits::max_entry_bytes`] and expanding at most
//! [`ArchiveLimits::max_ratio`] times its compressed size, and at most
//! [`ArchiveLimits::max_total_bytes`] in all. The bounds are enforced on the
//! bytes actually inflated, not only on the sizes the archive declares.
//! Nothing is written to disk (entry names are labels only), and archives
//! inside archives are not opened.

use std::io::{Cursor, Read};

use crate::error::RenderError;

/// Bounds on reading one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most entries (files and directories) the central directory may list; 10,000 by default.
    pub max_entries: usize,
    /// Largest uncompressed size of one entry, in bytes (256 MiB by default), checked on the bytes actually inflated.
    pub max_entry_bytes: u64,
    /// Largest uncompressed size of all entries together, in bytes (2 GiB by default).
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio of an entry over 1 MiB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_bytes: 256 << 20,
            max_total_bytes: 2 << 30,
            max_ratio: 100,
        }
    }
}

/// Entries under this size are not checked for their ratio (a tiny file of
/// zeros compresses very well and is harmless).
const RATIO_FREE_BYTES: u64 = 1 << 20;

/// Whether bytes look like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    /// Index in the archive's central directory.
    pub index: usize,
    /// Path of the file inside the archive, as stored (not sanitised: never join it to a directory).
    pub name: String,
    /// Uncompressed size in bytes, as the central directory declares it (reading enforces the limits on real bytes).
    pub size: u64,
}

fn bad(archive: &str, reason: impl std::fmt::Display) -> RenderError {
    RenderError::UnsupportedScan {
        reason: format!("archive {archive}: {reason}"),
    }
}

/// The files of an archive (directories left out), checked against the
/// limits by their declared sizes. `name` labels errors.
pub fn list_entries(
    name: &str,
    bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<Vec<ArchiveEntry>, RenderError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(name, format!("not a readable zip archive: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(bad(
            name,
            format!(
                "{} entries (at most {} are accepted)",
                zip.len(),
                limits.max_entries
            ),
        ));
    }
    let mut total = 0u64;
    let mut out = Vec::new();
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| bad(name, format!("entry {}: {e}", index + 1)))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry_label(entry.name_raw(), index);
        check_entry(
            name,
            &entry_name,
            entry.size(),
            entry.compressed_size(),
            limits,
        )?;
        total = total.saturating_add(entry.size());
        if total > limits.max_total_bytes {
            return Err(bad(
                name,
                format!(
                    "expands to more than {} MiB (a zip bomb?)",
                    limits.max_total_bytes >> 20
                ),
            ));
        }
        out.push(ArchiveEntry {
            index,
            name: entry_name,
            size: entry.size(),
        });
    }
    Ok(out)
}

/// An entry's name as a label (lossy UTF-8, control characters replaced).
fn entry_label(raw: &[u8], index: usize) -> String {
    let name: String = String::from_utf8_lossy(raw)
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if name.is_empty() {
        format!("#{}", index + 1)
    } else {
        name
    }
}

fn check_entry(
    archive: &str,
    entry: &str,
    size: u64,
    compressed: u64,
    limits: &ArchiveLimits,
) -> Result<(), RenderError> {
    if size > limits.max_entry_bytes {
        return Err(bad(
            archive,
            format!(
                "entry {entry} is {} MiB (at most {} MiB per file)",
                size >> 20,
                limits.max_entry_bytes >> 20
            ),
        ));
    }
    if size > RATIO_FREE_BYTES && size / compressed.max(1) > limits.max_ratio {
        return Err(bad(
            archive,
            format!(
                "entry {entry} expands {}:1 (at most {}:1; a zip bomb?)",
                size / compressed.max(1),
                limits.max_ratio
            ),
        ));
    }
    Ok(())
}

/// The bytes of one entry, inflated within the limits whatever its header
/// declares.
pub fn read_entry(
    name: &str,
    bytes: &[u8],
    index: usize,
    limits: &ArchiveLimits,
) -> Result<Vec<u8>, RenderError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(name, format!("not a readable zip archive: {e}")))?;
    let entry = zip
        .by_index(index)
        .map_err(|e| bad(name, format!("entry {}: {e}", index + 1)))?;
    let entry_name = entry_label(entry.name_raw(), index);
    let (declared, compressed) = (entry.size(), entry.compressed_size());
    check_entry(name, &entry_name, declared, compressed, limits)?;
    // A lying header cannot make us inflate more than the bound: read one
    // byte past it to tell "exactly at the bound" from "beyond".
    let bound = limits.max_entry_bytes.min(
        compressed
            .max(1)
            .saturating_mul(limits.max_ratio)
            .max(RATIO_FREE_BYTES),
    );
    let mut out = Vec::with_capacity(usize::try_from(declared.min(bound)).unwrap_or(0));
    entry
        .take(bound.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| bad(name, format!("entry {entry_name} is corrupt: {e}")))?;
    if out.len() as u64 > bound {
        return Err(bad(
            name,
            format!("entry {entry_name} expands beyond its declared size (a zip bomb?)"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn lists_and_reads_entries() {
        let z = zip_of(
            &[("a/1.dcm", b"one"), ("a/2.dcm", b"two two")],
            zip::CompressionMethod::Deflated,
        );
        assert!(is_zip(&z));
        let l = ArchiveLimits::default();
        let entries = list_entries("s.zip", &z, &l).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].name, "a/2.dcm");
        assert_eq!(
            read_entry("s.zip", &z, entries[1].index, &l).unwrap(),
            b"two two"
        );
    }

    #[test]
    fn a_zip_bomb_is_refused_by_ratio_and_total() {
        let zeros = vec![0u8; 8 << 20];
        let z = zip_of(&[("bomb.dcm", &zeros)], zip::CompressionMethod::Deflated);
        assert!(z.len() < 100_000, "deflate squeezes zeros: {}", z.len());
        let err = list_entries("b.zip", &z, &ArchiveLimits::default()).unwrap_err();
        assert!(err.to_string().contains("zip bomb"), "{err}");
        // Read directly (bypassing the listing): still refused.
        let err = read_entry("b.zip", &z, 0, &ArchiveLimits::default()).unwrap_err();
        assert!(err.to_string().contains("zip bomb"), "{err}");
        // Total bound over many small entries.
        let small = vec![7u8; 600 << 10];
        let many: Vec<(String, &[u8])> = (0..10)
            .map(|i| (format!("{i}.dcm"), small.as_slice()))
            .collect();
        let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let z = zip_of(&refs, zip::CompressionMethod::Stored);
        let limits = ArchiveLimits {
            max_total_bytes: 4 << 20,
            ..ArchiveLimits::default()
        };
        let err = list_entries("m.zip", &z, &limits).unwrap_err();
        assert!(err.to_string().contains("more than 4 MiB"), "{err}");
        let limits = ArchiveLimits {
            max_entries: 5,
            ..ArchiveLimits::default()
        };
        let err = list_entries("m.zip", &z, &limits).unwrap_err();
        assert!(err.to_string().contains("10 entries"), "{err}");
    }

    #[test]
    fn a_lying_size_is_caught_while_inflating() {
        let data = vec![0u8; 3 << 20];
        let mut z = zip_of(&[("x.dcm", &data)], zip::CompressionMethod::Deflated);
        // Rewrite the declared uncompressed size (local header offset 22,
        // central directory entry offset 24) to 1 KiB.
        let lie = 1024u32.to_le_bytes();
        z[22..26].copy_from_slice(&lie);
        let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        z[cd + 24..cd + 28].copy_from_slice(&lie);
        let l = ArchiveLimits::default();
        let r = list_entries("l.zip", &z, &l).and_then(|e| read_entry("l.zip", &z, e[0].index, &l));
        let err = r.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot display scan: archive l.zip"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for bytes in [&b"PK\x03\x04garbage"[..], b"", b"PK\x05\x06"] {
            assert!(list_entries("g.zip", bytes, &ArchiveLimits::default()).is_err());
        }
    }
}
