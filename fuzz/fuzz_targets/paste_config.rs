//! Fuzz target: arbitrary text as a paste.deploy file, loaded with every
//! factory nova-server registers. Loading opens nothing (factories only
//! describe what they build), so the real registry is safe to fuzz. Loading
//! must never panic, and every error must say what is wrong.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nova_paste::Config;
use nova_server::{registry, Overrides};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let registry = registry(&Overrides::default());
    let config = match Config::from_text("fuzz.ini", Path::new("/nonexistent"), text) {
        Ok(config) => config,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    for name in ["main", "api", "instance"] {
        if let Err(error) = config.load_app(&registry, name) {
            assert!(!error.to_string().is_empty());
        }
    }
});
