//! Key pairs (`/os-keypairs`) and quota sets (`/os-quota-sets`) over real
//! TCP, against the shipped `etc/nova-rs/api-paste.ini`: what a client
//! sees at each microversion boundary, in Nova's statuses and words, a
//! server created with a key pair, limits set through the API holding at
//! create and shown by `GET /limits`, and both kept across a restart on
//! a SQLite store.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_server::{registry, Overrides};
use nova_tests::{api_paste_with, assert_fault, status_and_json, TestServer, CIRROS};
use reqwest::Method;
use serde_json::{json, Value};

/// The project and user the shared token acts as.
const DEFAULT_PROJECT: &str = "6e6f76612d72732d64656661756c7400";

/// The project the quota test works in (the shared token acts for the
/// project its URL names).
const PROJECT: &str = "0123abcd0123abcd";

/// Nova's sample public key and the fingerprint Nova gives it.
const KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1HTrHCbb9NawNLSV8N6tSa8i637+EC2dA+lsdHHfQlT54t+N0nHhJPlKWDLhc579j87vp6RDFriFJ/smsTnDnf64O12z0kBaJpJPH2zXrBkZFK6q2rmxydURzX/z0yLSCP77SFJ0fdXWH2hMsAusflGyryHGX20n+mZK6mDrxVzGxEz228dwQ5G7Az5OoZDWygH2pqPvKjkifRw0jwUKf3BbkP0QvANACOk26cv16mNFpFJfI1N3OC5lUsZQtKGR01ptJoWijYKccqhkAKuo902tg/qup58J5kflNm7I61sy1mJon6SGqNUSfoQagqtBH6vd/tU1jnlwZ03uUroAL Generated-by-Nova";
const FINGERPRINT: &str = "44:fe:29:6e:23:14:b9:53:5b:65:82:58:1c:fe:5a:c3";

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.request_at(method, &format!("/v2.1{path}"), version);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.unwrap()).await
}

fn import(name: &str) -> Value {
    json!({"keypair": {"name": name, "public_key": KEY}})
}

fn server_body(name: &str, key: &str) -> Value {
    json!({"server": {"name": name, "flavorRef": "1", "imageRef": CIRROS, "key_name": key}})
}

