//! The `nova-server` binary over a durable store, as an operator runs it:
//! killed with SIGKILL mid-load (the seed's instances, and the compute
//! API's servers with their state changes), stopped with SIGTERM mid-load,
//! and run as two processes on one PostgreSQL database. Every load is
//! bounded in time and count.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

// ---- the compute API's servers ---------------------------------------------

/// Writes the shipped `etc/nova-rs/api-paste.ini` into `dir` with `keys` set
/// in the compute app's section (replaced where the file has them, added
/// otherwise); its path.
fn api_paste_with(dir: &Path, keys: &[(&str, &str)]) -> PathBuf {
    const SECTION: &str = "[app:osapi_compute_app_v21]";
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini");
    let mut lines: Vec<String> = std::fs::read_to_string(shipped)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let section = lines.iter().position(|l| l.trim() == SECTION).unwrap();
    for (key, value) in keys {
        let setting = format!("{key} = {value}");
        let existing = lines
            .iter()
            .skip(section + 1)
            .take_while(|line| !line.starts_with('['))
            .position(|line| line.split_once('=').is_some_and(|(k, _)| k.trim() == *key));
        match existing {
            Some(offset) => lines[section + 1 + offset] = setting,
            None => lines.insert(section + 1, setting),
        }
    }
    let path = dir.join("api-paste.ini");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A request to the compute API of `base` with the token.
fn compute(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    client.request(method, url).header("X-Auth-Token", TOKEN)
}

const CIRROS: &str = "840dd654-a43f-8980-b114-836ff26c51fa";

/// `POST /v2.1/servers`; the new server's id, or `None` when no whole
/// answer came. Any answer but 202 fails the test.
async fn create_server(client: &reqwest::Client, base: &str, name: &str) -> Option<String> {
    let response = compute(
        client,
        reqwest::Method::POST,
        format!("{base}/v2.1/servers"),
    )
    .json(&serde_json::json!({"server": {"name": name, "imageRef": CIRROS, "flavorRef": "1"}}))
    .send()
    .await
    .ok()?;
    assert_eq!(response.status(), 202, "create {name}");
    let body: serde_json::Value = response.json().await.ok()?;
    Some(body["server"]["id"].as_str()?.to_owned())
}

/// `POST /v2.1/servers/{id}/action`; its status, or `None` when no answer
/// came.
async fn server_action(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    body: serde_json::Value,
) -> Option<u16> {
    let response = compute(
        client,
        reqwest::Method::POST,
        format!("{base}/v2.1/servers/{id}/action"),
    )
    .json(&body)
    .send()
    .await
    .ok()?;
    let status = response.status().as_u16();
    // The answer is complete once its body has arrived.
    response.bytes().await.ok()?;
    Some(status)
}

/// `GET /v2.1/servers/{id}`: its status and body.
async fn show_server(client: &reqwest::Client, base: &str, id: &str) -> (u16, serde_json::Value) {
    let response = compute(
        client,
        reqwest::Method::GET,
        format!("{base}/v2.1/servers/{id}"),
    )
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Every server of the default project with its status, from
/// `GET /v2.1/servers/detail`, page by page.
async fn server_statuses(client: &reqwest::Client, base: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let mut next = Some(format!("{base}/v2.1/servers/detail"));
    while let Some(url) = next.take() {
        let body: serde_json::Value = compute(client, reqwest::Method::GET, url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for server in body["servers"].as_array().unwrap() {
            found.insert(
                server["id"].as_str().unwrap().to_owned(),
                server["status"].as_str().unwrap().to_owned(),
            );
        }
        next = body["servers_links"][0]["href"].as_str().map(str::to_owned);
    }
    found
}

/// Polls until server `id` shows `status`, at most 10 s; its view then.
async fn wait_for_status(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    status: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = show_server(client, base, id).await;
        assert_eq!(code, 200, "{body}");
        if body["server"]["status"] == status {
            return body["server"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "{id} is {}, not {status}",
            body["server"]["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_sqlite_file_is_whole(path: &Path) {
    let connection = rusqlite::Connection::open(path).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// With the shipped file as it is (builds and reboots take a second, other
/// actions none), the process is killed right after its last answers, in
/// the middle of a build and of a reboot: after the restart every answered
/// server is there in the state its answers left it in, and the build and
/// the reboot end at the instants stored before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answered_servers_and_actions_survive_sigkill_and_transitions_end_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let store = format!("sqlite:{}", path.display());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini");
    let config = config.to_str().unwrap();
    let client = client();

    let mut process = start(&store, &["--config", config]);
    let base = process.base.clone();
    let stopped = create_server(&client, &base, "stopped").await.unwrap();
    let rebooted = create_server(&client, &base, "rebooted").await.unwrap();
    let renamed = create_server(&client, &base, "before").await.unwrap();
    let deleted = create_server(&client, &base, "deleted").await.unwrap();
    wait_for_status(&client, &base, &deleted, "ACTIVE").await;
    for id in [&stopped, &rebooted, &renamed] {
        wait_for_status(&client, &base, id, "ACTIVE").await;
    }
    let stop = compute(
        &client,
        reqwest::Method::POST,
        format!("{base}/v2.1/servers/{stopped}/action"),
    )
    .json(&serde_json::json!({"os-stop": null}))
    .send()
    .await
    .unwrap();
    assert_eq!(stop.status(), 202);
    let stop_request = stop.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let rename = compute(
        &client,
        reqwest::Method::PUT,
        format!("{base}/v2.1/servers/{renamed}"),
    )
    .json(&serde_json::json!({"server": {"name": "after"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(rename.status(), 200);
    let delete = compute(
        &client,
        reqwest::Method::DELETE,
        format!("{base}/v2.1/servers/{deleted}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(delete.status(), 204);
    // A reboot and a build each end a second after they begin, and began
    // after these instants.
    let reboot_sent = Instant::now();
    assert_eq!(
        server_action(
            &client,
            &base,
            &rebooted,
            serde_json::json!({"reboot": {"type": "SOFT"}})
        )
        .await,
        Some(202)
    );
    let build_sent = Instant::now();
    let building = create_server(&client, &base, "building").await.unwrap();
    process.child.kill().unwrap(); // SIGKILL, right after the last answer
    process.wait(Duration::from_secs(5));
    assert_sqlite_file_is_whole(&path);

    let process = start(&store, &["--config", config]);
    let base = process.base.clone();
    let (_, shown) = show_server(&client, &base, &stopped).await;
    assert_eq!(shown["server"]["status"], "SHUTOFF");
    assert_eq!(shown["server"]["OS-EXT-STS:power_state"], 4);
    let (_, shown) = show_server(&client, &base, &renamed).await;
    assert_eq!(shown["server"]["name"], "after");
    let (status, _) = show_server(&client, &base, &deleted).await;
    assert_eq!(status, 404, "a deleted server stays deleted");
    // The reboot and the build were under way at the kill; each ends a
    // second after it began, whether or not the process was running then.
    let (_, reboot) = show_server(&client, &base, &rebooted).await;
    let (_, build) = show_server(&client, &base, &building).await;
    // Read before their ends (unless the restart took that long): still
    // under way.
    if reboot_sent.elapsed() < Duration::from_secs(1) {
        assert_eq!(reboot["server"]["status"], "REBOOT");
    }
    if build_sent.elapsed() < Duration::from_secs(1) {
        assert_eq!(build["server"]["status"], "BUILD");
    }
    wait_for_status(&client, &base, &rebooted, "ACTIVE").await;
    let built = wait_for_status(&client, &base, &building, "ACTIVE").await;
    assert_eq!(built["name"], "building");
    // What was done is still recorded, under the ids the answers gave.
    let actions: serde_json::Value = compute(
        &client,
        reqwest::Method::GET,
        format!("{base}/v2.1/servers/{stopped}/os-instance-actions"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(actions["instanceActions"][0]["action"], "stop");
    assert_eq!(
        actions["instanceActions"][0]["request_id"],
        stop_request.as_str()
    );
    let statuses = server_statuses(&client, &base).await;
    assert_eq!(statuses.get(&deleted), None);
    assert_eq!(statuses.len(), 3 + 4, "the seed's three and the four kept");
    process.terminate();
}

/// What a client was told about each of its servers: the status its last
/// answered change left, and the one a change sent but not answered would
/// leave (it may or may not have landed).
type AcknowledgedServers = Arc<Mutex<HashMap<String, (String, Option<String>)>>>;

/// Creates servers and stops and starts them (every operation ending at
/// once) until the server stops answering or `until` passes, counting
/// each answered change in `progress`; how many changes were answered.
async fn server_load(
    base: String,
    acked: AcknowledgedServers,
    writer: usize,
    until: Instant,
    progress: Arc<AtomicU64>,
) -> u64 {
    let client = client();
    let mut answered = 0;
    let mut mine: Vec<String> = Vec::new();
    for step in 0u64.. {
        if Instant::now() > until {
            break;
        }
        if step % 3 == 0 || mine.is_empty() {
            let Some(id) = create_server(&client, &base, &format!("w{writer}-{step}")).await else {
                break;
            };
            acked
                .lock()
                .unwrap()
                .insert(id.clone(), ("ACTIVE".to_owned(), None));
            mine.push(id);
        } else {
            let id = mine[random_below(mine.len() as u64) as usize].clone();
            let (body, target) = if acked.lock().unwrap()[&id].0 == "ACTIVE" {
                (serde_json::json!({"os-stop": null}), "SHUTOFF")
            } else {
                (serde_json::json!({"os-start": null}), "ACTIVE")
            };
            acked.lock().unwrap().get_mut(&id).unwrap().1 = Some(target.to_owned());
            match server_action(&client, &base, &id, body).await {
                Some(202) => {
                    *acked.lock().unwrap().get_mut(&id).unwrap() = (target.to_owned(), None)
                }
                Some(other) => panic!("{id}: {target} answered {other}"),
                None => break,
            }
        }
        answered += 1;
        progress.fetch_add(1, Ordering::SeqCst);
    }
    answered
}

/// Every answered server is in `found` with the status its answers left;
/// settles each unanswered change to what the store kept.
fn assert_all_answered_servers_kept(acked: &AcknowledgedServers, found: &HashMap<String, String>) {
    for (id, (status, pending)) in acked.lock().unwrap().iter_mut() {
        let kept = found
            .get(id)
            .unwrap_or_else(|| panic!("server {id} was answered 202 but is gone"));
        assert!(
            kept == status || Some(kept) == pending.as_ref(),
            "server {id}: answered {status}, pending {pending:?}, kept {kept}"
        );
        *status = kept.clone();
        *pending = None;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answered_server_and_state_change_survives_sigkill_at_a_random_moment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let store = format!("sqlite:{}", path.display());
    // Instant operations, and no quota to stop the load.
    let config = api_paste_with(
        dir.path(),
        &[
            ("build_seconds", "0"),
            ("action_seconds", "0"),
            ("quota_instances", "-1"),
            ("quota_cores", "-1"),
            ("quota_ram", "-1"),
        ],
    );
    let config = config.to_str().unwrap();
    let acked: AcknowledgedServers = Arc::default();
    let mut total = 0;
    for round in 0..3 {
        let mut process = start(&store, &["--config", config]);
        let found = server_statuses(&client(), &process.base).await;
        assert_all_answered_servers_kept(&acked, &found);
        let until = Instant::now() + Duration::from_secs(5);
        let progress = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                tokio::spawn(server_load(
                    process.base.clone(),
                    acked.clone(),
                    writer,
                    until,
                    progress.clone(),
                ))
            })
            .collect();
        // Killed at a random moment once the load is under way (each
        // create reads the project's usage, which grows every round).
        while progress.load(Ordering::SeqCst) == 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50 + random_below(450))).await;
        process.child.kill().unwrap(); // SIGKILL
        process.wait(Duration::from_secs(5));
        let mut answered = 0;
        for writer in writers {
            answered += writer.await.unwrap();
        }
        assert!(answered > 0, "round {round}: the load ran");
        total += answered;
        assert_sqlite_file_is_whole(&path);
    }
    let process = start(&store, &["--config", config]);
    let found = server_statuses(&client(), &process.base).await;
    assert_all_answered_servers_kept(&acked, &found);
    // Creates sent but not answered may have landed too.
    assert!(found.len() >= 3 + acked.lock().unwrap().len());
    process.terminate();
    eprintln!("crash test: 3 SIGKILLs, {total} answered server changes, all kept");
}

/// Two nova-server processes with the shipped file's compute app on one
/// PostgreSQL database: a server created through one is listed and shown
/// by the other, building and then, at its stored instant, active in
/// both; an action through the other is seen by the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_database_serve_the_same_servers() {
    let Some(server_url) = test_postgres::server_url() else {
        return;
    };
    let database = test_postgres::fresh_database(&server_url).await;
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini");
    let config = config.to_str().unwrap();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start(&database, &["--config", config]));
        let b = scope.spawn(|| start(&database, &["--config", config]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let client = client();
    let began = Instant::now();
    let id = create_server(&client, &a.base, "shared").await.unwrap();
    let listed = server_statuses(&client, &b.base).await;
    let (_, on_b) = show_server(&client, &b.base, &id).await;
    // The shipped file's builds take a second.
    if began.elapsed() < Duration::from_secs(1) {
        assert_eq!(listed.get(&id).map(String::as_str), Some("BUILD"));
        assert_eq!(on_b["server"]["status"], "BUILD");
    }
    assert_eq!(on_b["server"]["name"], "shared");
    wait_for_status(&client, &b.base, &id, "ACTIVE").await;
    let (_, on_a) = show_server(&client, &a.base, &id).await;
    assert_eq!(on_a["server"]["status"], "ACTIVE");
    assert_eq!(
        server_action(&client, &b.base, &id, serde_json::json!({"os-stop": null})).await,
        Some(202)
    );
    let (_, on_a) = show_server(&client, &a.base, &id).await;
    assert_eq!(on_a["server"]["status"], "SHUTOFF");
    assert_eq!(
        server_action(&client, &a.base, &id, serde_json::json!({"os-stop": null})).await,
        Some(409),
        "the other process's stop is what the check sees"
    );
    a.terminate();
    b.terminate();
}
