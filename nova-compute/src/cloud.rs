//! What this cloud offers and how it behaves: flavors, images, networks,
//! the availability zone, quotas, page size and how long each operation
//! takes. Read from the compute app's configuration section
//! ([`Cloud::from_config`]); every default is devstack's where devstack
//! has one.

use std::collections::BTreeMap;
use std::time::Duration;

use uuid::Uuid;

use crate::{FlavorSnapshot, Image, DEFAULT_PROJECT, DEFAULT_USER};

/// A flavor: a size of server.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavor {
    /// Its id (`flavorid`), any text; devstack's are `1` to `5`.
    pub id: String,
    /// Its name, `m1.tiny`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub ram: u64,
    /// Root disk in GiB.
    pub disk: u64,
    /// Ephemeral disk in GiB.
    pub ephemeral: u64,
    /// Swap in MiB (0 for none).
    pub swap: u64,
    /// Network bandwidth factor.
    pub rxtx_factor: f64,
    /// Whether every project may use it. A private flavor is seen by
    /// admins only: nova-rs keeps no flavor access lists.
    pub is_public: bool,
    /// Whether it is disabled (`OS-FLV-DISABLED:disabled`): hidden from
    /// non-admin listings.
    pub disabled: bool,
    /// Its description (2.55).
    pub description: Option<String>,
    /// Extra specs (2.61 shows them in the flavor).
    pub extra_specs: BTreeMap<String, String>,
}

impl Flavor {
    /// A public flavor with no ephemeral disk, swap or extra specs.
    pub fn new(id: &str, name: &str, vcpus: u32, ram: u64, disk: u64) -> Self {
        Flavor {
            id: id.to_owned(),
            name: name.to_owned(),
            vcpus,
            ram,
            disk,
            ephemeral: 0,
            swap: 0,
            rxtx_factor: 1.0,
            is_public: true,
            disabled: false,
            description: None,
            extra_specs: BTreeMap::new(),
        }
    }

    /// The copy a server keeps of it.
    pub fn snapshot(&self) -> FlavorSnapshot {
        FlavorSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            vcpus: self.vcpus,
            ram: self.ram,
            disk: self.disk,
            ephemeral: self.ephemeral,
            swap: self.swap,
            extra_specs: self.extra_specs.clone(),
        }
    }

    /// devstack's flavors, `m1.tiny` (id 1) to `m1.xlarge` (id 5).
    pub fn devstack() -> Vec<Flavor> {
        vec![
            Flavor::new("1", "m1.tiny", 1, 512, 1),
            Flavor::new("2", "m1.small", 1, 2048, 20),
            Flavor::new("3", "m1.medium", 2, 4096, 40),
            Flavor::new("4", "m1.large", 4, 8192, 80),
            Flavor::new("5", "m1.xlarge", 8, 16384, 160),
        ]
    }
}

/// A network servers can be attached to.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Its id.
    pub id: Uuid,
    /// Its name, the key a server's addresses are listed under.
    pub name: String,
    /// The first two octets of its IPv4 addresses: servers get
    /// `a.b.x.y` with `x.y` derived from the server id.
    pub ipv4_prefix: [u8; 2],
}

impl Network {
    /// The id of the default `private` network, fixed like the image's.
    pub const PRIVATE_ID: Uuid = Uuid::from_u128(0x5e1f_ad0b_1c2d_4e3f_8a9b_0c1d_2e3f_4a5b);

    /// devstack's `private` network, 10.0.0.0/16 here.
    pub fn private() -> Self {
        Network {
            id: Self::PRIVATE_ID,
            name: "private".to_owned(),
            ipv4_prefix: [10, 0],
        }
    }
}

/// How long each operation takes before the server reaches its end state.
/// Zero makes an operation finish at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durations {
    /// `BUILD` to `ACTIVE`.
    pub build: Duration,
    /// A soft or hard reboot.
    pub reboot: Duration,
    /// A resize, to `VERIFY_RESIZE`.
    pub resize: Duration,
    /// A rebuild.
    pub rebuild: Duration,
    /// A delete, from `deleting` to gone.
    pub delete: Duration,
    /// Everything else: stop, start, pause, unpause, suspend, resume,
    /// confirm and revert of a resize, a password change, an image.
    pub action: Duration,
}

