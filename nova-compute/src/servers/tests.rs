//! The servers controller in memory: each answer as a client sees it.

use std::sync::Arc;

use bytes::Bytes;
use nova_router::{compute_routes, ApiVersion, RoutesMiddleware, Service};
use serde_json::{json, Value};

use crate::test_client::{error_after, fail, stuck, ScriptedInjector, A_YEAR};
use crate::{
    Cloud, ComputeApi, Injection, ManualClock, MemoryServerStore, ServerEventKind, DEFAULT_PROJECT,
};

struct Api {
    app: RoutesMiddleware<ComputeApi>,
    clock: ManualClock,
    store: Arc<MemoryServerStore>,
}

fn api() -> Api {
    api_with(Cloud::default())
}

fn api_with(cloud: Cloud) -> Api {
    api_asking(cloud, None)
}

/// The API with the default cloud, asking `injector`.
fn api_injected(injector: Arc<ScriptedInjector>) -> Api {
    api_asking(Cloud::default(), Some(injector))
}

fn api_asking(cloud: Cloud, injector: Option<Arc<ScriptedInjector>>) -> Api {
    let clock = ManualClock::starting_now();
    let store = Arc::new(MemoryServerStore::new());
    let mut api = ComputeApi::with_clock(store.clone(), cloud, Arc::new(clock.clone()));
    if let Some(injector) = injector {
        api = api.with_injector(injector);
    }
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

// ---- injected misbehaviour -------------------------------------------------

impl Api {
    /// Creates `tiny(name)` with metadata `role: db` at 2.37; its id.
    async fn create_id(&self, name: &str) -> String {
        let mut server = tiny(name);
        server["metadata"] = json!({"role": "db"});
        let (status, body) = self.create("2.37", server).await;
        assert_eq!(status, 202, "{body}");
        body["server"]["id"].as_str().unwrap().to_owned()
    }

    /// `GET /servers/{id}` at 2.37: status and the server.
    async fn show(&self, id: &str) -> (u16, Value) {
        let (status, body, _) = self
            .send("GET", &format!("/servers/{id}"), "2.37", None)
            .await;
        (status, body["server"].clone())
    }

    /// The server's newest instance action with its events, at 2.51.
    async fn newest_action(&self, id: &str) -> Value {
        let path = format!("/servers/{id}/os-instance-actions");
        let (_, listed, _) = self.send("GET", &path, "2.51", None).await;
        let request_id = listed["instanceActions"][0]["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, shown, _) = self
            .send("GET", &format!("{path}/{request_id}"), "2.51", None)
            .await;
        shown["instanceAction"].clone()
    }

    /// The stored server's compute fields.
    async fn details(&self, id: &str) -> crate::ServerDetails {
        use crate::ServerStore as _;
        let id = uuid::Uuid::parse_str(id).unwrap();
        let server = self.store.server(id).await.unwrap().unwrap();
        crate::ServerDetails::clone(&server.details.unwrap())
    }

    /// The clock's time, as a server's `created` shows it.
    fn seconds_now(&self) -> String {
        crate::Clock::now(&self.clock).to_seconds_string()
    }
}

#[tokio::test]
async fn a_create_the_injector_fails_is_answered_with_its_fault_and_stores_nothing() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Create,
        fail(500, "computeFault", "the cloud is on fire", None),
    );
    let api = api_injected(injector.clone());
    let mut server = tiny("web");
    server["metadata"] = json!({"role": "db"});
    let (status, body, headers) = api
        .send(
            "POST",
            "/servers",
            "2.37",
            Some(json!({ "server": server.clone() })),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"computeFault": {"code": 500, "message": "the cloud is on fire"}})
    );
    assert!(headers.get("retry-after").is_none());

    injector.answer(
        ServerEventKind::Create,
        fail(429, "overLimit", "slow down", Some(30)),
    );
    let (status, body, headers) = api
        .send(
            "POST",
            "/servers",
            "2.37",
            Some(json!({ "server": server })),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"overLimit": {"code": 429, "message": "slow down"}})
    );
    assert_eq!(headers["retry-after"], "30");

    let (_, listed, _) = api.send("GET", "/servers", "2.37", None).await;
    assert_eq!(listed["servers"], json!([]), "nothing was stored");
    // Asked once per request, before any server has an id, and no build
    // is asked about for a request that failed.
    let asked = injector.asked();
    assert_eq!(
        injector.kinds_asked(),
        [ServerEventKind::Create, ServerEventKind::Create]
    );
    assert_eq!(asked[0].project_id, DEFAULT_PROJECT);
    assert_eq!(asked[0].server_name, "web");
    assert_eq!(asked[0].server_id, None);
    assert_eq!(asked[0].metadata["role"], "db");
}

