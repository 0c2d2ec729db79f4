//! The flavors controllers in memory, against Nova's API samples
//! (`doc/api_samples/flavors/`, one directory per microversion) and its
//! unit tests' behaviour.

use serde_json::{json, Value};

use crate::test_client::{admin, keys, member, TestClient};
use crate::{Cloud, Flavor};

/// The cloud of Nova's flavor samples: devstack's five, `m1.tiny.specs`
/// with an extra spec and `m1.small.description` with a description.
fn sample_cloud() -> Cloud {
    let mut specs = Flavor::new("6", "m1.tiny.specs", 1, 512, 1);
    specs
        .extra_specs
        .insert("hw:numa_nodes".to_owned(), "1".to_owned());
    let mut described = Flavor::new("7", "m1.small.description", 1, 2048, 20);
    described.description = Some("test description".to_owned());
    described
        .extra_specs
        .insert("hw:cpu_policy".to_owned(), "shared".to_owned());
    described
        .extra_specs
        .insert("hw:numa_nodes".to_owned(), "1".to_owned());
    let mut cloud = Cloud::default();
    cloud.flavors.extend([specs, described]);
    cloud
}

fn ids(body: &Value) -> Vec<&str> {
    body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

fn message(body: &Value) -> &str {
    body.as_object()
        .and_then(|o| o.values().next())
        .and_then(|fault| fault["message"].as_str())
        .unwrap_or_default()
}

const FULL_2_1: &[&str] = &[
    "OS-FLV-DISABLED:disabled",
    "OS-FLV-EXT-DATA:ephemeral",
    "disk",
    "id",
    "links",
    "name",
    "os-flavor-access:is_public",
    "ram",
    "rxtx_factor",
    "swap",
    "vcpus",
];
const FULL_2_55: &[&str] = &[
    "OS-FLV-DISABLED:disabled",
    "OS-FLV-EXT-DATA:ephemeral",
    "description",
    "disk",
    "id",
    "links",
    "name",
    "os-flavor-access:is_public",
    "ram",
    "rxtx_factor",
    "swap",
    "vcpus",
];
const FULL_2_61: &[&str] = &[
    "OS-FLV-DISABLED:disabled",
    "OS-FLV-EXT-DATA:ephemeral",
    "description",
    "disk",
    "extra_specs",
    "id",
    "links",
    "name",
    "os-flavor-access:is_public",
    "ram",
    "rxtx_factor",
    "swap",
    "vcpus",
];
const FULL_2_102: &[&str] = &[
    "OS-FLV-EXT-DATA:ephemeral",
    "description",
    "disk",
    "extra_specs",
    "id",
    "links",
    "name",
    "os-flavor-access:is_public",
    "ram",
    "swap",
    "vcpus",
];
const BRIEF_2_1: &[&str] = &["id", "links", "name"];
const BRIEF_2_55: &[&str] = &["description", "id", "links", "name"];

#[tokio::test]
async fn every_view_has_the_keys_of_novas_samples_at_each_microversion() {
    let client = TestClient::new(sample_cloud());
    // (sample directory's version, list keys, detail and show keys)
    let table: [(&str, &[&str], &[&str]); 7] = [
        ("2.1", BRIEF_2_1, FULL_2_1),
        ("2.54", BRIEF_2_1, FULL_2_1),
        ("2.55", BRIEF_2_55, FULL_2_55),
        ("2.60", BRIEF_2_55, FULL_2_55),
        ("2.61", BRIEF_2_55, FULL_2_61),
        ("2.75", BRIEF_2_55, FULL_2_61),
        ("2.102", BRIEF_2_55, FULL_2_102),
    ];
    for (version, brief, full) in table {
        let (status, list) = client.get("/flavors", version).await;
        assert_eq!(status, 200, "{version}: {list}");
        assert_eq!(keys(&list), ["flavors"], "{version}");
        assert_eq!(ids(&list), ["1", "2", "3", "4", "5", "6", "7"], "{version}");
        for flavor in list["flavors"].as_array().unwrap() {
            assert_eq!(keys(flavor), brief, "{version} list");
        }
        let (_, detail) = client.get("/flavors/detail", version).await;
        assert_eq!(keys(&detail), ["flavors"], "{version}");
        for flavor in detail["flavors"].as_array().unwrap() {
            assert_eq!(keys(flavor), full, "{version} detail");
        }
        let (status, shown) = client.get("/flavors/7", version).await;
        assert_eq!(status, 200, "{version}: {shown}");
        assert_eq!(keys(&shown), ["flavor"]);
        assert_eq!(keys(&shown["flavor"]), full, "{version} show");
    }
}

#[tokio::test]
async fn a_flavor_reads_as_the_newest_sample_does() {
    let client = TestClient::new(sample_cloud());
    let (_, shown) = client.get("/flavors/7", "2.102").await;
    // doc/api_samples/flavors/v2.102/flavor-get-resp.json, on our host.
    assert_eq!(
        shown,
        json!({"flavor": {
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "description": "test description",
            "disk": 20,
            "extra_specs": {"hw:cpu_policy": "shared", "hw:numa_nodes": "1"},
            "id": "7",
            "links": [
                {"href": "http://nova.test/flavors/7", "rel": "self"},
                {"href": "http://nova.test/flavors/7", "rel": "bookmark"},
            ],
            "name": "m1.small.description",
            "os-flavor-access:is_public": true,
            "ram": 2048,
            "swap": 0,
            "vcpus": 1,
        }})
    );
    // doc/api_samples/flavors/flavor-get-resp.json (2.1).
    let (_, shown) = client.get("/flavors/1", "2.1").await;
    assert_eq!(
        shown["flavor"],
        json!({
            "OS-FLV-DISABLED:disabled": false,
            "disk": 1,
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "os-flavor-access:is_public": true,
            "id": "1",
            "links": [
                {"href": "http://nova.test/flavors/1", "rel": "self"},
                {"href": "http://nova.test/flavors/1", "rel": "bookmark"},
            ],
            "name": "m1.tiny",
            "ram": 512,
            "swap": "",
            "vcpus": 1,
            "rxtx_factor": 1.0,
        })
    );
}

#[tokio::test]
async fn no_swap_is_an_empty_string_until_2_75_and_zero_after() {
    let mut cloud = Cloud::default();
    cloud.flavors[1].swap = 512;
    let client = TestClient::new(cloud);
    let (_, old) = client.get("/flavors/detail", "2.74").await;
    assert_eq!(old["flavors"][0]["swap"], "");
    assert_eq!(old["flavors"][1]["swap"], 512);
    let (_, new) = client.get("/flavors/detail", "2.75").await;
    assert_eq!(new["flavors"][0]["swap"], 0);
    assert_eq!(new["flavors"][1]["swap"], 512);
}

#[tokio::test]
async fn links_name_the_project_when_the_url_does() {
    let client = TestClient::new(Cloud::default());
    let project = crate::DEFAULT_PROJECT;
    let (status, body) = client.get(&format!("/{project}/flavors/1"), "2.1").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["flavor"]["links"],
        json!([
            {"rel": "self", "href": format!("http://nova.test/{project}/flavors/1")},
            {"rel": "bookmark", "href": format!("http://nova.test/{project}/flavors/1")},
        ])
    );
}

