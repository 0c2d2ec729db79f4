//! Nova's `nova/api/validation/parameter_types.py`: the schema pieces
//! every resource's schemas are built from, written once.

use serde_json::{json, Value};

/// `name`: printable, no white space at either end, 1–255 characters.
pub(crate) fn name() -> Value {
    json!({"type": "string", "format": "name", "minLength": 1, "maxLength": 255})
}

/// `name_with_leading_trailing_spaces`: the 2.0 compatibility name.
pub(crate) fn name_v20() -> Value {
    json!({"type": "string", "format": "name_with_leading_trailing_spaces", "minLength": 1, "maxLength": 255})
}

/// `metadata`: keys of `[a-zA-Z0-9-_:. ]{1,255}`, string values up to 255.
pub(crate) fn metadata() -> Value {
    json!({
        "type": "object",
        "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
        "additionalProperties": false,
    })
}

/// `boolean`: a JSON boolean or one of the strings Nova reads as one.
pub(crate) fn boolean() -> Value {
    json!({"type": ["boolean", "string"], "enum": [true, "True", "TRUE", "true", "1", "ON", "On", "on",
        "YES", "Yes", "yes", false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]})
}

/// `positive_integer`: an integer, or a string of digits, at least 1.
pub(crate) fn positive_integer() -> Value {
    json!({"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1})
}

/// `description`: printable text up to 255 characters, or null.
pub(crate) fn description() -> Value {
    json!({"type": ["string", "null"], "pattern": "^[^\\x00-\\x1f\\x7f]*$", "minLength": 0, "maxLength": 255})
}

/// `tag`: 1–60 characters without `,` or `/`.
pub(crate) fn tag() -> Value {
    json!({"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60})
}

/// `ip_address`: an IPv4 or IPv6 address.
pub(crate) fn ip_address() -> Value {
    json!({"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
}

/// `hostname`: an RFC 952/1123 host label, 2–63 characters.
pub(crate) fn hostname() -> Value {
    json!({"type": "string", "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$", "minLength": 2, "maxLength": 63})
}

/// `fqdn`: a host name with dots, 1–255 characters.
pub(crate) fn fqdn() -> Value {
    json!({"type": "string", "pattern": "^[a-zA-Z0-9-._]*$", "minLength": 1, "maxLength": 255})
}

/// `trusted_certs`: 1–50 distinct non-empty strings, or null.
pub(crate) fn trusted_certs() -> Value {
    json!({"type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": true,
        "items": {"type": "string", "minLength": 1}})
}
