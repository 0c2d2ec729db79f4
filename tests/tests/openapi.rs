//! The OpenAPI documents against the code: the routes each app has and the
//! operations its document describes must be the same, so neither drifts;
//! every error a document names is a Nova fault of the right kind; and each
//! document is served where its configuration file says.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;

/// The compute API's document, the file nova-compute's
/// `COMPUTE_OPENAPI_DOCUMENT` is (this crate does not depend on
/// nova-compute; the served document is checked against it below).
const COMPUTE_DOCUMENT: &str = include_str!("../../nova-compute/openapi.json");

fn instance_document() -> Value {
    serde_json::from_str(nova_controller::OPENAPI_DOCUMENT).unwrap()
}

fn compute_document() -> Value {
    serde_json::from_str(COMPUTE_DOCUMENT).unwrap()
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    operations
}

fn routed(mapper: &nova_router::Mapper) -> BTreeSet<(String, String)> {
    mapper
        .routes()
        .map(|(template, method, _)| (template.to_owned(), method.to_string()))
        .collect()
}

/// What a local `$ref` (`#/components/...`) points at, followed until
/// it is not a reference.
fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not a local reference"));
        value = document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} points at nothing"));
    }
    value
}

/// Every operation of `document`: (path, method, operation).
fn operations(document: &Value) -> Vec<(&str, &str, &Value)> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.push((path.as_str(), method, operation));
            }
        }
    }
    all
}

#[test]
fn the_instance_document_describes_exactly_the_routes_of_the_instance_router() {
    let documented: BTreeSet<(String, String)> = documented_operations(&instance_document())
        .into_iter()
        .filter(|(path, _)| path != "/openapi.json")
        .collect();
    assert_eq!(documented, routed(&nova_router::instance_routes()));
}

#[test]
fn the_compute_document_describes_exactly_the_routes_of_the_compute_app() {
    // The compute app routes the compute API's table and, beside it, the
    // seed's instances on the same records.
    let mut expected = routed(&nova_router::compute_routes());
    expected.extend(routed(&nova_router::instance_routes()));
    assert_eq!(documented_operations(&compute_document()), expected);
}

#[test]
fn every_reference_of_the_compute_document_resolves_and_its_parts_fit() {
    let document = compute_document();
    assert_eq!(document["openapi"], "3.1.0");
    // Every `$ref` anywhere points at something.
    fn walk<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    refs.push(reference);
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap();
        assert!(document.pointer(pointer).is_some(), "{reference}");
    }
    let ids: Vec<&str> = operations(&document)
        .iter()
        .map(|(_, _, operation)| operation["operationId"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds are unique");
    for (path, method, operation) in operations(&document) {
        // The path's parameters are exactly its template's.
        let template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = document["paths"][path]
            .get("parameters")
            .into_iter()
            .chain(operation.get("parameters"))
            .flat_map(|list| list.as_array().unwrap())
            .map(|parameter| resolve(&document, parameter))
            .filter(|parameter| parameter["in"] == "path")
            .map(|parameter| parameter["name"].as_str().unwrap())
            .collect();
        assert_eq!(declared, template, "{method} {path}");
        // Every operation takes the microversion header.
        let versioned = operation["parameters"].as_array().unwrap().iter().any(|p| {
            let p = resolve(&document, p);
            p["in"] == "header" && p["name"] == "OpenStack-API-Version"
        });
        assert!(versioned, "{method} {path}");
        // Links lead to operations that exist.
        for response in operation["responses"].as_object().unwrap().values() {
            for link in response
                .get("links")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|links| links.values())
            {
                let target = link["operationId"].as_str().unwrap();
                assert!(unique.contains(target), "{method} {path} links to {target}");
            }
        }
    }
    assert_eq!(
        document["components"]["securitySchemes"]["authToken"]["name"],
        "X-Auth-Token"
    );
}

/// Every error answer but the token filter's 401 is a Nova fault.
#[test]
fn every_documented_error_is_a_nova_fault_of_the_right_kind() {
    for document in [instance_document(), compute_document()] {
        for (path, method, operation) in operations(&document) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                if code < 400 {
                    continue;
                }
                let response = resolve(&document, response);
                let schema = resolve(
                    &document,
                    &response["content"]["application/json"]["schema"],
                );
                let kinds: Vec<&str> = schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap())
                    .collect();
                if code == 401 {
                    // keystonemiddleware's answer, in front of Nova: its own
                    // body, not a fault.
                    assert_eq!(kinds, ["error"], "{path} {method} {status}");
                    continue;
                }
                let fault = nova_router::Fault::new(http::StatusCode::from_u16(code).unwrap(), "x");
                assert_eq!(kinds, [fault.kind()], "{path} {method} {status}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_document_is_served_without_a_token_where_its_api_is() {
    // The built-in configuration: the seed's instance API at the root.
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
    let mut expected = instance_document();
    expected["servers"] = serde_json::json!([{"url": "/"}]);
    assert_eq!(served, expected);
    builtin.stop().await;

    // Behind Nova's URL map the compute API is mounted at /v2.1, and its
    // document says so.
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
    let mut expected = compute_document();
    expected["servers"] = serde_json::json!([{"url": "/v2.1"}]);
    assert_eq!(served, expected);
    let response = nova_like
        .client
        .delete(nova_like.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    nova_like.stop().await;
}
