//! An image as it is kept, and who may see it: one of the cloud's
//! configured images (public, fixed, the cloud's `images`) or a snapshot
//! `createImage` took of a server, which the store keeps
//! ([`ImageStore`]). What a client sees of it, Glance's view or the
//! compute API's proxy view, is a function of this record and the time
//! (`image_service`, `images`), never the record itself.
//!
//! Every place that resolves an image id (a server's create and rebuild,
//! the compute API's images proxy, the image service) reads both sets
//! through [`find_image`] and [`list_images`]: the configured images
//! first, then the stored ones in the order they were taken.

use std::collections::BTreeMap;

use nova_controller::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DEFAULT_PROJECT;

/// An image servers can be built from.
///
/// Stored images are kept as this record's JSON document: a field added
/// later must have a serde default, so that a document written by an
/// older build reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// `qcow2`, `raw`, … once its data is there (a snapshot has none
    /// while `queued`).
    pub disk_format: String,
    /// `bare`, … as `disk_format`.
    pub container_format: String,
    /// Its size in bytes, once its data is there.
    pub size: u64,
    /// The smallest root disk it needs, GiB.
    pub min_disk: u64,
    /// The least memory it needs, MiB.
    pub min_ram: u64,
    /// Free-form properties (`os_distro`, a snapshot's `instance_uuid`,
    /// …).
    pub properties: BTreeMap<String, String>,
    /// The project that owns it (Glance's `owner`).
    pub owner: String,
    /// When it was created (for a configured image, uploaded).
    pub created_at: Timestamp,
    /// When its data is all there and it becomes `active`; before, it is
    /// `queued` and then `saving` ([`Image::status_at`]). A configured
    /// image's is its `created_at`.
    pub active_at: Timestamp,
    /// Who may see it besides its owner.
    pub visibility: Visibility,
    /// Whether it may not be deleted: the cloud's configured images.
    pub protected: bool,
    /// The projects a `shared` image is shared with (Glance's image
    /// members), besides its owner.
    pub members: Vec<String>,
}

/// Glance's `visibility` of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Every project sees it.
    Public,
    /// Its owner sees it.
    Private,
    /// Its owner and its members see it.
    Shared,
}

impl Visibility {
    /// Glance's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Shared => "shared",
        }
    }
}

/// Glance's `status` of an image at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageStatus {
    /// Created, no data yet.
    Queued,
    /// Its data is being uploaded.
    Saving,
    /// Ready to build servers from.
    Active,
}

impl ImageStatus {
    /// Glance's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Queued => "queued",
            ImageStatus::Saving => "saving",
            ImageStatus::Active => "active",
        }
    }
}

impl Image {
    /// The id of the default `cirros` image, [`Image::id_for_name`] of
    /// `cirros`: fixed, so a client's configuration that names it keeps
    /// working across restarts, and the same whether the image comes from
    /// the defaults or from `images = cirros`.
    pub const CIRROS_ID: Uuid = Uuid::from_u128(0x840d_d654_a43f_8980_b114_836f_f26c_51fa);

    /// When every built-in and configured image was uploaded:
    /// 2024-01-01T00:00:00Z. Fixed, so listings do not change across
    /// restarts.
    pub const UPLOADED_MICROS: i64 = 1_704_067_200_000_000;

    /// devstack's test image, named `cirros` here.
    pub fn cirros() -> Self {
        Image {
            id: Self::CIRROS_ID,
            ..Image::named("cirros")
        }
    }

    /// A public, protected `qcow2` image named `name` with
    /// [`Image::id_for_name`]'s id, cirros' size, no minimums and no
    /// properties, owned by [`DEFAULT_PROJECT`], active since
    /// [`Image::UPLOADED_MICROS`]: a configured image.
    pub fn named(name: &str) -> Self {
        let uploaded =
            Timestamp::from_unix_micros(Self::UPLOADED_MICROS).unwrap_or_else(Timestamp::now);
        Image {
            id: Self::id_for_name(name),
            name: name.to_owned(),
            disk_format: "qcow2".to_owned(),
            container_format: "bare".to_owned(),
            size: 21_692_416,
            min_disk: 0,
            min_ram: 0,
            properties: BTreeMap::new(),
            owner: DEFAULT_PROJECT.to_owned(),
            created_at: uploaded,
            active_at: uploaded,
            visibility: Visibility::Public,
            protected: true,
            members: Vec::new(),
        }
    }