#[tokio::test]
async fn a_create_nova_refuses_is_refused_without_asking_the_injector() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Create,
        fail(500, "computeFault", "boom", None),
    );
    let api = api_injected(injector.clone());
    let mut server = tiny("web");
    server["flavorRef"] = json!("nope");
    let (status, _) = api.create("2.37", server).await;
    assert_eq!(status, 400);
    assert!(injector.asked().is_empty());
}

#[tokio::test]
async fn a_build_that_errors_at_once_is_in_error_with_its_fault_from_the_create_on() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Build,
        error_after(0, "No valid host was found."),
    );
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    let asked = injector.asked();
    assert_eq!(
        injector.kinds_asked(),
        [ServerEventKind::Create, ServerEventKind::Build]
    );
    assert_eq!(asked[1].server_id.unwrap().to_string(), id);
    assert_eq!(asked[1].server_name, "web");

    let (status, server) = api.show(&id).await;
    assert_eq!(status, 200);
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["OS-EXT-STS:vm_state"], "error");
    assert_eq!(server["OS-EXT-STS:task_state"], Value::Null);
    assert_eq!(server["OS-EXT-STS:power_state"], 0);
    assert_eq!(
        server["fault"],
        json!({"code": 500, "message": "No valid host was found.", "created": api.seconds_now()})
    );
    assert_eq!(server["OS-SRV-USG:launched_at"], Value::Null);
    assert_eq!(api.details(&id).await.launched_at, None);

    let action = api.newest_action(&id).await;
    assert_eq!(action["action"], "create");
    assert_eq!(action["message"], "Error");
    assert_eq!(
        action["events"][0]["event"],
        "compute__do_build_and_run_instance"
    );
    assert_eq!(action["events"][0]["result"], "Error");
}

#[tokio::test]
async fn a_build_that_errors_later_is_in_build_until_then_and_in_error_with_its_fault_after() {
    let injector = ScriptedInjector::answering(ServerEventKind::Build, error_after(5, "disk full"));
    let api = api_injected(injector);
    let id = api.create_id("web").await;
    let (_, server) = api.show(&id).await;
    assert_eq!(server["status"], "BUILD");
    assert!(server.get("fault").is_none(), "no fault before the failure");
    let action = api.newest_action(&id).await;
    assert_eq!(action["message"], Value::Null);
    assert_eq!(action["events"][0]["result"], Value::Null, "still running");

    api.advance(4);
    assert_eq!(api.show(&id).await.1["status"], "BUILD");
    api.advance(1);
    let (_, server) = api.show(&id).await;
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["fault"]["code"], 500);
    assert_eq!(server["fault"]["message"], "disk full");
    assert_eq!(server["fault"]["created"], api.seconds_now());
    assert_eq!(server["updated"], api.seconds_now());
    assert_eq!(server["OS-SRV-USG:launched_at"], Value::Null);
    let action = api.newest_action(&id).await;
    assert_eq!(action["message"], "Error");
    assert_eq!(action["events"][0]["result"], "Error");
}

#[tokio::test]
async fn a_build_that_takes_ten_minutes_is_active_once_the_clock_has_moved_ten_minutes() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Build,
        Injection::Take(std::time::Duration::from_secs(600)),
    );
    let api = api_injected(injector);
    let id = api.create_id("web").await;
    api.advance(599);
    let (_, server) = api.show(&id).await;
    assert_eq!(server["status"], "BUILD");
    assert_eq!(server["OS-SRV-USG:launched_at"], Value::Null);
    api.advance(1);
    let (_, server) = api.show(&id).await;
    assert_eq!(server["status"], "ACTIVE");
    assert!(server["OS-SRV-USG:launched_at"].is_string());
    assert!(server.get("fault").is_none());
}

