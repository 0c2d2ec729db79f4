//! Response bodies: how a token, user, project, domain or role looks to a
//! client of Keystone's v3 API, apart from the handlers that find them.

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::{Domain, Project, Role, User, ValidatedToken};

/// The identity API version this service speaks, and when it last changed
/// (Keystone's Ussuri-era v3.14).
pub(crate) const VERSION_ID: &str = "v3.14";
const VERSION_UPDATED: &str = "2020-04-07T00:00:00Z";

/// A time as Keystone writes one in a token: microseconds, `Z`.
pub(crate) fn keystone_time(at: Timestamp) -> String {
    format!("{}.000000Z", at.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// The v3 version entry, linking to `identity_url/v3/`.
pub(crate) fn version(identity_url: &str) -> Value {
    json!({
        "id": VERSION_ID,
        "status": "stable",
        "updated": VERSION_UPDATED,
        "links": [{"rel": "self", "href": format!("{identity_url}/v3/")}],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json",
        }],
    })
}

fn domain_ref(domain: &Domain) -> Value {
    json!({"id": domain.id, "name": domain.name})
}

/// A token's body; `catalog` is the scoped token's catalog, `None` for an
/// unscoped token or when the client asked for `nocatalog`.
pub(crate) fn token(token: &ValidatedToken, catalog: Option<Value>) -> Value {
    let mut body = json!({
        "methods": token.methods,
        "user": {
            "id": token.user.id,
            "name": token.user.name,
            "domain": domain_ref(&token.user_domain),
            "password_expires_at": null,
        },
        "audit_ids": token.audit_ids,
        "expires_at": keystone_time(token.expires_at),
        "issued_at": keystone_time(token.issued_at),
    });
    let scoped = token.project.is_some() || token.domain.is_some();
    if let (Some(project), Some(domain)) = (&token.project, &token.project_domain) {
        body["project"] =
            json!({"id": project.id, "name": project.name, "domain": domain_ref(domain)});
        body["is_domain"] = json!(false);
    }
    if let Some(domain) = &token.domain {
        body["domain"] = domain_ref(domain);
    }
    if scoped {
        body["roles"] = token
            .roles
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect();
        if let Some(catalog) = catalog {
            body["catalog"] = catalog;
        }
    }
    json!({ "token": body })
}

/// A user as `GET /v3/users/{id}` shows it.
pub(crate) fn user(user: &User, identity_url: &str) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "default_project_id": user.default_project_id,
        "enabled": user.enabled,
        "password_expires_at": null,
        "options": {},
        "links": {"self": format!("{identity_url}/v3/users/{}", user.id)},
    })
}

/// A project as the project APIs show it.
pub(crate) fn project(project: &Project, identity_url: &str) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        "description": "",
        "enabled": project.enabled,
        "parent_id": project.domain_id,
        "is_domain": false,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/projects/{}", project.id)},
    })
}

/// A domain as `GET /v3/domains/{id}` shows it.
pub(crate) fn domain(domain: &Domain, identity_url: &str) -> Value {
    json!({
        "id": domain.id,
        "name": domain.name,
        "description": "The default domain",
        "enabled": true,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/domains/{}", domain.id)},
    })
}

/// A role as `GET /v3/roles` shows it.
pub(crate) fn role(role: &Role, identity_url: &str) -> Value {
    json!({
        "id": role.id,
        "name": role.name,
        "domain_id": null,
        "description": null,
        "options": {},
        "links": {"self": format!("{identity_url}/v3/roles/{}", role.id)},
    })
}

/// A collection: `{key: items, "links": {...}}`, with no paging.
pub(crate) fn collection(key: &str, items: Vec<Value>, self_url: &str) -> Value {
    json!({
        key: items,
        "links": {"self": self_url, "previous": null, "next": null},
    })
}
