//! The availability zone controller: Nova's `availability_zone.py` for
//! `GET /os-availability-zone` (anyone: the zones servers can be created
//! in) and `GET /os-availability-zone/detail` (admins: every zone with
//! its hosts and their services); and the check `POST /servers` makes of
//! the zone it is asked for (Nova's `parse_availability_zone` and the
//! compute API's zone check).
//!
//! nova-rs is one compute host, [`HOST`], in the one zone its
//! configuration names (`availability_zone`, default `nova`). Nova also
//! runs a conductor and a scheduler, which it puts in the `internal` zone
//! that only the detailed listing shows; nova-rs shows the same services
//! on the same host there, so the detail reads as a one-host devstack's.
//! Every service is enabled and up, its `updated_at` (its last
//! heartbeat) the time of the request.

use std::collections::BTreeMap;

use http::StatusCode;
use nova_controller::Timestamp;
use nova_router::Response;
use serde_json::{json, Map, Value};

use crate::api::{json, Call};
use crate::policy::{self, Rule};
use crate::schemas::query::check_none;
use crate::views::servers::HOST;
use crate::{Cloud, ComputeApi, ComputeError};

/// Nova's `internal_service_availability_zone`: where its services other
/// than compute are; hidden from the summary listing.
const INTERNAL_ZONE: &str = "internal";

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call),
        "detail" => detail(api, &call),
        other => Err(ComputeError::UnknownAction(format!(
            "availability_zone.{other}"
        ))),
    }
}

fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    policy::authorize(call, Rule::AvailabilityZoneList, &call.project_id)?;
    let zones = [json!({
        "zoneName": api.cloud.availability_zone,
        "zoneState": {"available": true},
        "hosts": null,
    })];
    Ok(json(
        StatusCode::OK,
        &json!({ "availabilityZoneInfo": zones }),
    ))
}

fn detail(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    policy::authorize(call, Rule::AvailabilityZoneDetail, &call.project_id)?;
    let heartbeat = service_time(api.clock.now());
    let service = || json!({"available": true, "active": true, "updated_at": heartbeat});
    // Zone → host → binary → state; sorted by zone as Nova sorts them.
    let mut zones: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for (zone, binary) in [
        (INTERNAL_ZONE, "nova-conductor"),
        (INTERNAL_ZONE, "nova-scheduler"),
        (api.cloud.availability_zone.as_str(), "nova-compute"),
    ] {
        let hosts = zones.entry(zone).or_default();
        if let Value::Object(services) = hosts
            .entry(HOST.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            services.insert(binary.to_owned(), service());
        }
    }
    let zones: Vec<Value> = zones
        .into_iter()
        .map(|(name, hosts)| {
            json!({
                "zoneName": name,
                "zoneState": {"available": true},
                "hosts": hosts,
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "availabilityZoneInfo": zones }),
    ))
}

/// A service's `updated_at` as Nova's JSON writes a naive datetime:
/// `2026-01-02T03:04:05.000000`, no zone.
fn service_time(at: Timestamp) -> String {
    at.to_string().trim_end_matches('Z').to_owned()
}

/// The zone a server asked to be created in `zone` is pinned to (2.96's
/// `pinned_availability_zone`), or 400, as Nova's `create` parses and
/// checks it:
///
/// - `zone`, `zone:host`, `zone::node` and `zone:host:node` parse; more
///   colons are 400 `Invalid input received: Unable to parse
///   availability_zone`.
/// - An empty zone (`:host`) asks for none.
/// - With a host or a node (an admin's, which the create policy has
///   checked), the zone is not checked: the server goes where it is
///   forced, and keeps the zone only if it is the host's (the configured
///   one). nova-rs is one host, so whatever host or node is named, the
///   server runs on [`HOST`].
/// - Otherwise the zone must be the configured one, else 400 `The
///   requested availability zone is not available`. Nova would also
///   accept `internal`, where no server can be scheduled; nova-rs
///   refuses it at once.
pub(crate) fn pinned_zone(cloud: &Cloud, zone: &str) -> Result<Option<String>, ComputeError> {
    if zone.matches(':').count() > 2 {
        return Err(ComputeError::BadRequest(
            "Invalid input received: Unable to parse availability_zone".to_owned(),
        ));
    }
    // After the zone: `host`, `:node` or `host:node`; forced when either
    // is named.
    let (zone, host_and_node) = zone.split_once(':').unwrap_or((zone, ""));
    let forced = host_and_node.chars().any(|c| c != ':');
    let configured = cloud.availability_zone.as_str();
    if zone.is_empty() {
        return Ok(None);
    }
    if forced {
        return Ok((zone == configured).then(|| zone.to_owned()));
    }
    if zone != configured {
        return Err(ComputeError::BadRequest(
            "The requested availability zone is not available".to_owned(),
        ));
    }
    Ok(Some(zone.to_owned()))
}

#[cfg(test)]
mod tests;
