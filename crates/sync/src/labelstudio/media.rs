//! Images of Label Studio tasks: which URLs Assay downloads, and what the
//! bytes must look like.
//!
//! An `Image` field's value is a URL. Assay downloads it in Rust, never in
//! the webview, and only when it is a file Label Studio itself serves:
//!
//! - an upload, `/data/upload/<project>/<file>` (or
//!   `/storage-data/uploaded/?filepath=…` where uploads live in persistent
//!   storage), or a local-files URL, `/data/local-files/?d=<path>`, relative
//!   or absolute, on the origin the
//!   reviewer signed in to (scheme, host and port), under its base path;
//! - with the reviewer's `Authorization` header (`Token` or `Bearer`; a 401
//!   with a personal access token refreshes it and tries once more);
//! - within bounds: [`MEDIA_MAX_BYTES`] for all of one item's images together
//!   (or the attachment limit when lower),
//!   the request deadline, redirects only within the same origin (at most 5);
//! - and only bytes that are a PNG, a JPEG or a DICOM file by their first
//!   bytes (the `Content-Type` must be an image, DICOM or unnamed bytes).
//!
//! Anything else is not downloaded, and the field says why in place of the
//! image: a URL on another host (sending the token there would hand it to
//! that host; fetching it without would tell that host who reviews what, and
//! reach whatever the task's author points at), cloud-storage URLs (`s3://`,
//! `gs://`: Label Studio presigns those for its own frontend), inline `data:`
//! URLs, other paths of the server, a file too large, of another type, or one
//! Label Studio refuses (4xx). A server error, a timeout or a broken
//! connection is not final: the item waits in quarantine and the next sync
//! tries again. The bytes are stored content-addressed (sha256) in the blob
//! store before the item, and the field becomes an attachment the scan viewer
//! opens.

use reqwest::Url;

/// The raw-envelope value type of an image the engine still has to fetch
/// (never a valid [`assay_protocol::FieldValue`]: left unresolved, the item
/// fails to decode instead of being stored).
pub(crate) const PENDING_MEDIA: &str = "label_studio_media";

/// Most bytes of images downloaded for one item (held in memory while
/// they are hashed).
pub const MEDIA_MAX_BYTES: u64 = 256 << 20;

/// Longest URL quoted in a message.
const MAX_QUOTED: usize = 120;

fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED {
        s.to_string()
    } else {
        s.chars().take(MAX_QUOTED).collect::<String>() + "…"
    }
}

/// Where an image URL points: a file of the Label Studio server at `base`
/// (resolved), or the reason Assay does not download it.
pub(crate) fn locate(base: &Url, raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("the task gives no URL".into());
    }
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("data:") {
        return Err("it is an inline data: URL, which Assay does not read".into());
    }
    let url = match Url::parse(raw) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // `/data/upload/…` is relative to the server's root, which is the
            // base path when Label Studio runs under a prefix.
            let rel = raw.trim_start_matches('/');
            base.join(rel)
                .map_err(|e| format!("its URL is not valid ({e})"))?
        }
        Err(e) => return Err(format!("its URL is not valid ({e})")),
    };
    match url.scheme() {
        "http" | "https" => {}
        "s3" | "gs" | "azure-blob" | "gcs" => {
            return Err(format!(
            "it is in cloud storage ({}), which Assay does not read; open the task in Label Studio",
            quote(raw)
        ))
        }
        other => return Err(format!("its URL scheme {} is not http(s)", quote(other))),
    }
    if url.origin() != base.origin() {
        return Err(format!(
            "it is on another server ({}); Assay downloads images only from the Label Studio server it signed in to",
            quote(&url.origin().ascii_serialization())
        ));
    }
    let served = [
        "data/upload/",
        "data/local-files/",
        "storage-data/uploaded/",
    ]
    .iter()
    .filter_map(|p| base.join(p).ok())
    .any(|prefix| url.path().starts_with(prefix.path()));
    if !served || url.path().split('/').any(|s| s == "..") {
        return Err(format!(
            "{} is not a Label Studio upload (/data/upload/…) or local file (/data/local-files/…)",
            quote(url.path())
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("its URL carries a user name or password".into());
    }
    Ok(url)
}

/// The media type of `bytes` by their first bytes: PNG, JPEG or DICOM.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.get(128..132) == Some(b"DICM") {
        Some("application/dicom")
    } else {
        None
    }
}

