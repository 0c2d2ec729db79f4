//! The server views: Nova's `views/servers.py`. A server's body at a
//! microversion is a function of the stored record, the caller and the
//! time ([`show`], [`basic`]); which parts an answer carries is what
//! [`Parts`] says, as Nova's `show(…, show_AZ=…, …)` flags do.

use nova_controller::Timestamp;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::Call;
use crate::lookup::{details_of, project_of};
use crate::policy::{self, Rule};
use crate::server::Port;
use crate::state::vm_state;
use crate::{ComputeApi, Server, ServerDetails};

/// The host every server runs on: nova-rs is one compute host.
pub(crate) const HOST: &str = "nova-rs";

/// Which optional parts of the full view an answer carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts {
    /// `OS-EXT-IPS` fields in addresses.
    pub extend_address: bool,
    /// `OS-EXT-AZ:availability_zone` and (2.96) `pinned_availability_zone`.
    pub az: bool,
    /// `config_drive`.
    pub config_drive: bool,
    /// `key_name`.
    pub key_name: bool,
    /// `OS-SRV-USG:*`.
    pub usage: bool,
    /// `security_groups`.
    pub security_groups: bool,
    /// `OS-EXT-STS:*`.
    pub extended_status: bool,
    /// `os-extended-volumes:volumes_attached`.
    pub volumes: bool,
    /// `OS-EXT-SRV-ATTR:*` and `host_status`, each where its rule lets
    /// the caller see them.
    pub admin_attributes: bool,
    /// `server_groups` (2.71; not in the detail listing).
    pub server_groups: bool,
    /// `OS-EXT-SRV-ATTR:user_data` with the other 2.3 attributes.
    pub user_data: bool,
}

impl Parts {
    /// `GET /servers/{id}`.
    pub(crate) fn show(call: &Call) -> Self {
        Parts {
            extend_address: true,
            az: true,
            config_drive: true,
            key_name: true,
            usage: true,
            security_groups: true,
            extended_status: true,
            volumes: true,
            admin_attributes: true,
            server_groups: call.at_least(2, 71),
            user_data: true,
        }
    }

    /// Each server of `GET /servers/detail`.
    pub(crate) fn detail(call: &Call) -> Self {
        Parts {
            server_groups: false,
            ..Parts::show(call)
        }
    }

    /// `PUT /servers/{id}`: before 2.75 only the core of the view.
    pub(crate) fn update(call: &Call) -> Self {
        let all = call.at_least(2, 75);
        Parts {
            extend_address: all,
            az: all,
            config_drive: all,
            key_name: all,
            usage: all,
            security_groups: all,
            extended_status: all,
            volumes: all,
            admin_attributes: all,
            server_groups: call.at_least(2, 71),
            user_data: true,
        }
    }

    /// The `rebuild` action: as `update`, with `key_name` from 2.54 and
    /// no `user_data` among the admin attributes (the action adds it).
    pub(crate) fn rebuild(call: &Call) -> Self {
        Parts {
            key_name: call.at_least(2, 54),
            user_data: false,
            ..Parts::update(call)
        }
    }
}

/// `{"id", "name", "links"}`: a server in `GET /servers`.
pub(crate) fn basic(call: &Call, server: &Server) -> Value {
    let id = server.id.to_string();
    json!({
        "id": id,
        "name": server.name,
        "links": links(call, "servers", &id),
    })
}

/// The `self` and `bookmark` links of a resource.
pub(crate) fn links(call: &Call, collection: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": call.self_link(collection, id)},
        {"rel": "bookmark", "href": call.bookmark_link(collection, id)},
    ])
}

/// The full view of `server` at `now`, as `parts` says, as a JSON value:
/// for an answer that adds to it (`rebuild`'s `adminPass`).
pub(crate) fn show(
    api: &ComputeApi,
    call: &Call,
    server: &Server,
    now: Timestamp,
    parts: Parts,
) -> Value {
    let view = ServerView::new(api, call, server, now, parts);
    serde_json::to_value(&view).unwrap_or_else(|error| {
        // Every key the view writes is a string: this cannot happen.
        tracing::error!(%error, "a server view could not be built");
        Value::Null
    })
}

/// The full view of a server at an instant, as [`Parts`] says: written
/// straight into the answer's bytes by its [`Serialize`] impl, with no
/// JSON tree built in between (a view is built for every server a show or
/// a detailed listing answers with, and read once).
pub(crate) struct ServerView<'a> {
    api: &'a ComputeApi,
    call: &'a Call,
    server: &'a Server,
    details: std::borrow::Cow<'a, ServerDetails>,
    state: crate::state::State,
    now: Timestamp,
    parts: Parts,
}

