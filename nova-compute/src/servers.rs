//! The servers controller: Nova's `servers.py` for `GET /servers`,
//! `GET /servers/detail`, `GET/PUT/DELETE /servers/{id}` and
//! `POST /servers`. Actions are `server_actions`'.
//!
//! With a [`FaultInjector`](crate::FaultInjector), a create is asked about
//! once it is checked (`Create`), then each of its builds (`Build`) unless
//! the create's answer already shapes them all; a delete (`Delete`) once
//! its checks pass. A `Fail` at any of these answers the request with its
//! fault and stores nothing.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use http::header::{ETAG, LOCATION};
use http::StatusCode;
use nova_controller::{IfMatch, Timestamp};
use nova_router::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api::{empty, json, set_header, Call, Keyed};
use crate::course::Course;
use crate::image_catalog::{find_image, Viewer};
use crate::lookup::{
    change_server, find_server, is_gone, last_changed, project_of, record_action, shared_details,
    visible_to,
};
use crate::policy::{self, Rule};
use crate::schemas::python_repr_plain;
use crate::schemas::servers::{check_create, check_update, known_query_params, sort_keys};
use crate::server_actions::{check_flavor_fits, check_image_active, generate_password};
use crate::state::{power_state, states_for_status, task_state, vm_state, Lifecycle, State};
use crate::views::servers::{self as view, Parts};
use crate::{
    ComputeApi, ComputeError, Port, Server, ServerDetails, ServerEvent, ServerEventKind,
    ServerScope,
};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => list(api, &call, false).await,
        "detail" => list(api, &call, true).await,
        "show" => show(api, &call).await,
        "create" => create(api, &call).await,
        "update" => update(api, &call).await,
        "delete" => delete(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("servers.{other}"))),
    }
}

/// A server answer with its `ETag`.
fn with_etag(mut response: Response, server: &Server) -> Response {
    set_header(&mut response, ETAG, &format!("\"{}\"", server.version));
    response
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let server = find_server(api, call, call.param("id"), Rule::ServersShow).await?;
    let view = view::ServerView::new(api, call, &server, api.clock.now(), Parts::show(call));
    Ok(with_etag(
        json(StatusCode::OK, &Keyed("server", &view)),
        &server,
    ))
}

async fn update(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    // No body is validated as JSON null, as Nova does.
    let body = call.json_body()?.unwrap_or(Value::Null);
    check_update(call.version, &body)?;
    let fields = body["server"].clone();
    let server = change_server(
        api,
        call,
        call.param("id"),
        IfMatch::from_headers(&call.headers),
        Rule::ServersUpdate,
        move |server, details, _now| {
            if let Some(name) = fields.get("name").and_then(Value::as_str) {
                server.name = name.to_owned();
            }
            if let Some(description) = fields.get("description") {
                details.description = description.as_str().map(str::to_owned);
            }
            if let Some(ip) = fields.get("accessIPv4").and_then(Value::as_str) {
                details.access_ipv4 = ip.to_owned();
            }
            if let Some(ip) = fields.get("accessIPv6").and_then(Value::as_str) {
                details.access_ipv6 = ip.to_owned();
            }
            if let Some(hostname) = fields.get("hostname").and_then(Value::as_str) {
                details.hostname = hostname.to_owned();
            }
            Ok(())
        },
    )
    .await?;
    let view = view::ServerView::new(api, call, &server, api.clock.now(), Parts::update(call));
    Ok(with_etag(
        json(StatusCode::OK, &Keyed("server", &view)),
        &server,
    ))
}

