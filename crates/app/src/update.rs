//! issue 18: signed updates. The platform serves a manifest
//! (`GET /api/v1/updates/manifest.json`) naming, per target, the artefact's
//! URL, size, SHA-256 and minisign signature, in the Tauri updater's format
//! (`tauri signer sign` writes the signature; `version`, `notes`,
//! `pub_date`, `platforms.<target>.{url, signature}`, plus `size` and
//! `sha256`). Assay checks it, shows the offer, and only on the person's
//! confirmation downloads the artefact (bounded in size and time), verifies
//! it against the public key compiled into the app, and installs it the way
//! the Tauri updater installs a `.deb`/`.rpm` (`dpkg -i` / `rpm -U`, through
//! `pkexec` when not root).
//!
//! Why not `tauri-plugin-updater` itself: its 2.x Linux installer does
//! install `.deb`/`.rpm` (`dpkg -i`, `rpm -U`), but it downloads without a
//! size bound, turns a downgrade into "no update" silently, and its checks
//! need a Tauri runtime to test. The rules here are plain functions, each
//! refusal unit-tested, with the plugin's key and signature formats.
//!
//! Every refusal names the problem and touches nothing: drafts and the
//! outbox live in the data directory, which no package step writes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

pub use assay_protocol::{UpdateBuild, UpdateManifest};

use crate::error::{AppError, AppResult, ErrorCode};

/// The release public key (the text of a `tauri signer generate` `.pub`
/// file, base64 as Tauri writes it). A placeholder until the team that
/// ships Assay puts its key here (README: "Signing releases"); a build with
/// the placeholder and no `ASSAY_UPDATE_PUBLIC_KEY` at build time refuses
/// every update rather than trusting anything.
pub const RELEASE_PUBLIC_KEY: &str = "REPLACE_WITH_THE_RELEASE_PUBLIC_KEY";

/// The public key this build trusts: `ASSAY_UPDATE_PUBLIC_KEY` when set at
/// build time (the package test builds with a key it generates), else
/// [`RELEASE_PUBLIC_KEY`]; `None` while that is still the placeholder.
pub fn compiled_public_key() -> Option<&'static str> {
    let key = option_env!("ASSAY_UPDATE_PUBLIC_KEY").unwrap_or(RELEASE_PUBLIC_KEY);
    (!key.starts_with("REPLACE_")).then_some(key)
}

/// The version this build reports and updates from: the crate's, or the
/// one stamped at build time with `ASSAY_BUILD_VERSION` (the package test
/// builds its N+1 so, without rebuilding the whole tree for a new
/// Cargo.toml version; the package's own version is set to match).
pub fn running_version() -> &'static str {
    option_env!("ASSAY_BUILD_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"))
}

/// Largest manifest read.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Largest artefact downloaded (the release .deb is about 15 MB).
pub const MAX_ARTEFACT_BYTES: u64 = 512 * 1024 * 1024;
/// Time allowed to fetch the manifest.
pub const MANIFEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Time allowed to download the artefact.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Where the platform serves the manifest, below its base URL.
pub const MANIFEST_PATH: &str = "/api/v1/updates/manifest.json";

/// An update the person may install, as shown to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UpdateOffer {
    /// The running version.
    pub current_version: String,
    /// The version offered.
    pub version: String,
    /// Release notes shown to the person.
    pub notes: String,
    /// Release date as the manifest writes it.
    pub pub_date: Option<String>,
    /// e.g. `linux-x86_64-deb`.
    pub target: String,
    /// Size of the artefact to download, in bytes.
    #[ts(type = "number")]
    pub size: u64,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum UpdateCheck {
    /// Nothing newer: the platform offers `offered`, this is `current`.
    UpToDate {
        /// The running version.
        current: String,
        /// The newest version the platform offers.
        offered: String,
    },
    /// A newer version; installed only when the person confirms.
    Available {
        /// What the person is asked to install.
        offer: UpdateOffer,
    },
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum UpdateInstall {
    /// Installed; the shell restarts the app.
    Installed {
        /// The version installed.
        version: String,
        /// The verified artefact kept in the data dir.
        artefact: String,
    },
    /// Nothing done yet: grades are still waiting to upload; ask the person
    /// and call again with `confirm_unsent`.
    NeedsConfirmation {
        /// What waits to upload, in words for the person.
        message: String,
    },
}

/// How this copy of Assay was installed, which decides the artefact and the
/// install command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    /// Installed from a `.deb` package (Debian, Ubuntu).
    Deb,
    /// Installed from a `.rpm` package (Fedora, RHEL).
    Rpm,
}

