//! Nova's `schemas/servers.py` for create, update and the listing query,
//! built per microversion the way Nova builds them: each version a copy of
//! the one before with its change applied.

use std::sync::OnceLock;

use nova_router::ApiVersion;
use serde_json::{json, Value};

use super::parameter_types::{
    boolean, description, fqdn, hostname, ip_address, metadata, name, name_v20, positive_integer,
    tag, trusted_certs,
};
use super::Schema;
use crate::ComputeError;

/// Nova's `MAX_TAG_COUNT`, `MAX_TAG_LENGTH`.
pub(crate) const MAX_TAGS: usize = 50;

fn hints() -> Value {
    json!({
        "type": "object",
        "properties": {
            "group": {"oneOf": [
                {"type": "array", "items": {"type": "string", "format": "uuid"}},
                {"type": "string", "format": "uuid"},
            ]},
            "different_host": {"oneOf": [
                {"type": "string", "format": "uuid"},
                {"type": "array", "items": {"type": "string", "format": "uuid"}},
            ]},
            "same_host": {"type": ["string", "array"], "items": {"type": "string", "format": "uuid"}},
            "query": {"type": ["string", "object"]},
            "target_cell": name(),
            "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
            "build_near_host_ip": ip_address(),
            "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
        },
        "additionalProperties": true,
    })
}

fn bdm() -> Value {
    json!({"type": "object", "properties": {
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": {"type": "string", "format": "uuid"},
        "snapshot_id": {"type": "string", "format": "uuid"},
        "volume_size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647},
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9._/-]*$"},
        "delete_on_termination": boolean(),
        "no_device": {},
        "connection_info": {"type": "string", "maxLength": 16777215},
    }, "additionalProperties": false})
}

fn bdm_v2() -> Value {
    let mut bdm = bdm();
    let extra = json!({
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9._-]*$"},
        "image_id": {"type": "string", "format": "uuid"},
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
    });
    merge(&mut bdm["properties"], extra);
    bdm
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

/// Nova's `create` schema at `version`.
fn create(version: ApiVersion) -> Value {
    let at = |minor| version >= ApiVersion::new(2, minor);
    let mut server = json!({
        "type": "object",
        "properties": {
            "name": name(),
            "imageRef": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}]},
            "flavorRef": {"type": ["string", "integer"], "minLength": 1},
            "adminPass": {"type": "string"},
            "metadata": metadata(),
            "networks": {"type": "array", "items": {"type": "object", "properties": {
                "fixed_ip": ip_address(),
                "port": {"type": ["string", "null"], "format": "uuid"},
                "uuid": {"type": "string"},
            }, "additionalProperties": false}},
            "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
            "accessIPv4": {"type": "string", "format": "ipv4"},
            "accessIPv6": {"type": "string", "format": "ipv6"},
            "personality": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"},
                "contents": {"type": "string", "format": "base64"},
            }, "additionalProperties": false}},
            "availability_zone": name(),
            "block_device_mapping": {"type": "array", "items": bdm()},
            "block_device_mapping_v2": {"type": "array", "items": bdm_v2()},
            "config_drive": boolean(),
            "key_name": name(),
            "min_count": positive_integer(),
            "max_count": positive_integer(),
            "return_reservation_id": boolean(),
            "security_groups": {"type": "array", "items": {"type": "object",
                "properties": {"name": name()}, "additionalProperties": false}},
            "user_data": {"type": "string", "format": "base64", "maxLength": 65535},
        },
        "required": ["name", "flavorRef"],
        "additionalProperties": false,
    });
    if version == ApiVersion::new(2, 0) {
        server["properties"]["name"] = name_v20();
    }
    if at(19) {
        server["properties"]["description"] = description();
    }
    if at(32) && !at(33) {
        server["properties"]["networks"]["items"]["properties"]["tag"] = tag();
        server["properties"]["block_device_mapping_v2"]["items"]["properties"]["tag"] = tag();
    }
    if at(33) {
        server["properties"]["networks"]["items"]["properties"]["tag"] = tag();
    }
    if at(37) {
        let mut item_props = json!({
            "fixed_ip": ip_address(),
            "port": {"type": ["string", "null"], "format": "uuid"},
            "uuid": {"type": "string", "format": "uuid"},
        });
        if at(42) {
            item_props["tag"] = tag();
        }
        server["properties"]["networks"] = json!({"oneOf": [
            {"type": "array", "items": {"type": "object", "properties": item_props, "additionalProperties": false}},
            {"type": "string", "enum": ["none", "auto"]},
        ]});
        if let Some(required) = server["required"].as_array_mut() {
            required.push(json!("networks"));
        }
    }
    if at(42) {
        server["properties"]["block_device_mapping_v2"]["items"]["properties"]["tag"] = tag();
    }
    if at(52) {
        server["properties"]["tags"] =
            json!({"type": "array", "items": tag(), "maxItems": MAX_TAGS});
    }
    if at(57) {
        if let Some(props) = server["properties"].as_object_mut() {
            props.remove("personality");
        }
    }
    if at(63) {
        server["properties"]["trusted_image_certificates"] = trusted_certs();
    }
    if at(67) {
        server["properties"]["block_device_mapping_v2"]["items"]["properties"]["volume_type"] =
            json!({"type": ["string", "null"], "minLength": 0, "maxLength": 255});
    }
    if at(74) {
        server["properties"]["host"] = fqdn();
        server["properties"]["hypervisor_hostname"] = fqdn();
    }
    if at(90) {
        server["properties"]["hostname"] = if at(94) { fqdn() } else { hostname() };
    }
    json!({
        "type": "object",
        "properties": {
            "server": server,
            "os:scheduler_hints": hints(),
            "OS-SCH-HNT:scheduler_hints": hints(),
        },
        "required": ["server"],
        "additionalProperties": false,
    })
}

