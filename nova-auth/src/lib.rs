//! The token filter of nova-rs: the part of the pipeline that `auth.py` is in
//! the seed.
//!
//! [`AuthFilter`] wraps any [`NovaService`]. A request whose `X-Auth-Token`
//! header is missing or not one of the accepted tokens is answered
//! 403 `forbidden` and never reaches the wrapped service; every other request
//! is passed on untouched. Tokens are compared in constant time, and neither
//! the filter nor [`Tokens`] ever prints a token (its `Debug` output is
//! redacted).
//!
//! [`KeystoneFilter`] is the filter for a cloud with an identity service:
//! keystonemiddleware's `authtoken` and Nova's `keystonecontext` together.
//! It has a [`TokenValidator`] check the token, answers 401 as
//! keystonemiddleware does when it fails, and otherwise hands the caller on
//! as a [`RequestContext`](nova_router::RequestContext).
//!
//! # Using it in another service
//!
//! ```
//! use nova_auth::{AuthFilter, Tokens};
//! use nova_router::{service_fn, Request, Service};
//!
//! let app = service_fn(|_req: Request| async { http::Response::new("secret".into()) });
//! let tokens = Tokens::new(["s3cret-token"]).unwrap();
//! let protected = AuthFilter::new(app, tokens);
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let anonymous = http::Request::get("/").body(Default::default()).unwrap();
//! assert_eq!(protected.call(anonymous).await.unwrap().status(), 403);
//!
//! let known = http::Request::get("/")
//!     .header("X-Auth-Token", "s3cret-token")
//!     .body(Default::default())
//!     .unwrap();
//! assert_eq!(protected.call(known).await.unwrap().status(), 200);
//! # });
//! ```

mod keystone;
#[cfg(test)]
mod log_capture;
mod validator;

pub use keystone::{check_identity_uri, IdentityUriError, KeystoneFilter};
pub use validator::{InvalidToken, ProjectScope, TokenValidator, ValidToken, ValidationFuture};

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderName, StatusCode};
use nova_router::{
    ready, serialized_json_response, Fault, NovaService, Request, Response, ResponseFuture, Service,
};
use subtle::ConstantTimeEq;

/// The header the seed's filter reads.
pub const AUTH_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-auth-token");

/// The token the seed accepts, used when nothing else is configured.
pub const DEFAULT_TOKEN: &str = "open-sesame";

/// What [`AuthFilter`] tells a client it refuses.
const FORBIDDEN_MESSAGE: &str = "a valid X-Auth-Token header is required";

/// The body of [`AuthFilter`]'s 403, the same for every refusal: serialised
/// once, and kept where a response can borrow it without copying or
/// counting references, since refusing is the whole of the filter's work on
/// a request without a token.
static FORBIDDEN_BODY: OnceLock<Bytes> = OnceLock::new();

/// [`AuthFilter`]'s answer to a request it refuses.
fn forbidden() -> Response {
    let body = FORBIDDEN_BODY.get_or_init(|| {
        Fault::forbidden(FORBIDDEN_MESSAGE)
            .into_response()
            .into_body()
    });
    serialized_json_response(StatusCode::FORBIDDEN, Bytes::from_static(body.as_ref()))
}

/// Why a set of tokens was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token was given, so no request could ever pass.
    #[error("at least one token must be accepted")]
    Empty,
    /// A token is the empty string, which would let a bare header through.
    #[error("token {position} is empty")]
    EmptyToken {
        /// Its position in the list, from 1.
        position: usize,
    },
    /// A token has characters an HTTP header value cannot carry, so no
    /// client could ever send it.
    #[error("token {position} has characters a header cannot carry")]
    NotHeaderSafe {
        /// Its position in the list, from 1.
        position: usize,
    },
}

/// The accepted tokens.
///
/// Its `Debug` output never shows them.
#[derive(Clone)]
pub struct Tokens {
    accepted: Arc<[Box<[u8]>]>,
}

