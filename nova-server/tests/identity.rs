//! The `nova-server` binary with the shipped `api-paste.ini`, as processes
//! an operator runs: a token outlives a restart on a SQLite file (its key
//! is kept there), two processes on one PostgreSQL database accept each
//! other's tokens and refuse each other's revoked ones, and no log line,
//! even at debug level, carries a token or a password.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "../../tests/src/postgres.rs"]
#[allow(dead_code, unreachable_pub)]
mod test_postgres;

mod support;

/// Every configured user's password, which must never be logged.
const PASSWORD: &str = "open-sesame";

struct Process {
    child: Child,
    base: String,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// nova-server with the shipped file over `store`, logging at debug level.
fn start(store: &str) -> Process {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini");
    let (child, log) = support::spawn_logged(
        Command::new(env!("CARGO_BIN_EXE_nova-server"))
            .env("RUST_LOG", "debug")
            .args(["--listen", "127.0.0.1:0", "--store", store])
            .arg("--config")
            .arg(config),
    );
    let (addr, seen) = support::listening_address(&log);
    Process {
        child,
        base: format!("http://{addr}"),
        log,
        seen,
    }
}

impl Process {
    /// Stops the process with SIGTERM and returns every line it logged.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status:?}");
                break;
            }
            assert!(Instant::now() < deadline, "nova-server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.seen.extend(self.log.try_iter());
        self.seen
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A project-scoped token for `user` (whose project has the same name).
async fn token(client: &reqwest::Client, base: &str, user: &str) -> String {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": user, "domain": {"id": "default"}}}}});
    let response = client
        .post(format!("{base}/identity/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// `GET /v2.1/servers` with `token`: the status and the server names.
async fn servers(client: &reqwest::Client, base: &str, token: &str) -> (u16, Vec<String>) {
    let response = client
        .get(format!("{base}/v2.1/servers"))
        .header("X-Auth-Token", token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let names = body["servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, names)
}

/// `POST /v2.1/servers` named `name` with `token`: its id.
async fn create(client: &reqwest::Client, base: &str, token: &str, name: &str) -> String {
    let body = json!({"server": {"name": name, "flavorRef": "1",
        "imageRef": "840dd654-a43f-8980-b114-836ff26c51fa", "networks": "none"}});
    let response = client
        .post(format!("{base}/v2.1/servers"))
        .header("X-Auth-Token", token)
        // `"networks": "none"` is 2.37's.
        .header("OpenStack-API-Version", "compute 2.37")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    body["server"]["id"].as_str().unwrap().to_owned()
}

/// Revokes `subject` with `token` (`DELETE /v3/auth/tokens`).
async fn revoke(client: &reqwest::Client, base: &str, token: &str, subject: &str) {
    let response = client
        .delete(format!("{base}/identity/v3/auth/tokens"))
        .header("X-Auth-Token", token)
        .header("X-Subject-Token", subject)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// Fails if any line holds a token, a piece of one, or the password.
fn assert_no_secret_logged(lines: &[String], tokens: &[&str]) {
    assert!(!lines.is_empty());
    for line in lines {
        assert!(!line.contains(PASSWORD), "password logged: {line}");
        // Every Fernet token starts with the same version-and-time prefix;
        // a line with any 20 characters of a token's body holds part of it.
        assert!(!line.contains("gAAAAA"), "token logged: {line}");
        for token in tokens {
            for piece in token.as_bytes().chunks(20).skip(1) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!line.contains(piece), "part of a token logged: {line}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_outlives_a_restart_on_the_same_sqlite_file_and_a_revocation_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("nova.db").display());
    let client = client();

    let first = start(&store);
    let demo = token(&client, &first.base, "demo").await;
    let alt = token(&client, &first.base, "alt_demo").await;
    let id = create(&client, &first.base, &demo, "kept").await;
    revoke(&client, &first.base, &alt, &alt).await;
    let mut logged = first.stop();

    let second = start(&store);
    let (status, names) = servers(&client, &second.base, &demo).await;
    assert_eq!(status, 200, "the key is the store's, kept in the file");
    assert_eq!(names, ["kept"]);
    assert_eq!(servers(&client, &second.base, &alt).await.0, 401);
    let shown = client
        .get(format!("{}/v2.1/servers/{id}", second.base))
        .header("X-Auth-Token", &demo)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    logged.extend(second.stop());
    assert_no_secret_logged(&logged, &[&demo, &alt]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_postgres_database_share_tokens_and_revocations() {
    let Some(server_url) = test_postgres::server_url() else {
        return;
    };
    let database = test_postgres::fresh_database(&server_url).await;
    // Both start at once: they must still agree on one token key.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start(&database));
        let b = scope.spawn(|| start(&database));
        (a.join().unwrap(), b.join().unwrap())
    });
    let client = client();

    let from_a = token(&client, &a.base, "demo").await;
    let from_b = token(&client, &b.base, "demo").await;
    create(&client, &a.base, &from_a, "on-a").await;
    for (base, token) in [
        (&a.base, &from_a),
        (&a.base, &from_b),
        (&b.base, &from_a),
        (&b.base, &from_b),
    ] {
        let (status, names) = servers(&client, base, token).await;
        assert_eq!((status, names), (200, vec!["on-a".to_owned()]));
    }

    // Revoked through B, refused by A at once.
    revoke(&client, &b.base, &from_b, &from_a).await;
    let refused = client
        .get(format!("{}/v2.1/servers", a.base))
        .header("X-Auth-Token", &from_a)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"].to_str().unwrap(),
        format!("Keystone uri=\"{}/identity\"", a.base)
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(servers(&client, &b.base, &from_a).await.0, 401);
    assert_eq!(servers(&client, &a.base, &from_b).await.0, 200);

    let mut logged = a.stop();
    logged.extend(b.stop());
    assert_no_secret_logged(&logged, &[&from_a, &from_b]);
}
