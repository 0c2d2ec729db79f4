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
use crate::lookup::is_gone;
use crate::{ComputeApi, ComputeError, Server, ServerScope};

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

/// A resource's (name, requested, used, limit).
type Resource<'a> = (&'a str, i64, i64, i64);

/// How many of `min_count` to `max_count` new servers of `vcpus` and
/// `ram` MiB each the caller's project may create: as many as its quota
/// leaves room for, up to `max_count` (Nova's
/// `check_num_instances_quota`), or Nova's 403 when fewer than
/// `min_count` fit, naming the request as `min-max` when they differ.
pub(crate) async fn instances_within_quota(
    api: &ComputeApi,
    call: &Call,
    vcpus: i64,
    ram: i64,
    min_count: u32,
    max_count: u32,
) -> Result<u32, ComputeError> {
    let quota = api.cloud.quota;
    if quota.instances < 0 && quota.cores < 0 && quota.ram < 0 {
        // Nothing to count against: skip reading every server.
        return Ok(max_count);
    }
    let used = usage(api, &call.project_id).await?;
    let wanted = i64::from(max_count);
    let (req_cores, req_ram) = (wanted.saturating_mul(vcpus), wanted.saturating_mul(ram));
    let resources = [
        ("cores", req_cores, used.cores, quota.cores),
        ("instances", wanted, used.instances, quota.instances),
        ("ram", req_ram, used.ram, quota.ram),
    ];
    let over = |(_, requested, used, limit): &(&str, i64, i64, i64)| {
        *limit >= 0 && used.saturating_add(*requested) > *limit
    };
    if !resources.iter().any(over) {
        return Ok(max_count);
    }
    let headroom = |limit: i64, used: i64| {
        if limit < 0 {
            i64::MAX
        } else {
            (limit - used).max(0)
        }
    };
    let mut allowed = headroom(quota.instances, used.instances);
    if vcpus > 0 {
        allowed = allowed.min(headroom(quota.cores, used.cores) / vcpus);
    }
    if ram > 0 {
        allowed = allowed.min(headroom(quota.ram, used.ram) / ram);
    }
    if allowed >= i64::from(min_count) && allowed > 0 {
        return Ok(u32::try_from(allowed.min(wanted)).unwrap_or(max_count));
    }
    let instances = if min_count == max_count {
        min_count.to_string()
    } else {
        format!("{min_count}-{max_count}")
    };
    let overs: Vec<_> = resources.iter().filter(|r| over(r)).collect();
    let join = |field: &dyn Fn(&Resource<'_>) -> String| {
        overs
            .iter()
            .map(|r| field(r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names = join(&|r| r.0.to_owned());
    Err(ComputeError::Forbidden(format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        join(&|r| if r.0 == "instances" {
            instances.clone()
        } else {
            r.1.to_string()
        }),
        join(&|r| r.2.to_string()),
        join(&|r| r.3.to_string()),
    )))
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
    let now = api.clock.now();
    // An instance created through the seed's API has the cloud's first
    // flavor (`details_of`), looked up once here rather than per instance.
    let seed_flavor = api
        .cloud
        .flavors
        .first()
        .map_or((0, 0), |flavor| (flavor.vcpus, flavor.ram));
    let mut usage = Usage::default();
    // Every create counts, so the servers are visited where they lie
    // rather than copied out of the store.
    let mut count = |server: &Server| {
        if is_gone(api, server, now) {
            return;
        }
        let (vcpus, ram) = server.details.as_ref().map_or(seed_flavor, |details| {
            (details.flavor.vcpus, details.flavor.ram)
        });
        usage.instances += 1;
        usage.cores = usage.cores.saturating_add(i64::from(vcpus));
        usage.ram = usage
            .ram
            .saturating_add(i64::try_from(ram).unwrap_or(i64::MAX));
    };
    api.store.visit_servers(scope, &mut count).await?;
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