    /// The id an image configured by name alone gets: the first 16 bytes
    /// of SHA-256 of `nova-rs image NAME`, as an RFC 9562 version 8
    /// (custom) UUID. The same name always gives the same id, on every
    /// host and across restarts.
    pub fn id_for_name(name: &str) -> Uuid {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("nova-rs image {name}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    /// Its status at `now`: `active` from [`Image::active_at`]; before,
    /// `queued` for the first half of the upload (Nova takes the
    /// snapshot) and `saving` for the second (it uploads it), as a
    /// snapshot shows in Glance while Nova makes it.
    pub fn status_at(&self, now: Timestamp) -> ImageStatus {
        if now >= self.active_at {
            return ImageStatus::Active;
        }
        if now >= self.saving_from() {
            ImageStatus::Saving
        } else {
            ImageStatus::Queued
        }
    }

    /// When it last changed as of `now`: Glance writes `updated_at` at
    /// each change of status, and each was stored in advance.
    pub fn updated_at(&self, now: Timestamp) -> Timestamp {
        match self.status_at(now) {
            ImageStatus::Active => self.active_at.max(self.created_at),
            ImageStatus::Saving => self.saving_from(),
            ImageStatus::Queued => self.created_at,
        }
    }

    /// When the upload starts: halfway to `active_at`.
    fn saving_from(&self) -> Timestamp {
        let (from, to) = (self.created_at.unix_micros(), self.active_at.unix_micros());
        self.created_at.plus_micros((to - from).max(0) / 2)
    }

    /// Whether `project` may see it, as a caller who is not an admin:
    /// public, its own, or shared with it.
    pub fn visible_to(&self, project: &str) -> bool {
        match self.visibility {
            Visibility::Public => true,
            Visibility::Private => self.owner == project,
            Visibility::Shared => {
                self.owner == project || self.members.iter().any(|m| m == project)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(owner: &str, created: Timestamp, takes: i64) -> Image {
        Image {
            id: Uuid::new_v4(),
            owner: owner.to_owned(),
            created_at: created,
            active_at: created.plus_micros(takes),
            visibility: Visibility::Private,
            protected: false,
            ..Image::named("snap")
        }
    }

    #[test]
    fn a_snapshot_is_queued_then_saving_then_active_at_its_stored_instants() {
        let created = Timestamp::now();
        let image = snapshot("p", created, 2_000_000);
        let at = |micros: i64| created.plus_micros(micros);
        let table = [
            (0, ImageStatus::Queued, created),
            (999_999, ImageStatus::Queued, created),
            (1_000_000, ImageStatus::Saving, at(1_000_000)),
            (1_999_999, ImageStatus::Saving, at(1_000_000)),
            (2_000_000, ImageStatus::Active, at(2_000_000)),
            (9_000_000, ImageStatus::Active, at(2_000_000)),
        ];
        for (micros, status, updated) in table {
            assert_eq!(image.status_at(at(micros)), status, "{micros}");
            assert_eq!(image.updated_at(at(micros)), updated, "{micros}");
        }
        // Taken at once: active from the start.
        let instant = snapshot("p", created, 0);
        assert_eq!(instant.status_at(created), ImageStatus::Active);
        assert_eq!(Image::cirros().status_at(created), ImageStatus::Active);
    }

    #[test]
    fn who_sees_an_image_follows_its_visibility() {
        let now = Timestamp::now();
        let private = snapshot("p1", now, 0);
        let shared = Image {
            visibility: Visibility::Shared,
            members: vec!["p2".to_owned()],
            ..snapshot("p1", now, 0)
        };
        let public = Image::cirros();
        assert!(private.visible_to("p1") && !private.visible_to("p2"));
        assert!(shared.visible_to("p2") && !shared.visible_to("p3"));
        assert!(public.visible_to("p3"));
    }

    #[test]
    fn a_stored_image_reads_back_from_its_document() {
        let image = Image {
            members: vec!["p2".to_owned()],
            visibility: Visibility::Shared,
            ..snapshot("p1", Timestamp::now(), 5)
        };
        let text = serde_json::to_string(&image).unwrap();
        assert!(text.contains(r#""visibility":"shared""#), "{text}");
        assert_eq!(serde_json::from_str::<Image>(&text).unwrap(), image);
    }
}
