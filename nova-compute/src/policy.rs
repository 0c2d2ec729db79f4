//! Who may do what: Nova's `nova/policies/*.py` for the operations this
//! crate serves, as one table of named rules with Nova's defaults, and the
//! one check the controllers ask of it.
//!
//! A controller first finds what the request is about, as Nova's do: a
//! server of another project is 404 to a caller who is not an admin
//! (`lookup`), before any rule is asked. It then asks the rule with the
//! resource's project as the target (`authorize`); a refusal is 403
//! `Policy doesn't allow {rule} to be performed.`, Nova's
//! `PolicyNotAuthorized` ([`ComputeError::PolicyNotAuthorized`]). Parts of
//! an answer that a rule guards (a server's `OS-EXT-SRV-ATTR:*` fields) are
//! left out rather than refused, as Nova's `fatal=False` checks leave them.
//!
//! The caller is the token filter's request context: the project it is
//! scoped to and its role names there. Keystone's roles imply each other,
//! `admin` ⊃ `member` ⊃ `reader`, so an admin is also a member and a
//! reader of its project. A request with no context holds the shared
//! static token and is an admin of the project it acts for.
//!
//! Who passes, by default, as `nova/policies/base.py` names them:
//! [`Who::Admin`] any admin, [`Who::ProjectMemberOrAdmin`] a member of the
//! target's project or an admin, [`Who::ProjectReaderOrAdmin`] a reader of
//! the target's project or an admin, [`Who::AdminOrUser`] the user the
//! target belongs to or an admin (the key pair rules, asked through
//! `authorize_user`), [`Who::Anyone`] anyone. Nova
//! serves reads to readers and changes to members (its defaults since
//! Zed).
//!
//! | rule | who, by default | what it guards |
//! |---|---|---|
//! | `context_is_admin` | Admin | what Nova asks `context.is_admin` for: another project's servers (404 otherwise), changing a locked server, listing deleted servers, sorting servers by `host` or `node`, private flavors and the `is_public` filter, every project's images, a 500 fault's `details` |
//! | `os_compute_api:servers:index` | ProjectReaderOrAdmin | `GET /servers` |
//! | `os_compute_api:servers:detail` | ProjectReaderOrAdmin | `GET /servers/detail` |
//! | `os_compute_api:servers:index:get_all_tenants` | Admin | `GET /servers?all_tenants` |
//! | `os_compute_api:servers:detail:get_all_tenants` | Admin | `GET /servers/detail?all_tenants` |
//! | `os_compute_api:servers:allow_all_filters` | Admin | server listing filters beyond a project user's (ignored otherwise), and `deleted` |
//! | `os_compute_api:servers:show` | ProjectReaderOrAdmin | `GET /servers/{id}` |
//! | `os_compute_api:servers:show:flavor-extra-specs` | ProjectReaderOrAdmin | the flavor's `extra_specs` in a server (2.47) |
//! | `os_compute_api:servers:show:host_status` | Admin | `host_status` in a server (2.16; `PUT` and `rebuild` answers from 2.75) |
//! | `os_compute_api:os-extended-server-attributes` | Admin | the `OS-EXT-SRV-ATTR:*` fields of a server |
//! | `os_compute_api:servers:create` | ProjectMemberOrAdmin | `POST /servers` |
//! | `os_compute_api:servers:create:forced_host` | Admin | a create whose `availability_zone` names a host or node (`zone:host`, `zone::node`) |
//! | `compute:servers:create:requested_destination` | Admin | a create with `host` or `hypervisor_hostname` (2.74) |
//! | `os_compute_api:servers:create:attach_volume` | ProjectMemberOrAdmin | a create with `block_device_mapping` or `block_device_mapping_v2` |
//! | `os_compute_api:servers:create:attach_network` | ProjectMemberOrAdmin | a create with listed `networks` |
//! | `os_compute_api:servers:create:trusted_certs` | ProjectMemberOrAdmin | a create with `trusted_image_certificates` (2.63) |
//! | `os_compute_api:servers:update` | ProjectMemberOrAdmin | `PUT /servers/{id}` |
//! | `os_compute_api:servers:delete` | ProjectMemberOrAdmin | `DELETE /servers/{id}` |
//! | `os_compute_api:servers:reboot` | ProjectMemberOrAdmin | action `reboot` |
//! | `os_compute_api:servers:resize` | ProjectMemberOrAdmin | action `resize` |
//! | `os_compute_api:servers:confirm_resize` | ProjectMemberOrAdmin | action `confirmResize` |
//! | `os_compute_api:servers:revert_resize` | ProjectMemberOrAdmin | action `revertResize` |
//! | `os_compute_api:servers:rebuild` | ProjectMemberOrAdmin | action `rebuild` |
//! | `os_compute_api:servers:rebuild:trusted_certs` | ProjectMemberOrAdmin | action `rebuild` with `trusted_image_certificates` (2.63) |
//! | `os_compute_api:servers:create_image` | ProjectMemberOrAdmin | action `createImage` |
//! | `os_compute_api:servers:start` | ProjectMemberOrAdmin | action `os-start` |
//! | `os_compute_api:servers:stop` | ProjectMemberOrAdmin | action `os-stop` |
//! | `os_compute_api:os-pause-server:pause` | ProjectMemberOrAdmin | action `pause` |
//! | `os_compute_api:os-pause-server:unpause` | ProjectMemberOrAdmin | action `unpause` |
//! | `os_compute_api:os-suspend-server:suspend` | ProjectMemberOrAdmin | action `suspend` |
//! | `os_compute_api:os-suspend-server:resume` | ProjectMemberOrAdmin | action `resume` |
//! | `os_compute_api:os-lock-server:lock` | ProjectMemberOrAdmin | action `lock` |
//! | `os_compute_api:os-lock-server:unlock` | ProjectMemberOrAdmin | action `unlock` |
//! | `os_compute_api:os-lock-server:unlock:unlock_override` | Admin | action `unlock` of a lock the other kind of caller took (the owner's by an admin of another project, or the other way round) |
//! | `os_compute_api:os-admin-password` | ProjectMemberOrAdmin | action `changePassword` |
//! | `os_compute_api:server-metadata:index` | ProjectReaderOrAdmin | `GET /servers/{id}/metadata` |
//! | `os_compute_api:server-metadata:show` | ProjectReaderOrAdmin | `GET /servers/{id}/metadata/{key}` |
//! | `os_compute_api:server-metadata:create` | ProjectMemberOrAdmin | `POST /servers/{id}/metadata` |
//! | `os_compute_api:server-metadata:update_all` | ProjectMemberOrAdmin | `PUT /servers/{id}/metadata` |
//! | `os_compute_api:server-metadata:update` | ProjectMemberOrAdmin | `PUT /servers/{id}/metadata/{key}` |
//! | `os_compute_api:server-metadata:delete` | ProjectMemberOrAdmin | `DELETE /servers/{id}/metadata/{key}` |
//! | `os_compute_api:ips:index` | ProjectReaderOrAdmin | `GET /servers/{id}/ips` |
//! | `os_compute_api:ips:show` | ProjectReaderOrAdmin | `GET /servers/{id}/ips/{network}` |
//! | `os_compute_api:os-instance-actions:list` | ProjectReaderOrAdmin | `GET /servers/{id}/os-instance-actions` |
//! | `os_compute_api:os-instance-actions:show` | ProjectReaderOrAdmin | `GET /servers/{id}/os-instance-actions/{request_id}` |
//! | `os_compute_api:os-instance-actions:events` | Admin | an action's events before 2.51, and at any version their `traceback` and (2.62) `host` |
//! | `os_compute_api:os-instance-actions:events:details` | Admin | an event's `details` (2.84) |
//! | `os_compute_api:os-flavor-extra-specs:index` | ProjectReaderOrAdmin | `GET /flavors/{id}/os-extra_specs`, and `extra_specs` in a flavor (2.61) |
//! | `os_compute_api:os-flavor-extra-specs:show` | ProjectReaderOrAdmin | `GET /flavors/{id}/os-extra_specs/{key}` |
//! | `os_compute_api:limits` | Anyone | `GET /limits` |
//! | `os_compute_api:limits:other_project` | Admin | `GET /limits?tenant_id=` another project |
//! | `os_compute_api:os-availability-zone:list` | Anyone | `GET /os-availability-zone` |
//! | `os_compute_api:os-availability-zone:detail` | Admin | `GET /os-availability-zone/detail` |
//! | `os_compute_api:os-server-tags:index` | ProjectReaderOrAdmin | `GET /servers/{id}/tags` |
//! | `os_compute_api:os-server-tags:show` | ProjectReaderOrAdmin | `GET /servers/{id}/tags/{tag}` |
//! | `os_compute_api:os-server-tags:update` | ProjectMemberOrAdmin | `PUT /servers/{id}/tags/{tag}` |
//! | `os_compute_api:os-server-tags:update_all` | ProjectMemberOrAdmin | `PUT /servers/{id}/tags` |
//! | `os_compute_api:os-server-tags:delete` | ProjectMemberOrAdmin | `DELETE /servers/{id}/tags/{tag}` |
//! | `os_compute_api:os-server-tags:delete_all` | ProjectMemberOrAdmin | `DELETE /servers/{id}/tags` |
//! | `os_compute_api:os-server-password:show` | ProjectReaderOrAdmin | `GET /servers/{id}/os-server-password` |
//! | `os_compute_api:os-server-password:clear` | ProjectMemberOrAdmin | `DELETE /servers/{id}/os-server-password` |
//! | `os_compute_api:os-keypairs:index` | AdminOrUser | `GET /os-keypairs`, the target the user listed (`user_id`, 2.10) |
//! | `os_compute_api:os-keypairs:create` | AdminOrUser | `POST /os-keypairs`, the target the user the key pair is for (`user_id`, 2.10) |
//! | `os_compute_api:os-keypairs:show` | AdminOrUser | `GET /os-keypairs/{name}` |
//! | `os_compute_api:os-keypairs:delete` | AdminOrUser | `DELETE /os-keypairs/{name}` |
//! | `os_compute_api:os-quota-sets:show` | ProjectReaderOrAdmin | `GET /os-quota-sets/{project_id}` |
//! | `os_compute_api:os-quota-sets:detail` | ProjectReaderOrAdmin | `GET /os-quota-sets/{project_id}/detail` |
//! | `os_compute_api:os-quota-sets:defaults` | Anyone | `GET /os-quota-sets/{project_id}/defaults` |
//! | `os_compute_api:os-quota-sets:update` | Admin | `PUT /os-quota-sets/{project_id}` |
//! | `os_compute_api:os-quota-sets:delete` | Admin | `DELETE /os-quota-sets/{project_id}` |
//! | `delete_image` | ProjectMemberOrAdmin | the image service's `DELETE /v2/images/{id}`: Glance's rule, its target the image's owner, refused in Glance's words |
//!
//! Not in the table, because nothing served here reaches them: flavor
//! management and extra specs writes (not served),
//! `create:zero_disk_flavor` (the zero-disk check is not implemented),
//! `create_image:allow_volume_backed` (no server boots from a volume),
//! and `show:host_status:unknown-only` (the one host is always `UP`).
//! Quota checks on create and resize are no policy in Nova either.

