//! The identity model: domains, users, projects, roles and role
//! assignments, built from configuration at start-up and read-only after.
//!
//! Everything has an id derived from its name (a version-5 UUID in
//! Keystone's 32-hex-digit form), so ids, and with them tokens, survive a
//! restart without a database. Keystone's implied roles are applied when
//! roles are read: `admin` implies `member`, which implies `reader`.

use uuid::Uuid;

use crate::PasswordHash;

/// The id of the domain every user and project is in, as in Keystone.
pub const DEFAULT_DOMAIN_ID: &str = "default";
/// The name of that domain.
pub const DEFAULT_DOMAIN_NAME: &str = "Default";
/// The roles there are, strongest first: each implies the ones after it.
pub const ROLE_NAMES: [&str; 3] = ["admin", "member", "reader"];

/// The namespace of the ids derived from names; any fixed value would do,
/// changing it changes every id (and invalidates every token).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6e6f_7661_2d72_7369_6465_6e74_6974_7900);

/// An id derived from a kind and a name, in Keystone's form (32 lowercase
/// hex digits, no dashes).
pub(crate) fn derived_id(kind: &str, name: &str) -> String {
    Uuid::new_v5(&ID_NAMESPACE, format!("{kind}/{name}").as_bytes())
        .simple()
        .to_string()
}

/// A domain: the namespace users and projects are named in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Its id (`default` for the default domain).
    pub id: String,
    /// Its name (`Default`).
    pub name: String,
}

/// A user who can authenticate with a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id, derived from its domain and name.
    pub id: String,
    /// Its name, unique in its domain.
    pub name: String,
    /// The id of its domain.
    pub domain_id: String,
    /// The project a token is scoped to when the request names no scope.
    pub default_project_id: Option<String>,
    /// The hash of its password (its `Debug` is redacted).
    pub password: PasswordHash,
    /// Whether it may authenticate at all.
    pub enabled: bool,
}

/// A project (tenant): what a token is scoped to and resources belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Its id, derived from its domain and name.
    pub id: String,
    /// Its name, unique in its domain.
    pub name: String,
    /// The id of its domain.
    pub domain_id: String,
    /// Whether tokens may be scoped to it.
    pub enabled: bool,
}

/// A role, one of [`ROLE_NAMES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its id, derived from its name.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// Where a role assignment applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// On the project with this id.
    Project(String),
    /// On the domain with this id.
    Domain(String),
}

/// A role given to a user on a project or domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The user's id.
    pub user_id: String,
    /// Where the role applies.
    pub target: Target,
    /// The role's id.
    pub role_id: String,
}

/// The whole model: what Keystone keeps in its identity, resource and
/// assignment backends.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub(crate) domains: Vec<Domain>,
    pub(crate) users: Vec<User>,
    pub(crate) projects: Vec<Project>,
    pub(crate) roles: Vec<Role>,
    pub(crate) assignments: Vec<Assignment>,
}

impl Directory {
    /// The default domain and the three roles, nobody in them yet.
    pub fn new() -> Self {
        Directory {
            domains: vec![Domain {
                id: DEFAULT_DOMAIN_ID.to_owned(),
                name: DEFAULT_DOMAIN_NAME.to_owned(),
            }],
            roles: ROLE_NAMES
                .iter()
                .map(|name| Role {
                    id: derived_id("role", name),
                    name: (*name).to_owned(),
                })
                .collect(),
            ..Directory::default()
        }
    }

    /// Adds (or finds) the user `name` in the default domain with
    /// `password` and gives it `role` (one of [`ROLE_NAMES`]) on the
    /// project `project` there, created if new. The first project a user
    /// is given is its default project. A user given `admin` is also an
    /// admin of the default domain, as devstack's `admin` is.
    ///
    /// Returns `false` (and changes nothing) for an unknown role.
    pub fn add_member(
        &mut self,
        name: &str,
        password: PasswordHash,
        project: &str,
        role: &str,
    ) -> bool {
        let Some(role_id) = self.role_by_name(role).map(|r| r.id.clone()) else {
            return false;
        };
        let project_id = match self.project_by_name(project, DEFAULT_DOMAIN_ID) {
            Some(found) => found.id.clone(),
            None => {
                let id = derived_id("project", &format!("{DEFAULT_DOMAIN_ID}/{project}"));
                self.projects.push(Project {
                    id: id.clone(),
                    name: project.to_owned(),
                    domain_id: DEFAULT_DOMAIN_ID.to_owned(),
                    enabled: true,
                });
                id
            }
        };
        let user_id = match self.user_by_name(name, DEFAULT_DOMAIN_ID) {
            Some(found) => found.id.clone(),
            None => {
                let id = derived_id("user", &format!("{DEFAULT_DOMAIN_ID}/{name}"));
                self.users.push(User {
                    id: id.clone(),
                    name: name.to_owned(),
                    domain_id: DEFAULT_DOMAIN_ID.to_owned(),
                    default_project_id: Some(project_id.clone()),
                    password,
                    enabled: true,
                });
                id
            }
        };
        let mut targets = vec![Target::Project(project_id)];
        if role == "admin" {
            targets.push(Target::Domain(DEFAULT_DOMAIN_ID.to_owned()));
        }
        for target in targets {
            let assignment = Assignment {
                user_id: user_id.clone(),
                target,
                role_id: role_id.clone(),
            };
            if !self.assignments.contains(&assignment) {
                self.assignments.push(assignment);
            }
        }
        true
    }