async fn delete(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let duration = api.cloud.durations.delete;
    let call_copy = CallStamp::of(call);
    let is_admin = policy::is_admin(call);
    let id_text = call.param("id").to_owned();
    let if_match = IfMatch::from_headers(&call.headers);
    let course = match api.injector {
        Some(_) => match ask_delete(api, call, &if_match, is_admin).await? {
            Some(course) => course,
            // Already being deleted: nothing happens, nothing is asked.
            None => return Ok(empty(StatusCode::NO_CONTENT)),
        },
        None => Course::Ordinary,
    };
    change_server(
        api,
        call,
        call.param("id"),
        if_match,
        Rule::ServersDelete,
        move |server, details, now| {
            if details.lock.is_some() && !is_admin {
                return Err(ComputeError::Conflict(format!(
                    "Instance {id_text} is locked"
                )));
            }
            if server.deleted_at.is_some() {
                // Already being deleted: Nova answers the same 204.
                return Ok(());
            }
            let ending = crate::course::begin(
                details,
                now,
                task_state::DELETING,
                duration,
                State::settled(vm_state::DELETED, power_state::NOSTATE),
                &course,
            );
            // A deletion that fails or is held leaves the server there.
            if let Some(deleted) = ending.succeeds_at() {
                server.deleted_at = Some(now);
                details.terminated_at = Some(deleted);
            }
            call_copy.record(details, "delete", "compute_terminate_instance", now);
            crate::course::record_ending(details, &ending);
            Ok(())
        },
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The injector's course for deleting the call's server, asked once the
/// checks the deletion makes have passed on the server as it is now (the
/// same checks run again in the atomic change); `None` when the server is
/// already being deleted, which changes nothing.
async fn ask_delete(
    api: &ComputeApi,
    call: &Call,
    if_match: &IfMatch,
    is_admin: bool,
) -> Result<Option<Course>, ComputeError> {
    let server = find_server(api, call, call.param("id"), Rule::ServersDelete).await?;
    if !if_match.matches(server.version) {
        return Err(ComputeError::PreconditionFailed {
            id: server.id,
            current: server.version,
        });
    }
    let details = shared_details(api, &server);
    if details.lock.is_some() && !is_admin {
        return Err(ComputeError::Conflict(format!(
            "Instance {} is locked",
            call.param("id")
        )));
    }
    if server.deleted_at.is_some() {
        return Ok(None);
    }
    let event = ServerEvent {
        kind: ServerEventKind::Delete,
        project_id: project_of(api, &server),
        server_id: Some(server.id),
        server_name: &server.name,
        metadata: &details.metadata,
        action: None,
    };
    crate::course::ask(api, event).await.map(Some)
}

/// What `record_action` needs of a call, owned, for a change closure.
#[derive(Clone)]
struct CallStamp {
    request_id: String,
    user_id: String,
    project_id: String,
}

impl CallStamp {
    fn of(call: &Call) -> Self {
        CallStamp {
            request_id: call.request_id.clone(),
            user_id: call.user_id.clone(),
            project_id: call.project_id.clone(),
        }
    }

    fn record(&self, details: &mut ServerDetails, action: &str, event: &str, now: Timestamp) {
        record_action(
            details,
            &self.request_id,
            &self.user_id,
            &self.project_id,
            action,
            event,
            now,
        );
    }
}

// ---- listing -------------------------------------------------------------

/// Nova's `is_all_tenants`: present without a value, or a true value.
fn all_tenants(call: &Call) -> Result<bool, ComputeError> {
    match call.query_last("all_tenants") {
        None => Ok(false),
        Some("") => Ok(true),
        Some(value) => parse_bool(value).ok_or_else(|| {
            ComputeError::BadRequest(format!("Invalid value '{value}' for all_tenants"))
        }),
    }
}

/// oslo's `bool_from_string(strict=True)`.
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

struct Listing {
    limit: usize,
    marker: Option<String>,
    sort: Vec<(String, bool)>,
}

fn listing_params(api: &ComputeApi, call: &Call) -> Result<Listing, ComputeError> {
    let limit = match call.query_last("limit") {
        None => api.cloud.max_limit,
        Some(raw) => {
            if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ComputeError::BadRequest(format!(
                    "Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]*$'"
                )));
            }
            raw.parse::<usize>()
                .unwrap_or(usize::MAX)
                .min(api.cloud.max_limit)
        }
    };
    let marker = call.query_last("marker").map(str::to_owned);
    let (valid, ignored) = sort_keys(call.version);
    let keys: Vec<&str> = call.query_all("sort_key").collect();
    let dirs: Vec<&str> = call.query_all("sort_dir").collect();
    for dir in &dirs {
        if !matches!(*dir, "asc" | "desc") {
            return Err(ComputeError::BadRequest(
                "Unknown sort direction, must be 'desc' or 'asc'".to_owned(),
            ));
        }
    }
    let mut sort = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        if ignored.contains(key) {
            continue;
        }
        if !valid.contains(key) {
            let mut all: Vec<&str> = valid.iter().chain(ignored.iter()).copied().collect();
            all.sort_unstable();
            let options: Vec<String> = all.iter().map(|k| format!("'{k}'")).collect();
            return Err(ComputeError::BadRequest(format!(
                "Invalid input for query parameters sort_key. Value: {key}. '{key}' is not one of [{}]",
                options.join(", ")
            )));
        }
        if matches!(*key, "host" | "node") && !policy::is_admin(call) {
            return Err(ComputeError::Forbidden(format!(
                "Only administrators can sort servers by {key}"
            )));
        }
        // As Nova's get_sort_params: a missing direction is the first
        // given, or desc.
        let dir = dirs.get(index).or(dirs.first()).copied().unwrap_or("desc");
        sort.push(((*key).to_owned(), dir == "asc"));
    }
    if sort.is_empty() {
        sort.push(("created_at".to_owned(), false));
    }
    Ok(Listing {
        limit,
        marker,
        sort,
    })
}

