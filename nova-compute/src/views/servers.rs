//! The server views: Nova's `views/servers.py`. A server's body at a
//! microversion is a function of the stored record, the caller and the
//! time ([`show`], [`basic`]); which parts an answer carries is what
//! [`Parts`] says, as Nova's `show(…, show_AZ=…, …)` flags do.

use nova_controller::Timestamp;
use serde_json::{json, Map, Value};

use crate::api::Call;
use crate::lookup::{details_of, project_of};
use crate::policy::{self, Rule};
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

/// The full view of `server` at `now`, as `parts` says.
pub(crate) fn show(
    api: &ComputeApi,
    call: &Call,
    server: &Server,
    now: Timestamp,
    parts: Parts,
) -> Value {
    let details = details_of(api, server);
    let state = details.lifecycle().at(now).clone();
    let deleted = server.deleted_at.is_some() && state.vm_state == vm_state::DELETED;
    let status = if deleted { "DELETED" } else { state.status() };
    let id = server.id.to_string();
    let project = project_of(api, server);
    let mut view = Map::new();
    let mut put = |key: &str, value: Value| {
        view.insert(key.to_owned(), value);
    };
    put("id", json!(id));
    put("name", json!(server.name));
    put("status", json!(status));
    put("tenant_id", json!(project));
    put("user_id", json!(details.user_id));
    put("metadata", json!(details.metadata));
    put("hostId", json!(host_id(project)));
    put("image", image(call, &details));
    put("flavor", flavor(call, project, &details));
    put("created", json!(server.created_at.to_seconds_string()));
    put(
        "updated",
        json!(crate::lookup::last_changed(server, &details, now).to_seconds_string()),
    );
    put(
        "addresses",
        if state.vm_state == vm_state::BUILDING {
            json!({})
        } else {
            addresses(&details, parts.extend_address)
        },
    );
    put("accessIPv4", json!(details.access_ipv4));
    put("accessIPv6", json!(details.access_ipv6));
    put("links", links(call, "servers", &id));
    put("OS-DCF:diskConfig", json!("MANUAL"));
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
            put("fault", body);
        }
    }
    if matches!(
        status,
        "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
    ) {
        put("progress", json!(0));
    }
    if parts.az {
        put(
            "OS-EXT-AZ:availability_zone",
            json!(details.availability_zone),
        );
    }
    if parts.config_drive {
        put(
            "config_drive",
            json!(if details.config_drive { "True" } else { "" }),
        );
    }
    if parts.key_name {
        put("key_name", json!(details.key_name));
    }
    if parts.usage {
        // Stored when the operation began; shown once it has happened.
        let happened = |at: Option<Timestamp>| at.filter(|at| *at <= now);
        put(
            "OS-SRV-USG:launched_at",
            usage_time(happened(details.launched_at)),
        );
        put(
            "OS-SRV-USG:terminated_at",
            usage_time(happened(details.terminated_at)),
        );
    }
    if parts.security_groups {
        let groups: Vec<Value> = details
            .security_groups
            .iter()
            .map(|name| json!({ "name": name }))
            .collect();
        put("security_groups", json!(groups));
    }
    let admin_attributes =
        parts.admin_attributes && policy::allows(call, Rule::ExtendedServerAttributes, project);
    if admin_attributes {
        put("OS-EXT-SRV-ATTR:host", json!(HOST));
        put(
            "OS-EXT-SRV-ATTR:instance_name",
            json!(instance_name(server)),
        );
        put("OS-EXT-SRV-ATTR:hypervisor_hostname", json!(HOST));
        if call.at_least(2, 3) {
            put("OS-EXT-SRV-ATTR:hostname", json!(details.hostname));
            put("OS-EXT-SRV-ATTR:kernel_id", json!(""));
            put("OS-EXT-SRV-ATTR:launch_index", json!(details.launch_index));
            put("OS-EXT-SRV-ATTR:ramdisk_id", json!(""));
            put(
                "OS-EXT-SRV-ATTR:reservation_id",
                json!(details.reservation_id),
            );
            put("OS-EXT-SRV-ATTR:root_device_name", json!("/dev/vda"));
            if parts.user_data {
                put("OS-EXT-SRV-ATTR:user_data", json!(details.user_data));
            }
        }
    }
    if parts.extended_status {
        put("OS-EXT-STS:task_state", json!(state.task_state));
        put("OS-EXT-STS:vm_state", json!(state.vm_state));
        put("OS-EXT-STS:power_state", json!(state.power_state));
    }
    if parts.volumes {
        put("os-extended-volumes:volumes_attached", json!([]));
    }
    if call.at_least(2, 9) {
        put("locked", json!(details.lock.is_some()));
    }
    if call.at_least(2, 16)
        && parts.admin_attributes
        && policy::allows(call, Rule::ServersShowHostStatus, project)
    {
        put("host_status", json!("UP"));
    }
    if call.at_least(2, 19) {
        put("description", json!(details.description));
    }
    if call.at_least(2, 26) {
        put("tags", json!(details.tags));
    }
    if call.at_least(2, 63) {
        put(
            "trusted_image_certificates",
            json!(details.trusted_image_certificates),
        );
    }
    if parts.server_groups {
        put("server_groups", json!([]));
    }
    if call.at_least(2, 73) {
        put(
            "locked_reason",
            json!(details.lock.as_ref().and_then(|l| l.reason.clone())),
        );
    }
    if call.at_least(2, 90) && !admin_attributes {
        put("OS-EXT-SRV-ATTR:hostname", json!(details.hostname));
    }
    if parts.az && call.at_least(2, 96) {
        put(
            "pinned_availability_zone",
            json!(details.requested_availability_zone),
        );
    }
    if call.at_least(2, 100) {
        put("scheduler_hints", json!(details.scheduler_hints));
    }
    Value::Object(view)
}

