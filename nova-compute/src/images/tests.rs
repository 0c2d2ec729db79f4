//! The compute API's image proxy in memory, against Nova's API samples
//! (`doc/api_samples/images/`) and its removal in 2.36.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::test_client::{keys, member, TestClient};
use crate::{Clock, Cloud, Image, Visibility};

fn message(body: &Value) -> &str {
    body.as_object()
        .and_then(|o| o.values().next())
        .and_then(|fault| fault["message"].as_str())
        .unwrap_or_default()
}

fn names(body: &Value) -> Vec<&str> {
    body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect()
}

/// cirros, and an image with the properties Nova's view reads.
fn two_images() -> Cloud {
    let mut ubuntu = Image::named("ubuntu");
    ubuntu.min_disk = 3;
    ubuntu.min_ram = 512;
    ubuntu.properties = BTreeMap::from([
        ("architecture".to_owned(), "x86_64".to_owned()),
        ("auto_disk_config".to_owned(), "True".to_owned()),
        ("image_type".to_owned(), "snapshot".to_owned()),
    ]);
    Cloud {
        images: vec![Image::cirros(), ubuntu],
        ..Cloud::default()
    }
}

#[tokio::test]
async fn images_have_the_keys_of_novas_samples() {
    let client = TestClient::new(two_images());
    let (status, list) = client.get("/images", "2.1").await;
    assert_eq!(status, 200);
    assert_eq!(keys(&list), ["images"]);
    assert_eq!(keys(&list["images"][0]), ["id", "links", "name"]);
    let (_, detail) = client.get("/images/detail", "2.35").await;
    // images-details-get-resp.json's keys; the second image has
    // auto_disk_config, as image-get-resp.json's does.
    assert_eq!(
        keys(&detail["images"][0]),
        [
            "OS-EXT-IMG-SIZE:size",
            "created",
            "id",
            "links",
            "metadata",
            "minDisk",
            "minRam",
            "name",
            "progress",
            "status",
            "updated"
        ]
    );
    let id = Image::named("ubuntu").id;
    let (status, shown) = client.get(&format!("/images/{id}"), "2.1").await;
    assert_eq!(status, 200);
    assert_eq!(
        shown,
        json!({"image": {
            "OS-DCF:diskConfig": "AUTO",
            "OS-EXT-IMG-SIZE:size": 21_692_416,
            "created": "2024-01-01T00:00:00Z",
            "id": id.to_string(),
            "links": [
                {"href": format!("http://nova.test/images/{id}"), "rel": "self"},
                {"href": format!("http://nova.test/images/{id}"), "rel": "bookmark"},
                {
                    "href": format!("http://nova.test/image/images/{id}"),
                    "rel": "alternate",
                    "type": "application/vnd.openstack.image",
                },
            ],
            "metadata": {
                "architecture": "x86_64",
                "auto_disk_config": "True",
                "image_type": "snapshot",
            },
            "minDisk": 3,
            "minRam": 512,
            "name": "ubuntu",
            "progress": 100,
            "status": "ACTIVE",
            "updated": "2024-01-01T00:00:00Z",
        }})
    );
}

#[tokio::test]
async fn the_proxy_is_gone_from_2_36() {
    let client = TestClient::new(Cloud::default());
    let id = Image::CIRROS_ID;
    for path in [
        "/images".to_owned(),
        "/images/detail".to_owned(),
        format!("/images/{id}"),
    ] {
        let (status, _) = client.get(&path, "2.35").await;
        assert_eq!(status, 200, "{path}");
        let (status, body) = client.get(&path, "2.36").await;
        assert_eq!(
            body,
            json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}),
            "{path}"
        );
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn an_unknown_image_is_not_found() {
    let client = TestClient::new(Cloud::default());
    for id in ["nope", "0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b"] {
        let (status, body) = client.get(&format!("/images/{id}"), "2.1").await;
        assert_eq!((status, message(&body)), (404, "Image not found."));
    }
}

#[tokio::test]
async fn listings_filter_as_nova_asks_the_image_service() {
    let client = TestClient::new(two_images());
    let table: [(&str, &[&str]); 8] = [
        ("?name=ubuntu", &["ubuntu"]),
        ("?status=ACTIVE", &["cirros", "ubuntu"]),
        ("?status=SAVING", &[]),
        ("?minRam=256", &["ubuntu"]),
        ("?minDisk=1", &["ubuntu"]),
        ("?type=snapshot", &["ubuntu"]),
        ("?property-architecture=x86_64", &["ubuntu"]),
        ("?whatever=1", &["cirros", "ubuntu"]),
    ];
    for (query, expected) in table {
        let (status, body) = client.get(&format!("/images/detail{query}"), "2.1").await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(names(&body), expected, "{query}");
    }
}

