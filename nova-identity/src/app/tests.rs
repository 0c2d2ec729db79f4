//! The identity API's routes, called in memory: each one's success and
//! failure, tokens through their life (issue, validate, rescope, expire,
//! revoke) and the catalog's URLs.

use std::sync::{Arc, OnceLock};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use super::*;
use crate::ManualClock;

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// devstack's defaults, built once: hashing passwords is slow by design.
fn shared_identity() -> &'static Identity {
    static IDENTITY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get_or_init(|| Identity::from_config(&|_| None).unwrap())
}

/// The shared model with `public_url` set as given.
fn identity_with(public_url: Option<&str>) -> Arc<Identity> {
    let shared = shared_identity();
    Arc::new(Identity {
        directory: shared.directory.clone(),
        keys: shared.keys.clone(),
        token_expiration: shared.token_expiration,
        public_url: public_url.map(str::to_owned),
    })
}

struct Fixture {
    app: IdentityApp,
    clock: Arc<ManualClock>,
    store: Arc<MemoryTokenStore>,
}

fn fixture_with(public_url: Option<&str>) -> Fixture {
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(START).unwrap()));
    let store = Arc::new(MemoryTokenStore::new());
    let app = IdentityApp::with_parts(identity_with(public_url), clock.clone(), store.clone());
    Fixture { app, clock, store }
}

fn fixture() -> Fixture {
    fixture_with(None)
}

impl Fixture {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "cloud.example");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut req = req.body(Bytes::from(body.to_owned())).unwrap();
        req.extensions_mut().insert(ScriptName::new("/identity"));
        self.app.call(req).await.unwrap()
    }

    async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, &[("x-auth-token", token)], "")
            .await
    }

    async fn authenticate(&self, body: Value) -> Response {
        self.send(Method::POST, "/v3/auth/tokens", &[], &body.to_string())
            .await
    }

    /// A token for `user`'s password, scoped as `scope` says.
    async fn token(&self, user: &str, scope: Value) -> String {
        let response = self
            .authenticate(password_auth(user, "open-sesame", scope))
            .await;
        assert_eq!(response.status(), 201, "{}", text(&response));
        response.headers()[SUBJECT_TOKEN_HEADER]
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn user_id(&self, name: &str) -> String {
        self.app
            .identity()
            .directory()
            .user_by_name(name, "default")
            .unwrap()
            .id
            .clone()
    }

    fn project_id(&self, name: &str) -> String {
        self.app
            .identity()
            .directory()
            .project_by_name(name, "default")
            .unwrap()
            .id
            .clone()
    }
}

fn password_auth(user: &str, password: &str, scope: Value) -> Value {
    let mut auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}});
    if !scope.is_null() {
        auth["auth"]["scope"] = scope;
    }
    auth
}

fn project_scope(name: &str) -> Value {
    json!({"project": {"name": name, "domain": {"id": "default"}}})
}

