//! Planning: from a name to what must be built, by paste.deploy's rules,
//! before anything is.
//!
//! The planner follows `pipeline =`, `next =`, `use =`, `filter-with =` and
//! `config:` references, picks each section's factory from the registry and
//! works out its settings, so that every missing section, unknown factory,
//! wrong kind and loop is found while nothing is built yet. The one thing it
//! cannot see ahead is which sections a composite loads, since a composite's
//! keys are data to its factory; the builder asks the planner for those
//! while it builds, and the planner's stack of sections then still holds the
//! composite, so a loop through it is found all the same.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::factory::{AppFactory, CompositeFactory, FilterFactory, Global, Local};
use crate::file::{File, ReadFailure};
use crate::ini::Section;
use crate::kind::{FactoryKind, ObjectType, SectionKind};
use crate::{ConfigError, ConfigErrorKind, Factory, Origin, Registry};

/// An application, resolved and not yet built.
pub(crate) struct Plan<S> {
    /// Where errors of its factory are reported: its section's header.
    pub(crate) origin: Origin,
    /// The file its names are looked up in (a composite's parts).
    pub(crate) file: Arc<File>,
    pub(crate) global: Global,
    pub(crate) body: Body<S>,
    /// Filters from `filter-with`, innermost first.
    pub(crate) filter_with: Vec<FilterPlan<S>>,
}

/// What an application is made of.
pub(crate) enum Body<S> {
    App {
        name: String,
        factory: AppFactory<S>,
        local: Local,
    },
    Composite {
        name: String,
        factory: CompositeFactory<S>,
        local: Local,
    },
    Pipeline {
        /// Outermost first.
        filters: Vec<FilterPlan<S>>,
        app: Box<Plan<S>>,
    },
    FilterApp {
        filter: FilterPlan<S>,
        next: Box<Plan<S>>,
    },
}

/// A filter, resolved and not yet applied.
pub(crate) struct FilterPlan<S> {
    pub(crate) origin: Origin,
    pub(crate) global: Global,
    pub(crate) name: String,
    pub(crate) factory: FilterFactory<S>,
    pub(crate) local: Local,
}

/// Resolves names into plans, remembering the files it opened and the
/// sections it is inside of.
pub(crate) struct Planner<'r, S> {
    registry: &'r Registry<S>,
    /// Files `config:` references opened, by absolute path, each read once.
    files: BTreeMap<PathBuf, Arc<File>>,
    /// The sections being resolved (or, for composites, built), outermost
    /// first, to catch loops.
    stack: Vec<Origin>,
}

impl<'r, S> Planner<'r, S> {
    pub(crate) fn new(registry: &'r Registry<S>) -> Self {
        Planner {
            registry,
            files: BTreeMap::new(),
            stack: Vec::new(),
        }
    }

    /// Resolves the application `name`, written at `at` in `file`, below
    /// the global configuration `global`.
    pub(crate) fn resolve_app(
        &mut self,
        file: &Arc<File>,
        name: &str,
        global: &Global,
        at: &Origin,
    ) -> Result<Plan<S>, ConfigError> {
        self.resolve(file, name, global, at)
    }

    /// Marks the section at `origin` as being resolved or built, entered
    /// from `at`; an error if it already is, which is a loop.
    pub(crate) fn enter(&mut self, origin: &Origin, at: &Origin) -> Result<(), ConfigError> {
        let same = |o: &Origin| o.file == origin.file && o.section == origin.section;
        if let Some(start) = self.stack.iter().position(same) {
            let mut sections: Vec<String> = self.stack[start..]
                .iter()
                .map(|o| o.section.clone())
                .collect();
            sections.push(origin.section.clone());
            return Err(at.error(ConfigErrorKind::Cycle { sections }));
        }
        self.stack.push(origin.clone());
        Ok(())
    }

    /// The section entered last is done.
    pub(crate) fn leave(&mut self) {
        self.stack.pop();
    }

    /// Resolves a reference `name` written at `at` in `file`.
    fn resolve<T: Planned<S>>(
        &mut self,
        file: &Arc<File>,
        name: &str,
        global: &Global,
        at: &Origin,
    ) -> Result<T, ConfigError> {
        if let Some((scheme, rest)) = scheme(name) {
            return match scheme {
                "config" => {
                    let (path, section) = rest.split_once('#').unwrap_or((rest, "main"));
                    let other = self.open(file, path, at)?;
                    self.resolve(&other, section, global, at)
                }
                "egg" | "call" => Ok(self.factory_plan(file, name, global, at, Vec::new())?.0),
                _ => Err(at.error(ConfigErrorKind::UnknownScheme {
                    reference: name.to_owned(),
                    scheme: scheme.to_owned(),
                })),
            };
        }
        let section = find_section(T::TYPE, file, name, at)?;
        self.section_plan(file, section, global, at)
    }

