//! Request validation, apart from the controllers, one module per
//! resource (Nova's `nova/api/openstack/compute/schemas/`), each per
//! microversion.
//!
//! Nova validates every body and query against a JSON schema and answers
//! the first failure in Python jsonschema's words, wrapped as
//! `Invalid input for field/attribute NAME. Value: VALUE. MESSAGE`. The
//! schemas here are Nova's, checked by the `jsonschema` crate; this module
//! turns its errors into Nova's wording, values shown as Python shows them.

pub(crate) mod instance_actions;
pub(crate) mod keypairs;
pub(crate) mod metadata;
pub(crate) mod parameter_types;
pub(crate) mod query;
pub(crate) mod quota_sets;
pub(crate) mod server_actions;
pub(crate) mod server_tags;
pub(crate) mod servers;
mod string_bounds;

use serde_json::Value;

use crate::ComputeError;

/// A compiled schema with Nova's formats.
pub(crate) struct Schema {
    validator: jsonschema::Validator,
    /// The schema itself, for the words of messages that name its parts.
    source: Value,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schema")
    }
}

/// The message Nova's `InvalidName` gives for a name of printable
/// characters that starts or ends with white space.
const INVALID_NAME: &str = "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.";

impl Schema {
    /// Compiles `schema` (one of ours, so it is valid: a failure is a bug
    /// in this crate and is reported as one at the first request).
    pub(crate) fn new(schema: &Value) -> Result<Schema, String> {
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .with_format("name", valid_name)
            .with_format("name_with_leading_trailing_spaces", |s: &str| {
                s.chars().any(|c| !c.is_whitespace()) && s.chars().all(is_printable)
            })
            .with_format("az_name", |s: &str| valid_name(s) && !s.contains(':'))
            .with_format("uuid", |s: &str| uuid::Uuid::try_parse(s).is_ok())
            .with_format("base64", valid_base64)
            .with_format("date-time", |s: &str| {
                s.parse::<nova_controller::Timestamp>().is_ok() || naive_date_time(s)
            })
            .with_keyword(string_bounds::KEYWORD, string_bounds::factory)
            .build(&string_bounds::mark(schema))
            .map_err(|error| error.to_string())?;
        Ok(Schema {
            validator,
            source: schema.clone(),
        })
    }

    /// Checks a request body: `Ok` or the 400 Nova would answer.
    pub(crate) fn check_body(&self, body: &Value) -> Result<(), ComputeError> {
        self.check(body, "field/attribute")
    }

    /// Checks query parameters, given as an object of name → list of
    /// values (how Nova's query schemas see them).
    pub(crate) fn check_query(&self, query: &Value) -> Result<(), ComputeError> {
        self.check(query, "query parameters")
    }

    fn check(&self, instance: &Value, what: &str) -> Result<(), ComputeError> {
        // Python's jsonschema stops at the first failure in the order the
        // schema's keywords are written, which Nova writes the same way
        // everywhere (type, properties, required, additionalProperties).
        let Some(error) = self
            .validator
            .iter_errors(instance)
            .min_by_key(|error| schema_order(error.schema_path.as_str()))
        else {
            return Ok(());
        };
        if let jsonschema::error::ValidationErrorKind::Format { format } = &error.kind {
            if format == "name" || format == "az_name" {
                return Err(ComputeError::BadRequest(INVALID_NAME.to_owned()));
            }
        }
        let message = match &error.kind {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => self
                .unmatched_patterns(error.schema_path.as_str(), unexpected)
                .unwrap_or_else(|| python_message(&error.kind, &error.instance)),
            kind => python_message(kind, &error.instance),
        };
        let pointer = error.instance_path.as_str();
        let detail = if pointer.is_empty() {
            message
        } else {
            // Nova names the innermost field for a body, the parameter
            // (the outermost) for a query.
            let mut segments = pointer.split('/').skip(1).map(unescape);
            let field = if what == "query parameters" {
                segments.next()
            } else {
                segments.last()
            };
            format!(
                "Invalid input for {what} {}. Value: {}. {message}",
                field.unwrap_or_default(),
                python_repr_plain(&error.instance)
            )
        };
        Err(ComputeError::BadRequest(detail))
    }
}

