//! Tests of the `server_tags` module: a server's tags through the routed
//! compute API in memory, at 2.26 unless a test says otherwise.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::server_actions::tests::{delete, get, put, put_empty, Harness};
use crate::state::{power_state, vm_state};
use crate::DEFAULT_PROJECT;

fn tags(id: impl std::fmt::Display) -> String {
    format!("/servers/{id}/tags")
}

fn tag(id: impl std::fmt::Display, name: &str) -> String {
    format!("/servers/{id}/tags/{name}")
}

#[tokio::test]
async fn one_tag_is_added_checked_and_removed() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let empty = h.send(get(&tags(id)).at(26)).await;
    assert_eq!((empty.status, &empty.body), (200, &json!({"tags": []})));

    let added = h.send(put_empty(&tag(id, "web")).at(26)).await;
    assert_eq!((added.status, &added.body), (201, &Value::Null));
    assert_eq!(
        added.headers["location"],
        format!("http://localhost/servers/{id}/tags/web").as_str()
    );
    let again = h.send(put_empty(&tag(id, "web")).at(26)).await;
    assert_eq!(again.status, 204, "a tag it has already is no change");
    assert!(!again.headers.contains_key("location"));

    let has = h.send(get(&tag(id, "web")).at(26)).await;
    assert_eq!((has.status, &has.body), (204, &Value::Null));
    let lacks = h.send(get(&tag(id, "db")).at(26)).await;
    assert_eq!(
        (lacks.status, lacks.message()),
        (404, format!("Server {id} has no tag 'db'").as_str())
    );

    let removed = h.send(delete(&tag(id, "web")).at(26)).await;
    assert_eq!(removed.status, 204);
    let gone = h.send(delete(&tag(id, "web")).at(26)).await;
    assert_eq!(
        (gone.status, gone.message()),
        (404, format!("Instance {id} has no tag 'web'").as_str())
    );
    assert!(h.details(id).await.tags.is_empty());
}

#[tokio::test]
async fn the_whole_set_is_replaced_once_per_tag_and_removed() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let set = h
        .send(put(&tags(id), json!({"tags": ["b", "a", "b"]})).at(26))
        .await;
    assert_eq!((set.status, &set.body), (200, &json!({"tags": ["b", "a"]})));
    let read = h.send(get(&tags(id)).at(26)).await;
    assert_eq!(read.body, json!({"tags": ["b", "a"]}));
    let shown = h.send(get(&format!("/servers/{id}")).at(26)).await;
    assert_eq!(shown.body["server"]["tags"], json!(["b", "a"]));

    let cleared = h.send(delete(&tags(id)).at(26)).await;
    assert_eq!((cleared.status, &cleared.body), (204, &Value::Null));
    assert_eq!(
        h.send(get(&tags(id)).at(26)).await.body,
        json!({"tags": []})
    );
}

#[tokio::test]
async fn below_2_26_the_tags_are_no_resource() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    for ask in [
        get(&tags(id)).at(25),
        put_empty(&tag(id, "x")).at(25),
        delete(&tags(id)),
    ] {
        let answer = h.send(ask).await;
        assert_eq!(
            (answer.status, answer.message()),
            (404, "The resource could not be found.")
        );
    }
    assert!(h.details(id).await.tags.is_empty());
}

#[tokio::test]
async fn fifty_tags_of_sixty_characters_without_slash_or_comma_are_the_limits() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let fifty: Vec<String> = (0..50).map(|n| format!("t{n}")).collect();
    let set = h
        .send(put(&tags(id), json!({ "tags": fifty })).at(26))
        .await;
    assert_eq!(set.status, 200);
    for name in ["t51", "t0"] {
        // Nova counts before it looks: a full server refuses even a tag
        // it has.
        let full = h.send(put_empty(&tag(id, name)).at(26)).await;
        assert_eq!(
            (full.status, full.message()),
            (400, "The number of tags exceeded the per-server limit 50")
        );
    }
    let many: Vec<String> = (0..51).map(|n| format!("t{n}")).collect();
    let over = h.send(put(&tags(id), json!({ "tags": many })).at(26)).await;
    assert_eq!(over.status, 400, "{}", over.body);
    assert_eq!(h.details(id).await.tags.len(), 50);

    h.send(delete(&tags(id)).at(26)).await;
    let long = "x".repeat(61);
    let refused = h.send(put_empty(&tag(id, &long)).at(26)).await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            400,
            format!(
                "Tag '{long}' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: '{long}' is too long"
            )
            .as_str()
        )
    );
    let comma = h.send(put_empty(&tag(id, "a,b")).at(26)).await;
    assert_eq!(comma.status, 400);
    let slash = h.send(put_empty(&tag(id, "a%2Fb")).at(26)).await;
    assert_eq!(slash.status, 400, "{}", slash.body);
    let with_body = h.send(put(&tag(id, "ok"), json!({})).at(26)).await;
    assert_eq!(
        (with_body.status, with_body.message()),
        (400, "{} is not of type 'null'")
    );
    let sixty = "x".repeat(60);
    assert_eq!(h.send(put_empty(&tag(id, &sixty)).at(26)).await.status, 201);
}

