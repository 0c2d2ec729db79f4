//! Where per-project quota limits live: the [`QuotaStore`] trait, which
//! every [`ServerStore`](crate::ServerStore) also implements, and the
//! in-memory table [`MemoryServerStore`](crate::MemoryServerStore) keeps
//! them in.
//!
//! A stored limit overrides the configured default
//! ([`Quota`](crate::Quota)) for one resource of one project, or of one
//! user in a project, as a row of Nova's `quotas` and `project_user_quotas`
//! tables does; `PUT /os-quota-sets/{id}` writes them, `DELETE` removes
//! them, and every quota check reads the effective limits through
//! `quota::effective_quota`.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use nova_controller::StoreFuture;

/// One stored limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimit {
    /// The user it is for, or `None` for the whole project.
    pub user_id: Option<String>,
    /// The resource, in Nova's name (`instances`, `cores`, `key_pairs`…).
    pub resource: String,
    /// The limit; `-1` is unlimited.
    pub hard_limit: i64,
}

/// Storage for quota limits set through the quota sets API.
///
/// Every method is atomic and, once its future answers `Ok`, committed as
/// durably as the store promises, as for
/// [`InstanceStore`](nova_controller::InstanceStore).
pub trait QuotaStore: Send + Sync + 'static {
    /// Every limit stored for `project_id`: the project's own and those
    /// of its users, in no particular order.
    fn quota_limits(&self, project_id: String) -> StoreFuture<'_, Vec<QuotaLimit>>;

    /// Sets each `(resource, limit)` for `project_id` (for `user_id` in it,
    /// if given), replacing a limit stored for the same resource; the
    /// others stay.
    fn set_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()>;

    /// Removes the limits of `user_id` in `project_id`, or, with no user,
    /// every limit of the project, its users' included (Nova's
    /// `destroy_all_by_project`).
    fn delete_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
    ) -> StoreFuture<'_, ()>;
}

/// Quota limits in memory: by project, then by user (`""` for the
/// project's own), then by resource.
#[derive(Debug, Default)]
pub(crate) struct MemoryQuotas {
    state: RwLock<BTreeMap<String, ProjectLimits>>,
}

/// One project's limits: by user (`""` for the project's own), then by
/// resource.
type ProjectLimits = BTreeMap<String, BTreeMap<String, i64>>;

fn ready<T: Send + 'static>(value: T) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl QuotaStore for MemoryQuotas {
    fn quota_limits(&self, project_id: String) -> StoreFuture<'_, Vec<QuotaLimit>> {
        // Nothing under the lock can stop half-way: a poisoned lock still
        // guards a whole table.
        let table = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let limits = table
            .get(&project_id)
            .into_iter()
            .flatten()
            .flat_map(|(user, limits)| {
                limits.iter().map(move |(resource, hard_limit)| QuotaLimit {
                    user_id: (!user.is_empty()).then(|| user.clone()),
                    resource: resource.clone(),
                    hard_limit: *hard_limit,
                })
            })
            .collect();
        ready(limits)
    }

    fn set_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()> {
        let mut table = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let kept = table
            .entry(project_id)
            .or_default()
            .entry(user_id.unwrap_or_default())
            .or_default();
        kept.extend(limits);
        ready(())
    }

    fn delete_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
    ) -> StoreFuture<'_, ()> {
        let mut table = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match user_id {
            None => {
                table.remove(&project_id);
            }
            Some(user) => {
                if let Some(project) = table.get_mut(&project_id) {
                    project.remove(&user);
                }
            }
        }
        ready(())
    }
}