impl Default for Durations {
    /// One second for a build, a reboot, a resize and a rebuild, none for
    /// the rest: short enough that `--wait` answers quickly, long enough
    /// that a client sees `BUILD` first as on a real cloud.
    fn default() -> Self {
        Durations {
            build: Duration::from_secs(1),
            reboot: Duration::from_secs(1),
            resize: Duration::from_secs(1),
            rebuild: Duration::from_secs(1),
            delete: Duration::ZERO,
            action: Duration::ZERO,
        }
    }
}

/// A project's limits; `-1` is unlimited, as in Nova.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Servers.
    pub instances: i64,
    /// Virtual CPUs over all servers.
    pub cores: i64,
    /// Memory in MiB over all servers.
    pub ram: i64,
    /// Metadata items per server.
    pub metadata_items: i64,
    /// Key pairs per user.
    pub key_pairs: i64,
    /// Server groups.
    pub server_groups: i64,
    /// Members per server group.
    pub server_group_members: i64,
    /// Injected files per server (personality, before 2.57).
    pub injected_files: i64,
    /// Bytes of each injected file.
    pub injected_file_content_bytes: i64,
    /// Bytes of each injected file's path.
    pub injected_file_path_length: i64,
}

impl Default for Quota {
    /// Nova's defaults (`[quota]` in nova.conf).
    fn default() -> Self {
        Quota {
            instances: 10,
            cores: 20,
            ram: 51200,
            metadata_items: 128,
            key_pairs: 100,
            server_groups: 10,
            server_group_members: 10,
            injected_files: 5,
            injected_file_content_bytes: 10240,
            injected_file_path_length: 255,
        }
    }
}

/// Everything the compute API is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    /// The flavors, in the order listed.
    pub flavors: Vec<Flavor>,
    /// The configured images, in the order listed: public, protected and
    /// fixed. The snapshots `createImage` takes are kept by the store
    /// ([`ImageStore`](crate::ImageStore)) and listed after these.
    pub images: Vec<Image>,
    /// The networks; the first is the one `"auto"` attaches.
    pub networks: Vec<Network>,
    /// The availability zone servers are in.
    pub availability_zone: String,
    /// Each project's limits.
    pub quota: Quota,
    /// How long operations take.
    pub durations: Durations,
    /// The most items a page of a listing holds (Nova's
    /// `[api] max_limit`).
    pub max_limit: usize,
    /// The project requests act for when no token filter names one (the
    /// seed's shared token), and that owns the seed's instances.
    pub default_project: String,
    /// The user requests act as when no token filter names one.
    pub default_user: String,
    /// Where the image service is mounted on this host (`/image`, where
    /// devstack puts Glance): the compute API's image views link there
    /// (their `alternate` link), as Nova's link to Glance.
    pub image_service_path: String,
}

impl Default for Cloud {
    fn default() -> Self {
        Cloud {
            flavors: Flavor::devstack(),
            images: vec![Image::cirros()],
            networks: vec![Network::private()],
            availability_zone: "nova".to_owned(),
            quota: Quota::default(),
            durations: Durations::default(),
            max_limit: 1000,
            default_project: DEFAULT_PROJECT.to_owned(),
            default_user: DEFAULT_USER.to_owned(),
            image_service_path: "/image".to_owned(),
        }
    }
}

impl Cloud {
    /// The flavor with this id.
    pub fn flavor(&self, id: &str) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == id)
    }

    /// The configured image with this id (a snapshot is in the store).
    pub fn image(&self, id: &Uuid) -> Option<&Image> {
        self.images.iter().find(|i| i.id == *id)
    }

    /// The network with this id.
    pub fn network(&self, id: &Uuid) -> Option<&Network> {
        self.networks.iter().find(|n| n.id == *id)
    }
}