#[tokio::test]
async fn changes_are_refused_outside_active_paused_suspended_and_stopped() {
    let h = Harness::new();
    let building = h.server(vm_state::BUILDING, power_state::NOSTATE).await;
    for (ask, action) in [
        (put_empty(&tag(building, "x")).at(26), "update tag"),
        (
            put(&tags(building), json!({"tags": []})).at(26),
            "update tags",
        ),
        (delete(&tag(building, "x")).at(26), "delete tag"),
        (delete(&tags(building)).at(26), "delete tags"),
    ] {
        let answer = h.send(ask).await;
        assert_eq!(
            (answer.status, answer.message()),
            (
                409,
                format!("Cannot '{action}' instance {building} while it is in vm_state building")
                    .as_str()
            )
        );
    }
    // Reads are not refused.
    assert_eq!(h.send(get(&tags(building)).at(26)).await.status, 200);
    for vm in [vm_state::PAUSED, vm_state::SUSPENDED, vm_state::STOPPED] {
        let id = h.server(vm, power_state::SHUTDOWN).await;
        assert_eq!(h.send(put_empty(&tag(id, "x")).at(26)).await.status, 201);
    }
    // A lock does not stop a tag change.
    let locked = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    h.edit(locked, |d| {
        d.lock = Some(crate::Lock {
            locked_by: "admin".to_owned(),
            reason: None,
        })
    })
    .await;
    let answer = h
        .send(
            put_empty(&tag(locked, "x"))
                .at(26)
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(answer.status, 201);
}

#[tokio::test]
async fn a_tag_change_leaves_the_updated_time_as_it_was() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let before = h.stored(id).await.updated_at;
    h.advance(5);
    h.send(put_empty(&tag(id, "x")).at(26)).await;
    h.send(put(&tags(id), json!({"tags": ["y"]})).at(26)).await;
    h.send(delete(&tag(id, "y")).at(26)).await;
    assert_eq!(h.stored(id).await.updated_at, before);
    let shown = h.send(get(&format!("/servers/{id}")).at(26)).await;
    assert_eq!(
        shown.body["server"]["updated"],
        shown.body["server"]["created"]
    );
}

#[tokio::test]
async fn another_projects_server_is_forbidden_and_an_unknown_one_has_no_mapping() {
    let h = Harness::new();
    let id = h
        .server_of("other", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let read = h.send(get(&tags(id)).at(26).member_of("mine")).await;
    assert_eq!(
        (read.status, read.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-server-tags:index to be performed."
        )
    );
    let write = h
        .send(put_empty(&tag(id, "x")).at(26).member_of("mine"))
        .await;
    assert_eq!(
        (write.status, write.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-server-tags:update to be performed."
        )
    );
    // A reader of the server's project reads but may not change.
    assert_eq!(
        h.send(get(&tags(id)).at(26).reader_of("other"))
            .await
            .status,
        200
    );
    let reader = h.send(delete(&tags(id)).at(26).reader_of("other")).await;
    assert_eq!(reader.status, 403);
    assert_eq!(
        h.send(put_empty(&tag(id, "x")).at(26).admin_of("mine"))
            .await
            .status,
        201
    );

    let unknown = Uuid::new_v4();
    for path in [tags(unknown), tags("nope")] {
        let answer = h.send(get(&path).at(26)).await;
        let raw = path
            .trim_start_matches("/servers/")
            .trim_end_matches("/tags");
        assert_eq!(
            (answer.status, answer.message()),
            (
                404,
                format!("Instance {raw} has no mapping to a cell.").as_str()
            )
        );
    }
}

#[tokio::test]
async fn a_deleted_servers_tags_are_not_found() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(h.send(delete(&format!("/servers/{id}"))).await.status, 204);
    h.advance(60);
    for ask in [get(&tags(id)).at(26), put_empty(&tag(id, "x")).at(26)] {
        let answer = h.send(ask).await;
        assert_eq!(
            (answer.status, answer.message()),
            (404, format!("Instance {id} could not be found.").as_str())
        );
    }
}

#[tokio::test]
async fn concurrent_additions_all_land_and_never_pass_fifty() {
    let h = std::sync::Arc::new(Harness::new());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let mut tasks = Vec::new();
    for n in 0..60 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.send(put_empty(&tag(id, &format!("t{n}"))).at(26))
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 50);
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 10);
    assert_eq!(h.details(id).await.tags.len(), 50);
}
