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
use assay_e2e::{
    grade_by_keyboard, keys, open_new_item, sign_in, sync_now, wait_queue_filled, workspace_root,
    App, PlatformProcess, UploadGate,
};

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
    let env = installed_env(PROFILE, &data_home, &platform.url());
    let app = App::launch_binary(&binary, &env)?;
    app.wait_for("input[type=url]", WAIT)?;
    let version = app
        .text_content("[data-testid=app-version]")?
        .unwrap_or_default();
    assert!(version.contains(SERVICE), "{version}");
    sign_in(&app, &platform, WAIT)?;
    wait_queue_filled(&app)?;
    app.screenshot("package-01-queue")?;

    // Grade one code item by keyboard (the same steps as tests/e2e.rs).
    let assignment = open_new_item(&app, "itm-code")?;
    grade_by_keyboard(&app)?;
    app.wait_text("[data-testid=pending]", WAIT, |t| t.starts_with("0 "))?;
    app.screenshot("package-02-graded")?;
    app.quit()?;

    // The grade reached the platform (its export of graded submissions).
    let export = platform.admin_get("/export?limit=500")?;
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

/// The installed app's environment: its `profile`, its data under
/// `data_home` (`XDG_DATA_HOME`) and a sign-in to `platform_url` confirmed.
fn installed_env(
    profile: &str,
    data_home: &Path,
    platform_url: &str,
) -> [(&'static str, String); 3] {
    [
        ("ASSAY_PROFILE", profile.to_owned()),
        ("XDG_DATA_HOME", data_home.display().to_string()),
        (
            "ASSAY_TEST_DIALOGS",
            serde_json::json!({ "confirm_sign_in": platform_url }).to_string(),
        ),
    ]
}

/// How many submissions of `assignment` the platform holds (its export of
/// graded submissions, every page).
fn platform_submissions(platform: &PlatformProcess, assignment: &str) -> Result<usize> {
    assay_e2e::count_in_feed("records", assignment, |since| {
        platform.admin_get(&format!("/export?limit=500&since={since}"))
    })
}

/// The installed version of `package` (dpkg's).
fn dpkg_version(package: &str) -> String {
    sh(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Pids of running `/usr/bin/assay-desktop` processes of `profile`.
fn running_app(profile: &str) -> Vec<u32> {
    let want = format!("ASSAY_PROFILE={profile}");
    assay_e2e::pids()
        .filter(|pid| {
            let exe = assay_e2e::exe_of(*pid).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            exe.to_string_lossy().starts_with("/usr/bin/assay-desktop")
                && environ.split(|b| *b == 0).any(|kv| kv == want.as_bytes())
        })
        .collect()
}

/// issue 18, updates: version N installed from its .deb refuses a tampered
/// N+1 (bad signature), a truncated one, an HTML manifest and a downgrade,
/// each with its reason and still running N; then updates itself to the
/// signed N+1 the platform serves, on the person's confirmation, restarts
/// as N+1, and the draft written in N is still there, as is a grade
/// submitted in N whose upload the platform kept answering 503 (an
/// [`UploadGate`] in front of it): still "In outbox" in N+1, it uploads
/// exactly once when the platform takes uploads again. `cargo xtask bundle
/// --debug --e2e` builds both with a throwaway key pair (N+1 stamped with
/// `ASSAY_BUILD_VERSION`, signed by `tauri signer sign --app-version`).
#[test]
#[ignore = "installs the .deb: run by `cargo xtask bundle --debug --e2e`"]
fn installed_deb_updates_itself_to_the_signed_next_version() -> Result<()> {
    let var = |k: &str| {
        std::env::var(k)
            .with_context(|| format!("{k} is unset: run `cargo xtask bundle --debug --e2e`"))
    };
    let deb = PathBuf::from(var("ASSAY_DEB")?);
    let next_deb = PathBuf::from(var("ASSAY_UPDATE_DEB")?);
    let next_sig = PathBuf::from(var("ASSAY_UPDATE_SIG")?);
    let next = var("ASSAY_UPDATE_VERSION")?;
    if !is_root() {
        eprintln!("not root: the update installs with dpkg -i, which needs root; skipped");
        return Ok(());
    }
    let package = deb_field(&deb, "Package")?;
    let first = deb_field(&deb, "Version")?;
    assert_eq!(deb_field(&next_deb, "Version")?, next);
    assert_ne!(first, next);
    let _installed = Installed::install(&deb)?;
    assert_eq!(dpkg_version(&package), first);

    const PROFILE_UP: &str = "e2e-pkg-up";
    let service = format!("dev.assay.desktop.{PROFILE_UP}");
    let updates = tempfile::tempdir()?;
    let mut platform = PlatformProcess::seeded()?;
    platform.serve_args = vec!["--updates-dir".into(), updates.path().display().to_string()];
    platform.start(600)?;
    // The app talks to the platform through a gate that can hold back
    // uploads; everything else (the update too) flows through it.
    let gate = UploadGate::start(&platform.url())?;
    let publish = |version: &str, artefact: &Path| -> Result<()> {
        let out = Command::new(assay_e2e::target_dir().join("assay-platform"))
            .args(["publish-update", "--dir"])
            .arg(updates.path())
            .args([
                "--base-url",
                &gate.url(),
                "--version",
                version,
                "--notes",
                "Signed test update.",
                "--target",
                "linux-x86_64-deb",
                "--artefact",
            ])
            .arg(artefact)
            .arg("--signature")
            .arg(&next_sig)
            .output()?;
        if !out.status.success() {
            bail!("publish-update: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    // First a tampered N+1: one byte changed, same size, listed with its
    // own sha256 but N+1's real signature (a compromised file server).
    let next_name = next_deb.file_name().context("no file name")?;
    let tampered_dir = tempfile::tempdir()?;
    let tampered = tampered_dir.path().join(next_name);
    let mut bytes = std::fs::read(&next_deb)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&tampered, &bytes)?;
    publish(&next, &tampered)?;

    let xdg = tempfile::tempdir()?;
    let data_home = xdg.path().join("data");
    std::fs::create_dir_all(&data_home)?;
    let data_dir = data_home.join(&service);
    let env = installed_env(PROFILE_UP, &data_home, &gate.url());
    let binary = PathBuf::from("/usr/bin/assay-desktop");
    let app = App::launch_binary(&binary, &env)?;
    app.wait_for("input[type=url]", WAIT)?;
    let shown = app
        .text_content("[data-testid=app-version]")?
        .unwrap_or_default();
    assert!(shown.contains(&format!("Version {first} ")), "{shown}");
    app.fill("input[type=url]", &gate.url())?;
    app.fill("input[type=password]", &platform.token)?;
    app.press(&[keys::ENTER])?;
    app.wait_text("[data-testid=online-badge]", WAIT, |t| t.contains("Online"))?;

    // A draft in N: one answer on a code item, saved.
    let assignment = open_new_item(&app, "itm-code")?;
    app.execute(
        "document.activeElement && document.activeElement.blur()",
        serde_json::json!([]),
    )?;
    app.press(&["1"])?;
    let row_status = format!("li[data-queue-row='{assignment}'] .st");
    app.wait_text(&row_status, WAIT, |t| t.trim() == "Draft")?;

    // The check at start offers N+1; nothing is installed until confirmed.
    app.wait_text("[data-testid=update-available]", WAIT, |t| {
        t.contains(&next)
    })?;
    assert_eq!(dpkg_version(&package), first);
    app.click(&app.wait_for("[data-testid=update-available]", WAIT)?)?;
    app.wait_text("[data-testid=update-version]", WAIT, |t| t.trim() == next)?;
    app.screenshot("package-update-01-offer")?;

    // Each bad answer is refused with its reason; N stays installed and
    // running, the draft untouched. The tampered file first:
    app.click(&app.wait_for("[data-testid=update-install]", WAIT)?)?;
    let refused = |why: &str, shot: &str| -> Result<()> {
        let shown = app.wait_text("[data-testid=update-error]", WAIT, |t| t.contains(why))?;
        eprintln!("refused ({shot}): {shown}");
        // Under a loaded Xvfb the window repaints well after the DOM changed.
        std::thread::sleep(Duration::from_secs(2));
        app.screenshot(shot)?;
        assert_eq!(dpkg_version(&package), first, "{shot}: N was replaced");
        assert!(!running_app(PROFILE_UP).is_empty(), "{shot}: Assay is gone");
        Ok(())
    };
    refused(
        "signature does not match",
        "package-update-02-bad-signature",
    )?;
    let check_again = || -> Result<()> {
        let clicked = app.execute(
            "const b = [...document.querySelectorAll('[data-testid=update-dialog] button')]
               .find((b) => b.textContent.trim() === 'Check again');
             if (b) { b.click(); return true; } return false;",
            serde_json::json!([]),
        )?;
        if clicked != serde_json::json!(true) {
            bail!("no Check again button in the update dialog");
        }
        Ok(())
    };
    // Truncated: the served N+1 is cut short of the size the manifest says.
    publish(&next, &next_deb)?;
    let served = updates.path().join(next_name);
    let whole = std::fs::read(&served)?;
    std::fs::write(&served, &whole[..whole.len() / 2])?;
    check_again()?;
    app.wait_text("[data-testid=update-version]", WAIT, |t| t.trim() == next)?;
    app.click(&app.wait_for("[data-testid=update-install]", WAIT)?)?;
    refused("truncated", "package-update-03-truncated")?;
    // A web page (a captive portal) where the manifest should be.
    std::fs::write(
        updates.path().join("manifest.json"),
        "<!DOCTYPE html><html><body>Please sign in to the network</body></html>",
    )?;
    check_again()?;
    refused("web page (HTML)", "package-update-04-html-manifest")?;
    // An older version than the one installed.
    std::fs::remove_file(updates.path().join("manifest.json"))?;
    publish("0.0.1", &deb)?;
    check_again()?;
    refused("does not downgrade", "package-update-05-downgrade")?;
    // N still works: the draft is there and the queue answers.
    app.execute(
        "[...document.querySelectorAll('[data-testid=update-dialog] button')]
           .find((b) => b.textContent.trim() === 'Close')?.click()",
        serde_json::json!([]),
    )?;
    app.wait_text(&row_status, WAIT, |t| t.trim() == "Draft")?;
    app.wait_text("[data-testid=online-badge]", WAIT, |t| t.contains("Online"))?;

    // A grade submitted in N that cannot upload: the platform answers its
    // upload 503 (the gate), so it waits in the durable outbox. Submitted
    // just before the update, so the app's backoff is still short after it.
    gate.hold(true);
    let submitted = open_new_item(&app, "itm-code")?;
    assert_ne!(submitted, assignment);
    grade_by_keyboard(&app)?;
    let submitted_status = format!("li[data-queue-row='{submitted}'] .st");
    app.wait_text(&submitted_status, WAIT, |t| t.trim() == "In outbox")?;
    app.wait_text("[data-testid=pending]", WAIT, |t| t.trim() == "1 pending")?;
    let deadline = std::time::Instant::now() + WAIT;
    while gate.submissions().is_empty() {
        if std::time::Instant::now() > deadline {
            bail!("the app never tried to upload the grade of {submitted}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(platform_submissions(&platform, &submitted)?, 0);
    app.wait_text(&row_status, WAIT, |t| t.trim() == "Draft")?;
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("package-update-06-in-outbox")?;

    // The real, signed N+1.
    std::fs::remove_file(updates.path().join("manifest.json"))?;
    publish(&next, &next_deb)?;
    app.click(&app.wait_for("[data-testid=update-available]", WAIT)?)?;
    app.wait_text("[data-testid=update-version]", WAIT, |t| t.trim() == next)?;
    app.click(&app.wait_for("[data-testid=update-install]", WAIT)?)?;
    // Assay tries the outbox first; the grade still cannot upload, so it
    // says so and asks again (the grade is kept and uploads afterwards).
    let confirm = app.wait_for("[data-testid=update-confirm-unsent]", WAIT)?;
    let said = app
        .text_content("[data-testid=update-dialog] [role=alert]")?
        .unwrap_or_default();
    assert!(
        said.contains("1 grade is still waiting to upload"),
        "{said}"
    );
    assert_eq!(dpkg_version(&package), first);
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("package-update-07-confirm-unsent")?;
    app.click(&confirm)?;
    // dpkg -i runs before the command answers; then Assay restarts.
    let installed = std::time::Instant::now();
    while dpkg_version(&package) != next {
        if installed.elapsed() > Duration::from_secs(120) {
            bail!(
                "{package} is still {} after the update",
                dpkg_version(&package)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The command answered "installed"; the old process restarts itself a
    // moment later. Its WebDriver session is ended only once the new
    // process runs: ending it earlier kills the old process before it can.
    match app.wait_text("[data-testid=update-restarting]", WAIT, |t| {
        t.contains(&next)
    }) {
        Ok(t) => eprintln!("the dialog says: {t}"),
        // The old process may be gone before the text is read.
        Err(e) => eprintln!("(the restarting text was not read: {e})"),
    }

    // The restarted process is the installed N+1: it logs its version.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let log_says_next = || {
        std::fs::read_dir(data_dir.join("logs")).is_ok_and(|d| {
            d.filter_map(std::result::Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .any(|t| {
                    t.contains(&format!("version=\"{next}\""))
                        || t.contains(&format!("version={next}"))
                })
        })
    };
    while !log_says_next() || running_app(PROFILE_UP).is_empty() {
        if std::time::Instant::now() > deadline {
            bail!(
                "Assay did not restart as {next} (running: {:?})",
                running_app(PROFILE_UP)
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!("restarted as {next}: pids {:?}", running_app(PROFILE_UP));
    drop(app); // the old process is gone; its WebDriver session ends with tauri-driver
               // Close it (it holds the single-instance lock) and drive N+1 again.
    for pid in running_app(PROFILE_UP) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !running_app(PROFILE_UP).is_empty() {
        if std::time::Instant::now() > deadline {
            bail!("the restarted Assay did not exit");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let app = App::launch_binary(&binary, &env)?;
    // The version line is for screen readers only (WebDriver's visible text
    // of it is empty): read its text content.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let shown = app
            .text_content("[data-testid=app-version]")?
            .unwrap_or_default();
        if shown.contains(&format!("Version {next} ")) {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("the relaunched app shows {shown:?}, not version {next}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Still signed in (keyring), the draft of N is intact and the grade
    // is still waiting in the outbox (uploads are still held back). The
    // search brings both rows into view for the screenshots.
    let before = app
        .text_content("[data-testid=queue-count]")?
        .unwrap_or_default();
    app.fill("input[aria-label='Search queue']", "itm-code")?;
    app.wait_text("[data-testid=queue-count]", WAIT, |t| t != before)?;
    app.wait_text(&row_status, WAIT, |t| t.trim() == "Draft")?;
    app.wait_text(&submitted_status, WAIT, |t| t.trim() == "In outbox")?;
    app.wait_text("[data-testid=pending]", WAIT, |t| t.trim() == "1 pending")?;
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("package-update-08-after")?;
    // Nothing newer now: the same version is "up to date", no button.
    assert!(app.try_find("[data-testid=update-available]")?.is_none());
    let held = gate.submissions();
    assert!(
        held.iter().all(|r| !r.forwarded && r.status == Some(503)),
        "an upload got through while held: {held:?}"
    );
    assert_eq!(platform_submissions(&platform, &submitted)?, 0);
    eprintln!(
        "the grade of {submitted} was held back {} times across the update",
        held.len()
    );

    // The platform takes uploads again: N+1 uploads the grade from the
    // outbox (when its retry falls due; a sync now every few seconds).
    gate.hold(false);
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        if app
            .wait_text(&submitted_status, Duration::from_secs(5), |t| {
                t.trim() == "Submitted"
            })
            .is_ok()
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            app.screenshot("package-update-not-uploaded")?;
            bail!(
                "the grade of {submitted} never uploaded after the update: {:?}\n{}",
                gate.submissions(),
                app.page_text()?
            );
        }
        sync_now(&app)?;
    }
    app.wait_text("[data-testid=pending]", WAIT, |t| t.trim() == "0 pending")?;
    app.wait_text(&row_status, WAIT, |t| t.trim() == "Draft")?;
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("package-update-09-uploaded")?;
    // Exactly once: the platform holds one submission of it (none of the
    // draft), and the one upload the gate let through was accepted.
    assert_eq!(platform_submissions(&platform, &submitted)?, 1);
    assert_eq!(platform_submissions(&platform, &assignment)?, 0);
    let through: Vec<_> = gate
        .submissions()
        .into_iter()
        .filter(|r| r.forwarded)
        .collect();
    assert!(
        through.len() == 1 && through[0].status.is_some_and(|s| (200..300).contains(&s)),
        "uploads sent on to the platform: {through:?}"
    );
    app.quit()?;
    assert!(keyring_has(&service)?, "the update lost the keyring entry");
    let _ = Command::new("secret-tool")
        .args(["clear", "service", &service])
        .status();
    Ok(())
}
