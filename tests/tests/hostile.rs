//! Slow, malformed and greedy clients over real TCP. Each attack runs while a
//! well-behaved client keeps asking for `/instances`, and that client must
//! get every answer throughout.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nova_server::ServerConfig;
use nova_tests::{assert_fault, status_and_json, TestServer};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn strict_config() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        max_header_bytes: 8 * 1024,
        ..ServerConfig::default()
    }
}

/// Runs `attack` while a well-behaved client sends requests on its own
/// connection pool, and checks that every one of them was answered 200.
async fn while_serving_others<F: Future>(server: &TestServer, attack: F) -> F::Output {
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let client = server.client.clone();
    let url = server.url("/instances");
    let checker = tokio::spawn({
        let done = done.clone();
        let answered = answered.clone();
        async move {
            while !done.load(Ordering::SeqCst) {
                let response = client
                    .get(&url)
                    .header("X-Auth-Token", "open-sesame")
                    .send()
                    .await
                    .expect("a well-behaved client is answered during the attack");
                assert_eq!(response.status(), 200);
                answered.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let output = attack.await;
    done.store(true, Ordering::SeqCst);
    checker.await.unwrap();
    assert!(
        answered.load(Ordering::SeqCst) > 0,
        "the well-behaved client ran"
    );
    output
}

/// Reads until the server closes the connection (or resets it); returns what
/// was read, or `None` if it stayed open for `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let deadline = Instant::now() + limit;
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(answer),
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_sending_headers_a_byte_at_a_time_is_dropped_after_the_header_timeout() {
    let server = TestServer::start_with(strict_config()).await;
    let request = b"GET /instances HTTP/1.1\r\nHost: slow\r\nX-Auth-Token: open-sesame\r\nAccept: */*\r\n\r\n";
    let started = Instant::now();
    let (sent, answer) = while_serving_others(&server, async {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let mut sent = 0;
        for byte in request {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(6) {
                break;
            }
        }
        let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        (sent, answer)
    })
    .await;
    assert!(
        sent < request.len(),
        "the server cut the client off before its request was complete ({sent} bytes sent)"
    );
    let answer = answer.expect("the connection was closed");
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "no answer to an unfinished request"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_idle_connections_do_not_stop_others_and_are_closed_after_the_idle_timeout() {
    let server = TestServer::start_with(strict_config()).await;
    let mut idle = while_serving_others(&server, async {
        let mut idle = Vec::with_capacity(2000);
        for _ in 0..2000 {
            idle.push(TcpStream::connect(server.addr()).await.unwrap());
        }
        // A request while all of them are open.
        let (status, _) = status_and_json(
            server
                .request(Method::GET, "/instances")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        idle
    })
    .await;
    // Every one of them is closed by the server once idle for a second.
    let deadline = Duration::from_secs(10);
    for stream in idle.iter_mut() {
        let answer = read_until_closed(stream, deadline).await;
        assert_eq!(
            answer,
            Some(Vec::new()),
            "an idle connection is closed without an answer"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keep_alive_connection_is_closed_after_it_idles() {
    let server = TestServer::start_with(strict_config()).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("closed once idle");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200 OK"),
        "the request was answered first: {answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_headers_get_431_and_others_are_served() {
    let server = TestServer::start_with(strict_config()).await;
    let answer = while_serving_others(&server, async {
        let big = "x".repeat(16 * 1024);
        let request = format!("GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nX-Big: {big}\r\n\r\n");
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let _ = stream.write_all(request.as_bytes()).await;
        read_until_closed(&mut stream, Duration::from_secs(5)).await
    })
    .await;
    let answer = String::from_utf8_lossy(&answer.expect("the connection is closed")).into_owned();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_never_finishes_gets_408_and_stores_nothing() {
    let server = TestServer::start_with(strict_config()).await;
    let answer = while_serving_others(&server, async {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        stream
            .write_all(b"POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=half")
            .await
            .unwrap();
        read_until_closed(&mut stream, Duration::from_secs(5)).await
    })
    .await;
    let answer =
        String::from_utf8_lossy(&answer.expect("the connection is closed after the answer"))
            .into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_fault(&body, "requestTimeout", 408);
    let names = server.instance_names().await;
    assert_eq!(names.len(), 3, "{names:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn transfer_encoding_with_content_length_smuggles_nothing_and_closes_the_connection() {
    let server = TestServer::start_with(strict_config()).await;
    // A front end honouring Content-Length would see one request; one
    // honouring chunked would see a second, smuggled one.
    let smuggle = "0\r\n\r\nPOST /instances?name=smuggled HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Length: 0\r\n\r\n";
    let request = format!(
        "POST /instances?name=front HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{smuggle}",
        smuggle.len()
    );
    let answer = while_serving_others(&server, async {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        read_until_closed(&mut stream, Duration::from_secs(5)).await
    })
    .await;
    let answer = String::from_utf8_lossy(&answer.expect("the connection is closed")).into_owned();
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length and the
    // server must close the connection after answering; hyper does both.
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "one answer only: {answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let names = server.instance_names().await;
    assert!(!names.iter().any(|n| n == "smuggled"), "{names:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_invalid_utf8_and_nul_in_names_are_400() {
    let server = TestServer::start_with(strict_config()).await;
    let bodies: [(&str, &[u8]); 4] = [
        ("application/x-www-form-urlencoded", b"name=caf\xe9"),
        ("application/json", b"{\"name\": \"caf\xe9\"}"),
        ("application/json", b"{\"name\": \"a\\u0000b\"}"),
        ("application/x-www-form-urlencoded", b"name=a\x00b"),
    ];
    for (content_type, body) in bodies {
        let response = server
            .request(Method::POST, "/instances")
            .header("content-type", content_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let (status, fault) = status_and_json(response).await;
        assert_eq!(status, 400, "{content_type} {body:?}");
        assert_fault(&fault, "badRequest", 400);
    }
    let names = server.instance_names().await;
    assert_eq!(names.len(), 3, "{names:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn past_max_connections_a_client_waits_until_a_connection_closes() {
    let config = ServerConfig {
        max_connections: 4,
        idle_timeout: Duration::from_secs(30),
        ..strict_config()
    };
    let server = TestServer::start_with(config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        // A full exchange proves each one holds a served slot.
        stream
            .write_all(b"GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let waiting = tokio::spawn({
        let client = server.client.clone();
        let url = server.url("/instances");
        async move {
            client
                .get(url)
                .header("X-Auth-Token", "open-sesame")
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a fifth connection is not served while four are held"
    );
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    drop(held);
    server.stop().await;
}
