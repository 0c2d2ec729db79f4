//! Quotas: what a project may still create (to be written).
