//! Which images a caller sees: the cloud's configured images and the
//! snapshots kept by the store, looked up and listed for one viewer, as
//! Glance scopes them.

use nova_controller::StoreError;
use uuid::Uuid;

use crate::api::Call;
use crate::policy::{self, Credentials};
use crate::{Cloud, Image, ImageScope, ImageStore};

/// Who is looking at images: the project a request acts for, and whether
/// it is an admin (who sees every image, as in Glance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Viewer {
    pub(crate) project_id: String,
    pub(crate) is_admin: bool,
}

impl Viewer {
    /// The caller of `call`.
    pub(crate) fn of(call: &Call) -> Self {
        Viewer {
            project_id: call.project_id.clone(),
            is_admin: policy::is_admin(call),
        }
    }

    /// The caller `credentials` describe.
    pub(crate) fn with(credentials: &Credentials) -> Self {
        Viewer {
            project_id: credentials.project_id().to_owned(),
            is_admin: credentials.is_admin(),
        }
    }

    /// Whether the viewer may see `image`.
    pub(crate) fn sees(&self, image: &Image) -> bool {
        self.is_admin || image.visible_to(&self.project_id)
    }

    /// The stored images the viewer may see.
    fn scope(&self) -> ImageScope {
        ImageScope {
            project: (!self.is_admin).then(|| self.project_id.clone()),
        }
    }
}

/// The image `id` names, configured or stored, whoever may see it: what
/// Nova reads from the server's own copy of its image (a snapshot's
/// inherited properties, a resize's fit).
pub(crate) async fn any_image(
    cloud: &Cloud,
    store: &dyn ImageStore,
    id: Uuid,
) -> Result<Option<Image>, StoreError> {
    match cloud.image(&id) {
        Some(image) => Ok(Some(image.clone())),
        None => store.image(id).await,
    }
}

/// The image `id` names if `viewer` may see it.
pub(crate) async fn find_image(
    cloud: &Cloud,
    store: &dyn ImageStore,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<Image>, StoreError> {
    Ok(any_image(cloud, store, id)
        .await?
        .filter(|image| viewer.sees(image)))
}

/// Every image `viewer` may see: the configured ones, then the stored ones
/// in the order they were taken.
pub(crate) async fn list_images(
    cloud: &Cloud,
    store: &dyn ImageStore,
    viewer: &Viewer,
) -> Result<Vec<Image>, StoreError> {
    let mut images: Vec<Image> = cloud
        .images
        .iter()
        .filter(|image| viewer.sees(image))
        .cloned()
        .collect();
    let stored = store.images(viewer.scope()).await?;
    images.extend(
        stored
            .into_iter()
            .filter(|image| viewer.sees(image) && cloud.image(&image.id).is_none()),
    );
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Visibility;

    #[test]
    fn an_admin_sees_every_image_and_a_member_only_what_it_may() {
        let private = Image {
            visibility: Visibility::Private,
            owner: "p1".to_owned(),
            ..Image::cirros()
        };
        let viewer = |project: &str, is_admin| Viewer {
            project_id: project.to_owned(),
            is_admin,
        };
        assert!(viewer("p1", false).sees(&private));
        assert!(!viewer("p2", false).sees(&private));
        assert!(viewer("p2", true).sees(&private));
    }
}