/// Whether a `Content-Type` may hold an image Assay shows (absent, an image,
/// DICOM or unnamed bytes; the bytes decide which).
pub(crate) fn acceptable_content_type(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return true };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("image/")
        || essence == "application/dicom"
        || essence == "application/octet-stream"
        || essence.is_empty()
}

/// The file name of a URL (its last path segment, or the `d` of a
/// local-files URL), for the viewer's caption.
pub(crate) fn file_name(url: &Url) -> String {
    let from_query = url
        .query_pairs()
        .find(|(k, _)| k == "d" || k == "filepath")
        .map(|(_, v)| v.into_owned());
    let path = from_query.unwrap_or_else(|| url.path().to_string());
    let name = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("image");
    let name = percent_encoding_free(name);
    quote(&name)
}

/// `%xx` sequences decoded where they form UTF-8 (names as Label Studio saved them).
fn percent_encoding_free(s: &str) -> String {
    url::form_urlencoded::parse(format!("n={s}").as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://ls.example/").unwrap()
    }

    #[test]
    fn only_files_of_the_signed_in_server_are_downloaded() {
        let b = base();
        for ok in [
            "/data/upload/3/5e1c-scan.png",
            "data/upload/3/x.png",
            "https://ls.example/data/upload/3/x.png",
            "/data/local-files/?d=images/x.jpg",
            "/storage-data/uploaded/?filepath=upload/3/x.png",
        ] {
            let u = locate(&b, ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(u.origin(), b.origin());
        }
        for (bad, why) in [
            ("https://cdn.example/x.png", "another server"),
            ("http://ls.example/data/upload/1/x.png", "another server"),
            (
                "https://ls.example:8443/data/upload/1/x.png",
                "another server",
            ),
            ("s3://bucket/x.png", "cloud storage"),
            ("data:image/png;base64,iVBO", "inline data"),
            ("/api/projects/1/export", "not a Label Studio upload"),
            ("/data/upload/../../api/x", "not a Label Studio upload"),
            ("https://u:p@ls.example/data/upload/1/x.png", "user name"),
            ("ftp://ls.example/x", "not http"),
            ("", "no URL"),
        ] {
            let e = locate(&b, bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Under a path prefix, uploads live under it.
        let prefixed = Url::parse("https://ls.example/studio/").unwrap();
        assert_eq!(
            locate(&prefixed, "/data/upload/1/x.png").unwrap().as_str(),
            "https://ls.example/studio/data/upload/1/x.png"
        );
        assert!(locate(&prefixed, "https://ls.example/data/upload/1/x.png").is_err());
    }

    #[test]
    fn types_are_decided_by_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        let mut dicom = vec![0u8; 132];
        dicom[128..].copy_from_slice(b"DICM");
        assert_eq!(sniff(&dicom), Some("application/dicom"));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert!(acceptable_content_type(None));
        assert!(acceptable_content_type(Some("image/png")));
        assert!(acceptable_content_type(Some("application/octet-stream")));
        assert!(!acceptable_content_type(Some("text/html; charset=utf-8")));
        let u = Url::parse("https://ls.example/data/upload/3/ab12-chest%20x.png").unwrap();
        assert_eq!(file_name(&u), "ab12-chest x.png");
        let u = Url::parse("https://ls.example/data/local-files/?d=img%2Fa.jpg").unwrap();
        assert_eq!(file_name(&u), "a.jpg");
    }
}
