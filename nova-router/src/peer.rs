//! The address a request came from, as a typed request extension written
//! by the server's edge: for an app that serves only callers on this
//! machine (the control API answers on the loopback address alone unless
//! told otherwise).

use std::net::SocketAddr;

use crate::Request;

/// The peer address of the connection a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl PeerAddr {
    /// The address the edge recorded for `req`; `None` for a request that
    /// did not come through a socket (an in-process test).
    pub fn of(req: &Request) -> Option<SocketAddr> {
        req.extensions().get::<PeerAddr>().map(|peer| peer.0)
    }
}
