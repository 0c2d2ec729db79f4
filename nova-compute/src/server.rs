//! A server as it is stored: the seed's instance (id, name, timestamps,
//! version) with the compute API's fields beside it. What a client sees at
//! a microversion is a view of this (`views`), never this record itself.

use std::collections::BTreeMap;

use nova_controller::{Instance, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::{power_state, vm_state, Lifecycle, State};

/// One server: the row the seed's `/instances` and the compute API's
/// `/servers` both see.
///
/// The seed's fields are its own; [`ServerDetails`] holds what only the
/// compute API knows, stored as one document so that a new field needs
/// no schema change. An instance created through `/instances` has no
/// details: the compute API shows it with [`ServerDetails::for_instance`].
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// The instance id.
    pub id: Uuid,
    /// Its name (any text for the compute API, up to 255 characters).
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// 1 when created, one more at each change: the `ETag`.
    pub version: u64,
    /// The project that owns it; empty for an instance created through
    /// the seed's API, which belongs to the compute API's default project.
    pub project_id: String,
    /// When it was deleted through the compute API; such a server is gone
    /// from the seed's API at once and from the compute API once its
    /// deletion has run ([`ServerDetails::lifecycle`]).
    pub deleted_at: Option<Timestamp>,
    /// The compute API's fields; `None` for an instance created through
    /// the seed's API. Behind a pointer, because a store may hold millions
    /// of seed instances, which should not each carry room for a server's
    /// kilobyte of fields; shared (`Arc`), because every read hands out a
    /// copy of the row and that copy should not copy the kilobyte.
    pub details: Option<std::sync::Arc<ServerDetails>>,
}

impl Server {
    /// The seed's narrow view of this server.
    pub fn instance(&self) -> Instance {
        Instance {
            id: self.id,
            name: self.name.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    /// A server row for an instance created through the seed's API.
    pub fn from_instance(instance: Instance) -> Self {
        Server {
            id: instance.id,
            name: instance.name,
            created_at: instance.created_at,
            updated_at: instance.updated_at,
            version: instance.version,
            project_id: String::new(),
            deleted_at: None,
            details: None,
        }
    }
}

/// The compute API's fields of a server.
///
/// Every field has a default so that a document written by an older build
/// reads back; a field added later must have one too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServerDetails {
    /// The user who created it.
    pub user_id: String,
    /// The image it was built (or last rebuilt) from.
    pub image_id: String,
    /// That image's standard properties (Nova's `ImageMetaProps`) as they
    /// were when it was built or last rebuilt, which 2.98 shows under
    /// `image.properties`: Nova keeps them in the instance's system
    /// metadata, so a later change to the image does not change them.
    pub image_properties: BTreeMap<String, String>,
    /// The flavor it runs with, as it was when it was given (Nova keeps a
    /// copy in the instance, so a later change to the flavor does not
    /// change the server).
    pub flavor: FlavorSnapshot,
    /// The flavor before a resize, kept until it is confirmed or reverted.
    pub old_flavor: Option<FlavorSnapshot>,
    /// Its state and what is under way.
    pub lifecycle: Option<Lifecycle>,
    /// Its ports: one fixed address on each network.
    pub ports: Vec<Port>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// The key pair named at creation.
    pub key_name: Option<String>,
    /// The availability zone it is in.
    pub availability_zone: String,
    /// The zone the user asked for, if any (2.96's
    /// `pinned_availability_zone`).
    pub requested_availability_zone: Option<String>,
    /// Base64 user data, as given.
    pub user_data: Option<String>,
    /// Its description (2.19).
    pub description: Option<String>,
    /// `accessIPv4`, empty when unset.
    pub access_ipv4: String,
    /// `accessIPv6`, empty when unset.
    pub access_ipv6: String,
    /// Tags (2.26), in the order given.
    pub tags: Vec<String>,
    /// Whether a config drive was asked for.
    pub config_drive: bool,
    /// The reservation id of the request that created it, `r-xxxxxxxx`.
    pub reservation_id: String,
    /// Its index among the servers that request created.
    pub launch_index: u32,
    /// Its hostname, from its name unless given (2.90).
    pub hostname: String,
    /// Whether it is locked, by whom (`owner` or `admin`) and why (2.73).
    pub lock: Option<Lock>,
    /// When it first became active.
    pub launched_at: Option<Timestamp>,
    /// When it was deleted and its deletion ran.
    pub terminated_at: Option<Timestamp>,
    /// The failure that put it in `ERROR`.
    pub fault: Option<ServerFault>,
    /// The control plane's behaviour that holds its current task state
    /// (its transition never ends by itself) until that behaviour is
    /// removed or the state is forced ([`Injection::Stuck`](crate::Injection)).
    pub stuck_by: Option<String>,
    /// Security group names.
    pub security_groups: Vec<String>,
    /// Trusted image certificate ids (2.63).
    pub trusted_image_certificates: Option<Vec<String>>,
    /// Scheduler hints given at creation (2.100).
    pub scheduler_hints: BTreeMap<String, serde_json::Value>,
    /// The encrypted password the guest posted to the metadata service,
    /// as `os-server-password` shows it; empty when none was posted or it
    /// was cleared. nova-rs has no metadata service: nothing sets it yet.
    pub password: String,
    /// What was done to it: `os-instance-actions`, oldest first.
    pub actions: Vec<InstanceAction>,
}

impl ServerDetails {
    /// The details an instance created through the seed's API is shown
    /// with: active and running since it was created, with the given
    /// flavor and image and no ports.
    pub fn for_instance(instance: &Instance, flavor: FlavorSnapshot, image_id: &str) -> Self {
        ServerDetails {
            image_id: image_id.to_owned(),
            flavor,
            lifecycle: Some(Lifecycle::settled(State::settled(
                vm_state::ACTIVE,
                power_state::RUNNING,
            ))),
            hostname: instance.name.clone(),
            launched_at: Some(instance.created_at),
            security_groups: vec!["default".to_owned()],
            ..ServerDetails::default()
        }
    }

