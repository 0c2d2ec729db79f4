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
//!
//! The limits are the configured defaults ([`Quota`]) with the limits the
//! quota sets API stored ([`QuotaStore`](crate::QuotaStore)) over them:
//! a user's own limit first, then the project's, then the default, as
//! Nova's `DbQuotaDriver` resolves them ([`effective_limits`]). A user
//! with limits of their own is checked against them with their own usage
//! too, as Nova's `limit_check_project_and_user` does.

use std::collections::BTreeMap;

use crate::api::Call;
use crate::lookup::is_gone;
use crate::{ComputeApi, ComputeError, Quota, QuotaLimit, Server, ServerScope};

/// Every resource of Nova's quota sets, in the order Nova lists them
/// (`QUOTAS.resources`, sorted by name).
pub(crate) const RESOURCES: [&str; 14] = [
    "cores",
    "fixed_ips",
    "floating_ips",
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
    "server_groups",
];

/// Each resource's limit, by Nova's name, for every name of [`RESOURCES`].
pub(crate) type Limits = BTreeMap<&'static str, i64>;

/// The configured defaults as Nova's quota sets name them. The network
/// resources are unlimited, as Nova shows them with Neutron.
pub(crate) fn default_limits(quota: &Quota) -> Limits {
    RESOURCES
        .iter()
        .map(|&name| {
            let limit = match name {
                "cores" => quota.cores,
                "injected_file_content_bytes" => quota.injected_file_content_bytes,
                "injected_file_path_bytes" => quota.injected_file_path_length,
                "injected_files" => quota.injected_files,
                "instances" => quota.instances,
                "key_pairs" => quota.key_pairs,
                "metadata_items" => quota.metadata_items,
                "ram" => quota.ram,
                "server_group_members" => quota.server_group_members,
                "server_groups" => quota.server_groups,
                _ => -1,
            };
            (name, limit)
        })
        .collect()
}

/// The limits of the project `stored` belongs to, or of `user` in it:
/// each resource's stored limit for the user, else for the project, else
/// `defaults`' (Nova's `get_user_quotas` and `get_project_quotas`).
pub(crate) fn resolve(defaults: &Limits, stored: &[QuotaLimit], user: Option<&str>) -> Limits {
    let mut limits = defaults.clone();
    let mut apply = |layer: Option<&str>| {
        for limit in stored.iter().filter(|l| l.user_id.as_deref() == layer) {
            if let Some(slot) = limits.get_mut(limit.resource.as_str()) {
                *slot = limit.hard_limit;
            }
        }
    };
    // The project's first, so that the user's own overwrite them.
    apply(None);
    if user.is_some() {
        apply(user);
    }
    limits
}

/// `limits` as the [`Quota`] the checks and `GET /limits` read.
pub(crate) fn as_quota(limits: &Limits) -> Quota {
    let get = |name: &str| limits.get(name).copied().unwrap_or(-1);
    Quota {
        instances: get("instances"),
        cores: get("cores"),
        ram: get("ram"),
        metadata_items: get("metadata_items"),
        key_pairs: get("key_pairs"),
        server_groups: get("server_groups"),
        server_group_members: get("server_group_members"),
        injected_files: get("injected_files"),
        injected_file_content_bytes: get("injected_file_content_bytes"),
        injected_file_path_length: get("injected_file_path_bytes"),
    }
}

/// The limits that apply to `project_id`, or to `user_id` in it: the
/// configured defaults with the stored limits over them.
pub(crate) async fn effective_limits(
    api: &ComputeApi,
    project_id: &str,
    user_id: Option<&str>,
) -> Result<Limits, ComputeError> {
    let stored = api.store.quota_limits(project_id.to_owned()).await?;
    Ok(resolve(&default_limits(&api.cloud.quota), &stored, user_id))
}

/// The limits the caller is held to: its project's and, if the user has
/// limits of their own, the user's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallerQuota {
    /// The project's limits.
    pub project: Quota,
    /// The user's, where any is stored for the user.
    pub user: Option<Quota>,
}

