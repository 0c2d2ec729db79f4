//! Tests of the quota sets controller through the compute API in memory:
//! the bodies at each microversion, who may change limits, the checks on
//! a change, and the limits taking effect at server create and in
//! `GET /limits`.

use serde_json::{json, Value};

use crate::server_actions::tests::{delete, get, post, put, Harness};
use crate::state::{power_state, vm_state};
use crate::test_client::keys;
use crate::DEFAULT_PROJECT;

fn quota_path(suffix: &str) -> String {
    format!("/os-quota-sets/{DEFAULT_PROJECT}{suffix}")
}

fn set(body: Value) -> Value {
    json!({ "quota_set": body })
}

#[tokio::test]
async fn the_resources_shown_shrink_at_2_36_and_2_57() {
    let h = Harness::new();
    let v21 = h.send(get(&quota_path("")).at(1)).await;
    assert_eq!(v21.status, 200);
    assert_eq!(
        keys(&v21.body["quota_set"]),
        [
            "cores",
            "fixed_ips",
            "floating_ips",
            "id",
            "injected_file_content_bytes",
            "injected_file_path_bytes",
            "injected_files",
            "instances",
            "key_pairs",
            "metadata_items",
            "ram",
            "security_group_rules",
            "security_groups",
            "server_group_members",
            "server_groups"
        ]
    );
    assert_eq!(v21.body["quota_set"]["id"], DEFAULT_PROJECT);
    assert_eq!(v21.body["quota_set"]["floating_ips"], -1);
    assert_eq!(v21.body["quota_set"]["injected_file_path_bytes"], 255);
    let v236 = h.send(get(&quota_path("")).at(36)).await;
    assert_eq!(v236.body["quota_set"].as_object().unwrap().len(), 11);
    assert_eq!(v236.body["quota_set"].get("floating_ips"), None);
    let v257 = h.send(get(&quota_path("/defaults")).at(57)).await;
    assert_eq!(
        keys(&v257.body["quota_set"]),
        [
            "cores",
            "id",
            "instances",
            "key_pairs",
            "metadata_items",
            "ram",
            "server_group_members",
            "server_groups"
        ]
    );
    assert_eq!(v257.body["quota_set"]["instances"], 10);
}

#[tokio::test]
async fn an_admin_sets_limits_that_show_and_count_until_deleted() {
    let h = Harness::new();
    let updated = h
        .send(put(&quota_path(""), set(json!({"cores": 45, "instances": "1"}))).at(57))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["quota_set"]["cores"], 45);
    assert_eq!(
        updated.body["quota_set"].get("id"),
        None,
        "no id in an update"
    );
    let shown = h.send(get(&quota_path("")).at(57)).await;
    assert_eq!(shown.body["quota_set"]["instances"], 1);
    let defaults = h.send(get(&quota_path("/defaults")).at(57)).await;
    assert_eq!(defaults.body["quota_set"]["instances"], 10);
    let limits = h.send(get("/limits").at(57)).await;
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalCores"], 45);
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalInstances"], 1);
    // The instance limit of 1 holds at create.
    let server = json!({"server": {"name": "s", "flavorRef": "1",
        "imageRef": crate::Image::CIRROS_ID.to_string()}});
    assert_eq!(h.send(post("/servers", server.clone())).await.status, 202);
    let over = h.send(post("/servers", server.clone())).await;
    assert_eq!(over.status, 403);
    assert_eq!(
        over.message(),
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
    );
    let gone = h.send(delete(&quota_path(""))).await;
    assert_eq!((gone.status, gone.body.clone()), (202, Value::Null));
    assert_eq!(
        h.send(get(&quota_path("")).at(57)).await.body["quota_set"]["instances"],
        10
    );
    assert_eq!(h.send(post("/servers", server)).await.status, 202);
}

#[tokio::test]
async fn a_metadata_items_limit_holds_for_the_metadata_api_and_rebuild() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let updated = h
        .send(put(&quota_path(""), set(json!({"metadata_items": 2}))).at(57))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    let three = json!({"metadata": {"a": "1", "b": "2", "c": "3"}});
    let over = h
        .send(post(&format!("/servers/{id}/metadata"), three.clone()))
        .await;
    assert_eq!(
        (over.status, over.message()),
        (403, "Maximum number of metadata items exceeds 2")
    );
    let rebuild = json!({"rebuild": {"imageRef": crate::Image::CIRROS_ID.to_string(),
        "metadata": {"a": "1", "b": "2", "c": "3"}}});
    let over = h
        .send(post(&format!("/servers/{id}/action"), rebuild))
        .await;
    assert_eq!(
        (over.status, over.message()),
        (403, "Maximum number of metadata items exceeds 2")
    );
    let two = json!({"metadata": {"a": "1", "b": "2"}});
    let fits = h.send(post(&format!("/servers/{id}/metadata"), two)).await;
    assert_eq!(fits.status, 200, "{:?}", fits.body);
}