/// `{"id", "links"}` of the image, with (2.98) its properties; `""` for a
/// server built from a volume.
fn image(call: &Call, details: &ServerDetails) -> Value {
    if details.image_id.is_empty() {
        return json!("");
    }
    let mut image = json!({
        "id": details.image_id,
        "links": [{"rel": "bookmark", "href": call.bookmark_link("images", &details.image_id)}],
    });
    if call.at_least(2, 98) {
        image["properties"] = json!({});
    }
    image
}

/// The flavor by id and link before 2.47, embedded from 2.47 (its
/// `extra_specs` where their rule lets the caller see them, for a server
/// of `project`).
fn flavor(call: &Call, project: &str, details: &ServerDetails) -> Value {
    let flavor = &details.flavor;
    if call.at_least(2, 47) {
        let mut embedded = json!({
            "vcpus": flavor.vcpus,
            "ram": flavor.ram,
            "disk": flavor.disk,
            "ephemeral": flavor.ephemeral,
            "swap": flavor.swap,
            "original_name": flavor.name,
        });
        if policy::allows(call, Rule::ServersShowFlavorExtraSpecs, project) {
            embedded["extra_specs"] = json!(flavor.extra_specs);
        }
        embedded
    } else {
        json!({
            "id": flavor.id,
            "links": [{"rel": "bookmark", "href": call.bookmark_link("flavors", &flavor.id)}],
        })
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
fn usage_time(at: Option<Timestamp>) -> Value {
    match at {
        None => Value::Null,
        Some(at) => {
            let text = at.to_string();
            let text = text.trim_end_matches('Z');
            let text = text.strip_suffix(".000000").unwrap_or(text);
            json!(text)
        }
    }
}

/// `instance-0000abcd`: Nova's instance name template, from the id.
pub(crate) fn instance_name(server: &Server) -> String {
    format!("instance-{}", &server.id.simple().to_string()[..8])
}

/// Nova's `hostId`: SHA-224 of the project id and the host, hex; it tells
/// a project which of its servers share a host without naming the host.
fn host_id(project: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha224::digest(format!("{project}{HOST}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
