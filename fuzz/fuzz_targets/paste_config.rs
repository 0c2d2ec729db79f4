//! Fuzz target: arbitrary text as a paste.deploy file, loaded with Nova's
//! standard filters and a stand-in app registered. Loading must never panic,
//! and every error must say what is wrong.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nova_paste::{Config, Registry};
use nova_router::service_fn;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut registry = Registry::new();
    nova_filters::register(&mut registry);
    registry.add_app("instance", |config| {
        // Reads keys as the real instance app does, so unknown-key checks run.
        let _ = config.get("store");
        config.bool("seed")?;
        Ok(Arc::new(service_fn(|_req| async { http::Response::new(Bytes::new()) })))
    });
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
