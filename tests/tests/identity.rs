//! Identity end to end, over HTTP, with the shipped `api-paste.ini`: the
//! identity service's documents, every way a token is refused by the
//! compute API's token filter (and what the refusal looks like), and
//! per-project isolation with Keystone tokens: what another project, an
//! admin and a reader see and may do. One server serves the whole file;
//! the expiry test starts its own with one-second tokens.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_tests::{api_paste_with_sections, assert_fault, status_and_json, TestServer, CIRROS};
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "open-sesame";
const UNAUTHORIZED: &str = "The request you have made requires authentication.";

/// The shipped file with quick builds, a quota of 2 servers a project,
/// and a `viewer` user who is only a reader in project `demo`.
async fn cloud(dir: &std::path::Path, identity: &[(&str, &str)]) -> TestServer {
    let mut identity_keys = vec![(
        "users",
        "admin:admin:admin, demo:demo:member, alt_demo:alt_demo:member, viewer:demo:reader",
    )];
    identity_keys.extend_from_slice(identity);
    let config = api_paste_with_sections(
        dir,
        &[
            (
                "[app:osapi_compute_app_v21]",
                &[("build_seconds", "0"), ("quota_instances", "2")],
            ),
            ("[app:identity]", &identity_keys),
        ],
    );
    TestServer::start_config(&config).await
}

/// Asks for a token: `scope` is the auth request's `scope`.
async fn authenticate(server: &TestServer, user: &str, scope: Value) -> reqwest::Response {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}}});
    if !scope.is_null() {
        auth["scope"] = scope;
    }
    reqwest::Client::new()
        .post(server.url("/identity/v3/auth/tokens"))
        .json(&json!({ "auth": auth }))
        .send()
        .await
        .unwrap()
}

