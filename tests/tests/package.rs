//! The installed package end to end (issue 18): install the .deb built by
//! `cargo xtask bundle --debug`, drive the installed binary (not the build
//! tree's) through sign-in, sync and one grade, uninstall, and check the
//! reviewer's data and keyring entry survive until the README's purge step.
//!
//! Run by `cargo xtask bundle --debug --e2e` (which sets `ASSAY_DEB`). As
//! root the package goes in with `dpkg -i`; otherwise into an extracted root
//! (`dpkg-deb -x`), which proves the package's files but not its maintainer
//! scripts. A debug build is needed: only it answers the test's scripted
//! sign-in confirmation (`ASSAY_TEST_DIALOGS`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use assay_e2e::{grade_by_keyboard, keys, open_new_item, workspace_root, App, PlatformProcess};

const WAIT: Duration = Duration::from_secs(30);
/// The test's profile: its own data dir and keyring service.
const PROFILE: &str = "e2e-pkg";
const SERVICE: &str = "dev.assay.desktop.e2e-pkg";

fn sh(cmd: &mut Command) -> Result<std::process::Output> {
    cmd.output().with_context(|| format!("running {cmd:?}"))
}

fn is_root() -> bool {
    sh(Command::new("id").arg("-u")).is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn deb_field(deb: &Path, field: &str) -> Result<String> {
    let out = sh(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field))?;
    if !out.status.success() {
        bail!("dpkg-deb -f {field} failed on {}", deb.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn dpkg_installed(package: &str) -> bool {
    sh(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Whether the keyring holds an entry of `service` (the token is not read).
fn keyring_has(service: &str) -> Result<bool> {
    let out = sh(Command::new("secret-tool").args(["search", "--all", "service", service]))?;
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(all.contains(&format!("attribute.service = {service}")))
}

/// The purge commands of the README (between `<!-- purge: begin` and
/// `<!-- purge: end -->`), for the real app's identifier.
fn readme_purge_block() -> Result<String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md"))?;
    let start = readme
        .find("<!-- purge: begin")
        .context("README has no purge block")?;
    let end = readme[start..]
        .find("<!-- purge: end -->")
        .context("README's purge block is not closed")?
        + start;
    let block = &readme[start..end];
    let code = block
        .split("```sh")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .context("README's purge block has no ```sh code")?;
    Ok(code.trim().to_string())
}

struct Installed {
    binary: PathBuf,
    package: String,
    /// The extracted root when not installed with dpkg.
    root: Option<tempfile::TempDir>,
}

impl Installed {
    fn install(deb: &Path) -> Result<Self> {
        let package = deb_field(deb, "Package")?;
        if is_root() {
            let out = sh(Command::new("dpkg").arg("-i").arg(deb))?;
            if !out.status.success() {
                // Missing dependencies: apt installs them and finishes the install.
                eprintln!(
                    "dpkg -i: {}; completing with apt-get -f install",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                let status = Command::new("apt-get")
                    .args(["-f", "install", "-y", "-q", "--no-install-recommends"])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status()?;
                if !status.success() {
                    bail!("apt-get -f install failed");
                }
            }
            if !dpkg_installed(&package) {
                bail!("{package} is not installed after dpkg -i");
            }
            Ok(Self {
                binary: PathBuf::from("/usr/bin/assay-desktop"),
                package,
                root: None,
            })
        } else {
            let root = tempfile::tempdir()?;
            let status = Command::new("dpkg-deb")
                .arg("-x")
                .arg(deb)
                .arg(root.path())
                .status()?;
            if !status.success() {
                bail!("dpkg-deb -x failed");
            }
            Ok(Self {
                binary: root.path().join("usr/bin/assay-desktop"),
                package,
                root: Some(root),
            })
        }
    }

    fn uninstall(&mut self) -> Result<()> {
        match self.root.take() {
            None => {
                let out = sh(Command::new("dpkg").args(["--purge", &self.package]))?;
                if !out.status.success() {
                    bail!(
                        "dpkg --purge {}: {}",
                        self.package,
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                if dpkg_installed(&self.package) {
                    bail!("{} is still installed", self.package);
                }
            }
            Some(root) => root.close()?,
        }
        Ok(())
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if self.root.is_none() && dpkg_installed(&self.package) {
            let _ = Command::new("dpkg")
                .args(["--purge", &self.package])
                .status();
        }
    }
}

/// A corrupt package (cut in half) is refused and installs nothing.
fn corrupt_package_is_refused(deb: &Path, package: &str) -> Result<()> {
    let bytes = std::fs::read(deb)?;
    let dir = tempfile::tempdir()?;
    let bad = dir.path().join("corrupt.deb");
    std::fs::write(&bad, &bytes[..bytes.len() / 2])?;
    let out = if is_root() {
        sh(Command::new("dpkg").arg("-i").arg(&bad))?
    } else {
        sh(Command::new("dpkg-deb")
            .arg("-x")
            .arg(&bad)
            .arg(dir.path().join("root")))?
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a corrupt package was accepted");
    assert!(
        err.contains("corrupt") || err.contains("unexpected end of file") || err.contains("error"),
        "no clear message: {err}"
    );
    assert!(
        !dpkg_installed(package),
        "a corrupt package left {package} installed"
    );
    eprintln!(
        "corrupt package refused: {}",
        err.lines().next().unwrap_or_default()
    );
    Ok(())
}

#[test]
#[ignore = "installs the .deb: run by `cargo xtask bundle --debug --e2e`"]
fn installed_deb_signs_in_syncs_grades_and_uninstall_keeps_data() -> Result<()> {
    let deb = PathBuf::from(
        std::env::var_os("ASSAY_DEB")
            .context("ASSAY_DEB is unset: run `cargo xtask bundle --debug --e2e`")?,
    );
    let package = deb_field(&deb, "Package")?;
    if is_root() && dpkg_installed(&package) {
        bail!(
            "{package} is already installed on this machine; remove it first (dpkg -r {package})"
        );
    }
    corrupt_package_is_refused(&deb, &package)?;

    let mut installed = Installed::install(&deb)?;
    let binary = installed.binary.clone();
    assert!(
        !binary.starts_with(workspace_root()),
        "{} is the build tree's binary",
        binary.display()
    );
    if installed.root.is_none() {
        let owner = sh(Command::new("dpkg").arg("-S").arg(&binary))?;
        assert!(
            String::from_utf8_lossy(&owner.stdout).starts_with(&format!("{package}:")),
            "{} is not the package's",
            binary.display()
        );
    }
    let desktop_root = installed
        .root
        .as_ref()
        .map_or_else(|| PathBuf::from("/"), |r| r.path().to_path_buf());
    let entry = std::fs::read_dir(desktop_root.join("usr/share/applications"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "desktop"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find(|text| text.lines().any(|l| l.starts_with("Exec=assay-desktop")))
        .context("no desktop entry of Assay installed")?;
    assert!(
        entry.contains("MimeType=x-scheme-handler/assay")
            && entry.contains("Exec=assay-desktop %u"),
        "{entry}"
    );

    // The reviewer's own data lives under XDG_DATA_HOME (a scratch one here).
    let xdg = tempfile::tempdir()?;
    let data_home = xdg.path().join("data");
    std::fs::create_dir_all(&data_home)?;
    let data_dir = data_home.join(SERVICE);
    let mut platform = PlatformProcess::seeded()?;
    platform.start(600)?;
    let dialogs = serde_json::json!({ "confirm_sign_in": platform.url() }).to_string();
    let data_home_s = data_home.display().to_string();
    let env = [
        ("ASSAY_PROFILE", PROFILE),
        ("XDG_DATA_HOME", data_home_s.as_str()),
        ("ASSAY_TEST_DIALOGS", dialogs.as_str()),
    ];
    let app = App::launch_binary(&binary, &env)?;
    app.wait_for("input[type=url]", WAIT)?;
    let version = app
        .text_content("[data-testid=app-version]")?
        .unwrap_or_default();
    assert!(version.contains(SERVICE), "{version}");
    app.fill("input[type=url]", &platform.url())?;
    app.fill("input[type=password]", &platform.token)?;
    app.press(&[keys::ENTER])?;
    app.wait_text("[data-testid=online-badge]", WAIT, |t| t.contains("Online"))?;
    app.wait_text("[data-testid=queue-count]", WAIT, |t| {
        t.split_whitespace()
            .next()
            .and_then(|n| n.replace(',', "").parse::<u32>().ok())
            .unwrap_or(0)
            > 0
    })?;
    app.screenshot("package-01-queue")?;

    // Grade one code item by keyboard (the same steps as tests/e2e.rs).
    let assignment = open_new_item(&app, "itm-code")?;
    grade_by_keyboard(&app)?;
    app.wait_text("[data-testid=pending]", WAIT, |t| t.starts_with("0 "))?;
    app.screenshot("package-02-graded")?;
    app.quit()?;

    // The grade reached the platform (its export of graded submissions).
    let export: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/admin/export?limit=500", platform.url()))
        .bearer_auth("e2e-admin")
        .send()?
        .error_for_status()?
        .json()?;
    assert!(
        export["records"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x.to_string().contains(&assignment))),
        "the grade of {assignment} is not in the platform's export: {export}"
    );

    assert!(
        data_dir.join("store").is_dir(),
        "no store in {}",
        data_dir.display()
    );
    assert!(keyring_has(SERVICE)?, "no keyring entry for {SERVICE}");

    // Uninstall (dpkg --purge: the package's own files and config): the
    // reviewer's data and keyring entry stay.
    installed.uninstall()?;
    assert!(
        !binary.exists(),
        "{} survived the uninstall",
        binary.display()
    );
    assert!(
        data_dir.join("store").is_dir(),
        "uninstall removed the reviewer's data"
    );
    assert!(keyring_has(SERVICE)?, "uninstall removed the keyring entry");

    // The README's purge step (for this profile's identifier) removes both.
    let purge = readme_purge_block()?.replace("dev.assay.desktop", SERVICE);
    let status = Command::new("sh")
        .args(["-c", &purge])
        .env("XDG_DATA_HOME", &data_home)
        .status()?;
    assert!(status.success(), "the purge step failed:\n{purge}");
    assert!(!data_dir.exists(), "purge left {}", data_dir.display());
    assert!(!keyring_has(SERVICE)?, "purge left the keyring entry");
    Ok(())
}
