//! The server's edge over real TCP: a panicking handler costs one request a
//! 500, never the server.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use nova_router::{service_fn, Request};
use nova_server::Pipeline;
use nova_tests::{assert_fault, status_and_json, TestServer};

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_handler_is_a_500_and_the_server_keeps_serving() {
    let pipeline = Arc::new(service_fn(|req: Request| async move {
        if req.uri().path() == "/boom" {
            panic!("handler exploded");
        }
        http::Response::new(Bytes::from_static(b"{}"))
    }));
    let server = TestServer::start_pipeline(Pipeline::from_service(pipeline)).await;
    for _ in 0..3 {
        let response = server.client.get(server.url("/boom")).send().await.unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 500);
        assert_fault(&body, "computeFault", 500);
        let fine = server.client.get(server.url("/fine")).send().await.unwrap();
        assert_eq!(fine.status(), 200);
    }
    server.stop().await;
}