/// Why the compute app's configuration cannot be used. Every variant
/// names the key ([`CloudConfigError::key`]); the message says what is
/// wrong with its value, so a loader can show `KEY: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloudConfigError {
    /// A value that is not what its key takes.
    #[error("{value:?} is not {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// One entry of a list (`flavors`, `images`) cannot be read.
    #[error("entry {entry:?}: {reason}")]
    BadEntry {
        /// The key.
        key: String,
        /// The entry.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two entries of a list share an id or a name.
    #[error("{what} {value:?} is listed twice")]
    Duplicate {
        /// The key.
        key: String,
        /// `id` or `name`.
        what: &'static str,
        /// The id or name.
        value: String,
    },
}

impl CloudConfigError {
    /// The configuration key whose value is wrong.
    pub fn key(&self) -> &str {
        match self {
            CloudConfigError::BadValue { key, .. }
            | CloudConfigError::BadEntry { key, .. }
            | CloudConfigError::Duplicate { key, .. } => key,
        }
    }
}

impl Cloud {
    /// The cloud the compute app's configuration section describes,
    /// reading each key through `get`; a key `get` does not know keeps
    /// [`Cloud::default`]'s value.
    ///
    /// | key | value | default |
    /// |---|---|---|
    /// | `flavors` | entries `ID:NAME:VCPUS:RAM_MIB:DISK_GIB`, each optionally followed by space-separated `KEY=VALUE` options: `ephemeral` (GiB), `swap` (MiB), `rxtx_factor`, `public` and `disabled` (`true`/`false`), `description` (no spaces); any other key is an extra spec (`hw:numa_nodes=1`) | devstack's `m1.tiny` (1) to `m1.xlarge` (5) |
    /// | `images` | entries `NAME` (id [`Image::id_for_name`]) or `NAME=UUID`, each optionally followed by `KEY=VALUE` options: `disk_format`, `container_format`, `size` (bytes), `min_disk` (GiB), `min_ram` (MiB); any other key is a property (`os_distro=cirros`) | `cirros` |
    /// | `availability_zone` | a name without `:` | `nova` |
    /// | `quota_instances`, `quota_cores`, `quota_ram`, `quota_metadata_items`, `quota_key_pairs`, `quota_server_groups`, `quota_server_group_members`, `quota_injected_files`, `quota_injected_file_content_bytes`, `quota_injected_file_path_length` | a whole number, `-1` for unlimited | Nova's |
    /// | `build_seconds`, `reboot_seconds`, `resize_seconds`, `rebuild_seconds`, `delete_seconds`, `action_seconds` | non-negative decimal seconds (`0`, `1.5`) | see [`Durations`] |
    /// | `max_limit` | the most items a page holds, at least 1 | 1000 |
    /// | `default_project` | hex digits and dashes (a Keystone project id) | [`DEFAULT_PROJECT`] |
    /// | `default_user` | an id without white space | [`DEFAULT_USER`] |
    /// | `image_service_path` | where the image service is mounted, `/image` | `/image` |
    ///
    /// Entries of `flavors` and `images` are separated by commas or line
    /// breaks; ids and names must be unique.
    ///
    /// ```
    /// use nova_compute::Cloud;
    ///
    /// let cloud = Cloud::from_config(&|key: &str| match key {
    ///     "flavors" => Some("1:m1.tiny:1:512:1, 6:m1.numa:2:1024:10 hw:numa_nodes=1".into()),
    ///     "build_seconds" => Some("0.5".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!(cloud.flavors[1].extra_specs["hw:numa_nodes"], "1");
    /// assert_eq!(cloud.durations.build.as_millis(), 500);
    ///
    /// let error = Cloud::from_config(&|key: &str| (key == "quota_cores").then(|| "many".into()))
    ///     .unwrap_err();
    /// assert_eq!(error.key(), "quota_cores");
    /// ```
    pub fn from_config(get: &dyn Fn(&str) -> Option<String>) -> Result<Cloud, CloudConfigError> {
        let mut cloud = Cloud::default();
        if let Some(value) = get("default_project") {
            cloud.default_project = project_id("default_project", &value)?;
        }
        if let Some(value) = get("default_user") {
            cloud.default_user = word("default_user", &value, "an id without white space")?;
        }
        if let Some(value) = get("flavors") {
            cloud.flavors = flavors("flavors", &value)?;
        }
        cloud.images = match get("images") {
            Some(value) => images("images", &value)?,
            None => cloud.images,
        };
        for image in &mut cloud.images {
            image.owner = cloud.default_project.clone();
        }
        if let Some(value) = get("availability_zone") {
            let zone = value.trim();
            if zone.is_empty() || zone.contains(':') {
                return Err(bad("availability_zone", &value, "a zone name without ':'"));
            }
            cloud.availability_zone = zone.to_owned();
        }
        let quota = &mut cloud.quota;
        for (key, slot) in [
            ("quota_instances", &mut quota.instances),
            ("quota_cores", &mut quota.cores),
            ("quota_ram", &mut quota.ram),
            ("quota_metadata_items", &mut quota.metadata_items),
            ("quota_key_pairs", &mut quota.key_pairs),
            ("quota_server_groups", &mut quota.server_groups),
            (
                "quota_server_group_members",
                &mut quota.server_group_members,
            ),
            ("quota_injected_files", &mut quota.injected_files),
            (
                "quota_injected_file_content_bytes",
                &mut quota.injected_file_content_bytes,
            ),
            (
                "quota_injected_file_path_length",
                &mut quota.injected_file_path_length,
            ),
        ] {
            if let Some(value) = get(key) {
                *slot = quota_limit(key, &value)?;
            }
        }
        let durations = &mut cloud.durations;
        for (key, slot) in [
            ("build_seconds", &mut durations.build),
            ("reboot_seconds", &mut durations.reboot),
            ("resize_seconds", &mut durations.resize),
            ("rebuild_seconds", &mut durations.rebuild),
            ("delete_seconds", &mut durations.delete),
            ("action_seconds", &mut durations.action),
        ] {
            if let Some(value) = get(key) {
                *slot = seconds(key, &value)?;
            }
        }
        if let Some(value) = get("max_limit") {
            cloud.max_limit = match value.trim().parse::<usize>() {
                Ok(limit) if limit >= 1 => limit,
                _ => return Err(bad("max_limit", &value, "a whole number of at least 1")),
            };
        }
        if let Some(value) = get("image_service_path") {
            let path = value.trim().trim_end_matches('/');
            if !value.trim().starts_with('/') || path.contains(char::is_whitespace) {
                return Err(bad(
                    "image_service_path",
                    &value,
                    "a path starting with '/'",
                ));
            }
            cloud.image_service_path = path.to_owned();
        }
        Ok(cloud)
    }
}

