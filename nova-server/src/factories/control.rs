//! The control factories: `control` (nova-control's app: behaviours, the
//! clock, forced states, the request log), and the two filters that tie a
//! pipeline to it, `control_log` (records each request; put it before the
//! token filter, so refused requests are recorded too) and
//! `control_hooks` (applies the behaviours of an event to each request and
//! keeps a shared store's clock current; put it after the token filter,
//! so a behaviour can match the caller's project).

use nova_control::Event;
use nova_paste::{FactoryConfig, FactoryError};
use nova_store::StoreRequest;

use crate::control_plane::ControlSettings;
use crate::AppPlan;

/// The control token when the section sets none: the seed's.
pub(crate) const DEFAULT_CONTROL_TOKEN: &str = "open-sesame";

/// How many requests the request log keeps when the section does not say.
pub(crate) const DEFAULT_REQUEST_LOG_SIZE: usize = 1000;

/// The largest request log a section may ask for.
const MAX_REQUEST_LOG_SIZE: usize = 100_000;

/// The `control` app over `request`'s store. Keys: `token` (default
/// `open-sesame`), `clock` (`real`, the default, or `controlled`),
/// `allow_remote` (default false: only callers on the loopback address
/// are served), `request_log_size` (default 1000).
pub(crate) fn control_app(
    config: &FactoryConfig,
    request: StoreRequest,
) -> Result<AppPlan, FactoryError> {
    let token = config
        .get("token")
        .map(str::trim)
        .unwrap_or(DEFAULT_CONTROL_TOKEN)
        .to_owned();
    if token.is_empty() {
        return Err(FactoryError::bad_value("token", "must not be empty"));
    }
    let controlled_clock = match config.get("clock").map(str::trim) {
        None | Some("real") => false,
        Some("controlled") => true,
        Some(other) => {
            return Err(FactoryError::bad_value(
                "clock",
                format_args!("{other:?} is not real or controlled"),
            ))
        }
    };
    let request_log_size = config
        .parse::<usize>("request_log_size")?
        .unwrap_or(DEFAULT_REQUEST_LOG_SIZE);
    if !(1..=MAX_REQUEST_LOG_SIZE).contains(&request_log_size) {
        return Err(FactoryError::bad_value(
            "request_log_size",
            format_args!("must be between 1 and {MAX_REQUEST_LOG_SIZE}"),
        ));
    }
    let settings = ControlSettings {
        token,
        controlled_clock,
        allow_remote: config.bool("allow_remote")?.unwrap_or(false),
        request_log_size,
    };
    Ok(AppPlan::control(request, settings))
}

/// The `control_log` filter: key `service`, the name requests are
/// recorded under (default `compute`).
pub(crate) fn control_log(config: &FactoryConfig, app: AppPlan) -> Result<AppPlan, FactoryError> {
    let service = config
        .get("service")
        .map(str::trim)
        .unwrap_or("compute")
        .to_owned();
    if service.is_empty() {
        return Err(FactoryError::bad_value("service", "must not be empty"));
    }
    Ok(app.controlled(move |inner, control| control.recorder(inner, &service)))
}

/// The `control_hooks` filter: key `event`, `api` (the default: any
/// compute request) or `identity.token` (token requests to the identity
/// service).
pub(crate) fn control_hooks(config: &FactoryConfig, app: AppPlan) -> Result<AppPlan, FactoryError> {
    let event = match config.get("event").map(str::trim) {
        None | Some("api") => Event::Api,
        Some("identity.token") => Event::IdentityToken,
        Some(other) => {
            return Err(FactoryError::bad_value(
                "event",
                format_args!("{other:?} is not api or identity.token"),
            ))
        }
    };
    Ok(app.controlled(move |inner, control| control.hooks(inner, event)))
}
