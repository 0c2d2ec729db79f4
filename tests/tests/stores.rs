//! One behavioural suite, run against every store (memory, SQLite,
//! PostgreSQL) through the real server, so the backends cannot drift apart:
//! timestamps, versions and `ETag`, `If-Match` / `If-None-Match`, concurrent
//! writers, and what a durable store keeps across a reopen.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use nova_auth::Tokens;
use nova_controller::InstanceStore;
use nova_server::instance_pipeline;
use nova_store::StoreUrl;
use nova_tests::postgres as test_postgres;
use nova_tests::{assert_fault, status_and_json, TestServer};
use reqwest::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

/// A store location for one test, removed with it.
struct Fixture {
    url: StoreUrl,
    _dir: Option<TempDir>,
}

impl Fixture {
    /// A new, empty location; `None` when PostgreSQL is not configured on a
    /// developer's machine.
    async fn new(backend: Backend) -> Option<Fixture> {
        Some(match backend {
            Backend::Memory => Fixture {
                url: StoreUrl::Memory,
                _dir: None,
            },
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Fixture {
                    url: StoreUrl::Sqlite(dir.path().join("nova.db")),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = test_postgres::server_url()?;
                Fixture {
                    url: StoreUrl::Postgres(test_postgres::fresh_database(&server).await),
                    _dir: None,
                }
            }
        })
    }

    async fn open(&self) -> Arc<dyn InstanceStore> {
        nova_store::open(&self.url).await.unwrap()
    }

    async fn serve(&self) -> (TestServer, Arc<dyn InstanceStore>) {
        let store = self.open().await;
        let server =
            TestServer::start_pipeline(instance_pipeline(store.clone(), Tokens::default())).await;
        (server, store)
    }
}

async fn stop(server: TestServer, store: Arc<dyn InstanceStore>) {
    server.stop().await;
    store.close().await.unwrap();
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
    name: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = server.request(method, path);
    for (header, value) in headers {
        request = request.header(header.clone(), *value);
    }
    if let Some(name) = name {
        request = request.form(&[("name", name)]);
    }
    let response = request.send().await.unwrap();
    let etag = response
        .headers()
        .get(ETAG)
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = status_and_json(response).await;
    (status, etag, body)
}

async fn create(server: &TestServer, name: &str) -> (String, Value) {
    let (status, etag, body) = call(server, Method::POST, "/instances", &[], Some(name)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(etag.as_deref(), Some("\"1\""));
    (
        body["instance"]["id"].as_str().unwrap().to_owned(),
        body["instance"].clone(),
    )
}

async fn listing(server: &TestServer) -> Vec<Value> {
    let (status, _, body) = call(server, Method::GET, "/instances", &[], None).await;
    assert_eq!(status, 200);
    body["instances"].as_array().unwrap().clone()
}

/// `2026-11-29T09:00:00.123456Z`: ISO 8601, UTC, six fractional digits.
fn assert_timestamp(value: &Value) -> &str {
    let text = value.as_str().unwrap_or_else(|| panic!("{value} is text"));
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 27, "{text}");
    for (i, b) in bytes.iter().enumerate() {
        let expected_digit = !matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 26);
        assert_eq!(b.is_ascii_digit(), expected_digit, "{text} at {i}");
    }
    assert_eq!(
        (
            &text[4..5],
            &text[7..8],
            &text[10..11],
            &text[19..20],
            &text[26..]
        ),
        ("-", "-", "T", ".", "Z")
    );
    text
}

// ---- the suite: every function runs against every backend ----

async fn a_new_store_is_seeded_with_timestamps_and_version_1(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let instances = listing(&server).await;
    let names: Vec<&str> = instances
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inst-0", "inst-1", "inst-2"]);
    for instance in &instances {
        assert_eq!(
            assert_timestamp(&instance["created_at"]),
            assert_timestamp(&instance["updated_at"])
        );
        let id = instance["id"].as_str().unwrap();
        let (status, etag, body) =
            call(&server, Method::GET, &format!("/instances/{id}"), &[], None).await;
        assert_eq!((status, etag.as_deref()), (200, Some("\"1\"")));
        assert_eq!(&body["instance"], instance);
    }
    stop(server, store).await;
}