/// Nova's `update` schema at `version`.
fn update(version: ApiVersion) -> Value {
    let at = |minor| version >= ApiVersion::new(2, minor);
    let mut server = json!({
        "type": "object",
        "properties": {
            "name": name(),
            "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
            "accessIPv4": {"type": "string", "format": "ipv4"},
            "accessIPv6": {"type": "string", "format": "ipv6"},
        },
        "additionalProperties": false,
    });
    if at(19) {
        server["properties"]["description"] = description();
    }
    if at(90) {
        server["properties"]["hostname"] = if at(94) { fqdn() } else { hostname() };
    }
    json!({
        "type": "object",
        "properties": {"server": server},
        "required": ["server"],
        "additionalProperties": false,
    })
}

/// The versions at which [`create`] changes.
const CREATE_STEPS: [u16; 13] = [1, 19, 32, 33, 37, 42, 52, 57, 63, 67, 74, 90, 94];
/// The versions at which [`update`] changes.
const UPDATE_STEPS: [u16; 4] = [1, 19, 90, 94];

fn step_for(steps: &[u16], version: ApiVersion) -> usize {
    steps
        .iter()
        .rposition(|minor| version >= ApiVersion::new(2, *minor))
        .unwrap_or(0)
}

fn compiled(
    cell: &'static OnceLock<Vec<Result<Schema, String>>>,
    steps: &[u16],
    build: fn(ApiVersion) -> Value,
    version: ApiVersion,
) -> Result<&'static Schema, ComputeError> {
    let all = cell.get_or_init(|| {
        steps
            .iter()
            .map(|minor| Schema::new(&build(ApiVersion::new(2, *minor))))
            .collect()
    });
    match all.get(step_for(steps, version)) {
        Some(Ok(schema)) => Ok(schema),
        Some(Err(error)) => Err(ComputeError::Fault(nova_router::Fault::internal(format!(
            "the server schema does not compile: {error}"
        )))),
        None => Err(ComputeError::Fault(nova_router::Fault::internal(
            "no server schema for this version",
        ))),
    }
}

/// Checks a create body at `version`.
pub(crate) fn check_create(version: ApiVersion, body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Vec<Result<Schema, String>>> = OnceLock::new();
    compiled(&CELL, &CREATE_STEPS, create, version)?.check_body(body)
}

/// Checks an update body at `version`.
pub(crate) fn check_update(version: ApiVersion, body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Vec<Result<Schema, String>>> = OnceLock::new();
    compiled(&CELL, &UPDATE_STEPS, update, version)?.check_body(body)
}

