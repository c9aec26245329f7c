//! Attachments of sample items: a sample JSON names its attachment by
//! `filename`, and the file lies in the samples folder (or a subfolder).
//! The preview reads it from there, refusing paths that leave the folder
//! and bytes whose sha256 differs from the one the sample declares.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use assay_protocol::AttachmentRef;
use sha2::{Digest, Sha256};

/// Largest sample attachment the preview reads (bigger scans belong on the
/// platform, not in a rubric's sample folder).
pub const MAX_SAMPLE_ATTACHMENT_BYTES: u64 = 512 * 1024 * 1024;

/// Where the sample attachment lives, or a reason it cannot be used.
/// The path stays inside `items_dir`, even through symlinks.
pub fn sample_attachment_path(items_dir: &Path, a: &AttachmentRef) -> Result<PathBuf, String> {
    let rel = Path::new(&a.filename);
    let plain = !a.filename.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(format!(
            "sample attachment \"{}\" must be a path inside the samples folder",
            a.filename
        ));
    }
    let path = items_dir.join(rel);
    let canon = path.canonicalize().map_err(|e| {
        format!(
            "sample attachment \"{}\" is not in the samples folder ({e})",
            a.filename
        )
    })?;
    let root = items_dir
        .canonicalize()
        .map_err(|e| format!("cannot read the samples folder: {e}"))?;
    if !canon.starts_with(&root) {
        return Err(format!(
            "sample attachment \"{}\" points outside the samples folder",
            a.filename
        ));
    }
    let meta = std::fs::metadata(&canon)
        .map_err(|e| format!("cannot read sample attachment \"{}\": {e}", a.filename))?;
    if !meta.is_file() {
        return Err(format!(
            "sample attachment \"{}\" is not a file",
            a.filename
        ));
    }
    if meta.len() > MAX_SAMPLE_ATTACHMENT_BYTES {
        return Err(format!(
            "sample attachment \"{}\" is too large ({} bytes, limit {MAX_SAMPLE_ATTACHMENT_BYTES})",
            a.filename,
            meta.len()
        ));
    }
    Ok(canon)
}

/// The bytes of a sample attachment. When the sample declares a sha256
/// (non-empty), the bytes must match it; the message gives the actual hash
/// so an author can paste it into the sample.
pub fn read_sample_attachment(items_dir: &Path, a: &AttachmentRef) -> Result<Vec<u8>, String> {
    let path = sample_attachment_path(items_dir, a)?;
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| {
            f.take(MAX_SAMPLE_ATTACHMENT_BYTES + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| format!("cannot read sample attachment \"{}\": {e}", a.filename))?;
    let declared = a.sha256.trim().to_ascii_lowercase();
    if !declared.is_empty() {
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != declared {
            return Err(format!(
                "sample attachment \"{}\" has sha256 {actual}, but the sample says {declared}",
                a.filename
            ));
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(filename: &str, sha256: &str) -> AttachmentRef {
        AttachmentRef {
            sha256: sha256.into(),
            size: 0,
            media_type: "image/png".into(),
            filename: filename.into(),
        }
    }

    #[test]
    fn reads_files_inside_the_folder_and_checks_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scans")).unwrap();
        std::fs::write(dir.path().join("scans/a.png"), b"abc").unwrap();
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            read_sample_attachment(dir.path(), &att("scans/a.png", good)).unwrap(),
            b"abc"
        );
        // Upper-case hex and no hash at all are accepted.
        assert!(
            read_sample_attachment(dir.path(), &att("scans/a.png", &good.to_uppercase())).is_ok()
        );
        assert!(read_sample_attachment(dir.path(), &att("./scans/a.png", "")).is_ok());
        let wrong =
            read_sample_attachment(dir.path(), &att("scans/a.png", &"0".repeat(64))).unwrap_err();
        assert!(wrong.contains(good), "{wrong}");
    }

    #[test]
    fn refuses_paths_that_leave_the_folder() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("samples");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(outer.path().join("secret"), b"s").unwrap();
        for name in ["../secret", "/etc/passwd", "", "a/../../secret"] {
            let e = read_sample_attachment(&dir, &att(name, "")).unwrap_err();
            assert!(e.contains("samples folder"), "{name}: {e}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outer.path().join("secret"), dir.join("link")).unwrap();
            let e = read_sample_attachment(&dir, &att("link", "")).unwrap_err();
            assert!(e.contains("outside"), "{e}");
        }
        let e = read_sample_attachment(&dir, &att("missing.dcm", "")).unwrap_err();
        assert!(e.contains("missing.dcm"), "{e}");
    }
}
