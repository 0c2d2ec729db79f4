//! The instance API over real TCP: one test per row of the contract in the
//! README, against the real server and the seed's pipeline.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use nova_tests::{assert_fault, status_and_json, TestServer};
use reqwest::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn first_id(server: &TestServer) -> String {
    let (_, body) = status_and_json(
        server
            .request(Method::GET, "/instances")
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["instances"][0]["id"].as_str().unwrap().to_owned()
}

/// `{"instance": {"id", "name", "created_at", "updated_at"}}` with this id
/// and name, and the timestamps `body` has (the store suite checks those).
fn instance_json(id: &str, name: &str, body: &Value) -> Value {
    json!({"instance": {
        "id": id,
        "name": name,
        "created_at": body["instance"]["created_at"],
        "updated_at": body["instance"]["updated_at"],
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_the_token_are_forbidden_before_routing() {
    let server = TestServer::start().await;
    let cases = [
        (Method::GET, "/instances", None),
        (Method::POST, "/instances", None),
        (Method::GET, "/instances", Some("wrong")),
        (Method::GET, "/instances", Some("open-sesame2")),
        (Method::GET, "/no/such/path", None),
        (Method::PATCH, "/instances", None),
        (Method::DELETE, "/instances/whatever", Some("OPEN-SESAME")),
    ];
    for (method, path, token) in cases {
        let mut request = server.client.request(method.clone(), server.url(path));
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        let response = request.form(&[("name", "sneaky")]).send().await.unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 403, "{method} {path} {token:?}");
        assert_fault(&body, "forbidden", 403);
    }
    assert_eq!(
        server.instance_names().await,
        ["inst-0", "inst-1", "inst-2"],
        "nothing was created"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn index_lists_the_seed_instances_then_new_ones_in_creation_order() {
    let server = TestServer::start().await;
    let response = server
        .request(Method::GET, "/instances")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    for instance in body["instances"].as_array().unwrap() {
        let keys: Vec<&String> = instance.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name", "created_at", "updated_at"]);
        Uuid::parse_str(instance["id"].as_str().unwrap()).unwrap();
    }
    for name in ["zeta", "alpha", "mid"] {
        let response = server
            .request(Method::POST, "/instances")
            .form(&[("name", name)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    assert_eq!(
        server.instance_names().await,
        ["inst-0", "inst-1", "inst-2", "zeta", "alpha", "mid"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_takes_the_name_from_a_form_the_query_or_json() {
    let server = TestServer::start().await;
    let requests = [
        (
            "from form",
            server
                .request(Method::POST, "/instances")
                .form(&[("name", "from form")]),
        ),
        (
            "from query",
            server.request(Method::POST, "/instances?name=from%20query"),
        ),
        (
            "flat json",
            server
                .request(Method::POST, "/instances")
                .json(&json!({"name": "flat json"})),
        ),
        (
            "nova json",
            server
                .request(Method::POST, "/instances")
                .json(&json!({"instance": {"name": "nova json"}})),
        ),
    ];
    for (expected, request) in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 201, "{expected}: {body}");
        let id = body["instance"]["id"].as_str().unwrap();
        assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 4);
        assert_eq!(body, instance_json(id, expected, &body));
        assert_eq!(location, format!("/instances/{id}"));

        // The Location names the new instance.
        let (status, shown) =
            status_and_json(server.request(Method::GET, &location).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(shown, body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_names_and_bodies_are_400_and_store_nothing() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    let too_long = "n".repeat(256);
    let form = "application/x-www-form-urlencoded";
    let json = "application/json";
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("", "", String::new(), "name is required"),
        ("", form, "other=1".into(), "unexpected field"),
        ("", form, "name=".into(), "must not be empty"),
        ("", form, "name=%20%20%09".into(), "white space"),
        ("", form, format!("name={too_long}"), "256 characters long"),
        ("", form, "name=a%00b".into(), "control characters"),
        ("", form, "name=%FF%FE".into(), "not valid UTF-8"),
        ("?name=", "", String::new(), "must not be empty"),
        ("", json, "{\"name\": ".into(), "invalid JSON"),
        ("", json, "{}".into(), "name is required"),
        ("", json, "{\"name\": null}".into(), "must be a string"),
        ("", json, "{\"name\": \"   \"}".into(), "white space"),
        ("", json, "\"name\"".into(), "must be an object"),
        (
            "",
            json,
            "{\"instance\": {\"name\": \"x\", \"image\": \"cirros\"}}".into(),
            "unexpected field",
        ),
    ];
    for method in [Method::POST, Method::PUT] {
        let path = if method == Method::POST {
            "/instances".to_owned()
        } else {
            format!("/instances/{id}")
        };
        for (query, content_type, body, expected) in &cases {
            let mut request = server
                .request(method.clone(), &format!("{path}{query}"))
                .body(body.clone());
            if !content_type.is_empty() {
                request = request.header(CONTENT_TYPE, *content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            let (status, body) = status_and_json(response).await;
            assert_eq!(status, 400, "{method} {query} {content_type} {body}");
            let message = assert_fault(&body, "badRequest", 400);
            assert!(
                message.contains(expected),
                "{method} {query}: {message:?} should mention {expected:?}"
            );
        }
    }
    assert_eq!(
        server.instance_names().await,
        ["inst-0", "inst-1", "inst-2"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_of_another_content_type_is_415() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    for (method, path) in [
        (Method::POST, "/instances".to_owned()),
        (Method::PUT, format!("/instances/{id}")),
    ] {
        for content_type in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
        ] {
            let response = server
                .request(method.clone(), &path)
                .header(CONTENT_TYPE, content_type)
                .body("name=x")
                .send()
                .await
                .unwrap();
            let (status, body) = status_and_json(response).await;
            assert_eq!(status, 415, "{method} {content_type}");
            assert_fault(&body, "badMediaType", 415);
        }
    }
    assert_eq!(
        server.instance_names().await,
        ["inst-0", "inst-1", "inst-2"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn show_answers_one_instance_and_404_for_unknown_or_malformed_ids() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    let (status, body) = status_and_json(
        server
            .request(Method::GET, &format!("/instances/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, instance_json(&id, "inst-0", &body));

    let unknown = Uuid::new_v4();
    for bad in [
        unknown.to_string(),
        "not-a-uuid".into(),
        "inst-0".into(),
        format!("{id}x"),
        "%E2%98%83".into(),
    ] {
        let response = server
            .request(Method::GET, &format!("/instances/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 404, "{bad}");
        assert_fault(&body, "itemNotFound", 404);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn update_renames_and_404s_for_unknown_ids() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    let updates = [
        server
            .request(Method::PUT, &format!("/instances/{id}"))
            .form(&[("name", "by form")]),
        server.request(Method::PUT, &format!("/instances/{id}?name=by%20query")),
        server
            .request(Method::PUT, &format!("/instances/{id}"))
            .json(&json!({"name": "by json"})),
        server
            .request(Method::PUT, &format!("/instances/{id}"))
            .json(&json!({"instance": {"name": "by nova json"}})),
    ];
    for (request, expected) in
        updates
            .into_iter()
            .zip(["by form", "by query", "by json", "by nova json"])
    {
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(body, instance_json(&id, expected, &body));
        let (_, shown) = status_and_json(
            server
                .request(Method::GET, &format!("/instances/{id}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(shown["instance"]["name"], expected);
    }
    let unknown = Uuid::new_v4();
    let response = server
        .request(Method::PUT, &format!("/instances/{unknown}"))
        .form(&[("name", "ghost")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_fault(&body, "itemNotFound", 404);
    assert_eq!(
        server.instance_names().await,
        ["by nova json", "inst-1", "inst-2"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_answers_204_once_then_404() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    let response = server
        .request(Method::DELETE, &format!("/instances/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.headers().get(CONTENT_TYPE).is_none());
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(server.instance_names().await, ["inst-1", "inst-2"]);

    let (status, body) = status_and_json(
        server
            .request(Method::DELETE, &format!("/instances/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_fault(&body, "itemNotFound", 404);
    let (status, _) = status_and_json(
        server
            .request(Method::GET, &format!("/instances/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_paths_are_404_and_other_methods_405_with_allow() {
    let server = TestServer::start().await;
    for path in [
        "/",
        "/servers",
        "/instances/",
        "/instances/a/b",
        "/v2.1/instances",
    ] {
        let (status, body) =
            status_and_json(server.request(Method::GET, path).send().await.unwrap()).await;
        assert_eq!(status, 404, "{path}");
        assert_fault(&body, "itemNotFound", 404);
    }
    let id = first_id(&server).await;
    let cases = [
        (Method::PUT, "/instances".to_owned(), "GET, HEAD, POST"),
        (Method::DELETE, "/instances".to_owned(), "GET, HEAD, POST"),
        (
            Method::POST,
            format!("/instances/{id}"),
            "DELETE, GET, HEAD, PUT",
        ),
        (
            Method::PATCH,
            format!("/instances/{id}"),
            "DELETE, GET, HEAD, PUT",
        ),
        (Method::OPTIONS, "/instances".to_owned(), "GET, HEAD, POST"),
    ];
    for (method, path, allow) in cases {
        let response = server.request(method.clone(), &path).send().await.unwrap();
        assert_eq!(response.headers()[ALLOW], allow, "{method} {path}");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 405);
        assert_fault(&body, "badMethod", 405);
    }
    assert_eq!(
        server.instance_names().await.len(),
        3,
        "a 405 changes nothing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn head_answers_like_get_without_a_body() {
    let server = TestServer::start().await;
    let id = first_id(&server).await;
    for path in ["/instances".to_owned(), format!("/instances/{id}")] {
        let get = server.request(Method::GET, &path).send().await.unwrap();
        let get_length = get.bytes().await.unwrap().len();
        let head = server.request(Method::HEAD, &path).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()[CONTENT_LENGTH],
            get_length.to_string().as_str()
        );
        assert!(head.bytes().await.unwrap().is_empty());
    }
    let head = server
        .request(Method::HEAD, &format!("/instances/{}", Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    let server = TestServer::start().await;
    let huge = format!("name={}", "x".repeat(200 * 1024));
    let response = server
        .request(Method::POST, "/instances")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await;
    // The server may answer before the client has sent the whole body and
    // close; either way nothing may be stored.
    if let Ok(response) = response {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 413);
        assert_fault(&body, "overLimit", 413);
    }
    assert_eq!(server.instance_names().await.len(), 3);
    server.stop().await;
}

// A reused connection whose previous request's body was never read broke
// the next request with EPIPE: the client could not know the server would
// close it.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_left_unread_closes_its_connection_and_says_so() {
    let server = TestServer::start().await;
    let started = std::time::Instant::now();
    let answer = server
        .raw(
            b"POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300000\r\n\r\n",
            Duration::from_secs(20),
        )
        .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    // The server closed the connection (raw read to its end) rather than
    // waiting for a body it will never read.
    assert!(started.elapsed() < Duration::from_secs(20), "{answer}");
    assert_eq!(server.instance_names().await.len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_are_all_kept() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut tasks = Vec::new();
    for task in 0..8 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                let name = format!("vm-{task}-{n}");
                let response = server
                    .request(Method::POST, "/instances")
                    .form(&[("name", &name)])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let listed = server.instance_names().await;
    assert_eq!(listed.len(), 3 + 8 * 25);
    for task in 0..8 {
        for n in 0..25 {
            assert!(listed.contains(&format!("vm-{task}-{n}")));
        }
    }
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_walkthrough_works_over_raw_http() {
    let server = TestServer::start().await;
    let answer = server
        .raw(
            b"POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\nConnection: close\r\n\r\nname=demo_one",
            Duration::from_secs(5),
        )
        .await;
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["instance"]["name"], "demo_one");
    assert!(server
        .instance_names()
        .await
        .contains(&"demo_one".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_with_prior_knowledge_is_served() {
    let server = TestServer::start().await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .get(server.url("/instances"))
        .header("X-Auth-Token", "open-sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["instances"].as_array().unwrap().len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start().await;
    let get = "GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n\r\n";
    let missing = "GET /nope HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n\r\n";
    let last = "GET /instances HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = server
        .raw(
            format!("{get}{missing}{last}").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
    let statuses: Vec<&str> = answer
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &answer[at + 9..at + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "403"], "{answer}");
    server.stop().await;
}
