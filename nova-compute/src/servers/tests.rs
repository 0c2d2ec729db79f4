//! The servers controller in memory: each answer as a client sees it.

use std::sync::Arc;

use bytes::Bytes;
use nova_router::{compute_routes, ApiVersion, RoutesMiddleware, Service};
use serde_json::{json, Value};

use crate::{Cloud, ComputeApi, ManualClock, MemoryServerStore};

struct Api {
    app: RoutesMiddleware<ComputeApi>,
    clock: ManualClock,
    store: Arc<MemoryServerStore>,
}

fn api() -> Api {
    api_with(Cloud::default())
}

fn api_with(cloud: Cloud) -> Api {
    let clock = ManualClock::starting_now();
    let store = Arc::new(MemoryServerStore::new());
    let api = ComputeApi::with_clock(store.clone(), cloud, Arc::new(clock.clone()));
    Api {
        app: RoutesMiddleware::new(compute_routes(), api),
        clock,
        store,
    }
}

impl Api {
    async fn send(
        &self,
        method: &str,
        path: &str,
        version: &str,
        body: Option<Value>,
    ) -> (u16, Value, http::HeaderMap) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "nova.test")
            .body(body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())))
            .unwrap();
        req.extensions_mut()
            .insert(version.parse::<ApiVersion>().unwrap());
        let response = self.app.call(req).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).unwrap()
        };
        (status, body, headers)
    }

    async fn create(&self, version: &str, server: Value) -> (u16, Value) {
        let (status, body, _) = self
            .send(
                "POST",
                "/servers",
                version,
                Some(json!({ "server": server })),
            )
            .await;
        (status, body)
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance_micros(seconds * 1_000_000);
    }
}

fn tiny(name: &str) -> Value {
    json!({"name": name, "flavorRef": "1", "imageRef": crate::Image::CIRROS_ID.to_string(), "networks": "auto"})
}

#[tokio::test]
async fn a_created_server_builds_then_is_active_with_an_address() {
    let api = api();
    let (status, body) = api.create("2.37", tiny("web")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["server"]["adminPass"].as_str().unwrap().len(), 12);
    assert_eq!(
        body["server"]["security_groups"],
        json!([{"name": "default"}])
    );
    assert_eq!(
        body["server"]["links"][0]["href"],
        format!("http://nova.test/servers/{id}")
    );
    let (_, shown, headers) = api
        .send("GET", &format!("/servers/{id}"), "2.37", None)
        .await;
    assert_eq!(shown["server"]["status"], "BUILD");
    assert_eq!(shown["server"]["OS-EXT-STS:task_state"], "spawning");
    assert_eq!(shown["server"]["addresses"], json!({}));
    assert_eq!(shown["server"]["OS-SRV-USG:launched_at"], Value::Null);
    assert_eq!(headers["etag"], "\"1\"");
    api.advance(1);
    let (_, shown, _) = api
        .send("GET", &format!("/servers/{id}"), "2.37", None)
        .await;
    let server = &shown["server"];
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(server["OS-EXT-STS:power_state"], 1);
    assert_eq!(server["OS-EXT-STS:task_state"], Value::Null);
    let address = &server["addresses"]["private"][0];
    assert_eq!(address["version"], 4);
    assert!(address["addr"].as_str().unwrap().starts_with("10.0."));
    assert_eq!(server["flavor"]["id"], "1");
    assert_eq!(server["image"]["id"], crate::Image::CIRROS_ID.to_string());
    assert!(server["OS-SRV-USG:launched_at"].is_string());
    let (_, old, _) = api
        .send("GET", &format!("/servers/{id}"), "2.8", None)
        .await;
    assert!(
        old["server"].get("locked").is_none(),
        "locked arrives at 2.9"
    );
}

#[tokio::test]
async fn the_view_follows_the_microversion() {
    let api = api();
    let (_, body) = api
        .create(
            "2.100",
            json!({"name": "v", "flavorRef": "1",
        "imageRef": crate::Image::CIRROS_ID.to_string(), "networks": "none",
        "tags": ["a", "b", "a"], "description": "d"}),
        )
        .await;
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    let path = format!("/servers/{id}");
    let (_, old, _) = api.send("GET", &path, "2.1", None).await;
    let (_, new, _) = api.send("GET", &path, "2.100", None).await;
    let (old, new) = (&old["server"], &new["server"]);
    assert!(old["flavor"].get("original_name").is_none());
    assert_eq!(new["flavor"]["original_name"], "m1.tiny");
    assert_eq!(new["flavor"]["extra_specs"], json!({}));
    for key in [
        "locked",
        "description",
        "tags",
        "trusted_image_certificates",
        "locked_reason",
        "server_groups",
        "pinned_availability_zone",
        "scheduler_hints",
        "host_status",
    ] {
        assert!(old.get(key).is_none(), "{key} at 2.1");
        assert!(new.get(key).is_some(), "{key} at 2.100");
    }
    // A tag given twice is kept once, as Nova keeps a set.
    assert_eq!(new["tags"], json!(["a", "b"]));
    assert_eq!(new["description"], "d");
    assert_eq!(new["image"]["properties"], json!({}));
}

