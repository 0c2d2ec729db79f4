//! The route tables: the seed's for instances (`Router.add_routes` in
//! `routers.py`) and the compute API's (Nova's
//! `nova/api/openstack/compute/routes.py`), each one table read top to
//! bottom.

use http::Method;

use crate::Mapper;

/// The five instance routes of the seed, connected to the actions
/// `index`, `create`, `show`, `update` and `delete` that an instance
/// controller dispatches on.
///
/// | path | method | action |
/// |---|---|---|
/// | `/instances` | GET | index |
/// | `/instances` | POST | create |
/// | `/instances/{instance_id}` | GET | show |
/// | `/instances/{instance_id}` | PUT | update |
/// | `/instances/{instance_id}` | DELETE | delete |
pub fn instance_routes() -> Mapper {
    let mut mapper = Mapper::new();
    let table: [(&str, &str, Method); 5] = [
        ("/instances", "create", Method::POST),
        ("/instances", "index", Method::GET),
        ("/instances/{instance_id}", "show", Method::GET),
        ("/instances/{instance_id}", "update", Method::PUT),
        ("/instances/{instance_id}", "delete", Method::DELETE),
    ];
    for (template, action, method) in table {
        // The table is fixed and was checked by the tests below; a failure
        // here would be a bug in this file, not in anyone's input.
        if let Err(error) = mapper.connect(template, action, &[method]) {
            unreachable!("the built-in instance routes are valid: {error}");
        }
    }
    mapper
}