fn text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn assert_error(response: &Response, code: u16, title: &str) -> String {
    assert_eq!(response.status(), code, "{}", text(response));
    let body = body(response);
    assert_eq!(body["error"]["code"], code);
    assert_eq!(body["error"]["title"], title);
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_root_answers_300_with_the_versions_document_under_the_mount_point() {
    let f = fixture();
    let response = f.send(Method::GET, "/", &[], "").await;
    assert_eq!(response.status(), 300);
    let version = &body(&response)["versions"]["values"][0];
    assert_eq!(version["id"], "v3.14");
    assert_eq!(version["status"], "stable");
    assert_eq!(
        version["links"][0]["href"],
        "http://cloud.example/identity/v3/"
    );
    assert_eq!(
        version["media-types"][0]["type"],
        "application/vnd.openstack.identity-v3+json"
    );
}

#[tokio::test]
async fn v3_answers_its_version_document_with_or_without_a_slash() {
    let f = fixture();
    for path in ["/v3", "/v3/"] {
        let response = f.send(Method::GET, path, &[], "").await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(body(&response)["version"]["id"], "v3.14");
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_get_keystone_errors() {
    let f = fixture();
    let response = f.send(Method::GET, "/v3/nothing", &[], "").await;
    assert_error(&response, 404, "Not Found");
    let response = f.send(Method::PUT, "/v3/auth/tokens", &[], "").await;
    assert_error(&response, 405, "Method Not Allowed");
    assert_eq!(response.headers()["allow"], "DELETE, GET, HEAD, POST");
}

#[tokio::test]
async fn a_password_gets_a_project_scoped_token_with_roles_and_catalog() {
    let f = fixture();
    let response = f
        .authenticate(password_auth(
            "admin",
            "open-sesame",
            project_scope("admin"),
        ))
        .await;
    assert_eq!(response.status(), 201, "{}", text(&response));
    let token = response.headers()[SUBJECT_TOKEN_HEADER].to_str().unwrap();
    assert!(token.starts_with("gAAAAA"), "a Fernet token: {token}");
    let token = &body(&response)["token"];
    assert_eq!(token["methods"], json!(["password"]));
    assert_eq!(
        token["user"],
        json!({"id": f.user_id("admin"), "name": "admin",
               "domain": {"id": "default", "name": "Default"}, "password_expires_at": null})
    );
    assert_eq!(
        token["project"],
        json!({"id": f.project_id("admin"), "name": "admin",
               "domain": {"id": "default", "name": "Default"}})
    );
    assert_eq!(token["is_domain"], false);
    let roles: Vec<&str> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["admin", "member", "reader"]);
    assert_eq!(token["issued_at"], "2026-01-01T00:00:00.000000Z");
    assert_eq!(token["expires_at"], "2026-01-01T01:00:00.000000Z");
    assert_eq!(token["audit_ids"].as_array().unwrap().len(), 1);
    let catalog = token["catalog"].as_array().unwrap();
    let types: Vec<&str> = catalog
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["compute", "identity", "image"]);
    // No public_url: endpoints are built from the request's Host.
    assert_eq!(
        catalog[0]["endpoints"][0]["url"],
        "http://cloud.example/v2.1"
    );
}

#[tokio::test]
async fn a_user_id_and_a_project_id_work_as_well_as_names() {
    let f = fixture();
    let body_ = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": f.user_id("demo"), "password": "open-sesame"}}},
        "scope": {"project": {"id": f.project_id("demo")}}}});
    let response = f.authenticate(body_).await;
    assert_eq!(response.status(), 201, "{}", text(&response));
    assert_eq!(body(&response)["token"]["project"]["name"], "demo");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401_with_keystones_message() {
    let f = fixture();
    for auth in [
        password_auth("demo", "wrong", Value::Null),
        password_auth("nobody", "open-sesame", Value::Null),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"name": "Elsewhere"}, "password": "open-sesame"}}}}}),
    ] {
        let response = f.authenticate(auth).await;
        let message = assert_error(&response, 401, "Unauthorized");
        assert_eq!(
            message,
            "The request you have made requires authentication."
        );
        assert_eq!(
            response.headers()["www-authenticate"],
            "Keystone uri=\"http://cloud.example/identity\""
        );
        assert!(
            !text(&response).contains("wrong"),
            "the password is never echoed"
        );
    }
}

#[tokio::test]
async fn a_malformed_body_is_400() {
    let f = fixture();
    let cases = [
        "not json".to_owned(),
        json!({}).to_string(),
        json!({"auth": {}}).to_string(),
        json!({"auth": {"identity": {"methods": []}}}).to_string(),
        json!({"auth": {"identity": {"methods": ["password"]}}}).to_string(),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "password": "x"}}}}}).to_string(),
        password_auth("demo", "open-sesame", json!(["project"])).to_string(),
    ];
    for case in cases {
        let response = f.send(Method::POST, "/v3/auth/tokens", &[], &case).await;
        assert_error(&response, 400, "Bad Request");
    }
}

