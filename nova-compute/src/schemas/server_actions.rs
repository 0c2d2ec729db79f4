//! The request schemas of `POST /servers/{id}/action`, per microversion:
//! Nova's `schemas/servers.py` (reboot, resize, rebuild, createImage),
//! `schemas/lock_server.py` and `schemas/admin_password.py`.
//!
//! The actions whose schema is `{"<action>": {}}` (`os-start`, `os-stop`,
//! `pause`, `unpause`, `suspend`, `resume`, `confirmResize`,
//! `revertResize`, and `unlock`) accept whatever value a body with that
//! one key has, so they have no schema here: the dispatcher has already
//! made sure the body is exactly that one key.

use std::sync::OnceLock;

use nova_router::ApiVersion;
use serde_json::{json, Value};

use super::parameter_types::{boolean, description, fqdn, hostname, metadata, name, trusted_certs};
use super::Schema;
use crate::ComputeError;

/// The whole body `{"<action>": <schema>}`, as Nova writes each action's.
fn body(action: &str, schema: Value) -> Value {
    json!({
        "type": "object",
        "properties": {action: schema},
        "required": [action],
        "additionalProperties": false,
    })
}

fn reboot(_: ApiVersion) -> Value {
    body(
        "reboot",
        json!({
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]},
            },
            "required": ["type"],
            "additionalProperties": false,
        }),
    )
}

fn resize(_: ApiVersion) -> Value {
    body(
        "resize",
        json!({
            "type": "object",
            "properties": {
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
            },
            "required": ["flavorRef"],
            "additionalProperties": false,
        }),
    )
}

/// Nova's `rebuild` schema at `version`: each step a copy of the one
/// before with its change, as `rebuild_v219` … `rebuild_v294` are.
fn rebuild(version: ApiVersion) -> Value {
    let at = |minor| version >= ApiVersion::new(2, minor);
    let mut rebuild = json!({
        "type": "object",
        "properties": {
            "name": name(),
            "imageRef": {"type": "string", "format": "uuid"},
            "adminPass": {"type": "string"},
            "metadata": metadata(),
            "preserve_ephemeral": boolean(),
            "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
            "accessIPv4": {"type": "string", "format": "ipv4"},
            "accessIPv6": {"type": "string", "format": "ipv6"},
            "personality": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"},
                "contents": {"type": "string", "format": "base64"},
            }, "additionalProperties": false}},
        },
        "required": ["imageRef"],
        "additionalProperties": false,
    });
    let properties = &mut rebuild["properties"];
    if at(19) {
        properties["description"] = description();
    }
    if at(54) {
        properties["key_name"] = json!({"oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 255},
            {"type": "null"},
        ]});
    }
    if at(57) {
        if let Some(properties) = properties.as_object_mut() {
            properties.remove("personality");
        }
        properties["user_data"] =
            json!({"type": ["string", "null"], "format": "base64", "maxLength": 65535});
    }
    if at(63) {
        properties["trusted_image_certificates"] = trusted_certs();
    }
    if at(90) {
        properties["hostname"] = if at(94) { fqdn() } else { hostname() };
    }
    body("rebuild", rebuild)
}

fn create_image(_: ApiVersion) -> Value {
    body(
        "createImage",
        json!({
            "type": "object",
            "properties": {"name": name(), "metadata": metadata()},
            "required": ["name"],
            "additionalProperties": false,
        }),
    )
}

fn change_password(_: ApiVersion) -> Value {
    body(
        "changePassword",
        json!({
            "type": "object",
            "properties": {"adminPass": {"type": "string"}},
            "required": ["adminPass"],
            "additionalProperties": false,
        }),
    )
}