    /// The file `path` names, relative to the folder of `from`.
    fn open(&mut self, from: &File, path: &str, at: &Origin) -> Result<Arc<File>, ConfigError> {
        let full = from.here.join(path);
        let key = std::path::absolute(&full).unwrap_or_else(|_| full.clone());
        if let Some(file) = self.files.get(&key) {
            return Ok(file.clone());
        }
        let reference = format!("config:{path}");
        let file = File::read(&full, &full.display().to_string()).map_err(|failure| {
            at.error(match failure {
                ReadFailure::Io(error) => ConfigErrorKind::Read {
                    path: full.clone(),
                    reference: Some(reference.into()),
                    source: Arc::new(error),
                },
                ReadFailure::Syntax(error) => ConfigErrorKind::BadReferencedFile {
                    reference,
                    source: Box::new(error),
                },
            })
        })?;
        let file = Arc::new(file);
        self.files.insert(key, file.clone());
        Ok(file)
    }

    /// The plan of `section`, entered from `at`.
    fn section_plan<T: Planned<S>>(
        &mut self,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        at: &Origin,
    ) -> Result<T, ConfigError> {
        let origin = file.origin(&section.name, section.line);
        self.enter(&origin, at)?;
        let plan = T::section(self, file, section, inherited, origin);
        self.leave();
        plan
    }

    /// The plan of an app, composite, pipeline or filter-app section.
    fn app_section(
        &mut self,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        origin: Origin,
    ) -> Result<Plan<S>, ConfigError> {
        let kind = SectionKind::of_header(&section.name).map(|(kind, _)| kind);
        let (global, mut local) = file.settings(section, inherited)?;
        let filter_with: Option<FilterPlan<S>> = match take(&mut local, "filter-with") {
            Some(setting) => {
                Some(self.resolve(file, setting.value.trim(), &global, &setting.origin)?)
            }
            None => None,
        };
        let body = match kind {
            Some(SectionKind::Pipeline) => {
                let Some(pipeline) = take(&mut local, "pipeline") else {
                    return Err(origin.error(ConfigErrorKind::MissingPipeline));
                };
                if let Some((key, setting)) = local.first() {
                    return Err(setting
                        .origin
                        .error(ConfigErrorKind::ExtraPipelineKey { key: key.clone() }));
                }
                let names: Vec<&str> = pipeline.value.split_whitespace().collect();
                let Some((app_name, filter_names)) = names.split_last() else {
                    return Err(pipeline.origin.error(ConfigErrorKind::EmptyPipeline));
                };
                let app = self.resolve(file, app_name, &global, &pipeline.origin)?;
                let filters = filter_names
                    .iter()
                    .map(|name| self.resolve(file, name, &global, &pipeline.origin))
                    .collect::<Result<Vec<_>, _>>()?;
                Body::Pipeline {
                    filters,
                    app: Box::new(app),
                }
            }
            Some(SectionKind::FilterApp) => {
                let Some(next) = take(&mut local, "next") else {
                    return Err(origin.error(ConfigErrorKind::MissingNext));
                };
                let next = self.resolve(file, next.value.trim(), &global, &next.origin)?;
                let filter = self.factory_or_use(file, &origin, local, &global)?;
                Body::FilterApp {
                    filter,
                    next: Box::new(next),
                }
            }
            _ => {
                let mut plan: Plan<S> = self.factory_or_use(file, &origin, local, &global)?;
                // A section that `use`s another with its own filter-with:
                // that one wraps first, ours around it.
                plan.filter_with.extend(filter_with);
                return Ok(plan);
            }
        };
        Ok(Plan {
            origin,
            file: file.clone(),
            global,
            body,
            filter_with: filter_with.into_iter().collect(),
        })
    }

    /// The plan of a filter section.
    fn filter_section(
        &mut self,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        origin: Origin,
    ) -> Result<FilterPlan<S>, ConfigError> {
        let (global, mut local) = file.settings(section, inherited)?;
        if let Some(setting) = take(&mut local, "filter-with") {
            return Err(setting.origin.error(ConfigErrorKind::FilterWithOnFilter));
        }
        self.factory_or_use(file, &origin, local, &global)
    }