#[tokio::test]
async fn no_scope_means_the_default_project_and_unscoped_means_none() {
    let f = fixture();
    let response = f
        .authenticate(password_auth("demo", "open-sesame", Value::Null))
        .await;
    assert_eq!(body(&response)["token"]["project"]["name"], "demo");

    let response = f
        .authenticate(password_auth("demo", "open-sesame", json!("unscoped")))
        .await;
    assert_eq!(response.status(), 201);
    let token = &body(&response)["token"];
    assert!(token.get("project").is_none());
    assert!(token.get("catalog").is_none());
    assert!(token.get("roles").is_none());
}

#[tokio::test]
async fn a_domain_scope_is_for_the_domains_admin_only() {
    let f = fixture();
    let scope = json!({"domain": {"name": "Default"}});
    let response = f
        .authenticate(password_auth("admin", "open-sesame", scope.clone()))
        .await;
    assert_eq!(response.status(), 201, "{}", text(&response));
    let token = &body(&response)["token"];
    assert_eq!(token["domain"], json!({"id": "default", "name": "Default"}));
    assert!(token.get("project").is_none());
    assert!(token["catalog"].is_array());

    let response = f
        .authenticate(password_auth("demo", "open-sesame", scope))
        .await;
    assert_error(&response, 401, "Unauthorized");
}

#[tokio::test]
async fn a_project_without_a_role_or_unknown_is_401() {
    let f = fixture();
    for scope in [
        project_scope("admin"),
        project_scope("nothing"),
        json!({"project": {"id": "0123"}}),
        json!({"system": {"all": true}}),
    ] {
        let response = f
            .authenticate(password_auth("demo", "open-sesame", scope))
            .await;
        assert_error(&response, 401, "Unauthorized");
    }
}

#[tokio::test]
async fn a_token_rescopes_keeping_its_expiry_and_audit_chain() {
    let f = fixture();
    let unscoped = f.token("demo", json!("unscoped")).await;
    let first = f.app.validate(&unscoped).await.unwrap();
    f.clock.advance(SignedDuration::from_secs(600));
    let response = f
        .authenticate(json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": project_scope("demo")}}))
        .await;
    assert_eq!(response.status(), 201, "{}", text(&response));
    let token = &body(&response)["token"];
    assert_eq!(token["methods"], json!(["token", "password"]));
    assert_eq!(token["project"]["name"], "demo");
    assert_eq!(token["expires_at"], "2026-01-01T01:00:00.000000Z");
    assert_eq!(token["issued_at"], "2026-01-01T00:10:00.000000Z");
    assert_eq!(token["audit_ids"][1], first.audit_id());
    assert_ne!(token["audit_ids"][0], first.audit_id());

    // Rescoping does not widen access, and a bad token does not rescope.
    let response = f
        .authenticate(json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": project_scope("alt_demo")}}))
        .await;
    assert_error(&response, 401, "Unauthorized");
    let response = f
        .authenticate(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "bogus"}}}}),
        )
        .await;
    assert_error(&response, 401, "Unauthorized");
}

#[tokio::test]
async fn get_validates_a_subject_token_for_its_owner_or_an_admin() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let alt = f.token("alt_demo", Value::Null).await;
    let admin = f.token("admin", Value::Null).await;

    let headers = [
        ("x-auth-token", demo.as_str()),
        ("x-subject-token", demo.as_str()),
    ];
    let response = f.send(Method::GET, "/v3/auth/tokens", &headers, "").await;
    assert_eq!(response.status(), 200, "{}", text(&response));
    assert_eq!(response.headers()[SUBJECT_TOKEN_HEADER], demo.as_str());
    assert_eq!(body(&response)["token"]["user"]["name"], "demo");

    let response = f.send(Method::HEAD, "/v3/auth/tokens", &headers, "").await;
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());

    let response = f
        .send(
            Method::GET,
            "/v3/auth/tokens?nocatalog",
            &[("x-auth-token", &admin), ("x-subject-token", &demo)],
            "",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(body(&response)["token"].get("catalog").is_none());

    let response = f
        .send(
            Method::GET,
            "/v3/auth/tokens",
            &[("x-auth-token", &alt), ("x-subject-token", &demo)],
            "",
        )
        .await;
    assert_error(&response, 403, "Forbidden");
}