#[tokio::test]
async fn a_stuck_build_is_still_building_a_year_later() {
    let injector = ScriptedInjector::answering(ServerEventKind::Build, stuck("b-1"));
    let api = api_injected(injector);
    let id = api.create_id("web").await;
    api.advance(A_YEAR);
    let (_, server) = api.show(&id).await;
    assert_eq!(server["status"], "BUILD");
    assert_eq!(server["OS-EXT-STS:task_state"], "spawning");
    assert_eq!(server["OS-SRV-USG:launched_at"], Value::Null);
    let details = api.details(&id).await;
    assert_eq!(details.stuck_by.as_deref(), Some("b-1"));
    assert_eq!(details.launched_at, None);
    let action = api.newest_action(&id).await;
    assert_eq!(action["events"][0]["finish_time"], Value::Null);
}

#[tokio::test]
async fn the_creates_answer_shapes_every_build_and_otherwise_each_build_is_asked_about() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Create,
        error_after(0, "No valid host was found."),
    );
    let api = api_injected(injector.clone());
    let (status, _) = api
        .create("2.37", json!({"name": "many", "flavorRef": "1", "imageRef": crate::Image::CIRROS_ID.to_string(), "networks": "auto", "min_count": 2}))
        .await;
    assert_eq!(status, 202);
    assert_eq!(injector.kinds_asked(), [ServerEventKind::Create]);
    let (_, listed, _) = api.send("GET", "/servers/detail", "2.37", None).await;
    let statuses: Vec<&Value> = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|server| &server["status"])
        .collect();
    assert_eq!(statuses, [&json!("ERROR"), &json!("ERROR")]);

    let injector = ScriptedInjector::answering(ServerEventKind::Build, stuck("b-2"));
    let api = api_injected(injector.clone());
    api.create("2.37", json!({"name": "many", "flavorRef": "1", "imageRef": crate::Image::CIRROS_ID.to_string(), "networks": "auto", "min_count": 2}))
        .await;
    let asked = injector.asked();
    assert_eq!(
        injector.kinds_asked(),
        [
            ServerEventKind::Create,
            ServerEventKind::Build,
            ServerEventKind::Build
        ]
    );
    let mut names: Vec<&str> = asked[1..].iter().map(|a| a.server_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["many-1", "many-2"]);
    for build in &asked[1..] {
        let id = build.server_id.unwrap().to_string();
        assert_eq!(api.show(&id).await.1["status"], "BUILD");
    }
}

#[tokio::test]
async fn a_delete_the_injector_fails_is_answered_with_its_fault_and_changes_nothing() {
    let injector = ScriptedInjector::new();
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    api.advance(1);
    injector.answer(
        ServerEventKind::Delete,
        fail(503, "serviceUnavailable", "try later", Some(5)),
    );
    let (status, body, headers) = api
        .send("DELETE", &format!("/servers/{id}"), "2.37", None)
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"serviceUnavailable": {"code": 503, "message": "try later"}})
    );
    assert_eq!(headers["retry-after"], "5");
    let (status, server) = api.show(&id).await;
    assert_eq!((status, server["status"].as_str()), (200, Some("ACTIVE")));
    assert_eq!(api.details(&id).await.actions.len(), 1, "only the create");
    let delete = injector.asked().pop().unwrap();
    assert_eq!(delete.kind, ServerEventKind::Delete);
    assert_eq!(delete.server_id.unwrap().to_string(), id);
    assert_eq!(delete.server_name, "web");
    assert_eq!(delete.project_id, DEFAULT_PROJECT);
    assert_eq!(delete.metadata["role"], "db");
}

#[tokio::test]
async fn a_delete_that_errors_leaves_the_server_in_error_and_a_later_delete_deletes_it() {
    let injector = ScriptedInjector::new();
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    api.advance(1);
    injector.answer(
        ServerEventKind::Delete,
        error_after(5, "volume detach failed"),
    );
    let path = format!("/servers/{id}");
    assert_eq!(api.send("DELETE", &path, "2.37", None).await.0, 204);
    let (_, server) = api.show(&id).await;
    assert_eq!(server["OS-EXT-STS:task_state"], "deleting");
    api.advance(5);
    let (status, server) = api.show(&id).await;
    assert_eq!(status, 200, "not deleted");
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["fault"]["message"], "volume detach failed");
    assert_eq!(server["fault"]["created"], api.seconds_now());
    assert_eq!(server["OS-SRV-USG:terminated_at"], Value::Null);
    let details = api.details(&id).await;
    assert_eq!(details.terminated_at, None);
    let action = api.newest_action(&id).await;
    assert_eq!(action["action"], "delete");
    assert_eq!(action["message"], "Error");

    injector.forget(ServerEventKind::Delete);
    assert_eq!(api.send("DELETE", &path, "2.37", None).await.0, 204);
    assert_eq!(api.show(&id).await.0, 404);
}