#[tokio::test]
async fn an_unknown_flavor_is_novas_flavor_not_found() {
    let client = TestClient::new(Cloud::default());
    let (status, body) = client.get("/flavors/nope", "2.1").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"itemNotFound": {"code": 404, "message": "Flavor nope could not be found."}})
    );
    let (status, body) = client.get("/flavors/nope/os-extra_specs", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (404, "Flavor nope could not be found.")
    );
}

#[tokio::test]
async fn extra_specs_are_listed_and_read_one_by_one() {
    let client = TestClient::new(sample_cloud());
    let (status, body) = client.get("/flavors/7/os-extra_specs", "2.1").await;
    assert_eq!(status, 200);
    // doc/api_samples/flavor-extra-specs/flavor-extra-specs-list-resp.json
    assert_eq!(
        body,
        json!({"extra_specs": {"hw:cpu_policy": "shared", "hw:numa_nodes": "1"}})
    );
    let (status, body) = client
        .get("/flavors/7/os-extra_specs/hw:numa_nodes", "2.1")
        .await;
    assert_eq!((status, body), (200, json!({"hw:numa_nodes": "1"})));
    let (status, body) = client.get("/flavors/1/os-extra_specs", "2.1").await;
    assert_eq!((status, body), (200, json!({"extra_specs": {}})));
    let (status, body) = client.get("/flavors/1/os-extra_specs/hw:x", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (404, "Flavor 1 has no extra specs with key hw:x.")
    );
}

fn private_and_disabled() -> Cloud {
    let mut cloud = Cloud::default();
    cloud.flavors[1].is_public = false;
    cloud.flavors[2].disabled = true;
    cloud
}

