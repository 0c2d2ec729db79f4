//! The real clients against the control API's misbehaviour: the README's
//! example (the next creates of `db-*` servers fail with 500, twice, and
//! `openstack server create --wait` reports it), and openstacksdk's
//! `create_server(wait=True)` raising when the build ends in `ERROR`, as
//! it would against a real cloud. One server serves the whole scenario.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_tests::clients::{self, Clients, PASSWORD};
use nova_tests::{status_and_json, TestServer};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn clients_see_the_failures_the_control_api_asks_for() {
    let Some(venv) = clients::venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_config(&clients::quick_cloud_config(dir.path())).await;
    // The README's example, word for word but for the address.
    let behaviors = [
        json!({"event": "server.create", "match": {"name": "^db-"},
               "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}),
        json!({"event": "server.create", "match": {"name": "^sdk-fail-"},
               "behavior": {"fail": {"status": 500, "message": "injected"}}}),
        json!({"event": "server.build", "match": {"name": "^sdk-error-"},
               "behavior": {"error": {"after_seconds": 0.5, "message": "No valid host was found."}}}),
    ];
    for behavior in behaviors {
        let added = server
            .client
            .post(server.url("/control/behaviors"))
            .header("X-Auth-Token", "open-sesame")
            .json(&behavior)
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(added).await;
        assert_eq!(status, 201, "{body}");
    }
    let demo = Clients::openrc(venv, server.addr(), "demo", "demo", PASSWORD);
    let seen = tokio::task::spawn_blocking(move || {
        let create = [
            "server",
            "create",
            "--flavor",
            "m1.tiny",
            "--image",
            "cirros",
            "--no-network",
            "--wait",
            "-f",
            "json",
            "db-1",
        ];
        let first = demo.openstack_fails(&create);
        let second = demo.openstack_fails(&create);
        let third = demo.openstack_json(&create);
        let sdk = demo.python_json("tests/clients/control.py", &[]);
        (first, second, third, sdk)
    })
    .await;
    let (first, second, third, sdk) = match seen {
        Ok(seen) => seen,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    for refused in [&first, &second] {
        // python-openstackclient prints the status and the fault's message:
        // `HttpException: 500: Server Error for url: …/servers, injected`.
        assert!(refused.contains("injected"), "{refused}");
        assert!(refused.contains("HttpException: 500"), "{refused}");
    }
    assert_eq!(third["name"], "db-1", "{third}");
    assert_eq!(third["status"], "ACTIVE", "{third}");

    let create = &sdk["create"];
    assert_eq!(create["status_code"], 500, "{sdk}");
    assert!(
        create["message"].as_str().unwrap().contains("injected"),
        "{sdk}"
    );
    let waited = &sdk["create_server"];
    // What the SDK raises when a real cloud's build fails.
    assert_eq!(waited["raised"], "SDKException", "{sdk}");
    assert_eq!(
        waited["message"],
        "Error in creating the server. Compute service reports fault: No valid host was found.",
        "{sdk}"
    );
    assert_eq!(waited["status"], "ERROR", "{sdk}");
    assert_eq!(
        waited["fault"]["message"],
        Value::from("No valid host was found."),
        "{sdk}"
    );
    server.stop().await;
}