/// A listing filter, checked against each server as Nova's database
/// query does.
enum Filter {
    Regex(&'static str, regex::Regex),
    Exact(&'static str, Vec<String>),
    Status(Vec<(&'static str, Option<&'static str>)>),
    ChangesSince(Timestamp),
    ChangesBefore(Timestamp),
    Tags {
        all: Vec<String>,
        any: bool,
        negate: bool,
    },
    Locked(bool),
}

fn regex_filter(name: &'static str, pattern: &str) -> Result<Filter, ComputeError> {
    // Nova matches with the database's REGEXP, Python's re.search; a
    // pattern it cannot compile matches literally, as MySQL's would not
    // but SQLite's fallback does.
    let regex = regex::Regex::new(pattern)
        .or_else(|_| regex::Regex::new(&regex::escape(pattern)))
        .map_err(|_| ComputeError::BadRequest(format!("Invalid filter field: {name}.")))?;
    Ok(Filter::Regex(name, regex))
}

fn timestamp_param(call: &Call, name: &'static str) -> Result<Option<Timestamp>, ComputeError> {
    let Some(raw) = call.query_last(name) else {
        return Ok(None);
    };
    let parsed = raw
        .parse::<Timestamp>()
        .or_else(|_| format!("{raw}Z").parse::<Timestamp>())
        .map_err(|_| {
            ComputeError::BadRequest(format!(
                "Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'"
            ))
        })?;
    Ok(Some(parsed))
}

fn filters(call: &Call) -> Result<(Vec<Filter>, bool), ComputeError> {
    let mut filters = Vec::new();
    let all_filters = policy::allows(call, Rule::ServersAllowAllFilters, &call.project_id);
    if call.at_least(2, 75) {
        let known = known_query_params(call.version);
        if let Some((key, _)) = call
            .query
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            return Err(ComputeError::BadRequest(format!(
                "Additional properties are not allowed ('{key}' was unexpected)"
            )));
        }
    }
    for (key, _) in &call.query {
        if key.starts_with('_')
            || matches!(
                key.as_str(),
                "block_device_mapping"
                    | "services"
                    | "metadata"
                    | "system_metadata"
                    | "info_cache"
                    | "security_groups"
                    | "pci_devices"
            )
        {
            return Err(ComputeError::BadRequest(format!(
                "Invalid filter field: {key}."
            )));
        }
    }
    // Filters a caller without `allow_all_filters` may use (Nova's
    // _get_server_search_options); others are ignored for them, as Nova
    // strips them.
    let mut allowed = vec![
        "reservation_id",
        "name",
        "status",
        "image",
        "flavor",
        "ip",
        "changes-since",
    ];
    if call.at_least(2, 5) {
        allowed.push("ip6");
    }
    if call.at_least(2, 26) {
        allowed.extend(["tags", "tags-any", "not-tags", "not-tags-any"]);
    }
    if call.at_least(2, 66) {
        allowed.push("changes-before");
    }
    if call.at_least(2, 73) {
        allowed.push("locked");
    }
    if call.at_least(2, 83) {
        allowed.extend([
            "availability_zone",
            "config_drive",
            "key_name",
            "created_at",
            "launched_at",
            "terminated_at",
            "power_state",
            "task_state",
            "vm_state",
            "progress",
            "user_id",
        ]);
    }
    if call.at_least(2, 90) {
        allowed.push("hostname");
    }
    let usable = |key: &str| all_filters || allowed.contains(&key);
    let mut with_deleted = false;
    for (key, regex_key) in [
        ("name", "name"),
        ("display_name", "name"),
        ("reservation_id", "reservation_id"),
        ("ip", "ip"),
        ("ip6", "ip6"),
        ("key_name", "key_name"),
        ("availability_zone", "availability_zone"),
        ("hostname", "hostname"),
        ("description", "description"),
        ("flavor", "flavor"),
    ] {
        if let (true, Some(value)) = (usable(key), call.query_last(key)) {
            filters.push(regex_filter(regex_key, value)?);
        }
    }
    for (key, exact_key) in [
        ("image", "image"),
        ("image_ref", "image"),
        ("uuid", "uuid"),
        ("user_id", "user_id"),
        ("vm_state", "vm_state"),
        ("task_state", "task_state"),
        ("power_state", "power_state"),
        ("config_drive", "config_drive"),
    ] {
        if usable(key) {
            let values: Vec<String> = call.query_all(key).map(str::to_owned).collect();
            if !values.is_empty() {
                let values = values
                    .iter()
                    .map(|v| v.rsplit('/').next().unwrap_or(v).to_owned())
                    .collect();
                filters.push(Filter::Exact(exact_key, values));
            }
        }
    }
    let statuses: Vec<&str> = call.query_all("status").collect();
    if !statuses.is_empty() {
        let states: Vec<_> = statuses.iter().flat_map(|s| states_for_status(s)).collect();
        if states.is_empty() {
            if call.at_least(2, 38) {
                return Err(ComputeError::BadRequest("Invalid status value".to_owned()));
            }
            filters.push(Filter::Status(Vec::new()));
        } else {
            if states.iter().all(|(vm, _)| *vm == vm_state::DELETED) {
                if !policy::is_admin(call) {
                    return Err(ComputeError::Forbidden(
                        "Only administrators may list deleted instances".to_owned(),
                    ));
                }
                with_deleted = true;
            }
            filters.push(Filter::Status(states));
        }
    }
    let since = timestamp_param(call, "changes-since")?;
    let before = if call.at_least(2, 66) {
        timestamp_param(call, "changes-before")?
    } else {
        None
    };
    if let (Some(since), Some(before)) = (since, before) {
        if before < since {
            return Err(ComputeError::BadRequest(
                "The value of changes-since must be less than or equal to changes-before."
                    .to_owned(),
            ));
        }
    }
    if let Some(since) = since {
        filters.push(Filter::ChangesSince(since));
        with_deleted = true;
    }
    if let Some(before) = before {
        filters.push(Filter::ChangesBefore(before));
        with_deleted = true;
    }
    if all_filters {
        if let Some(deleted) = call.query_last("deleted") {
            with_deleted = parse_bool(deleted).unwrap_or(false);
        }
    }
    if call.at_least(2, 26) {
        for (key, any, negate) in [
            ("tags", false, false),
            ("tags-any", true, false),
            ("not-tags", false, true),
            ("not-tags-any", true, true),
        ] {
            if let Some(value) = call.query_last(key) {
                let all = value.split(',').map(str::to_owned).collect();
                filters.push(Filter::Tags { all, any, negate });
            }
        }
    }
    if call.at_least(2, 73) {
        if let Some(value) = call.query_last("locked") {
            let locked = parse_bool(value).ok_or_else(|| {
                ComputeError::BadRequest(format!(
                    "Unrecognized value '{value}', acceptable values are: '1', 't', 'true', 'on', 'y', 'yes', '0', 'f', 'false', 'off', 'n', 'no'"
                ))
            })?;
            filters.push(Filter::Locked(locked));
        }
    }
    Ok((filters, with_deleted))
}

/// One server as a listing sees it at one instant.
struct Row {
    server: Server,
    /// Shared with the stored row: a listing copies no server's fields.
    details: Arc<ServerDetails>,
    state: State,
    /// When it last changed, a transition's end included.
    updated: Timestamp,
}

impl Filter {
    fn matches(&self, row: &Row) -> bool {
        let details = &row.details;
        match self {
            Filter::Regex(field, regex) => {
                let candidates: Vec<String> = match *field {
                    "name" => vec![row.server.name.clone()],
                    "reservation_id" => vec![details.reservation_id.clone()],
                    "ip" => addresses(details, 4),
                    "ip6" => addresses(details, 6),
                    "key_name" => details.key_name.clone().into_iter().collect(),
                    "availability_zone" => vec![details.availability_zone.clone()],
                    "hostname" => vec![details.hostname.clone()],
                    "description" => details.description.clone().into_iter().collect(),
                    "flavor" => vec![details.flavor.id.clone()],
                    _ => Vec::new(),
                };
                candidates.iter().any(|c| regex.is_match(c))
            }
            Filter::Exact(field, values) => {
                let value = match *field {
                    "image" => details.image_id.clone(),
                    "uuid" => row.server.id.to_string(),
                    "user_id" => details.user_id.clone(),
                    "vm_state" => row.state.vm_state.clone(),
                    "task_state" => row.state.task_state.clone().unwrap_or_default(),
                    "power_state" => row.state.power_state.to_string(),
                    "config_drive" => if details.config_drive { "True" } else { "" }.to_owned(),
                    _ => String::new(),
                };
                values.contains(&value)
            }
            Filter::Status(states) => states.iter().any(|(vm, task)| {
                *vm == row.state.vm_state
                    && (task.is_none() || row.state.task_state.as_deref() == *task)
            }),
            Filter::ChangesSince(since) => row.updated >= *since,
            Filter::ChangesBefore(before) => row.updated <= *before,
            Filter::Tags { all, any, negate } => {
                let has = |t: &String| details.tags.contains(t);
                let hit = if *any {
                    all.iter().any(has)
                } else {
                    all.iter().all(has)
                };
                hit != *negate
            }
            Filter::Locked(locked) => details.lock.is_some() == *locked,
        }
    }
}

fn addresses(details: &ServerDetails, version: u8) -> Vec<String> {
    details
        .ports
        .iter()
        .filter(|p| p.ip_version == version)
        .map(|p| p.address.clone())
        .collect()
}

fn compare(key: &str, a: &Row, b: &Row) -> Ordering {
    let text = |row: &Row| -> String {
        let d = &row.details;
        match key {
            "display_name" => row.server.name.clone(),
            "display_description" => d.description.clone().unwrap_or_default(),
            "uuid" => row.server.id.to_string(),
            "vm_state" => row.state.vm_state.clone(),
            "task_state" => row.state.task_state.clone().unwrap_or_default(),
            "hostname" => d.hostname.clone(),
            "key_name" => d.key_name.clone().unwrap_or_default(),
            "availability_zone" => d.availability_zone.clone(),
            "project_id" => row.server.project_id.clone(),
            "user_id" => d.user_id.clone(),
            "image_ref" => d.image_id.clone(),
            "instance_type_id" => d.flavor.id.clone(),
            "access_ip_v4" => d.access_ipv4.clone(),
            "access_ip_v6" => d.access_ipv6.clone(),
            "host" | "node" => view::HOST.to_owned(),
            "locked_by" | "locked" => d
                .lock
                .as_ref()
                .map(|l| l.locked_by.clone())
                .unwrap_or_default(),
            "config_drive" => d.config_drive.to_string(),
            "reservation_id" => d.reservation_id.clone(),
            _ => String::new(),
        }
    };
    let time = |row: &Row| -> Option<Timestamp> {
        match key {
            "created_at" => Some(row.server.created_at),
            "updated_at" => Some(row.updated),
            "launched_at" => row.details.launched_at,
            "terminated_at" => row.details.terminated_at,
            _ => None,
        }
    };
    let number = |row: &Row| -> Option<u64> {
        match key {
            "power_state" => Some(u64::from(row.state.power_state)),
            "launch_index" => Some(u64::from(row.details.launch_index)),
            "progress" => Some(0),
            _ => None,
        }
    };
    match (time(a), time(b)) {
        (Some(x), Some(y)) => return x.cmp(&y),
        (None, Some(_)) if matches!(key, "launched_at" | "terminated_at") => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        _ => {}
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.cmp(&y);
    }
    text(a).cmp(&text(b))
}

async fn list(api: &ComputeApi, call: &Call, detail: bool) -> Result<Response, ComputeError> {
    let (rule, all_tenants_rule) = if detail {
        (Rule::ServersDetail, Rule::ServersDetailAllTenants)
    } else {
        (Rule::ServersIndex, Rule::ServersIndexAllTenants)
    };
    policy::authorize(call, rule, &call.project_id)?;
    let all_tenants = all_tenants(call)?;
    if all_tenants {
        policy::authorize(call, all_tenants_rule, &call.project_id)?;
    }
    let listing = listing_params(api, call)?;
    let (filters, with_deleted) = filters(call)?;
    let projects = if all_tenants {
        call.query_last("project_id")
            .or(call.query_last("tenant_id"))
            .map(|p| vec![p.to_owned()])
    } else {
        let mut own = vec![call.project_id.clone()];
        if call.project_id == api.cloud.default_project {
            own.push(String::new());
        }
        Some(own)
    };
    let now = api.clock.now();
    let servers = api
        .store
        .servers(ServerScope {
            projects: projects.clone(),
            include_deleted: true,
        })
        .await?;
    let wanted_project = projects;
    let mut rows: Vec<Row> = servers
        .into_iter()
        .filter(|server| {
            // An instance created through the seed's API is the default
            // project's; a project filter names it by that id.
            wanted_project.as_ref().is_none_or(|projects| {
                projects.iter().any(|p| p == project_of(api, server))
                    || projects
                        .iter()
                        .any(|p| p.is_empty() && server.project_id.is_empty())
            }) && visible_to(api, call, server)
        })
        .filter(|server| {
            let gone = is_gone(api, server, now);
            !gone || with_deleted
        })
        .map(|server| {
            let details = shared_details(api, &server);
            let mut state = details.lifecycle().at(now).clone();
            if is_gone(api, &server, now) {
                state = State::settled(vm_state::DELETED, state.power_state);
            }
            let updated = last_changed(&server, &details, now);
            Row {
                server,
                details,
                state,
                updated,
            }
        })
        .filter(|row| filters.iter().all(|f| f.matches(row)))
        .collect();
    rows.sort_by(|a, b| {
        for (key, ascending) in &listing.sort {
            let order = compare(key, a, b);
            let order = if *ascending { order } else { order.reverse() };
            if order != Ordering::Equal {
                return order;
            }
        }
        // Nova's tie-break: the database id, newest first.
        Ordering::Equal
    });
    let start = match &listing.marker {
        None => 0,
        Some(marker) => match rows.iter().position(|r| r.server.id.to_string() == *marker) {
            Some(index) => index + 1,
            None => {
                return Err(ComputeError::BadRequest(format!(
                    "marker [{marker}] not found"
                )));
            }
        },
    };
    let page: Vec<&Row> = rows.iter().skip(start).take(listing.limit).collect();
    let parts = Parts::detail(call);
    let next = (listing.limit > 0 && page.len() == listing.limit)
        .then(|| page.last())
        .flatten()
        .map(|last| {
            let collection = if detail { "servers/detail" } else { "servers" };
            json!([{
                "rel": "next",
                "href": crate::pagination::next_link(call, &call.query, collection, &last.server.id.to_string()),
            }])
        });
    if detail {
        // Each server's view is written straight into the answer.
        let servers: Vec<view::ServerView<'_>> = page
            .iter()
            .map(|row| view::ServerView::new(api, call, &row.server, now, parts))
            .collect();
        return Ok(json(
            StatusCode::OK,
            &ServerListing {
                servers: &servers,
                next,
            },
        ));
    }
    let servers: Vec<Value> = page
        .iter()
        .map(|row| view::basic(call, &row.server))
        .collect();
    let body = ServerListing {
        servers: &servers,
        next,
    };
    Ok(json(StatusCode::OK, &body))
}

/// `{"servers": [...], "servers_links": [next]}`, the links only when
/// there is a next page.
#[derive(serde::Serialize)]
struct ServerListing<'a, T: serde::Serialize> {
    servers: &'a [T],
    #[serde(rename = "servers_links", skip_serializing_if = "Option::is_none")]
    next: Option<Value>,
}