impl Installer {
    /// File extension of the artefact, without the dot (`deb` or `rpm`).
    pub fn extension(self) -> &'static str {
        match self {
            Installer::Deb => "deb",
            Installer::Rpm => "rpm",
        }
    }
}

/// The manifest key of a build: `{os}-{arch}-{deb|rpm}`, as Tauri names them.
pub fn target_key(os: &str, arch: &str, installer: Installer) -> String {
    format!("{os}-{arch}-{}", installer.extension())
}

/// How the running binary was installed: `dpkg -S` or `rpm -qf` own it.
/// `None` for a build tree or an unpacked copy (update it the way it came).
pub fn detect_installer(exe: &Path) -> Option<Installer> {
    let owns = |cmd: &str, flag: &str| {
        std::process::Command::new(cmd)
            .arg(flag)
            .arg(exe)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !exe.starts_with("/usr") {
        return None;
    }
    if owns("dpkg", "-S") {
        Some(Installer::Deb)
    } else if owns("rpm", "-qf") {
        Some(Installer::Rpm)
    } else {
        None
    }
}

fn rejected(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::Rejected, message)
}

/// Parses what the update server answered: bounded, and an HTML page (a
/// portal, a proxy's error page) or other garbage is named as such.
pub fn parse_manifest(body: &[u8], content_type: Option<&str>) -> AppResult<UpdateManifest> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(rejected(format!(
            "The update server's answer is larger than {} KiB; it is not an update manifest. Nothing was changed.",
            MAX_MANIFEST_BYTES / 1024
        )));
    }
    let looks_html = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("html"))
        || body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<');
    if looks_html {
        return Err(rejected(
            "The update server answered with a web page (HTML), not an update manifest: a login portal or proxy may be in the way. Nothing was changed.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        rejected(format!(
            "The update server's answer is not a valid update manifest ({e}). Nothing was changed."
        ))
    })
}

/// Decides what the manifest offers this build: refuses a manifest
/// without this target, an unparsable or older version (no downgrades), and
/// a build entry that is malformed; the same version is "up to date".
pub fn choose(manifest: &UpdateManifest, current: &str, target: &str) -> AppResult<UpdateCheck> {
    let offered = semver::Version::parse(manifest.version.trim_start_matches('v')).map_err(|e| {
        rejected(format!(
            "The update manifest's version {:?} is not a version number ({e}). Nothing was changed.",
            manifest.version
        ))
    })?;
    let installed = semver::Version::parse(current)
        .map_err(|e| AppError::internal(format!("this build's version {current:?}: {e}")))?;
    if offered < installed {
        return Err(rejected(format!(
            "The platform offers version {offered}, older than the installed {installed}; Assay does not downgrade. Nothing was changed."
        )));
    }
    if offered == installed {
        return Ok(UpdateCheck::UpToDate {
            current: installed.to_string(),
            offered: offered.to_string(),
        });
    }
    let build = build_for(manifest, target)?;
    Ok(UpdateCheck::Available {
        offer: UpdateOffer {
            current_version: installed.to_string(),
            version: offered.to_string(),
            notes: manifest.notes.clone(),
            pub_date: manifest.pub_date.clone(),
            target: target.to_string(),
            size: build.size,
        },
    })
}

