//! Two servers on one PostgreSQL database, each with the shipped
//! `api-paste.ini`'s compute app and its own connections: what is done
//! through one is what the other answers, a build's end (derived from the
//! instants both read from the database) is seen by both, and of two
//! conflicting actions sent to both at once exactly one is accepted.
//!
//! It runs where `NOVA_TEST_POSTGRES_URL` names a server
//! (`scripts/with-postgres.sh`, and CI, where a missing server fails it).

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use nova_server::{registry, Overrides};
use nova_tests::postgres as test_postgres;
use nova_tests::{api_paste_with, assert_fault, status_and_json, TestServer, CIRROS};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// How long a build takes here: long enough to see both servers show it
/// under way.
const BUILD: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_on_one_postgres_database_answer_for_the_same_servers() {
    let Some(server_url) = test_postgres::server_url() else {
        return;
    };
    let database = test_postgres::fresh_database(&server_url).await;
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(
        dir.path(),
        &[
            ("build_seconds", "0.5"),
            ("action_seconds", "0"),
            ("delete_seconds", "0"),
        ],
    );
    let shared = registry(&Overrides {
        store: Some(database),
        ..Overrides::default()
    });
    let a = TestServer::start_config_with(&config, &shared).await;
    let b = TestServer::start_config_with(&config, &shared).await;
    let base = format!("/v2.1/{}", Uuid::new_v4().simple());

    // Created through A: B shows it building, then both show the build's
    // end, which nothing but the stored instant decides.
    let began = Instant::now();
    let created = send(
        &a,
        Method::POST,
        &format!("{base}/servers"),
        Some(json!({"server": {"name": "shared", "imageRef": CIRROS, "flavorRef": "1"}})),
    )
    .await;
    assert_eq!(created.0, 202, "{}", created.1);
    let id = created.1["server"]["id"].as_str().unwrap().to_owned();
    let path = format!("{base}/servers/{id}");
    let on_b = show(&b, &path).await;
    let on_a = show(&a, &path).await;
    if began.elapsed() < BUILD {
        assert_eq!(on_b["status"], "BUILD");
        assert_eq!(on_a["status"], "BUILD");
    }
    assert_eq!(on_b["name"], "shared");
    assert_eq!(names(&b, &base).await, ["shared"]);
    let active_on_b = wait_for_status(&b, &path, "ACTIVE").await;
    assert!(began.elapsed() >= BUILD);
    let active_on_a = show(&a, &path).await;
    assert_eq!(active_on_a["status"], "ACTIVE");
    // The same view from both, but for the host in the links.
    let as_if_from_b = active_on_a
        .to_string()
        .replace(&a.addr().to_string(), &b.addr().to_string());
    assert_eq!(as_if_from_b, active_on_b.to_string());

    // An action through one is seen by the other, and the other checks
    // its state against it.
    let stop = send(
        &b,
        Method::POST,
        &format!("{path}/action"),
        Some(json!({"os-stop": null})),
    )
    .await;
    assert_eq!(stop.0, 202, "{}", stop.1);
    assert_eq!(show(&a, &path).await["status"], "SHUTOFF");
    let again = send(
        &a,
        Method::POST,
        &format!("{path}/action"),
        Some(json!({"os-stop": null})),
    )
    .await;
    assert_eq!(again.0, 409);
    assert_eq!(
        assert_fault(&again.1, "conflictingRequest", 409),
        format!("Cannot 'stop' instance {id} while it is in vm_state stopped")
    );
    // Of one action sent to both at once, exactly one is accepted.
    let start = |server: &TestServer| {
        server
            .request(Method::POST, &format!("{path}/action"))
            .json(&json!({"os-start": null}))
            .send()
    };
    let (from_a, from_b) = tokio::join!(start(&a), start(&b));
    let mut statuses = [
        from_a.unwrap().status().as_u16(),
        from_b.unwrap().status().as_u16(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409]);
    assert_eq!(show(&b, &path).await["status"], "ACTIVE");
    let actions = send(
        &a,
        Method::GET,
        &format!("{path}/os-instance-actions"),
        None,
    )
    .await;
    let recorded: Vec<&str> = actions.1["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action["action"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, ["start", "stop", "create"]);

    // Metadata and a rename through one, read through the other (the
    // seed's API included).
    let meta = send(
        &a,
        Method::PUT,
        &format!("{path}/metadata/role"),
        Some(json!({"meta": {"role": "web"}})),
    )
    .await;
    assert_eq!(meta.0, 200, "{}", meta.1);
    let renamed = send(
        &b,
        Method::PUT,
        &path,
        Some(json!({"server": {"name": "renamed"}})),
    )
    .await;
    assert_eq!(renamed.0, 200, "{}", renamed.1);
    let on_a = show(&a, &path).await;
    assert_eq!(
        (&on_a["name"], &on_a["metadata"]),
        (&json!("renamed"), &json!({"role": "web"}))
    );
    let instance = send(&a, Method::GET, &format!("/v2.1/instances/{id}"), None).await;
    assert_eq!(instance.1["instance"]["name"], "renamed");
    let limits = send(&b, Method::GET, &format!("{base}/limits"), None).await;
    assert_eq!(limits.1["limits"]["absolute"]["totalInstancesUsed"], 1);

    // Deleted through A: gone from B at once, still in its changes-since.
    let deleted = send(&a, Method::DELETE, &path, None).await;
    assert_eq!(deleted.0, 204);
    let gone = send(&b, Method::GET, &path, None).await;
    assert_eq!(gone.0, 404);
    assert_eq!(
        assert_fault(&gone.1, "itemNotFound", 404),
        format!("Instance {id} could not be found.")
    );
    assert_eq!(names(&b, &base).await, Vec::<String>::new());
    let since = send(
        &b,
        Method::GET,
        &format!("{base}/servers/detail?changes-since=2000-01-01T00:00:00Z"),
        None,
    )
    .await;
    assert_eq!(since.1["servers"][0]["id"], id.as_str());
    assert_eq!(since.1["servers"][0]["status"], "DELETED");

    a.stop().await;
    b.stop().await;
}

/// `method path` with the token and `body` as JSON: the status and body.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.unwrap()).await
}

async fn show(server: &TestServer, path: &str) -> Value {
    let (status, body) = send(server, Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["server"].clone()
}

async fn names(server: &TestServer, base: &str) -> Vec<String> {
    let (status, body) = send(server, Method::GET, &format!("{base}/servers"), None).await;
    assert_eq!(status, 200, "{body}");
    body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls until the server at `path` shows `status`, at most 10 s.
async fn wait_for_status(server: &TestServer, path: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = show(server, path).await;
        if shown["status"] == status {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "{path} is {}, not {status}",
            shown["status"]
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}