/// The compute API v2.1's routes: one row per path, each method with its
/// `controller.action` (`servers.show`), as Nova's `ROUTE_LIST`. The table
/// is a project mapper, so every route also answers behind a leading
/// project id (`/{project_id}/servers`), as Nova's `ProjectMapper` does.
///
/// A compute application dispatches on the action's two halves: the
/// controller before the dot, its method after.
pub fn compute_routes() -> Mapper {
    use Method as M;
    let table: &[(&str, &[(M, &str)])] = &[
        ("/flavors", &[(M::GET, "flavors.index")]),
        ("/flavors/detail", &[(M::GET, "flavors.detail")]),
        ("/flavors/{id}", &[(M::GET, "flavors.show")]),
        (
            "/flavors/{flavor_id}/os-extra_specs",
            &[(M::GET, "flavor_extra_specs.index")],
        ),
        (
            "/flavors/{flavor_id}/os-extra_specs/{id}",
            &[(M::GET, "flavor_extra_specs.show")],
        ),
        ("/images", &[(M::GET, "images.index")]),
        ("/images/detail", &[(M::GET, "images.detail")]),
        ("/images/{id}", &[(M::GET, "images.show")]),
        ("/limits", &[(M::GET, "limits.index")]),
        (
            "/os-keypairs",
            &[(M::GET, "keypairs.index"), (M::POST, "keypairs.create")],
        ),
        (
            "/os-keypairs/{id}",
            &[(M::GET, "keypairs.show"), (M::DELETE, "keypairs.delete")],
        ),
        (
            "/os-quota-sets/{id}",
            &[
                (M::GET, "quota_sets.show"),
                (M::PUT, "quota_sets.update"),
                (M::DELETE, "quota_sets.delete"),
            ],
        ),
        (
            "/os-quota-sets/{id}/defaults",
            &[(M::GET, "quota_sets.defaults")],
        ),
        (
            "/os-quota-sets/{id}/detail",
            &[(M::GET, "quota_sets.detail")],
        ),
        (
            "/os-availability-zone",
            &[(M::GET, "availability_zone.index")],
        ),
        (
            "/os-availability-zone/detail",
            &[(M::GET, "availability_zone.detail")],
        ),
        (
            "/servers",
            &[(M::GET, "servers.index"), (M::POST, "servers.create")],
        ),
        ("/servers/detail", &[(M::GET, "servers.detail")]),
        (
            "/servers/{id}",
            &[
                (M::GET, "servers.show"),
                (M::PUT, "servers.update"),
                (M::DELETE, "servers.delete"),
            ],
        ),
        ("/servers/{id}/action", &[(M::POST, "servers.action")]),
        ("/servers/{server_id}/ips", &[(M::GET, "ips.index")]),
        ("/servers/{server_id}/ips/{id}", &[(M::GET, "ips.show")]),
        (
            "/servers/{server_id}/metadata",
            &[
                (M::GET, "metadata.index"),
                (M::POST, "metadata.create"),
                (M::PUT, "metadata.update_all"),
            ],
        ),
        (
            "/servers/{server_id}/metadata/{id}",
            &[
                (M::GET, "metadata.show"),
                (M::PUT, "metadata.update"),
                (M::DELETE, "metadata.delete"),
            ],
        ),
        (
            "/servers/{server_id}/os-server-password",
            &[
                (M::GET, "server_password.index"),
                (M::DELETE, "server_password.clear"),
            ],
        ),
        (
            "/servers/{server_id}/tags",
            &[
                (M::GET, "server_tags.index"),
                (M::PUT, "server_tags.update_all"),
                (M::DELETE, "server_tags.delete_all"),
            ],
        ),
        (
            "/servers/{server_id}/tags/{id}",
            &[
                (M::GET, "server_tags.show"),
                (M::PUT, "server_tags.update"),
                (M::DELETE, "server_tags.delete"),
            ],
        ),
        (
            "/servers/{server_id}/os-instance-actions",
            &[(M::GET, "instance_actions.index")],
        ),
        (
            "/servers/{server_id}/os-instance-actions/{id}",
            &[(M::GET, "instance_actions.show")],
        ),
    ];
    let mut mapper = Mapper::project_mapper("project_id");
    for (template, actions) in table {
        for (method, action) in actions.iter() {
            // A fixed table checked by the tests below: a failure is a bug
            // in this file, not in anyone's input.
            if let Err(error) = mapper.connect(template, action, std::slice::from_ref(method)) {
                unreachable!("the built-in compute routes are valid: {error}");
            }
        }
    }
    mapper
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compute_routes_answer_with_and_without_a_project_id() {
        let mapper = compute_routes();
        let table = [
            (Method::GET, "/servers", "servers.index", None),
            (Method::GET, "/servers/detail", "servers.detail", None),
            (
                Method::GET,
                "/servers/abc",
                "servers.show",
                Some(("id", "abc")),
            ),
            (
                Method::POST,
                "/servers/abc/action",
                "servers.action",
                Some(("id", "abc")),
            ),
            (
                Method::DELETE,
                "/0123abcd/servers/abc/metadata/k",
                "metadata.delete",
                Some(("id", "k")),
            ),
            (Method::GET, "/0123abcd/servers", "servers.index", None),
            (Method::GET, "/flavors/detail", "flavors.detail", None),
            (Method::GET, "/limits", "limits.index", None),
            (
                Method::DELETE,
                "/os-keypairs/my-key",
                "keypairs.delete",
                Some(("id", "my-key")),
            ),
            (
                Method::GET,
                "/0123abcd/os-quota-sets/0123abcd/detail",
                "quota_sets.detail",
                Some(("id", "0123abcd")),
            ),
            (
                Method::GET,
                "/os-availability-zone/detail",
                "availability_zone.detail",
                None,
            ),
            (
                Method::PUT,
                "/servers/abc/tags/web",
                "server_tags.update",
                Some(("id", "web")),
            ),
            (
                Method::DELETE,
                "/0123abcd/servers/abc/tags",
                "server_tags.delete_all",
                Some(("server_id", "abc")),
            ),
            (
                Method::DELETE,
                "/servers/abc/os-server-password",
                "server_password.clear",
                Some(("server_id", "abc")),
            ),
        ];
        for (method, path, action, param) in table {
            let args = mapper.recognize(&method, path).unwrap();
            assert_eq!(args.action(), action, "{path}");
            if let Some((name, value)) = param {
                assert_eq!(args.param(name), Some(value), "{path}");
            }
            assert_eq!(
                args.param("project_id"),
                path.starts_with("/0123abcd").then_some("0123abcd"),
                "{path}"
            );
        }
        // Not a project id (not hex), and a project id alone is no route.
        assert!(mapper.recognize(&Method::GET, "/tenant/servers").is_err());
        assert!(mapper.recognize(&Method::GET, "/0123abcd").is_err());
        assert!(mapper.recognize(&Method::GET, "/0123abcd/").is_err());
        // The project prefix keeps the method check.
        assert!(matches!(
            mapper.recognize(&Method::PATCH, "/0123abcd/servers"),
            Err(crate::MatchError::MethodNotAllowed { .. })
        ));
    }

    #[test]
    fn the_instance_routes_cover_the_seed_api() {
        let mapper = instance_routes();
        let id = "0b5f6c1e-2f4e-4d8e-9a43-5b1f6c7d8e9f";
        let table = [
            (Method::GET, "/instances".to_owned(), "index"),
            (Method::POST, "/instances".to_owned(), "create"),
            (Method::GET, format!("/instances/{id}"), "show"),
            (Method::PUT, format!("/instances/{id}"), "update"),
            (Method::DELETE, format!("/instances/{id}"), "delete"),
        ];
        for (method, path, action) in table {
            let args = mapper.recognize(&method, &path).unwrap();
            assert_eq!(args.action(), action);
            if path.len() > "/instances".len() {
                assert_eq!(args.param("instance_id"), Some(id));
            }
        }
    }
}
