//! The identity API as an application: Keystone's v3 routes, relative to
//! wherever it is mounted (the lead mounts it at `/identity`).
//!
//! | path | answer |
//! |---|---|
//! | `GET /` | 300 with the versions document |
//! | `GET /v3` | 200 with the v3 version document |
//! | `POST /v3/auth/tokens` | 201, a token in `X-Subject-Token` and its body: by password (user id, or name and domain) or by token (rescoping), scoped to a project, a domain, or unscoped |
//! | `GET`/`HEAD /v3/auth/tokens` | 200, the body of the token in `X-Subject-Token`, checked with the caller's `X-Auth-Token`; 404 if invalid |
//! | `DELETE /v3/auth/tokens` | 204, the token in `X-Subject-Token` revoked |
//! | `GET /v3/auth/projects` | the projects the caller has a role on |
//! | `GET /v3/auth/catalog` | the catalog, for a scoped token |
//! | `GET /v3/users/{id}` and `/v3/users/{id}/projects` | the user and its projects, for itself or an admin |
//! | `GET /v3/projects`, `/v3/roles` | every project or role, for an admin |
//! | `GET /v3/projects/{id}`, `/v3/domains/{id}` | one project or domain, for an admin or a token scoped to it |
//!
//! Errors are Keystone's `{"error": {"code", "title", "message"}}`. The
//! catalog's endpoints are built from the configured `public_url`, else
//! from the request's `Host`; links to this service add its mount point.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, HOST};
use http::{HeaderName, Method, StatusCode};
use jiff::Timestamp;
use nova_router::{
    json_response, Mapper, MatchError, Request, Response, ResponseFuture, RoutingArgs, ScriptName,
    Service,
};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::token::{new_audit_id, resolve_scope, validate, Payload, Scope, TokenKeys};
use crate::{
    catalog, views, Clock, Identity, MemoryTokenStore, SystemClock, TokenError, TokenStore, User,
    ValidatedToken,
};

/// The header a new or checked token travels in.
pub const SUBJECT_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-subject-token");
/// The header the caller's own token travels in.
pub const AUTH_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-auth-token");

/// Keystone's identity API v3; see the module documentation for its
/// routes. Cheap to clone; clones share the revocation list.
///
/// Issuing a token over HTTP and validating it as a token filter would:
///
/// ```
/// use std::sync::Arc;
/// use nova_identity::{Identity, IdentityApp};
/// use nova_router::Service;
///
/// // The defaults: devstack's admin, demo and alt_demo, password open-sesame.
/// let identity = Identity::from_config(&|_key: &str| None::<String>).unwrap();
/// let app = IdentityApp::new(Arc::new(identity));
///
/// let body = r#"{"auth": {
///     "identity": {"methods": ["password"], "password": {"user": {
///         "name": "demo", "domain": {"name": "Default"}, "password": "open-sesame"}}},
///     "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}"#;
/// let req = http::Request::post("/v3/auth/tokens")
///     .header("host", "cloud.example")
///     .body(body.into())
///     .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let response = app.call(req).await.unwrap();
/// assert_eq!(response.status(), 201);
/// let token = response.headers()["x-subject-token"].to_str().unwrap();
///
/// let validated = app.validate(token).await.unwrap();
/// assert_eq!(validated.user.name, "demo");
/// assert_eq!(validated.role_names(), ["member", "reader"]);
/// assert_eq!(validated.project.map(|p| p.name).as_deref(), Some("demo"));
/// # });
/// ```
#[derive(Clone)]
pub struct IdentityApp {
    inner: Arc<Inner>,
}

struct Inner {
    identity: Arc<Identity>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn TokenStore>,
    /// The configured keys, else the store's, read once when first needed.
    keys: OnceLock<TokenKeys>,
    mapper: Mapper,
}

impl std::fmt::Debug for IdentityApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityApp")
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

