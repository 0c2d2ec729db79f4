//! The compute application's dispatch: Nova's `APIRouterV21` behind the
//! router. It reads what the router matched (`controller.action`), builds
//! the request's [`Call`] once, and hands it to that controller; every
//! error becomes Nova's fault here.

use nova_router::{Request, Response, ResponseFuture, Service};

use crate::api::Call;
use crate::{ComputeApi, ComputeError};

impl ComputeApi {
    /// Routes `req` to the controller its routed action names.
    async fn dispatch(&self, req: Request) -> Result<Response, ComputeError> {
        let call = Call::from_request(req, &self.cloud)?;
        let action = call.args.action().to_owned();
        let (controller, method) = action.split_once('.').unwrap_or((action.as_str(), ""));
        match controller {
            "servers" if method == "action" => crate::server_actions::dispatch(self, call).await,
            "servers" => crate::servers::dispatch(self, method, call).await,
            "ips" => crate::ips::dispatch(self, method, call).await,
            "metadata" => crate::metadata::dispatch(self, method, call).await,
            "instance_actions" => crate::instance_actions::dispatch(self, method, call).await,
            "flavors" => crate::flavors::dispatch(self, method, call).await,
            "flavor_extra_specs" => crate::flavors::dispatch_extra_specs(self, method, call).await,
            "images" => crate::images::dispatch(self, method, call).await,
            "limits" => crate::limits::dispatch(self, method, call).await,
            "keypairs" => crate::keypairs::dispatch(self, method, call).await,
            "quota_sets" => crate::quota_sets::dispatch(self, method, call).await,
            "availability_zone" => crate::availability_zones::dispatch(self, method, call).await,
            "server_tags" => crate::server_tags::dispatch(self, method, call).await,
            "server_password" => crate::server_password::dispatch(self, method, call).await,
            _ => Err(ComputeError::UnknownAction(action.clone())),
        }
    }
}

impl Service<Request> for ComputeApi {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let api = self.clone();
        Box::pin(async move {
            Ok(match api.dispatch(req).await {
                Ok(response) => response,
                Err(error) => {
                    // The whole error (a driver's words included) goes to
                    // this request's log line; the client gets ours.
                    if error.status().is_server_error() {
                        tracing::error!(%error, "answering {}", error.status());
                    }
                    error.into_response()
                }
            })
        })
    }
}
