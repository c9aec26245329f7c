//! Platform clients, sync engine and keyring credentials.
