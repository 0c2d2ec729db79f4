//! Tests of the policy table: the rules' defaults as Nova has them, the
//! documented table against the code's, and what a reader, a member and
//! an admin may do through the compute API in memory.

use serde_json::json;

use super::*;
use crate::server_actions::tests::{delete, get, post, Harness};
use crate::state::{power_state, vm_state};
use crate::DEFAULT_PROJECT;

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

/// Nova's 403 for `rule`.
fn refusal(rule: &str) -> String {
    format!("Policy doesn't allow {rule} to be performed.")
}

#[test]
fn the_documented_table_is_the_table_the_code_asks() {
    let source = include_str!("../policy.rs");
    let rows: Vec<Vec<&str>> = source
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .map(|row| {
            let mut cells: Vec<&str> = row.trim_end_matches(" |").splitn(3, " | ").collect();
            cells[0] = cells[0].trim_end_matches('`');
            cells
        })
        .collect();
    let code: Vec<Vec<String>> = Rule::ALL
        .iter()
        .map(|rule| {
            vec![
                rule.name().to_owned(),
                format!("{:?}", rule.who()),
                rule.guards().to_owned(),
            ]
        })
        .collect();
    assert_eq!(rows, code);
}

#[test]
fn rule_names_are_unique() {
    let mut names: Vec<&str> = Rule::ALL.iter().map(|rule| rule.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Rule::ALL.len());
}

#[test]
fn reads_are_for_readers_and_changes_for_members_as_novas_defaults() {
    let table = [
        (Rule::ServersIndex, Who::ProjectReaderOrAdmin),
        (Rule::ServersShow, Who::ProjectReaderOrAdmin),
        (Rule::ServersCreate, Who::ProjectMemberOrAdmin),
        (Rule::ServersDelete, Who::ProjectMemberOrAdmin),
        (Rule::ServersStop, Who::ProjectMemberOrAdmin),
        (Rule::ServersIndexAllTenants, Who::Admin),
        (Rule::UnlockOverride, Who::Admin),
        (Rule::ServersShowHostStatus, Who::Admin),
        (Rule::ExtendedServerAttributes, Who::Admin),
        (Rule::InstanceActionsEventsDetails, Who::Admin),
        (Rule::LimitsOtherProject, Who::Admin),
        (Rule::Limits, Who::Anyone),
    ];
    for (rule, who) in table {
        assert_eq!(rule.who(), who, "{}", rule.name());
    }
}

#[test]
fn admin_implies_member_implies_reader() {
    let admin = roles(&["admin"]);
    let member = roles(&["member"]);
    let reader = roles(&["reader"]);
    let table: [(&[String], Who, &str, bool); 12] = [
        (&admin, Who::Admin, "p2", true),
        (&admin, Who::ProjectMemberOrAdmin, "p2", true),
        (&admin, Who::ProjectReaderOrAdmin, "p2", true),
        (&member, Who::Admin, "p1", false),
        (&member, Who::ProjectMemberOrAdmin, "p1", true),
        (&member, Who::ProjectReaderOrAdmin, "p1", true),
        (&member, Who::ProjectMemberOrAdmin, "p2", false),
        (&reader, Who::ProjectMemberOrAdmin, "p1", false),
        (&reader, Who::ProjectReaderOrAdmin, "p1", true),
        (&reader, Who::ProjectReaderOrAdmin, "p2", false),
        (&[], Who::ProjectReaderOrAdmin, "p1", false),
        (&[], Who::Anyone, "p2", true),
    ];
    for (held, who, target, allowed) in table {
        assert_eq!(
            who.allows(held, "p1", target),
            allowed,
            "{held:?} {who:?} on {target}"
        );
    }
}

#[test]
fn role_names_match_whatever_their_case_and_unknown_ones_imply_nothing() {
    assert!(Who::Admin.allows(&roles(&["Admin"]), "p1", "p1"));
    assert!(Who::ProjectMemberOrAdmin.allows(&roles(&["MEMBER"]), "p1", "p1"));
    assert!(!Who::ProjectReaderOrAdmin.allows(&roles(&["_member_", "observer"]), "p1", "p1"));
}

#[test]
fn a_refusal_is_novas_forbidden_fault_naming_the_rule() {
    let refused = Credentials::new("p1".to_owned(), roles(&["reader"]))
        .authorize(Rule::ServersCreate, "p1")
        .expect_err("a reader may not create");
    let fault = nova_router::Fault::from(refused);
    assert_eq!(
        (
            fault.status().as_u16(),
            fault.kind().as_ref(),
            fault.message()
        ),
        (
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:servers:create to be performed."
        )
    );
}

// ---- through the compute API ----------------------------------------------

fn tiny(name: &str) -> serde_json::Value {
    json!({"server": {
        "name": name,
        "flavorRef": "1",
        "imageRef": crate::Image::CIRROS_ID.to_string(),
    }})
}

