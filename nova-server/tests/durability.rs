//! The `nova-server` binary over a durable store, as an operator runs it:
//! killed with SIGKILL mid-load, stopped with SIGTERM mid-load, and run as
//! two processes on one PostgreSQL database. Every load is bounded in time
//! and count.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../../tests/src/postgres.rs"]
#[allow(dead_code, unreachable_pub)]
mod test_postgres;

mod support;

const TOKEN: &str = "open-sesame";

struct Process {
    child: Child,
    base: String,
    log: mpsc::Receiver<String>,
}

fn start(store: &str, extra: &[&str]) -> Process {
    let (child, log) = support::spawn_logged(
        Command::new(env!("CARGO_BIN_EXE_nova-server"))
            .args(["--listen", "127.0.0.1:0", "--store", store])
            .args(extra),
    );
    let (addr, _) = support::listening_address(&log);
    let base = format!("http://{addr}");
    Process { child, base, log }
}

impl Process {
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "nova-server did not exit in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(mut self) -> Vec<String> {
        self.signal("-TERM");
        let status = self.wait(Duration::from_secs(20));
        assert!(status.success(), "exit status {status:?}");
        self.log.try_iter().collect()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn listing(client: &reqwest::Client, base: &str) -> HashMap<String, String> {
    let body: serde_json::Value = client
        .get(format!("{base}/instances"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A number in `0..n` from the OS's randomness, without a new dependency.
fn random_below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(n)) as u64
}

/// What a client was told: per instance, the name last answered 2xx and the
/// name of a rename sent but not answered (it may or may not have landed).
type Acknowledged = Arc<Mutex<HashMap<String, (String, Option<String>)>>>;

/// Creates and renames as fast as it can until the server stops answering
/// or `until` passes; returns how many changes were answered 2xx.
async fn write_load(base: String, acked: Acknowledged, writer: usize, until: Instant) -> u64 {
    let client = client();
    let mut answered = 0;
    let mut mine: Vec<String> = Vec::new();
    for step in 0u64.. {
        if Instant::now() > until {
            break;
        }
        let name = format!("w{writer}-{step}");
        if step % 2 == 0 || mine.is_empty() {
            let response = client
                .post(format!("{base}/instances"))
                .header("X-Auth-Token", TOKEN)
                .form(&[("name", &name)])
                .send()
                .await;
            let Ok(response) = response else { break };
            if response.status() != 201 {
                break;
            }
            let Ok(body) = response.json::<serde_json::Value>().await else {
                break;
            };
            let id = body["instance"]["id"].as_str().unwrap().to_owned();
            acked.lock().unwrap().insert(id.clone(), (name, None));
            mine.push(id);
        } else {
            let id = mine[random_below(mine.len() as u64) as usize].clone();
            acked.lock().unwrap().get_mut(&id).unwrap().1 = Some(name.clone());
            let response = client
                .put(format!("{base}/instances/{id}"))
                .header("X-Auth-Token", TOKEN)
                .form(&[("name", &name)])
                .send()
                .await;
            match response {
                Ok(response) if response.status() == 200 => {
                    *acked.lock().unwrap().get_mut(&id).unwrap() = (name, None);
                }
                _ => break,
            }
        }
        answered += 1;
    }
    answered
}

/// Every answered change is in `found`; settles each unanswered rename to
/// what the store actually kept.
fn assert_all_answered_changes_kept(acked: &Acknowledged, found: &HashMap<String, String>) {
    for (id, (name, pending)) in acked.lock().unwrap().iter_mut() {
        let kept = found
            .get(id)
            .unwrap_or_else(|| panic!("instance {id} ({name}) was answered 201 but is gone"));
        assert!(
            kept == name || Some(kept) == pending.as_ref(),
            "instance {id}: answered name {name:?}, pending {pending:?}, kept {kept:?}"
        );
        *name = kept.clone();
        *pending = None;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answered_change_survives_sigkill_at_a_random_moment_and_the_file_opens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let store = format!("sqlite:{}", path.display());
    let acked: Acknowledged = Arc::default();
    let mut total = 0;
    for round in 0..4 {
        let mut process = start(&store, &[]);
        let found = listing(&client(), &process.base).await;
        assert_all_answered_changes_kept(&acked, &found);
        let until = Instant::now() + Duration::from_secs(5);
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                tokio::spawn(write_load(
                    process.base.clone(),
                    acked.clone(),
                    writer,
                    until,
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + random_below(450))).await;
        process.child.kill().unwrap(); // SIGKILL
        process.wait(Duration::from_secs(5));
        let mut answered = 0;
        for writer in writers {
            answered += writer.await.unwrap();
        }
        assert!(answered > 0, "round {round}: the load ran");
        total += answered;

        let connection = rusqlite::Connection::open(&path).unwrap();
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        drop(connection);
    }
    let process = start(&store, &[]);
    let found = listing(&client(), &process.base).await;
    assert_all_answered_changes_kept(&acked, &found);
    // Creates sent but not answered may have landed too.
    assert!(found.len() >= 3 + acked.lock().unwrap().len());
    process.terminate();
    eprintln!("crash test: 4 SIGKILLs, {total} answered changes, all kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_write_load_commits_every_answered_write_resets_nothing_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("nova.db").display());
    let mut process = start(&store, &["--shutdown-grace", "10"]);
    let acked: Acknowledged = Arc::default();
    let stopped = Arc::new(AtomicBool::new(false));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(5);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (base, acked, errors, stopped) = (
            process.base.clone(),
            acked.clone(),
            errors.clone(),
            stopped.clone(),
        );
        writers.push(tokio::spawn(async move {
            let client = client();
            let mut answered = 0u64;
            for step in 0.. {
                if Instant::now() > until {
                    break;
                }
                let name = format!("w{writer}-{step}");
                let response = client
                    .post(format!("{base}/instances"))
                    .header("X-Auth-Token", TOKEN)
                    .form(&[("name", &name)])
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == 201 => {
                        let body: serde_json::Value = response.json().await.unwrap();
                        let id = body["instance"]["id"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().insert(id, (name, None));
                        answered += 1;
                    }
                    Ok(response) => {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("status {}", response.status()));
                        break;
                    }
                    // Refused: the server no longer listens. That is how a
                    // stopping server turns new work away.
                    Err(error) if error.is_connect() && stopped.load(Ordering::SeqCst) => break,
                    Err(error) => {
                        errors.lock().unwrap().push(format!("{error:?}"));
                        break;
                    }
                }
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    stopped.store(true, Ordering::SeqCst);
    process.signal("-TERM");
    let exit = process.wait(Duration::from_secs(15));
    assert!(exit.success(), "exit status {exit:?}");
    let mut answered = 0;
    for writer in writers {
        answered += writer.await.unwrap();
    }
    let log: Vec<String> = process.log.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("received SIGTERM")),
        "{log:#?}"
    );
    assert_eq!(
        *errors.lock().unwrap(),
        Vec::<String>::new(),
        "no request failed but by refusal"
    );
    assert!(answered > 0);

    let process = start(&store, &[]);
    let found = listing(&client(), &process.base).await;
    assert_all_answered_changes_kept(&acked, &found);
    process.terminate();
    eprintln!("graceful shutdown: {answered} answered creates, all kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_database_share_writes_and_one_if_match_update_wins_each_round()
{
    let Some(server_url) = test_postgres::server_url() else {
        return;
    };
    let database = test_postgres::fresh_database(&server_url).await;
    // Started together: the schema is created and seeded exactly once.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start(&database, &[]));
        let b = scope.spawn(|| start(&database, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let client = client();
    assert_eq!(listing(&client, &a.base).await.len(), 3, "seeded once");

    let created: serde_json::Value = client
        .post(format!("{}/instances", a.base))
        .header("X-Auth-Token", TOKEN)
        .form(&[("name", "shared")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        listing(&client, &b.base).await.get(&id).map(String::as_str),
        Some("shared")
    );

    for round in 1..=10u64 {
        let etag = format!("\"{round}\"");
        let put = |base: &str, name: &str| {
            client
                .put(format!("{base}/instances/{id}"))
                .header("X-Auth-Token", TOKEN)
                .header("If-Match", &etag)
                .form(&[("name", name)])
                .send()
        };
        let (from_a, from_b) = tokio::join!(put(&a.base, "by-a"), put(&b.base, "by-b"));
        let mut statuses = [
            from_a.unwrap().status().as_u16(),
            from_b.unwrap().status().as_u16(),
        ];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
        let on_a = listing(&client, &a.base).await[&id].clone();
        let on_b = listing(&client, &b.base).await[&id].clone();
        assert_eq!(on_a, on_b, "round {round}: both servers see the winner");
    }
    a.terminate();
    b.terminate();
}