// ---- create --------------------------------------------------------------

/// The last path segment of an id or a link (`http://…/images/ID`), as
/// Nova's `get_id_from_href`.
fn id_from_href(href: &str) -> &str {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
}

/// Nova's `utils.sanitize_hostname`.
fn sanitize_hostname(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    let trimmed: String = lowered.chars().take(63).collect();
    let trimmed = trimmed.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "server".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `r-` and eight characters, as Nova's reservation ids.
fn reservation_id() -> String {
    const SYMBOLS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let id = Uuid::new_v4();
    let tail: String = id.as_bytes()[..8]
        .iter()
        .map(|b| SYMBOLS[usize::from(*b) % SYMBOLS.len()] as char)
        .collect();
    format!("r-{tail}")
}

/// The most servers one create builds (more are asked for than fit in a
/// process only by mistake).
const MAX_SERVERS_PER_REQUEST: u32 = 1000;

/// How a create asked for networks.
enum Networks {
    Auto,
    None,
    Listed(Vec<Value>),
}

fn count_param(server: &Value, name: &str) -> Result<Option<u32>, ComputeError> {
    let Some(value) = server.get(name) else {
        return Ok(None);
    };
    // The schema let through only digits (as a string or an integer);
    // Python has no integer too large, so neither does this: a huge count
    // is a request for as many as the quota allows.
    let number = match value {
        Value::Number(n) => n
            .as_u64()
            .or(n.as_f64().filter(|f| *f >= 1.0).map(|_| u64::MAX)),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.parse::<u64>().unwrap_or(u64::MAX))
        }
        _ => None,
    };
    match number {
        Some(n) if n >= 1 => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
        _ => Err(ComputeError::BadRequest(format!(
            "Invalid input for field/attribute {name}. Value: {}. {} is less than the minimum of 1",
            python_repr_plain(value),
            crate::schemas::python_repr(value)
        ))),
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => parse_bool(s).unwrap_or(false),
        _ => false,
    }
}

