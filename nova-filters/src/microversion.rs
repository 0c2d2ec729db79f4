//! `microversion`: which version of the compute API a request asked for,
//! read once, as Nova's `wsgi.Resource` reads it for every controller.
//!
//! The version comes from `OpenStack-API-Version: compute X.Y` (the header
//! may name several services, comma separated, or come more than once), else
//! from the legacy `X-OpenStack-Nova-API-Version: X.Y`; `latest` means the
//! newest version served, and no header means 2.1. A malformed version is
//! 400 `badRequest`, one outside the served range 406, both with Nova's
//! words. Otherwise the version goes down the pipeline as an
//! [`ApiVersion`] request extension, and every answer from below, faults
//! included, names it in both headers with `Vary` on them, as Nova's do.

use http::header::{HeaderMap, HeaderName, HeaderValue, VARY};
use http::StatusCode;
use nova_router::{
    ready, ApiVersion, ApiVersionRange, Fault, NovaService, Request, Response, ResponseFuture,
    Service,
};

/// The standard header, `OpenStack-API-Version: compute 2.1`.
pub const OPENSTACK_API_VERSION: HeaderName = HeaderName::from_static("openstack-api-version");

/// Nova's legacy header, `X-OpenStack-Nova-API-Version: 2.1`.
pub const NOVA_API_VERSION: HeaderName = HeaderName::from_static("x-openstack-nova-api-version");

/// The service type the standard header names for Nova.
const SERVICE_TYPE: &str = "compute";

/// What every versioned answer varies on.
const VARIES_ON: &str = "OpenStack-API-Version, X-OpenStack-Nova-API-Version";

/// The filter; see the module documentation.
#[derive(Debug, Clone)]
pub struct Microversions<S> {
    inner: S,
    served: ApiVersionRange,
}

impl<S> Microversions<S> {
    /// Negotiates versions in `served` for the requests passed to `inner`.
    pub fn new(inner: S, served: ApiVersionRange) -> Self {
        Microversions { inner, served }
    }

    /// The version `headers` ask for, or the fault that refuses them.
    fn negotiate(&self, headers: &HeaderMap) -> Result<ApiVersion, Fault> {
        let Some(asked) = requested(headers) else {
            return Ok(ApiVersion::DEFAULT);
        };
        if asked == "latest" {
            return Ok(self.served.max);
        }
        let version: ApiVersion = asked
            .parse()
            .map_err(|error| Fault::bad_request(format!("{error}")))?;
        if !self.served.contains(version) {
            return Err(Fault::new(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Version {version} is not supported by the API. Minimum is {} and maximum is {}.",
                    self.served.min, self.served.max
                ),
            ));
        }
        Ok(version)
    }
}

/// The version string the headers carry, as `microversion_parse` finds it:
/// the standard header's entry for `compute` first, else the last entry of
/// the legacy header.
fn requested(headers: &HeaderMap) -> Option<&str> {
    let standard = headers
        .get_all(OPENSTACK_API_VERSION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|entry| {
            let (service, version) = entry.trim().split_once(char::is_whitespace)?;
            service
                .eq_ignore_ascii_case(SERVICE_TYPE)
                .then(|| version.trim())
        });
    standard.or_else(|| {
        let legacy = headers
            .get_all(NOVA_API_VERSION)
            .iter()
            .rev()
            .find_map(|value| value.to_str().ok())?;
        let last = legacy.rsplit(',').next()?.trim();
        (!last.is_empty()).then_some(last)
    })
}

/// The values of both version headers, `compute 2.47` and `2.47`, written
/// by hand rather than formatted: every answer of the API carries them.
fn version_headers(version: ApiVersion) -> (HeaderValue, HeaderValue) {
    // "compute " and two numbers of at most five digits around a dot.
    let mut text = [0u8; SERVICE_TYPE.len() + 1 + 11];
    text[..SERVICE_TYPE.len()].copy_from_slice(SERVICE_TYPE.as_bytes());
    text[SERVICE_TYPE.len()] = b' ';
    let start = SERVICE_TYPE.len() + 1;
    let mut end = start;
    for (index, number) in [version.major(), version.minor()].into_iter().enumerate() {
        if index == 1 {
            text[end] = b'.';
            end += 1;
        }
        let digits = number.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut rest = number;
        for digit in text[end..end + digits].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        end += digits;
    }
    // Letters, a space, digits and a dot are always a valid header value.
    let value =
        |bytes: &[u8]| HeaderValue::from_bytes(bytes).unwrap_or(HeaderValue::from_static("2.1"));
    (value(&text[..end]), value(&text[start..end]))
}