    /// A section's `use = …` or explicit `paste.*_factory = …`.
    fn factory_or_use<T: Planned<S>>(
        &mut self,
        file: &Arc<File>,
        origin: &Origin,
        mut local: Local,
        global: &Global,
    ) -> Result<T, ConfigError> {
        let used = take(&mut local, "use");
        // Each key naming a factory, with the protocol it is.
        let explicit: Vec<(usize, &'static str)> = local
            .iter()
            .enumerate()
            .filter_map(|(index, (key, _))| {
                let protocol = T::TYPE.protocols().iter().find(|p| **p == key)?;
                Some((index, *protocol))
            })
            .collect();
        match (used, explicit.as_slice()) {
            (Some(used), []) => {
                let name = used.value.trim();
                let mut plan: T = if scheme(name).is_some() {
                    self.resolve(file, name, global, &used.origin)?
                } else {
                    match find_section(T::TYPE, file, name, &used.origin) {
                        // `[filter:sizelimit] use = sizelimit`: a section
                        // cannot use itself, so the name is a factory's.
                        Ok(section)
                            if section.name == origin.section
                                && self.registry.resolve(name).is_some() =>
                        {
                            self.factory_plan(file, name, global, &used.origin, Vec::new())?
                                .0
                        }
                        Ok(section) => self.section_plan(file, section, global, &used.origin)?,
                        // `use = urlmap`: a registered factory's own name.
                        Err(_) if self.registry.resolve(name).is_some() => {
                            self.factory_plan(file, name, global, &used.origin, Vec::new())?
                                .0
                        }
                        Err(missing) => return Err(missing),
                    }
                };
                if let Some((key, setting)) = local.first() {
                    let Some(target) = plan.local_mut() else {
                        return Err(setting.origin.error(ConfigErrorKind::ExtraUseKey {
                            key: key.clone(),
                            name: name.to_owned(),
                        }));
                    };
                    for (key, setting) in local {
                        target.retain(|(k, _)| *k != key);
                        target.push((key, setting));
                    }
                }
                plan.set_origin(origin.clone());
                Ok(plan)
            }
            (None, &[(one, key)]) => {
                let (_, setting) = local.remove(one);
                let expected = match key {
                    "paste.composite_factory" | "paste.composit_factory" => {
                        Some(FactoryKind::Composite)
                    }
                    "paste.app_factory" => Some(FactoryKind::App),
                    _ => None,
                };
                let (mut plan, (name, found)) = self.factory_plan::<T>(
                    file,
                    setting.value.trim(),
                    global,
                    &setting.origin,
                    local,
                )?;
                if let Some(expected) = expected.filter(|expected| *expected != found) {
                    return Err(setting.origin.error(ConfigErrorKind::WrongProtocol {
                        key,
                        factory: name.to_owned(),
                        found,
                        expected,
                    }));
                }
                plan.set_origin(origin.clone());
                Ok(plan)
            }
            (None, []) => Err(origin.error(ConfigErrorKind::MissingFactory { wanted: T::TYPE })),
            (_, _) => Err(origin.error(ConfigErrorKind::SeveralFactories)),
        }
    }

    /// The plan of the factory `reference` finds, with its registered name
    /// and kind.
    fn factory_plan<T: Planned<S>>(
        &self,
        file: &Arc<File>,
        reference: &str,
        global: &Global,
        at: &Origin,
        local: Local,
    ) -> Result<(T, (&'r str, FactoryKind)), ConfigError> {
        let Some((name, factory)) = self.registry.resolve(reference) else {
            return Err(at.error(ConfigErrorKind::UnknownFactory {
                reference: reference.to_owned(),
                registered: self.registry.names().map(str::to_owned).collect(),
            }));
        };
        let found = factory.kind();
        let placed = Placed {
            origin: at.clone(),
            file,
            global,
            local,
        };
        match T::from_factory(name, factory, placed) {
            Some(plan) => Ok((plan, (name, found))),
            None => Err(at.error(ConfigErrorKind::WrongFactoryKind {
                reference: reference.to_owned(),
                found,
                wanted: T::TYPE,
            })),
        }
    }
}

/// Where a factory found by reference is used: what [`Planned::from_factory`]
/// needs besides the factory.
struct Placed<'a> {
    origin: Origin,
    file: &'a Arc<File>,
    global: &'a Global,
    local: Local,
}

/// What a name can be resolved into: [`Plan`] where an application is
/// needed, [`FilterPlan`] where a filter is. Resolution is the same for
/// both but for the few steps here, so the type of plan says what is
/// wanted and a filter can never end up where an application is built.
trait Planned<S>: Sized {
    /// What the name must refer to.
    const TYPE: ObjectType;