#[tokio::test]
async fn bad_creates_are_400s_in_novas_words_and_create_nothing() {
    let api = api();
    let image = crate::Image::CIRROS_ID.to_string();
    let table = [
        (
            "2.1",
            json!({"name": "a", "imageRef": image}),
            "Invalid input for field/attribute server. Value: {'name': 'a', 'imageRef': '",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": image}),
            "'networks' is a required property",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "99", "imageRef": image, "networks": "none"}),
            "Flavor 99 could not be found.",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": "6b0b9a65-0000-4000-8000-000000000000", "networks": "none"}),
            "Can not find requested image",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": image, "networks": [{"uuid": "6b0b9a65-0000-4000-8000-000000000000"}]}),
            "Network 6b0b9a65-0000-4000-8000-000000000000 could not be found.",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": image, "networks": "none", "bogus": 1}),
            "Additional properties are not allowed ('bogus' was unexpected)",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": image, "networks": "none", "min_count": 3, "max_count": 2}),
            "min_count must be <= max_count",
        ),
        (
            "2.37",
            json!({"name": "a", "flavorRef": "1", "imageRef": image, "networks": "none", "availability_zone": "elsewhere"}),
            "The requested availability zone is not available",
        ),
    ];
    for (version, server, expected) in table {
        let (status, body) = api.create(version, server.clone()).await;
        assert_eq!(status, 400, "{server}: {body}");
        let message = body["badRequest"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{server}: {message}");
    }
    let (_, listed, _) = api.send("GET", "/servers", "2.1", None).await;
    assert_eq!(listed["servers"], json!([]));
    let (status, body, _) = api.send("POST", "/servers", "2.1", None).await;
    assert_eq!(
        (status, &body["badRequest"]["message"]),
        (400, &json!("None is not of type 'object'"))
    );
}

#[tokio::test]
async fn several_servers_from_one_request_share_a_reservation() {
    let api = api();
    let mut server = tiny("batch");
    server["min_count"] = json!(2);
    server["max_count"] = json!(3);
    server["return_reservation_id"] = json!(true);
    let (status, body) = api.create("2.37", server).await;
    assert_eq!(status, 202);
    let reservation = body["reservation_id"].as_str().unwrap().to_owned();
    let (_, listed, _) = api
        .send(
            "GET",
            &format!("/servers?reservation_id={reservation}"),
            "2.37",
            None,
        )
        .await;
    let mut names: Vec<&str> = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["batch-1", "batch-2", "batch-3"]);
}

#[tokio::test]
async fn quota_creates_as_many_as_fit_and_refuses_below_min_count() {
    let api = api();
    let mut server = tiny("many");
    server["max_count"] = json!(11);
    let (status, body) = api.create("2.37", server).await;
    assert_eq!(status, 202, "{body}");
    let (_, listed, _) = api.send("GET", "/servers", "2.37", None).await;
    assert_eq!(
        listed["servers"].as_array().unwrap().len(),
        10,
        "as many as the quota of 10 allows"
    );
    let mut server = tiny("more");
    server["min_count"] = json!(1);
    server["max_count"] = json!(2);
    let (status, body) = api.create("2.37", server).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["forbidden"]["message"],
        "Quota exceeded for instances: Requested 1-2, but already used 10 of 10 instances"
    );
}

