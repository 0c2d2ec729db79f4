//! When the database goes away the API answers 503 `serviceUnavailable`,
//! keeps running, and recovers by itself when the database is back.
//!
//! The database "goes away" behind a TCP relay the test controls, between
//! the server and a real PostgreSQL: cutting the relay drops every open
//! connection and refuses new ones, as a crashed or unreachable server does.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nova_auth::Tokens;
use nova_server::instance_pipeline;
use nova_store::StoreUrl;
use nova_tests::postgres as test_postgres;
use nova_tests::{assert_fault, status_and_json, TestServer};
use reqwest::Method;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Relays 127.0.0.1:port to `upstream` until cut.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (cut2, links2) = (cut.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if cut2.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().unwrap().push(link.abort_handle());
            }
        })
        .abort_handle();
        Relay {
            port,
            cut,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// `postgres://user@host:port/db` -> (`host:port`, a URL through the relay).
fn through_relay(url: &str, relay_port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (user, host) = authority.rsplit_once('@').unwrap();
    (
        host.to_owned(),
        format!("{scheme}://{user}@127.0.0.1:{relay_port}{tail}"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_database_is_503_and_the_server_recovers_when_it_is_back() {
    let Some(server_url) = test_postgres::server_url() else {
        return;
    };
    let database = test_postgres::fresh_database(&server_url).await;
    let (upstream, _) = through_relay(&database, 0);
    let relay = Relay::start(upstream).await;
    let (_, relayed) = through_relay(&database, relay.port);
    let store = nova_store::open(&StoreUrl::Postgres(relayed))
        .await
        .unwrap();
    let server =
        TestServer::start_pipeline(instance_pipeline(store.clone(), Tokens::default())).await;
    let list = || server.request(Method::GET, "/instances").send();
    assert_eq!(list().await.unwrap().status(), 200);

    relay.cut();
    let started = Instant::now();
    for request in [
        server.request(Method::GET, "/instances"),
        server
            .request(Method::POST, "/instances")
            .form(&[("name", "during-outage")]),
    ] {
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 503, "{body}");
        assert_fault(&body, "serviceUnavailable", 503);
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "503 comes within the pool's timeouts"
    );

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    let names = loop {
        let (status, body) = status_and_json(list().await.unwrap()).await;
        if status == 200 {
            break body["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>();
        }
        assert!(Instant::now() < deadline, "the server recovers by itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        names,
        ["inst-0", "inst-1", "inst-2"],
        "the failed create stored nothing"
    );
    let response = server
        .request(Method::POST, "/instances")
        .form(&[("name", "after-outage")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    server.stop().await;
    store.close().await.unwrap();
}
