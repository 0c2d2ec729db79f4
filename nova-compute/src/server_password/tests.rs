//! Tests of the `server_password` module: the metadata-service password
//! of a server through the routed compute API in memory.

use serde_json::json;

use crate::server_actions::tests::{delete, get, Harness};
use crate::state::{power_state, vm_state};

fn path(id: uuid::Uuid) -> String {
    format!("/servers/{id}/os-server-password")
}

#[tokio::test]
async fn a_server_has_an_empty_password_until_one_is_posted_and_clearing_empties_it() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let none = h.send(get(&path(id))).await;
    assert_eq!((none.status, &none.body), (200, &json!({"password": ""})));

    h.edit(id, |details| details.password = "c2VjcmV0".to_owned())
        .await;
    let posted = h.send(get(&path(id))).await;
    assert_eq!(posted.body, json!({"password": "c2VjcmV0"}));

    let before = h.stored(id).await.updated_at;
    h.advance(3);
    let cleared = h.send(delete(&path(id))).await;
    assert_eq!(
        (cleared.status, &cleared.body),
        (204, &serde_json::Value::Null)
    );
    assert_eq!(h.send(get(&path(id))).await.body, json!({"password": ""}));
    // Nova saves the instance when it clears the password.
    assert!(h.stored(id).await.updated_at > before);
}

#[tokio::test]
async fn readers_read_members_clear_and_other_projects_see_no_server() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    assert_eq!(h.send(get(&path(id)).reader_of("p1")).await.status, 200);
    let refused = h.send(delete(&path(id)).reader_of("p1")).await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-server-password:clear to be performed."
        )
    );
    assert_eq!(h.send(delete(&path(id)).member_of("p1")).await.status, 204);
    for ask in [
        get(&path(id)).member_of("p2"),
        delete(&path(id)).member_of("p2"),
    ] {
        let answer = h.send(ask).await;
        assert_eq!(
            (answer.status, answer.message()),
            (404, format!("Instance {id} could not be found.").as_str())
        );
    }
}

#[test]
fn a_stored_document_without_a_password_reads_as_none() {
    let details: crate::ServerDetails = serde_json::from_str(r#"{"user_id": "u"}"#).unwrap();
    assert_eq!(details.password, "");
}