fn bad(key: &str, value: &str, expected: &'static str) -> CloudConfigError {
    CloudConfigError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

fn project_id(key: &str, value: &str) -> Result<String, CloudConfigError> {
    let id = value.trim();
    // The project mapper takes `[0-9a-f-]+` as a project id in a URL.
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'))
    {
        return Err(bad(key, value, "a project id of hex digits and dashes"));
    }
    Ok(id.to_owned())
}

fn word(key: &str, value: &str, expected: &'static str) -> Result<String, CloudConfigError> {
    let word = value.trim();
    if word.is_empty() || word.contains(char::is_whitespace) {
        return Err(bad(key, value, expected));
    }
    Ok(word.to_owned())
}

fn quota_limit(key: &str, value: &str) -> Result<i64, CloudConfigError> {
    match value.trim().parse::<i64>() {
        Ok(limit) if limit >= -1 => Ok(limit),
        _ => Err(bad(key, value, "a whole number, or -1 for unlimited")),
    }
}

/// Non-negative decimal seconds, to the nanosecond: `0`, `2`, `1.5`.
fn seconds(key: &str, value: &str) -> Result<Duration, CloudConfigError> {
    let expected = "a non-negative number of seconds such as 0, 2 or 1.5";
    let text = value.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 9
        || (text.contains('.') && fraction.is_empty())
    {
        return Err(bad(key, value, expected));
    }
    let secs = whole
        .parse::<u64>()
        .map_err(|_| bad(key, value, expected))?;
    let nanos = format!("{fraction:0<9}")
        .parse::<u32>()
        .map_err(|_| bad(key, value, expected))?;
    Ok(Duration::new(secs, nanos))
}

/// The entries of a list value: separated by commas or line breaks,
/// blank ones skipped.
fn entries(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

fn entry_error(key: &str, entry: &str, reason: impl Into<String>) -> CloudConfigError {
    CloudConfigError::BadEntry {
        key: key.to_owned(),
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

/// Rejects a second entry with the same id or name.
fn check_unique<'a>(
    key: &str,
    what: &'static str,
    values: impl Iterator<Item = &'a str>,
) -> Result<(), CloudConfigError> {
    let mut seen = std::collections::HashSet::new();
    for value in values {
        if !seen.insert(value) {
            return Err(CloudConfigError::Duplicate {
                key: key.to_owned(),
                what,
                value: value.to_owned(),
            });
        }
    }
    Ok(())
}

/// `KEY=VALUE` words after an entry's head.
fn options<'a>(
    key: &str,
    entry: &'a str,
    words: impl Iterator<Item = &'a str>,
) -> Result<Vec<(&'a str, &'a str)>, CloudConfigError> {
    words
        .map(|word| {
            word.split_once('=')
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| entry_error(key, entry, format!("option {word:?} is not KEY=VALUE")))
        })
        .collect()
}

fn number<T>(
    key: &str,
    entry: &str,
    field: &str,
    text: &str,
    at_least: T,
) -> Result<T, CloudConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match text.parse::<T>() {
        Ok(n) if n >= at_least => Ok(n),
        _ => Err(entry_error(
            key,
            entry,
            format!("{field} {text:?} is not a whole number of at least {at_least}"),
        )),
    }
}

