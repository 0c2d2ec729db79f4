//! What this cloud offers and how it behaves: flavors, images, networks,
//! the availability zone, quotas, page size and how long each operation
//! takes. Read from the compute app's configuration section; every
//! default is devstack's where devstack has one.

use std::collections::BTreeMap;
use std::time::Duration;

use uuid::Uuid;

use crate::FlavorSnapshot;

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
    /// Whether every project may use it.
    pub is_public: bool,
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

/// An image servers can be built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// `qcow2`, `raw`, …
    pub disk_format: String,
    /// `bare`, …
    pub container_format: String,
    /// Its size in bytes.
    pub size: u64,
    /// The smallest root disk it needs, GiB.
    pub min_disk: u64,
    /// The least memory it needs, MiB.
    pub min_ram: u64,
    /// Free-form properties (`os_distro`, …).
    pub properties: BTreeMap<String, String>,
}

impl Image {
    /// The id of the default `cirros` image: fixed, so a client's
    /// configuration that names it keeps working across restarts.
    pub const CIRROS_ID: Uuid = Uuid::from_u128(0x2f0b1f5e_5b1a_4c7e_9a43_c1a05c1a05c1);

    /// devstack's test image, named `cirros` here.
    pub fn cirros() -> Self {
        Image {
            id: Self::CIRROS_ID,
            name: "cirros".to_owned(),
            disk_format: "qcow2".to_owned(),
            container_format: "bare".to_owned(),
            size: 21_692_416,
            min_disk: 0,
            min_ram: 0,
            properties: BTreeMap::new(),
        }
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
    pub const PRIVATE_ID: Uuid = Uuid::from_u128(0x5e1f_ad0b_1c2d_4e3f_8a9b_0c1d2e3f4a5b);

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
        }
    }
}

/// Everything the compute API is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    /// The flavors, in the order listed.
    pub flavors: Vec<Flavor>,
    /// The images, in the order listed.
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
        }
    }
}

/// The default project's id: hex, as Keystone's are, so it can stand in a
/// URL (`/v2.1/{project_id}/servers`).
pub const DEFAULT_PROJECT: &str = "6e6f76612d72732d64656661756c7400";

/// The default user's id.
pub const DEFAULT_USER: &str = "6e6f76612d72732d7573657200000000";

impl Cloud {
    /// The flavor with this id.
    pub fn flavor(&self, id: &str) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == id)
    }

    /// The image with this id.
    pub fn image(&self, id: &Uuid) -> Option<&Image> {
        self.images.iter().find(|i| i.id == *id)
    }

    /// The network with this id.
    pub fn network(&self, id: &Uuid) -> Option<&Network> {
        self.networks.iter().find(|n| n.id == *id)
    }
}