impl<'a> ServerView<'a> {
    /// The view of `server` at `now`.
    pub(crate) fn new(
        api: &'a ComputeApi,
        call: &'a Call,
        server: &'a Server,
        now: Timestamp,
        parts: Parts,
    ) -> Self {
        let details = details_of(api, server);
        let state = details.lifecycle().at(now).clone();
        ServerView {
            api,
            call,
            server,
            details,
            state,
            now,
            parts,
        }
    }
}

impl Serialize for ServerView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ServerView {
            api,
            call,
            server,
            details,
            state,
            now,
            parts,
        } = self;
        let (call, server, now, parts) = (*call, *server, *now, *parts);
        let deleted = server.deleted_at.is_some() && state.vm_state == vm_state::DELETED;
        let status = if deleted { "DELETED" } else { state.status() };
        let id = server.id.to_string();
        let project = project_of(api, server);
        let mut view = serializer.serialize_map(None)?;
        view.serialize_entry("id", &id)?;
        view.serialize_entry("name", &server.name)?;
        view.serialize_entry("status", status)?;
        view.serialize_entry("tenant_id", project)?;
        view.serialize_entry("user_id", &details.user_id)?;
        view.serialize_entry("metadata", &details.metadata)?;
        view.serialize_entry("hostId", &host_id(project))?;
        view.serialize_entry("image", &ImageRef { call, details })?;
        view.serialize_entry(
            "flavor",
            &FlavorRef {
                call,
                project,
                details,
            },
        )?;
        view.serialize_entry("created", &server.created_at.to_seconds_string())?;
        view.serialize_entry(
            "updated",
            &crate::lookup::last_changed(server, details, now).to_seconds_string(),
        )?;
        view.serialize_entry(
            "addresses",
            &Addresses {
                details,
                extended: parts.extend_address,
                // A server being built has no address yet.
                none: state.vm_state == vm_state::BUILDING,
            },
        )?;
        view.serialize_entry("accessIPv4", &details.access_ipv4)?;
        view.serialize_entry("accessIPv6", &details.access_ipv6)?;
        view.serialize_entry(
            "links",
            &Links {
                call,
                collection: "servers",
                id: &id,
            },
        )?;
        view.serialize_entry("OS-DCF:diskConfig", "MANUAL")?;
        if matches!(status, "ERROR" | "DELETED") {
            if let Some(fault) = &details.fault {
                let mut body = json!({
                    "code": fault.code,
                    "message": fault.message,
                    "created": fault.created.unwrap_or(server.updated_at).to_seconds_string(),
                });
                if let Some(more) = &fault.details {
                    if policy::is_admin(call) || fault.code != 500 {
                        body["details"] = json!(more);
                    }
                }
                view.serialize_entry("fault", &body)?;
            }
        }
        if matches!(
            status,
            "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
        ) {
            view.serialize_entry("progress", &0)?;
        }
        if parts.az {
            view.serialize_entry("OS-EXT-AZ:availability_zone", &details.availability_zone)?;
        }
        if parts.config_drive {
            view.serialize_entry(
                "config_drive",
                if details.config_drive { "True" } else { "" },
            )?;
        }
        if parts.key_name {
            view.serialize_entry("key_name", &details.key_name)?;
        }
        if parts.usage {
            // Stored when the operation began; shown once it has happened.
            let happened = |at: Option<Timestamp>| at.filter(|at| *at <= now);
            view.serialize_entry(
                "OS-SRV-USG:launched_at",
                &usage_time(happened(details.launched_at)),
            )?;
            view.serialize_entry(
                "OS-SRV-USG:terminated_at",
                &usage_time(happened(details.terminated_at)),
            )?;
        }
        if parts.security_groups {
            view.serialize_entry("security_groups", &SecurityGroups(&details.security_groups))?;
        }
        let admin_attributes =
            parts.admin_attributes && policy::allows(call, Rule::ExtendedServerAttributes, project);
        if admin_attributes {
            view.serialize_entry("OS-EXT-SRV-ATTR:host", HOST)?;
            view.serialize_entry("OS-EXT-SRV-ATTR:instance_name", &instance_name(server))?;
            view.serialize_entry("OS-EXT-SRV-ATTR:hypervisor_hostname", HOST)?;
            if call.at_least(2, 3) {
                view.serialize_entry("OS-EXT-SRV-ATTR:hostname", &details.hostname)?;
                view.serialize_entry("OS-EXT-SRV-ATTR:kernel_id", "")?;
                view.serialize_entry("OS-EXT-SRV-ATTR:launch_index", &details.launch_index)?;
                view.serialize_entry("OS-EXT-SRV-ATTR:ramdisk_id", "")?;
                view.serialize_entry("OS-EXT-SRV-ATTR:reservation_id", &details.reservation_id)?;
                view.serialize_entry("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda")?;
                if parts.user_data {
                    view.serialize_entry("OS-EXT-SRV-ATTR:user_data", &details.user_data)?;
                }
            }
        }
        if parts.extended_status {
            view.serialize_entry("OS-EXT-STS:task_state", &state.task_state)?;
            view.serialize_entry("OS-EXT-STS:vm_state", &state.vm_state)?;
            view.serialize_entry("OS-EXT-STS:power_state", &state.power_state)?;
        }
        if parts.volumes {
            view.serialize_entry("os-extended-volumes:volumes_attached", &[(); 0])?;
        }
        if call.at_least(2, 9) {
            view.serialize_entry("locked", &details.lock.is_some())?;
        }
        if call.at_least(2, 16)
            && parts.admin_attributes
            && policy::allows(call, Rule::ServersShowHostStatus, project)
        {
            view.serialize_entry("host_status", "UP")?;
        }
        if call.at_least(2, 19) {
            view.serialize_entry("description", &details.description)?;
        }
        if call.at_least(2, 26) {
            view.serialize_entry("tags", &details.tags)?;
        }
        if call.at_least(2, 63) {
            view.serialize_entry(
                "trusted_image_certificates",
                &details.trusted_image_certificates,
            )?;
        }
        if parts.server_groups {
            view.serialize_entry("server_groups", &[(); 0])?;
        }
        if call.at_least(2, 73) {
            view.serialize_entry(
                "locked_reason",
                &details.lock.as_ref().and_then(|l| l.reason.as_deref()),
            )?;
        }
        if call.at_least(2, 90) && !admin_attributes {
            view.serialize_entry("OS-EXT-SRV-ATTR:hostname", &details.hostname)?;
        }
        if parts.az && call.at_least(2, 96) {
            view.serialize_entry(
                "pinned_availability_zone",
                &details.requested_availability_zone,
            )?;
        }
        if call.at_least(2, 100) {
            view.serialize_entry("scheduler_hints", &details.scheduler_hints)?;
        }
        view.end()
    }
}