/// oslo's strict boolean words.
fn flag(key: &str, entry: &str, field: &str, text: &str) -> Result<bool, CloudConfigError> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(entry_error(
            key,
            entry,
            format!("{field} {text:?} is not true or false"),
        )),
    }
}

fn flavors(key: &str, value: &str) -> Result<Vec<Flavor>, CloudConfigError> {
    let list = entries(value)
        .map(|entry| flavor(key, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(bad(key, value, "a list of at least one flavor"));
    }
    check_unique(key, "id", list.iter().map(|f| f.id.as_str()))?;
    check_unique(key, "name", list.iter().map(|f| f.name.as_str()))?;
    Ok(list)
}

fn flavor(key: &str, entry: &str) -> Result<Flavor, CloudConfigError> {
    let mut words = entry.split_whitespace();
    let head = words.next().unwrap_or_default();
    let fields: Vec<&str> = head.split(':').collect();
    let [id, name, vcpus, ram, disk] = fields.as_slice() else {
        return Err(entry_error(
            key,
            entry,
            "expected ID:NAME:VCPUS:RAM_MIB:DISK_GIB",
        ));
    };
    // Nova's flavor id pattern, less the spaces an entry cannot hold.
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(entry_error(
            key,
            entry,
            format!("id {id:?} is not letters, digits, '.', '_' and '-'"),
        ));
    }
    if name.is_empty() {
        return Err(entry_error(key, entry, "the name is empty"));
    }
    let mut flavor = Flavor::new(
        id,
        name,
        number(key, entry, "vcpus", vcpus, 1u32)?,
        number(key, entry, "ram", ram, 1u64)?,
        number(key, entry, "disk", disk, 0u64)?,
    );
    for (option, text) in options(key, entry, words)? {
        match option {
            "ephemeral" => flavor.ephemeral = number(key, entry, option, text, 0u64)?,
            "swap" => flavor.swap = number(key, entry, option, text, 0u64)?,
            "rxtx_factor" => {
                flavor.rxtx_factor = match text.parse::<f64>() {
                    Ok(factor) if factor.is_finite() && factor > 0.0 => factor,
                    _ => {
                        return Err(entry_error(
                            key,
                            entry,
                            format!("rxtx_factor {text:?} is not a number above 0"),
                        ))
                    }
                }
            }
            "public" => flavor.is_public = flag(key, entry, option, text)?,
            "disabled" => flavor.disabled = flag(key, entry, option, text)?,
            "description" => flavor.description = Some(text.to_owned()),
            spec => {
                flavor.extra_specs.insert(spec.to_owned(), text.to_owned());
            }
        }
    }
    Ok(flavor)
}

