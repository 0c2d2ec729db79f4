//! `GET /limits` in memory against Nova's API samples
//! (`doc/api_samples/limits/`, one directory per microversion), and the
//! usage and quota check it shares with server create.

use serde_json::{json, Value};

use crate::test_client::{admin, member, TestClient};
use crate::{Cloud, ComputeError, Flavor, Quota};

/// `doc/api_samples/limits/limit-get-resp.json`'s `absolute`.
fn sample_2_1() -> Value {
    json!({
        "maxImageMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxSecurityGroupRules": -1,
        "maxSecurityGroups": -1,
        "maxServerMeta": 128,
        "maxTotalCores": 20,
        "maxTotalFloatingIps": -1,
        "maxTotalInstances": 10,
        "maxTotalKeypairs": 100,
        "maxTotalRAMSize": 51200,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalCoresUsed": 0,
        "totalInstancesUsed": 0,
        "totalRAMUsed": 0,
        "totalSecurityGroupsUsed": 0,
        "totalFloatingIpsUsed": 0,
        "totalServerGroupsUsed": 0
    })
}

/// `v2.36/limit-get-resp.json`'s `absolute`.
fn sample_2_36() -> Value {
    json!({
        "maxImageMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxServerMeta": 128,
        "maxTotalCores": 20,
        "maxTotalInstances": 10,
        "maxTotalKeypairs": 100,
        "maxTotalRAMSize": 51200,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalCoresUsed": 0,
        "totalInstancesUsed": 0,
        "totalRAMUsed": 0,
        "totalServerGroupsUsed": 0
    })
}

/// `v2.39/limit-get-resp.json`'s `absolute`.
fn sample_2_39() -> Value {
    json!({
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxServerMeta": 128,
        "maxTotalCores": 20,
        "maxTotalInstances": 10,
        "maxTotalKeypairs": 100,
        "maxTotalRAMSize": 51200,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalCoresUsed": 0,
        "totalInstancesUsed": 0,
        "totalRAMUsed": 0,
        "totalServerGroupsUsed": 0
    })
}

/// `v2.57/limit-get-resp.json`'s `absolute`.
fn sample_2_57() -> Value {
    json!({
        "maxServerMeta": 128,
        "maxTotalCores": 20,
        "maxTotalInstances": 10,
        "maxTotalKeypairs": 100,
        "maxTotalRAMSize": 51200,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalCoresUsed": 0,
        "totalInstancesUsed": 0,
        "totalRAMUsed": 0,
        "totalServerGroupsUsed": 0
    })
}