#[tokio::test]
async fn detail_shows_what_is_in_use() {
    let h = Harness::new();
    h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let detail = h.send(get(&quota_path("/detail")).at(57)).await;
    assert_eq!(detail.status, 200);
    let set = &detail.body["quota_set"];
    assert_eq!(
        set["instances"],
        json!({"limit": 10, "in_use": 1, "reserved": 0})
    );
    assert_eq!(set["cores"]["in_use"], 1);
    assert_eq!(set["ram"]["in_use"], 512);
    assert_eq!(
        set["key_pairs"],
        json!({"limit": 100, "in_use": 0, "reserved": 0})
    );
    assert_eq!(set["id"], DEFAULT_PROJECT);
    // The server belongs to "user": another user's detail counts none.
    let other = h
        .send(get(&quota_path("/detail?user_id=someone")).at(57))
        .await;
    assert_eq!(other.body["quota_set"]["instances"]["in_use"], 0);
    let theirs = h
        .send(get(&quota_path("/detail?user_id=user")).at(57))
        .await;
    assert_eq!(theirs.body["quota_set"]["instances"]["in_use"], 1);
}

#[tokio::test]
async fn a_limit_below_what_is_used_is_refused_unless_forced() {
    let h = Harness::new();
    h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let refused = h
        .send(put(
            &quota_path(""),
            set(json!({"instances": 1, "cores": 50})),
        ))
        .await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            400,
            "Quota limit 1 for instances must be greater than or equal to already used and reserved 2."
        )
    );
    assert_eq!(
        h.send(get(&quota_path(""))).await.body["quota_set"]["cores"],
        20,
        "nothing stored"
    );
    let forced = h
        .send(put(
            &quota_path(""),
            set(json!({"instances": 1, "force": true})),
        ))
        .await;
    assert_eq!(forced.status, 200);
    assert_eq!(forced.body["quota_set"]["instances"], 1);
    assert_eq!(
        h.send(put(&quota_path(""), set(json!({"instances": -1}))))
            .await
            .status,
        200,
        "unlimited is above any use"
    );
}

#[tokio::test]
async fn a_users_limit_stays_within_what_the_project_has_left() {
    let h = Harness::new();
    h.send(put(&quota_path(""), set(json!({"key_pairs": 10}))))
        .await;
    let mine = h
        .send(put(
            &quota_path("?user_id=user"),
            set(json!({"key_pairs": 4})),
        ))
        .await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["quota_set"]["key_pairs"], 4);
    let too_many = h
        .send(put(
            &quota_path("?user_id=other"),
            set(json!({"key_pairs": 7})),
        ))
        .await;
    assert_eq!(
        (too_many.status, too_many.message()),
        (
            400,
            "Quota limit 7 for key_pairs must be less than or equal to 6."
        )
    );
    // The project's limit must cover what it gave its users.
    let below = h
        .send(put(&quota_path(""), set(json!({"key_pairs": 3}))))
        .await;
    assert_eq!(below.status, 400);
    assert_eq!(
        h.send(get(&quota_path("?user_id=user"))).await.body["quota_set"]["key_pairs"],
        4
    );
    assert_eq!(
        h.send(get(&quota_path(""))).await.body["quota_set"]["key_pairs"],
        10
    );
    assert_eq!(
        h.send(delete(&quota_path("?user_id=user"))).await.status,
        202
    );
    assert_eq!(
        h.send(get(&quota_path("?user_id=user"))).await.body["quota_set"]["key_pairs"],
        10
    );
}

#[tokio::test]
async fn only_admins_change_limits_and_readers_see_their_own_projects() {
    let h = Harness::new();
    let project = "0123abcd";
    let path = format!("/os-quota-sets/{project}");
    let change = h
        .send(put(&path, set(json!({"cores": 1}))).member_of(project))
        .await;
    assert_eq!(
        (change.status, change.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed."
        )
    );
    assert_eq!(h.send(delete(&path).member_of(project)).await.status, 403);
    assert_eq!(h.send(get(&path).reader_of(project)).await.status, 200);
    assert_eq!(
        h.send(get(&format!("{path}/detail")).reader_of(project))
            .await
            .status,
        200
    );
    let elsewhere = h.send(get(&path).reader_of("4567cdef")).await;
    assert_eq!(elsewhere.status, 403);
    // Anyone may read the defaults.
    assert_eq!(
        h.send(get(&format!("{path}/defaults")).reader_of("4567cdef"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_update_body_follows_the_microversion() {
    let h = Harness::new();
    let network = set(json!({"floating_ips": 5}));
    assert_eq!(
        h.send(put(&quota_path(""), network.clone()).at(35))
            .await
            .status,
        200
    );
    let refused = h.send(put(&quota_path(""), network).at(36)).await;
    assert_eq!(refused.status, 400);
    assert!(refused.message().contains("'floating_ips' was unexpected"));
    let personality = set(json!({"injected_files": 1}));
    assert_eq!(
        h.send(put(&quota_path(""), personality.clone()).at(56))
            .await
            .status,
        200
    );
    assert_eq!(
        h.send(put(&quota_path(""), personality).at(57))
            .await
            .status,
        400
    );
    assert_eq!(
        h.send(put(&quota_path(""), set(json!({"cores": -2}))))
            .await
            .status,
        400
    );
    assert_eq!(h.send(get(&quota_path("?foo=1")).at(74)).await.status, 200);
    assert_eq!(h.send(get(&quota_path("?foo=1")).at(75)).await.status, 400);
}
