//! The flavor views (to be written).
