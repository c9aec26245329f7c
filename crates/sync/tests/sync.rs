//! Integration tests of assay-sync: keyring, and the sync engine against the
//! reference platform over real HTTP on loopback (directly and through a
//! fault-injecting proxy).

mod keyring {
    use assay_sync::Credentials;

    /// Round-trips a token through the real Secret Service. CI runs the suite
    /// inside `dbus-run-session` with an unlocked gnome-keyring; without a
    /// session bus this test fails loudly instead of passing vacuously.
    #[test]
    fn keyring_set_get_delete_round_trip() {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no D-Bus session bus: run under `dbus-run-session -- sh -c 'echo -n pw | \
             gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p assay-sync keyring'`"
        );
        let creds = Credentials::new(&format!("dev.assay.test.{}", std::process::id()));
        let account = "reviewer@example.test";
        let _ = creds.delete_token(account);
        assert_eq!(creds.get_token(account).unwrap(), None);
        creds.set_token(account, "tok-first").unwrap();
        assert_eq!(
            creds.get_token(account).unwrap().unwrap().expose(),
            "tok-first"
        );
        creds.set_token(account, "tok-second").unwrap();
        assert_eq!(
            creds.get_token(account).unwrap().unwrap().expose(),
            "tok-second"
        );
        assert!(creds.delete_token(account).unwrap());
        assert_eq!(creds.get_token(account).unwrap(), None);
        assert!(!creds.delete_token(account).unwrap());
        // Another service name never sees this one's entries.
        let other = Credentials::new("dev.assay.test.other");
        assert_eq!(other.get_token(account).unwrap(), None);
    }
}