/// Whether an `availability_zone` names a host or a node (`zone:host`,
/// `zone::node`, `zone:host:node`), as Nova's `parse_availability_zone`
/// splits it.
fn names_host_or_node(zone: &str) -> bool {
    match zone.split(':').collect::<Vec<_>>().as_slice() {
        [_, host] => !host.is_empty(),
        [_, host, node] => !host.is_empty() || !node.is_empty(),
        // No colon names neither; more than two Nova refuses to parse.
        _ => false,
    }
}

/// The create rules, in the order Nova's `create` asks them: the
/// request's own, then each for what the body asks beyond a plain server
/// (the server will be the caller's project's, the target of each).
fn authorize_create(call: &Call, server: &Value) -> Result<(), ComputeError> {
    let own = call.project_id.as_str();
    let given = |key: &str| match server.get(key) {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(text)) => !text.is_empty(),
        _ => false,
    };
    policy::authorize(call, Rule::ServersCreate, own)?;
    if given("trusted_image_certificates") {
        policy::authorize(call, Rule::ServersCreateTrustedCerts, own)?;
    }
    let zone = server.get("availability_zone").and_then(Value::as_str);
    if zone.is_some_and(names_host_or_node) {
        policy::authorize(call, Rule::ServersCreateForcedHost, own)?;
    }
    if call.at_least(2, 74) && (given("host") || given("hypervisor_hostname")) {
        policy::authorize(call, Rule::ServersCreateRequestedDestination, own)?;
    }
    if given("block_device_mapping") || given("block_device_mapping_v2") {
        policy::authorize(call, Rule::ServersCreateAttachVolume, own)?;
    }
    // `auto` asks for a network as a list does; `none` (no allocation)
    // and no `networks` at all (before 2.37) ask for none.
    let networks = match server.get("networks") {
        Some(Value::String(text)) => text == "auto",
        Some(Value::Array(items)) => !items.is_empty(),
        _ => false,
    };
    if networks {
        policy::authorize(call, Rule::ServersCreateAttachNetwork, own)?;
    }
    Ok(())
}

