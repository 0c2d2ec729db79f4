"""openstacksdk against nova-rs: servers, from one to a hundred and twenty.

Run by tests/tests/clients.rs with the pinned openstacksdk, against a live
nova-server named by the clouds.yaml in OS_CLIENT_CONFIG_FILE (OS_CLOUD
names the cloud), whose compute app builds in a fraction of a second and
has no quota. Prints one JSON object of what the SDK saw, for the Rust test
to check; an exception fails the script, and so the test.

    python compute.py
"""

import json
import time

import openstack


def summary(server):
    """What the test checks of a server the SDK returned."""
    return {
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "addresses": server.addresses,
        "flavor": server.flavor.original_name if server.flavor else None,
        "image": server.image.id if server.image else None,
    }


conn = openstack.connect()
seen = {}

# Every GET of a servers listing, as the SDK sent it and the server
# answered, to show which links the SDK followed.
pages = []


def record_listing(response, *args, **kwargs):
    request = response.request
    if request.method == "GET" and "/servers/detail" in request.url:
        body = response.json()
        pages.append(
            {
                "url": request.url,
                "status": response.status_code,
                "ids": [s["id"] for s in body.get("servers", [])],
                "links": body.get("servers_links"),
            }
        )


conn.session.session.hooks["response"].append(record_listing)

# A microversion above the newest the server serves is refused in Nova's
# words.
newest = conn.compute.get_endpoint_data().max_microversion
above = f"{newest[0]}.{newest[1] + 1}"
response = conn.compute.get("/servers", microversion=above)
seen["above newest"] = {
    "asked": above,
    "status": response.status_code,
    "body": response.json(),
}

# The cloud layer: image and flavor by name, no network named, so the
# SDK asks for `auto` (2.37+), and waits for ACTIVE with an address (it
# deletes a server that becomes ACTIVE without one, and raises).
started = time.monotonic()
created = conn.create_server(
    "sdk-one", image="cirros", flavor="m1.tiny", wait=True, timeout=60
)
seen["create_server"] = summary(created)
seen["create_server seconds"] = time.monotonic() - started
seen["list_servers"] = [summary(s) for s in conn.list_servers()]
seen["get_server by name"] = summary(conn.get_server("sdk-one"))
seen["get_server by id"] = summary(conn.get_server(created.id))
seen["wait_for_server"] = summary(conn.wait_for_server(created, timeout=60))

# The proxy layer: an action and its wait, polled at the SDK's interval.
asked = time.monotonic()
conn.compute.reboot_server(created, "SOFT")
rebooting = conn.compute.get_server(created.id)
looked = time.monotonic() - asked
# wait_for_server refreshes the server it is given in place.
right_after = rebooting.status
rebooted = conn.compute.wait_for_server(
    rebooting, status="ACTIVE", interval=0.2, wait=30
)
seen["reboot"] = {
    "right after": right_after,
    "seconds after": looked,
    "then": rebooted.status,
}
conn.compute.stop_server(created)
stopped = conn.compute.wait_for_server(
    created, status="SHUTOFF", interval=0.2, wait=30
)
seen["stop"] = {"status": stopped.status, "power_state": stopped.power_state}

seen["delete_server"] = conn.delete_server("sdk-one", wait=True, timeout=60)
seen["get_server after delete"] = conn.get_server("sdk-one")
seen["delete_server again"] = conn.delete_server("sdk-one", wait=True)

# A hundred and twenty servers in one request, then listed 50 at a time:
# the SDK follows each page's `servers_links` next link.
cirros = conn.image.find_image("cirros", ignore_missing=False)
first = conn.compute.create_server(
    name="page",
    image_id=cirros.id,
    flavor_id="1",
    networks="none",
    min_count=120,
    max_count=120,
)
pages.clear()
listed = list(conn.compute.servers(limit=50))
seen["paged"] = {
    "first id": first.id,
    "servers": [
        {
            "id": s.id,
            "name": s.name,
            "reservation_id": s.reservation_id,
            "launch_index": s.launch_index,
        }
        for s in listed
    ],
    "requests": pages,
}
print(json.dumps(seen))