#[tokio::test]
async fn an_invalid_subject_token_is_404_and_a_missing_caller_401() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let response = f
        .send(
            Method::GET,
            "/v3/auth/tokens",
            &[("x-auth-token", &demo), ("x-subject-token", "garbage")],
            "",
        )
        .await;
    let message = assert_error(&response, 404, "Not Found");
    assert_eq!(message, "Could not find token: garbage.");

    let response = f
        .send(
            Method::GET,
            "/v3/auth/tokens",
            &[("x-subject-token", &demo)],
            "",
        )
        .await;
    assert_error(&response, 401, "Unauthorized");
    let response = f
        .send(
            Method::GET,
            "/v3/auth/tokens",
            &[("x-auth-token", &demo)],
            "",
        )
        .await;
    assert_error(&response, 400, "Bad Request");
}

#[tokio::test]
async fn a_token_expires_when_the_clock_passes_its_expiry() {
    let f = fixture();
    let token = f.token("demo", Value::Null).await;
    f.clock.advance(SignedDuration::from_secs(3599));
    assert!(f.app.validate(&token).await.is_ok());
    f.clock.advance(SignedDuration::from_secs(1));
    assert!(matches!(
        f.app.validate(&token).await,
        Err(TokenError::Expired { .. })
    ));

    let fresh = f.token("demo", Value::Null).await;
    let headers = [
        ("x-auth-token", fresh.as_str()),
        ("x-subject-token", token.as_str()),
    ];
    let response = f.send(Method::GET, "/v3/auth/tokens", &headers, "").await;
    assert_error(&response, 404, "Not Found");
    let response = f.get("/v3/auth/projects", &token).await;
    assert_error(&response, 401, "Unauthorized");
}

#[tokio::test]
async fn delete_revokes_the_subject_token_only() {
    let f = fixture();
    let first = f.token("demo", Value::Null).await;
    let second = f.token("demo", Value::Null).await;
    let headers = [
        ("x-auth-token", second.as_str()),
        ("x-subject-token", first.as_str()),
    ];
    let response = f
        .send(Method::DELETE, "/v3/auth/tokens", &headers, "")
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(f.app.validate(&first).await, Err(TokenError::Revoked));
    assert!(f.app.validate(&second).await.is_ok());

    let response = f
        .send(Method::DELETE, "/v3/auth/tokens", &headers, "")
        .await;
    assert_error(&response, 404, "Not Found");
    let response = f.send(Method::GET, "/v3/auth/tokens", &headers, "").await;
    assert_error(&response, 404, "Not Found");
    // Someone else's token is not theirs to revoke.
    let alt = f.token("alt_demo", Value::Null).await;
    let response = f
        .send(
            Method::DELETE,
            "/v3/auth/tokens",
            &[("x-auth-token", &alt), ("x-subject-token", &second)],
            "",
        )
        .await;
    assert_error(&response, 403, "Forbidden");
}

#[tokio::test]
async fn tokens_survive_a_restart_on_the_same_store_and_no_other() {
    let f = fixture();
    let token = f.token("demo", Value::Null).await;
    let restarted = IdentityApp::with_parts(identity_with(None), f.clock.clone(), f.store.clone());
    let validated = restarted.validate(&token).await.unwrap();
    let context = validated.request_context().unwrap();
    assert_eq!(context.user_id, f.user_id("demo"));
    assert_eq!(context.project_id, f.project_id("demo"));
    assert_eq!(context.roles, ["member", "reader"]);
    assert!(!context.is_admin());

    let elsewhere = IdentityApp::with_parts(
        identity_with(None),
        f.clock.clone(),
        Arc::new(MemoryTokenStore::new()),
    );
    assert_eq!(
        elsewhere.validate(&token).await,
        Err(TokenError::Malformed),
        "another store's key does not open it"
    );
}

