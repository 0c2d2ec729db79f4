//! Tests of the `metadata` module: a server's metadata through the routed
//! compute API in memory.

use serde_json::json;
use uuid::Uuid;

use crate::server_actions::tests::{delete, get, post, put, Harness};
use crate::state::{power_state, vm_state};
use crate::Cloud;

fn path(id: Uuid) -> String {
    format!("/servers/{id}/metadata")
}

#[tokio::test]
async fn post_merges_put_replaces_and_get_reads_back() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let empty = h.send(get(&path(id))).await;
    assert_eq!((empty.status, &empty.body), (200, &json!({"metadata": {}})));

    let merged = h
        .send(post(&path(id), json!({"metadata": {"a": "1", "b": "2"}})))
        .await;
    assert_eq!(
        (merged.status, &merged.body),
        (200, &json!({"metadata": {"a": "1", "b": "2"}}))
    );
    let merged = h
        .send(post(&path(id), json!({"metadata": {"b": "3", "c": ""}})))
        .await;
    assert_eq!(
        merged.body,
        json!({"metadata": {"a": "1", "b": "3", "c": ""}})
    );

    let replaced = h
        .send(put(&path(id), json!({"metadata": {"z": "26"}})))
        .await;
    assert_eq!(
        (replaced.status, &replaced.body),
        (200, &json!({"metadata": {"z": "26"}}))
    );
    assert_eq!(
        h.send(get(&path(id))).await.body,
        json!({"metadata": {"z": "26"}})
    );
    assert!(
        h.recorded(id).await.is_empty(),
        "metadata changes are no instance actions"
    );
}

#[tokio::test]
async fn one_item_is_read_set_and_deleted_by_its_key() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let item = format!("{}/k", path(id));
    let set = h.send(put(&item, json!({"meta": {"k": "v"}}))).await;
    assert_eq!((set.status, &set.body), (200, &json!({"meta": {"k": "v"}})));
    let read = h.send(get(&item)).await;
    assert_eq!(
        (read.status, &read.body),
        (200, &json!({"meta": {"k": "v"}}))
    );

    let deleted = h.send(delete(&item)).await;
    assert_eq!(
        (deleted.status, &deleted.body),
        (204, &serde_json::Value::Null)
    );
    for gone in [h.send(get(&item)).await, h.send(delete(&item)).await] {
        assert_eq!(
            (gone.status, gone.message()),
            (404, "Metadata item was not found")
        );
    }
}

#[tokio::test]
async fn an_item_must_be_one_pair_under_the_key_of_its_url() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let item = format!("{}/k", path(id));
    let mismatch = h.send(put(&item, json!({"meta": {"other": "v"}}))).await;
    assert_eq!(
        (mismatch.status, mismatch.message()),
        (400, "Request body and URI mismatch")
    );
    let two = h
        .send(put(&item, json!({"meta": {"k": "v", "l": "w"}})))
        .await;
    assert_eq!(two.status, 400);
    assert!(
        two.message()
            .starts_with("Invalid input for field/attribute meta."),
        "{}",
        two.message()
    );
    let not_a_string = h.send(put(&item, json!({"meta": {"k": 1}}))).await;
    assert_eq!(
        not_a_string.message(),
        "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"
    );
    let long = h
        .send(post(&path(id), json!({"metadata": {"k": "v".repeat(256)}})))
        .await;
    assert_eq!(long.status, 400);
    assert!(h.details(id).await.metadata.is_empty());
}

#[tokio::test]
async fn an_empty_body_is_checked_as_none() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h
        .send(crate::server_actions::tests::post_raw(&path(id), ""))
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "None is not of type 'object'")
    );
}

#[tokio::test]
async fn the_body_is_checked_before_the_server_is_looked_up() {
    let h = Harness::new();
    let missing = Uuid::new_v4();
    let bad = h.send(post(&path(missing), json!({"meta": {}}))).await;
    assert_eq!(bad.status, 400);
    let good = h.send(post(&path(missing), json!({"metadata": {}}))).await;
    assert_eq!(
        (good.status, good.message()),
        (
            404,
            format!("Instance {missing} could not be found.").as_str()
        )
    );
}

#[tokio::test]
async fn more_items_than_the_quota_allows_are_forbidden() {
    let mut cloud = Cloud::default();
    cloud.quota.metadata_items = 2;
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(
        h.send(post(&path(id), json!({"metadata": {"a": "1", "b": "2"}})))
            .await
            .status,
        200
    );
    let over = h
        .send(post(&path(id), json!({"metadata": {"c": "3"}})))
        .await;
    assert_eq!(
        (over.status, over.message()),
        (403, "Maximum number of metadata items exceeds 2")
    );
    let replacing = h
        .send(put(&path(id), json!({"metadata": {"c": "3"}})))
        .await;
    assert_eq!(
        replacing.status, 200,
        "a replacement counts only what it leaves"
    );
}

#[tokio::test]
async fn a_locked_or_building_server_keeps_its_metadata() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let lock = post(&format!("/servers/{id}/action"), json!({"lock": null})).member_of("p1");
    assert_eq!(h.send(lock).await.status, 202);
    let set = h
        .send(post(&path(id), json!({"metadata": {"a": "1"}})).member_of("p1"))
        .await;
    assert_eq!(
        (set.status, set.message()),
        (409, format!("Instance {id} is locked").as_str())
    );
    let as_admin = h
        .send(post(&path(id), json!({"metadata": {"a": "1"}})).admin_of("ops"))
        .await;
    assert_eq!(as_admin.status, 200);
    let gone = h
        .send(delete(&format!("{}/a", path(id))).member_of("p1"))
        .await;
    assert_eq!(gone.status, 409);

    let building = h.server(vm_state::BUILDING, power_state::NOSTATE).await;
    let set = h
        .send(post(&path(building), json!({"metadata": {"a": "1"}})))
        .await;
    assert_eq!(
        (set.status, set.message()),
        (
            409,
            format!(
                "Cannot 'update metadata' instance {building} while it is in vm_state building"
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn metadata_changes_while_a_task_is_under_way() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let reboot = post(
        &format!("/servers/{id}/action"),
        json!({"reboot": {"type": "SOFT"}}),
    );
    assert_eq!(h.send(reboot).await.status, 202);
    assert_eq!(h.status(id).await, "REBOOT");
    let set = h
        .send(post(&path(id), json!({"metadata": {"a": "1"}})))
        .await;
    assert_eq!(set.status, 200, "Nova checks no task state for metadata");
}

#[tokio::test]
async fn reads_take_no_query_parameters_from_2_102() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let query = format!("{}?x=1", path(id));
    assert_eq!(h.send(get(&query).at(101)).await.status, 200);
    let refused = h.send(get(&query).at(102)).await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            400,
            "Additional properties are not allowed ('x' was unexpected)"
        )
    );
}