fn message(body: &Value) -> &str {
    body.as_object()
        .and_then(|o| o.values().next())
        .and_then(|fault| fault["message"].as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_unused_project_reads_as_novas_sample_at_each_microversion() {
    let client = TestClient::new(Cloud::default());
    let table = [
        ("2.1", sample_2_1()),
        ("2.35", sample_2_1()),
        ("2.36", sample_2_36()),
        ("2.38", sample_2_36()),
        ("2.39", sample_2_39()),
        ("2.56", sample_2_39()),
        ("2.57", sample_2_57()),
        ("2.104", sample_2_57()),
    ];
    for (version, absolute) in table {
        let (status, body) = client.get("/limits", version).await;
        assert_eq!(status, 200, "{version}: {body}");
        assert_eq!(
            body,
            json!({"limits": {"absolute": absolute, "rate": []}}),
            "{version}"
        );
    }
}

#[tokio::test]
async fn usage_counts_the_projects_servers_until_their_deletion_has_run() {
    let client = TestClient::new(Cloud::default());
    let small = Flavor::new("2", "m1.small", 1, 2048, 20);
    let medium = Flavor::new("3", "m1.medium", 2, 4096, 40);
    client.add_server("p1", &small).await;
    client.add_server("p1", &medium).await;
    client.add_server("p2", &medium).await;
    client.add_deleting_server("p1", &small, 5).await;
    let used = |body: &Value| {
        let absolute = &body["limits"]["absolute"];
        (
            absolute["totalInstancesUsed"].as_i64().unwrap(),
            absolute["totalCoresUsed"].as_i64().unwrap(),
            absolute["totalRAMUsed"].as_i64().unwrap(),
        )
    };
    let (_, body) = client.get_as("/limits", "2.57", Some(member("p1"))).await;
    assert_eq!(used(&body), (3, 4, 8192));
    // Once the deletion has run the server no longer counts.
    client.clock.advance_micros(5_000_000);
    let (_, body) = client.get_as("/limits", "2.57", Some(member("p1"))).await;
    assert_eq!(used(&body), (2, 3, 6144));
    let (_, body) = client.get_as("/limits", "2.57", Some(member("p2"))).await;
    assert_eq!(used(&body), (1, 2, 4096));
}

#[tokio::test]
async fn the_default_project_owns_the_seeds_instances() {
    let client = TestClient::new(Cloud::default());
    let tiny = Flavor::new("1", "m1.tiny", 1, 512, 1);
    // Stored with no project, as an instance created through /instances.
    client.add_server("", &tiny).await;
    let (_, body) = client.get("/limits", "2.1").await;
    assert_eq!(body["limits"]["absolute"]["totalInstancesUsed"], 1);
    let (_, body) = client.get_as("/limits", "2.1", Some(member("p1"))).await;
    assert_eq!(body["limits"]["absolute"]["totalInstancesUsed"], 0);
}

#[tokio::test]
async fn only_an_admin_reads_another_projects_limits() {
    let client = TestClient::new(Cloud::default());
    let medium = Flavor::new("3", "m1.medium", 2, 4096, 40);
    client.add_server("p2", &medium).await;
    let (status, body) = client
        .get_as("/limits?tenant_id=p2", "2.1", Some(admin("p1")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["limits"]["absolute"]["totalCoresUsed"], 2);
    for tenant in ["p2", "p1"] {
        let (status, body) = client
            .get_as(
                &format!("/limits?tenant_id={tenant}"),
                "2.1",
                Some(member("p1")),
            )
            .await;
        assert_eq!(
            (status, message(&body)),
            (
                403,
                "Policy doesn't allow os_compute_api:limits:other_project to be performed."
            )
        );
    }
}

#[tokio::test]
async fn unknown_parameters_are_ignored_before_2_75_and_refused_from_it() {
    let client = TestClient::new(Cloud::default());
    let (status, _) = client.get("/limits?reserved=1", "2.74").await;
    assert_eq!(status, 200);
    let (status, body) = client.get("/limits?reserved=1", "2.75").await;
    assert_eq!(
        (status, message(&body)),
        (
            400,
            "Additional properties are not allowed ('reserved' was unexpected)"
        )
    );
}

#[tokio::test]
async fn limits_follow_the_configured_quota() {
    let cloud = Cloud {
        quota: Quota {
            instances: -1,
            cores: 4,
            ..Quota::default()
        },
        ..Cloud::default()
    };
    let client = TestClient::new(cloud);
    let (_, body) = client.get("/limits", "2.57").await;
    assert_eq!(body["limits"]["absolute"]["maxTotalInstances"], -1);
    assert_eq!(body["limits"]["absolute"]["maxTotalCores"], 4);
}

async fn check(
    client: &TestClient,
    project: &str,
    instances: i64,
    cores: i64,
    ram: i64,
) -> Result<(), ComputeError> {
    let call = client.call_as(project);
    crate::quota::check_quota(&client.api, &call, instances, cores, ram).await
}

#[tokio::test]
async fn going_over_quota_is_novas_403_naming_each_resource_over() {
    let cloud = Cloud {
        quota: Quota {
            instances: 3,
            cores: 4,
            ram: 8192,
            ..Quota::default()
        },
        ..Cloud::default()
    };
    let client = TestClient::new(cloud);
    let medium = Flavor::new("3", "m1.medium", 2, 4096, 40);
    client.add_server("p1", &medium).await;
    assert_eq!(check(&client, "p1", 1, 2, 4096).await, Ok(()));
    assert_eq!(
        check(&client, "p1", 1, 4, 4096).await,
        Err(ComputeError::Forbidden(
            "Quota exceeded for cores: Requested 4, but already used 2 of 4 cores".to_owned()
        ))
    );
    assert_eq!(
        check(&client, "p1", 3, 6, 12288).await,
        Err(ComputeError::Forbidden(
            "Quota exceeded for cores, instances, ram: Requested 6, 3, 12288, but already used 2, 1, 4096 of 4, 3, 8192 cores, instances, ram".to_owned()
        ))
    );
    // Another project's servers do not count; -1 is unlimited.
    assert_eq!(check(&client, "p2", 2, 4, 8192).await, Ok(()));
    let unlimited = TestClient::new(Cloud {
        quota: Quota {
            instances: -1,
            cores: -1,
            ram: -1,
            ..Quota::default()
        },
        ..Cloud::default()
    });
    assert_eq!(
        check(&unlimited, "p1", 1000, 100_000, 1 << 40).await,
        Ok(())
    );
}
