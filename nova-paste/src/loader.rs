//! The loader: from a parsed file and a name to a built application, by
//! paste.deploy's rules.
//!
//! Resolution first turns a name into a plan (which sections, which
//! factories, which settings), following `pipeline =`, `next =`, `use =`,
//! `filter-with =` and `config:` references, so that every missing section,
//! unknown factory, wrong kind and loop is found before anything is built.
//! Building then calls the factories, innermost application first; a
//! composite's factory loads its own sections through a [`CompositeLoader`].
//! A failure anywhere is one [`ConfigError`]; nothing half-built escapes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nova_router::{RefuseOversizeBody, SharedService};

use crate::ini::{Entry, Ini, Scope, Section, DEFAULT_SECTION};
use crate::registry::{Factory, FactoryConfig, Origin, Registry, Setting};
use crate::{ConfigError, ConfigErrorKind, FactoryError};

/// A parsed paste.deploy file, ready to build applications from.
///
/// ```
/// use nova_paste::{Config, Registry};
/// use nova_router::{service_fn, Request, Service};
///
/// let mut registry = Registry::new();
/// registry.add_app("hello", |config| {
///     let greeting = config.get("greeting").unwrap_or("hello").to_owned();
///     Ok(std::sync::Arc::new(service_fn(move |_req: Request| {
///         let greeting = greeting.clone();
///         async move { http::Response::new(greeting.into()) }
///     })))
/// });
/// let text = "\
/// [DEFAULT]
/// word = bonjour
///
/// [composite:main]
/// use = egg:Paste#urlmap
/// /greet = hello
///
/// [app:hello]
/// use = egg:nova-rs#hello
/// greeting = %(word)s, world
/// ";
/// let config = Config::from_text("example.ini", std::path::Path::new("."), text).unwrap();
/// let app = config.load_app(&registry, "main").unwrap();
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/greet").body(Default::default()).unwrap();
/// let res = app.service().call(req).await.unwrap();
/// assert_eq!(res.body().as_ref(), b"bonjour, world");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    root: Arc<File>,
}

/// One parsed file and the values paste.deploy adds to its `[DEFAULT]`.
#[derive(Debug)]
struct File {
    name: Arc<str>,
    here: PathBuf,
    ini: Ini,
    builtins: BTreeMap<String, String>,
}

impl File {
    fn parse(
        name: Arc<str>,
        path_for_file: &Path,
        here: &Path,
        text: &str,
    ) -> Result<File, ConfigError> {
        let ini = Ini::parse(text).map_err(|error| {
            ConfigError::new(
                &*name,
                Some(error.line),
                error.section,
                ConfigErrorKind::Syntax(error.message),
            )
        })?;
        let builtins = BTreeMap::from([
            ("here".to_owned(), here.display().to_string()),
            ("__file__".to_owned(), path_for_file.display().to_string()),
        ]);
        Ok(File {
            name,
            here: here.to_path_buf(),
            ini,
            builtins,
        })
    }

    fn read(path: &Path, shown_as: &str) -> Result<File, String> {
        let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let here = absolute
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        File::parse(Arc::from(shown_as), &absolute, &here, &text).map_err(|e| e.to_string())
    }

    fn origin(&self, section: &str, line: usize) -> Origin {
        Origin {
            file: self.name.clone(),
            section: section.to_owned(),
            line,
        }
    }

    /// `[DEFAULT]` with `here` and `__file__`, interpolated.
    fn defaults(&self) -> Result<BTreeMap<String, Setting>, ConfigError> {
        let mut global: BTreeMap<String, Setting> = self
            .builtins
            .iter()
            .map(|(key, value)| {
                let setting = Setting {
                    value: value.clone(),
                    origin: self.origin(DEFAULT_SECTION, 0),
                };
                (key.clone(), setting)
            })
            .collect();
        let scope = Scope::new(&self.builtins, &self.ini.defaults, None);
        for entry in &self.ini.defaults {
            let value = scope
                .interpolate(&entry.key, &entry.value)
                .map_err(|error| {
                    error_at(&self.origin(DEFAULT_SECTION, entry.line), error.into())
                })?;
            let origin = self.origin(DEFAULT_SECTION, entry.line);
            global.insert(entry.key.clone(), Setting { value, origin });
        }
        Ok(global)
    }

    fn is_default_key(&self, key: &str) -> bool {
        self.builtins.contains_key(key) || self.ini.defaults.iter().any(|e| e.key == key)
    }
}

