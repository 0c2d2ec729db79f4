//! The image service in memory, as openstacksdk and the `openstack`
//! CLI call it.

use std::collections::BTreeMap;

use bytes::Bytes;
use nova_router::{ScriptName, Service};
use serde_json::{json, Value};

use super::ImageServiceApp;
use crate::Image;

fn images() -> Vec<Image> {
    let mut ubuntu = Image::named("ubuntu");
    ubuntu.disk_format = "raw".to_owned();
    ubuntu.size = 1 << 30;
    ubuntu.properties = BTreeMap::from([("os_distro".to_owned(), "ubuntu".to_owned())]);
    let mut fedora = Image::named("fedora");
    fedora.size = 1 << 20;
    vec![Image::cirros(), ubuntu, fedora]
}

async fn send(app: &ImageServiceApp, method: &str, path: &str) -> (u16, Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "cloud.test")
        .body(Bytes::new())
        .unwrap();
    req.extensions_mut().insert(ScriptName::new("/image"));
    let response = app.call(req).await.unwrap();
    let status = response.status().as_u16();
    let body = if response.body().is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(response.body()).unwrap()
    };
    (status, body)
}

async fn get(app: &ImageServiceApp, path: &str) -> (u16, Value) {
    send(app, "GET", path).await
}

fn names(body: &Value) -> Vec<&str> {
    body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect()
}

