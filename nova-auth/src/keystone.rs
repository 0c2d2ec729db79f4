//! The Keystone token filter: keystonemiddleware's `authtoken` and Nova's
//! `keystonecontext` in one stage, where Nova's `api-paste.ini` has them
//! side by side just before the API application.
//!
//! [`KeystoneFilter`] wraps any [`NovaService`]. For each request it
//!
//! 1. removes every identity header the client sent (`X-User-Id`,
//!    `X-Roles`, `X-Identity-Status`, … and their `X-Service-*` forms,
//!    keystonemiddleware's `remove_auth_headers`), under either spelling
//!    WSGI treats alike (`X-User-Id` and `X_User_Id`), so no client can
//!    forge them;
//! 2. takes the one `X-Auth-Token` header (none, an empty one or several
//!    are refused without asking the validator) and has a
//!    [`TokenValidator`] check it;
//! 3. on success stores a [`RequestContext`] (user, project, roles) as the
//!    request extension controllers read, sets keystonemiddleware's headers
//!    for anything downstream that still reads headers (`X-Identity-Status:
//!    Confirmed`, `X-User-Id`, `X-User-Name`, `X-User-Domain-Id`,
//!    `X-Project-Id`, `X-Project-Name`, `X-Project-Domain-Id`, `X-Roles`)
//!    and calls the wrapped service; a 401 coming back gets the
//!    `WWW-Authenticate` header, as keystonemiddleware's `process_response`
//!    adds it.
//!
//! # What a rejection looks like
//!
//! In Nova's pipeline (`… faultwrap … authtoken keystonecontext
//! osapi_compute_app_v21`) `authtoken` answers a bad token itself: it raises
//! `webob.exc.HTTPUnauthorized` with a JSON body inside its own
//! `webob.dec.wsgify`, which turns the exception into a response there, so
//! `faultwrap` outside it never sees an exception to turn into Nova's fault
//! shape. A client of real Nova therefore gets keystonemiddleware's body, not
//! `{"unauthorized": …}`, and that is what this filter answers, byte for
//! byte (Python's `json.dumps` spacing included):
//!
//! ```text
//! HTTP/1.1 401 Unauthorized
//! Content-Type: application/json; charset=UTF-8
//! WWW-Authenticate: Keystone uri="<the configured identity endpoint>"
//!
//! {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
//! ```
//!
//! This is the one error body in nova-rs that is not Nova's fault shape. A
//! validator that cannot reach its keys or revocation store
//! ([`InvalidToken::Unavailable`]) gets a 503 in Nova's fault shape
//! (`serviceUnavailable`), with keystonemiddleware's message.
//!
//! # Tokens without a project
//!
//! Keystone v3 tokens may be unscoped, domain- or system-scoped.
//! keystonemiddleware lets them through (it refuses a scope-less token only
//! for the v2 API), Nova's `keystonecontext` builds a context with no
//! project, and then every project-scoped API fails its policy check with a
//! 403. Every API behind this filter acts for a project, and a
//! [`RequestContext`] always has one, so this filter refuses such a token up
//! front with the 401 above ([`InvalidToken::NotProjectScoped`]) rather than
//! inventing an empty project id a controller might match.
//!
//! # What is logged
//!
//! Never the token, nor any part of it. A rejection is logged at `info`
//! with the reason only (the [`InvalidToken`] message, such as `the token
//! has expired`); an accepted token at `debug` with the user and project
//! ids.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use http::StatusCode;
use nova_router::{
    ready, Fault, NovaService, Request, RequestContext, Response, ResponseFuture, Service,
};

use crate::validator::{InvalidToken, ProjectScope, TokenValidator, ValidToken};
use crate::{Tokens, AUTH_TOKEN_HEADER};

/// keystonemiddleware's 401 body, as Python's `json.dumps` writes it.
const UNAUTHORIZED_BODY: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;

/// keystonemiddleware's message when it cannot reach Keystone.
const UNAVAILABLE_MESSAGE: &str = "The Keystone service is temporarily unavailable.";

