//! issue 18: the update check, download and verification of
//! `assay_app::update` against a real reference platform serving
//! `--updates-dir`: a newer signed build verifies; a downgrade, another
//! target, a truncated artefact, a bad signature and an HTML "manifest" are
//! each refused with their reason. (The install and restart are the package
//! test's: tests/tests/package.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::path::Path;

use assay_app::update::{
    build_for, choose, download, fetch_manifest, verify_artefact, UpdateCheck,
};
use assay_app::ErrorCode;

#[path = "support/signing.rs"]
#[allow(dead_code)] // this test signs only the usual way (no `sign_as`)
mod signing;

use signing::{keys, sign};

async fn platform(updates: &Path, db: &Path) -> assay_platform::RunningServer {
    let mut config = assay_platform::ServerConfig::new(db, "127.0.0.1:0".parse().unwrap());
    config.updates_dir = Some(updates.to_path_buf());
    assay_platform::spawn(config).await.unwrap()
}

const TARGET: &str = "linux-x86_64-deb";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_newer_build_verifies_and_each_bad_answer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let updates = dir.path().join("updates");
    let server = platform(&updates, &dir.path().join("p.sqlite")).await;
    let base = server.base_url();
    let client = reqwest::Client::new();
    let k = keys();
    let deb = dir.path().join("Assay_0.2.0_amd64.deb");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&deb, &bytes).unwrap();
    let publish = |version: &str, target: &str, signature: &str| {
        assay_platform::updates::write_manifest(
            &updates,
            &base,
            version,
            "Faster diffs.",
            target,
            &deb,
            signature,
        )
        .unwrap()
    };

    // N+1, signed by the key the app trusts: offered, downloaded, verified.
    publish("0.2.0", TARGET, &sign(&k, &bytes));
    let m = fetch_manifest(&client, &base).await.unwrap();
    let UpdateCheck::Available { offer } = choose(&m, "0.1.0", TARGET).unwrap() else {
        panic!("no offer")
    };
    assert_eq!((offer.version.as_str(), offer.size), ("0.2.0", 200_000));
    let build = build_for(&m, TARGET).unwrap();
    let got = download(&client, build).await.unwrap();
    verify_artefact(&got, build, &k.public_b64, "0.2.0").unwrap();

    // The same version: up to date. An older one: refused.
    assert!(matches!(
        choose(&m, "0.2.0", TARGET).unwrap(),
        UpdateCheck::UpToDate { .. }
    ));
    let err = choose(&m, "0.3.0", TARGET).unwrap_err();
    assert!(
        err.message.contains("does not downgrade"),
        "{}",
        err.message
    );

    // Another computer's build only.
    std::fs::remove_file(updates.join("manifest.json")).unwrap();
    publish("0.2.0", "darwin-aarch64", &sign(&k, &bytes));
    let m = fetch_manifest(&client, &base).await.unwrap();
    let err = choose(&m, "0.1.0", TARGET).unwrap_err();
    assert!(
        err.message.contains("no build for this computer"),
        "{}",
        err.message
    );

    // Signed by someone else.
    publish("0.2.0", TARGET, &sign(&keys(), &bytes));
    let m = fetch_manifest(&client, &base).await.unwrap();
    let build = build_for(&m, TARGET).unwrap();
    let got = download(&client, build).await.unwrap();
    let err = verify_artefact(&got, build, &k.public_b64, "0.2.0").unwrap_err();
    assert_eq!(err.code, ErrorCode::Rejected);
    assert!(
        err.message.contains("signature does not match"),
        "{}",
        err.message
    );

    // Truncated: the server's file is shorter than the manifest says.
    publish("0.2.0", TARGET, &sign(&k, &bytes));
    std::fs::write(updates.join("Assay_0.2.0_amd64.deb"), &bytes[..150_000]).unwrap();
    let m = fetch_manifest(&client, &base).await.unwrap();
    let build = build_for(&m, TARGET).unwrap();
    let got = download(&client, build).await.unwrap();
    let err = verify_artefact(&got, build, &k.public_b64, "0.2.0").unwrap_err();
    assert!(
        err.message.contains("truncated: 150000 of 200000 bytes"),
        "{}",
        err.message
    );

    // A portal page where the manifest should be.
    std::fs::write(
        updates.join("manifest.json"),
        "<!DOCTYPE html><html><body>Please sign in to the network</body></html>",
    )
    .unwrap();
    let err = fetch_manifest(&client, &base).await.unwrap_err();
    assert!(err.message.contains("web page (HTML)"), "{}", err.message);
    server.shutdown().await.unwrap();
}