    /// The plan of `factory`, registered as `name`, if it builds this.
    fn from_factory(name: &str, factory: &Factory<S>, placed: Placed<'_>) -> Option<Self>;

    /// The plan of `section`, which is of a kind that satisfies `TYPE`.
    fn section(
        planner: &mut Planner<'_, S>,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        origin: Origin,
    ) -> Result<Self, ConfigError>;

    /// The factory's local keys, to which a section that `use`s this one
    /// adds its own; `None` for plans that take no keys.
    fn local_mut(&mut self) -> Option<&mut Local>;

    /// Reports this plan's factory errors at `origin` (the section that
    /// named it, rather than the `use` line).
    fn set_origin(&mut self, origin: Origin);
}

impl<S> Planned<S> for Plan<S> {
    const TYPE: ObjectType = ObjectType::App;

    fn from_factory(name: &str, factory: &Factory<S>, placed: Placed<'_>) -> Option<Self> {
        let name = name.to_owned();
        let local = placed.local;
        let body = match factory {
            Factory::App(factory) => Body::App {
                name,
                factory: factory.clone(),
                local,
            },
            Factory::Composite(factory) => Body::Composite {
                name,
                factory: factory.clone(),
                local,
            },
            Factory::Filter(_) => return None,
        };
        Some(Plan {
            origin: placed.origin,
            file: placed.file.clone(),
            global: placed.global.clone(),
            body,
            filter_with: Vec::new(),
        })
    }

    fn section(
        planner: &mut Planner<'_, S>,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        origin: Origin,
    ) -> Result<Self, ConfigError> {
        planner.app_section(file, section, inherited, origin)
    }

    fn local_mut(&mut self) -> Option<&mut Local> {
        match &mut self.body {
            Body::App { local, .. } | Body::Composite { local, .. } => Some(local),
            Body::Pipeline { .. } | Body::FilterApp { .. } => None,
        }
    }

    fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }
}

impl<S> Planned<S> for FilterPlan<S> {
    const TYPE: ObjectType = ObjectType::Filter;

    fn from_factory(name: &str, factory: &Factory<S>, placed: Placed<'_>) -> Option<Self> {
        let Factory::Filter(factory) = factory else {
            return None;
        };
        Some(FilterPlan {
            origin: placed.origin,
            global: placed.global.clone(),
            name: name.to_owned(),
            factory: factory.clone(),
            local: placed.local,
        })
    }

    fn section(
        planner: &mut Planner<'_, S>,
        file: &Arc<File>,
        section: &Section,
        inherited: &Global,
        origin: Origin,
    ) -> Result<Self, ConfigError> {
        planner.filter_section(file, section, inherited, origin)
    }

    fn local_mut(&mut self) -> Option<&mut Local> {
        Some(&mut self.local)
    }

    fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }
}

/// The one section `name` refers to where `wanted` is needed.
fn find_section<'f>(
    wanted: ObjectType,
    file: &'f File,
    name: &str,
    at: &Origin,
) -> Result<&'f Section, ConfigError> {
    let named: Vec<(&Section, SectionKind)> = file
        .ini
        .sections
        .iter()
        .filter_map(|section| match SectionKind::of_header(&section.name) {
            Some((kind, n)) if n == name && kind != SectionKind::Server => Some((section, kind)),
            _ => None,
        })
        .collect();
    let fitting: Vec<&Section> = named
        .iter()
        .filter(|(_, kind)| kind.satisfies(wanted))
        .map(|(section, _)| *section)
        .collect();
    match (fitting.as_slice(), named.first()) {
        ([one], _) => Ok(one),
        ([], Some((other, kind))) => Err(at.error(ConfigErrorKind::WrongKind {
            found: *kind,
            section: other.name.clone(),
            line: other.line,
            wanted,
        })),
        ([], None) => Err(at.error(ConfigErrorKind::MissingSection {
            name: name.to_owned(),
            wanted,
            file: file.name.clone(),
        })),
        (several, _) => Err(at.error(ConfigErrorKind::AmbiguousName {
            name: name.to_owned(),
            sections: several.iter().map(|s| s.name.clone()).collect(),
        })),
    }
}

/// `scheme:` at the start of a name, as paste's `_absolute_re`.
fn scheme(name: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = name.split_once(':')?;
    (!scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some((scheme, rest))
}

/// Removes `key` from a section's keys, returning its setting.
fn take(local: &mut Local, key: &str) -> Option<crate::Setting> {
    let at = local.iter().position(|(k, _)| k == key)?;
    Some(local.remove(at).1)
}