/// Every identity header keystonemiddleware sets (or strips), lowercase:
/// `_all_auth_headers` plus `OpenStack-System-Scope`.
const IDENTITY_HEADERS: &[&str] = &[
    "x-identity-status",
    "x-service-identity-status",
    "x-service-catalog",
    "x-is-admin-project",
    "openstack-system-scope",
    // The deprecated names keystonemiddleware still fills in.
    "x-role",
    "x-user",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-roles",
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-service-roles",
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
];

/// Why an identity endpoint was refused for `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityUriError {
    /// It is not an absolute `http` or `https` URI, or has characters a
    /// quoted header parameter cannot carry.
    #[error("the identity endpoint must be an absolute http or https URI")]
    NotHttpUri,
}

/// The filter: answers 401 unless the request carries exactly one token the
/// [`TokenValidator`] accepts and that is scoped to a project; otherwise
/// stores the caller's [`RequestContext`], sets the identity headers and
/// calls the wrapped service.
///
/// Whatever identity headers the client sent never reach the wrapped
/// service.
///
/// # Using it in another service
///
/// ```
/// use std::sync::Arc;
///
/// use nova_auth::{InvalidToken, KeystoneFilter, ProjectScope, TokenValidator, ValidToken, ValidationFuture};
/// use nova_router::{service_fn, Request, RequestContext, Service};
///
/// /// Knows one token, for the example.
/// struct OneToken;
///
/// impl TokenValidator for OneToken {
///     fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
///         let verdict = if token == "gAAAAAB-example" {
///             Ok(ValidToken {
///                 user_id: "u1".into(),
///                 user_name: "alice".into(),
///                 user_domain_id: "default".into(),
///                 project: Some(ProjectScope {
///                     id: "p1".into(),
///                     name: "demo".into(),
///                     domain_id: "default".into(),
///                 }),
///                 roles: vec!["member".into()],
///             })
///         } else {
///             Err(InvalidToken::Malformed)
///         };
///         Box::pin(std::future::ready(verdict))
///     }
/// }
///
/// // The application reads who is calling from the context, never the token.
/// let app = service_fn(|req: Request| async move {
///     let project = RequestContext::of(&req).map(|c| c.project_id.clone()).unwrap_or_default();
///     http::Response::new(project.into())
/// });
/// let protected = KeystoneFilter::new(app, Arc::new(OneToken), "http://keystone.example:5000/v3").unwrap();
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let anonymous = http::Request::get("/servers").body(Default::default()).unwrap();
/// let refused = protected.call(anonymous).await.unwrap();
/// assert_eq!(refused.status(), 401);
/// assert_eq!(refused.headers()["www-authenticate"], r#"Keystone uri="http://keystone.example:5000/v3""#);
///
/// let known = http::Request::get("/servers")
///     .header("X-Auth-Token", "gAAAAAB-example")
///     .body(Default::default())
///     .unwrap();
/// let answered = protected.call(known).await.unwrap();
/// assert_eq!(answered.status(), 200);
/// assert_eq!(answered.body().as_ref(), b"p1");
/// # });
/// ```
pub struct KeystoneFilter<S> {
    inner: Arc<S>,
    validator: Arc<dyn TokenValidator>,
    www_authenticate: IdentityEndpoint,
    shared_tokens: Option<Tokens>,
}

/// Where a rejection says to get a token.
#[derive(Debug, Clone)]
enum IdentityEndpoint {
    /// A configured endpoint, its header value made once.
    Fixed(HeaderValue),
    /// This path on the host the client asked (its `Host` header): for a
    /// server that serves the identity API itself and has no configured
    /// public address.
    OnRequestHost(String),
}

