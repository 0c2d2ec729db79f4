//! The `ips` controller (to be written).

use nova_router::Response;

use crate::api::Call;
use crate::{ComputeApi, ComputeError};

pub(crate) async fn dispatch(
    _api: &ComputeApi,
    method: &str,
    _call: Call,
) -> Result<Response, ComputeError> {
    Err(ComputeError::UnknownAction(method.to_owned()))
}