#[tokio::test]
async fn configured_keys_open_tokens_whatever_the_store() {
    let key = TokenKeys::generate_key();
    let configured = |store: Arc<MemoryTokenStore>| {
        let shared = shared_identity();
        let identity = Arc::new(Identity {
            directory: shared.directory.clone(),
            keys: TokenKeys::new(std::slice::from_ref(&key)),
            token_expiration: shared.token_expiration,
            public_url: None,
        });
        let clock = Arc::new(ManualClock::new(Timestamp::from_second(START).unwrap()));
        IdentityApp::with_parts(identity, clock, store)
    };
    let first = Fixture {
        app: configured(Arc::new(MemoryTokenStore::new())),
        clock: Arc::new(ManualClock::new(Timestamp::from_second(START).unwrap())),
        store: Arc::new(MemoryTokenStore::new()),
    };
    let token = first.token("demo", Value::Null).await;
    let other = configured(Arc::new(MemoryTokenStore::new()));
    assert!(other.validate(&token).await.is_ok());
}

#[tokio::test]
async fn a_store_that_fails_makes_validation_unavailable_not_invalid() {
    struct Broken;
    impl TokenStore for Broken {
        fn token_keys(&self) -> crate::TokenStoreFuture<'_, Vec<String>> {
            Box::pin(std::future::ready(Err(crate::TokenStoreError(
                "connection refused".to_owned(),
            ))))
        }
        fn revoke_token<'a>(&'a self, _: &'a str, _: Timestamp) -> crate::TokenStoreFuture<'a, ()> {
            Box::pin(std::future::ready(Ok(())))
        }
        fn is_token_revoked<'a>(&'a self, _: &'a str) -> crate::TokenStoreFuture<'a, bool> {
            Box::pin(std::future::ready(Ok(false)))
        }
        fn forget_expired_revocations(&self, _: Timestamp) -> crate::TokenStoreFuture<'_, ()> {
            Box::pin(std::future::ready(Ok(())))
        }
    }
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(START).unwrap()));
    let app = IdentityApp::with_parts(identity_with(None), clock.clone(), Arc::new(Broken));
    let f = Fixture {
        app,
        clock,
        store: Arc::new(MemoryTokenStore::new()),
    };
    let response = f
        .authenticate(
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": "open-sesame"}}}}}),
        )
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body["error"]["message"],
        "The service is temporarily unavailable."
    );
    assert!(!String::from_utf8_lossy(response.body()).contains("connection refused"));
    assert_eq!(
        f.app.validate("anything").await,
        Err(TokenError::Unavailable)
    );
}

#[tokio::test]
async fn auth_projects_lists_the_callers_projects() {
    let f = fixture();
    let demo = f.token("demo", json!("unscoped")).await;
    let response = f.get("/v3/auth/projects", &demo).await;
    assert_eq!(response.status(), 200);
    let body = body(&response);
    let projects = body["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0]["name"], "demo");
    assert_eq!(
        projects[0]["links"]["self"],
        format!(
            "http://cloud.example/identity/v3/projects/{}",
            f.project_id("demo")
        )
    );
    assert_eq!(
        body["links"]["self"],
        "http://cloud.example/identity/v3/auth/projects"
    );
    assert_error(
        &f.get("/v3/auth/projects", "nope").await,
        401,
        "Unauthorized",
    );
}

#[tokio::test]
async fn auth_catalog_uses_public_url_and_needs_a_scoped_token() {
    let f = fixture_with(Some("https://api.example:8443"));
    let scoped = f.token("demo", Value::Null).await;
    let response = f.get("/v3/auth/catalog", &scoped).await;
    assert_eq!(response.status(), 200, "{}", text(&response));
    let catalog = body(&response)["catalog"].clone();
    assert_eq!(catalog[1]["name"], "keystone");
    assert_eq!(
        catalog[1]["endpoints"][0]["url"],
        "https://api.example:8443/identity"
    );
    assert_eq!(catalog[2]["endpoints"][1]["interface"], "internal");
    assert_eq!(
        catalog[2]["endpoints"][1]["url"],
        "https://api.example:8443/image"
    );

    let unscoped = f.token("demo", json!("unscoped")).await;
    assert_error(
        &f.get("/v3/auth/catalog", &unscoped).await,
        403,
        "Forbidden",
    );
}

#[tokio::test]
async fn a_user_is_shown_to_itself_and_admins_only() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let admin = f.token("admin", Value::Null).await;
    let path = format!("/v3/users/{}", f.user_id("demo"));
    let response = f.get(&path, &demo).await;
    assert_eq!(response.status(), 200);
    let user = body(&response)["user"].clone();
    assert_eq!(user["name"], "demo");
    assert_eq!(user["domain_id"], "default");
    assert_eq!(user["default_project_id"], f.project_id("demo"));
    assert!(
        !response.body().windows(6).any(|w| w == b"argon2"),
        "no hash shown"
    );

    assert_eq!(f.get(&path, &admin).await.status(), 200);
    let other = format!("/v3/users/{}", f.user_id("admin"));
    assert_error(&f.get(&other, &demo).await, 403, "Forbidden");
    let message = assert_error(&f.get("/v3/users/unknown", &admin).await, 404, "Not Found");
    assert_eq!(message, "Could not find user: unknown.");
}