/// A resource's `self` and `bookmark` links, written as they are made.
struct Links<'a> {
    call: &'a Call,
    collection: &'static str,
    id: &'a str,
}

impl Serialize for Links<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut links = serializer.serialize_seq(Some(2))?;
        links.serialize_element(&Link {
            rel: "self",
            href: self.call.self_link(self.collection, self.id),
        })?;
        links.serialize_element(&Link {
            rel: "bookmark",
            href: self.call.bookmark_link(self.collection, self.id),
        })?;
        links.end()
    }
}

/// `{"rel", "href"}`.
#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

/// The server's image: `{"id", "links"}`, with (2.98) its properties; `""`
/// for a server built from a volume.
struct ImageRef<'a> {
    call: &'a Call,
    details: &'a ServerDetails,
}

impl Serialize for ImageRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = &self.details.image_id;
        if id.is_empty() {
            return serializer.serialize_str("");
        }
        let mut image = serializer.serialize_map(None)?;
        image.serialize_entry("id", id)?;
        image.serialize_entry(
            "links",
            &[Link {
                rel: "bookmark",
                href: self.call.bookmark_link("images", id),
            }],
        )?;
        if self.call.at_least(2, 98) {
            image.serialize_entry("properties", &self.details.image_properties)?;
        }
        image.end()
    }
}

/// The server's flavor: by id and link before 2.47, embedded from 2.47
/// (its `extra_specs` where their rule lets the caller see them).
struct FlavorRef<'a> {
    call: &'a Call,
    project: &'a str,
    details: &'a ServerDetails,
}