impl IdentityEndpoint {
    /// The `WWW-Authenticate` value for a request sent to `host` (its
    /// `Host` header).
    fn header_value(&self, host: Option<&HeaderValue>) -> HeaderValue {
        match self {
            IdentityEndpoint::Fixed(value) => value.clone(),
            IdentityEndpoint::OnRequestHost(path) => {
                // Only a well-formed authority goes into the header; a
                // client sending garbage gets the loopback name instead.
                let host = host
                    .and_then(|value| value.to_str().ok())
                    .filter(|host| host.parse::<http::uri::Authority>().is_ok())
                    .unwrap_or("localhost");
                www_authenticate_value(&format!("http://{host}{path}")).unwrap_or_else(|_| {
                    HeaderValue::from_static("Keystone uri=\"http://localhost\"")
                })
            }
        }
    }
}

impl<S> KeystoneFilter<S> {
    /// Protects `inner` with `validator`; rejections name
    /// `www_authenticate_uri` (keystonemiddleware's option of that name,
    /// Keystone's public endpoint) as where to get a token.
    pub fn new(
        inner: S,
        validator: Arc<dyn TokenValidator>,
        www_authenticate_uri: &str,
    ) -> Result<Self, IdentityUriError> {
        Ok(KeystoneFilter {
            inner: Arc::new(inner),
            validator,
            www_authenticate: IdentityEndpoint::Fixed(www_authenticate_value(
                www_authenticate_uri,
            )?),
            shared_tokens: None,
        })
    }

    /// Also lets through requests carrying one of `tokens`, static shared
    /// secrets (the seed's filter's, keystonemiddleware's old
    /// `admin_token`), for clients that have no identity service to ask.
    /// Such a request gets no [`RequestContext`] and no identity headers
    /// (forged ones are still removed): the service behind decides whom
    /// it acts for, as it does behind the seed's [`AuthFilter`](crate::AuthFilter).
    #[must_use]
    pub fn with_shared_tokens(mut self, tokens: Tokens) -> Self {
        self.shared_tokens = Some(tokens);
        self
    }

    /// As [`KeystoneFilter::new`], for a server that serves the identity
    /// API itself at `identity_path` (such as `/identity`): rejections name
    /// `http://HOST{identity_path}`, `HOST` being the one the request was
    /// sent to, so the endpoint is right whatever address the server
    /// listens on.
    pub fn on_request_host(
        inner: S,
        validator: Arc<dyn TokenValidator>,
        identity_path: &str,
    ) -> Result<Self, IdentityUriError> {
        // Checked once with a stand-in host, so a bad path fails here.
        www_authenticate_value(&format!("http://localhost{identity_path}"))?;
        if !identity_path.starts_with('/') {
            return Err(IdentityUriError::NotHttpUri);
        }
        Ok(KeystoneFilter {
            inner: Arc::new(inner),
            validator,
            www_authenticate: IdentityEndpoint::OnRequestHost(identity_path.to_owned()),
            shared_tokens: None,
        })
    }
}

