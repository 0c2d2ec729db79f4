//! The server addresses controller: Nova's `ips.py` for
//! `GET /servers/{id}/ips` (every network's addresses) and
//! `GET /servers/{id}/ips/{network}` (one network's), in the plain
//! `{"version", "addr"}` form of `views/ips.py`, without the `OS-EXT-IPS`
//! fields the server view adds.

use http::StatusCode;
use nova_router::Response;
use serde_json::{json, Value};

use crate::api::{json, Call};
use crate::lookup::{details_of, find_server};
use crate::policy::Rule;
use crate::schemas::query::check_none;
use crate::state::vm_state;
use crate::views::servers::addresses;
use crate::{ComputeApi, ComputeError};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        "show" => show(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("ips.{other}"))),
    }
}

/// The call's server's addresses by network, if `rule` lets the caller
/// see them: none while it is being built, as its network is not yet
/// allocated.
async fn networks(api: &ComputeApi, call: &Call, rule: Rule) -> Result<Value, ComputeError> {
    check_none(call)?;
    let server = find_server(api, call, call.param("server_id"), rule).await?;
    let details = details_of(api, &server);
    if details.lifecycle().at(api.clock.now()).vm_state == vm_state::BUILDING {
        return Ok(json!({}));
    }
    Ok(addresses(&details, false))
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let networks = networks(api, call, Rule::IpsIndex).await?;
    Ok(json(StatusCode::OK, &json!({ "addresses": networks })))
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let networks = networks(api, call, Rule::IpsShow).await?;
    let name = call.param("id");
    let Some(addresses) = networks.get(name) else {
        return Err(ComputeError::NotFound(
            "Instance is not a member of specified network".to_owned(),
        ));
    };
    Ok(json(StatusCode::OK, &json!({ name: addresses })))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::server_actions::tests::{get, Harness};
    use crate::state::{power_state, vm_state};

    #[tokio::test]
    async fn addresses_are_listed_by_network_without_their_extensions() {
        let h = Harness::new();
        let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
        let all = h.send(get(&format!("/servers/{id}/ips"))).await;
        let private = json!([{"addr": "10.0.0.5", "version": 4}]);
        assert_eq!(
            (all.status, &all.body),
            (200, &json!({"addresses": {"private": private}}))
        );
        let one = h.send(get(&format!("/servers/{id}/ips/private"))).await;
        assert_eq!((one.status, &one.body), (200, &json!({"private": private})));
    }

    #[tokio::test]
    async fn a_network_the_server_is_not_on_is_not_found() {
        let h = Harness::new();
        let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
        let answer = h.send(get(&format!("/servers/{id}/ips/public"))).await;
        assert_eq!(
            (answer.status, answer.message()),
            (404, "Instance is not a member of specified network")
        );
        let building = h.server(vm_state::BUILDING, power_state::NOSTATE).await;
        let answer = h.send(get(&format!("/servers/{building}/ips"))).await;
        assert_eq!(
            answer.body,
            json!({"addresses": {}}),
            "no addresses before the build is done"
        );
        let other = h
            .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
            .await;
        let answer = h
            .send(get(&format!("/servers/{other}/ips")).member_of("p2"))
            .await;
        assert_eq!(answer.status, 404);
    }

    #[tokio::test]
    async fn reads_take_no_query_parameters_from_2_102() {
        let h = Harness::new();
        let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
        let path = format!("/servers/{id}/ips?x=1");
        assert_eq!(h.send(get(&path).at(101)).await.status, 200);
        assert_eq!(h.send(get(&path).at(102)).await.status, 400);
    }
}
