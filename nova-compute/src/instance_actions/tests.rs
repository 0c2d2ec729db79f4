//! Tests of the `instance_actions` module: what was done to a server,
//! through the routed compute API in memory.

use nova_controller::IfMatch;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::server_actions::tests::{get, post, Harness};
use crate::state::{power_state, vm_state, Lifecycle, State};
use crate::{Clock, Server, ServerStore};

fn path(id: Uuid) -> String {
    format!("/servers/{id}/os-instance-actions")
}

/// A server stopped and started again, one second apart: two actions.
async fn stopped_and_started(h: &Harness) -> Uuid {
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let act = |body: Value| post(&format!("/servers/{id}/action"), body);
    assert_eq!(h.send(act(json!({"os-stop": null}))).await.status, 202);
    h.advance(1);
    assert_eq!(h.send(act(json!({"os-start": null}))).await.status, 202);
    id
}

/// An object's keys, sorted: the sets are compared, not the order.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn actions_are_listed_newest_first_with_the_keys_of_the_microversion() {
    let h = Harness::new();
    let id = stopped_and_started(&h).await;
    let listed = h.send(get(&path(id))).await;
    assert_eq!(listed.status, 200);
    let actions = listed.body["instanceActions"].as_array().unwrap();
    let names: Vec<&str> = actions
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["start", "stop"]);
    assert_eq!(
        keys(&actions[0]),
        [
            "action",
            "instance_uuid",
            "message",
            "project_id",
            "request_id",
            "start_time",
            "user_id"
        ]
    );
    assert_eq!(actions[0]["instance_uuid"], id.to_string());
    let start = actions[0]["start_time"].as_str().unwrap();
    assert_eq!((start.len(), start.ends_with('Z')), (26, false), "{start}");
    assert_eq!(listed.body.get("links"), None);

    let v258 = h.send(get(&path(id)).at(58)).await;
    let first = &v258.body["instanceActions"][0];
    assert!(keys(first).contains(&"updated_at"));
}

#[tokio::test]
async fn an_action_shows_its_events_as_far_as_the_caller_may_see_them() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let stop = post(&format!("/servers/{id}/action"), json!({"os-stop": null})).member_of("p1");
    assert_eq!(h.send(stop).await.status, 202);
    let request_id = h.details(id).await.actions[0].request_id.clone();
    let one = format!("{}/{request_id}", path(id));

    let member = h.send(get(&one).member_of("p1").at(50)).await;
    assert_eq!(member.status, 200);
    assert_eq!(
        member.body["instanceAction"].get("events"),
        None,
        "events are admin only before 2.51"
    );
    let member = h.send(get(&one).member_of("p1").at(51)).await;
    let event = &member.body["instanceAction"]["events"][0];
    assert_eq!(
        keys(event),
        ["event", "finish_time", "result", "start_time"]
    );
    assert_eq!(
        (event["event"].as_str(), event["result"].as_str()),
        (Some("compute_stop_instance"), Some("Success"))
    );
    let member = h.send(get(&one).member_of("p1").at(62)).await;
    assert_eq!(
        keys(&member.body["instanceAction"]["events"][0]),
        ["event", "finish_time", "hostId", "result", "start_time"]
    );

    let admin = h.send(get(&one).admin_of("ops")).await;
    assert_eq!(
        keys(&admin.body["instanceAction"]["events"][0]),
        ["event", "finish_time", "result", "start_time", "traceback"]
    );
    let admin = h.send(get(&one).admin_of("ops").at(84)).await;
    let action = &admin.body["instanceAction"];
    assert_eq!(
        keys(&action["events"][0]),
        [
            "details",
            "event",
            "finish_time",
            "host",
            "hostId",
            "result",
            "start_time",
            "traceback"
        ]
    );
    assert_eq!(action["request_id"], request_id.as_str());
    assert_eq!(
        (action["project_id"].as_str(), action["user_id"].as_str()),
        (Some("p1"), Some("user"))
    );
    assert!(keys(action).contains(&"updated_at"));
}

#[tokio::test]
async fn an_event_still_under_way_has_no_finish_and_no_result_yet() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let reboot = post(
        &format!("/servers/{id}/action"),
        json!({"reboot": {"type": "SOFT"}}),
    );
    assert_eq!(h.send(reboot).await.status, 202);
    let request_id = h.details(id).await.actions[0].request_id.clone();
    let one = format!("{}/{request_id}", path(id));
    let running = h.send(get(&one).at(58)).await;
    let action = &running.body["instanceAction"];
    assert_eq!(
        (
            &action["events"][0]["finish_time"],
            &action["events"][0]["result"]
        ),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(action["updated_at"], action["start_time"]);
    h.advance(1);
    let done = h.send(get(&one).at(58)).await;
    let action = &done.body["instanceAction"];
    assert_eq!(action["events"][0]["result"], "Success");
    assert_eq!(action["updated_at"], action["events"][0]["finish_time"]);
}

