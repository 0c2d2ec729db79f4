//! `[server:main]`: where paste.deploy files say how to serve them.
//!
//! nova-server stands in for paste's HTTP server (`use = egg:Paste#http`)
//! and reads its `host` and `port`, and one key of its own,
//! `max_body_bytes`: the most bytes of a request body the edge reads.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use nova_paste::{FactoryConfig, FactoryError};

/// The port paste's HTTP server listens on when only `host` is given.
const DEFAULT_PORT: u16 = 8000;

/// The server sections nova-server can stand in for.
const SERVERS: [&str; 4] = [
    "egg:Paste#http",
    "egg:Paste#main",
    "egg:nova-rs",
    "egg:nova-rs#main",
];

/// What a file's `[server:main]` asks of the server; each is `None` when
/// the section (or the key) is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerSection {
    /// `host` (name or address, default 127.0.0.1) and `port` (default
    /// 8000), when either is given.
    pub listen: Option<SocketAddr>,
    /// `max_body_bytes`: the most bytes of a request body the server reads.
    pub max_body_bytes: Option<usize>,
}

/// Reads `[server:main]`'s keys; `use`, if given, must name paste's HTTP
/// server or ours.
pub(crate) fn read(config: &FactoryConfig) -> Result<ServerSection, FactoryError> {
    if let Some(server) = config.local("use") {
        if !SERVERS.contains(&server.trim()) {
            return Err(FactoryError::bad_value(
                "use",
                format_args!(
                    "{server:?} is not a server nova-server can stand in for (use {})",
                    SERVERS.join(", ")
                ),
            ));
        }
    }
    let max_body_bytes = match config.local("max_body_bytes") {
        Some(_) => match config.parse::<usize>("max_body_bytes")? {
            Some(0) => {
                return Err(FactoryError::bad_value(
                    "max_body_bytes",
                    "must be at least 1 byte",
                ))
            }
            bytes => bytes,
        },
        None => None,
    };
    Ok(ServerSection {
        listen: listen(config)?,
        max_body_bytes,
    })
}

fn listen(config: &FactoryConfig) -> Result<Option<SocketAddr>, FactoryError> {
    let host = config.local("host");
    let port = config.local("port");
    if host.is_none() && port.is_none() {
        return Ok(None);
    }
    let port = match port {
        Some(_) => config.parse::<u16>("port")?.unwrap_or(DEFAULT_PORT),
        None => DEFAULT_PORT,
    };
    let host = host.unwrap_or("127.0.0.1").trim();
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(|addr| addr.ip())
            .ok_or_else(|| {
                FactoryError::bad_value("host", format_args!("{host:?} does not resolve"))
            })?,
    };
    Ok(Some(SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_paste::Config;
    use std::path::Path;

    fn section(text: &str) -> Result<ServerSection, nova_paste::ConfigError> {
        let config = Config::from_text("s.ini", Path::new("."), text)?;
        Ok(config.load_server("main", read)?.unwrap_or_default())
    }

    #[test]
    fn server_sections_give_an_address_or_say_what_is_wrong() {
        assert_eq!(
            section("[server:main]\nhost = 0.0.0.0\nport = 8774\n")
                .unwrap()
                .listen,
            Some("0.0.0.0:8774".parse().unwrap())
        );
        assert_eq!(
            section("[server:main]\nuse = egg:Paste#http\nport = 1\n")
                .unwrap()
                .listen,
            Some("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(
            section("[server:main]\nuse = egg:Paste#http\n")
                .unwrap()
                .listen,
            None
        );
        for (text, says) in [
            (
                "[server:main]\nport = eighty\n",
                "port: \"eighty\" is not valid",
            ),
            (
                "[server:main]\nport = 70000\n",
                "port: \"70000\" is not valid",
            ),
            (
                "[server:main]\nuse = egg:gunicorn#main\n",
                "not a server nova-server",
            ),
            ("[server:main]\nworkers = 4\n", "unknown key \"workers\""),
            (
                "[server:main]\nhost = no.such.host.invalid\n",
                "does not resolve",
            ),
            (
                "[server:main]\nmax_body_bytes = lots\n",
                "max_body_bytes: \"lots\" is not valid",
            ),
            (
                "[server:main]\nmax_body_bytes = 0\n",
                "max_body_bytes: must be at least 1 byte",
            ),
        ] {
            let error = section(text).unwrap_err();
            assert_eq!(error.line, Some(2), "{error}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn the_body_cap_is_read_alone_or_with_the_address() {
        assert_eq!(
            section("[server:main]\nmax_body_bytes = 1048576\n").unwrap(),
            ServerSection {
                listen: None,
                max_body_bytes: Some(1_048_576)
            }
        );
        assert_eq!(
            section("[app:main]\nuse = x\n").unwrap(),
            ServerSection::default()
        );
    }
}