impl<S> Clone for KeystoneFilter<S> {
    fn clone(&self) -> Self {
        KeystoneFilter {
            inner: Arc::clone(&self.inner),
            validator: Arc::clone(&self.validator),
            www_authenticate: self.www_authenticate.clone(),
            shared_tokens: self.shared_tokens.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for KeystoneFilter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneFilter")
            .field("inner", &self.inner)
            .field("www_authenticate", &self.www_authenticate)
            .finish_non_exhaustive()
    }
}

impl<S: NovaService> Service<Request> for KeystoneFilter<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        strip_identity_headers(req.headers_mut());
        let token = match presented_token(req.headers()) {
            Ok(token) => token,
            Err(why) => {
                let www_authenticate = self.www_authenticate.header_value(req.headers().get(HOST));
                return ready(reject(&why, &www_authenticate));
            }
        };
        let shared = self
            .shared_tokens
            .as_ref()
            .is_some_and(|shared| shared.accepts(token.as_bytes()));
        if shared {
            tracing::debug!("shared token accepted");
            return self.inner.call(req);
        }
        // Owned only now: the request moves into the validation below.
        let token = token.to_owned();
        let validator = Arc::clone(&self.validator);
        let inner = Arc::clone(&self.inner);
        let endpoint = self.www_authenticate.clone();
        Box::pin(async move {
            let mut valid = match validator.validate(&token).await {
                Ok(valid) => valid,
                Err(why) => {
                    let www_authenticate = endpoint.header_value(req.headers().get(HOST));
                    return Ok(reject(&why, &www_authenticate));
                }
            };
            let Some(project) = valid.project.take() else {
                let www_authenticate = endpoint.header_value(req.headers().get(HOST));
                return Ok(reject(&InvalidToken::NotProjectScoped, &www_authenticate));
            };
            // Kept for a 401 from further in, which is rare: the header is
            // made only then.
            let host = req.headers().get(HOST).cloned();
            if let Err(field) = set_identity_headers(req.headers_mut(), &valid, &project) {
                tracing::error!(
                    field,
                    "a validated token's identity cannot be carried in a header"
                );
                return Ok(
                    Fault::internal("the token's identity could not be passed on").into_response(),
                );
            }
            tracing::debug!(
                user_id = %valid.user_id,
                project_id = %project.id,
                "token confirmed"
            );
            req.extensions_mut().insert(RequestContext {
                user_id: valid.user_id,
                project_id: project.id,
                roles: valid.roles,
            });
            let mut response = inner.call(req).await?;
            // keystonemiddleware's `process_response`: a 401 from further
            // in also says where to get a token.
            if response.status() == StatusCode::UNAUTHORIZED
                && !response.headers().contains_key(WWW_AUTHENTICATE)
            {
                let www_authenticate = endpoint.header_value(host.as_ref());
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, www_authenticate);
            }
            Ok(response)
        })
    }
}

/// Checks that `uri` can be a filter's `www_authenticate_uri`, as
/// [`KeystoneFilter::new`] would: for a configuration loader that wants
/// to refuse a bad value before it builds anything.
pub fn check_identity_uri(uri: &str) -> Result<(), IdentityUriError> {
    www_authenticate_value(uri).map(|_| ())
}

/// `Keystone uri="<uri>"`, once the URI is known to be one.
fn www_authenticate_value(uri: &str) -> Result<HeaderValue, IdentityUriError> {
    let parsed: http::Uri = uri.parse().map_err(|_| IdentityUriError::NotHttpUri)?;
    let http = matches!(parsed.scheme_str(), Some("http" | "https"));
    // A quote or backslash would end or escape the quoted parameter.
    if !http || parsed.authority().is_none() || uri.contains(['"', '\\']) {
        return Err(IdentityUriError::NotHttpUri);
    }
    HeaderValue::from_str(&format!("Keystone uri=\"{uri}\""))
        .map_err(|_| IdentityUriError::NotHttpUri)
}

/// The request's one token, or why there is none to validate.
fn presented_token(headers: &HeaderMap) -> Result<&str, InvalidToken> {
    let mut values = headers.get_all(AUTH_TOKEN_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(InvalidToken::Missing),
        (Some(_), Some(_)) => return Err(InvalidToken::Several),
        (Some(value), None) => value.as_bytes(),
    };
    if value.is_empty() {
        // keystonemiddleware treats an empty header as no token at all.
        return Err(InvalidToken::Missing);
    }
    // Keystone's tokens (Fernet, JWS) are visible ASCII; anything else is
    // not one, and need not reach the validator.
    if !value.iter().all(u8::is_ascii_graphic) {
        return Err(InvalidToken::Malformed);
    }
    std::str::from_utf8(value).map_err(|_| InvalidToken::Malformed)
}

/// Removes every identity header, whether spelled with `-` or `_`: WSGI
/// maps both to the same `HTTP_X_USER_ID`, and a Nova behind WSGI would
/// read either.
fn strip_identity_headers(headers: &mut HeaderMap) {
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_identity_header(name.as_str()))
        .cloned()
        .collect();
    for name in forged {
        headers.remove(&name);
    }
}

/// Whether `name` (lowercase, as `http` keeps it) is an identity header.
fn is_identity_header(name: &str) -> bool {
    IDENTITY_HEADERS.iter().any(|known| {
        known.len() == name.len()
            && known
                .bytes()
                .zip(name.bytes())
                .all(|(k, n)| k == n || (k == b'-' && n == b'_'))
    })
}