impl<S: NovaService> Service<Request> for Microversions<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        let version = match self.negotiate(req.headers()) {
            Ok(version) => version,
            Err(fault) => return ready(fault.into_response()),
        };
        req.extensions_mut().insert(version);
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            let headers = response.headers_mut();
            let (standard, legacy) = version_headers(version);
            headers.insert(OPENSTACK_API_VERSION, standard);
            headers.insert(NOVA_API_VERSION, legacy);
            headers.append(VARY, HeaderValue::from_static(VARIES_ON));
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

    fn filter(max_minor: u16) -> Microversions<impl NovaService> {
        let app = service_fn(|req: Request| async move {
            let seen = ApiVersion::of(&req).to_string();
            if req.uri().path() == "/missing" {
                return Fault::not_found("no such thing").into_response();
            }
            http::Response::new(Bytes::from(seen))
        });
        Microversions::new(
            app,
            ApiVersionRange {
                min: ApiVersion::new(2, 1),
                max: ApiVersion::new(2, max_minor),
            },
        )
    }

    async fn call(
        filter: &Microversions<impl NovaService>,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = http::Request::get(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        filter.call(req.body(Bytes::new()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn the_version_comes_from_the_standard_header_then_the_legacy_one() {
        let filter = filter(10);
        let table: [(&[(&str, &str)], &str); 10] = [
            (&[], "2.1"),
            (&[("OpenStack-API-Version", "compute 2.5")], "2.5"),
            (&[("OpenStack-API-Version", "COMPUTE 2.5")], "2.5"),
            (&[("OpenStack-API-Version", "compute latest")], "2.10"),
            (
                &[("OpenStack-API-Version", "identity 3.0, compute 2.3")],
                "2.3",
            ),
            (&[("OpenStack-API-Version", "identity 3.0")], "2.1"),
            (&[("X-OpenStack-Nova-API-Version", "2.7")], "2.7"),
            (&[("X-OpenStack-Nova-API-Version", "latest")], "2.10"),
            (
                &[
                    ("OpenStack-API-Version", "compute 2.2"),
                    ("X-OpenStack-Nova-API-Version", "2.9"),
                ],
                "2.2",
            ),
            (
                &[
                    ("OpenStack-API-Version", "identity 3.0"),
                    ("OpenStack-API-Version", "compute 2.4"),
                ],
                "2.4",
            ),
        ];
        for (headers, expected) in table {
            let response = call(&filter, "/", headers).await;
            assert_eq!(response.status(), 200, "{headers:?}");
            assert_eq!(response.body().as_ref(), expected.as_bytes(), "{headers:?}");
            assert_eq!(
                response.headers()["openstack-api-version"],
                format!("compute {expected}").as_str()
            );
            assert_eq!(response.headers()["x-openstack-nova-api-version"], expected);
            assert_eq!(
                response.headers()["vary"],
                "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
            );
        }
    }

    #[tokio::test]
    async fn malformed_versions_are_400_and_unserved_ones_406_in_novas_words() {
        let filter = filter(1);
        let table = [
            (
                ("OpenStack-API-Version", "compute 2.x"),
                400,
                "badRequest",
                "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum.",
            ),
            (
                ("X-OpenStack-Nova-API-Version", "2.01"),
                400,
                "badRequest",
                "API Version String 2.01 is of invalid format. Must be of format MajorNum.MinorNum.",
            ),
            (
                ("OpenStack-API-Version", "compute 2.2"),
                406,
                "computeFault",
                "Version 2.2 is not supported by the API. Minimum is 2.1 and maximum is 2.1.",
            ),
            (
                ("OpenStack-API-Version", "compute 1.0"),
                406,
                "computeFault",
                "Version 1.0 is not supported by the API. Minimum is 2.1 and maximum is 2.1.",
            ),
            (
                ("OpenStack-API-Version", "compute 2.1 beta"),
                400,
                "badRequest",
                "API Version String 2.1 beta is of invalid format. Must be of format MajorNum.MinorNum.",
            ),
        ];
        for ((name, value), status, kind, message) in table {
            let response = call(&filter, "/", &[(name, value)]).await;
            assert_eq!(response.status(), status, "{value}");
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body[kind]["message"], message, "{body}");
            assert_eq!(body[kind]["code"], status);
            assert!(!response.headers().contains_key("openstack-api-version"));
        }
    }

    #[test]
    fn version_headers_name_the_service_then_the_version() {
        for (major, minor, legacy) in [
            (2, 1, "2.1"),
            (2, 100, "2.100"),
            (65535, 65535, "65535.65535"),
            (1, 0, "1.0"),
        ] {
            let (standard, plain) = version_headers(ApiVersion::new(major, minor));
            assert_eq!(standard, format!("compute {legacy}").as_str());
            assert_eq!(plain, legacy);
        }
    }

    #[tokio::test]
    async fn faults_from_below_carry_the_version_too() {
        let response = call(
            &filter(3),
            "/missing",
            &[("OpenStack-API-Version", "compute 2.3")],
        )
        .await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["openstack-api-version"], "compute 2.3");
        assert!(response.headers().contains_key("vary"));
    }
}
