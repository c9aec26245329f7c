//! Update signing keys and signatures as `tauri signer` makes them: shared by
//! the update unit tests (`src/update.rs`) and `tests/update_flow.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use base64::Engine;

pub struct Keys {
    /// The public key as the app's config holds it (base64 of the key box).
    pub public_b64: String,
    pub sk: minisign::SecretKey,
    pub pk: minisign::PublicKey,
}

pub fn keys() -> Keys {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let text = kp.pk.to_box().unwrap().to_string();
    Keys {
        public_b64: base64::engine::general_purpose::STANDARD.encode(text),
        sk: kp.sk,
        pk: kp.pk,
    }
}

/// Signs like `tauri signer sign --app-version 0.2.0`: base64 of the
/// `.sig` file's text.
pub fn sign(k: &Keys, bytes: &[u8]) -> String {
    sign_as(
        k,
        bytes,
        "timestamp:1796146936\tfile:Assay_0.2.0_amd64.deb\tversion:0.2.0",
    )
}

/// Signs with `trusted` as the signature's trusted comment.
pub fn sign_as(k: &Keys, bytes: &[u8], trusted: &str) -> String {
    let sig = minisign::sign(
        Some(&k.pk),
        &k.sk,
        std::io::Cursor::new(bytes),
        Some(trusted),
        None,
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(sig.to_string())
}
