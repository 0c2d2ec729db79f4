//! A request's id as a typed request extension, written by the
//! `request_id` filter (nova-filters) and read by whoever records it: the
//! log, and the compute API's `os-instance-actions`.

use std::fmt;

use uuid::Uuid;

use crate::Request;

/// What every request id starts with.
const PREFIX: &str = "req-";

/// A request's id, `req-<uuid v4>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// A fresh id.
    pub fn generate() -> Self {
        // Written into a buffer of its exact size rather than through
        // `format!`: every request of a pipeline with ids gets one.
        let mut text = String::with_capacity(PREFIX.len() + uuid::fmt::Hyphenated::LENGTH);
        text.push_str(PREFIX);
        let mut buffer = Uuid::encode_buffer();
        text.push_str(Uuid::new_v4().hyphenated().encode_lower(&mut buffer));
        RequestId(text)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id the `request_id` filter gave `req`, if it ran.
    pub fn of(req: &Request) -> Option<&RequestId> {
        req.extensions().get::<RequestId>()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