/// A token of `user` scoped to `project`.
async fn token_for(server: &TestServer, user: &str, project: &str) -> String {
    let scope = json!({"project": {"name": project, "domain": {"id": "default"}}});
    let response = authenticate(server, user, scope).await;
    assert_eq!(response.status(), 201);
    response.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A token of `user` scoped to its own project, and that project's id.
async fn login(server: &TestServer, user: &str) -> (String, String) {
    let token = token_for(server, user, user).await;
    let response = reqwest::Client::new()
        .get(server.url("/identity/v3/auth/tokens"))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    let project = body["token"]["project"]["id"].as_str().unwrap().to_owned();
    (token, project)
}

/// A compute request at microversion 2.37 with `token` (none if empty).
fn compute(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    let request = reqwest::Client::new()
        .request(method, server.url(&format!("/v2.1{path}")))
        .header("OpenStack-API-Version", "compute 2.37");
    if token.is_empty() {
        request
    } else {
        request.header("X-Auth-Token", token)
    }
}

async fn create(server: &TestServer, token: &str, name: &str) -> (u16, Value) {
    let body =
        json!({"server": {"name": name, "flavorRef": "1", "imageRef": CIRROS, "networks": "none"}});
    status_and_json(
        compute(server, Method::POST, "/servers", token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn names(server: &TestServer, path: &str, token: &str) -> Vec<String> {
    let response = compute(server, Method::GET, path, token)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{path}: {body}");
    let mut names: Vec<String> = body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// keystonemiddleware's 401, naming this server's identity service.
async fn assert_unauthorized(server: &TestServer, response: reqwest::Response, why: &str) {
    assert_eq!(response.status(), 401, "{why}");
    assert_eq!(
        response.headers()["www-authenticate"],
        format!("Keystone uri=\"{}\"", server.url("/identity")).as_str(),
        "{why}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": 401, "title": "Unauthorized", "message": UNAUTHORIZED}}),
        "{why}"
    );
}

#[tokio::test]
async fn identity_tokens_scope_every_compute_request_to_a_project() {
    let dir = tempfile::tempdir().unwrap();
    let server = cloud(dir.path(), &[]).await;
    let client = reqwest::Client::new();

    // The documents answer without a token.
    let versions = client.get(server.url("/identity")).send().await.unwrap();
    let (status, body) = status_and_json(versions).await;
    assert_eq!(status, 300);
    assert_eq!(body["versions"]["values"][0]["id"], "v3.14");
    let v3 = client.get(server.url("/identity/v3")).send().await.unwrap();
    let (status, body) = status_and_json(v3).await;
    assert_eq!(
        (status, &body["version"]["status"]),
        (200, &json!("stable"))
    );

    // A wrong password and an unknown user: the same 401.
    for user in ["demo", "nobody"] {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": "wrong"}}}}});
        let response = client
            .post(server.url("/identity/v3/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_unauthorized(&server, response, user).await;
    }

    let (demo, demo_project) = login(&server, "demo").await;
    let (alt, alt_project) = login(&server, "alt_demo").await;
    let (admin, _) = login(&server, "admin").await;

    // Every way a token is refused.
    let unscoped = authenticate(&server, "demo", json!("unscoped")).await;
    let unscoped = unscoped.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let domain_scoped = authenticate(&server, "admin", json!({"domain": {"id": "default"}})).await;
    assert_eq!(domain_scoped.status(), 201);
    let domain_scoped = domain_scoped.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut tampered = demo.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (why, tokens) in [
        ("no token", vec![]),
        ("an empty token", vec![""]),
        ("two tokens", vec![demo.as_str(), demo.as_str()]),
        ("not a token", vec!["gAAAAABnot-a-token"]),
        ("a tampered token", vec![tampered.as_str()]),
        ("an unscoped token", vec![unscoped.as_str()]),
        ("a domain-scoped token", vec![domain_scoped.as_str()]),
    ] {
        let mut request = client.get(server.url("/v2.1/servers"));
        for token in tokens {
            request = request.header("X-Auth-Token", token);
        }
        assert_unauthorized(&server, request.send().await.unwrap(), why).await;
    }
    // The image service is behind the same filter.
    let images = client
        .get(server.url("/image/v2/images"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(&server, images, "image service").await;
    let images = client
        .get(server.url("/image/v2/images"))
        .header("X-Auth-Token", &demo)
        .send()
        .await
        .unwrap();
    assert_eq!(images.status(), 200);

    // A project's servers are its own; forged identity headers change nothing.
    let (status, body) = create(&server, &demo, "demo-1").await;
    assert_eq!(status, 202, "{body}");
    let demo_server = body["server"]["id"].as_str().unwrap().to_owned();
    let forged = compute(&server, Method::POST, "/servers", &alt)
        .header("X-Project-Id", &demo_project)
        .header("X-Roles", "admin")
        .json(&json!({"server": {"name": "alt-1", "flavorRef": "1", "imageRef": CIRROS, "networks": "none"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 202);
    assert_eq!(names(&server, "/servers", &demo).await, ["demo-1"]);
    assert_eq!(names(&server, "/servers", &alt).await, ["alt-1"]);
    let shown = compute(
        &server,
        Method::GET,
        &format!("/servers/{demo_server}"),
        &demo,
    )
    .send()
    .await
    .unwrap();
    let (status, body) = status_and_json(shown).await;
    assert_eq!(status, 200);
    assert_eq!(body["server"]["tenant_id"], demo_project.as_str());
    assert_eq!(
        body["server"]["user_id"].as_str().map(str::len),
        Some(32),
        "{body}"
    );
    for (method, path, body) in [
        (Method::GET, format!("/servers/{demo_server}"), None),
        (
            Method::GET,
            format!("/servers/{demo_server}/metadata"),
            None,
        ),
        (
            Method::POST,
            format!("/servers/{demo_server}/action"),
            Some(json!({"os-stop": null})),
        ),
        (Method::DELETE, format!("/servers/{demo_server}"), None),
    ] {
        let mut request = compute(&server, method.clone(), &path, &alt);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 404, "{method} {path} as another project: {body}");
        assert_eq!(
            assert_fault(&body, "itemNotFound", 404),
            format!("Instance {demo_server} could not be found.")
        );
    }

    // Admins list every project's, and filter by project; others may not.
    let all = names(&server, "/servers?all_tenants=1", &admin).await;
    for name in ["demo-1", "alt-1", "inst-0"] {
        assert!(all.iter().any(|n| n == name), "{name} in {all:?}");
    }
    let only_alt = names(
        &server,
        &format!("/servers/detail?all_tenants=1&project_id={alt_project}"),
        &admin,
    )
    .await;
    assert_eq!(only_alt, ["alt-1"]);
    let refused = compute(&server, Method::GET, "/servers/detail?all_tenants=1", &demo)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 403);
    assert_eq!(
        assert_fault(&body, "forbidden", 403),
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed."
    );

    // A URL naming another project than the token's.
    let response = reqwest::Client::new()
        .get(server.url(&format!("/v2.1/{alt_project}/servers")))
        .header("X-Auth-Token", &demo)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        format!("Malformed request URL: URL's project_id '{alt_project}' doesn't match Context's project_id '{demo_project}'")
    );
    let own = reqwest::Client::new()
        .get(server.url(&format!("/v2.1/{demo_project}/servers")))
        .header("X-Auth-Token", &demo)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    // Quotas are counted per project: demo's second server fits, its third
    // does not, and alt's servers are not counted against demo.
    assert_eq!(create(&server, &demo, "demo-2").await.0, 202);
    let (status, body) = create(&server, &demo, "demo-3").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        assert_fault(&body, "forbidden", 403).contains("already used 2 of 2 instances"),
        "{body}"
    );
    assert_eq!(create(&server, &alt, "alt-2").await.0, 202);

    // A reader of demo's project sees its servers but may not change them.
    let viewer = token_for(&server, "viewer", "demo").await;
    assert_eq!(
        names(&server, "/servers", &viewer).await,
        ["demo-1", "demo-2"]
    );
    let (status, body) = create(&server, &viewer, "viewer-1").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        assert_fault(&body, "forbidden", 403),
        "Policy doesn't allow os_compute_api:servers:create to be performed."
    );

    // The shared token still works, as the default project's admin.
    let shared = names(&server, "/servers", "open-sesame").await;
    assert_eq!(shared, ["inst-0", "inst-1", "inst-2"]);

    // A revoked token is refused at once.
    let revoked = client
        .delete(server.url("/identity/v3/auth/tokens"))
        .header("X-Auth-Token", &alt)
        .header("X-Subject-Token", &alt)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = compute(&server, Method::GET, "/servers", &alt)
        .send()
        .await
        .unwrap();
    assert_unauthorized(&server, refused, "a revoked token").await;
    server.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = cloud(dir.path(), &[("token_expiration", "3")]).await;
    let token = token_for(&server, "demo", "demo").await;
    let fresh = compute(&server, Method::GET, "/servers", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    // Tokens carry whole seconds: a 3-second token lives between 2 and 3
    // seconds, so it is good at once and gone 4 seconds later.
    tokio::time::sleep(std::time::Duration::from_millis(4_100)).await;
    let stale = compute(&server, Method::GET, "/servers", &token)
        .send()
        .await
        .unwrap();
    assert_unauthorized(&server, stale, "an expired token").await;
    server.stop().await;
}