/// Sets keystonemiddleware's headers for `valid`; the error names the
/// field whose value a header cannot carry.
fn set_identity_headers(
    headers: &mut HeaderMap,
    valid: &ValidToken,
    project: &ProjectScope,
) -> Result<(), &'static str> {
    let roles = valid.roles.join(",");
    let fields: [(&'static str, &str); 7] = [
        ("x-user-id", &valid.user_id),
        ("x-user-name", &valid.user_name),
        ("x-user-domain-id", &valid.user_domain_id),
        ("x-project-id", &project.id),
        ("x-project-name", &project.name),
        ("x-project-domain-id", &project.domain_id),
        ("x-roles", &roles),
    ];
    for (name, value) in fields {
        let value = HeaderValue::from_str(value).map_err(|_| name)?;
        headers.insert(HeaderName::from_static(name), value);
    }
    headers.insert(
        HeaderName::from_static("x-identity-status"),
        HeaderValue::from_static("Confirmed"),
    );
    Ok(())
}

/// The answer to a request whose token was not accepted, logged with the
/// reason only.
fn reject(why: &InvalidToken, www_authenticate: &HeaderValue) -> Response {
    if let InvalidToken::Unavailable(_) = why {
        tracing::error!(reason = %why, "cannot validate tokens");
        return Fault::service_unavailable(UNAVAILABLE_MESSAGE).into_response();
    }
    tracing::info!(reason = %why, "rejecting request");
    let mut response = Response::new(Bytes::from_static(UNAUTHORIZED_BODY.as_bytes()));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    headers.insert(WWW_AUTHENTICATE, www_authenticate.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::ValidationFuture;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const IDENTITY_URI: &str = "http://keystone.example:5000/v3";
    const GOOD: &str = "gAAAAAB-good-secret-4f1c";
    const UNSCOPED: &str = "gAAAAAB-unscoped-secret-9d2e";

    /// A validator that knows a fixed table of tokens and counts its calls;
    /// any token not in the table is `Malformed`.
    struct FakeValidator {
        verdicts: HashMap<&'static str, Result<ValidToken, InvalidToken>>,
        calls: AtomicUsize,
    }

    impl TokenValidator for FakeValidator {
        fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let verdict = self
                .verdicts
                .get(token)
                .cloned()
                .unwrap_or(Err(InvalidToken::Malformed));
            Box::pin(std::future::ready(verdict))
        }
    }

    fn alice(project: Option<ProjectScope>) -> ValidToken {
        ValidToken {
            user_id: "u-alice".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            project,
            roles: vec!["member".into(), "reader".into()],
        }
    }

    fn demo_project() -> ProjectScope {
        ProjectScope {
            id: "p-demo".into(),
            name: "demo".into(),
            domain_id: "default".into(),
        }
    }

    fn validator() -> Arc<FakeValidator> {
        let verdicts = HashMap::from([
            (GOOD, Ok(alice(Some(demo_project())))),
            (UNSCOPED, Ok(alice(None))),
            ("gAAAAAB-expired-secret", Err(InvalidToken::Expired)),
            ("gAAAAAB-revoked-secret", Err(InvalidToken::Revoked)),
            (
                "gAAAAAB-unavailable-secret",
                Err(InvalidToken::Unavailable("revocation store closed".into())),
            ),
        ]);
        Arc::new(FakeValidator {
            verdicts,
            calls: AtomicUsize::new(0),
        })
    }

    /// What the wrapped service saw of the last request it was given.
    #[derive(Default)]
    struct Seen {
        calls: usize,
        context: Option<RequestContext>,
        headers: HeaderMap,
    }

    fn filter_over(
        seen: Arc<Mutex<Seen>>,
        status: StatusCode,
        validator: Arc<FakeValidator>,
    ) -> KeystoneFilter<impl NovaService> {
        let app = nova_router::service_fn(move |req: Request| {
            let mut seen = seen.lock().unwrap();
            seen.calls += 1;
            seen.context = RequestContext::of(&req).cloned();
            seen.headers = req.headers().clone();
            async move {
                let mut response = Response::new(Bytes::from_static(b"ok"));
                *response.status_mut() = status;
                response
            }
        });
        KeystoneFilter::new(app, validator, IDENTITY_URI).unwrap()
    }

    fn request(tokens: &[&[u8]], extra: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::get("/v2.1/servers");
        for token in tokens {
            builder = builder.header(AUTH_TOKEN_HEADER, *token);
        }
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::new()).unwrap()
    }

    fn assert_keystone_401(response: &Response, case: &str) {
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Keystone uri="http://keystone.example:5000/v3""#,
            "{case}"
        );
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json; charset=UTF-8",
            "{case}"
        );
        // Byte for byte what keystonemiddleware's `jsonutils.dumps` writes.
        assert_eq!(
            response.body().as_ref(),
            br#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#,
            "{case}"
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": 401,
                "title": "Unauthorized",
                "message": "The request you have made requires authentication.",
            }}),
            "{case}"
        );
    }

    #[tokio::test]
    async fn a_missing_empty_or_doubled_token_is_refused_without_asking_the_validator() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let validator = validator();
        let filter = filter_over(seen.clone(), StatusCode::OK, validator.clone());
        let cases: [(&str, &[&[u8]]); 5] = [
            ("missing", &[]),
            ("empty", &[b""]),
            ("two tokens", &[GOOD.as_bytes(), GOOD.as_bytes()]),
            ("not ascii", &[b"gAAAAAB\xff"]),
            ("inner space", &[b"Bearer gAAAAAB"]),
        ];
        for (case, tokens) in cases {
            let response = filter.call(request(tokens, &[])).await.unwrap();
            assert_keystone_401(&response, case);
        }
        assert_eq!(validator.calls.load(Ordering::SeqCst), 0);
        assert_eq!(seen.lock().unwrap().calls, 0);
    }

    #[tokio::test]
    async fn an_invalid_expired_revoked_or_unscoped_token_is_refused_with_keystones_401() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let validator = validator();
        let filter = filter_over(seen.clone(), StatusCode::OK, validator.clone());
        let cases = [
            "gAAAAAB-unknown-secret",
            "gAAAAAB-expired-secret",
            "gAAAAAB-revoked-secret",
            UNSCOPED,
        ];
        for token in cases {
            let response = filter
                .call(request(&[token.as_bytes()], &[]))
                .await
                .unwrap();
            assert_keystone_401(&response, token);
        }
        assert_eq!(validator.calls.load(Ordering::SeqCst), cases.len());
        assert_eq!(seen.lock().unwrap().calls, 0);
    }

    #[tokio::test]
    async fn a_validator_that_cannot_check_answers_503_not_401() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen.clone(), StatusCode::OK, validator());
        let response = filter
            .call(request(&[b"gAAAAAB-unavailable-secret"], &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["serviceUnavailable"]["message"], UNAVAILABLE_MESSAGE);
        assert_eq!(seen.lock().unwrap().calls, 0);
    }

    #[tokio::test]
    async fn a_valid_token_reaches_the_service_with_its_context_and_identity_headers() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen.clone(), StatusCode::OK, validator());
        let response = filter.call(request(&[GOOD.as_bytes()], &[])).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));

        let seen = seen.lock().unwrap();
        assert_eq!(seen.calls, 1);
        assert_eq!(
            seen.context,
            Some(RequestContext {
                user_id: "u-alice".into(),
                project_id: "p-demo".into(),
                roles: vec!["member".into(), "reader".into()],
            })
        );
        let expected = [
            ("x-identity-status", "Confirmed"),
            ("x-user-id", "u-alice"),
            ("x-user-name", "alice"),
            ("x-user-domain-id", "default"),
            ("x-project-id", "p-demo"),
            ("x-project-name", "demo"),
            ("x-project-domain-id", "default"),
            ("x-roles", "member,reader"),
        ];
        for (name, value) in expected {
            let values: Vec<_> = seen.headers.get_all(name).iter().collect();
            assert_eq!(values, [value], "{name}");
        }
        // keystonemiddleware leaves the token for the service (Nova keeps
        // it in its context to call other services).
        assert_eq!(seen.headers[AUTH_TOKEN_HEADER], GOOD);
    }

    #[tokio::test]
    async fn identity_headers_a_client_sends_never_reach_the_service() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen.clone(), StatusCode::OK, validator());
        let forged = [
            ("X-Roles", "admin"),
            ("X-User-Id", "u-mallory"),
            ("X-Project-Id", "p-victim"),
            ("X_Project_Id", "p-victim"),
            ("X-Identity-Status", "Confirmed"),
            ("X-Service-Roles", "service"),
            ("X-Service-Identity-Status", "Confirmed"),
            ("X-Tenant-Id", "p-victim"),
            ("X-Is-Admin-Project", "True"),
            ("OpenStack-System-Scope", "all"),
            ("X-Service-Catalog", "[]"),
        ];
        let response = filter
            .call(request(&[GOOD.as_bytes()], &forged))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);

        let seen = seen.lock().unwrap();
        let context = seen.context.as_ref().unwrap();
        assert_eq!(context.project_id, "p-demo");
        assert!(!context.is_admin());
        let values: Vec<_> = seen.headers.get_all("x-roles").iter().collect();
        assert_eq!(values, ["member,reader"]);
        let values: Vec<_> = seen.headers.get_all("x-project-id").iter().collect();
        assert_eq!(values, ["p-demo"]);
        for name in [
            "x_project_id",
            "x-service-roles",
            "x-service-identity-status",
            "x-tenant-id",
            "x-is-admin-project",
            "openstack-system-scope",
            "x-service-catalog",
        ] {
            assert!(!seen.headers.contains_key(name), "{name}");
        }
    }

    #[tokio::test]
    async fn names_beyond_ascii_pass_on_but_a_control_character_is_a_500_not_a_forged_header() {
        let mut validator = FakeValidator {
            verdicts: HashMap::new(),
            calls: AtomicUsize::new(0),
        };
        let mut unicode = alice(Some(demo_project()));
        unicode.user_name = "zoë".into();
        validator.verdicts.insert(GOOD, Ok(unicode));
        let mut control = alice(Some(demo_project()));
        control.project = Some(ProjectScope {
            name: "demo\r\nX-Roles: admin".into(),
            ..demo_project()
        });
        validator.verdicts.insert(UNSCOPED, Ok(control));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen.clone(), StatusCode::OK, Arc::new(validator));

        let response = filter.call(request(&[GOOD.as_bytes()], &[])).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            seen.lock().unwrap().headers["x-user-name"].as_bytes(),
            "zoë".as_bytes()
        );

        let response = filter
            .call(request(&[UNSCOPED.as_bytes()], &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(seen.lock().unwrap().calls, 1);
    }

    #[tokio::test]
    async fn a_401_from_the_service_says_where_to_get_a_token() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen.clone(), StatusCode::UNAUTHORIZED, validator());
        let response = filter.call(request(&[GOOD.as_bytes()], &[])).await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Keystone uri="http://keystone.example:5000/v3""#
        );
        assert_eq!(response.body().as_ref(), b"ok");
    }

    #[tokio::test]
    async fn the_log_says_why_a_token_was_refused_and_never_shows_a_token() {
        let log = crate::log_capture::capture();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let filter = filter_over(seen, StatusCode::OK, validator());
        let tokens = [
            GOOD,
            UNSCOPED,
            "gAAAAAB-unknown-secret",
            "gAAAAAB-expired-secret",
            "gAAAAAB-revoked-secret",
            "gAAAAAB-unavailable-secret",
        ];
        for token in tokens {
            filter
                .call(request(&[token.as_bytes()], &[]))
                .await
                .unwrap();
        }
        filter
            .call(request(&[GOOD.as_bytes(), GOOD.as_bytes()], &[]))
            .await
            .unwrap();
        filter.call(request(&[], &[])).await.unwrap();

        let text = log.text();
        for reason in [
            "the token is not scoped to a project",
            "the token is malformed or not authentic",
            "the token has expired",
            "the token has been revoked",
            "the token could not be checked: revocation store closed",
            "more than one token was given",
            "no token was given",
            "token confirmed",
        ] {
            assert!(text.contains(reason), "{reason} not in {text}");
        }
        // Not the tokens, nor the part they share.
        assert!(!text.contains("gAAAAAB"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn the_identity_endpoint_must_be_an_absolute_http_uri() {
        for uri in [
            "",
            "keystone:5000",
            "/v3",
            "ftp://keystone.example/v3",
            "http://keystone.example/v3\"x",
            "http://keystone.example/v3\\",
        ] {
            assert_eq!(
                www_authenticate_value(uri),
                Err(IdentityUriError::NotHttpUri),
                "{uri}"
            );
        }
        assert_eq!(
            www_authenticate_value("https://keystone.example/identity/v3").unwrap(),
            r#"Keystone uri="https://keystone.example/identity/v3""#
        );
    }

    #[tokio::test]
    async fn a_shared_token_passes_without_a_context_and_without_forged_headers() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let checker = validator();
        let filter = filter_over(seen.clone(), StatusCode::OK, checker.clone())
            .with_shared_tokens(Tokens::new(["open-sesame"]).unwrap());
        let response = filter
            .call(request(&[b"open-sesame"], &[("x-roles", "admin")]))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.calls, 1);
            assert_eq!(seen.context, None);
            assert!(!seen.headers.contains_key("x-roles"));
        }
        assert_eq!(checker.calls.load(Ordering::SeqCst), 0, "not validated");
        let other = filter.call(request(&[b"open-sesam"], &[])).await.unwrap();
        assert_eq!(other.status(), 401);
    }

    #[tokio::test]
    async fn without_a_configured_endpoint_a_rejection_names_the_host_the_client_asked() {
        let app = nova_router::service_fn(|_req: Request| async {
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        });
        let filter = KeystoneFilter::on_request_host(app, validator(), "/identity").unwrap();
        let asked = |host: &str, token: &str| {
            http::Request::get("/v2.1/servers")
                .header(HOST, host)
                .header(AUTH_TOKEN_HEADER, token)
                .body(Bytes::new())
                .unwrap()
        };
        let missing = filter.call(asked("127.0.0.1:41234", "gAAAAAB-bad")).await;
        assert_eq!(
            missing.unwrap().headers()[WWW_AUTHENTICATE],
            r#"Keystone uri="http://127.0.0.1:41234/identity""#
        );
        // A 401 from the service behind gets it too.
        let inner = filter.call(asked("cloud.example", GOOD)).await.unwrap();
        assert_eq!(
            inner.headers()[WWW_AUTHENTICATE],
            r#"Keystone uri="http://cloud.example/identity""#
        );
        // A Host that is no authority is not echoed into the header.
        let odd = filter.call(asked("a b\"c", "gAAAAAB-bad")).await.unwrap();
        assert_eq!(
            odd.headers()[WWW_AUTHENTICATE],
            r#"Keystone uri="http://localhost/identity""#
        );
        assert!(KeystoneFilter::on_request_host(
            nova_router::service_fn(|_req: Request| async { Response::new(Bytes::new()) }),
            validator(),
            "identity"
        )
        .is_err());
    }

    #[test]
    fn forged_header_names_match_in_either_spelling_and_only_whole() {
        assert!(is_identity_header("x-user-id"));
        assert!(is_identity_header("x_user_id"));
        assert!(is_identity_header("x-service_roles"));
        assert!(!is_identity_header("x-user-idx"));
        assert!(!is_identity_header("x-auth-token"));
        assert!(!is_identity_header("x-openstack-request-id"));
    }
}
