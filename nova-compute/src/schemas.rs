//! Request validation, apart from the controllers, one module per
//! resource (Nova's `nova/api/openstack/compute/schemas/`), each per
//! microversion, with Nova's JSON-schema error wording.

pub(crate) mod servers;
