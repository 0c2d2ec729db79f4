//! The OpenAPI document against the code: the routes the router has and the
//! operations the document describes must be the same, so neither drifts.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(nova_controller::OPENAPI_DOCUMENT).unwrap()
}

fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in methods {
            if item.get(method).is_some() {
                operations.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    operations
}

#[test]
fn the_document_describes_exactly_the_routes_of_the_instance_router() {
    let routed: BTreeSet<(String, String)> = nova_router::instance_routes()
        .routes()
        .map(|(template, method, _)| (template.to_owned(), method.to_string()))
        .collect();
    let documented: BTreeSet<(String, String)> = documented_operations(&document())
        .into_iter()
        .filter(|(path, _)| path != "/openapi.json")
        .collect();
    assert_eq!(documented, routed);
}

#[test]
fn every_documented_error_is_a_nova_fault_of_the_right_kind() {
    let document = document();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses") else {
                continue;
            };
            for (status, response) in responses.as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                if code < 400 {
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"];
                let kinds: Vec<&String> = schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| match k {
                        Value::String(k) => k,
                        _ => panic!("{path} {method} {status}: kind is not a string"),
                    })
                    .collect();
                let fault = nova_router::Fault::new(http::StatusCode::from_u16(code).unwrap(), "x");
                assert_eq!(
                    kinds,
                    [&fault.kind().into_owned()],
                    "{path} {method} {status}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_served_without_a_token_where_the_api_is() {
    let builtin = nova_tests::TestServer::start().await;
    let response = builtin
        .client
        .get(builtin.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    let mut expected = document();
    expected["servers"] = serde_json::json!([{"url": "/"}]);
    assert_eq!(served, expected);
    builtin.stop().await;

    // Behind Nova's URL map the API is mounted at /v2.1, and the document
    // says so.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/nova-rs/api-paste.ini");
    let nova_like = nova_tests::TestServer::start_config(std::path::Path::new(file)).await;
    let served: Value = nova_like
        .client
        .get(nova_like.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["servers"], serde_json::json!([{"url": "/v2.1"}]));
    let response = nova_like
        .client
        .delete(nova_like.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    nova_like.stop().await;
}