use crate::api::Call;
use crate::ComputeError;

/// Who a rule lets through by default: the aliases of Nova's
/// `nova/policies/base.py`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// `rule:context_is_admin` (`role:admin`): an admin, whichever
    /// project the target is in.
    Admin,
    /// `rule:project_member_or_admin`: a member of the target's project,
    /// or an admin.
    ProjectMemberOrAdmin,
    /// `rule:project_reader_or_admin`: a reader of the target's project,
    /// or an admin.
    ProjectReaderOrAdmin,
    /// `(rule:context_is_admin) or user_id:%(user_id)s`: an admin, or
    /// the user the target belongs to (a key pair's owner). Asked through
    /// `authorize_user`, which gives [`Who::allows`] the caller's and
    /// the target's user ids where the other rules take projects.
    AdminOrUser,
    /// `@`: anyone.
    Anyone,
}

/// Keystone's default roles, strongest first: each implies the ones after
/// it. A Keystone token lists the implied roles too; a token filter (or a
/// test) may name only the strongest, so the implication is applied here.
const IMPLIED: [&str; 3] = ["admin", "member", "reader"];

/// Whether `roles` hold `wanted`, directly or by implication. Role names
/// compare as oslo.policy's `role:` check compares them, ignoring case.
fn holds(roles: &[String], wanted: &str) -> bool {
    let rank = |role: &str| IMPLIED.iter().position(|r| r.eq_ignore_ascii_case(role));
    roles.iter().any(|held| {
        held.eq_ignore_ascii_case(wanted)
            || matches!((rank(held), rank(wanted)), (Some(have), Some(want)) if have <= want)
    })
}