/// The manifest's entry for `target`, checked for shape.
pub fn build_for<'m>(manifest: &'m UpdateManifest, target: &str) -> AppResult<&'m UpdateBuild> {
    let Some(build) = manifest.platforms.get(target) else {
        let offered: Vec<&str> = manifest.platforms.keys().map(String::as_str).collect();
        return Err(rejected(format!(
            "The update manifest has no build for this computer ({target}); it offers {}. Nothing was changed.",
            if offered.is_empty() { "none".to_string() } else { offered.join(", ") }
        )));
    };
    let url = url::Url::parse(&build.url).map_err(|e| {
        rejected(format!(
            "The update's download address {:?} is not a URL ({e}).",
            build.url
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(rejected(format!(
            "The update's download address must be http(s), not {}.",
            url.scheme()
        )));
    }
    if build.size == 0 || build.size > MAX_ARTEFACT_BYTES {
        return Err(rejected(format!(
            "The update claims {} bytes; Assay accepts 1 byte to {} MiB.",
            build.size,
            MAX_ARTEFACT_BYTES / (1024 * 1024)
        )));
    }
    if build.sha256.len() != 64 || !build.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(rejected("The update's SHA-256 is not 64 hex digits."));
    }
    Ok(build)
}

fn decode_b64_text(what: &str, b64: &str) -> AppResult<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| rejected(format!("The update's {what} is not base64 ({e}).")))?;
    String::from_utf8(bytes).map_err(|_| rejected(format!("The update's {what} is not text.")))
}

/// The version a signature's trusted comment names (`tauri signer sign
/// --app-version V` writes `timestamp:…<TAB>file:…<TAB>version:V`).
pub fn signed_version(trusted_comment: &str) -> Option<&str> {
    trusted_comment
        .split('\t')
        .find_map(|part| part.trim().strip_prefix("version:"))
}

/// Checks downloaded bytes: their length (a short body is "truncated"),
/// SHA-256, the minisign signature by `public_key` (base64 of the `.pub`
/// file's text, as Tauri stores it), and that the signature was made for
/// `version` (its signed trusted comment; so an old signed package cannot be
/// passed off under a newer version number, as Tauri's
/// `requireSignedVersion` checks).
pub fn verify_artefact(
    bytes: &[u8],
    build: &UpdateBuild,
    public_key: &str,
    version: &str,
) -> AppResult<()> {
    let got = bytes.len() as u64;
    if got < build.size {
        return Err(rejected(format!(
            "The update download is truncated: {got} of {} bytes arrived. Nothing was installed.",
            build.size
        )));
    }
    if got > build.size {
        return Err(rejected(format!(
            "The update download is {got} bytes, more than the {} the manifest names. Nothing was installed.",
            build.size
        )));
    }
    let digest = hex::encode(Sha256::digest(bytes));
    if !digest.eq_ignore_ascii_case(&build.sha256) {
        return Err(rejected(format!(
            "The update download's SHA-256 is {digest}, not the manifest's {}. Nothing was installed.",
            build.sha256
        )));
    }
    let key_text = decode_b64_text("public key", public_key)
        .map_err(|e| AppError::internal(format!("the compiled-in update key: {e}")))?;
    let key = minisign_verify::PublicKey::decode(&key_text)
        .map_err(|e| AppError::internal(format!("the compiled-in update key: {e}")))?;
    let sig_text = decode_b64_text("signature", &build.signature)?;
    let signature = minisign_verify::Signature::decode(&sig_text).map_err(|e| {
        rejected(format!(
            "The update's signature is malformed ({e}). Nothing was installed."
        ))
    })?;
    key.verify(bytes, &signature, true).map_err(|_| {
        rejected(
            "The update's signature does not match Assay's release key: it was not signed by the Assay team, or it was altered. Nothing was installed.",
        )
    })?;
    match signed_version(signature.trusted_comment()) {
        Some(v) if v.trim_start_matches('v') == version.trim_start_matches('v') => Ok(()),
        Some(v) => Err(rejected(format!(
            "The update was signed as version {v}, but the manifest offers it as {version}: the manifest was altered. Nothing was installed."
        ))),
        None => Err(rejected(
            "The update's signature does not name its version (sign it with `tauri signer sign --app-version`). Nothing was installed.",
        )),
    }
}

/// `GET url` within `timeout`; not reaching it is an `offline` error that
/// starts with `could_not`.
async fn get(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    could_not: &str,
) -> AppResult<reqwest::Response> {
    client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| AppError::new(ErrorCode::Offline, format!("{could_not}: {e}")))
}