#[tokio::test]
async fn listings_are_newest_first_and_page_with_a_next_link() {
    let api = api();
    for n in 0..5 {
        api.create("2.37", tiny(&format!("s{n}"))).await;
        api.advance(1);
    }
    let (status, page, _) = api.send("GET", "/servers?limit=2", "2.37", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = page["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s4", "s3"]);
    let next = page["servers_links"][0]["href"].as_str().unwrap();
    assert!(
        next.starts_with("http://nova.test/servers?limit=2&marker="),
        "{next}"
    );
    let path = next.trim_start_matches("http://nova.test");
    let (_, page2, _) = api.send("GET", path, "2.37", None).await;
    let names: Vec<&str> = page2["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s2", "s1"]);
    let (_, sorted, _) = api
        .send(
            "GET",
            "/servers/detail?sort_key=display_name&sort_dir=asc&name=s[13]",
            "2.37",
            None,
        )
        .await;
    let names: Vec<&str> = sorted["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s1", "s3"]);
    assert!(sorted["servers"][0]["status"].is_string());
    for (query, message) in [
        ("marker=nope", "marker [nope] not found"),
        (
            "limit=-1",
            "Invalid input for query parameters limit. Value: -1.",
        ),
        (
            "sort_key=bogus",
            "Invalid input for query parameters sort_key. Value: bogus.",
        ),
        ("status=bogus", "Invalid status value"),
    ] {
        let (status, body, _) = api
            .send("GET", &format!("/servers?{query}"), "2.38", None)
            .await;
        assert_eq!(status, 400, "{query}");
        assert!(
            body["badRequest"]["message"]
                .as_str()
                .unwrap()
                .starts_with(message),
            "{body}"
        );
    }
    // Python literals a client sends for "no filter" are no error.
    let (status, _, _) = api
        .send(
            "GET",
            "/servers?deleted=False&all_tenants=False",
            "2.37",
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn update_renames_and_delete_goes_through_deleting_to_404() {
    let api = api();
    let (_, body) = api.create("2.37", tiny("old")).await;
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    let path = format!("/servers/{id}");
    let (status, updated, _) = api
        .send(
            "PUT",
            &path,
            "2.37",
            Some(json!({"server": {"name": "new"}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["server"]["name"], "new");
    assert!(
        updated["server"].get("OS-EXT-STS:vm_state").is_none(),
        "no extended status before 2.75"
    );
    let (_, updated, _) = api
        .send(
            "PUT",
            &path,
            "2.75",
            Some(json!({"server": {"name": "newer"}})),
        )
        .await;
    assert!(
        updated["server"].get("OS-EXT-STS:vm_state").is_some(),
        "the full view from 2.75"
    );
    let since = crate::Clock::now(&api.clock).to_string();
    let (status, _, _) = api.send("DELETE", &path, "2.37", None).await;
    assert_eq!(status, 204);
    let (status, body, _) = api.send("GET", &path, "2.37", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["itemNotFound"]["message"],
        format!("Instance {id} could not be found.")
    );
    let (_, listed, _) = api.send("GET", "/servers", "2.37", None).await;
    assert_eq!(listed["servers"], json!([]));
    let (_, changed, _) = api
        .send(
            "GET",
            &format!("/servers/detail?changes-since={since}"),
            "2.37",
            None,
        )
        .await;
    assert_eq!(changed["servers"][0]["status"], "DELETED", "{changed}");
    assert!(
        api.store.list().await.unwrap().is_empty(),
        "gone from the seed's API at once"
    );
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let api = api();
    for id in ["nope", "6b0b9a65-0000-4000-8000-000000000000"] {
        let (status, body, _) = api
            .send("GET", &format!("/servers/{id}"), "2.1", None)
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            body["itemNotFound"]["message"],
            format!("Instance {id} could not be found.")
        );
    }
}

use nova_controller::InstanceStore as _;

#[tokio::test]
async fn nameless_security_groups_are_ignored_and_the_server_falls_back_to_default() {
    let api = api();
    let mut server = tiny("groups");
    server["security_groups"] = json!([{}, {"name": "web"}, {}, {"name": "web"}]);
    let (status, body) = api.create("2.37", server).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["server"]["security_groups"],
        json!([{"name": "web"}, {"name": "web"}]),
        "the request's named groups are echoed as Nova echoes them"
    );
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    let (_, shown, _) = api
        .send("GET", &format!("/servers/{id}"), "2.37", None)
        .await;
    assert_eq!(shown["server"]["security_groups"], json!([{"name": "web"}]));

    let mut server = tiny("nameless");
    server["security_groups"] = json!([{}]);
    let (status, body) = api.create("2.37", server).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["server"]["security_groups"], json!([]));
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    let (_, shown, _) = api
        .send("GET", &format!("/servers/{id}"), "2.37", None)
        .await;
    assert_eq!(
        shown["server"]["security_groups"],
        json!([{"name": "default"}])
    );
}

#[tokio::test]
async fn from_2_98_the_image_shows_its_standard_properties_as_they_were_at_build_and_rebuild() {
    let cloud = Cloud::from_config(&|key: &str| match key {
        "images" => Some(
            "cirros os_distro=cirros my_property=mine, \
             ubuntu hw_disk_bus=scsi os_distro=ubuntu"
                .into(),
        ),
        _ => None,
    })
    .unwrap();
    let ubuntu = crate::Image::id_for_name("ubuntu").to_string();
    let api = api_with(cloud);
    let (status, body) = api.create("2.98", tiny("web")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    let path = format!("/servers/{id}");
    let (_, shown, _) = api.send("GET", &path, "2.98", None).await;
    assert_eq!(
        shown["server"]["image"]["properties"],
        json!({"os_distro": "cirros"}),
        "a property Nova's ImageMetaProps does not know is not shown"
    );
    let (_, shown, _) = api.send("GET", &path, "2.97", None).await;
    assert_eq!(
        crate::test_client::keys(&shown["server"]["image"]),
        ["id", "links"]
    );
    api.advance(1);
    let (status, rebuilt, _) = api
        .send(
            "POST",
            &format!("{path}/action"),
            "2.98",
            Some(json!({"rebuild": {"imageRef": ubuntu}})),
        )
        .await;
    assert_eq!(status, 202, "{rebuilt}");
    let expected = json!({"hw_disk_bus": "scsi", "os_distro": "ubuntu"});
    assert_eq!(rebuilt["server"]["image"]["properties"], expected);
    let (_, shown, _) = api.send("GET", &path, "2.98", None).await;
    assert_eq!(shown["server"]["image"]["id"], ubuntu);
    assert_eq!(shown["server"]["image"]["properties"], expected);
}
