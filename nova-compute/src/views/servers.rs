//! The server views (to be written).