#[tokio::test]
async fn listings_page_with_limit_and_marker() {
    let client = TestClient::new(two_images());
    let (_, body) = client.get("/images?limit=1", "2.1").await;
    assert_eq!(names(&body), ["cirros"]);
    let cirros = Image::CIRROS_ID;
    assert_eq!(
        body["images_links"],
        json!([{"rel": "next", "href": format!("http://nova.test/images?limit=1&marker={cirros}")}])
    );
    let (_, body) = client
        .get(&format!("/images/detail?limit=1&marker={cirros}"), "2.1")
        .await;
    assert_eq!(names(&body), ["ubuntu"]);
    let (status, body) = client.get("/images?marker=nope", "2.1").await;
    assert_eq!((status, message(&body)), (400, "marker [nope] not found"));
    let (status, body) = client.get("/images?limit=0", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (
            400,
            "Invalid input for query parameters limit. Value: 0. 0 is less than the minimum of 1"
        )
    );
    let (status, body) = client.get("/images?limit=x", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (
            400,
            "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"
        )
    );
}

/// Stores a snapshot of a server of `p1`'s, taken now, its upload ending
/// in two seconds; its id and the server's.
async fn snapshot_of_p1(client: &TestClient) -> (Uuid, Uuid) {
    let now = client.clock.now();
    let server = Uuid::new_v4();
    let image = Image {
        id: Uuid::new_v4(),
        owner: "p1".to_owned(),
        created_at: now,
        active_at: now.plus_micros(2_000_000),
        visibility: Visibility::Private,
        protected: false,
        properties: BTreeMap::from([
            ("image_type".to_owned(), "snapshot".to_owned()),
            ("instance_uuid".to_owned(), server.to_string()),
        ]),
        ..Image::named("snap")
    };
    client
        .api
        .store()
        .create_image(image.clone())
        .await
        .unwrap();
    (image.id, server)
}

#[tokio::test]
async fn a_snapshot_is_saving_until_its_upload_ends() {
    let client = TestClient::new(Cloud::default());
    let (id, server) = snapshot_of_p1(&client).await;
    let path = format!("/images/{id}");
    let p1 = || Some(member("p1"));
    let (status, shown) = client.get_as(&path, "2.1", p1()).await;
    assert_eq!(status, 200, "{shown}");
    let image = &shown["image"];
    assert_eq!(
        (
            &image["status"],
            &image["progress"],
            &image["OS-EXT-IMG-SIZE:size"]
        ),
        (&json!("SAVING"), &json!(25), &Value::Null)
    );
    assert_eq!(image["server"]["id"], server.to_string());
    assert_eq!(
        image["server"]["links"][0]["href"],
        format!("http://nova.test/servers/{server}")
    );
    assert_eq!(image["metadata"]["image_type"], "snapshot");
    client.clock.advance_micros(1_000_000);
    let (_, shown) = client.get_as(&path, "2.1", p1()).await;
    assert_eq!(
        (&shown["image"]["status"], &shown["image"]["progress"]),
        (&json!("SAVING"), &json!(50))
    );
    client.clock.advance_micros(1_000_000);
    let (_, shown) = client.get_as(&path, "2.1", p1()).await;
    let image = &shown["image"];
    assert_eq!(
        (
            &image["status"],
            &image["progress"],
            &image["OS-EXT-IMG-SIZE:size"]
        ),
        (&json!("ACTIVE"), &json!(100), &json!(21_692_416))
    );
    assert_eq!(image["updated"], client.clock.now().to_seconds_string());
}

#[tokio::test]
async fn a_snapshot_is_listed_first_to_its_project_and_hidden_from_others() {
    let client = TestClient::new(Cloud::default());
    let (id, server) = snapshot_of_p1(&client).await;
    let (_, body) = client.get_as("/images", "2.1", Some(member("p1"))).await;
    assert_eq!(names(&body), ["snap", "cirros"]);
    let (_, body) = client.get_as("/images", "2.1", Some(member("p2"))).await;
    assert_eq!(names(&body), ["cirros"]);
    let (status, body) = client
        .get_as(&format!("/images/{id}"), "2.1", Some(member("p2")))
        .await;
    assert_eq!((status, message(&body)), (404, "Image not found."));
    // The shared token acts as an admin: every image.
    let (_, body) = client.get("/images/detail", "2.1").await;
    assert_eq!(names(&body), ["snap", "cirros"]);
    // Nova hands the image service the status lowercased: a queued
    // snapshot shows as SAVING, but is not `saving`.
    let table: [(String, &[&str]); 5] = [
        ("?status=QUEUED".to_owned(), &["snap"]),
        ("?status=SAVING".to_owned(), &[]),
        ("?status=active".to_owned(), &["cirros"]),
        (format!("?server={server}"), &["snap"]),
        (
            format!("?server=http://nova.test/servers/{server}"),
            &["snap"],
        ),
    ];
    for (query, expected) in table {
        let (_, body) = client.get(&format!("/images/detail{query}"), "2.1").await;
        assert_eq!(names(&body), expected, "{query}");
    }
}