/// The sort keys Nova accepts and uses at `version` (its
/// `VALID_SORT_KEYS` without the ignored ones), and those it accepts but
/// ignores.
pub(crate) fn sort_keys(version: ApiVersion) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut valid = vec![
        "access_ip_v4",
        "access_ip_v6",
        "auto_disk_config",
        "availability_zone",
        "config_drive",
        "created_at",
        "display_description",
        "display_name",
        "host",
        "hostname",
        "image_ref",
        "instance_type_id",
        "kernel_id",
        "key_name",
        "launch_index",
        "launched_at",
        "locked_by",
        "node",
        "power_state",
        "progress",
        "project_id",
        "ramdisk_id",
        "root_device_name",
        "task_state",
        "terminated_at",
        "updated_at",
        "user_id",
        "uuid",
        "vm_state",
    ];
    let mut ignored = vec![
        "architecture",
        "cell_name",
        "cleaned",
        "default_ephemeral_device",
        "default_swap_device",
        "deleted",
        "deleted_at",
        "disable_terminate",
        "ephemeral_gb",
        "ephemeral_key_uuid",
        "id",
        "key_data",
        "launched_on",
        "locked",
        "memory_mb",
        "os_type",
        "reservation_id",
        "root_gb",
        "shutdown_terminate",
        "user_data",
        "vcpus",
        "vm_mode",
    ];
    if version >= ApiVersion::new(2, 73) {
        ignored.retain(|k| *k != "locked");
        valid.push("locked");
    }
    if version >= ApiVersion::new(2, 75) {
        ignored.clear();
    }
    (valid, ignored)
}

/// The query parameters `GET /servers` knows at `version` (Nova's
/// `index_query` properties): from 2.75 any other is 400.
pub(crate) fn known_query_params(version: ApiVersion) -> Vec<&'static str> {
    let mut known = vec![
        "user_id",
        "project_id",
        "tenant_id",
        "launch_index",
        "image_ref",
        "image",
        "kernel_id",
        "ramdisk_id",
        "hostname",
        "key_name",
        "power_state",
        "vm_state",
        "task_state",
        "host",
        "node",
        "flavor",
        "reservation_id",
        "launched_at",
        "terminated_at",
        "availability_zone",
        "name",
        "display_name",
        "description",
        "display_description",
        "locked_by",
        "uuid",
        "root_device_name",
        "config_drive",
        "access_ip_v4",
        "access_ip_v6",
        "auto_disk_config",
        "progress",
        "sort_key",
        "sort_dir",
        "all_tenants",
        "soft_deleted",
        "deleted",
        "status",
        "changes-since",
        "ip",
        "ip6",
        "created_at",
        "block_device_mapping",
        "services",
        "metadata",
        "system_metadata",
        "info_cache",
        "security_groups",
        "pci_devices",
        "limit",
        "marker",
    ];
    if version >= ApiVersion::new(2, 26) {
        known.extend(["tags", "tags-any", "not-tags", "not-tags-any"]);
    }
    if version >= ApiVersion::new(2, 66) {
        known.push("changes-before");
    }
    if version >= ApiVersion::new(2, 73) {
        known.push("locked");
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u16) -> ApiVersion {
        ApiVersion::new(2, minor)
    }

    #[test]
    fn every_schema_step_compiles() {
        for minor in CREATE_STEPS {
            Schema::new(&create(v(minor))).unwrap();
        }
        for minor in UPDATE_STEPS {
            Schema::new(&update(v(minor))).unwrap();
        }
    }

    #[test]
    fn networks_are_required_from_2_37_and_may_be_auto_or_none() {
        let body = json!({"server": {"name": "a", "flavorRef": "1", "imageRef": ""}});
        assert!(check_create(v(36), &body).is_ok());
        let Err(ComputeError::BadRequest(message)) = check_create(v(37), &body) else {
            panic!("networks is required at 2.37");
        };
        assert!(
            message.ends_with("'networks' is a required property"),
            "{message}"
        );
        let auto = json!({"server": {"name": "a", "flavorRef": "1", "networks": "auto"}});
        assert!(check_create(v(37), &auto).is_ok());
        assert!(check_create(v(36), &auto).is_err());
    }

    #[test]
    fn fields_arrive_with_their_microversions() {
        let described = json!({"server": {"name": "a", "flavorRef": 1, "description": "d"}});
        assert!(check_create(v(18), &described).is_err());
        assert!(check_create(v(19), &described).is_ok());
        let tagged =
            json!({"server": {"name": "a", "flavorRef": 1, "networks": "none", "tags": ["x"]}});
        assert!(check_create(v(51), &tagged).is_err());
        assert!(check_create(v(52), &tagged).is_ok());
        let update = json!({"server": {"description": null}});
        assert!(check_update(v(1), &update).is_err());
        assert!(check_update(v(19), &update).is_ok());
    }
}
