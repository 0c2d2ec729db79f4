//! The servers schemas (to be written).
