"""openstacksdk against nova-rs when the control API makes it fail.

Run by tests/tests/control_clients.rs with the pinned openstacksdk, against
a live nova-server whose control API has been told to fail creates named
sdk-fail-* with 500 and to put builds of servers named sdk-error-* into
ERROR. Connects with an openrc's variables, tries both as a script would,
and prints one JSON object of what the SDK raised, for the Rust test to
check; any other outcome is printed as such, and the test fails on it.

    python control.py
"""

import json
import os

import openstack
from openstack import exceptions

conn = openstack.connect(
    auth_url=os.environ["OS_AUTH_URL"],
    username=os.environ["OS_USERNAME"],
    password=os.environ["OS_PASSWORD"],
    project_name=os.environ["OS_PROJECT_NAME"],
    user_domain_name="Default",
    project_domain_name="Default",
    region_name="RegionOne",
    load_yaml_config=False,
    load_envvars=False,
)
seen = {}

try:
    conn.compute.create_server(
        name="sdk-fail-1", image_id=conn.image.find_image("cirros").id,
        flavor_id=conn.compute.find_flavor("m1.tiny").id, networks="none",
    )
    seen["create"] = "succeeded"
except exceptions.HttpException as error:
    seen["create"] = {
        "raised": type(error).__name__,
        "status_code": error.status_code,
        "message": str(error),
    }

try:
    server = conn.create_server(
        "sdk-error-1", image="cirros", flavor="m1.tiny", wait=True, timeout=60
    )
    seen["create_server"] = {"returned": server.status}
except exceptions.SDKException as error:
    seen["create_server"] = {"raised": type(error).__name__, "message": str(error)}
    found = conn.compute.find_server("sdk-error-1")
    seen["create_server"]["status"] = found.status if found else None
    seen["create_server"]["fault"] = found.fault if found else None

print(json.dumps(seen))