    /// The domain with this id.
    pub fn domain(&self, id: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.id == id)
    }

    /// The domain with this name.
    pub fn domain_by_name(&self, name: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.name == name)
    }

    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user with this name in the domain with id `domain_id`.
    pub fn user_by_name(&self, name: &str, domain_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name == name && u.domain_id == domain_id)
    }

    /// Every user.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The project with this id.
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    /// The project with this name in the domain with id `domain_id`.
    pub fn project_by_name(&self, name: &str, domain_id: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.name == name && p.domain_id == domain_id)
    }

    /// Every project.
    pub fn projects(&self) -> &[Project] {
        &self.projects
    }

    /// Every role.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The role with this name.
    pub fn role_by_name(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The roles `user_id` has on `target`, implied ones included,
    /// strongest first; empty if it has none.
    pub fn effective_roles(&self, user_id: &str, target: &Target) -> Vec<&Role> {
        let strongest = self
            .assignments
            .iter()
            .filter(|a| a.user_id == user_id && &a.target == target)
            .filter_map(|a| self.roles.iter().position(|r| r.id == a.role_id))
            .min();
        // Roles are kept strongest first and each implies the next.
        strongest.map_or_else(Vec::new, |index| self.roles[index..].iter().collect())
    }

    /// The enabled projects `user_id` has a role on, in the order they were
    /// created.
    pub fn projects_of(&self, user_id: &str) -> Vec<&Project> {
        self.projects
            .iter()
            .filter(|p| {
                p.enabled
                    && !self
                        .effective_roles(user_id, &Target::Project(p.id.clone()))
                        .is_empty()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let mut directory = Directory::new();
        let hash = PasswordHash::from_phc("$argon2id$test");
        assert!(directory.add_member("admin", hash.clone(), "admin", "admin"));
        assert!(directory.add_member("demo", hash.clone(), "demo", "member"));
        assert!(!directory.add_member("x", hash, "x", "owner"));
        directory
    }

    #[test]
    fn ids_are_derived_from_names_so_they_survive_a_restart() {
        let (a, b) = (directory(), directory());
        let admin = a.user_by_name("admin", DEFAULT_DOMAIN_ID).unwrap();
        assert_eq!(
            admin.id,
            b.user_by_name("admin", DEFAULT_DOMAIN_ID).unwrap().id
        );
        assert_eq!(admin.id.len(), 32);
        assert!(admin.id.chars().all(|c| c.is_ascii_hexdigit()));
        let project = a.project_by_name("admin", DEFAULT_DOMAIN_ID).unwrap();
        assert_ne!(project.id, admin.id);
        assert_eq!(
            admin.default_project_id.as_deref(),
            Some(project.id.as_str())
        );
    }

    #[test]
    fn admin_implies_member_implies_reader() {
        let directory = directory();
        let names = |user: &str, project: &str| {
            let user = directory.user_by_name(user, DEFAULT_DOMAIN_ID).unwrap();
            let project = directory
                .project_by_name(project, DEFAULT_DOMAIN_ID)
                .unwrap();
            directory
                .effective_roles(&user.id, &Target::Project(project.id.clone()))
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("admin", "admin"), ["admin", "member", "reader"]);
        assert_eq!(names("demo", "demo"), ["member", "reader"]);
        assert!(names("demo", "admin").is_empty());
    }

    #[test]
    fn an_unknown_role_adds_nobody() {
        let directory = directory();
        assert!(directory.user_by_name("x", DEFAULT_DOMAIN_ID).is_none());
        assert!(directory.project_by_name("x", DEFAULT_DOMAIN_ID).is_none());
    }
}