impl Serialize for FlavorRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let flavor = &self.details.flavor;
        let mut view = serializer.serialize_map(None)?;
        if self.call.at_least(2, 47) {
            view.serialize_entry("vcpus", &flavor.vcpus)?;
            view.serialize_entry("ram", &flavor.ram)?;
            view.serialize_entry("disk", &flavor.disk)?;
            view.serialize_entry("ephemeral", &flavor.ephemeral)?;
            view.serialize_entry("swap", &flavor.swap)?;
            view.serialize_entry("original_name", &flavor.name)?;
            if policy::allows(self.call, Rule::ServersShowFlavorExtraSpecs, self.project) {
                view.serialize_entry("extra_specs", &flavor.extra_specs)?;
            }
        } else {
            view.serialize_entry("id", &flavor.id)?;
            view.serialize_entry(
                "links",
                &[Link {
                    rel: "bookmark",
                    href: self.call.bookmark_link("flavors", &flavor.id),
                }],
            )?;
        }
        view.end()
    }
}

/// `{"NETWORK": [{"version", "addr", …}]}`, networks in the order of
/// their first port, written without building the map.
struct Addresses<'a> {
    details: &'a ServerDetails,
    extended: bool,
    /// `{}`: the server has no address yet.
    none: bool,
}

impl Serialize for Addresses<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut networks = serializer.serialize_map(None)?;
        if !self.none {
            let ports = &self.details.ports;
            for (index, port) in ports.iter().enumerate() {
                let network = port.network_name.as_str();
                // Each network once, where its first port is.
                if ports[..index].iter().any(|p| p.network_name == network) {
                    continue;
                }
                networks.serialize_entry(
                    network,
                    &NetworkAddresses {
                        ports: &ports[index..],
                        network,
                        extended: self.extended,
                    },
                )?;
            }
        }
        networks.end()
    }
}

/// The addresses of one network: its ports among `ports`.
struct NetworkAddresses<'a> {
    ports: &'a [Port],
    network: &'a str,
    extended: bool,
}

impl Serialize for NetworkAddresses<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(None)?;
        for port in self.ports.iter().filter(|p| p.network_name == self.network) {
            list.serialize_element(&Address {
                port,
                extended: self.extended,
            })?;
        }
        list.end()
    }
}

/// One address: `{"version", "addr"}` and, when extended, its `OS-EXT-IPS`
/// type and MAC.
struct Address<'a> {
    port: &'a Port,
    extended: bool,
}

impl Serialize for Address<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_map(None)?;
        entry.serialize_entry("version", &self.port.ip_version)?;
        entry.serialize_entry("addr", &self.port.address)?;
        if self.extended {
            entry.serialize_entry("OS-EXT-IPS:type", "fixed")?;
            entry.serialize_entry("OS-EXT-IPS-MAC:mac_addr", &self.port.mac_address)?;
        }
        entry.end()
    }
}

/// `[{"name": …}, …]`.
struct SecurityGroups<'a>(&'a [String]);

impl Serialize for SecurityGroups<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Group<'a> {
            name: &'a str,
        }
        let mut groups = serializer.serialize_seq(Some(self.0.len()))?;
        for name in self.0 {
            groups.serialize_element(&Group { name })?;
        }
        groups.end()
    }
}

/// `{"NETWORK": [{"version", "addr", …}]}`: Nova's ips view, with the
/// `OS-EXT-IPS` type and MAC when `extended`.
pub(crate) fn addresses(details: &ServerDetails, extended: bool) -> Value {
    let mut networks = Map::new();
    for port in &details.ports {
        let mut entry = json!({"version": port.ip_version, "addr": port.address});
        if extended {
            entry["OS-EXT-IPS:type"] = json!("fixed");
            entry["OS-EXT-IPS-MAC:mac_addr"] = json!(port.mac_address);
        }
        if let Value::Array(list) = networks
            .entry(port.network_name.clone())
            .or_insert_with(|| json!([]))
        {
            list.push(entry);
        }
    }
    Value::Object(networks)
}

/// Nova's `OS-SRV-USG` timestamps: ISO 8601 without a zone, microseconds
/// unless there are none (Python's `isoformat`).
fn usage_time(at: Option<Timestamp>) -> Option<String> {
    at.map(|at| {
        let text = at.to_string();
        let text = text.trim_end_matches('Z');
        text.strip_suffix(".000000").unwrap_or(text).to_owned()
    })
}

/// `instance-0000abcd`: Nova's instance name template, from the id.
pub(crate) fn instance_name(server: &Server) -> String {
    format!("instance-{}", &server.id.simple().to_string()[..8])
}

/// Nova's `hostId`: SHA-224 of the project id and the host, hex; it tells
/// a project which of its servers share a host without naming the host.
fn host_id(project: &str) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let mut hasher = sha2::Sha224::new();
    hasher.update(project.as_bytes());
    hasher.update(HOST.as_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