fn images(key: &str, value: &str) -> Result<Vec<Image>, CloudConfigError> {
    let list = entries(value)
        .map(|entry| image(key, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(bad(key, value, "a list of at least one image"));
    }
    let ids: Vec<String> = list.iter().map(|i| i.id.to_string()).collect();
    check_unique(key, "id", ids.iter().map(String::as_str))?;
    check_unique(key, "name", list.iter().map(|i| i.name.as_str()))?;
    Ok(list)
}

fn image(key: &str, entry: &str) -> Result<Image, CloudConfigError> {
    let mut words = entry.split_whitespace();
    let head = words.next().unwrap_or_default();
    let mut image = match head.split_once('=') {
        None => Image::named(head),
        Some((name, id)) => {
            let id = Uuid::try_parse(id)
                .map_err(|_| entry_error(key, entry, format!("id {id:?} is not a UUID")))?;
            Image {
                id,
                ..Image::named(name)
            }
        }
    };
    if image.name.is_empty() {
        return Err(entry_error(key, entry, "the name is empty"));
    }
    for (option, text) in options(key, entry, words)? {
        match option {
            "disk_format" => image.disk_format = text.to_owned(),
            "container_format" => image.container_format = text.to_owned(),
            "size" => image.size = number(key, entry, option, text, 0u64)?,
            "min_disk" => image.min_disk = number(key, entry, option, text, 0u64)?,
            "min_ram" => image.min_ram = number(key, entry, option, text, 0u64)?,
            property => {
                image
                    .properties
                    .insert(property.to_owned(), text.to_owned());
            }
        }
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Cloud, CloudConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Cloud::from_config(&move |key: &str| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn an_empty_section_is_the_default_cloud() {
        assert_eq!(config(&[]).unwrap(), Cloud::default());
    }

    #[test]
    fn the_built_in_image_has_the_id_its_name_gives() {
        assert_eq!(Image::id_for_name("cirros"), Image::CIRROS_ID);
        assert_eq!(Image::cirros(), Image::named("cirros"));
        let configured = config(&[("images", "cirros")]).unwrap();
        assert_eq!(configured.images, vec![Image::cirros()]);
        assert_ne!(Image::id_for_name("ubuntu"), Image::CIRROS_ID);
        assert_eq!(Image::id_for_name("ubuntu").get_version_num(), 8);
    }

    #[test]
    fn flavors_are_read_with_their_options_and_extra_specs() {
        let cloud = config(&[(
            "flavors",
            "1:m1.tiny:1:512:1,\n 42:big.one:8:16384:160 ephemeral=10 swap=512 rxtx_factor=2.5 public=false disabled=yes description=large hw:numa_nodes=2 hw:cpu_policy=dedicated",
        )])
        .unwrap();
        assert_eq!(cloud.flavors[0], Flavor::new("1", "m1.tiny", 1, 512, 1));
        let big = &cloud.flavors[1];
        assert_eq!(
            (
                big.id.as_str(),
                big.name.as_str(),
                big.vcpus,
                big.ram,
                big.disk
            ),
            ("42", "big.one", 8, 16384, 160)
        );
        assert_eq!((big.ephemeral, big.swap, big.rxtx_factor), (10, 512, 2.5));
        assert!(!big.is_public && big.disabled);
        assert_eq!(big.description.as_deref(), Some("large"));
        assert_eq!(big.extra_specs.len(), 2);
        assert_eq!(big.extra_specs["hw:cpu_policy"], "dedicated");
    }

    #[test]
    fn images_are_read_by_name_or_with_their_id_and_options() {
        let cloud = config(&[
            ("default_project", "abc-123"),
            (
                "images",
                "cirros, ubuntu=0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b disk_format=raw size=1024 min_disk=3 min_ram=256 os_distro=ubuntu",
            ),
        ])
        .unwrap();
        assert_eq!(cloud.images[0].id, Image::CIRROS_ID);
        let ubuntu = &cloud.images[1];
        assert_eq!(
            ubuntu.id.to_string(),
            "0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(
            (
                ubuntu.disk_format.as_str(),
                ubuntu.size,
                ubuntu.min_disk,
                ubuntu.min_ram
            ),
            ("raw", 1024, 3, 256)
        );
        assert_eq!(ubuntu.properties["os_distro"], "ubuntu");
        // Images belong to the configured default project.
        assert!(cloud.images.iter().all(|i| i.owner == "abc-123"));
    }

    #[test]
    fn scalar_keys_replace_their_defaults() {
        let cloud = config(&[
            ("availability_zone", "az-1"),
            ("quota_instances", "-1"),
            ("quota_ram", "1024"),
            ("build_seconds", "0"),
            ("reboot_seconds", "2.25"),
            ("delete_seconds", "0.000000001"),
            ("max_limit", "50"),
            ("default_user", "someone"),
            ("image_service_path", "/glance/"),
        ])
        .unwrap();
        assert_eq!(cloud.availability_zone, "az-1");
        assert_eq!(
            (cloud.quota.instances, cloud.quota.ram, cloud.quota.cores),
            (-1, 1024, 20)
        );
        assert_eq!(cloud.durations.build, Duration::ZERO);
        assert_eq!(cloud.durations.reboot, Duration::from_millis(2250));
        assert_eq!(cloud.durations.delete, Duration::from_nanos(1));
        assert_eq!(cloud.durations.resize, Durations::default().resize);
        assert_eq!(cloud.max_limit, 50);
        assert_eq!(cloud.default_user, "someone");
        assert_eq!(cloud.image_service_path, "/glance");
    }

    #[test]
    fn every_bad_value_is_an_error_naming_its_key() {
        let table = [
            ("flavors", ""),
            ("flavors", "1:m1.tiny:1:512"),
            ("flavors", "1:m1.tiny:0:512:1"),
            ("flavors", "1:m1.tiny:1:-5:1"),
            ("flavors", "1:m1.tiny:1:512:x"),
            ("flavors", "1 2:m1.tiny:1:512:1"),
            ("flavors", "a/b:m1.tiny:1:512:1"),
            ("flavors", "1::1:512:1"),
            ("flavors", "1:a:1:512:1 swap"),
            ("flavors", "1:a:1:512:1 public=maybe"),
            ("flavors", "1:a:1:512:1 rxtx_factor=0"),
            ("flavors", "1:a:1:512:1, 1:b:1:512:1"),
            ("flavors", "1:a:1:512:1, 2:a:1:512:1"),
            ("images", ""),
            ("images", "x=not-a-uuid"),
            ("images", "=0b7e3c5a-1d2e-4f60-8a9b-0c1d2e3f4a5b"),
            ("images", "cirros size=-1"),
            ("images", "cirros, cirros"),
            ("availability_zone", ""),
            ("availability_zone", "a:b"),
            ("quota_instances", "ten"),
            ("quota_cores", "-2"),
            ("quota_server_group_members", "1.5"),
            ("build_seconds", "-1"),
            ("reboot_seconds", "1e3"),
            ("resize_seconds", "1."),
            ("rebuild_seconds", ".5"),
            ("delete_seconds", "inf"),
            ("action_seconds", "0.0000000001"),
            ("max_limit", "0"),
            ("max_limit", "many"),
            ("default_project", "Not-Hex"),
            ("default_project", ""),
            ("default_user", "two words"),
            ("image_service_path", "image"),
        ];
        for (key, value) in table {
            let error = config(&[(key, value)]).expect_err(value);
            assert_eq!(error.key(), key, "{key} = {value:?}: {error}");
            assert!(!error.to_string().ends_with('.'), "{error}");
        }
        let error = config(&[("quota_cores", "many")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"many\" is not a whole number, or -1 for unlimited"
        );
        let error = config(&[("flavors", "1:a:1:512:1, 1:b:1:512:1")]).unwrap_err();
        assert_eq!(error.to_string(), "id \"1\" is listed twice");
    }
}