/// The answer's `Content-Type`, when it is readable.
fn content_type(resp: &reqwest::Response) -> Option<&str> {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Fetches the manifest from `platform_url` (bounded in size and time).
pub async fn fetch_manifest(
    client: &reqwest::Client,
    platform_url: &str,
) -> AppResult<UpdateManifest> {
    let url = format!("{}{MANIFEST_PATH}", platform_url.trim_end_matches('/'));
    let could_not = format!("Could not check for updates at {url}");
    let resp = get(client, &url, MANIFEST_TIMEOUT, &could_not).await?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(rejected(
            "This platform does not publish Assay updates (no update manifest).",
        ));
    }
    if !resp.status().is_success() {
        return Err(rejected(format!(
            "The update server answered {} for the manifest. Nothing was changed.",
            resp.status()
        )));
    }
    let content_type = content_type(&resp).map(str::to_owned);
    let body = read_bounded(resp, MAX_MANIFEST_BYTES as u64 + 1).await?;
    parse_manifest(&body, content_type.as_deref())
}

/// Downloads `build`'s artefact: at most its declared size plus one byte
/// (so an oversized body is caught), within [`DOWNLOAD_TIMEOUT`]; an HTML
/// answer is refused before it is read.
pub async fn download(client: &reqwest::Client, build: &UpdateBuild) -> AppResult<Vec<u8>> {
    let resp = get(
        client,
        &build.url,
        DOWNLOAD_TIMEOUT,
        "Could not download the update",
    )
    .await?;
    if !resp.status().is_success() {
        return Err(rejected(format!(
            "The update server answered {} for the download. Nothing was installed.",
            resp.status()
        )));
    }
    let html = content_type(&resp).is_some_and(|c| c.to_ascii_lowercase().contains("html"));
    if html {
        return Err(rejected(
            "The update server answered the download with a web page (HTML), not a package. Nothing was installed.",
        ));
    }
    read_bounded(resp, build.size.saturating_add(1)).await
}

async fn read_bounded(resp: reqwest::Response, max: u64) -> AppResult<Vec<u8>> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        // A connection cut mid-body keeps what arrived: the size check then
        // calls it truncated.
        let Ok(chunk) = chunk else { break };
        let room = usize::try_from(max.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            break;
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Writes verified bytes to `<dir>/Assay_<version>.<ext>` (atomically).
pub fn keep_artefact(
    dir: &Path,
    version: &str,
    installer: Installer,
    bytes: &[u8],
) -> AppResult<PathBuf> {
    let io =
        |e: std::io::Error| AppError::new(ErrorCode::Storage, format!("saving the update: {e}"));
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(format!("Assay_{version}.{}", installer.extension()));
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}

/// The command that installs `artefact`, as the Tauri updater runs it:
/// `dpkg -i` / `rpm -U`, behind `pkexec` (the desktop's password prompt)
/// unless already root.
pub fn install_command(installer: Installer, artefact: &Path, is_root: bool) -> Vec<String> {
    let mut cmd = Vec::new();
    if !is_root {
        cmd.push("pkexec".to_string());
    }
    match installer {
        Installer::Deb => cmd.extend(["dpkg".to_string(), "-i".to_string()]),
        Installer::Rpm => cmd.extend(["rpm".to_string(), "-U".to_string()]),
    }
    cmd.push(artefact.display().to_string());
    cmd
}

/// Runs [`install_command`]; a failure names the command to run by hand.
pub fn run_install(installer: Installer, artefact: &Path, is_root: bool) -> AppResult<()> {
    let cmd = install_command(installer, artefact, is_root);
    let manual = format!(
        "sudo {}",
        install_command(installer, artefact, true).join(" ")
    );
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| AppError::internal("empty install command"))?;
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| {
            rejected(format!(
                "Could not run {program} ({e}); install the update by hand: {manual}"
            ))
        })?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(rejected(format!(
            "Installing the update failed ({}): {}. The installed Assay is unchanged; to retry by hand: {manual}",
            out.status,
            tail.trim()
        )))
    }
}

/// Why an install must wait for the person's word, or `None`: grades still
/// in the outbox after a flush. They survive an update (the outbox is in
/// the data dir, which packages never touch), so confirming is safe; the
/// question is only so nobody is surprised by a restart with work queued.
pub fn unsent_problem(pending_uploads: u32, confirmed: bool) -> Option<String> {
    (pending_uploads > 0 && !confirmed).then(|| {
        format!(
            "{pending_uploads} grade{} still waiting to upload: the platform has not taken them yet. They are kept and will upload after the update; confirm to update now, or sync first.",
            if pending_uploads == 1 { " is" } else { "s are" }
        )
    })
}