#[tokio::test]
async fn a_member_sees_public_enabled_flavors_and_ignores_is_public() {
    let client = TestClient::new(private_and_disabled());
    let me = || Some(member("abc"));
    for query in [
        "",
        "?is_public=false",
        "?is_public=none",
        "?is_public=whatever",
    ] {
        let (status, body) = client
            .get_as(&format!("/flavors{query}"), "2.1", me())
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), ["1", "4", "5"], "{query}");
    }
    // A disabled flavor can still be shown; a private one cannot.
    let (status, _) = client.get_as("/flavors/3", "2.1", me()).await;
    assert_eq!(status, 200);
    let (status, body) = client.get_as("/flavors/2", "2.1", me()).await;
    assert_eq!(
        (status, message(&body)),
        (404, "Flavor 2 could not be found.")
    );
    let (status, _) = client
        .get_as("/flavors/2/os-extra_specs", "2.1", me())
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_admin_filters_on_is_public_with_python_literals() {
    let client = TestClient::new(private_and_disabled());
    let table: [(&str, &[&str]); 9] = [
        ("", &["1", "3", "4", "5"]),
        ("?is_public=True", &["1", "3", "4", "5"]),
        ("?is_public=true", &["1", "3", "4", "5"]),
        ("?is_public=1", &["1", "3", "4", "5"]),
        ("?is_public=False", &["2"]),
        ("?is_public=no", &["2"]),
        ("?is_public=None", &["1", "2", "3", "4", "5"]),
        ("?is_public=none", &["1", "2", "3", "4", "5"]),
        ("?is_public=NONE", &["1", "2", "3", "4", "5"]),
    ];
    for (query, expected) in table {
        let (status, body) = client
            .get_as(&format!("/flavors{query}"), "2.1", Some(admin("abc")))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    let (status, body) = client.get("/flavors?is_public=maybe", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (400, "Invalid is_public filter [maybe]")
    );
    // The detail view shows what the filters kept.
    let (_, body) = client.get("/flavors/detail?is_public=none", "2.1").await;
    assert_eq!(body["flavors"][1]["os-flavor-access:is_public"], false);
    assert_eq!(body["flavors"][2]["OS-FLV-DISABLED:disabled"], true);
}

#[tokio::test]
async fn min_ram_and_min_disk_keep_flavors_at_least_that_big() {
    let client = TestClient::new(Cloud::default());
    let table: [(&str, &[&str]); 6] = [
        ("?minRam=4096", &["3", "4", "5"]),
        ("?minDisk=80", &["4", "5"]),
        ("?minRam=2048&minDisk=40", &["3", "4", "5"]),
        ("?minRam=-2", &["1", "2", "3", "4", "5"]),
        ("?minRam=%204096%20", &["3", "4", "5"]),
        ("?minRam=99999999999999999999999999", &[]),
    ];
    for (query, expected) in table {
        let (status, body) = client.get(&format!("/flavors{query}"), "2.1").await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    let (status, body) = client.get("/flavors?minRam=lots", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (400, "Invalid minRam filter [lots]")
    );
    let (status, body) = client.get("/flavors/detail?minDisk=1.5", "2.1").await;
    assert_eq!(
        (status, message(&body)),
        (400, "Invalid minDisk filter [1.5]")
    );
}

#[tokio::test]
async fn a_full_page_links_to_the_next_from_its_last_flavor() {
    let client = TestClient::new(Cloud::default());
    let (status, body) = client.get("/flavors?limit=2", "2.1").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["1", "2"]);
    assert_eq!(
        body["flavors_links"],
        json!([{"rel": "next", "href": "http://nova.test/flavors?limit=2&marker=2"}])
    );
    let (_, body) = client
        .get("/flavors/detail?marker=2&limit=2&sort_dir=asc", "2.1")
        .await;
    assert_eq!(ids(&body), ["3", "4"]);
    assert_eq!(
        body["flavors_links"][0]["href"],
        "http://nova.test/flavors/detail?limit=2&marker=4&sort_dir=asc"
    );
    // The last page is not full: no link.
    let (_, body) = client.get("/flavors?marker=4&limit=2", "2.1").await;
    assert_eq!(ids(&body), ["5"]);
    assert!(body.get("flavors_links").is_none());
    // A limit of 0 is an empty page with no link, as in Nova.
    let (_, body) = client.get("/flavors?limit=0", "2.1").await;
    assert_eq!(body, json!({"flavors": []}));
}

#[tokio::test]
async fn the_page_size_defaults_to_and_is_capped_at_max_limit() {
    let cloud = Cloud {
        max_limit: 2,
        ..Cloud::default()
    };
    let client = TestClient::new(cloud);
    for query in ["", "?limit=100"] {
        let (_, body) = client.get(&format!("/flavors{query}"), "2.1").await;
        assert_eq!(ids(&body), ["1", "2"], "{query}");
        let href = body["flavors_links"][0]["href"].as_str().unwrap();
        assert!(href.ends_with("marker=2"), "{href}");
    }
}

#[tokio::test]
async fn bad_paging_parameters_are_novas_400s() {
    let client = TestClient::new(Cloud::default());
    let table = [
        (
            "?marker=nope",
            "marker [nope] not found",
        ),
        (
            "?limit=-1",
            "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'",
        ),
        (
            "?limit=abc",
            "Invalid input for query parameters limit. Value: abc. 'abc' does not match '^[0-9]*$'",
        ),
        (
            "?sort_dir=up",
            "Invalid input for query parameters sort_dir. Value: up. 'up' is not one of ['asc', 'desc']",
        ),
    ];
    for (query, expected) in table {
        let (status, body) = client.get(&format!("/flavors{query}"), "2.1").await;
        assert_eq!((status, message(&body)), (400, expected), "{query}");
    }
    let (status, body) = client.get("/flavors?sort_key=colour", "2.1").await;
    assert_eq!(status, 400);
    assert!(
        message(&body).starts_with(
            "Invalid input for query parameters sort_key. Value: colour. 'colour' is not one of ['created_at', 'description',"
        ),
        "{body}"
    );
    // A private flavor is no marker for a member.
    let client = TestClient::new(private_and_disabled());
    let (status, body) = client
        .get_as("/flavors?marker=2", "2.1", Some(member("abc")))
        .await;
    assert_eq!((status, message(&body)), (400, "marker [2] not found"));
}

#[tokio::test]
async fn flavors_sort_by_any_of_novas_sort_keys_then_by_their_row() {
    let mut cloud = Cloud::default();
    cloud.flavors.push(Flavor::new("10", "a.first", 1, 512, 1));
    let client = TestClient::new(cloud);
    let table: [(&str, &[&str]); 6] = [
        // flavorid is text: "10" sorts before "2".
        ("", &["1", "10", "2", "3", "4", "5"]),
        ("?sort_dir=desc", &["5", "4", "3", "2", "10", "1"]),
        ("?sort_key=name", &["10", "4", "3", "2", "1", "5"]),
        (
            "?sort_key=memory_mb&sort_dir=desc",
            &["5", "4", "3", "2", "10", "1"],
        ),
        ("?sort_key=id", &["1", "2", "3", "4", "5", "10"]),
        ("?sort_key=vcpus&marker=10", &["3", "4", "5"]),
    ];
    for (query, expected) in table {
        let (status, body) = client.get(&format!("/flavors{query}"), "2.1").await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    // 2.102 no longer sorts by rxtx_factor.
    let (status, _) = client.get("/flavors?sort_key=rxtx_factor", "2.101").await;
    assert_eq!(status, 200);
    let (status, _) = client.get("/flavors?sort_key=rxtx_factor", "2.102").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unknown_parameters_are_dropped_before_2_75_and_refused_from_it() {
    let client = TestClient::new(Cloud::default());
    let (status, body) = client
        .get("/flavors?limit=1&additional=something", "2.74")
        .await;
    assert_eq!(status, 200);
    // Stripped, so not repeated in the next link.
    assert_eq!(
        body["flavors_links"][0]["href"],
        "http://nova.test/flavors?limit=1&marker=1"
    );
    for path in ["/flavors", "/flavors/detail"] {
        let (status, body) = client
            .get(
                &format!("{path}?limit=1&marker=1&additional=something"),
                "2.75",
            )
            .await;
        assert_eq!(
            (status, message(&body)),
            (
                400,
                "Additional properties are not allowed ('additional' was unexpected)"
            )
        );
    }
    // show and the extra specs take none from 2.102.
    for path in ["/flavors/1?x=1", "/flavors/1/os-extra_specs?x=1"] {
        let (status, _) = client.get(path, "2.101").await;
        assert_eq!(status, 200, "{path}");
        let (status, _) = client.get(path, "2.102").await;
        assert_eq!(status, 400, "{path}");
    }
}

#[tokio::test]
async fn the_name_filter_of_2_102_matches_as_a_regular_expression() {
    let client = TestClient::new(sample_cloud());
    let (status, body) = client.get("/flavors?name=tiny", "2.102").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["1", "6"]);
    let (_, body) = client
        .get("/flavors?name=%5Em1%5C.(large%7Cxlarge)%24", "2.102")
        .await;
    assert_eq!(ids(&body), ["4", "5"]);
    // Before 2.102 it is an unknown parameter, stripped or refused.
    let (_, body) = client.get("/flavors?name=tiny", "2.74").await;
    assert_eq!(ids(&body).len(), 7);
    let (status, _) = client.get("/flavors?name=tiny", "2.101").await;
    assert_eq!(status, 400);
}
