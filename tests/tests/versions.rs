//! Version discovery and microversions over real TCP, against the shipped
//! `api-paste.ini`: the documents clients read before their first call,
//! without a token, and the negotiation of `OpenStack-API-Version` on the
//! authenticated API. One server serves every test of this file.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_tests::{assert_fault, repo_file, status_and_json, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// The shipped file, served once for every step below.
#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_file_serves_version_documents_and_negotiates_microversions() {
    let server = TestServer::start_config(&repo_file("etc/nova-rs/api-paste.ini")).await;
    the_v21_document_answers_without_a_token_with_and_without_a_slash(&server).await;
    the_self_links_lead_back_to_themselves(&server).await;
    the_v20_document_answers_at_v2_with_and_without_a_slash(&server).await;
    the_api_echoes_the_version_it_used_on_every_answer(&server).await;
    bad_and_unserved_versions_are_refused_in_novas_words(&server).await;
    server.stop().await;
}

async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = server.client.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn the_v21_document_answers_without_a_token_with_and_without_a_slash(server: &TestServer) {
    let expected = json!({"version": {
        "id": "v2.1",
        "status": "CURRENT",
        "version": "2.100",
        "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("http://{}/v2.1/", server.addr())},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1",
        }],
    }});
    for path in ["/v2.1", "/v2.1/"] {
        let response = get(server, path, &[]).await;
        assert!(response.headers().contains_key("x-openstack-request-id"));
        let (status, body) = status_and_json(response).await;
        assert_eq!((status, &body), (200, &expected), "{path}");
    }
    // Below the version path is the API, which wants a Keystone token.
    let (status, _) = status_and_json(get(server, "/v2.1/instances", &[]).await).await;
    assert_eq!(status, 401);
}

async fn the_self_links_lead_back_to_themselves(server: &TestServer) {
    let (status, list) = status_and_json(get(server, "/", &[]).await).await;
    assert_eq!(status, 200);
    let host = format!("http://{}", server.addr());
    // Nova's versions.py lists v2.0 (deprecated in Nova since 2025, no
    // microversions) and v2.1, sorted by id.
    assert_eq!(
        list,
        json!({"versions": [
            {
                "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
                "updated": "2011-01-21T11:33:21Z",
                "links": [{"rel": "self", "href": format!("{host}/v2/")}],
            },
            {
                "id": "v2.1", "status": "CURRENT", "version": "2.100", "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": format!("{host}/v2.1/")}],
            },
        ]})
    );
    // Every self link, of the list and of each document, answers a
    // document with that same self link.
    let mut hrefs: Vec<String> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["links"][0]["href"].as_str().unwrap().to_owned())
        .collect();
    while let Some(href) = hrefs.pop() {
        for url in [href.clone(), href.trim_end_matches('/').to_owned()] {
            let response = server.client.get(&url).send().await.unwrap();
            let (status, document) = status_and_json(response).await;
            assert_eq!(status, 200, "{url}");
            assert_eq!(
                document["version"]["links"][0]["href"],
                href.as_str(),
                "{url}"
            );
        }
    }
}

async fn the_v20_document_answers_at_v2_with_and_without_a_slash(server: &TestServer) {
    let expected = json!({"version": {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("http://{}/v2/", server.addr())},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2",
        }],
    }});
    for path in ["/v2", "/v2/"] {
        let response = get(server, path, &[]).await;
        assert!(response.headers().contains_key("x-compute-request-id"));
        let (status, body) = status_and_json(response).await;
        assert_eq!((status, &body), (200, &expected), "{path}");
    }
    // nova-rs serves no compute API below /v2/.
    let (status, _) = status_and_json(get(server, "/v2/servers", &[]).await).await;
    assert_eq!(status, 404);
}

async fn the_api_echoes_the_version_it_used_on_every_answer(server: &TestServer) {
    for (headers, path, status, used) in [
        (&[][..], "/v2.1/instances", 200, "2.1"),
        (
            &[("OpenStack-API-Version", "compute 2.1")][..],
            "/v2.1/servers",
            200,
            "2.1",
        ),
        (
            &[("OpenStack-API-Version", "compute latest")][..],
            "/v2.1/servers",
            200,
            "2.100",
        ),
        (
            &[("X-OpenStack-Nova-API-Version", "2.47")][..],
            "/v2.1/flavors",
            200,
            "2.47",
        ),
        (
            &[("OpenStack-API-Version", "compute 2.9")][..],
            "/v2.1/servers/00000000-0000-4000-8000-000000000000",
            404,
            "2.9",
        ),
    ] {
        let mut request = server.request(Method::GET, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{headers:?} {path}");
        let seen = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(seen("openstack-api-version"), format!("compute {used}"));
        assert_eq!(seen("x-openstack-nova-api-version"), used);
        assert_eq!(
            seen("vary"),
            "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        );
    }
}

async fn bad_and_unserved_versions_are_refused_in_novas_words(server: &TestServer) {
    for (header, status, kind, message) in [
        (
            "compute 2.101",
            406,
            "computeFault",
            "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100.",
        ),
        (
            "compute 3.0",
            406,
            "computeFault",
            "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.100.",
        ),
        (
            "compute 2.one",
            400,
            "badRequest",
            "API Version String 2.one is of invalid format. Must be of format MajorNum.MinorNum.",
        ),
    ] {
        let response = server
            .request(Method::POST, "/v2.1/instances")
            .header("OpenStack-API-Version", header)
            .form(&[("name", "refused")])
            .send()
            .await
            .unwrap();
        let (got, body): (u16, Value) = status_and_json(response).await;
        assert_eq!(got, status, "{header}: {body}");
        assert_eq!(assert_fault(&body, kind, status), message);
    }
    // Nothing refused was created; without a token the token check answers
    // first, as Nova's authtoken does before any controller.
    let (_, listing) = status_and_json(
        server
            .request(Method::GET, "/v2.1/instances")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let names: Vec<&Value> = listing["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instance| &instance["name"])
        .collect();
    assert_eq!(
        names,
        [&json!("inst-0"), &json!("inst-1"), &json!("inst-2")]
    );
    let response = server
        .client
        .get(server.url("/v2.1/instances"))
        .header("OpenStack-API-Version", "compute 9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
