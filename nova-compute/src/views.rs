//! Response bodies, apart from the controllers, one module per resource
//! (Nova's `nova/api/openstack/compute/views/`): each a function of the
//! stored record, the microversion and the caller.

pub(crate) mod flavors;
pub(crate) mod instance_actions;
pub(crate) mod keypairs;
pub(crate) mod quota_sets;
pub(crate) mod servers;
