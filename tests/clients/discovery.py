"""openstacksdk against nova-rs: version discovery and microversions.

Run by tests/tests/clients.rs with the pinned openstacksdk, against a live
nova-server named by the clouds.yaml in OS_CLIENT_CONFIG_FILE. Prints one
JSON object of what the SDK saw, for the Rust test to check.
"""

import json

import openstack

conn = openstack.connect(cloud="nova-rs")
data = conn.compute.get_endpoint_data()
seen = {
    "api_version": list(data.api_version),
    "min_microversion": list(data.min_microversion),
    "max_microversion": list(data.max_microversion),
    "url": data.url,
}
for asked in ["2.1", "2.5"]:
    response = conn.compute.get("/instances", microversion=asked)
    seen["get " + asked] = {
        "status": response.status_code,
        "sent": response.request.headers.get("OpenStack-API-Version"),
        "echoed": response.headers.get("OpenStack-API-Version"),
        "body": response.json(),
    }
print(json.dumps(seen))