fn message(body: &Value) -> &str {
    body.as_object()
        .and_then(|o| o.values().next())
        .and_then(|fault| fault["message"].as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_mount_point_answers_glances_versions_for_discovery() {
    let app = ImageServiceApp::new(images());
    let (status, body) = get(&app, "/").await;
    assert_eq!(status, 300);
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 12);
    assert_eq!(
        versions[0],
        json!({"id": "v2.16", "status": "CURRENT", "links": [
            {"rel": "self", "href": "http://cloud.test/image/v2/"},
        ]})
    );
    assert!(versions[1..].iter().all(|v| v["status"] == "SUPPORTED"));
    assert_eq!(versions[11]["id"], "v2.0");
    let (status, explicit) = get(&app, "/versions").await;
    assert_eq!((status, &explicit), (200, &body));
    let (status, body) = send(&app, "HEAD", "/").await;
    assert_eq!((status, body), (300, Value::Null));
    let (status, _) = send(&app, "POST", "/").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn an_image_reads_as_glance_v2_shows_it() {
    let app = ImageServiceApp::new(images());
    let id = Image::named("ubuntu").id;
    let (status, body) = get(&app, &format!("/v2/images/{id}")).await;
    assert_eq!(status, 200);
    let checksum = body["checksum"].as_str().unwrap().to_owned();
    let hash = body["os_hash_value"].as_str().unwrap().to_owned();
    assert_eq!((checksum.len(), hash.len()), (32, 128));
    assert_eq!(
        body,
        json!({
            "id": id.to_string(),
            "name": "ubuntu",
            "status": "active",
            "visibility": "public",
            "protected": false,
            "os_hidden": false,
            "checksum": checksum,
            "os_hash_algo": "sha512",
            "os_hash_value": hash,
            "owner": crate::DEFAULT_PROJECT,
            "size": 1 << 30,
            "virtual_size": null,
            "min_disk": 0,
            "min_ram": 0,
            "disk_format": "raw",
            "container_format": "bare",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "tags": [],
            "self": format!("/v2/images/{id}"),
            "file": format!("/v2/images/{id}/file"),
            "schema": "/v2/schemas/image",
            "os_distro": "ubuntu",
        })
    );
    // The same image always has the same checksum.
    let (_, again) = get(&app, &format!("/v2/images/{id}")).await;
    assert_eq!(again["checksum"], body["checksum"]);
}

#[tokio::test]
async fn an_unknown_image_is_404() {
    let app = ImageServiceApp::new(images());
    for id in ["0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b", "cirros"] {
        let (status, body) = get(&app, &format!("/v2/images/{id}")).await;
        assert_eq!(
            (status, message(&body)),
            (404, format!("No image found with ID {id}").as_str())
        );
        assert!(body.get("itemNotFound").is_some());
    }
    let (status, _) = get(&app, "/v2/nothing").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_listing_has_glances_links_and_filters() {
    let app = ImageServiceApp::new(images());
    let (status, body) = get(&app, "/v2/images").await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["cirros", "ubuntu", "fedora"]);
    assert_eq!(body["first"], "/v2/images");
    assert_eq!(body["schema"], "/v2/schemas/images");
    assert!(body.get("next").is_none());
    let table: [(&str, &[&str]); 12] = [
        ("?name=cirros", &["cirros"]),
        ("?name=in:cirros,fedora", &["cirros", "fedora"]),
        ("?status=active", &["cirros", "ubuntu", "fedora"]),
        ("?status=queued", &[]),
        ("?visibility=public", &["cirros", "ubuntu", "fedora"]),
        ("?visibility=all", &["cirros", "ubuntu", "fedora"]),
        ("?visibility=private", &[]),
        ("?disk_format=raw", &["ubuntu"]),
        ("?os_distro=ubuntu", &["ubuntu"]),
        ("?size_min=1048577", &["cirros", "ubuntu"]),
        ("?os_hidden=true", &[]),
        ("?tag=x", &[]),
    ];
    for (query, expected) in table {
        let (status, body) = get(&app, &format!("/v2/images{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(names(&body), expected, "{query}");
    }
}

#[tokio::test]
async fn the_listing_sorts_and_pages_as_glance_does() {
    let app = ImageServiceApp::new(images());
    let (_, body) = get(&app, "/v2/images?sort_key=name&sort_dir=asc").await;
    assert_eq!(names(&body), ["cirros", "fedora", "ubuntu"]);
    let (_, body) = get(&app, "/v2/images?sort=size:desc,name").await;
    assert_eq!(names(&body), ["ubuntu", "cirros", "fedora"]);
    let (_, body) = get(&app, "/v2/images?limit=2&sort_key=name&sort_dir=asc").await;
    assert_eq!(names(&body), ["cirros", "fedora"]);
    let fedora = Image::named("fedora").id;
    assert_eq!(
        body["first"],
        "/v2/images?limit=2&sort_key=name&sort_dir=asc"
    );
    let next = body["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("/v2/images?limit=2&sort_key=name&sort_dir=asc&marker={fedora}")
    );
    let (_, body) = get(&app, next).await;
    assert_eq!(names(&body), ["ubuntu"]);
    assert!(body.get("next").is_none());
    assert_eq!(
        body["first"],
        "/v2/images?limit=2&sort_key=name&sort_dir=asc"
    );
}

#[tokio::test]
async fn bad_listing_parameters_are_glances_400s() {
    let app = ImageServiceApp::new(images());
    let table = [
        ("?limit=x", "limit param must be an integer"),
        ("?limit=-1", "limit param must be positive"),
        ("?sort_dir=up", "Invalid sort direction: up"),
        (
            "?sort_key=colour",
            "Invalid sort key: colour. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at.",
        ),
        ("?sort=name&sort_key=id", "Old and new sorting syntax cannot be combined"),
        ("?visibility=everyone", "Invalid visibility value: everyone"),
        ("?member_status=maybe", "Invalid status: maybe"),
        (
            "?os_hidden=maybe",
            "Invalid value 'maybe' for 'os_hidden' filter. Valid values are 'true' or 'false'.",
        ),
        (
            "?marker=0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b",
            "No image found with ID 0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b",
        ),
    ];
    for (query, expected) in table {
        let (status, body) = get(&app, &format!("/v2/images{query}")).await;
        assert_eq!((status, message(&body)), (400, expected), "{query}");
    }
}