impl IdentityApp {
    /// The service over `identity`, on the system clock, its key (unless
    /// configured) and revocations kept in memory.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self::with_parts(
            identity,
            Arc::new(SystemClock),
            Arc::new(MemoryTokenStore::new()),
        )
    }

    /// The service reading the time from `clock` and keeping its keys
    /// (unless the configuration names them) and revoked tokens in
    /// `store`.
    pub fn with_parts(
        identity: Arc<Identity>,
        clock: Arc<dyn Clock>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let mut mapper = Mapper::new();
        let table: [(&str, &str, Method); 13] = [
            ("/v3/auth/tokens", "issue_token", Method::POST),
            ("/v3/auth/tokens", "validate_token", Method::GET),
            ("/v3/auth/tokens", "revoke_token", Method::DELETE),
            ("/v3/auth/projects", "auth_projects", Method::GET),
            ("/v3/auth/catalog", "auth_catalog", Method::GET),
            ("/v3/users/{user_id}", "get_user", Method::GET),
            (
                "/v3/users/{user_id}/projects",
                "list_user_projects",
                Method::GET,
            ),
            ("/v3/projects", "list_projects", Method::GET),
            ("/v3/projects/{project_id}", "get_project", Method::GET),
            ("/v3/domains/{domain_id}", "get_domain", Method::GET),
            ("/v3/roles", "list_roles", Method::GET),
            ("/v3", "version", Method::GET),
            ("/", "versions", Method::GET),
        ];
        for (template, action, method) in table {
            // A fixed table: a failure is a bug in this file.
            if let Err(error) = mapper.connect(template, action, &[method]) {
                unreachable!("the identity service's routes are valid: {error}");
            }
        }
        let keys = OnceLock::new();
        if let Some(configured) = &identity.keys {
            let _ = keys.set(configured.clone());
        }
        IdentityApp {
            inner: Arc::new(Inner {
                identity,
                clock,
                store,
                keys,
                mapper,
            }),
        }
    }

    /// The model and settings the service answers from.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// Checks `token` (an `X-Auth-Token` a token filter was handed): it
    /// must be sealed with one of the keys, unexpired by the clock and not
    /// revoked, and its user must still have a role on its scope. The
    /// model is in memory; the store is asked whether the token was
    /// revoked (and, the first time, for its keys).
    pub async fn validate(&self, token: &str) -> Result<ValidatedToken, TokenError> {
        self.validate_at(token, self.inner.clock.now()).await
    }

    /// [`IdentityApp::validate`] at `now`.
    async fn validate_at(&self, token: &str, now: Timestamp) -> Result<ValidatedToken, TokenError> {
        let inner = &self.inner;
        let keys = self.keys().await?;
        let validated = validate(keys, &inner.identity.directory, now, token)?;
        match inner.store.is_token_revoked(validated.audit_id()).await {
            Ok(false) => Ok(validated),
            Ok(true) => Err(TokenError::Revoked),
            Err(error) => {
                tracing::error!(%error, "cannot read the revoked tokens");
                Err(TokenError::Unavailable)
            }
        }
    }

    /// The keys that seal and open tokens: the configured ones, else the
    /// store's, asked for once. Two requests racing at the start both ask;
    /// the store answers both the same keys.
    async fn keys(&self) -> Result<&TokenKeys, TokenError> {
        let inner = &self.inner;
        if let Some(keys) = inner.keys.get() {
            return Ok(keys);
        }
        let encoded = inner.store.token_keys().await.map_err(|error| {
            tracing::error!(%error, "cannot read the token keys");
            TokenError::Unavailable
        })?;
        let keys = TokenKeys::new(&encoded).ok_or_else(|| {
            tracing::error!("the token store holds a key that is not a Fernet key");
            TokenError::Unavailable
        })?;
        Ok(inner.keys.get_or_init(|| keys))
    }

    async fn respond(&self, req: &Request) -> Result<Response, ApiError> {
        let path = match req.uri().path() {
            "" => "/",
            // Keystone answers its version document at `/v3/` too, which
            // is where the version links point.
            "/v3/" => "/v3",
            path => path,
        };
        let args =
            self.inner
                .mapper
                .recognize(req.method(), path)
                .map_err(|error| match error {
                    MatchError::MethodNotAllowed { allowed } => ApiError::MethodNotAllowed(allowed),
                    _ => ApiError::NotFound("The resource could not be found.".to_owned()),
                })?;
        let call = Call {
            app: self,
            req,
            args: &args,
        };
        match args.action() {
            "versions" => Ok(call.versions()),
            "version" => Ok(json_response(
                StatusCode::OK,
                &json!({"version": views::version(&call.identity_url())}),
            )),
            "issue_token" => call.issue_token().await,
            "validate_token" => call.validate_token().await,
            "revoke_token" => call.revoke_token().await,
            "auth_projects" => call.auth_projects().await,
            "auth_catalog" => call.auth_catalog().await,
            "get_user" => call.get_user().await,
            "list_user_projects" => call.list_user_projects().await,
            "list_projects" => call.list_projects().await,
            "get_project" => call.get_project().await,
            "get_domain" => call.get_domain().await,
            "list_roles" => call.list_roles().await,
            _ => Err(ApiError::NotFound(
                "The resource could not be found.".to_owned(),
            )),
        }
    }
}

