//! The service catalog a scoped token carries: where the compute,
//! identity and image APIs are, as devstack registers them (service
//! names `nova`, `keystone`, `glance`, region `RegionOne`, one endpoint
//! per interface), built from one base URL.

use serde_json::{json, Value};

use crate::model::derived_id;

/// The region every endpoint is in.
pub const REGION: &str = "RegionOne";

/// The services: type, name and path below the base URL.
const SERVICES: [(&str, &str, &str); 3] = [
    ("compute", "nova", "/v2.1"),
    ("identity", "keystone", "/identity"),
    ("image", "glance", "/image"),
];

/// The interfaces each service has an endpoint for.
const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

/// The catalog for `base` (`http://cloud.example`, no trailing slash), in
/// Keystone's token form. Service and endpoint ids are derived from the
/// service type and interface, so they stay the same.
pub fn catalog(base: &str) -> Value {
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|(kind, name, path)| {
            let endpoints: Vec<Value> = INTERFACES
                .iter()
                .map(|interface| {
                    json!({
                        "id": derived_id("endpoint", &format!("{kind}/{interface}")),
                        "interface": interface,
                        "region_id": REGION,
                        "region": REGION,
                        "url": format!("{base}{path}"),
                    })
                })
                .collect();
            json!({
                "endpoints": endpoints,
                "id": derived_id("service", kind),
                "type": kind,
                "name": name,
            })
        })
        .collect();
    Value::Array(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_three_interfaces_under_the_base() {
        let catalog = catalog("http://cloud.example");
        let services = catalog.as_array().unwrap();
        assert_eq!(services.len(), 3);
        let compute = &services[0];
        assert_eq!(compute["type"], "compute");
        assert_eq!(compute["name"], "nova");
        let endpoints = compute["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), 3);
        assert!(endpoints
            .iter()
            .all(|e| e["url"] == "http://cloud.example/v2.1" && e["region_id"] == REGION));
        assert_eq!(
            services[1]["endpoints"][0]["url"],
            "http://cloud.example/identity"
        );
        assert_eq!(
            services[2]["endpoints"][2]["url"],
            "http://cloud.example/image"
        );
        assert_eq!(compute["endpoints"][0]["id"].as_str().unwrap().len(), 32);
    }
}