async fn each_change_bumps_the_etag_and_updated_at_but_not_created_at(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let (id, created) = create(&server, "web-1").await;
    assert_eq!(created["created_at"], created["updated_at"]);
    let path = format!("/instances/{id}");
    for (round, name) in ["web-2", "web-3"].into_iter().enumerate() {
        let (status, etag, body) = call(&server, Method::PUT, &path, &[], Some(name)).await;
        assert_eq!(status, 200);
        assert_eq!(etag, Some(format!("\"{}\"", round + 2)));
        assert_eq!(body["instance"]["name"], name);
        assert_eq!(body["instance"]["created_at"], created["created_at"]);
        assert!(
            assert_timestamp(&body["instance"]["updated_at"])
                >= assert_timestamp(&created["updated_at"])
        );
        let (_, shown_etag, shown) = call(&server, Method::GET, &path, &[], None).await;
        assert_eq!((shown_etag, &shown["instance"]), (etag, &body["instance"]));
    }
    let (status, _, _) = call(&server, Method::DELETE, &path, &[], None).await;
    assert_eq!(status, 204);
    let (status, _, body) = call(&server, Method::GET, &path, &[], None).await;
    assert_eq!(status, 404);
    assert_fault(&body, "itemNotFound", 404);
    stop(server, store).await;
}

async fn a_stale_if_match_is_412_and_changes_nothing(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let (id, _) = create(&server, "web-1").await;
    let path = format!("/instances/{id}");
    let (status, etag, _) = call(
        &server,
        Method::PUT,
        &path,
        &[(IF_MATCH, "\"1\"")],
        Some("web-2"),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"2\"")));

    for if_match in ["\"1\"", "W/\"2\"", "\"3\", \"4\"", "garbage", "\"\""] {
        let (status, _, body) = call(
            &server,
            Method::PUT,
            &path,
            &[(IF_MATCH, if_match)],
            Some("lost"),
        )
        .await;
        assert_eq!(status, 412, "PUT If-Match: {if_match}");
        let message = assert_fault(&body, "preconditionFailed", 412);
        assert!(message.contains("\"2\""), "{message}");
        let (status, _, body) = call(
            &server,
            Method::DELETE,
            &path,
            &[(IF_MATCH, if_match)],
            None,
        )
        .await;
        assert_eq!(status, 412, "DELETE If-Match: {if_match}");
        assert_fault(&body, "preconditionFailed", 412);
    }
    let (_, etag, body) = call(&server, Method::GET, &path, &[], None).await;
    assert_eq!(
        (etag.as_deref(), body["instance"]["name"].as_str()),
        (Some("\"2\""), Some("web-2")),
        "nothing changed"
    );

    let (status, etag, _) = call(
        &server,
        Method::PUT,
        &path,
        &[(IF_MATCH, "\"9\", \"2\"")],
        Some("web-3"),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"3\"")));
    let (status, etag, _) = call(
        &server,
        Method::PUT,
        &path,
        &[(IF_MATCH, "*")],
        Some("web-4"),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"4\"")));
    let (status, _, _) = call(&server, Method::DELETE, &path, &[(IF_MATCH, "\"4\"")], None).await;
    assert_eq!(status, 204);
    // A missing instance is 404 whatever the condition.
    for if_match in ["*", "\"4\""] {
        let (status, _, _) = call(
            &server,
            Method::PUT,
            &path,
            &[(IF_MATCH, if_match)],
            Some("x"),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) = call(
            &server,
            Method::DELETE,
            &path,
            &[(IF_MATCH, if_match)],
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    stop(server, store).await;
}

async fn a_matching_if_none_match_on_show_is_304_without_a_body(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let (id, _) = create(&server, "web-1").await;
    let path = format!("/instances/{id}");
    for (if_none_match, expected) in [("\"1\"", 304), ("W/\"1\"", 304), ("*", 304), ("\"2\"", 200)]
    {
        let response = server
            .request(Method::GET, &path)
            .header(IF_NONE_MATCH, if_none_match)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{if_none_match}");
        assert_eq!(response.headers()[ETAG], "\"1\"");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.is_empty(), expected == 304);
    }
    stop(server, store).await;
}

async fn of_concurrent_if_match_updates_exactly_one_wins(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let server = Arc::new(server);
    let (id, _) = create(&server, "contested").await;
    let path = format!("/instances/{id}");
    for round in 1..=5u64 {
        let etag = format!("\"{round}\"");
        let mut tasks = Vec::new();
        for writer in 0..6 {
            let (server, path, etag) = (server.clone(), path.clone(), etag.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("round-{round}-writer-{writer}");
                let (status, _, _) = call(
                    &server,
                    Method::PUT,
                    &path,
                    &[(IF_MATCH, &etag)],
                    Some(&name),
                )
                .await;
                status
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412, 412, 412, 412, 412], "round {round}");
    }
    let (_, etag, _) = call(&server, Method::GET, &path, &[], None).await;
    assert_eq!(etag.as_deref(), Some("\"6\""));
    let server = Arc::into_inner(server).unwrap();
    stop(server, store).await;
}

async fn concurrent_creates_are_all_committed_and_listed(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let server = Arc::new(server);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            create(&server, &format!("many-{i}")).await.0
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    let listed: Vec<String> = listing(&server)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 43);
    for id in &ids {
        assert!(listed.contains(id), "{id} is listed");
    }
    let server = Arc::into_inner(server).unwrap();
    stop(server, store).await;
}

