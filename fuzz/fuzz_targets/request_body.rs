//! Fuzz target: `create` and `update` with arbitrary content types, query
//! strings and bodies (form, JSON, anything). The controller must answer a
//! client error or success, never panic, and store only valid names.

#![no_main]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nova_controller::{validate_name, InstanceController, InstanceStore, MemoryStore};
use nova_router::{RoutingArgs, Service};

/// The memory store never waits, so one poll finishes every future.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory store does not wait"),
    }
}

fuzz_target!(|data: &[u8]| {
    // content type \n query \n body
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let content_type = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let store = Arc::new(MemoryStore::seeded());
    let controller = InstanceController::new(store.clone());
    let id = now(store.list()).expect("list")[0].id;
    for (action, params) in [
        ("create", vec![]),
        ("update", vec![("instance_id".to_owned(), id.to_string())]),
    ] {
        let uri = match std::str::from_utf8(query) {
            Ok(query) if !query.is_empty() => format!("/instances?{query}"),
            _ => "/instances".to_owned(),
        };
        let mut builder = http::Request::post(uri.as_str());
        if !content_type.is_empty() {
            builder = builder.header("content-type", content_type);
        }
        let Ok(mut request) = builder.body(Bytes::copy_from_slice(body)) else {
            continue;
        };
        request
            .extensions_mut()
            .insert(RoutingArgs::new(action, params));
        let response = now(controller.call(request)).expect("infallible");
        let status = response.status().as_u16();
        assert!(
            matches!(status, 200 | 201 | 400 | 415),
            "{action}: unexpected status {status}"
        );
        let body: serde_json::Value =
            serde_json::from_slice(response.body()).expect("every answer is JSON");
        assert!(body.is_object());
    }
    for instance in now(store.list()).expect("list") {
        assert_eq!(validate_name(&instance.name), Ok(()), "stored {:?}", instance.name);
    }
});