#[cfg(test)]
#[path = "../tests/support/signing.rs"]
mod signing;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::signing::{keys, sign, sign_as, Keys};
    use super::*;

    const TARGET: &str = "linux-x86_64-deb";

    /// The error's message says `want`.
    #[track_caller]
    fn assert_says(err: &AppError, want: &str) {
        assert!(err.message.contains(want), "{}", err.message);
    }

    fn manifest(k: &Keys, version: &str, bytes: &[u8]) -> UpdateManifest {
        UpdateManifest {
            version: version.into(),
            notes: "Faster diffs.".into(),
            pub_date: Some("2026-12-01T00:00:00Z".into()),
            platforms: BTreeMap::from([(
                TARGET.to_string(),
                UpdateBuild {
                    url: "http://127.0.0.1:9/a.deb".into(),
                    signature: sign(k, bytes),
                    sha256: hex::encode(Sha256::digest(bytes)),
                    size: bytes.len() as u64,
                },
            )]),
        }
    }

    #[test]
    fn a_newer_signed_build_is_offered_and_verifies() {
        let k = keys();
        let bytes = b"!<arch>\ndebian-binary".repeat(50);
        let m = manifest(&k, "0.2.0", &bytes);
        let json = serde_json::to_vec(&m).unwrap();
        let parsed = parse_manifest(&json, Some("application/json")).unwrap();
        match choose(&parsed, "0.1.0", TARGET).unwrap() {
            UpdateCheck::Available { offer } => {
                assert_eq!(offer.version, "0.2.0");
                assert_eq!(offer.current_version, "0.1.0");
                assert_eq!(offer.notes, "Faster diffs.");
                assert_eq!(offer.size, bytes.len() as u64);
            }
            other @ UpdateCheck::UpToDate { .. } => panic!("{other:?}"),
        }
        verify_artefact(
            &bytes,
            build_for(&parsed, TARGET).unwrap(),
            &k.public_b64,
            "0.2.0",
        )
        .unwrap();
    }

    /// Real output of the pinned tauri-cli 2.12.5: `tauri signer generate
    /// --ci -p "" -w k.key`, then `tauri signer sign -f k.key -p ""
    /// --app-version 0.2.0 f.bin` on a file holding "hello\n". Assay reads
    /// that key and that signature as they come.
    #[test]
    fn tauri_signer_output_verifies() {
        const PUB: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk6IDhDQUY3MEU2RDE1RTU2MkQKUldRdFZsN1I1bkN2akZMSXZTM0hZaGVMa1h3c0RqTGs2U2hCcFdoQVppWnJJSUc4Ri9FMjkxeFYK";
        const SIG: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVRdFZsN1I1bkN2akhQZk1YQ3RGUkpsMGxNVGpycTNlYjNvcHNBMEZPUDkwN3piZEYycWdCdEdFSjBVR2ZNcENKQUxBTVNSeUNWb0hxeE1YamdndFZmMm1kdzQ4cWtpM1FFPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2MTQ2OTM2CWZpbGU6Zi5iaW4JdmVyc2lvbjowLjIuMAplTHBHZUx6RVhDUUxSWi8wSlJkWlhFYkRVOVFPZVZkVlNBbnQ0NXoyU2JQbWJ2QkoyQjViK21VRFc1NjhkUW5QRnQ4QjZRdnI0R3lmUmhpVFFJNnpDUT09Cg==";
        let bytes = b"hello\n";
        let build = UpdateBuild {
            url: "https://example.org/f.bin".into(),
            signature: SIG.into(),
            sha256: hex::encode(Sha256::digest(bytes)),
            size: 6,
        };
        verify_artefact(bytes, &build, PUB, "0.2.0").unwrap();
        let err = verify_artefact(bytes, &build, PUB, "0.3.0").unwrap_err();
        assert_says(&err, "signed as version 0.2.0");
        let other = keys();
        let err = verify_artefact(bytes, &build, &other.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "signature does not match");
    }

    #[test]
    fn an_old_package_under_a_new_version_number_is_refused() {
        let k = keys();
        let bytes = b"the 0.1.5 package".repeat(10);
        let mut m = manifest(&k, "0.2.0", &bytes);
        let b = m.platforms.get_mut(TARGET).unwrap();
        // Genuinely signed, but as 0.1.5: the manifest calls it 0.2.0.
        b.signature = sign_as(
            &k,
            &bytes,
            "timestamp:1\tfile:Assay_0.1.5_amd64.deb\tversion:0.1.5",
        );
        let err = verify_artefact(&bytes, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "signed as version 0.1.5");
        // A signature that names no version at all.
        b.signature = sign_as(&k, &bytes, "timestamp:1\tfile:Assay.deb");
        let err = verify_artefact(&bytes, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "does not name its version");
        assert_eq!(
            signed_version("timestamp:1\tfile:a\tversion:0.2.0"),
            Some("0.2.0")
        );
    }

    #[test]
    fn a_bad_signature_is_refused() {
        let k = keys();
        let other = keys();
        let bytes = b"package".repeat(20);
        // Signed by another key.
        let mut m = manifest(&other, "0.2.0", &bytes);
        let err =
            verify_artefact(&bytes, &m.platforms[TARGET], &k.public_b64, "0.2.0").unwrap_err();
        assert_eq!(err.code, ErrorCode::Rejected);
        assert_says(&err, "signature does not match");
        // Right key, altered bytes with a matching hash (the hash is not the trust).
        let mut altered = bytes.clone();
        altered[0] ^= 1;
        m = manifest(&k, "0.2.0", &bytes);
        let b = m.platforms.get_mut(TARGET).unwrap();
        b.sha256 = hex::encode(Sha256::digest(&altered));
        let err = verify_artefact(&altered, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "signature does not match");
        // Garbage where the signature goes.
        b.signature = "bm90IGEgc2lnbmF0dXJl".into();
        b.sha256 = hex::encode(Sha256::digest(&bytes));
        let err = verify_artefact(&bytes, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "signature is malformed");
    }

    #[test]
    fn a_downgrade_is_refused_and_the_same_version_is_up_to_date() {
        let k = keys();
        let m = manifest(&k, "0.0.9", b"x");
        let err = choose(&m, "0.1.0", TARGET).unwrap_err();
        assert_eq!(err.code, ErrorCode::Rejected);
        assert_says(&err, "does not downgrade");
        let same = manifest(&k, "0.1.0", b"x");
        assert_eq!(
            choose(&same, "0.1.0", TARGET).unwrap(),
            UpdateCheck::UpToDate {
                current: "0.1.0".into(),
                offered: "0.1.0".into()
            }
        );
        let bad = manifest(&k, "latest", b"x");
        assert!(choose(&bad, "0.1.0", TARGET)
            .unwrap_err()
            .message
            .contains("not a version number"));
    }

    #[test]
    fn a_truncated_or_oversized_artefact_is_refused() {
        let k = keys();
        let bytes = b"0123456789".repeat(10);
        let m = manifest(&k, "0.2.0", &bytes);
        let b = &m.platforms[TARGET];
        let err = verify_artefact(&bytes[..60], b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "truncated: 60 of 100 bytes");
        let mut long = bytes.clone();
        long.push(b'!');
        let err = verify_artefact(&long, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "more than the 100");
        let mut wrong = bytes.clone();
        wrong[5] = b'x';
        let err = verify_artefact(&wrong, b, &k.public_b64, "0.2.0").unwrap_err();
        assert_says(&err, "SHA-256");
    }

    #[test]
    fn html_and_garbage_answers_are_refused() {
        let page = b"  <!doctype html><html><body>Sign in to the Wi-Fi</body></html>";
        let err = parse_manifest(page, None).unwrap_err();
        assert_says(&err, "web page (HTML)");
        let err = parse_manifest(b"{}", Some("text/html; charset=utf-8")).unwrap_err();
        assert_says(&err, "web page (HTML)");
        let err = parse_manifest(b"\x00\x01garbage", Some("application/json")).unwrap_err();
        assert_says(&err, "not a valid update manifest");
        let err = parse_manifest(&vec![b' '; MAX_MANIFEST_BYTES + 1], None).unwrap_err();
        assert_says(&err, "larger than 64 KiB");
    }

    #[test]
    fn a_manifest_for_another_target_is_refused() {
        let k = keys();
        let mut m = manifest(&k, "0.2.0", b"x");
        let b = m.platforms.remove(TARGET).unwrap();
        m.platforms.insert("darwin-aarch64".into(), b.clone());
        m.platforms.insert("linux-x86_64-rpm".into(), b);
        let err = choose(&m, "0.1.0", TARGET).unwrap_err();
        assert!(
            err.message
                .contains("no build for this computer (linux-x86_64-deb); it offers darwin-aarch64, linux-x86_64-rpm"),
            "{}",
            err.message
        );
    }

    #[test]
    fn malformed_build_entries_are_refused() {
        let k = keys();
        let base = manifest(&k, "0.2.0", b"x");
        let with = |f: &dyn Fn(&mut UpdateBuild)| {
            let mut m = base.clone();
            f(m.platforms.get_mut(TARGET).unwrap());
            choose(&m, "0.1.0", TARGET).unwrap_err().message
        };
        assert!(with(&|b| b.url = "file:///etc/passwd".into()).contains("must be http(s)"));
        assert!(with(&|b| b.size = MAX_ARTEFACT_BYTES + 1).contains("claims"));
        assert!(with(&|b| b.size = 0).contains("claims 0 bytes"));
        assert!(with(&|b| b.sha256 = "abc".into()).contains("64 hex digits"));
    }

    #[test]
    fn the_placeholder_key_trusts_nothing() {
        assert!(RELEASE_PUBLIC_KEY.starts_with("REPLACE_"));
        if option_env!("ASSAY_UPDATE_PUBLIC_KEY").is_none() {
            assert_eq!(compiled_public_key(), None);
        }
    }

    #[test]
    fn install_commands_are_the_package_managers() {
        let p = Path::new("/d/Assay_0.2.0.deb");
        assert_eq!(
            install_command(Installer::Deb, p, true),
            ["dpkg", "-i", "/d/Assay_0.2.0.deb"]
        );
        assert_eq!(
            install_command(Installer::Deb, p, false),
            ["pkexec", "dpkg", "-i", "/d/Assay_0.2.0.deb"]
        );
        assert_eq!(
            install_command(Installer::Rpm, Path::new("/d/a.rpm"), false),
            ["pkexec", "rpm", "-U", "/d/a.rpm"]
        );
        assert_eq!(
            target_key("linux", "x86_64", Installer::Rpm),
            "linux-x86_64-rpm"
        );
        // A build tree is not a package install.
        assert_eq!(
            detect_installer(Path::new("/work/target/debug/assay-desktop")),
            None
        );
    }

    #[test]
    fn unsent_work_needs_confirmation() {
        assert_eq!(unsent_problem(0, false), None);
        assert_eq!(unsent_problem(2, true), None);
        let p = unsent_problem(1, false).unwrap();
        assert!(p.starts_with("1 grade is still waiting"), "{p}");
        assert!(unsent_problem(3, false)
            .unwrap()
            .starts_with("3 grades are"));
    }

    #[tokio::test]
    async fn download_is_bounded_and_refuses_html() {
        use axum::routing::get;
        let app = axum::Router::new()
            .route("/big", get(|| async { vec![7u8; 5000] }))
            .route(
                "/page",
                get(|| async { axum::response::Html("<html>login</html>") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let build = |path: &str, size: u64| UpdateBuild {
            url: format!("http://{addr}{path}"),
            signature: String::new(),
            sha256: String::new(),
            size,
        };
        // Reads at most the declared size + 1 (so "more than" is caught).
        let got = download(&client, &build("/big", 100)).await.unwrap();
        assert_eq!(got.len(), 101);
        let err = download(&client, &build("/page", 100)).await.unwrap_err();
        assert_says(&err, "web page (HTML)");
        let err = fetch_manifest(&client, &format!("http://{addr}"))
            .await
            .unwrap_err();
        assert_says(&err, "does not publish");
    }
}

/// The build offered by the last check, kept so the install is exactly
/// what the person saw.
#[derive(Debug, Clone)]
pub struct Offered {
    version: String,
    installer: Installer,
    build: UpdateBuild,
}

fn http_client() -> AppResult<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(format!("Assay/{}", running_version()))
        .build()
        .map_err(|e| AppError::internal(format!("http client: {e}")))
}

/// Whether this process runs as root (then `dpkg` needs no `pkexec`).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl crate::Workbench {
    /// Checks the signed-in platform's update manifest for this build.
    /// Never installs: an offer waits for [`Self::install_update`].
    pub async fn check_for_update(&self) -> AppResult<UpdateCheck> {
        let saved = self.settings.load()?;
        let platform = saved
            .platform_url
            .ok_or_else(|| AppError::invalid("Sign in first: updates come from your platform."))?;
        let exe = std::env::current_exe()
            .map_err(|e| AppError::internal(format!("locating this program: {e}")))?;
        let installer = detect_installer(&exe).ok_or_else(|| {
            rejected(format!(
                "This Assay runs from {}, not from a .deb or .rpm package; update it the way it was installed.",
                exe.display()
            ))
        })?;
        let target = target_key(std::env::consts::OS, std::env::consts::ARCH, installer);
        let manifest = fetch_manifest(&http_client()?, &platform).await?;
        let check = choose(&manifest, running_version(), &target)?;
        let offered = match &check {
            UpdateCheck::Available { offer } => Some(Offered {
                version: offer.version.clone(),
                installer,
                build: build_for(&manifest, &target)?.clone(),
            }),
            UpdateCheck::UpToDate { .. } => None,
        };
        *self
            .offered_update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = offered;
        Ok(check)
    }

    /// Installs the update the last check offered, after the person
    /// confirmed it: uploads what is in the outbox first, and with grades
    /// still unsent asks again (`confirm_unsent`); downloads (bounded),
    /// verifies against the compiled-in key, keeps the artefact in the data
    /// dir and installs it. Drafts and the outbox are not touched; the
    /// shell restarts the app afterwards.
    pub async fn install_update(&self, confirm_unsent: bool) -> AppResult<UpdateInstall> {
        let offered = self
            .offered_update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| AppError::invalid("Check for updates first."))?;
        let key = compiled_public_key().ok_or_else(|| {
            rejected("This build of Assay has no release key, so it cannot verify updates; install new versions from the package by hand.")
        })?;
        // Flush first: an update restarts the app.
        if let Err(e) = self.sync_now(|_| {}).await {
            tracing::info!(error = %e, "sync before the update failed");
        }
        let pending = self.sync_state().await?.pending_uploads;
        if let Some(message) = unsent_problem(pending, confirm_unsent) {
            return Ok(UpdateInstall::NeedsConfirmation { message });
        }
        let bytes = download(&http_client()?, &offered.build).await?;
        verify_artefact(&bytes, &offered.build, key, &offered.version)?;
        let path = keep_artefact(
            &self.data_dir.join("updates"),
            &offered.version,
            offered.installer,
            &bytes,
        )?;
        tracing::info!(version = %offered.version, artefact = %path.display(), "installing a verified update");
        run_install(offered.installer, &path, is_root())?;
        Ok(UpdateInstall::Installed {
            version: offered.version,
            artefact: path.display().to_string(),
        })
    }

    /// The notifications to show for this sync state (issue 18); the shell
    /// shows them. Reads the queue's index for assignments nobody has
    /// started (building the whole queue held the store for 60 ms at 10,000
    /// items, after every sync, while the UI asked for its first window).
    pub fn notices_for(&self, state: &crate::SyncState) -> Vec<crate::notices::Notice> {
        use crate::notices::{decide, NoticeSettings, Observation};
        let ui = self.settings.load().map(|s| s.ui).unwrap_or_default();
        let now = chrono::Utc::now();
        let new_assignments = match self
            .store
            .queue_ids_with_status(assay_store::QueueStatus::New, now)
        {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => {
                tracing::debug!(error = %e, "no queue for notifications");
                return Vec::new();
            }
        };
        let obs = Observation {
            new_assignments,
            expiring_leases: state.expiring_leases.iter().cloned().collect(),
        };
        let settings = NoticeSettings {
            enabled: ui.notifications,
            min_interval: chrono::Duration::seconds(i64::from(ui.notify_interval_s)),
        };
        let mut remembered = self
            .notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        decide(&mut remembered, &obs, settings, now)
    }
}