fn error_at(origin: &Origin, kind: ConfigErrorKind) -> ConfigError {
    let section = (!origin.section.is_empty()).then(|| origin.section.clone());
    let line = (origin.line > 0).then_some(origin.line);
    ConfigError::new(&*origin.file, line, section, kind)
}

/// An application built from a file.
#[derive(Clone)]
pub struct LoadedApp {
    service: SharedService,
    max_body_size: Option<usize>,
}

impl std::fmt::Debug for LoadedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedApp")
            .field("max_body_size", &self.max_body_size)
            .finish_non_exhaustive()
    }
}

impl LoadedApp {
    /// The application, filters and all.
    ///
    /// Every application a factory built sits behind
    /// [`RefuseOversizeBody`]: a request the server marked as having a body
    /// too large to read is answered 413 before it reaches one.
    pub fn service(&self) -> &SharedService {
        &self.service
    }

    /// The largest request body some part of the application declared it
    /// accepts ([`FactoryConfig::declare_max_body_size`]), if any did.
    pub fn max_body_size(&self) -> Option<usize> {
        self.max_body_size
    }

    /// The application, consuming this.
    pub fn into_service(self) -> SharedService {
        self.service
    }
}

impl Config {
    /// Reads and parses the file at `path`. Errors name it as given.
    pub fn open(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new(
                &*shown,
                None,
                None,
                ConfigErrorKind::Read(error.to_string()),
            )
        })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let here = absolute
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let root = File::parse(Arc::from(shown), &absolute, &here, text.as_str())?;
        Ok(Config {
            root: Arc::new(root),
        })
    }

    /// Parses `text` as if it were a file called `name` in the folder `here`
    /// (what `%(here)s` and relative `config:` references use).
    pub fn from_text(name: &str, here: &Path, text: &str) -> Result<Config, ConfigError> {
        let root = File::parse(Arc::from(name), &here.join(name), here, text)?;
        Ok(Config {
            root: Arc::new(root),
        })
    }

    /// The file's name, as given.
    pub fn name(&self) -> &str {
        &self.root.name
    }

    /// Builds the application `name` (paste's `loadapp('config:FILE', name)`):
    /// the `[app:NAME]`, `[pipeline:NAME]`, `[composite:NAME]` or
    /// `[filter-app:NAME]` section, with the factories of `registry`.
    pub fn load_app(&self, registry: &Registry, name: &str) -> Result<LoadedApp, ConfigError> {
        let loader = Loader {
            registry,
            files: RefCell::new(BTreeMap::new()),
            stack: RefCell::new(Vec::new()),
            max_body_size: Cell::new(None),
        };
        let at = self.root.origin("", 0);
        let global = BTreeMap::new();
        let plan = loader.resolve(Want::App, &self.root, name, &global, &at)?;
        let service = loader.build_app(&plan)?;
        Ok(LoadedApp {
            service,
            max_body_size: loader.max_body_size.get(),
        })
    }

    /// Reads `[server:NAME]` with `read`, which gets its keys (and
    /// `[DEFAULT]` as global configuration) and must read every key it
    /// accepts; `None` if the file has no such section.
    pub fn load_server<T>(
        &self,
        name: &str,
        read: impl FnOnce(&FactoryConfig) -> Result<T, FactoryError>,
    ) -> Result<Option<T>, ConfigError> {
        let file = &self.root;
        let Some(section) = file.ini.sections.iter().find(|section| {
            matches!(section_kind(&section.name), Some((SectionKind::Server, n)) if n == name)
        }) else {
            return Ok(None);
        };
        let (global, local) = settings(file, section, &BTreeMap::new())?;
        let config = FactoryConfig::new(format!("server {name}"), global, local);
        let origin = file.origin(&section.name, section.line);
        let value = read(&config).map_err(|error| factory_error(&origin, &config, error))?;
        check_unread(&config)?;
        Ok(Some(value))
    }
}

/// What a reference must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    App,
    Filter,
}