impl Schema {
    /// Python's message for properties refused by `additionalProperties:
    /// false` beside `patternProperties`: `'bad/key' does not match any
    /// of the regexes: '^…$'`; `None` where the schema has no patterns.
    fn unmatched_patterns(&self, schema_path: &str, unexpected: &[String]) -> Option<String> {
        let parent = schema_path.strip_suffix("/additionalProperties")?;
        let patterns = self
            .source
            .pointer(parent)?
            .get("patternProperties")?
            .as_object()?;
        let mut extras: Vec<&String> = unexpected.iter().collect();
        extras.sort();
        let extras: Vec<String> = extras.iter().map(|e| format!("'{e}'")).collect();
        let patterns: Vec<String> = patterns.keys().map(|p| format!("'{p}'")).collect();
        let verb = if extras.len() == 1 { "does" } else { "do" };
        Some(format!(
            "{} {verb} not match any of the regexes: {}",
            extras.join(", "),
            patterns.join(", ")
        ))
    }
}

/// Where a failure's keyword stands in Nova's way of writing schemas:
/// compared segment by segment, the smallest is the failure Python's
/// jsonschema would report first.
fn schema_order(schema_path: &str) -> Vec<u8> {
    schema_path
        .split('/')
        .skip(1)
        .map(|segment| match segment {
            "type" => 0,
            "enum" | "const" | "format" | "pattern" | "minLength" | "maxLength" | "minimum"
            | "maximum" | "minItems" | "maxItems" | "uniqueItems" | "minProperties"
            | "maxProperties" => 1,
            // After `pattern`: Nova's schemas that bound a string also
            // give its pattern, which Python's jsonschema checks first.
            string_bounds::KEYWORD => 2,
            "properties" | "patternProperties" | "items" => 3,
            "required" => 4,
            "additionalProperties" => 5,
            "oneOf" | "anyOf" | "allOf" => 6,
            _ => 0,
        })
        .collect()
}

/// A JSON pointer segment unescaped.
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Python jsonschema's message for one failure.
fn python_message(kind: &jsonschema::error::ValidationErrorKind, instance: &Value) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let shown = python_repr(instance);
    match kind {
        K::Required { property } => format!("{} is a required property", python_repr(property)),
        K::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| format!("'{n}'")).collect();
            let verb = if names.len() == 1 { "was" } else { "were" };
            format!(
                "Additional properties are not allowed ({} {verb} unexpected)",
                names.join(", ")
            )
        }
        K::Type { kind } => {
            let types: Vec<String> = match kind {
                TypeKind::Single(t) => vec![format!("'{t}'")],
                TypeKind::Multiple(set) => set.iter().map(|t| format!("'{t}'")).collect(),
            };
            format!("{shown} is not of type {}", types.join(", "))
        }
        K::MaxLength { limit: 0 } | K::MaxItems { limit: 0 } => {
            format!("{shown} is expected to be empty")
        }
        K::MaxLength { .. } | K::MaxItems { .. } => format!("{shown} is too long"),
        K::MaxProperties { .. } => format!("{shown} has too many properties"),
        K::MinLength { limit: 1 } | K::MinItems { limit: 1 } | K::MinProperties { limit: 1 } => {
            format!("{shown} should be non-empty")
        }
        K::MinLength { .. } | K::MinItems { .. } => format!("{shown} is too short"),
        K::MinProperties { .. } => format!("{shown} does not have enough properties"),
        K::Pattern { pattern } => format!("{shown} does not match '{pattern}'"),
        K::Enum { options } => format!("{shown} is not one of {}", python_repr(options)),
        K::Minimum { limit } => {
            format!("{shown} is less than the minimum of {}", python_repr(limit))
        }
        K::Maximum { limit } => {
            format!(
                "{shown} is greater than the maximum of {}",
                python_repr(limit)
            )
        }
        K::OneOfNotValid { .. } | K::AnyOf { .. } => {
            format!("{shown} is not valid under any of the given schemas")
        }
        K::OneOfMultipleValid { .. } => {
            format!("{shown} is valid under each of the given schemas")
        }
        K::Format { format } => format!("{shown} is not a '{format}'"),
        K::UniqueItems => format!("{shown} has non-unique elements"),
        // string_bounds's own, already in Python's words.
        K::Custom { message } => message.clone(),
        other => format!("{shown} is not valid: {other:?}"),
    }
}

