//! A throw-away PostgreSQL database per test, on the server that
//! `NOVA_TEST_POSTGRES_URL` names (`scripts/with-postgres.sh` starts one and
//! sets it; `.ci/run` does the same in CI).
//!
//! Without the variable the PostgreSQL tests say so and pass locally; when
//! `CI=true` they fail instead, so CI can never skip them silently.

/// The variable naming the test server, e.g.
/// `postgres://postgres@127.0.0.1:54329/postgres`; its user must be allowed
/// to create databases.
pub const URL_VARIABLE: &str = "NOVA_TEST_POSTGRES_URL";

/// The test server's URL; `None` (after saying so) when it is not set on a
/// developer's machine. Panics when it is not set in CI.
#[allow(clippy::print_stderr)] // the test output is where a skipped run is reported
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{URL_VARIABLE} is not set, and CI=true: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!(
                "{URL_VARIABLE} is not set: PostgreSQL test not run (scripts/with-postgres.sh runs them)"
            );
            None
        }
    }
}

/// Creates a new empty database on the server at `server_url` and returns
/// the URL of that database.
pub async fn fresh_database(server_url: &str) -> String {
    let (client, connection) = tokio_postgres::connect(server_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {URL_VARIABLE}: {error}"));
    let connection = tokio::spawn(connection);
    let name = format!("nova_test_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|error| panic!("cannot create a test database: {error}"));
    drop(client);
    let _ = connection.await;
    with_database(server_url, &name)
}

/// `server_url` with its database replaced by `name`.
fn with_database(server_url: &str, name: &str) -> String {
    let (scheme, rest) = server_url
        .split_once("://")
        .unwrap_or_else(|| panic!("{URL_VARIABLE} must be a postgres:// URL"));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map(|at| &tail[at..]).unwrap_or("");
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_replaced_and_the_query_kept() {
        for (url, expected) in [
            ("postgres://p@h:1/postgres", "postgres://p@h:1/x"),
            ("postgres://p@h:1", "postgres://p@h:1/x"),
            (
                "postgres://p@h/db?sslmode=disable",
                "postgres://p@h/x?sslmode=disable",
            ),
        ] {
            assert_eq!(super::with_database(url, "x"), expected);
        }
    }
}