#[tokio::test]
async fn a_reader_lists_and_shows_but_may_not_create_delete_or_act() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let reads = [
        "/servers".to_owned(),
        "/servers/detail".to_owned(),
        format!("/servers/{id}"),
        format!("/servers/{id}/metadata"),
        format!("/servers/{id}/ips"),
        format!("/servers/{id}/os-instance-actions"),
        "/limits".to_owned(),
        "/flavors/1/os-extra_specs".to_owned(),
    ];
    for path in &reads {
        let answer = h.send(get(path).reader_of(DEFAULT_PROJECT)).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    }
    let listed = h.send(get("/servers").reader_of(DEFAULT_PROJECT)).await;
    assert_eq!(listed.body["servers"][0]["id"], id.to_string());

    let action = format!("/servers/{id}/action");
    let changes = [
        (
            post("/servers", tiny("web")),
            "os_compute_api:servers:create",
        ),
        (
            delete(&format!("/servers/{id}")),
            "os_compute_api:servers:delete",
        ),
        (
            post(&action, json!({"os-stop": null})),
            "os_compute_api:servers:stop",
        ),
        (
            post(&action, json!({"reboot": {"type": "HARD"}})),
            "os_compute_api:servers:reboot",
        ),
        (
            post(&action, json!({"lock": null})),
            "os_compute_api:os-lock-server:lock",
        ),
        (
            post(
                &format!("/servers/{id}/metadata"),
                json!({"metadata": {"a": "b"}}),
            ),
            "os_compute_api:server-metadata:create",
        ),
    ];
    for (ask, rule) in changes {
        let answer = h.send(ask.reader_of(DEFAULT_PROJECT)).await;
        assert_eq!(
            (answer.status, answer.message()),
            (403, refusal(rule).as_str()),
            "{}",
            answer.body
        );
        assert!(answer.body["forbidden"].is_object(), "{}", answer.body);
    }
    assert_eq!(h.status(id).await, "ACTIVE", "nothing was done");
    assert!(h.details(id).await.lock.is_none());
    assert_eq!(h.recorded(id).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_member_of_the_project_creates_acts_and_deletes() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let created = h
        .send(post("/servers", tiny("web")).member_of(DEFAULT_PROJECT))
        .await;
    assert_eq!(created.status, 202, "{}", created.body);
    let stopped = h
        .send(
            post(&format!("/servers/{id}/action"), json!({"os-stop": null}))
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(stopped.status, 202, "{}", stopped.body);
    let deleted = h
        .send(delete(&format!("/servers/{id}")).member_of(DEFAULT_PROJECT))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

#[tokio::test]
async fn another_projects_server_is_not_found_before_any_rule_is_asked() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let answer = h
        .send(delete(&format!("/servers/{id}")).reader_of("p2"))
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (404, format!("Instance {id} could not be found.").as_str())
    );
}

#[tokio::test]
async fn listing_every_projects_servers_is_for_admins() {
    let h = Harness::new();
    let theirs = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    for (path, rule) in [
        (
            "/servers?all_tenants=1",
            "os_compute_api:servers:index:get_all_tenants",
        ),
        (
            "/servers/detail?all_tenants",
            "os_compute_api:servers:detail:get_all_tenants",
        ),
    ] {
        let answer = h.send(get(path).member_of("p2")).await;
        assert_eq!(
            (answer.status, answer.message()),
            (403, refusal(rule).as_str())
        );
        let answer = h.send(get(path).admin_of("p2")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["servers"][0]["id"], theirs.to_string());
    }
}

#[tokio::test]
async fn a_caller_with_no_role_on_the_project_reads_nothing() {
    let h = Harness::new();
    let answer = h
        .send(get("/servers").member_of(DEFAULT_PROJECT).with_roles(&[]))
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (403, refusal("os_compute_api:servers:index").as_str())
    );
    let limits = h
        .send(get("/limits").member_of(DEFAULT_PROJECT).with_roles(&[]))
        .await;
    assert_eq!(limits.status, 200, "`os_compute_api:limits` is anyone's");
}

#[tokio::test]
async fn only_an_admin_forces_a_host_through_the_availability_zone() {
    let h = Harness::new();
    for zone in ["nova:nova-rs", "nova::nova-rs"] {
        let mut body = tiny("pinned");
        body["server"]["availability_zone"] = json!(zone);
        let answer = h
            .send(post("/servers", body.clone()).member_of(DEFAULT_PROJECT))
            .await;
        assert_eq!(
            (answer.status, answer.message()),
            (
                403,
                refusal("os_compute_api:servers:create:forced_host").as_str()
            ),
            "{zone}"
        );
        let answer = h
            .send(post("/servers", body).admin_of(DEFAULT_PROJECT))
            .await;
        assert_eq!(answer.status, 202, "{zone}: {}", answer.body);
    }
    let mut body = tiny("zoned");
    body["server"]["availability_zone"] = json!("nova");
    let answer = h
        .send(post("/servers", body).member_of(DEFAULT_PROJECT))
        .await;
    assert_eq!(
        answer.status, 202,
        "a zone alone is anyone's: {}",
        answer.body
    );
}