impl CallerQuota {
    /// The limits of a resource counted per request rather than summed
    /// over servers (metadata items): the user's where they have their
    /// own, else the project's.
    pub(crate) fn effective(&self) -> &Quota {
        self.user.as_ref().unwrap_or(&self.project)
    }
}

/// The caller's [`CallerQuota`], from one read of the stored limits.
pub(crate) async fn caller_quota(
    api: &ComputeApi,
    call: &Call,
) -> Result<CallerQuota, ComputeError> {
    let stored = api.store.quota_limits(call.project_id.clone()).await?;
    let defaults = default_limits(&api.cloud.quota);
    let project = as_quota(&resolve(&defaults, &stored, None));
    let own = stored
        .iter()
        .any(|l| l.user_id.as_deref() == Some(call.user_id.as_str()));
    let user = own.then(|| as_quota(&resolve(&defaults, &stored, Some(&call.user_id))));
    Ok(CallerQuota { project, user })
}

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
    quota: &CallerQuota,
    vcpus: i64,
    ram: i64,
    min_count: u32,
    max_count: u32,
) -> Result<u32, ComputeError> {
    let CallerQuota { project, user } = *quota;
    // With nothing to count against, skip reading every server.
    let counted = |quota: &Quota| quota.instances >= 0 || quota.cores >= 0 || quota.ram >= 0;
    let mut allowed = max_count;
    if counted(&project) {
        let used = usage(api, &call.project_id).await?;
        allowed = within_quota(&project, &used, vcpus, ram, min_count, max_count)?;
    }
    if let Some(user_quota) = user.filter(counted) {
        let used = usage_for(api, &call.project_id, Some(&call.user_id)).await?;
        allowed = allowed.min(within_quota(
            &user_quota,
            &used,
            vcpus,
            ram,
            min_count,
            max_count,
        )?);
    }
    Ok(allowed)
}

/// [`instances_within_quota`] against one set of limits and the usage it
/// counts against.
fn within_quota(
    quota: &Quota,
    used: &Usage,
    vcpus: i64,
    ram: i64,
    min_count: u32,
    max_count: u32,
) -> Result<u32, ComputeError> {
    if quota.instances < 0 && quota.cores < 0 && quota.ram < 0 {
        return Ok(max_count);
    }
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
    usage_for(api, project_id, None).await
}

/// What `project_id` uses now, or, with `user_id`, what that user's
/// servers in it use.
pub(crate) async fn usage_for(
    api: &ComputeApi,
    project_id: &str,
    user_id: Option<&str>,
) -> Result<Usage, ComputeError> {
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
    // flavor and its default user (`details_of`), looked up once here
    // rather than per instance.
    let seed_flavor = api
        .cloud
        .flavors
        .first()
        .map_or((0, 0), |flavor| (flavor.vcpus, flavor.ram));
    let seed_user = api.cloud.default_user.as_str();
    let mut usage = Usage::default();
    // Every create counts, so the servers are visited where they lie
    // rather than copied out of the store.
    let mut count = |server: &Server| {
        if is_gone(api, server, now) {
            return;
        }
        let (owner, (vcpus, ram)) = match &server.details {
            Some(details) => (
                details.user_id.as_str(),
                (details.flavor.vcpus, details.flavor.ram),
            ),
            None => (seed_user, seed_flavor),
        };
        if user_id.is_some_and(|user| owner != user) {
            return;
        }
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
    let CallerQuota { project, user } = caller_quota(api, call).await?;
    let used = usage(api, &call.project_id).await?;
    check_against(&project, &used, instances, cores, ram)?;
    if let Some(user_quota) = user {
        let used = usage_for(api, &call.project_id, Some(&call.user_id)).await?;
        check_against(&user_quota, &used, instances, cores, ram)?;
    }
    Ok(())
}

/// [`check_quota`] against one set of limits and the usage it counts
/// against.
fn check_against(
    quota: &Quota,
    used: &Usage,
    instances: i64,
    cores: i64,
    ram: i64,
) -> Result<(), ComputeError> {
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