async fn create(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let body = call.json_body()?.unwrap_or(Value::Null);
    check_create(call.version, &body)?;
    let server = &body["server"];
    let min_count = count_param(server, "min_count")?.unwrap_or(1);
    let max_count = count_param(server, "max_count")?.unwrap_or(min_count);
    if min_count > max_count {
        return Err(ComputeError::BadRequest(
            "min_count must be <= max_count".to_owned(),
        ));
    }
    authorize_create(call, server)?;
    let flavor_ref = match &server["flavorRef"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => id_from_href(s).to_owned(),
        _ => String::new(),
    };
    // A disabled flavor, or a private one for a non-admin (nova-rs has no
    // flavor access lists), is as unknown as a missing one, as in Nova.
    let flavor = api
        .cloud
        .flavor(&flavor_ref)
        .filter(|f| !f.disabled && (f.is_public || policy::is_admin(call)))
        .ok_or_else(|| {
            ComputeError::BadRequest(format!("Flavor {flavor_ref} could not be found."))
        })?
        .clone();
    let image_ref = server.get("imageRef").and_then(Value::as_str).unwrap_or("");
    if image_ref.is_empty() {
        let volumes = ["block_device_mapping", "block_device_mapping_v2"]
            .iter()
            .any(|key| {
                server
                    .get(*key)
                    .and_then(Value::as_array)
                    .is_some_and(|b| !b.is_empty())
            });
        // Booting from a volume needs a volume service nova-rs does not
        // have: any volume named is one that cannot be found.
        return Err(ComputeError::BadRequest(if volumes {
            "Block Device Mapping is Invalid: failed to get volume.".to_owned()
        } else {
            "Missing imageRef attribute".to_owned()
        }));
    }
    let image = match Uuid::try_parse(id_from_href(image_ref)) {
        Ok(id) => find_image(&api.cloud, api.store.as_ref(), &Viewer::of(call), id).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ComputeError::BadRequest("Can not find requested image".to_owned()))?;
    // Nova's `_validate_flavor_image`: a snapshot still being taken, or
    // an image the flavor is too small for, builds nothing.
    check_image_active(&image, api.clock.now())?;
    check_flavor_fits(&flavor.snapshot(), &image)?;
    let image_id = image.id;
    let image_properties = crate::image_properties::standard_properties(&image);
    let key_name = match server.get("key_name").and_then(Value::as_str) {
        Some(name) => Some(crate::keypairs::key_of_caller(api, call, name).await?.name),
        None => None,
    };
    // The zone the server is pinned to (`zone:host` and `zone::node`
    // name the zone first), checked as Nova checks it.
    let requested_zone = match server.get("availability_zone").and_then(Value::as_str) {
        Some(zone) => crate::availability_zones::pinned_zone(&api.cloud, zone)?,
        None => None,
    };
    let networks = match server.get("networks") {
        None => Networks::Auto,
        Some(Value::String(s)) if s == "none" => Networks::None,
        Some(Value::String(_)) => Networks::Auto,
        Some(Value::Array(list)) if list.is_empty() => Networks::Auto,
        Some(Value::Array(list)) => Networks::Listed(list.clone()),
        Some(_) => Networks::Auto,
    };
    let mut attach = Vec::new();
    match &networks {
        Networks::None => {}
        Networks::Auto => {
            if let Some(network) = api.cloud.networks.first() {
                attach.push((network.clone(), None, None));
            }
        }
        Networks::Listed(list) => {
            for entry in list {
                if let Some(port) = entry.get("port").and_then(Value::as_str) {
                    return Err(ComputeError::BadRequest(format!(
                        "Port id {port} could not be found."
                    )));
                }
                let raw = entry.get("uuid").and_then(Value::as_str).unwrap_or("");
                let network = Uuid::try_parse(raw)
                    .ok()
                    .and_then(|id| api.cloud.network(&id))
                    .ok_or_else(|| {
                        ComputeError::BadRequest(format!("Network {raw} could not be found."))
                    })?;
                let fixed = entry
                    .get("fixed_ip")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let tag = entry.get("tag").and_then(Value::as_str).map(str::to_owned);
                attach.push((network.clone(), fixed, tag));
            }
        }
    }
    if max_count > 1 && attach.iter().any(|(_, fixed, _)| fixed.is_some()) {
        return Err(ComputeError::BadRequest(
            "max_count cannot be greater than 1 if an fixed_ip is specified.".to_owned(),
        ));
    }
    // One request builds at most MAX_SERVERS_PER_REQUEST servers: with an
    // unlimited quota, Nova would try billions and so exhaust the server.
    if min_count > MAX_SERVERS_PER_REQUEST {
        return Err(ComputeError::BadRequest(format!(
            "min_count must be <= {MAX_SERVERS_PER_REQUEST}: nova-rs builds at most {MAX_SERVERS_PER_REQUEST} servers per request"
        )));
    }
    let max_count = max_count.min(MAX_SERVERS_PER_REQUEST);
    // As many servers as the quota leaves room for, up to max_count.
    let quota = crate::quota::caller_quota(api, call).await?;
    let max_count = crate::quota::instances_within_quota(
        api,
        call,
        &quota,
        i64::from(flavor.vcpus),
        i64::try_from(flavor.ram).unwrap_or(i64::MAX),
        min_count,
        max_count,
    )
    .await?;
    let name = server["name"].as_str().unwrap_or_default().to_owned();
    let metadata: BTreeMap<String, String> = server
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let metadata_items = quota.effective().metadata_items;
    if metadata.len() as i64 > metadata_items && metadata_items >= 0 {
        return Err(ComputeError::Forbidden(format!(
            "Quota exceeded for resources: ['metadata_items']. Maximum number of metadata items exceeds {metadata_items}"
        )));
    }
    // Nova keeps the named groups once each (`set(...)`), and the compute
    // API puts the server in `default` when none is named.
    let mut security_groups: Vec<String> = Vec::new();
    for name in named_security_groups(server) {
        if !security_groups.iter().any(|known| known == name) {
            security_groups.push(name.to_owned());
        }
    }
    if security_groups.is_empty() {
        security_groups.push("default".to_owned());
    }
    let hints: BTreeMap<String, Value> = body
        .get("os:scheduler_hints")
        .or(body.get("OS-SCH-HNT:scheduler_hints"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    // Everything is checked; the injector, if any, decides how the builds
    // go (or that the request fails) before anything is stored.
    let create_course = crate::course::ask(
        api,
        ServerEvent {
            kind: ServerEventKind::Create,
            project_id: &call.project_id,
            server_id: None,
            server_name: &name,
            metadata: &metadata,
            action: None,
        },
    )
    .await?;
    let now = api.clock.now();
    let admin_pass = server
        .get("adminPass")
        .and_then(Value::as_str)
        .map_or_else(generate_password, str::to_owned);
    let reservation = reservation_id();
    let mut created = Vec::new();
    for index in 0..max_count {
        let id = Uuid::new_v4();
        let display_name = if max_count > 1 {
            format!("{name}-{}", index + 1)
        } else {
            name.clone()
        };
        let hostname = match server.get("hostname").and_then(Value::as_str) {
            Some(hostname) if max_count == 1 => hostname.to_owned(),
            _ => sanitize_hostname(&display_name),
        };
        let ports = attach
            .iter()
            .map(|(network, fixed, tag)| Port {
                id: Uuid::new_v4().to_string(),
                network_id: network.id.to_string(),
                network_name: network.name.clone(),
                address: fixed.clone().unwrap_or_else(|| {
                    let b = id.as_bytes();
                    format!(
                        "{}.{}.{}.{}",
                        network.ipv4_prefix[0],
                        network.ipv4_prefix[1],
                        b[0] % 255,
                        1 + b[1] % 254
                    )
                }),
                ip_version: 4,
                mac_address: {
                    let b = id.as_bytes();
                    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4])
                },
                tag: tag.clone(),
            })
            .collect();
        // A course the create's answer set holds for every build; else
        // each build is asked about on its own. A `Fail` here fails the
        // whole request, nothing of it stored yet.
        let course = if create_course.is_ordinary() {
            crate::course::ask(
                api,
                ServerEvent {
                    kind: ServerEventKind::Build,
                    project_id: &call.project_id,
                    server_id: Some(id),
                    server_name: &display_name,
                    metadata: &metadata,
                    action: None,
                },
            )
            .await?
        } else {
            create_course.clone()
        };
        let mut details = ServerDetails {
            user_id: call.user_id.clone(),
            image_id: image_id.to_string(),
            image_properties: image_properties.clone(),
            flavor: flavor.snapshot(),
            // Building from here on: `begin` below.
            lifecycle: Some(Lifecycle::settled(State::settled(
                vm_state::BUILDING,
                power_state::NOSTATE,
            ))),
            ports,
            metadata: metadata.clone(),
            key_name: key_name.clone(),
            availability_zone: api.cloud.availability_zone.clone(),
            requested_availability_zone: requested_zone.clone(),
            user_data: server
                .get("user_data")
                .and_then(Value::as_str)
                .map(str::to_owned),
            // Before 2.19 Nova stores the name as the description.
            description: if call.at_least(2, 19) {
                server
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            } else {
                Some(name.clone())
            },
            access_ipv4: server
                .get("accessIPv4")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            access_ipv6: server
                .get("accessIPv6")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            tags: server
                .get("tags")
                .and_then(Value::as_array)
                .map(|given| crate::server_tags::distinct_tags(given))
                .unwrap_or_default(),
            config_drive: truthy(server.get("config_drive")),
            reservation_id: reservation.clone(),
            launch_index: index,
            hostname,
            lock: None,
            launched_at: None,
            terminated_at: None,
            fault: None,
            stuck_by: None,
            security_groups: security_groups.clone(),
            trusted_image_certificates: server
                .get("trusted_image_certificates")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                }),
            scheduler_hints: hints.clone(),
            old_flavor: None,
            // Posted by the guest to a metadata service, never at create.
            password: String::new(),
            actions: Vec::new(),
        };
        record_action(
            &mut details,
            &call.request_id,
            &call.user_id,
            &call.project_id,
            "create",
            "compute__do_build_and_run_instance",
            now,
        );
        let ending = crate::course::begin(
            &mut details,
            now,
            task_state::SPAWNING,
            api.cloud.durations.build,
            State::settled(vm_state::ACTIVE, power_state::RUNNING),
            &course,
        );
        // Active from the build's end, if it ends well; a build that
        // fails or is held never launched.
        details.launched_at = ending.succeeds_at();
        crate::course::record_ending(&mut details, &ending);
        created.push(Server {
            id,
            name: display_name,
            created_at: now,
            updated_at: now,
            version: 1,
            project_id: call.project_id.clone(),
            deleted_at: None,
            details: Some(std::sync::Arc::new(details)),
        });
    }
    let first = created[0].clone();
    api.store.create_servers(created).await?;
    if truthy(server.get("return_reservation_id")) {
        return Ok(json(
            StatusCode::ACCEPTED,
            &json!({ "reservation_id": reservation }),
        ));
    }
    let id = first.id.to_string();
    // Nova echoes the request's list; entries without a name (which its
    // schema admits and its create ignores) are left out so that the answer
    // keeps to Nova's own response schema, which requires `name`.
    let groups: Vec<Value> = if server.get("security_groups").is_some() {
        named_security_groups(server)
            .map(|name| json!({ "name": name }))
            .collect()
    } else {
        vec![json!({"name": "default"})]
    };
    let body = json!({"server": {
        "id": id,
        "links": view::links(call, "servers", &id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": groups,
        "adminPass": admin_pass,
    }});
    let mut response = json(StatusCode::ACCEPTED, &body);
    set_header(&mut response, LOCATION, &call.self_link("servers", &id));
    Ok(with_etag(response, &first))
}

/// The non-empty `name`s of the request's `security_groups`, in order.
fn named_security_groups(server: &Value) -> impl Iterator<Item = &str> {
    server
        .get("security_groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|group| group.get("name").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests;