// ---- durable stores only ----

/// The controller keeps the serialised listing while the store says nothing
/// changed; every kind of change must show in the very next listing, and a
/// change that was refused must not.
async fn the_listing_shows_each_change_as_soon_as_it_is_answered(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let names = |listing: Vec<Value>| -> Vec<String> {
        listing
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(listing(&server).await),
        ["inst-0", "inst-1", "inst-2"]
    );
    let (id, _) = create(&server, "web-1").await;
    let path = format!("/instances/{id}");
    assert_eq!(
        names(listing(&server).await),
        ["inst-0", "inst-1", "inst-2", "web-1"]
    );
    let (status, _, _) = call(&server, Method::PUT, &path, &[], Some("web-2")).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(listing(&server).await),
        ["inst-0", "inst-1", "inst-2", "web-2"]
    );
    let (status, _, _) = call(
        &server,
        Method::PUT,
        &path,
        &[(IF_MATCH, "\"1\"")],
        Some("web-3"),
    )
    .await;
    assert_eq!(status, 412);
    assert_eq!(
        names(listing(&server).await),
        ["inst-0", "inst-1", "inst-2", "web-2"]
    );
    let (status, _, _) = call(&server, Method::DELETE, &path, &[], None).await;
    assert_eq!(status, 204);
    assert_eq!(
        names(listing(&server).await),
        ["inst-0", "inst-1", "inst-2"]
    );
    stop(server, store).await;
}

async fn a_reopened_store_keeps_everything_and_is_not_seeded_again(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    let (server, store) = fixture.serve().await;
    let (id, created) = create(&server, "keeper").await;
    let path = format!("/instances/{id}");
    let (_, _, renamed) = call(&server, Method::PUT, &path, &[], Some("kept")).await;
    let (deleted_id, _) = create(&server, "goner").await;
    call(
        &server,
        Method::DELETE,
        &format!("/instances/{deleted_id}"),
        &[],
        None,
    )
    .await;
    let before = listing(&server).await;
    stop(server, store).await;

    let (server, store) = fixture.serve().await;
    let after = listing(&server).await;
    assert_eq!(after, before, "same instances, same order, same timestamps");
    assert_eq!(after.len(), 4, "the seed instances were not created again");
    let (_, etag, shown) = call(&server, Method::GET, &path, &[], None).await;
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(shown["instance"], renamed["instance"]);
    assert_eq!(shown["instance"]["created_at"], created["created_at"]);
    stop(server, store).await;
}

async fn a_database_newer_than_this_build_is_refused(backend: Backend) {
    let Some(fixture) = Fixture::new(backend).await else {
        return;
    };
    fixture.open().await.close().await.unwrap();
    match &fixture.url {
        StoreUrl::Sqlite(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection.pragma_update(None, "user_version", 99).unwrap();
        }
        StoreUrl::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let connection = tokio::spawn(connection);
            client
                .batch_execute("UPDATE nova_schema SET version = 99")
                .await
                .unwrap();
            drop(client);
            connection.await.unwrap().unwrap();
        }
        other => panic!("{other} is not durable"),
    }
    let error = nova_store::open(&fixture.url).await.err().unwrap();
    assert!(
        matches!(
            error,
            nova_store::OpenError::SchemaTooNew {
                found: 99,
                supported: nova_store::SCHEMA_VERSION
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("newer"), "{error}");
}

macro_rules! suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $test() {
                super::$test(super::Backend::$backend).await;
            }
        )*
    };
}

macro_rules! every_store {
    ($($test:ident),* $(,)?) => {
        mod memory { suite!(Memory: $($test),*); }
        mod sqlite { suite!(Sqlite: $($test),*); }
        mod postgres { suite!(Postgres: $($test),*); }
    };
}

macro_rules! durable_stores {
    ($($test:ident),* $(,)?) => {
        mod durable_sqlite { suite!(Sqlite: $($test),*); }
        mod durable_postgres { suite!(Postgres: $($test),*); }
    };
}

every_store!(
    a_new_store_is_seeded_with_timestamps_and_version_1,
    each_change_bumps_the_etag_and_updated_at_but_not_created_at,
    a_stale_if_match_is_412_and_changes_nothing,
    a_matching_if_none_match_on_show_is_304_without_a_body,
    of_concurrent_if_match_updates_exactly_one_wins,
    concurrent_creates_are_all_committed_and_listed,
    the_listing_shows_each_change_as_soon_as_it_is_answered,
);

durable_stores!(
    a_reopened_store_keeps_everything_and_is_not_seeded_again,
    a_database_newer_than_this_build_is_refused,
);
