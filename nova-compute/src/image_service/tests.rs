//! The image service in memory, as openstacksdk and the `openstack`
//! CLI call it: the configured images, and snapshots in the store as
//! their projects, other projects and admins see them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use nova_router::{RequestContext, ScriptName, Service};
use serde_json::{json, Value};
use uuid::Uuid;

use super::ImageServiceApp;
use crate::{
    Clock, Cloud, Image, ImageStore, ManualClock, MemoryServerStore, Visibility, DEFAULT_PROJECT,
};

fn images() -> Vec<Image> {
    let mut ubuntu = Image::named("ubuntu");
    ubuntu.disk_format = "raw".to_owned();
    ubuntu.size = 1 << 30;
    ubuntu.properties = BTreeMap::from([("os_distro".to_owned(), "ubuntu".to_owned())]);
    let mut fedora = Image::named("fedora");
    fedora.size = 1 << 20;
    vec![Image::cirros(), ubuntu, fedora]
}

/// The service over `images()` and an empty memory store.
fn app() -> ImageServiceApp {
    Glance::new().app
}

/// The service over `images()` and a memory store of snapshots, on a
/// clock the tests move.
struct Glance {
    app: ImageServiceApp,
    store: Arc<MemoryServerStore>,
    clock: ManualClock,
}

impl Glance {
    fn new() -> Self {
        let store = Arc::new(MemoryServerStore::new());
        let clock = ManualClock::starting_now();
        let cloud = Cloud {
            images: images(),
            ..Cloud::default()
        };
        let app = ImageServiceApp::with_clock(store.clone(), cloud, Arc::new(clock.clone()));
        Glance { app, store, clock }
    }

    /// Stores a snapshot `name` of `owner`'s, taken now, active after two
    /// seconds, shared with `members` if any.
    async fn snapshot(&self, name: &str, owner: &str, members: &[&str]) -> Uuid {
        let now = self.clock.now();
        let image = Image {
            id: Uuid::new_v4(),
            owner: owner.to_owned(),
            created_at: now,
            active_at: now.plus_micros(2_000_000),
            visibility: if members.is_empty() {
                Visibility::Private
            } else {
                Visibility::Shared
            },
            protected: false,
            members: members.iter().map(|&m| m.to_owned()).collect(),
            properties: BTreeMap::from([("image_type".to_owned(), "snapshot".to_owned())]),
            ..Image::named(name)
        };
        self.store.create_image(image.clone()).await.unwrap();
        image.id
    }

    async fn get(&self, path: &str, caller: Option<&str>) -> (u16, Value) {
        send_as(&self.app, "GET", path, caller.map(member)).await
    }

    async fn delete(&self, path: &str, caller: Option<&str>) -> (u16, Value) {
        send_as(&self.app, "DELETE", path, caller.map(member)).await
    }
}

/// A member (not an admin) of `project`, as a token filter describes
/// the caller.
fn member(project: &str) -> RequestContext {
    RequestContext {
        user_id: "u".to_owned(),
        project_id: project.to_owned(),
        roles: vec!["member".to_owned()],
    }
}

async fn send(app: &ImageServiceApp, method: &str, path: &str) -> (u16, Value) {
    send_as(app, method, path, None).await
}