impl Service<Request> for IdentityApp {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let app = self.clone();
        Box::pin(async move {
            let mut response = app.respond(&req).await.unwrap_or_else(|error| {
                error.into_response(&identity_url(&app.inner.identity, &req))
            });
            if req.method() == Method::HEAD {
                // As GET, without the body; the length GET would have sent kept.
                let length = response.body().len();
                *response.body_mut() = Bytes::new();
                if response.status() != StatusCode::NO_CONTENT {
                    response
                        .headers_mut()
                        .insert(CONTENT_LENGTH, HeaderValue::from(length));
                }
            }
            Ok(response)
        })
    }
}

/// `scheme://host` of the request, from its `Host` header.
fn host_url(req: &Request) -> String {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let scheme = req.uri().scheme_str().unwrap_or("http");
    format!("{scheme}://{host}")
}

/// The base URL of the catalog: `public_url`, else the request's host.
fn base_url(identity: &Identity, req: &Request) -> String {
    identity.public_url.clone().unwrap_or_else(|| host_url(req))
}

/// Where this service is: the base URL and the mount point.
fn identity_url(identity: &Identity, req: &Request) -> String {
    format!("{}{}", base_url(identity, req), ScriptName::of(req))
}

/// One request being answered.
struct Call<'a> {
    app: &'a IdentityApp,
    req: &'a Request,
    args: &'a RoutingArgs,
}

