//! A minimal image service (Glance v2), to be written.

/// The image service application.
#[derive(Debug, Clone)]
pub struct ImageServiceApp;
