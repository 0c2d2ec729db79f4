"""openstacksdk against nova-rs with password authentication: one user's
servers, as the identity service scopes them.

Run by tests/tests/identity_clients.rs with the pinned openstacksdk,
against a live nova-server that serves its identity service at
OS_AUTH_URL; OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME (an openrc's
variables) name the user and project. Looks up each server id given, lists
the project's servers, creates one and deletes it, and prints one JSON
object of what the SDK saw, for the Rust test to check; an exception fails
the script, and so the test.

    python identity.py [SERVER_ID ...]
"""

import datetime
import json
import os
import sys

import openstack

user = os.environ["OS_USERNAME"]
# The arguments a script passes, not a clouds.yaml nor the environment.
conn = openstack.connect(
    auth_url=os.environ["OS_AUTH_URL"],
    username=user,
    password=os.environ["OS_PASSWORD"],
    project_name=os.environ["OS_PROJECT_NAME"],
    user_domain_name="Default",
    project_domain_name="Default",
    region_name="RegionOne",
    load_yaml_config=False,
    load_envvars=False,
)
access = conn.session.auth.get_access(conn.session)
now = datetime.datetime.now(datetime.timezone.utc)


def listed():
    """The project's servers, as `GET /servers/detail` shows them."""
    return [
        {"id": s.id, "name": s.name, "project_id": s.project_id}
        for s in conn.compute.servers()
    ]


seen = {
    "project_id": conn.current_project_id,
    "user_id": conn.current_user_id,
    "roles": sorted(access.role_names),
    "expires in": (access.expires - now).total_seconds(),
    "found": {
        server_id: conn.compute.find_server(server_id) is not None
        for server_id in sys.argv[1:]
    },
    "listed": listed(),
}

cirros = conn.image.find_image("cirros", ignore_missing=False)
server = conn.compute.create_server(
    name=f"sdk-{user}", image_id=cirros.id, flavor_id="1", networks="none"
)
server = conn.compute.wait_for_server(server, interval=0.2, wait=30)
seen["created"] = {
    "id": server.id,
    "name": server.name,
    "status": server.status,
    "project_id": server.project_id,
    "user_id": server.user_id,
}
seen["listed with it"] = listed()
conn.compute.delete_server(server)
conn.compute.wait_for_delete(server, interval=0.2, wait=30)
seen["listed after delete"] = listed()
print(json.dumps(seen))