impl Want {
    fn describe(self) -> &'static str {
        match self {
            Want::App => "an app, composite, pipeline or filter-app",
            Want::Filter => "a filter",
        }
    }

    fn accepts(self, factory: &Factory) -> bool {
        match self {
            Want::App => matches!(factory, Factory::App(_) | Factory::Composite(_)),
            Want::Filter => matches!(factory, Factory::Filter(_)),
        }
    }

    /// The keys that name a factory explicitly, as paste's egg protocols.
    fn protocols(self) -> &'static [&'static str] {
        match self {
            Want::App => &[
                "paste.app_factory",
                "paste.composite_factory",
                "paste.composit_factory",
            ],
            Want::Filter => &["paste.filter_factory", "paste.filter_app_factory"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    App,
    Composite,
    Pipeline,
    FilterApp,
    Filter,
    Server,
}

impl SectionKind {
    fn satisfies(self, want: Want) -> bool {
        match want {
            Want::App => matches!(
                self,
                SectionKind::App
                    | SectionKind::Composite
                    | SectionKind::Pipeline
                    | SectionKind::FilterApp
            ),
            Want::Filter => self == SectionKind::Filter,
        }
    }

    fn word(self) -> &'static str {
        match self {
            SectionKind::App => "an app",
            SectionKind::Composite => "a composite",
            SectionKind::Pipeline => "a pipeline",
            SectionKind::FilterApp => "a filter-app",
            SectionKind::Filter => "a filter",
            SectionKind::Server => "a server",
        }
    }
}

/// The kind and name of a section header; `None` for sections paste.deploy
/// does not read (such as logging's `[loggers]`), which are ignored.
fn section_kind(header: &str) -> Option<(SectionKind, &str)> {
    let (prefix, name) = header.split_once(':')?;
    let kind = match prefix.trim() {
        "app" | "application" => SectionKind::App,
        "composite" | "composit" => SectionKind::Composite,
        "pipeline" => SectionKind::Pipeline,
        "filter-app" => SectionKind::FilterApp,
        "filter" => SectionKind::Filter,
        "server" => SectionKind::Server,
        _ => return None,
    };
    Some((kind, name.trim()))
}

/// `scheme:` at the start of a name, as paste's `_absolute_re`.
fn scheme(name: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = name.split_once(':')?;
    (!scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some((scheme, rest))
}

/// A section's entries, interpolated, in file order.
fn interpolated(file: &File, section: &Section) -> Result<Vec<(String, Setting)>, ConfigError> {
    let scope = Scope::new(&file.builtins, &file.ini.defaults, Some(section));
    section
        .entries
        .iter()
        .map(|Entry { key, value, line }| {
            let origin = file.origin(&section.name, *line);
            let value = scope
                .interpolate(key, value)
                .map_err(|error| error_at(&origin, error.into()))?;
            Ok((key.clone(), Setting { value, origin }))
        })
        .collect()
}

/// A section's global configuration (the file's `[DEFAULT]`, what was
/// inherited, its own `set` keys) and its local keys (with `get` keys
/// resolved), interpolated.
#[allow(clippy::type_complexity)]
fn settings(
    file: &File,
    section: &Section,
    inherited: &BTreeMap<String, Setting>,
) -> Result<(BTreeMap<String, Setting>, Vec<(String, Setting)>), ConfigError> {
    let invalid = |o: &Origin, message: String| error_at(o, ConfigErrorKind::Invalid(message));
    let mut global = file.defaults()?;
    global.extend(inherited.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut local = Vec::new();
    let mut gets = Vec::new();
    for (key, setting) in interpolated(file, section)? {
        if let Some(name) = key.strip_prefix("set ") {
            global.insert(name.trim().to_owned(), setting);
        } else if let Some(name) = key.strip_prefix("get ") {
            gets.push((name.trim().to_owned(), setting));
        } else if file.is_default_key(&key) {
            // paste.deploy would silently pass the [DEFAULT] value
            // instead of this one: refuse rather than mislead.
            return Err(invalid(
                    &setting.origin,
                    format!(
                        "{key:?} is also set in [DEFAULT], which paste.deploy gives precedence; write `set {key} = …` to change it for this section"
                    ),
                ));
        } else {
            local.push((key, setting));
        }
    }
    for (name, setting) in gets {
        let Some(value) = global.get(&setting.value) else {
            return Err(invalid(
                &setting.origin,
                format!(
                    "`get {name}` names {:?}, which is not in the global configuration",
                    setting.value
                ),
            ));
        };
        let value = value.value.clone();
        local.push((
            name,
            Setting {
                value,
                origin: setting.origin,
            },
        ));
    }
    Ok((global, local))
}

/// A resolved, not yet built, application or filter.
struct Plan {
    origin: Origin,
    file: Arc<File>,
    global: BTreeMap<String, Setting>,
    body: PlanBody,
    /// Filters from `filter-with`, innermost first.
    filter_with: Vec<Plan>,
}

enum PlanBody {
    Factory {
        name: String,
        factory: Factory,
        local: Vec<(String, Setting)>,
    },
    Pipeline {
        filters: Vec<Plan>,
        app: Box<Plan>,
    },
    FilterApp {
        filter: Box<Plan>,
        next: Box<Plan>,
    },
}

struct Loader<'r> {
    registry: &'r Registry,
    files: RefCell<BTreeMap<PathBuf, Arc<File>>>,
    /// The sections being resolved (or, for composites, built), outermost
    /// first, to catch loops.
    stack: RefCell<Vec<Origin>>,
    max_body_size: Cell<Option<usize>>,
}

fn take(local: &mut Vec<(String, Setting)>, key: &str) -> Option<Setting> {
    let at = local.iter().position(|(k, _)| k == key)?;
    Some(local.remove(at).1)
}

impl Loader<'_> {
    /// Resolves a reference `name` written at `at` in `file`.
    fn resolve(
        &self,
        want: Want,
        file: &Arc<File>,
        name: &str,
        global: &BTreeMap<String, Setting>,
        at: &Origin,
    ) -> Result<Plan, ConfigError> {
        if let Some((scheme, rest)) = scheme(name) {
            return match scheme {
                "config" => {
                    let (path, section) = rest.split_once('#').unwrap_or((rest, "main"));
                    let other = self.open(file, path, at)?;
                    self.resolve(want, &other, section, global, at)
                }
                "egg" | "call" => self.factory_plan(want, file, name, global, at, Vec::new()),
                _ => Err(error_at(
                    at,
                    ConfigErrorKind::UnknownFactory(format!(
                        "{name:?} uses the unknown scheme {scheme:?} (known: config:, egg:, call:)"
                    )),
                )),
            };
        }
        let section = self.find_section(want, file, name, at)?;
        self.section_plan(want, file, section, global, at)
    }

    fn open(&self, from: &File, path: &str, at: &Origin) -> Result<Arc<File>, ConfigError> {
        let full = from.here.join(path);
        let key = std::path::absolute(&full).unwrap_or_else(|_| full.clone());
        if let Some(file) = self.files.borrow().get(&key) {
            return Ok(file.clone());
        }
        let file = File::read(&full, &full.display().to_string()).map_err(|message| {
            error_at(
                at,
                ConfigErrorKind::Read(format!("config:{path} ({}): {message}", full.display())),
            )
        })?;
        let file = Arc::new(file);
        self.files.borrow_mut().insert(key, file.clone());
        Ok(file)
    }

    fn find_section<'f>(
        &self,
        want: Want,
        file: &'f File,
        name: &str,
        at: &Origin,
    ) -> Result<&'f Section, ConfigError> {
        let named: Vec<(&Section, SectionKind)> = file
            .ini
            .sections
            .iter()
            .filter_map(|section| match section_kind(&section.name) {
                Some((kind, n)) if n == name && kind != SectionKind::Server => {
                    Some((section, kind))
                }
                _ => None,
            })
            .collect();
        let fitting: Vec<&Section> = named
            .iter()
            .filter(|(_, kind)| kind.satisfies(want))
            .map(|(section, _)| *section)
            .collect();
        match (fitting.as_slice(), named.first()) {
            ([one], _) => Ok(one),
            ([], Some((other, kind))) => Err(error_at(
                at,
                ConfigErrorKind::WrongKind(format!(
                    "{name:?} is {} ([{}] on line {}), but {} is needed here{}",
                    kind.word(),
                    other.name,
                    other.line,
                    want.describe(),
                    if want == Want::App && *kind == SectionKind::Filter {
                        " (the last element of a pipeline must be an app)"
                    } else {
                        ""
                    }
                )),
            )),
            ([], None) => Err(error_at(
                at,
                ConfigErrorKind::MissingSection(match want {
                    Want::App => format!(
                        "no section [app:{name}], [pipeline:{name}], [composite:{name}] or [filter-app:{name}] in {}",
                        file.name
                    ),
                    Want::Filter => format!("no section [filter:{name}] in {}", file.name),
                }),
            )),
            (several, _) => Err(error_at(
                at,
                ConfigErrorKind::Invalid(format!(
                    "{name:?} is ambiguous: it names {}",
                    several
                        .iter()
                        .map(|s| format!("[{}]", s.name))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )),
            )),
        }
    }

    fn enter(&self, origin: &Origin, at: &Origin) -> Result<(), ConfigError> {
        let mut stack = self.stack.borrow_mut();
        let same = |o: &Origin| o.file == origin.file && o.section == origin.section;
        if let Some(start) = stack.iter().position(same) {
            let mut path: Vec<String> = stack[start..]
                .iter()
                .map(|o| format!("[{}]", o.section))
                .collect();
            path.push(format!("[{}]", origin.section));
            return Err(error_at(at, ConfigErrorKind::Cycle(path.join(" -> "))));
        }
        stack.push(origin.clone());
        Ok(())
    }

    fn leave(&self) {
        self.stack.borrow_mut().pop();
    }

    fn section_plan(
        &self,
        want: Want,
        file: &Arc<File>,
        section: &Section,
        inherited: &BTreeMap<String, Setting>,
        at: &Origin,
    ) -> Result<Plan, ConfigError> {
        let origin = file.origin(&section.name, section.line);
        self.enter(&origin, at)?;
        let plan = self.section_plan_inner(want, file, section, inherited, origin);
        self.leave();
        plan
    }

    fn section_plan_inner(
        &self,
        want: Want,
        file: &Arc<File>,
        section: &Section,
        inherited: &BTreeMap<String, Setting>,
        origin: Origin,
    ) -> Result<Plan, ConfigError> {
        let invalid = |o: &Origin, message: String| error_at(o, ConfigErrorKind::Invalid(message));
        let kind = section_kind(&section.name).map(|(kind, _)| kind);
        let (global, mut local) = settings(file, section, inherited)?;
        let filter_with = match take(&mut local, "filter-with") {
            Some(setting) if kind == Some(SectionKind::Filter) => {
                return Err(invalid(
                    &setting.origin,
                    "filter-with is only allowed on app, composite and pipeline sections"
                        .to_owned(),
                ))
            }
            Some(setting) => Some(self.resolve(
                Want::Filter,
                file,
                setting.value.trim(),
                &global,
                &setting.origin,
            )?),
            None => None,
        };
        let body = match kind {
            Some(SectionKind::Pipeline) => {
                let Some(pipeline) = take(&mut local, "pipeline") else {
                    return Err(invalid(
                        &origin,
                        "a pipeline section needs a `pipeline = filter … app` key".to_owned(),
                    ));
                };
                if let Some((key, setting)) = local.first() {
                    return Err(invalid(
                        &setting.origin,
                        format!("a pipeline section takes only `pipeline` (and set/get/filter-with), not {key:?}"),
                    ));
                }
                let names: Vec<&str> = pipeline.value.split_whitespace().collect();
                let Some((app_name, filter_names)) = names.split_last() else {
                    return Err(invalid(
                        &pipeline.origin,
                        "the pipeline is empty".to_owned(),
                    ));
                };
                let app = self.resolve(Want::App, file, app_name, &global, &pipeline.origin)?;
                let filters = filter_names
                    .iter()
                    .map(|name| self.resolve(Want::Filter, file, name, &global, &pipeline.origin))
                    .collect::<Result<Vec<_>, _>>()?;
                PlanBody::Pipeline {
                    filters,
                    app: Box::new(app),
                }
            }
            Some(SectionKind::FilterApp) => {
                let Some(next) = take(&mut local, "next") else {
                    return Err(invalid(
                        &origin,
                        "a filter-app section needs a `next = app` key".to_owned(),
                    ));
                };
                let next =
                    self.resolve(Want::App, file, next.value.trim(), &global, &next.origin)?;
                let filter = self.factory_or_use(Want::Filter, file, &origin, local, &global)?;
                PlanBody::FilterApp {
                    filter: Box::new(filter),
                    next: Box::new(next),
                }
            }
            _ => {
                let mut plan = self.factory_or_use(want, file, &origin, local, &global)?;
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

    /// A section's `use = …` or explicit `paste.*_factory = …`.
    fn factory_or_use(
        &self,
        want: Want,
        file: &Arc<File>,
        origin: &Origin,
        mut local: Vec<(String, Setting)>,
        global: &BTreeMap<String, Setting>,
    ) -> Result<Plan, ConfigError> {
        let used = take(&mut local, "use");
        let explicit: Vec<usize> = local
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| want.protocols().contains(&key.as_str()))
            .map(|(index, _)| index)
            .collect();
        match (used, explicit.as_slice()) {
            (Some(used), []) => {
                let name = used.value.trim();
                let mut plan = if scheme(name).is_some() {
                    self.resolve(want, file, name, global, &used.origin)?
                } else {
                    match self.find_section(want, file, name, &used.origin) {
                        // `[filter:sizelimit] use = sizelimit`: a section
                        // cannot use itself, so the name is a factory's.
                        Ok(section)
                            if section.name == origin.section
                                && self.registry.resolve(name).is_some() =>
                        {
                            self.factory_plan(want, file, name, global, &used.origin, Vec::new())?
                        }
                        Ok(section) => {
                            self.section_plan(want, file, section, global, &used.origin)?
                        }
                        // `use = urlmap`: a registered factory's own name.
                        Err(missing) if self.registry.resolve(name).is_some() => {
                            let _ = missing;
                            self.factory_plan(want, file, name, global, &used.origin, Vec::new())?
                        }
                        Err(missing) => return Err(missing),
                    }
                };
                if let Some((key, setting)) = local.first() {
                    match &mut plan.body {
                        PlanBody::Factory { local: target, .. } => {
                            for (key, setting) in local {
                                target.retain(|(k, _)| *k != key);
                                target.push((key, setting));
                            }
                        }
                        _ => {
                            return Err(error_at(
                                &setting.origin,
                                ConfigErrorKind::Invalid(format!(
                                    "{key:?} cannot be added to {name:?}: it is a pipeline or filter-app, which takes no settings"
                                )),
                            ))
                        }
                    }
                }
                plan.origin = origin.clone();
                Ok(plan)
            }
            (None, [one]) => {
                let (key, setting) = local.remove(*one);
                let expected = match key.as_str() {
                    "paste.composite_factory" | "paste.composit_factory" => Some("composite"),
                    "paste.app_factory" => Some("app"),
                    _ => None,
                };
                let plan = self.factory_plan(
                    want,
                    file,
                    setting.value.trim(),
                    global,
                    &setting.origin,
                    local,
                )?;
                if let (Some(expected), PlanBody::Factory { factory, name, .. }) =
                    (expected, &plan.body)
                {
                    if factory.kind() != expected {
                        return Err(error_at(
                            &setting.origin,
                            ConfigErrorKind::WrongKind(format!(
                                "{key} names {name:?}, which is a {} factory, not a{} {expected} factory",
                                factory.kind(),
                                if expected == "app" { "n" } else { "" }
                            )),
                        ));
                    }
                }
                Ok(Plan {
                    origin: origin.clone(),
                    ..plan
                })
            }
            (None, []) => Err(error_at(
                origin,
                ConfigErrorKind::Invalid(format!(
                    "no factory: give `use = …` or `{} = …`",
                    want.protocols()[0]
                )),
            )),
            (_, _) => Err(error_at(
                origin,
                ConfigErrorKind::Invalid(
                    "more than one factory is given (use and/or paste.*_factory)".to_owned(),
                ),
            )),
        }
    }

    fn factory_plan(
        &self,
        want: Want,
        file: &Arc<File>,
        reference: &str,
        global: &BTreeMap<String, Setting>,
        at: &Origin,
        local: Vec<(String, Setting)>,
    ) -> Result<Plan, ConfigError> {
        let Some((name, factory)) = self.registry.resolve(reference) else {
            let known: Vec<&str> = self.registry.names().collect();
            return Err(error_at(
                at,
                ConfigErrorKind::UnknownFactory(format!(
                    "no factory is registered as {reference:?} (registered: {})",
                    known.join(", ")
                )),
            ));
        };
        if !want.accepts(factory) {
            return Err(error_at(
                at,
                ConfigErrorKind::WrongKind(format!(
                    "{reference:?} is a {} factory, but {} is needed here",
                    factory.kind(),
                    want.describe()
                )),
            ));
        }
        Ok(Plan {
            origin: at.clone(),
            file: file.clone(),
            global: global.clone(),
            body: PlanBody::Factory {
                name: name.to_owned(),
                factory: factory.clone(),
                local,
            },
            filter_with: Vec::new(),
        })
    }

    fn note(&self, config: &FactoryConfig) {
        if let Some(bytes) = config.declared_max_body_size() {
            let largest = self.max_body_size.get().map_or(bytes, |n| n.max(bytes));
            self.max_body_size.set(Some(largest));
        }
    }

    fn build_app(&self, plan: &Plan) -> Result<SharedService, ConfigError> {
        let app = match &plan.body {
            PlanBody::Factory {
                name,
                factory: Factory::App(factory),
                local,
            } => {
                let config = FactoryConfig::new(name.clone(), plan.global.clone(), local.clone());
                let app = factory(&config).map_err(|e| factory_error(&plan.origin, &config, e))?;
                check_unread(&config)?;
                self.note(&config);
                Arc::new(RefuseOversizeBody::new(app))
            }
            PlanBody::Factory {
                name,
                factory: Factory::Composite(factory),
                local,
            } => {
                let config = FactoryConfig::new(name.clone(), plan.global.clone(), local.clone());
                self.enter(&plan.origin, &plan.origin)?;
                let mut loader = CompositeLoader { loader: self, plan };
                let app = factory(&mut loader, &config);
                self.leave();
                let app = app.map_err(|e| factory_error(&plan.origin, &config, e))?;
                check_unread(&config)?;
                self.note(&config);
                app
            }
            PlanBody::Factory {
                factory: Factory::Filter(_),
                ..
            } => {
                return Err(error_at(
                    &plan.origin,
                    ConfigErrorKind::WrongKind(
                        "a filter cannot serve requests on its own".to_owned(),
                    ),
                ))
            }
            PlanBody::Pipeline { filters, app } => {
                let mut app = self.build_app(app)?;
                for filter in filters.iter().rev() {
                    app = self.apply_filter(filter, app)?;
                }
                app
            }
            PlanBody::FilterApp { filter, next } => {
                let next = self.build_app(next)?;
                self.apply_filter(filter, next)?
            }
        };
        plan.filter_with
            .iter()
            .try_fold(app, |app, filter| self.apply_filter(filter, app))
    }

    fn apply_filter(&self, plan: &Plan, app: SharedService) -> Result<SharedService, ConfigError> {
        match &plan.body {
            PlanBody::Factory {
                name,
                factory: Factory::Filter(factory),
                local,
            } => {
                let config = FactoryConfig::new(name.clone(), plan.global.clone(), local.clone());
                let app =
                    factory(&config, app).map_err(|e| factory_error(&plan.origin, &config, e))?;
                check_unread(&config)?;
                self.note(&config);
                Ok(app)
            }
            _ => Err(error_at(
                &plan.origin,
                ConfigErrorKind::WrongKind("an app cannot be used as a filter".to_owned()),
            )),
        }
    }
}

fn factory_error(origin: &Origin, config: &FactoryConfig, error: FactoryError) -> ConfigError {
    match error {
        FactoryError::BadValue { key, message } => error_at(
            config.origin_of(&key).unwrap_or(origin),
            ConfigErrorKind::BadValue { key, message },
        ),
        FactoryError::Invalid(message) => error_at(origin, ConfigErrorKind::Invalid(message)),
        FactoryError::Load(error) => *error,
    }
}

fn check_unread(config: &FactoryConfig) -> Result<(), ConfigError> {
    match config.unread_key() {
        Some((key, setting)) => Err(error_at(
            &setting.origin,
            ConfigErrorKind::UnknownKey {
                key: key.clone(),
                factory: config.factory().to_owned(),
            },
        )),
        None => Ok(()),
    }
}

/// What a composite factory loads its parts with: paste's `loader.get_app`.
pub struct CompositeLoader<'a> {
    loader: &'a Loader<'a>,
    plan: &'a Plan,
}

impl std::fmt::Debug for CompositeLoader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeLoader")
            .field("section", &self.plan.origin.section)
            .finish_non_exhaustive()
    }
}

impl CompositeLoader<'_> {
    /// Builds the application `name` (a section name or a `config:`,
    /// `egg:` or `call:` reference), written as the value of `key` in the
    /// composite's section, with the composite's global configuration.
    pub fn load_app(&mut self, key: &str, name: &str) -> Result<SharedService, FactoryError> {
        let at = match &self.plan.body {
            PlanBody::Factory { local, .. } => local
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, setting)| setting.origin.clone()),
            _ => None,
        }
        .unwrap_or_else(|| self.plan.origin.clone());
        let plan = self
            .loader
            .resolve(Want::App, &self.plan.file, name, &self.plan.global, &at)?;
        Ok(self.loader.build_app(&plan)?)
    }
}