#[tokio::test]
async fn a_stuck_delete_stays_deleting_for_good_until_deleted_again() {
    let injector = ScriptedInjector::new();
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    api.advance(1);
    injector.answer(ServerEventKind::Delete, stuck("b-3"));
    let path = format!("/servers/{id}");
    assert_eq!(api.send("DELETE", &path, "2.37", None).await.0, 204);
    api.advance(A_YEAR);
    let (status, server) = api.show(&id).await;
    assert_eq!(status, 200);
    assert_eq!(server["OS-EXT-STS:task_state"], "deleting");
    assert_eq!(api.details(&id).await.stuck_by.as_deref(), Some("b-3"));

    // Once the behaviour no longer answers, deleting again deletes, and
    // nothing holds the server any more.
    injector.forget(ServerEventKind::Delete);
    assert_eq!(api.send("DELETE", &path, "2.37", None).await.0, 204);
    assert_eq!(api.show(&id).await.0, 404);
    assert_eq!(api.details(&id).await.stuck_by, None);
}

#[tokio::test]
async fn a_delete_that_takes_ten_minutes_is_deleting_until_then() {
    let injector = ScriptedInjector::new();
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    api.advance(1);
    injector.answer(
        ServerEventKind::Delete,
        Injection::Take(std::time::Duration::from_secs(600)),
    );
    let path = format!("/servers/{id}");
    assert_eq!(api.send("DELETE", &path, "2.37", None).await.0, 204);
    api.advance(599);
    let (status, server) = api.show(&id).await;
    assert_eq!(status, 200);
    assert_eq!(server["OS-EXT-STS:task_state"], "deleting");
    api.advance(1);
    assert_eq!(api.show(&id).await.0, 404);
}

#[tokio::test]
async fn an_injector_that_answers_nothing_is_asked_at_every_event_and_changes_nothing() {
    let injector = ScriptedInjector::new();
    let api = api_injected(injector.clone());
    let id = api.create_id("web").await;
    api.advance(1);
    assert_eq!(api.show(&id).await.1["status"], "ACTIVE");
    let (status, _, _) = api
        .send(
            "POST",
            &format!("/servers/{id}/action"),
            "2.37",
            Some(json!({"os-stop": null})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(api.show(&id).await.1["status"], "SHUTOFF");
    assert_eq!(
        api.send("DELETE", &format!("/servers/{id}"), "2.37", None)
            .await
            .0,
        204
    );
    assert_eq!(api.show(&id).await.0, 404);
    let asked = injector.asked();
    assert_eq!(
        injector.kinds_asked(),
        [
            ServerEventKind::Create,
            ServerEventKind::Build,
            ServerEventKind::Action,
            ServerEventKind::Delete
        ]
    );
    assert_eq!(asked[2].action.as_deref(), Some("os-stop"));
}

#[tokio::test]
async fn without_an_injector_nothing_is_asked_and_nothing_misbehaves() {
    // An injector that would fail everything, never handed to the API.
    let injector = ScriptedInjector::new();
    for kind in [
        ServerEventKind::Create,
        ServerEventKind::Build,
        ServerEventKind::Delete,
        ServerEventKind::Action,
    ] {
        injector.answer(kind, fail(500, "computeFault", "boom", None));
    }
    let api = api();
    let id = api.create_id("web").await;
    api.advance(1);
    assert_eq!(api.show(&id).await.1["status"], "ACTIVE");
    let (status, _, _) = api
        .send(
            "POST",
            &format!("/servers/{id}/action"),
            "2.37",
            Some(json!({"os-stop": null})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        api.send("DELETE", &format!("/servers/{id}"), "2.37", None)
            .await
            .0,
        204
    );
    assert!(injector.asked().is_empty());
}
