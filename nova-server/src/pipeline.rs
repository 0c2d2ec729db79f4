//! What the server serves: a pipeline in which no application ever sees a
//! body the edge refused to read.

use std::sync::Arc;

use nova_router::SharedService;

use crate::oversize::RefuseOversizeBody;

/// A pipeline ready to serve.
///
/// The edge hands requests whose body is over the server's cap down the
/// pipeline with an empty body (see the `oversize` module), so that the
/// filters in front answer them with their own headers and log line. A
/// `Pipeline` guarantees that no application acts on such a request: one
/// built from a paste.deploy file ([`AppPlan::build`](crate::AppPlan::build))
/// has each of its applications guarded; one made from any other service
/// ([`Pipeline::from_service`]) is guarded as a whole.
#[derive(Clone)]
pub struct Pipeline(SharedService);

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pipeline").finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Serves `service`, which knows nothing of the edge: a request whose
    /// body was too large to read is answered 413 `overLimit` before it
    /// reaches `service`.
    pub fn from_service(service: SharedService) -> Self {
        Pipeline(Arc::new(RefuseOversizeBody::new(service)))
    }

    /// A pipeline whose every application is already guarded.
    pub(crate) fn guarded(service: SharedService) -> Self {
        Pipeline(service)
    }

    /// The service, to call outside a server (in tests, say).
    pub fn service(&self) -> &SharedService {
        &self.0
    }
}
