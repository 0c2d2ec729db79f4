//! The real openstacksdk against nova-rs over TCP: what a user's script
//! sees of version discovery and microversion negotiation, with the
//! shipped `api-paste.ini` and the `clouds.yaml` the README gives.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use nova_tests::{clients, repo_file, TestServer};
use serde_json::{json, Value};

/// The README's `clouds.yaml` for reaching nova-rs before it has an
/// identity service: keystoneauth's `admin_token` plugin, the seed's token
/// and the compute endpoint.
fn clouds_yaml(endpoint: &str) -> String {
    format!(
        "clouds:\n  nova-rs:\n    auth_type: admin_token\n    auth:\n      endpoint: {endpoint}\n      token: open-sesame\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn openstacksdk_discovers_the_compute_api_and_negotiates_its_microversion() {
    let Some(python) = clients::python() else {
        return;
    };
    let server = TestServer::start_config(&repo_file("etc/nova-rs/api-paste.ini")).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("clouds.yaml");
    let endpoint = format!("http://{}/v2.1", server.addr());
    std::fs::write(&config, clouds_yaml(&endpoint)).unwrap();
    let script = repo_file("tests/clients/discovery.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("OS_CLIENT_CONFIG_FILE", &config)
            .current_dir(dir.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["api_version"], json!([2, 1]), "{seen}");
    assert_eq!(seen["min_microversion"], json!([2, 1]));
    assert_eq!(seen["max_microversion"], json!([2, 1]));
    assert_eq!(seen["url"], format!("{endpoint}/"));
    let served = &seen["get 2.1"];
    assert_eq!(served["status"], 200, "{seen}");
    assert_eq!(served["sent"], "compute 2.1");
    assert_eq!(served["echoed"], "compute 2.1");
    assert_eq!(served["body"]["instances"].as_array().unwrap().len(), 3);
    let refused = &seen["get 2.5"];
    assert_eq!(refused["status"], 406, "{seen}");
    assert_eq!(
        refused["body"]["computeFault"]["message"],
        "Version 2.5 is not supported by the API. Minimum is 2.1 and maximum is 2.1."
    );
    server.stop().await;
}
