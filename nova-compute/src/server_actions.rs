//! `POST /servers/{id}/action`: reboot, stop, start, pause, … (to be written).

use nova_router::Response;

use crate::api::Call;
use crate::{ComputeApi, ComputeError};

pub(crate) async fn dispatch(_api: &ComputeApi, _call: Call) -> Result<Response, ComputeError> {
    Err(ComputeError::UnknownAction("action".to_owned()))
}