impl Who {
    /// Whether a caller scoped to `caller_project` with `roles` passes,
    /// for a target in `target_project` (for [`Who::AdminOrUser`], the
    /// caller's user id and the target's owner instead).
    pub fn allows(self, roles: &[String], caller_project: &str, target_project: &str) -> bool {
        let in_project = caller_project == target_project;
        match self {
            Who::Admin => holds(roles, "admin"),
            Who::ProjectMemberOrAdmin => {
                holds(roles, "admin") || (in_project && holds(roles, "member"))
            }
            Who::ProjectReaderOrAdmin => {
                holds(roles, "admin") || (in_project && holds(roles, "reader"))
            }
            Who::AdminOrUser => holds(roles, "admin") || in_project,
            Who::Anyone => true,
        }
    }
}

/// The table: each rule's variant, Nova's name for it, who passes by
/// default and what it guards. The module documentation shows the same
/// table; a test keeps the two alike.
macro_rules! rules {
    ($($rule:ident => $name:literal, $who:ident, $guards:literal;)*) => {
        /// A named rule of Nova's policy; see the
        /// [module documentation](self) for the whole table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($who), "): ", $guards, ".")]
                $rule,
            )*
        }

        impl Rule {
            /// Every rule, in the table's order.
            pub const ALL: &'static [Rule] = &[$(Rule::$rule),*];

            /// Nova's name for the rule, as a policy file and a refusal
            /// name it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Rule::$rule => $name,)*
                }
            }

            /// Who passes by default.
            pub const fn who(self) -> Who {
                match self {
                    $(Rule::$rule => Who::$who,)*
                }
            }

            /// What the rule guards, in the table's words.
            pub const fn guards(self) -> &'static str {
                match self {
                    $(Rule::$rule => $guards,)*
                }
            }
        }
    };
}

