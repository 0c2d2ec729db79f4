//! Nova's one change to JSON Schema: `minimum` and `maximum` also bound a
//! string that holds a number (`"-5"`), as Nova's `_SchemaValidator`
//! checks them. Standard JSON Schema ignores both keywords for strings,
//! so a quota of `"-702765072551"` would pass a schema that allows
//! integers from -1, and be stored.
//!
//! [`mark`] adds the keyword [`KEYWORD`] beside every `minimum` or
//! `maximum` of a schema; [`factory`] builds its check, which reads the
//! bounds from the same schema object and applies them to numeric
//! strings only (numbers are the standard keywords' business).

use jsonschema::paths::{LazyLocation, Location};
use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

/// The custom keyword's name.
pub(super) const KEYWORD: &str = "x-nova-string-bounds";

/// `schema` with [`KEYWORD`] beside every `minimum` and `maximum`.
pub(super) fn mark(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut marked: Map<String, Value> = map
                .iter()
                .map(|(key, value)| (key.clone(), mark(value)))
                .collect();
            if map.contains_key("minimum") || map.contains_key("maximum") {
                marked.insert(KEYWORD.to_owned(), Value::Bool(true));
            }
            Value::Object(marked)
        }
        Value::Array(items) => Value::Array(items.iter().map(mark).collect()),
        other => other.clone(),
    }
}

/// The check of one schema object's bounds on numeric strings.
struct StringBounds {
    minimum: Option<f64>,
    maximum: Option<f64>,
    /// Where the keyword stands, which orders its failure among others.
    location: Location,
}

/// Builds [`KEYWORD`]'s check from the schema object it stands in. The
/// signature is the jsonschema crate's, its large error type included.
#[allow(clippy::result_large_err)]
pub(super) fn factory<'a>(
    parent: &'a Map<String, Value>,
    _value: &'a Value,
    location: Location,
) -> Result<Box<dyn Keyword>, ValidationError<'a>> {
    Ok(Box::new(StringBounds {
        minimum: parent.get("minimum").and_then(Value::as_f64),
        maximum: parent.get("maximum").and_then(Value::as_f64),
        location,
    }))
}

/// The number a string holds, as Nova's `_number_from_str` reads it
/// (an integer, else a float); `None` for any other value.
fn number_in(instance: &Value) -> Option<f64> {
    let text = instance.as_str()?.trim();
    text.parse::<i64>()
        .map(|n| n as f64)
        .ok()
        .or_else(|| text.parse::<f64>().ok().filter(|n| n.is_finite()))
}

/// A bound as Python prints it: `-1`, not `-1.0`.
fn shown(bound: f64) -> String {
    if bound.fract() == 0.0 && bound.abs() < 1e15 {
        format!("{}", bound as i64)
    } else {
        bound.to_string()
    }
}

impl StringBounds {
    /// Python jsonschema's words for the bound `number` breaks, if any.
    fn broken(&self, text: &str, number: f64) -> Option<String> {
        if let Some(minimum) = self.minimum.filter(|minimum| number < *minimum) {
            return Some(format!(
                "{text} is less than the minimum of {}",
                shown(minimum)
            ));
        }
        self.maximum
            .filter(|maximum| number > *maximum)
            .map(|maximum| format!("{text} is greater than the maximum of {}", shown(maximum)))
    }
}

impl Keyword for StringBounds {
    fn validate<'i>(
        &self,
        instance: &'i Value,
        location: &LazyLocation<'_, '_>,
    ) -> Result<(), ValidationError<'i>> {
        let Some(number) = number_in(instance) else {
            return Ok(());
        };
        let text = instance.as_str().unwrap_or_default().trim();
        match self.broken(text, number) {
            None => Ok(()),
            Some(message) => Err(ValidationError::custom(
                self.location.clone(),
                location.into(),
                instance,
                message,
            )),
        }
    }

    fn is_valid(&self, instance: &Value) -> bool {
        number_in(instance).is_none_or(|number| {
            let text = instance.as_str().unwrap_or_default();
            self.broken(text, number).is_none()
        })
    }
}