impl Call<'_> {
    fn identity(&self) -> &Identity {
        &self.app.inner.identity
    }

    fn identity_url(&self) -> String {
        identity_url(self.identity(), self.req)
    }

    fn param(&self, name: &str) -> &str {
        self.args.param(name).unwrap_or_default()
    }

    fn header(&self, name: &HeaderName) -> Option<&str> {
        self.req
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Whether the query string has `nocatalog`.
    fn no_catalog(&self) -> bool {
        self.req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.split('=').next() == Some("nocatalog"))
        })
    }

    /// The caller, from a valid `X-Auth-Token`; 401 otherwise.
    async fn caller(&self) -> Result<ValidatedToken, ApiError> {
        let token = self
            .header(&AUTH_TOKEN_HEADER)
            .ok_or(ApiError::Unauthorized("no X-Auth-Token"))?;
        self.app.validate(token).await.map_err(|error| match error {
            TokenError::Unavailable => ApiError::Unavailable,
            _ => ApiError::Unauthorized("invalid X-Auth-Token"),
        })
    }

    /// The caller, who must be an admin or pass `allowed`; 403 naming the
    /// policy rule otherwise.
    async fn authorize(
        &self,
        rule: &str,
        allowed: impl FnOnce(&ValidatedToken) -> bool,
    ) -> Result<ValidatedToken, ApiError> {
        let caller = self.caller().await?;
        if caller.is_admin() || allowed(&caller) {
            Ok(caller)
        } else {
            Err(ApiError::forbidden_action(rule))
        }
    }

    /// The token in `X-Subject-Token`: 404 if it is not valid.
    async fn subject(&self) -> Result<(ValidatedToken, &str), ApiError> {
        let token = self
            .header(&SUBJECT_TOKEN_HEADER)
            .ok_or_else(|| ApiError::expecting("X-Subject-Token", "request headers"))?;
        match self.app.validate(token).await {
            Ok(validated) => Ok((validated, token)),
            Err(TokenError::Unavailable) => Err(ApiError::Unavailable),
            Err(error) => {
                tracing::debug!(%error, "subject token rejected");
                Err(ApiError::NotFound(format!(
                    "Could not find token: {token}."
                )))
            }
        }
    }

    fn versions(&self) -> Response {
        let body = json!({"versions": {"values": [views::version(&self.identity_url())]}});
        json_response(StatusCode::MULTIPLE_CHOICES, &body)
    }

    /// The token's body, with the catalog unless unscoped or unwanted.
    fn token_response(&self, status: StatusCode, token: &ValidatedToken, id: &str) -> Response {
        let scoped = token.project.is_some() || token.domain.is_some();
        let catalog =
            (scoped && !self.no_catalog()).then(|| catalog(&base_url(self.identity(), self.req)));
        let mut response = json_response(status, &views::token(token, catalog));
        if let Ok(value) = HeaderValue::from_str(id) {
            response.headers_mut().insert(SUBJECT_TOKEN_HEADER, value);
        }
        response
    }

    /// `POST /v3/auth/tokens`.
    async fn issue_token(&self) -> Result<Response, ApiError> {
        let body: Value = serde_json::from_slice(self.req.body())
            .map_err(|_| ApiError::BadRequest("The request body is not valid JSON.".to_owned()))?;
        let auth = object(&body, "auth", "request body")?;
        let identity = object_in(auth, "identity", "auth")?;
        let methods: Vec<&str> = identity
            .get("methods")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .filter(|list: &Vec<&str>| !list.is_empty())
            .ok_or_else(|| ApiError::expecting("methods", "identity"))?;
        let directory = &self.identity().directory;
        let now = self.app.inner.clock.now();

        // Who: by password, or by an earlier token (rescoping), which
        // keeps that token's expiry and audit chain.
        let (user, methods, expires_at, audit_chain) = match methods[..] {
            ["password"] => {
                let user = self.password_user(object_in(identity, "password", "identity")?)?;
                let expires_at = now
                    .checked_add(self.identity().token_expiration)
                    .map_err(|_| ApiError::Unauthorized("expiry out of range"))?;
                (user, vec!["password".to_owned()], expires_at, None)
            }
            ["token"] => {
                let token = object_in(identity, "token", "identity")?
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::expecting("id", "token"))?;
                let earlier = self
                    .app
                    .validate(token)
                    .await
                    .map_err(|error| match error {
                        TokenError::Unavailable => ApiError::Unavailable,
                        _ => ApiError::Unauthorized("invalid token to rescope"),
                    })?;
                let mut methods = vec!["token".to_owned()];
                methods.extend(earlier.methods.iter().filter(|m| *m != "token").cloned());
                let first = earlier.audit_ids.last().cloned();
                (earlier.user, methods, earlier.expires_at, first)
            }
            _ => return Err(ApiError::Unauthorized("unsupported authentication method")),
        };

        let scope = self.requested_scope(auth, &user)?;
        if resolve_scope(directory, &user, &scope).is_none() {
            return Err(ApiError::Unauthorized("no role on the requested scope"));
        }
        let mut audit_ids = vec![new_audit_id()];
        audit_ids.extend(audit_chain);
        let payload = Payload {
            user_id: user.id.clone(),
            methods,
            scope,
            issued_at: now.as_second(),
            expires_at: expires_at.as_second(),
            audit_ids,
        };
        let sealed = serde_json::to_vec(&payload)
            .map_err(|_| ApiError::Unauthorized("payload not serialisable"))?;
        let seconds = u64::try_from(now.as_second()).unwrap_or(0);
        let keys = self.app.keys().await.map_err(|_| ApiError::Unavailable)?;
        let token = keys.encrypt(&sealed, seconds);
        // Read back as any validation would, so the body is what a later
        // GET answers; at the issuing instant, so that a short-lived token
        // cannot expire between being sealed and being read back.
        let validated = self
            .app
            .validate_at(&token, now)
            .await
            .map_err(|error| match error {
                TokenError::Unavailable => ApiError::Unavailable,
                _ => ApiError::Unauthorized("the new token is not valid"),
            })?;
        Ok(self.token_response(StatusCode::CREATED, &validated, &token))
    }

    /// The password method's user, its password checked.
    fn password_user(&self, password: &Map<String, Value>) -> Result<User, ApiError> {
        let directory = &self.identity().directory;
        let user = object_in(password, "user", "password")?;
        let found = match (
            user.get("id").and_then(Value::as_str),
            user.get("name").and_then(Value::as_str),
        ) {
            (Some(id), _) => directory.user(id),
            (None, Some(name)) => {
                let domain = object_in(user, "domain", "user")?;
                let domain_id = self.domain_id(domain, "domain")?;
                domain_id.and_then(|id| directory.user_by_name(name, &id))
            }
            (None, None) => return Err(ApiError::expecting("id or name", "user")),
        };
        let secret = user
            .get("password")
            .and_then(Value::as_str)
            .ok_or(ApiError::Unauthorized("no password"))?;
        let user = found
            .filter(|u| u.enabled)
            .ok_or(ApiError::Unauthorized("unknown or disabled user"))?;
        if !user.password.verify(secret) {
            return Err(ApiError::Unauthorized("wrong password"));
        }
        Ok(user.clone())
    }

    /// A domain reference's id: `{"id"}` or `{"name"}`; `None` if no such
    /// domain.
    fn domain_id(
        &self,
        domain: &Map<String, Value>,
        target: &str,
    ) -> Result<Option<String>, ApiError> {
        let directory = &self.identity().directory;
        match (
            domain.get("id").and_then(Value::as_str),
            domain.get("name").and_then(Value::as_str),
        ) {
            (Some(id), _) => Ok(directory.domain(id).map(|d| d.id.clone())),
            (None, Some(name)) => Ok(directory.domain_by_name(name).map(|d| d.id.clone())),
            (None, None) => Err(ApiError::expecting("id or name", target)),
        }
    }

    /// The scope asked for: a project (by id, or name and domain), a
    /// domain, `"unscoped"`, or none, which is the user's default project
    /// if it still has a role there, else unscoped (as Keystone).
    fn requested_scope(&self, auth: &Map<String, Value>, user: &User) -> Result<Scope, ApiError> {
        let directory = &self.identity().directory;
        let unknown = || ApiError::Unauthorized("unknown scope");
        let scope = match auth.get("scope") {
            None | Some(Value::Null) => {
                let default = user.default_project_id.clone().map(Scope::Project);
                return Ok(default
                    .filter(|scope| resolve_scope(directory, user, scope).is_some())
                    .unwrap_or(Scope::Unscoped));
            }
            Some(Value::String(word)) if word == "unscoped" => return Ok(Scope::Unscoped),
            Some(Value::Object(scope)) => scope,
            Some(_) => return Err(ApiError::expecting("project or domain", "scope")),
        };
        if let Some(project) = scope.get("project") {
            let project = project
                .as_object()
                .ok_or_else(|| ApiError::expecting("id or name", "project"))?;
            let id = match (
                project.get("id").and_then(Value::as_str),
                project.get("name").and_then(Value::as_str),
            ) {
                (Some(id), _) => directory.project(id).map(|p| p.id.clone()),
                (None, Some(name)) => {
                    let domain = object_in(project, "domain", "project")?;
                    self.domain_id(domain, "domain")?
                        .and_then(|domain_id| directory.project_by_name(name, &domain_id))
                        .map(|p| p.id.clone())
                }
                (None, None) => return Err(ApiError::expecting("id or name", "project")),
            };
            return id.map(Scope::Project).ok_or_else(unknown);
        }
        if let Some(domain) = scope.get("domain") {
            let domain = domain
                .as_object()
                .ok_or_else(|| ApiError::expecting("id or name", "domain"))?;
            return self
                .domain_id(domain, "domain")?
                .map(Scope::Domain)
                .ok_or_else(unknown);
        }
        // System and trust scopes are Keystone's too, but not this service's.
        Err(ApiError::Unauthorized("unsupported scope"))
    }

    /// `GET /v3/auth/tokens`: the subject token's body, for its owner or
    /// an admin.
    async fn validate_token(&self) -> Result<Response, ApiError> {
        let caller = self.caller().await?;
        let (subject, id) = self.subject().await?;
        if !caller.is_admin() && caller.user.id != subject.user.id {
            return Err(ApiError::forbidden_action("identity:validate_token"));
        }
        Ok(self.token_response(StatusCode::OK, &subject, id))
    }

    /// `DELETE /v3/auth/tokens`: revokes the subject token, for its owner
    /// or an admin.
    async fn revoke_token(&self) -> Result<Response, ApiError> {
        let caller = self.caller().await?;
        let (subject, _) = self.subject().await?;
        if !caller.is_admin() && caller.user.id != subject.user.id {
            return Err(ApiError::forbidden_action("identity:revoke_token"));
        }
        let store = &self.app.inner.store;
        let stored = async {
            store
                .forget_expired_revocations(self.app.inner.clock.now())
                .await?;
            store
                .revoke_token(subject.audit_id(), subject.expires_at)
                .await
        };
        if let Err(error) = stored.await {
            tracing::error!(%error, "cannot revoke a token");
            return Err(ApiError::Unavailable);
        }
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok(response)
    }

    fn self_url(&self) -> String {
        format!("{}{}", self.identity_url(), self.req.uri().path())
    }

    fn project_list(&self, user_id: &str) -> Response {
        let url = self.identity_url();
        let projects = self
            .identity()
            .directory
            .projects_of(user_id)
            .into_iter()
            .map(|p| views::project(p, &url))
            .collect();
        json_response(
            StatusCode::OK,
            &views::collection("projects", projects, &self.self_url()),
        )
    }

    /// `GET /v3/auth/projects`: the caller's projects.
    async fn auth_projects(&self) -> Result<Response, ApiError> {
        let caller = self.caller().await?;
        Ok(self.project_list(&caller.user.id))
    }

    /// `GET /v3/auth/catalog`: the catalog, for a scoped token.
    async fn auth_catalog(&self) -> Result<Response, ApiError> {
        let caller = self.caller().await?;
        if caller.project.is_none() && caller.domain.is_none() {
            return Err(ApiError::Forbidden(
                "A project-scoped token is required to produce a service catalog.".to_owned(),
            ));
        }
        let body = json!({
            "catalog": catalog(&base_url(self.identity(), self.req)),
            "links": {"self": self.self_url(), "previous": null, "next": null},
        });
        Ok(json_response(StatusCode::OK, &body))
    }

    /// `GET /v3/users/{user_id}`, for the user itself or an admin.
    async fn get_user(&self) -> Result<Response, ApiError> {
        let id = self.param("user_id");
        self.authorize("identity:get_user", |caller| caller.user.id == id)
            .await?;
        let user = self
            .identity()
            .directory
            .user(id)
            .ok_or_else(|| ApiError::NotFound(format!("Could not find user: {id}.")))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"user": views::user(user, &self.identity_url())}),
        ))
    }

    /// `GET /v3/users/{user_id}/projects`, for the user itself or an admin.
    async fn list_user_projects(&self) -> Result<Response, ApiError> {
        let id = self.param("user_id");
        self.authorize("identity:list_user_projects", |caller| caller.user.id == id)
            .await?;
        if self.identity().directory.user(id).is_none() {
            return Err(ApiError::NotFound(format!("Could not find user: {id}.")));
        }
        Ok(self.project_list(id))
    }

    /// `GET /v3/projects`, for an admin.
    async fn list_projects(&self) -> Result<Response, ApiError> {
        self.authorize("identity:list_projects", |_| false).await?;
        let url = self.identity_url();
        let projects = self
            .identity()
            .directory
            .projects()
            .iter()
            .map(|p| views::project(p, &url))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &views::collection("projects", projects, &self.self_url()),
        ))
    }

    /// `GET /v3/projects/{project_id}`, for an admin or a token scoped to it.
    async fn get_project(&self) -> Result<Response, ApiError> {
        let id = self.param("project_id");
        self.authorize("identity:get_project", |caller| {
            caller.project.as_ref().is_some_and(|p| p.id == id)
        })
        .await?;
        let project = self
            .identity()
            .directory
            .project(id)
            .ok_or_else(|| ApiError::NotFound(format!("Could not find project: {id}.")))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"project": views::project(project, &self.identity_url())}),
        ))
    }

    /// `GET /v3/domains/{domain_id}`, for an admin or a token scoped to it
    /// or to one of its projects.
    async fn get_domain(&self) -> Result<Response, ApiError> {
        let id = self.param("domain_id");
        self.authorize("identity:get_domain", |caller| {
            caller.domain.as_ref().is_some_and(|d| d.id == id)
                || caller.project.as_ref().is_some_and(|p| p.domain_id == id)
        })
        .await?;
        let domain = self
            .identity()
            .directory
            .domain(id)
            .ok_or_else(|| ApiError::NotFound(format!("Could not find domain: {id}.")))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"domain": views::domain(domain, &self.identity_url())}),
        ))
    }

    /// `GET /v3/roles`, for an admin.
    async fn list_roles(&self) -> Result<Response, ApiError> {
        self.authorize("identity:list_roles", |_| false).await?;
        let url = self.identity_url();
        let roles = self
            .identity()
            .directory
            .roles()
            .iter()
            .map(|r| views::role(r, &url))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &views::collection("roles", roles, &self.self_url()),
        ))
    }
}

#[cfg(test)]
mod tests;

/// The object at `key` of the body; 400 naming it if missing.
fn object<'v>(
    value: &'v Value,
    key: &str,
    target: &str,
) -> Result<&'v Map<String, Value>, ApiError> {
    value
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::expecting(key, target))
}

/// The object at `key` of `map`; 400 naming it if missing.
fn object_in<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    target: &str,
) -> Result<&'v Map<String, Value>, ApiError> {
    map.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::expecting(key, target))
}