rules! {
    ContextIsAdmin => "context_is_admin", Admin,
        "what Nova asks `context.is_admin` for: another project's servers (404 otherwise), changing a locked server, listing deleted servers, sorting servers by `host` or `node`, private flavors and the `is_public` filter, every project's images, a 500 fault's `details`";
    ServersIndex => "os_compute_api:servers:index", ProjectReaderOrAdmin, "`GET /servers`";
    ServersDetail => "os_compute_api:servers:detail", ProjectReaderOrAdmin, "`GET /servers/detail`";
    ServersIndexAllTenants => "os_compute_api:servers:index:get_all_tenants", Admin,
        "`GET /servers?all_tenants`";
    ServersDetailAllTenants => "os_compute_api:servers:detail:get_all_tenants", Admin,
        "`GET /servers/detail?all_tenants`";
    ServersAllowAllFilters => "os_compute_api:servers:allow_all_filters", Admin,
        "server listing filters beyond a project user's (ignored otherwise), and `deleted`";
    ServersShow => "os_compute_api:servers:show", ProjectReaderOrAdmin, "`GET /servers/{id}`";
    ServersShowFlavorExtraSpecs => "os_compute_api:servers:show:flavor-extra-specs",
        ProjectReaderOrAdmin, "the flavor's `extra_specs` in a server (2.47)";
    ServersShowHostStatus => "os_compute_api:servers:show:host_status", Admin,
        "`host_status` in a server (2.16; `PUT` and `rebuild` answers from 2.75)";
    ExtendedServerAttributes => "os_compute_api:os-extended-server-attributes", Admin,
        "the `OS-EXT-SRV-ATTR:*` fields of a server";
    ServersCreate => "os_compute_api:servers:create", ProjectMemberOrAdmin, "`POST /servers`";
    ServersCreateForcedHost => "os_compute_api:servers:create:forced_host", Admin,
        "a create whose `availability_zone` names a host or node (`zone:host`, `zone::node`)";
    ServersCreateRequestedDestination => "compute:servers:create:requested_destination", Admin,
        "a create with `host` or `hypervisor_hostname` (2.74)";
    ServersCreateAttachVolume => "os_compute_api:servers:create:attach_volume",
        ProjectMemberOrAdmin, "a create with `block_device_mapping` or `block_device_mapping_v2`";
    ServersCreateAttachNetwork => "os_compute_api:servers:create:attach_network",
        ProjectMemberOrAdmin, "a create with listed `networks`";
    ServersCreateTrustedCerts => "os_compute_api:servers:create:trusted_certs",
        ProjectMemberOrAdmin, "a create with `trusted_image_certificates` (2.63)";
    ServersUpdate => "os_compute_api:servers:update", ProjectMemberOrAdmin, "`PUT /servers/{id}`";
    ServersDelete => "os_compute_api:servers:delete", ProjectMemberOrAdmin,
        "`DELETE /servers/{id}`";
    ServersReboot => "os_compute_api:servers:reboot", ProjectMemberOrAdmin, "action `reboot`";
    ServersResize => "os_compute_api:servers:resize", ProjectMemberOrAdmin, "action `resize`";
    ServersConfirmResize => "os_compute_api:servers:confirm_resize", ProjectMemberOrAdmin,
        "action `confirmResize`";
    ServersRevertResize => "os_compute_api:servers:revert_resize", ProjectMemberOrAdmin,
        "action `revertResize`";
    ServersRebuild => "os_compute_api:servers:rebuild", ProjectMemberOrAdmin, "action `rebuild`";
    ServersRebuildTrustedCerts => "os_compute_api:servers:rebuild:trusted_certs",
        ProjectMemberOrAdmin, "action `rebuild` with `trusted_image_certificates` (2.63)";
    ServersCreateImage => "os_compute_api:servers:create_image", ProjectMemberOrAdmin,
        "action `createImage`";
    ServersStart => "os_compute_api:servers:start", ProjectMemberOrAdmin, "action `os-start`";
    ServersStop => "os_compute_api:servers:stop", ProjectMemberOrAdmin, "action `os-stop`";
    PauseServer => "os_compute_api:os-pause-server:pause", ProjectMemberOrAdmin, "action `pause`";
    UnpauseServer => "os_compute_api:os-pause-server:unpause", ProjectMemberOrAdmin,
        "action `unpause`";
    SuspendServer => "os_compute_api:os-suspend-server:suspend", ProjectMemberOrAdmin,
        "action `suspend`";
    ResumeServer => "os_compute_api:os-suspend-server:resume", ProjectMemberOrAdmin,
        "action `resume`";
    LockServer => "os_compute_api:os-lock-server:lock", ProjectMemberOrAdmin, "action `lock`";
    UnlockServer => "os_compute_api:os-lock-server:unlock", ProjectMemberOrAdmin,
        "action `unlock`";
    UnlockOverride => "os_compute_api:os-lock-server:unlock:unlock_override", Admin,
        "action `unlock` of a lock the other kind of caller took (the owner's by an admin of another project, or the other way round)";
    AdminPassword => "os_compute_api:os-admin-password", ProjectMemberOrAdmin,
        "action `changePassword`";
    MetadataIndex => "os_compute_api:server-metadata:index", ProjectReaderOrAdmin,
        "`GET /servers/{id}/metadata`";
    MetadataShow => "os_compute_api:server-metadata:show", ProjectReaderOrAdmin,
        "`GET /servers/{id}/metadata/{key}`";
    MetadataCreate => "os_compute_api:server-metadata:create", ProjectMemberOrAdmin,
        "`POST /servers/{id}/metadata`";
    MetadataUpdateAll => "os_compute_api:server-metadata:update_all", ProjectMemberOrAdmin,
        "`PUT /servers/{id}/metadata`";
    MetadataUpdate => "os_compute_api:server-metadata:update", ProjectMemberOrAdmin,
        "`PUT /servers/{id}/metadata/{key}`";
    MetadataDelete => "os_compute_api:server-metadata:delete", ProjectMemberOrAdmin,
        "`DELETE /servers/{id}/metadata/{key}`";
    IpsIndex => "os_compute_api:ips:index", ProjectReaderOrAdmin, "`GET /servers/{id}/ips`";
    IpsShow => "os_compute_api:ips:show", ProjectReaderOrAdmin,
        "`GET /servers/{id}/ips/{network}`";
    InstanceActionsList => "os_compute_api:os-instance-actions:list", ProjectReaderOrAdmin,
        "`GET /servers/{id}/os-instance-actions`";
    InstanceActionsShow => "os_compute_api:os-instance-actions:show", ProjectReaderOrAdmin,
        "`GET /servers/{id}/os-instance-actions/{request_id}`";
    InstanceActionsEvents => "os_compute_api:os-instance-actions:events", Admin,
        "an action's events before 2.51, and at any version their `traceback` and (2.62) `host`";
    InstanceActionsEventsDetails => "os_compute_api:os-instance-actions:events:details", Admin,
        "an event's `details` (2.84)";
    FlavorExtraSpecsIndex => "os_compute_api:os-flavor-extra-specs:index", ProjectReaderOrAdmin,
        "`GET /flavors/{id}/os-extra_specs`, and `extra_specs` in a flavor (2.61)";
    FlavorExtraSpecsShow => "os_compute_api:os-flavor-extra-specs:show", ProjectReaderOrAdmin,
        "`GET /flavors/{id}/os-extra_specs/{key}`";
    Limits => "os_compute_api:limits", Anyone, "`GET /limits`";
    LimitsOtherProject => "os_compute_api:limits:other_project", Admin,
        "`GET /limits?tenant_id=` another project";
    AvailabilityZoneList => "os_compute_api:os-availability-zone:list", Anyone,
        "`GET /os-availability-zone`";
    AvailabilityZoneDetail => "os_compute_api:os-availability-zone:detail", Admin,
        "`GET /os-availability-zone/detail`";
    ServerTagsIndex => "os_compute_api:os-server-tags:index", ProjectReaderOrAdmin,
        "`GET /servers/{id}/tags`";
    ServerTagsShow => "os_compute_api:os-server-tags:show", ProjectReaderOrAdmin,
        "`GET /servers/{id}/tags/{tag}`";
    ServerTagsUpdate => "os_compute_api:os-server-tags:update", ProjectMemberOrAdmin,
        "`PUT /servers/{id}/tags/{tag}`";
    ServerTagsUpdateAll => "os_compute_api:os-server-tags:update_all", ProjectMemberOrAdmin,
        "`PUT /servers/{id}/tags`";
    ServerTagsDelete => "os_compute_api:os-server-tags:delete", ProjectMemberOrAdmin,
        "`DELETE /servers/{id}/tags/{tag}`";
    ServerTagsDeleteAll => "os_compute_api:os-server-tags:delete_all", ProjectMemberOrAdmin,
        "`DELETE /servers/{id}/tags`";
    ServerPasswordShow => "os_compute_api:os-server-password:show", ProjectReaderOrAdmin,
        "`GET /servers/{id}/os-server-password`";
    ServerPasswordClear => "os_compute_api:os-server-password:clear", ProjectMemberOrAdmin,
        "`DELETE /servers/{id}/os-server-password`";
    KeypairsIndex => "os_compute_api:os-keypairs:index", AdminOrUser,
        "`GET /os-keypairs`, the target the user listed (`user_id`, 2.10)";
    KeypairsCreate => "os_compute_api:os-keypairs:create", AdminOrUser,
        "`POST /os-keypairs`, the target the user the key pair is for (`user_id`, 2.10)";
    KeypairsShow => "os_compute_api:os-keypairs:show", AdminOrUser, "`GET /os-keypairs/{name}`";
    KeypairsDelete => "os_compute_api:os-keypairs:delete", AdminOrUser,
        "`DELETE /os-keypairs/{name}`";
    QuotaSetsShow => "os_compute_api:os-quota-sets:show", ProjectReaderOrAdmin,
        "`GET /os-quota-sets/{project_id}`";
    QuotaSetsDetail => "os_compute_api:os-quota-sets:detail", ProjectReaderOrAdmin,
        "`GET /os-quota-sets/{project_id}/detail`";
    QuotaSetsDefaults => "os_compute_api:os-quota-sets:defaults", Anyone,
        "`GET /os-quota-sets/{project_id}/defaults`";
    QuotaSetsUpdate => "os_compute_api:os-quota-sets:update", Admin,
        "`PUT /os-quota-sets/{project_id}`";
    QuotaSetsDelete => "os_compute_api:os-quota-sets:delete", Admin,
        "`DELETE /os-quota-sets/{project_id}`";
    DeleteImage => "delete_image", ProjectMemberOrAdmin,
        "the image service's `DELETE /v2/images/{id}`: Glance's rule, its target the image's owner, refused in Glance's words";
}

