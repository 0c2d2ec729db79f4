//! Tests of the `availability_zones` module: the listings through the
//! routed compute API in memory, and the zone a create asks for.

use serde_json::json;

use super::pinned_zone;
use crate::test_client::{member, TestClient};
use crate::{Cloud, ComputeError};

fn cloud_in(zone: &str) -> Cloud {
    Cloud {
        availability_zone: zone.to_owned(),
        ..Cloud::default()
    }
}

#[tokio::test]
async fn anyone_lists_the_configured_zone_without_hosts() {
    let client = TestClient::new(cloud_in("az-1"));
    let expected = json!({"availabilityZoneInfo": [
        {"zoneName": "az-1", "zoneState": {"available": true}, "hosts": null},
    ]});
    for caller in [None, Some(member("p1"))] {
        let (status, body) = client.get_as("/os-availability-zone", "2.1", caller).await;
        assert_eq!((status, &body), (200, &expected));
    }
}

#[tokio::test]
async fn the_detail_shows_admins_each_zones_host_and_services() {
    let client = TestClient::new(Cloud::default());
    let (status, body) = client.get("/os-availability-zone/detail", "2.1").await;
    assert_eq!(status, 200);
    let zones = body["availabilityZoneInfo"].as_array().unwrap();
    let names: Vec<&str> = zones
        .iter()
        .map(|z| z["zoneName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["internal", "nova"]);
    let services = |zone: usize| {
        let mut binaries: Vec<String> = zones[zone]["hosts"]["nova-rs"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        binaries.sort();
        binaries
    };
    assert_eq!(services(0), ["nova-conductor", "nova-scheduler"]);
    assert_eq!(services(1), ["nova-compute"]);
    let compute = &zones[1]["hosts"]["nova-rs"]["nova-compute"];
    assert_eq!(
        (&compute["available"], &compute["active"]),
        (&json!(true), &json!(true))
    );
    let heartbeat = compute["updated_at"].as_str().unwrap();
    assert!(
        !heartbeat.ends_with('Z') && heartbeat.len() == 26,
        "{heartbeat}"
    );

    let (status, body) = client
        .get_as("/os-availability-zone/detail", "2.1", Some(member("p1")))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["forbidden"]["message"],
        "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed."
    );
}

#[tokio::test]
async fn from_2_102_the_listings_take_no_query() {
    let client = TestClient::new(Cloud::default());
    assert_eq!(
        client.get("/os-availability-zone?x=1", "2.101").await.0,
        200
    );
    assert_eq!(
        client.get("/os-availability-zone?x=1", "2.102").await.0,
        400
    );
}

#[test]
fn a_create_names_the_configured_zone_or_forces_a_host() {
    let cloud = cloud_in("az-1");
    let pinned = |zone: &str| pinned_zone(&cloud, zone);
    let refused = |zone: &str| match pinned_zone(&cloud, zone) {
        Err(ComputeError::BadRequest(message)) => message,
        other => panic!("{zone}: {other:?}"),
    };
    assert_eq!(pinned("az-1"), Ok(Some("az-1".to_owned())));
    assert_eq!(
        refused("nova"),
        "The requested availability zone is not available"
    );
    assert_eq!(
        refused("internal"),
        "The requested availability zone is not available"
    );
    // A forced host or node keeps the zone only if it is the host's.
    assert_eq!(pinned("az-1:nova-rs"), Ok(Some("az-1".to_owned())));
    assert_eq!(pinned("az-1::nova-rs"), Ok(Some("az-1".to_owned())));
    assert_eq!(pinned("az-1:h:n"), Ok(Some("az-1".to_owned())));
    assert_eq!(pinned("elsewhere:nova-rs"), Ok(None));
    // An empty zone asks for none; an empty host forces nothing.
    assert_eq!(pinned(":nova-rs"), Ok(None));
    assert_eq!(
        refused("elsewhere:"),
        "The requested availability zone is not available"
    );
    assert_eq!(
        refused("a:b:c:d"),
        "Invalid input received: Unable to parse availability_zone"
    );
}