#[tokio::test]
async fn a_users_projects_are_listed_for_itself_and_admins() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let admin = f.token("admin", Value::Null).await;
    let path = format!("/v3/users/{}/projects", f.user_id("demo"));
    let response = f.get(&path, &demo).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["projects"][0]["name"], "demo");
    let other = format!("/v3/users/{}/projects", f.user_id("alt_demo"));
    assert_error(&f.get(&other, &demo).await, 403, "Forbidden");
    assert_eq!(f.get(&other, &admin).await.status(), 200);
    assert_error(
        &f.get("/v3/users/unknown/projects", &admin).await,
        404,
        "Not Found",
    );
}

#[tokio::test]
async fn every_project_is_listed_for_an_admin_only() {
    let f = fixture();
    let admin = f.token("admin", Value::Null).await;
    let response = f.get("/v3/projects", &admin).await;
    assert_eq!(response.status(), 200);
    let names: Vec<String> = body(&response)["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "demo", "alt_demo"]);
    let demo = f.token("demo", Value::Null).await;
    let message = assert_error(&f.get("/v3/projects", &demo).await, 403, "Forbidden");
    assert_eq!(
        message,
        "You are not authorized to perform the requested action: identity:list_projects."
    );
}

#[tokio::test]
async fn a_project_is_shown_to_tokens_scoped_to_it_and_admins() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let admin = f.token("admin", Value::Null).await;
    let own = format!("/v3/projects/{}", f.project_id("demo"));
    let response = f.get(&own, &demo).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["project"]["name"], "demo");
    let other = format!("/v3/projects/{}", f.project_id("alt_demo"));
    assert_error(&f.get(&other, &demo).await, 403, "Forbidden");
    assert_eq!(f.get(&other, &admin).await.status(), 200);
    let message = assert_error(
        &f.get("/v3/projects/nothing", &admin).await,
        404,
        "Not Found",
    );
    assert_eq!(message, "Could not find project: nothing.");
}

#[tokio::test]
async fn a_domain_is_shown_to_tokens_in_it_and_admins() {
    let f = fixture();
    let demo = f.token("demo", Value::Null).await;
    let admin = f.token("admin", Value::Null).await;
    let response = f.get("/v3/domains/default", &demo).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["domain"]["name"], "Default");
    let unscoped = f.token("demo", json!("unscoped")).await;
    assert_error(
        &f.get("/v3/domains/default", &unscoped).await,
        403,
        "Forbidden",
    );
    assert_error(&f.get("/v3/domains/other", &admin).await, 404, "Not Found");
}

#[tokio::test]
async fn roles_are_listed_for_an_admin_only() {
    let f = fixture();
    let admin = f.token("admin", Value::Null).await;
    let response = f.get("/v3/roles", &admin).await;
    assert_eq!(response.status(), 200);
    let names: Vec<&str> = ROLES.to_vec();
    let body = body(&response);
    let listed: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    let demo = f.token("demo", Value::Null).await;
    assert_error(&f.get("/v3/roles", &demo).await, 403, "Forbidden");
}

const ROLES: [&str; 3] = crate::ROLE_NAMES;