/// The caller as the rules see it: the project its token is scoped to and
/// its role names there. Owned, so that a change running inside the
/// store's atomic step can ask a rule about the server as stored then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    project_id: String,
    roles: Vec<String>,
}

impl Credentials {
    pub(crate) fn new(project_id: String, roles: Vec<String>) -> Self {
        Credentials { project_id, roles }
    }

    /// The caller of `call`.
    pub(crate) fn of(call: &Call) -> Self {
        Credentials::new(call.project_id.clone(), call.roles.clone())
    }

    /// The project the caller's token is scoped to.
    pub(crate) fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Whether `rule` lets this caller act on a target in
    /// `target_project`.
    pub(crate) fn allows(&self, rule: Rule, target_project: &str) -> bool {
        rule.who()
            .allows(&self.roles, &self.project_id, target_project)
    }

    /// As [`Credentials::allows`], a refusal as Nova's 403.
    pub(crate) fn authorize(&self, rule: Rule, target_project: &str) -> Result<(), ComputeError> {
        refused_unless(self.allows(rule, target_project), rule)
    }

    /// Nova's `context.is_admin` ([`Rule::ContextIsAdmin`]).
    pub(crate) fn is_admin(&self) -> bool {
        self.allows(Rule::ContextIsAdmin, &self.project_id)
    }
}