/// `lock` takes anything before 2.73, then `null` or an object with an
/// optional `locked_reason`.
fn lock(version: ApiVersion) -> Value {
    if version >= ApiVersion::new(2, 73) {
        body(
            "lock",
            json!({
                "type": ["object", "null"],
                "properties": {"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}},
                "additionalProperties": false,
            }),
        )
    } else {
        body("lock", json!({}))
    }
}

/// One action's schemas: the minor versions at which it changes and how
/// to build it at a version.
struct Steps {
    minors: &'static [u16],
    build: fn(ApiVersion) -> Value,
}

const REBOOT: Steps = Steps {
    minors: &[1],
    build: reboot,
};
const RESIZE: Steps = Steps {
    minors: &[1],
    build: resize,
};
const REBUILD: Steps = Steps {
    minors: &[1, 19, 54, 57, 63, 90, 94],
    build: rebuild,
};
const CREATE_IMAGE: Steps = Steps {
    minors: &[1],
    build: create_image,
};
const CHANGE_PASSWORD: Steps = Steps {
    minors: &[1],
    build: change_password,
};
const LOCK: Steps = Steps {
    minors: &[1, 73],
    build: lock,
};

type Compiled = OnceLock<Vec<Result<Schema, String>>>;

fn check(
    cell: &'static Compiled,
    steps: &Steps,
    version: ApiVersion,
    body: &Value,
) -> Result<(), ComputeError> {
    let all = cell.get_or_init(|| {
        steps
            .minors
            .iter()
            .map(|minor| Schema::new(&(steps.build)(ApiVersion::new(2, *minor))))
            .collect()
    });
    let step = steps
        .minors
        .iter()
        .rposition(|minor| version >= ApiVersion::new(2, *minor))
        .unwrap_or(0);
    match all.get(step) {
        Some(Ok(schema)) => schema.check_body(body),
        Some(Err(error)) => Err(ComputeError::Fault(nova_router::Fault::internal(format!(
            "the server action schema does not compile: {error}"
        )))),
        None => Err(ComputeError::Fault(nova_router::Fault::internal(
            "no server action schema for this version",
        ))),
    }
}

/// Checks the body of the action `action` at `version` against Nova's
/// schema for it: `Ok` for an action without one.
pub(crate) fn check_action(
    action: &str,
    version: ApiVersion,
    body: &Value,
) -> Result<(), ComputeError> {
    static REBOOT_CELL: Compiled = OnceLock::new();
    static RESIZE_CELL: Compiled = OnceLock::new();
    static REBUILD_CELL: Compiled = OnceLock::new();
    static CREATE_IMAGE_CELL: Compiled = OnceLock::new();
    static CHANGE_PASSWORD_CELL: Compiled = OnceLock::new();
    static LOCK_CELL: Compiled = OnceLock::new();
    match action {
        "reboot" => check(&REBOOT_CELL, &REBOOT, version, body),
        "resize" => check(&RESIZE_CELL, &RESIZE, version, body),
        "rebuild" => check(&REBUILD_CELL, &REBUILD, version, body),
        "createImage" => check(&CREATE_IMAGE_CELL, &CREATE_IMAGE, version, body),
        "changePassword" => check(&CHANGE_PASSWORD_CELL, &CHANGE_PASSWORD, version, body),
        "lock" => check(&LOCK_CELL, &LOCK, version, body),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u16) -> ApiVersion {
        ApiVersion::new(2, minor)
    }

    fn refused(action: &str, version: ApiVersion, body: Value) -> String {
        match check_action(action, version, &body) {
            Err(ComputeError::BadRequest(message)) => message,
            other => panic!("{body} at {version} gave {other:?}"),
        }
    }

    #[test]
    fn every_schema_step_compiles() {
        for steps in [
            &REBOOT,
            &RESIZE,
            &REBUILD,
            &CREATE_IMAGE,
            &CHANGE_PASSWORD,
            &LOCK,
        ] {
            for minor in steps.minors {
                Schema::new(&(steps.build)(v(*minor))).unwrap();
            }
        }
    }

    #[test]
    fn reboot_takes_one_type_in_novas_spellings() {
        for kind in ["HARD", "Soft", "soft"] {
            assert!(check_action("reboot", v(1), &json!({"reboot": {"type": kind}})).is_ok());
        }
        assert_eq!(
            refused("reboot", v(1), json!({"reboot": {"type": "SOFT", "x": 1}})),
            "Invalid input for field/attribute reboot. Value: {'type': 'SOFT', 'x': 1}. \
             Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            refused("reboot", v(1), json!({"reboot": {"type": "sOfT"}})),
            "Invalid input for field/attribute type. Value: sOfT. \
             'sOfT' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
        );
        assert_eq!(
            refused("reboot", v(1), json!({"reboot": {}})),
            "Invalid input for field/attribute reboot. Value: {}. 'type' is a required property"
        );
    }

    #[test]
    fn rebuild_fields_arrive_with_their_microversions() {
        let image = "2f0b1f5e-5b1a-4c7e-9a43-c1a05c1a05c1";
        let with = |key: &str, value: Value| {
            let mut body = json!({"rebuild": {"imageRef": image}});
            body["rebuild"][key] = value;
            body
        };
        let table = [
            ("description", json!("d"), 19),
            ("key_name", json!(null), 54),
            ("user_data", json!("aGVsbG8="), 57),
            ("trusted_image_certificates", json!(["a"]), 63),
            ("hostname", json!("web-1"), 90),
        ];
        for (key, value, minor) in table {
            let body = with(key, value);
            assert!(
                check_action("rebuild", v(minor - 1), &body).is_err(),
                "{key} before 2.{minor}"
            );
            assert!(
                check_action("rebuild", v(minor), &body).is_ok(),
                "{key} at 2.{minor}"
            );
        }
        let personality = with("personality", json!([]));
        assert!(check_action("rebuild", v(56), &personality).is_ok());
        assert!(check_action("rebuild", v(57), &personality).is_err());
        let fqdn = with("hostname", json!("web.example.com"));
        assert!(check_action("rebuild", v(93), &fqdn).is_err());
        assert!(check_action("rebuild", v(94), &fqdn).is_ok());
        assert_eq!(
            refused("rebuild", v(1), json!({"rebuild": {}})),
            "Invalid input for field/attribute rebuild. Value: {}. 'imageRef' is a required property"
        );
    }

    #[test]
    fn lock_takes_a_reason_from_2_73_only() {
        let reason = json!({"lock": {"locked_reason": "because"}});
        assert!(
            check_action("lock", v(72), &reason).is_ok(),
            "anything goes before 2.73"
        );
        assert!(check_action("lock", v(73), &reason).is_ok());
        assert!(check_action("lock", v(73), &json!({"lock": null})).is_ok());
        assert_eq!(
            refused("lock", v(73), json!({"lock": {"why": "x"}})),
            "Invalid input for field/attribute lock. Value: {'why': 'x'}. \
             Additional properties are not allowed ('why' was unexpected)"
        );
    }

    #[test]
    fn actions_without_a_schema_take_any_value() {
        assert!(check_action("os-stop", v(1), &json!({"os-stop": {"anything": 1}})).is_ok());
    }
}