/// A value as Python's `repr` shows it: `'text'`, `True`, `None`,
/// `{'a': 1}`, `['x']`.
pub(crate) fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// A value as Python's `%s` shows it: a string bare, anything else as
/// its `repr`.
pub(crate) fn python_repr_plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn is_printable(c: char) -> bool {
    !c.is_control()
}

/// Nova's `valid_name_regex`: printable characters, not starting or
/// ending with white space.
fn valid_name(s: &str) -> bool {
    s.chars().all(is_printable)
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
}

/// Standard base64 with padding, as Python's `base64.b64decode` with
/// `validate=True` reads it.
fn valid_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() % 4 != 0 {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|b| **b == b'=').count();
    padding <= 2
        && bytes[..bytes.len() - padding]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// ISO 8601 without a zone (`2026-12-01T12:00:00`), which Nova's
/// `iso8601` reads as UTC.
fn naive_date_time(s: &str) -> bool {
    format!("{s}Z")
        .parse::<nova_controller::Timestamp>()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(&json!({
            "type": "object",
            "properties": {
                "server": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "format": "name", "minLength": 1, "maxLength": 5},
                        "min_count": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1},
                        "kind": {"type": "string", "enum": ["a", "b"]},
                    },
                    "required": ["name"],
                    "additionalProperties": false,
                },
            },
            "required": ["server"],
            "additionalProperties": false,
        }))
        .unwrap()
    }

    fn message(body: Value) -> String {
        match schema().check_body(&body) {
            Err(ComputeError::BadRequest(message)) => message,
            other => panic!("{body} gave {other:?}"),
        }
    }

    #[test]
    fn failures_read_as_novas_jsonschema_messages() {
        assert_eq!(message(json!({})), "'server' is a required property");
        assert_eq!(
            message(json!({"server": {}})),
            "Invalid input for field/attribute server. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            message(json!({"server": {"name": "a", "x": 1}})),
            "Invalid input for field/attribute server. Value: {'name': 'a', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            message(json!({"server": {"name": 7}})),
            "Invalid input for field/attribute name. Value: 7. 7 is not of type 'string'"
        );
        assert_eq!(
            message(json!({"server": {"name": "abcdef"}})),
            "Invalid input for field/attribute name. Value: abcdef. 'abcdef' is too long"
        );
        assert_eq!(message(json!({"server": {"name": " a"}})), INVALID_NAME);
        assert_eq!(
            message(json!({"server": {"name": "a", "kind": "c"}})),
            "Invalid input for field/attribute kind. Value: c. 'c' is not one of ['a', 'b']"
        );
        assert_eq!(
            message(json!({"server": {"name": "a", "min_count": "x"}})),
            "Invalid input for field/attribute min_count. Value: x. 'x' does not match '^[0-9]*$'"
        );
        assert!(schema()
            .check_body(&json!({"server": {"name": "ok", "min_count": 2}}))
            .is_ok());
    }

    #[test]
    fn base64_is_checked_as_python_decodes_it() {
        assert!(valid_base64("aGVsbG8="));
        assert!(valid_base64(""));
        assert!(!valid_base64("aGVsbG8"));
        assert!(!valid_base64("a==="));
    }
}