    /// The stored lifecycle, or active and running for a record that has
    /// none.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.clone().unwrap_or_else(|| {
            Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING))
        })
    }
}

/// A copy of a flavor as a server holds it (Nova's `instance.flavor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FlavorSnapshot {
    /// The flavor's id (`flavorid`).
    pub id: String,
    /// Its name when it was given (2.47's `original_name`).
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub ram: u64,
    /// Root disk in GiB.
    pub disk: u64,
    /// Ephemeral disk in GiB.
    pub ephemeral: u64,
    /// Swap in MiB.
    pub swap: u64,
    /// Extra specs.
    pub extra_specs: BTreeMap<String, String>,
}

/// One port of a server: a fixed address on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Port {
    /// The port's id.
    pub id: String,
    /// The network's id.
    pub network_id: String,
    /// The network's name, the key of `addresses`.
    pub network_name: String,
    /// The fixed address.
    pub address: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// The MAC address.
    pub mac_address: String,
    /// The device tag given at creation (2.32), if any.
    pub tag: Option<String>,
}

/// Who locked a server and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Lock {
    /// `owner` or `admin`.
    pub locked_by: String,
    /// The reason given (2.73), if any.
    pub reason: Option<String>,
}

/// The failure a server in `ERROR` shows as `fault`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServerFault {
    /// An HTTP-like status code, 500 for most failures.
    pub code: u16,
    /// What failed.
    pub message: String,
    /// Details (a traceback in Nova); shown to admins only.
    pub details: Option<String>,
    /// When it failed.
    pub created: Option<Timestamp>,
}

/// One entry of `os-instance-actions`: a request that changed the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct InstanceAction {
    /// `create`, `reboot`, `stop`, …
    pub action: String,
    /// The `x-openstack-request-id` of the request that did it.
    pub request_id: String,
    /// Who asked.
    pub user_id: String,
    /// In which project.
    pub project_id: String,
    /// When it was asked.
    pub start_time: Option<Timestamp>,
    /// When it was last updated (2.58).
    pub updated_at: Option<Timestamp>,
    /// An error message if it failed.
    pub message: Option<String>,
    /// Its events (`compute_reboot_instance`, …).
    pub events: Vec<ActionEvent>,
}

/// One step of an instance action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ActionEvent {
    /// The step, `compute__do_build_and_run_instance` and the like.
    pub event: String,
    /// When it started.
    pub start_time: Option<Timestamp>,
    /// When it finished.
    pub finish_time: Option<Timestamp>,
    /// `Success` or `Error`.
    pub result: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_written_without_later_fields_read_back_with_defaults() {
        let details: ServerDetails =
            serde_json::from_str(r#"{"user_id": "u", "image_id": "i", "shiny_new": 1}"#).unwrap();
        assert_eq!(details.user_id, "u");
        assert_eq!(details.metadata.len(), 0);
        assert_eq!(details.lifecycle().current.status(), "ACTIVE");
    }

    #[test]
    fn details_survive_a_round_trip_through_their_document() {
        let instance = Instance::new("web");
        let mut details = ServerDetails::for_instance(&instance, FlavorSnapshot::default(), "img");
        details.metadata.insert("k".into(), "v".into());
        details.fault = Some(ServerFault {
            code: 500,
            message: "boom".into(),
            details: None,
            created: Some(instance.created_at),
        });
        let text = serde_json::to_string(&details).unwrap();
        assert_eq!(
            serde_json::from_str::<ServerDetails>(&text).unwrap(),
            details
        );
    }
}