fn refused_unless(allowed: bool, rule: Rule) -> Result<(), ComputeError> {
    if allowed {
        Ok(())
    } else {
        Err(ComputeError::PolicyNotAuthorized(rule.name()))
    }
}

/// Whether `rule` lets the caller of `call` act on a target in
/// `target_project`: for a part of an answer, which a refusal leaves out.
pub(crate) fn allows(call: &Call, rule: Rule, target_project: &str) -> bool {
    rule.who()
        .allows(&call.roles, &call.project_id, target_project)
}

/// Nova's `context.can(rule, target)`: `Ok` if `rule` lets the caller of
/// `call` act on a target in `target_project`, else 403 `Policy doesn't
/// allow {rule} to be performed.`
pub(crate) fn authorize(call: &Call, rule: Rule, target_project: &str) -> Result<(), ComputeError> {
    refused_unless(allows(call, rule, target_project), rule)
}

/// As [`authorize`] for a rule whose target is a user (a key pair's
/// owner, [`Who::AdminOrUser`]): `Ok` if the caller is an admin or is
/// `target_user`.
pub(crate) fn authorize_user(
    call: &Call,
    rule: Rule,
    target_user: &str,
) -> Result<(), ComputeError> {
    let allowed = rule.who().allows(&call.roles, &call.user_id, target_user);
    refused_unless(allowed, rule)
}

/// Nova's `context.is_admin`: whether the caller of `call` passes
/// [`Rule::ContextIsAdmin`].
pub(crate) fn is_admin(call: &Call) -> bool {
    allows(call, Rule::ContextIsAdmin, &call.project_id)
}

#[cfg(test)]
mod tests;
