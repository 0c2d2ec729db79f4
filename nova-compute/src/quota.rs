//! Quotas: what a project has used and whether it may create more.
//!
//! Nova counts a project's usage from its instances (`nova/quota.py`,
//! `_instances_cores_ram_count`): every instance not yet deleted counts,
//! with its flavor's vCPUs and memory. Here that is every server of the
//! project whose deletion has not run (a server still `deleting` counts,
//! as Nova's instance row is not deleted until the compute host is done).
//! [`usage`] is what `GET /limits` shows; [`check_quota`] is what server
//! create asks before it stores anything, answering Nova's 403
//! (`TooManyInstances` through `servers.py`'s `OverQuota` handler).

use crate::api::Call;
use crate::lookup::{details_of, is_gone};
use crate::{ComputeApi, ComputeError, ServerScope};

/// What a project uses of the resources its quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    /// Servers.
    pub instances: i64,
    /// vCPUs over those servers.
    pub cores: i64,
    /// Memory over those servers, MiB.
    pub ram: i64,
    /// Server groups: none, until server groups are served.
    pub server_groups: i64,
}

/// What `project_id` uses now. The default project also owns the
/// instances created through the seed's API (stored with no project).
pub(crate) async fn usage(api: &ComputeApi, project_id: &str) -> Result<Usage, ComputeError> {
    let mut projects = vec![project_id.to_owned()];
    if project_id == api.cloud.default_project {
        projects.push(String::new());
    }
    let scope = ServerScope {
        projects: Some(projects),
        // A deleted server counts until its deletion has run.
        include_deleted: true,
    };
    let servers = api.store.servers(scope).await?;
    let now = api.clock.now();
    let mut usage = Usage::default();
    for server in servers.iter().filter(|s| !is_gone(api, s, now)) {
        let flavor = details_of(api, server).flavor;
        usage.instances += 1;
        usage.cores = usage.cores.saturating_add(i64::from(flavor.vcpus));
        usage.ram = usage
            .ram
            .saturating_add(i64::try_from(flavor.ram).unwrap_or(i64::MAX));
    }
    Ok(usage)
}

/// Whether the caller's project may add `instances` servers using
/// `cores` vCPUs and `ram` MiB between them: `Ok`, or Nova's 403
/// `Quota exceeded for cores, ram: Requested 4, 4096, but already used
/// 18, 50176 of 20, 51200 cores, ram`, the resources over their limit in
/// alphabetical order (Nova sorts them), each with what was asked, what
/// is used and the limit. A limit of `-1` is unlimited.
pub(crate) async fn check_quota(
    api: &ComputeApi,
    call: &Call,
    instances: i64,
    cores: i64,
    ram: i64,
) -> Result<(), ComputeError> {
    let used = usage(api, &call.project_id).await?;
    let quota = api.cloud.quota;
    // (resource, requested, used, limit), in the order Nova sorts `overs`.
    let resources = [
        ("cores", cores, used.cores, quota.cores),
        ("instances", instances, used.instances, quota.instances),
        ("ram", ram, used.ram, quota.ram),
    ];
    let overs: Vec<_> = resources
        .iter()
        .filter(|(_, requested, used, limit)| {
            *limit >= 0 && used.saturating_add(*requested) > *limit
        })
        .collect();
    if overs.is_empty() {
        return Ok(());
    }
    let join = |field: fn(&(&str, i64, i64, i64)) -> String| {
        overs
            .iter()
            .map(|over| field(over))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names = join(|over| over.0.to_owned());
    Err(ComputeError::Forbidden(format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        join(|over| over.1.to_string()),
        join(|over| over.2.to_string()),
        join(|over| over.3.to_string()),
    )))
}