impl Tokens {
    /// Accepts each of `tokens`.
    pub fn new<I, T>(tokens: I) -> Result<Self, TokenError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let mut accepted = Vec::new();
        for (index, token) in tokens.into_iter().enumerate() {
            let token = token.as_ref();
            let position = index + 1;
            if token.is_empty() {
                return Err(TokenError::EmptyToken { position });
            }
            // Visible ASCII only: what `HeaderValue::to_str` accepts without
            // surrounding whitespace, which proxies would strip.
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(TokenError::NotHeaderSafe { position });
            }
            accepted.push(token.as_bytes().into());
        }
        if accepted.is_empty() {
            return Err(TokenError::Empty);
        }
        Ok(Tokens {
            accepted: accepted.into(),
        })
    }

    /// Whether `presented` is one of the accepted tokens.
    ///
    /// Every accepted token is compared, each in constant time, so the time
    /// taken does not tell which token or how much of one matched.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let mut matched = subtle::Choice::from(0);
        for token in self.accepted.iter() {
            matched |= token.as_ref().ct_eq(presented);
        }
        matched.into()
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.accepted.len()
    }

    /// Always false: a `Tokens` holds at least one token.
    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }
}

impl Default for Tokens {
    /// The seed's single token, `open-sesame`.
    fn default() -> Self {
        Tokens {
            accepted: vec![DEFAULT_TOKEN.as_bytes().into()].into(),
        }
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} redacted)", self.accepted.len())
    }
}

/// The filter: answers 403 unless the request carries an accepted
/// `X-Auth-Token`, and otherwise calls the wrapped service.
#[derive(Debug, Clone)]
pub struct AuthFilter<S> {
    inner: S,
    tokens: Tokens,
}

impl<S> AuthFilter<S> {
    /// Protects `inner` with `tokens`.
    pub fn new(inner: S, tokens: Tokens) -> Self {
        AuthFilter { inner, tokens }
    }

    fn is_authorized(&self, req: &Request) -> bool {
        // One header, exactly: several would leave it open which one counts.
        let mut values = req.headers().get_all(AUTH_TOKEN_HEADER).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => self.tokens.accepts(value.as_bytes()),
            _ => false,
        }
    }
}

impl<S: NovaService> Service<Request> for AuthFilter<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        if self.is_authorized(&req) {
            self.inner.call(req)
        } else {
            ready(forbidden())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting_app(calls: Arc<AtomicUsize>) -> impl NovaService {
        service_fn(move |_req: Request| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { http::Response::new(Bytes::from_static(b"ok")) }
        })
    }

    fn request(tokens: &[&[u8]]) -> Request {
        let mut builder = http::Request::get("/instances");
        for token in tokens {
            builder = builder.header(AUTH_TOKEN_HEADER, *token);
        }
        builder.body(Bytes::new()).unwrap()
    }

    #[tokio::test]
    async fn the_seed_token_passes_by_default() {
        let calls = Arc::new(AtomicUsize::new(0));
        let filter = AuthFilter::new(counting_app(calls.clone()), Tokens::default());
        let response = filter.call(request(&[b"open-sesame"])).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_missing_or_wrong_token_is_forbidden_and_never_reaches_the_app() {
        let calls = Arc::new(AtomicUsize::new(0));
        let filter = AuthFilter::new(counting_app(calls.clone()), Tokens::default());
        let cases: [&[&[u8]]; 6] = [
            &[],
            &[b"open-sesam"],
            &[b"open-sesame "],
            &[b"OPEN-SESAME"],
            &[b"\xffopen-sesame"],
            &[b"open-sesame", b"open-sesame"],
        ];
        for tokens in cases {
            let response = filter.call(request(tokens)).await.unwrap();
            assert_eq!(response.status(), 403, "{tokens:?}");
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["forbidden"]["code"], 403);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn any_configured_token_passes_and_the_default_no_longer_does() {
        let calls = Arc::new(AtomicUsize::new(0));
        let tokens = Tokens::new(["alpha", "beta"]).unwrap();
        let filter = AuthFilter::new(counting_app(calls.clone()), tokens);
        assert_eq!(
            filter.call(request(&[b"alpha"])).await.unwrap().status(),
            200
        );
        assert_eq!(
            filter.call(request(&[b"beta"])).await.unwrap().status(),
            200
        );
        assert_eq!(
            filter
                .call(request(&[b"open-sesame"]))
                .await
                .unwrap()
                .status(),
            403
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn unusable_token_lists_are_refused() {
        assert_eq!(
            Tokens::new(Vec::<String>::new()).unwrap_err(),
            TokenError::Empty
        );
        assert_eq!(
            Tokens::new(["ok", ""]).unwrap_err(),
            TokenError::EmptyToken { position: 2 }
        );
        assert_eq!(
            Tokens::new(["has space"]).unwrap_err(),
            TokenError::NotHeaderSafe { position: 1 }
        );
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let tokens = Tokens::new(["very-secret"]).unwrap();
        let shown = format!("{:?}", AuthFilter::new((), tokens));
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