#[tokio::test(flavor = "multi_thread")]
async fn key_pairs_are_generated_imported_listed_and_deleted_as_nova_answers() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &[("build_seconds", "0")]);
    let server = TestServer::start_config(&config).await;

    // 2.1: 200 and no type; a generated key comes with its private key.
    let (status, body) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.1",
        Some(json!({"keypair": {"name": "generated"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let generated = &body["keypair"];
    assert!(generated["private_key"]
        .as_str()
        .unwrap()
        .contains("PRIVATE KEY"));
    assert!(generated["public_key"]
        .as_str()
        .unwrap()
        .starts_with("ssh-ed25519 "));
    assert_eq!(generated.get("type"), None);

    // 2.2: 201 with type; an import keeps the key and Nova's fingerprint.
    let (status, body) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.2",
        Some(import("imported")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["keypair"]["fingerprint"], FINGERPRINT);
    assert_eq!(body["keypair"]["type"], "ssh");
    assert_eq!(body["keypair"].get("private_key"), None);

    let (status, body) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.2",
        Some(import("imported")),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        assert_fault(&body, "conflictingRequest", 409),
        "Key pair 'imported' already exists."
    );
    let (status, body) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.2",
        Some(json!({"keypair": {"name": "bad", "public_key": "ssh-rsa AAAA"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        "Keypair data is invalid: failed to generate fingerprint"
    );

    // The listing, by name; pages from 2.35.
    let (status, body) = call(&server, Method::GET, "/os-keypairs", "2.2", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["generated", "imported"]);
    let (_, page) = call(&server, Method::GET, "/os-keypairs?limit=1", "2.35", None).await;
    assert_eq!(page["keypairs"].as_array().unwrap().len(), 1);
    let next = page["keypairs_links"][0]["href"].as_str().unwrap();
    assert!(
        next.ends_with("/v2.1/os-keypairs?limit=1&marker=generated"),
        "{next}"
    );
    let (status, body) = call(
        &server,
        Method::GET,
        "/os-keypairs?marker=nope",
        "2.35",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        "Marker nope could not be found."
    );

    // Show carries Nova's database fields.
    let (status, body) = call(&server, Method::GET, "/os-keypairs/imported", "2.2", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["keypair"]["deleted"], false);
    assert_eq!(body["keypair"]["updated_at"], Value::Null);
    assert!(body["keypair"]["id"].is_i64());
    let (status, body) = call(&server, Method::GET, "/os-keypairs/missing", "2.2", None).await;
    assert_eq!(status, 404);
    assert!(
        assert_fault(&body, "itemNotFound", 404).starts_with("Keypair missing not found for user ")
    );

    // 2.92: import only, and names may hold `@` and `.`.
    let (status, _) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.92",
        Some(json!({"keypair": {"name": "gen-292"}})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.91",
        Some(import("me@example.org")),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.92",
        Some(import("me@example.org")),
    )
    .await;
    assert_eq!(status, 201);

    // A server takes an existing key pair of its user, and shows its name.
    let (status, body) = call(
        &server,
        Method::POST,
        "/servers",
        "2.1",
        Some(server_body("no-key", "missing")),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        "Invalid key_name provided."
    );
    let (status, body) = call(
        &server,
        Method::POST,
        "/servers",
        "2.1",
        Some(server_body("keyed", "imported")),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["server"]["id"].as_str().unwrap();
    let (_, shown) = call(&server, Method::GET, &format!("/servers/{id}"), "2.1", None).await;
    assert_eq!(shown["server"]["key_name"], "imported");

    // Delete: 202 at 2.1, 204 from 2.2, then 404.
    let (status, body) = call(
        &server,
        Method::DELETE,
        "/os-keypairs/generated",
        "2.1",
        None,
    )
    .await;
    assert_eq!((status, body), (202, Value::Null));
    let (status, _) = call(
        &server,
        Method::DELETE,
        "/os-keypairs/imported",
        "2.2",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &server,
        Method::DELETE,
        "/os-keypairs/imported",
        "2.2",
        None,
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_sets_are_shown_set_and_deleted_and_hold_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &[("build_seconds", "0")]);
    let server = TestServer::start_config(&config).await;
    // A project of its own: the default one holds the seed's instances.
    let p = format!("/{PROJECT}");
    let path = format!("{p}/os-quota-sets/{PROJECT}");

    let (status, body) = call(&server, Method::GET, &path, "2.1", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["quota_set"]["id"], PROJECT);
    assert_eq!(body["quota_set"]["security_groups"], -1);
    assert_eq!(body["quota_set"]["injected_files"], 5);
    let (_, body) = call(&server, Method::GET, &path, "2.36", None).await;
    assert_eq!(body["quota_set"].get("security_groups"), None);
    assert_eq!(body["quota_set"]["injected_files"], 5);
    let (_, body) = call(&server, Method::GET, &path, "2.57", None).await;
    assert_eq!(body["quota_set"].get("injected_files"), None);
    assert_eq!(body["quota_set"].as_object().unwrap().len(), 8);

    let (status, body) = call(
        &server,
        Method::PUT,
        &path,
        "2.57",
        Some(json!({"quota_set": {"instances": 1, "key_pairs": 1}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["quota_set"]["instances"], 1);
    assert_eq!(body["quota_set"].get("id"), None);
    let (_, limits) = call(&server, Method::GET, &format!("{p}/limits"), "2.57", None).await;
    assert_eq!(limits["limits"]["absolute"]["maxTotalInstances"], 1);
    assert_eq!(limits["limits"]["absolute"]["maxTotalKeypairs"], 1);
    let (_, defaults) = call(
        &server,
        Method::GET,
        &format!("{path}/defaults"),
        "2.57",
        None,
    )
    .await;
    assert_eq!(defaults["quota_set"]["instances"], 10);

    // The limits hold: one key pair, one server.
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{p}/os-keypairs"),
        "2.2",
        Some(import("one")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("{p}/os-keypairs"),
        "2.2",
        Some(import("two")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        assert_fault(&body, "forbidden", 403),
        "Quota exceeded, too many key pairs."
    );
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{p}/servers"),
        "2.1",
        Some(server_body("a", "one")),
    )
    .await;
    assert_eq!(status, 202);
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("{p}/servers"),
        "2.1",
        Some(server_body("b", "one")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        assert_fault(&body, "forbidden", 403),
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
    );

    // Detail counts what is in use; a limit below it is refused.
    let (_, detail) = call(
        &server,
        Method::GET,
        &format!("{path}/detail"),
        "2.57",
        None,
    )
    .await;
    assert_eq!(
        detail["quota_set"]["instances"],
        json!({"limit": 1, "in_use": 1, "reserved": 0})
    );
    assert_eq!(detail["quota_set"]["ram"]["in_use"], 512);
    let (status, body) = call(
        &server,
        Method::PUT,
        &path,
        "2.57",
        Some(json!({"quota_set": {"instances": 0}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        "Quota limit 0 for instances must be greater than or equal to already used and reserved 1."
    );
    let (status, body) = call(
        &server,
        Method::PUT,
        &path,
        "2.57",
        Some(json!({"quota_set": {"floating_ips": 1}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Delete: back to the defaults.
    let (status, body) = call(&server, Method::DELETE, &path, "2.57", None).await;
    assert_eq!((status, body), (202, Value::Null));
    let (_, body) = call(&server, Method::GET, &path, "2.57", None).await;
    assert_eq!(body["quota_set"]["instances"], 10);
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{p}/servers"),
        "2.1",
        Some(server_body("b", "one")),
    )
    .await;
    assert_eq!(status, 202);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_pairs_and_quota_limits_survive_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &[("build_seconds", "0")]);
    let overrides = Overrides {
        store: Some(format!("sqlite:{}", dir.path().join("nova.db").display())),
        ..Overrides::default()
    };
    let path = format!("/os-quota-sets/{DEFAULT_PROJECT}");
    let server = TestServer::start_config_with(&config, &registry(&overrides)).await;
    let (status, _) = call(
        &server,
        Method::POST,
        "/os-keypairs",
        "2.2",
        Some(import("kept")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &server,
        Method::PUT,
        &path,
        "2.57",
        Some(json!({"quota_set": {"cores": 7}})),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;

    let server = TestServer::start_config_with(&config, &registry(&overrides)).await;
    let (status, body) = call(&server, Method::GET, "/os-keypairs/kept", "2.2", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["keypair"]["fingerprint"], FINGERPRINT);
    let (_, body) = call(&server, Method::GET, &path, "2.57", None).await;
    assert_eq!(body["quota_set"]["cores"], 7);
    server.stop().await;
}
