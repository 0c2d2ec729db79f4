//! The compute API's OpenAPI document, for the `openapi` app to serve
//! beside the API (nova-controller's
//! [`OpenApiApp::with_document`](nova_controller::OpenApiApp::with_document)).

/// The OpenAPI 3.1 description of the compute API as
/// `etc/nova-rs/api-paste.ini` serves it below `/v2.1`, with paths relative
/// to where the API is mounted: every route of
/// [`compute_routes`](nova_router::compute_routes) and the seed's
/// `/instances` routes the compute app serves beside them, their request
/// schemas those the controllers check at the newest microversion served
/// ([`COMPUTE_API_VERSIONS`](crate::COMPUTE_API_VERSIONS), the document's
/// `info.version`), their answers and Nova's faults.
pub const COMPUTE_OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_the_newest_microversion_served() {
        let document: serde_json::Value = serde_json::from_str(COMPUTE_OPENAPI_DOCUMENT).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(
            document["info"]["version"],
            crate::COMPUTE_API_VERSIONS.max.to_string()
        );
    }
}