/// `method path` as `caller` (the shared token if `None`).
async fn send_as(
    app: &ImageServiceApp,
    method: &str,
    path: &str,
    caller: Option<RequestContext>,
) -> (u16, Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "cloud.test")
        .body(Bytes::new())
        .unwrap();
    req.extensions_mut().insert(ScriptName::new("/image"));
    if let Some(caller) = caller {
        req.extensions_mut().insert(caller);
    }
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
    let app = app();
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
    let app = app();
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
            "protected": true,
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
    let app = app();
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
    let app = app();
    let (status, body) = get(&app, "/v2/images").await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["cirros", "ubuntu", "fedora"]);
    assert_eq!(body["first"], "/v2/images");
    assert_eq!(body["schema"], "/v2/schemas/images");
    assert!(body.get("next").is_none());
    let table: [(&str, &[&str]); 14] = [
        ("?name=cirros", &["cirros"]),
        ("?name=in:cirros,fedora", &["cirros", "fedora"]),
        ("?status=active", &["cirros", "ubuntu", "fedora"]),
        ("?status=queued", &[]),
        ("?visibility=public", &["cirros", "ubuntu", "fedora"]),
        ("?visibility=all", &["cirros", "ubuntu", "fedora"]),
        ("?visibility=private", &[]),
        ("?protected=true", &["cirros", "ubuntu", "fedora"]),
        ("?protected=false", &[]),
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
    let app = app();
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
    let app = app();
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

// ---- snapshots ----------------------------------------------------------------

#[tokio::test]
async fn a_snapshot_is_queued_then_saving_then_active() {
    let glance = Glance::new();
    let id = glance.snapshot("snap", "p1", &[]).await;
    let path = format!("/v2/images/{id}");
    let created = glance.clock.now().to_seconds_string();
    let (status, queued) = glance.get(&path, Some("p1")).await;
    assert_eq!(status, 200, "{queued}");
    let shown = |body: &Value, keys: &[&str]| -> Vec<Value> {
        keys.iter().map(|key| body[*key].clone()).collect()
    };
    let keys = [
        "name",
        "status",
        "visibility",
        "protected",
        "owner",
        "size",
        "checksum",
        "os_hash_value",
        "disk_format",
        "container_format",
        "created_at",
        "updated_at",
        "image_type",
    ];
    assert_eq!(
        shown(&queued, &keys),
        [
            json!("snap"),
            json!("queued"),
            json!("private"),
            json!(false),
            json!("p1"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            json!(created),
            json!(created),
            json!("snapshot"),
        ]
    );
    glance.clock.advance_micros(1_000_000);
    let (_, saving) = glance.get(&path, Some("p1")).await;
    assert_eq!(
        shown(
            &saving,
            &["status", "size", "disk_format", "container_format"]
        ),
        [json!("saving"), Value::Null, json!("qcow2"), json!("bare")]
    );
    glance.clock.advance_micros(1_000_000);
    let active_at = glance.clock.now().to_seconds_string();
    let (_, active) = glance.get(&path, Some("p1")).await;
    assert_eq!(
        shown(&active, &["status", "size", "updated_at", "created_at"]),
        [
            json!("active"),
            json!(21_692_416),
            json!(active_at),
            json!(created)
        ]
    );
    assert_eq!(active["checksum"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn a_private_snapshot_is_its_projects_and_an_admins_only() {
    let glance = Glance::new();
    let p1 = glance.snapshot("p1-snap", "p1", &[]).await;
    let p2 = glance.snapshot("p2-snap", "p2", &[]).await;
    // Its project lists it with the public images; newest first, as
    // Glance sorts by default.
    let (_, body) = glance.get("/v2/images", Some("p1")).await;
    assert_eq!(names(&body), ["p1-snap", "cirros", "ubuntu", "fedora"]);
    let (status, _) = glance.get(&format!("/v2/images/{p1}"), Some("p1")).await;
    assert_eq!(status, 200);
    let (status, body) = glance.get(&format!("/v2/images/{p2}"), Some("p1")).await;
    assert_eq!(
        (status, message(&body)),
        (404, format!("No image found with ID {p2}").as_str())
    );
    // The shared token is an admin of the default project: it sees all.
    let (_, body) = glance
        .get("/v2/images?sort_key=name&sort_dir=asc", None)
        .await;
    assert_eq!(
        names(&body),
        ["cirros", "fedora", "p1-snap", "p2-snap", "ubuntu"]
    );
    let (status, _) = glance.get(&format!("/v2/images/{p2}"), None).await;
    assert_eq!(status, 200);
    // Glance's filters apply to snapshots too.
    // Taken at one instant, the snapshots are listed in the order taken.
    let table: [(&str, &[&str]); 6] = [
        ("?visibility=private", &["p1-snap", "p2-snap"]),
        ("?visibility=public", &["cirros", "ubuntu", "fedora"]),
        ("?owner=p2", &["p2-snap"]),
        ("?name=p1-snap", &["p1-snap"]),
        ("?status=queued", &["p1-snap", "p2-snap"]),
        ("?image_type=snapshot", &["p1-snap", "p2-snap"]),
    ];
    for (query, expected) in table {
        let (status, body) = glance.get(&format!("/v2/images{query}"), None).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(names(&body), expected, "{query}");
    }
    let (_, body) = glance.get("/v2/images?owner=p2", Some("p1")).await;
    assert_eq!(names(&body), Vec::<&str>::new());
    let (_, body) = glance
        .get(&format!("/v2/images?owner={DEFAULT_PROJECT}"), Some("p1"))
        .await;
    assert_eq!(names(&body), ["cirros", "ubuntu", "fedora"]);
}

#[tokio::test]
async fn a_shared_snapshot_is_shown_to_its_member_and_listed_once_asked_for() {
    let glance = Glance::new();
    let id = glance.snapshot("for-p2", "admins", &["p2"]).await;
    let (status, body) = glance.get(&format!("/v2/images/{id}"), Some("p2")).await;
    assert_eq!((status, &body["visibility"]), (200, &json!("shared")));
    // Nova adds the member; Glance lists the image to it once accepted.
    let (_, body) = glance.get("/v2/images?name=for-p2", Some("p2")).await;
    assert_eq!(names(&body), Vec::<&str>::new());
    for status in ["pending", "all"] {
        let (_, body) = glance
            .get(&format!("/v2/images?member_status={status}"), Some("p2"))
            .await;
        assert!(names(&body).contains(&"for-p2"), "{status}");
    }
    let (_, body) = glance.get("/v2/images?name=for-p2", Some("admins")).await;
    assert_eq!(names(&body), ["for-p2"]);
    let (status, _) = glance.get(&format!("/v2/images/{id}"), Some("p3")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_snapshot_is_deleted_by_its_project_and_a_configured_image_never() {
    let glance = Glance::new();
    let own = glance.snapshot("own", "p1", &[]).await;
    let other = glance.snapshot("other", "p2", &[]).await;
    let shared = glance.snapshot("shared", "p2", &["p1"]).await;
    let cirros = Image::CIRROS_ID;
    let table = [
        (
            other,
            Some("p1"),
            404,
            format!("Failed to find image {other} to delete"),
        ),
        (
            shared,
            Some("p1"),
            403,
            "You are not authorized to complete delete_image action.".to_owned(),
        ),
        (
            cirros,
            Some("p1"),
            403,
            "You are not authorized to complete delete_image action.".to_owned(),
        ),
        (
            cirros,
            None,
            403,
            format!("Image {cirros} is protected and cannot be deleted."),
        ),
    ];
    for (id, caller, status, expected) in table {
        let (got, body) = glance.delete(&format!("/v2/images/{id}"), caller).await;
        assert_eq!((got, message(&body)), (status, expected.as_str()), "{id}");
        assert_eq!(body["forbidden"].is_object(), status == 403, "{body}");
    }
    let (status, body) = glance
        .delete(&format!("/v2/images/{own}"), Some("p1"))
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = glance.get(&format!("/v2/images/{own}"), Some("p1")).await;
    assert_eq!(status, 404);
    let (status, _) = glance
        .delete(&format!("/v2/images/{own}"), Some("p1"))
        .await;
    assert_eq!(status, 404);
    // An admin deletes any snapshot.
    let (status, _) = glance.delete(&format!("/v2/images/{other}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = glance.delete("/v2/images/not-an-id", None).await;
    assert_eq!(
        (status, message(&body)),
        (404, "Failed to find image not-an-id to delete")
    );
    let (status, _) = send(&glance.app, "PUT", &format!("/v2/images/{cirros}")).await;
    assert_eq!(status, 405);
    assert_eq!(
        glance.store.images(Default::default()).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn the_time_of_a_listing_is_the_clocks() {
    // A snapshot's status is read at the request's instant, not stored.
    let glance = Glance::new();
    glance.snapshot("snap", "p1", &[]).await;
    let (_, body) = glance.get("/v2/images?status=active&name=snap", None).await;
    assert_eq!(names(&body), Vec::<&str>::new());
    glance.clock.advance_micros(2_000_000);
    let (_, body) = glance.get("/v2/images?status=active&name=snap", None).await;
    assert_eq!(names(&body), ["snap"]);
    assert_eq!(
        body["images"][0]["updated_at"],
        glance.clock.now().to_seconds_string()
    );
}

#[tokio::test]
async fn a_reader_of_the_owning_project_may_not_delete_its_snapshot() {
    let glance = Glance::new();
    let own = glance.snapshot("own", "p1", &[]).await;
    let reader = RequestContext {
        user_id: "r".to_owned(),
        project_id: "p1".to_owned(),
        roles: vec!["reader".to_owned()],
    };
    let path = format!("/v2/images/{own}");
    let (status, body) = send_as(&glance.app, "DELETE", &path, Some(reader.clone())).await;
    assert_eq!(
        (status, message(&body)),
        (
            403,
            "You are not authorized to complete delete_image action."
        ),
        "Glance's delete_image asks for a member of the owner's project"
    );
    let (status, _) = send_as(&glance.app, "GET", &path, Some(reader)).await;
    assert_eq!(status, 200, "a reader still sees it");
}
