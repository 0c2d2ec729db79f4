//! The seed's route table for instances, `Router.add_routes` in `routers.py`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