#[tokio::test]
async fn an_unknown_request_id_is_not_found() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.send(get(&format!("{}/req-nope", path(id)))).await;
    assert_eq!(
        (answer.status, answer.message()),
        (404, "Action req-nope not found")
    );
}

#[tokio::test]
async fn from_2_58_a_listing_pages_by_request_id() {
    let h = Harness::new();
    let id = stopped_and_started(&h).await;
    let first = h.send(get(&format!("{}?limit=1", path(id))).at(58)).await;
    assert_eq!(first.status, 200);
    let actions = first.body["instanceActions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    let newest = actions[0]["request_id"].as_str().unwrap();
    let next = first.body["links"][0]["href"].as_str().unwrap();
    assert_eq!(first.body["links"][0]["rel"], "next");
    assert!(
        next.ends_with(&format!(
            "/servers/{id}/os-instance-actions?limit=1&marker={newest}"
        )),
        "{next}"
    );

    let rest = h
        .send(get(&format!("{}?marker={newest}", path(id))).at(58))
        .await;
    let names: Vec<&str> = rest.body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stop"]);
    assert_eq!(rest.body.get("links"), None);

    let unknown = h
        .send(get(&format!("{}?marker=req-nope", path(id))).at(58))
        .await;
    assert_eq!(
        (unknown.status, unknown.message()),
        (400, "Marker None could not be found.")
    );
    let empty = h
        .send(get(&format!("{}?limit=0&marker=req-nope", path(id))).at(58))
        .await;
    assert_eq!(
        (empty.status, &empty.body),
        (200, &json!({"instanceActions": []})),
        "an empty page is answered before the marker is looked up"
    );
    let ignored = h
        .send(get(&format!("{}?marker=req-nope", path(id))).at(57))
        .await;
    assert_eq!(ignored.status, 200, "before 2.58 the query is not read");
}

#[tokio::test]
async fn from_2_58_a_listing_filters_by_when_actions_were_updated() {
    let h = Harness::new();
    let id = stopped_and_started(&h).await;
    let details = h.details(id).await;
    let started = crate::views::instance_actions::time(details.actions[1].start_time.unwrap());
    let since = h
        .send(get(&format!("{}?changes-since={started}", path(id))).at(58))
        .await;
    assert_eq!(since.status, 200, "{}", since.message());
    assert_eq!(since.body["instanceActions"].as_array().unwrap().len(), 1);
    assert_eq!(since.body["instanceActions"][0]["action"], "start");

    let before = format!("{}?changes-before={started}", path(id));
    let refused = h.send(get(&before).at(65)).await;
    assert_eq!(refused.status, 400, "changes-before arrives with 2.66");
    let listed = h.send(get(&before).at(66)).await;
    assert_eq!(listed.body["instanceActions"].as_array().unwrap().len(), 2);

    let reversed = format!(
        "{}?changes-since={started}&changes-before=2000-01-01T00:00:00",
        path(id)
    );
    let refused = h.send(get(&reversed).at(66)).await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            400,
            "The value of changes-since must be less than or equal to changes-before."
        )
    );
    let unknown = h.send(get(&format!("{}?x=1", path(id))).at(58)).await;
    assert_eq!(
        (unknown.status, unknown.message()),
        (
            400,
            "Additional properties are not allowed ('x' was unexpected)"
        )
    );
}

#[tokio::test]
async fn a_deleted_servers_actions_are_readable_from_2_21() {
    let h = Harness::new();
    let id = stopped_and_started(&h).await;
    let now = h.clock.now();
    h.store
        .update_server(
            id,
            IfMatch::Any,
            Box::new(move |server: &mut Server| {
                server.deleted_at = Some(now);
                if let Some(details) = server.details.as_mut() {
                    std::sync::Arc::make_mut(details).lifecycle =
                        Some(Lifecycle::settled(State::settled(vm_state::DELETED, 0)));
                }
                Ok(())
            }),
        )
        .await
        .unwrap();
    let before = h.send(get(&path(id)).at(20)).await;
    assert_eq!(before.status, 404);
    let after = h.send(get(&path(id)).at(21)).await;
    assert_eq!(
        (
            after.status,
            after.body["instanceActions"].as_array().map(Vec::len)
        ),
        (200, Some(2))
    );
    let elsewhere = h.send(get(&path(id)).at(21).member_of("p2")).await;
    assert_eq!(elsewhere.status, 404, "still only the owner's");
}
