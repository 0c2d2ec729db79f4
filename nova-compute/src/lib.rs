//! The compute API v2.1 of nova-rs: the part of Nova that
//! `nova/api/openstack/compute/` is.
//!
//! [`ComputeApi`] is the application behind the router: it dispatches the
//! routed `controller.action` ([`compute_routes`](nova_router::compute_routes))
//! to one controller module per resource, as Nova has one controller per
//! file: `servers`, `server_actions` (`POST /servers/{id}/action`),
//! `metadata`, `ips`, `instance_actions`, `server_tags`, `server_password`,
//! `flavors`, `images`, `limits`, `availability_zones`.
//! Request validation lives in `schemas`, response bodies in `views`,
//! each per microversion, apart from the controllers; who may do what is
//! one table of Nova's policy rules ([`policy`]).
//!
//! Servers live behind [`ServerStore`], which every store that keeps the
//! seed's instances implements over the same records: an instance created
//! through `/instances` is a server here and the other way round.
//! [`MemoryServerStore`] is the in-memory one; nova-store has the durable
//! ones. A server's state is derived from stored instants and a [`Clock`],
//! never from timers ([`state`]). The same stores keep the images
//! `createImage` takes ([`ImageStore`]), which the compute API and the
//! image service ([`ImageServiceApp`]) show beside the cloud's configured
//! ones.

/// The microversions of the compute API this crate serves: what the
/// version documents advertise and what the microversion filter accepts.
///
/// 2.100: every change Nova made to servers, flavors, limits, images and
/// the server sub-resources served here up to 2.100 is implemented, and
/// 2.100 is the highest openstacksdk asks for servers. Later versions
/// change resources nova-rs does not serve faithfully yet (2.101 volume
/// attachments, 2.102 flavor fields and query rules, 2.104 unpinning).
pub const COMPUTE_API_VERSIONS: nova_router::ApiVersionRange = nova_router::ApiVersionRange {
    min: nova_router::ApiVersion::new(2, 1),
    max: nova_router::ApiVersion::new(2, 100),
};

mod api;
mod availability_zones;
mod clock;
mod cloud;
mod course;
mod default_caller;
mod dispatch;
mod error;
mod flavors;
mod image;
mod image_catalog;
mod image_properties;
mod image_service;
mod images;
mod injection;
mod instance_actions;
mod ips;
mod keypair;
mod keypair_store;
mod keypairs;
mod limits;
mod lookup;
mod metadata;
mod openapi;
mod pagination;
pub mod policy;
mod quota;
mod quota_sets;
mod quota_store;
mod schemas;
mod server;
mod server_actions;
mod server_password;
mod server_tags;
mod servers;
pub mod state;
mod store;
#[cfg(test)]
mod test_client;
mod views;

pub use api::{Call, ComputeApi};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cloud::{Cloud, CloudConfigError, Durations, Flavor, Network, Quota};
pub use default_caller::{DEFAULT_PROJECT, DEFAULT_USER};
pub use error::ComputeError;
pub use image::{Image, ImageStatus, Visibility};
pub use image_service::ImageServiceApp;
pub use injection::{FaultInjector, InjectedFault, Injection, ServerEvent, ServerEventKind};
pub use keypair::{
    fingerprint, generate as generate_keypair, GeneratedKey, KeyError, Keypair, KeypairType,
};
pub use keypair_store::{KeypairCreate, KeypairStore};
pub use openapi::COMPUTE_OPENAPI_DOCUMENT;
pub use quota_store::{QuotaLimit, QuotaStore};
pub use server::{
    ActionEvent, FlavorSnapshot, InstanceAction, Lock, Port, Server, ServerDetails, ServerFault,
};
pub use store::{
    ImageScope, ImageStore, MemoryServerStore, ServerChange, ServerScope, ServerStore, ServerUpdate,
};
