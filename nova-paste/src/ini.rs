//! The INI format as Python's `ConfigParser` reads it for paste.deploy.
//!
//! What paste.deploy relies on, and so what this parser does:
//! - `[section]` headers; names are case-sensitive, `[DEFAULT]` is special;
//! - `key = value` or `key: value`, split at the first `=` or `:`, both sides
//!   trimmed; keys keep their case (paste.deploy sets `optionxform = str`);
//! - continuation lines: a line indented deeper than its key's line continues
//!   the value, joined with a line break; blank lines inside a value are kept
//!   when an indented line follows, trailing ones dropped;
//! - whole-line comments starting with `#` or `;` (also indented ones); there
//!   are no inline comments, so `a = b ; c` has the value `b ; c`;
//! - a section or key given twice is an error (`strict = True`);
//! - `%(name)s` interpolation from the same section and `[DEFAULT]`, `%%` for
//!   a literal `%`, at most 10 levels deep, done when a value is read.
//!
//! Every section and key remembers its line, so errors can point at it.

use std::collections::BTreeMap;

/// One `key = value` line (with its continuation lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
}

/// One `[name]` section and its entries, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) entries: Vec<Entry>,
}

/// A parsed file: its `[DEFAULT]` entries and its other sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ini {
    pub(crate) defaults: Vec<Entry>,
    pub(crate) sections: Vec<Section>,
}

/// A syntax error, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) section: Option<String>,
    pub(crate) message: String,
}

/// Why a `%(name)s` reference could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterpolationError {
    /// `%(name)s` names a key that is neither in the section nor in `[DEFAULT]`.
    #[error("interpolation of {key:?} refers to {missing:?}, which is not set in the section or in [DEFAULT]")]
    Missing {
        /// The key being read.
        key: String,
        /// The key referred to.
        missing: String,
    },
    /// A `%` not followed by `%` or `(name)s`.
    #[error("bad interpolation syntax in {key:?}: '%' must be followed by '%' or '(name)s', found {found:?}")]
    Syntax {
        /// The key being read.
        key: String,
        /// The text from the `%` on.
        found: String,
    },
    /// References nested more than 10 deep, usually a loop such as `a = %(a)s`.
    #[error(
        "interpolation of {key:?} is nested more than {MAX_DEPTH} levels deep (a reference loop?)"
    )]
    TooDeep {
        /// The key being read.
        key: String,
    },
}

/// `ConfigParser`'s `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

/// The prefix of the special section.
pub(crate) const DEFAULT_SECTION: &str = "DEFAULT";

impl Ini {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Ini, SyntaxError> {
        let mut ini = Ini::default();
        // Where entries go: None before the first header, Some(None) for
        // [DEFAULT], Some(Some(i)) for sections[i].
        let mut current: Option<Option<usize>> = None;
        // The entry being continued and the indentation of its key's line.
        let mut open: Option<(usize, usize)> = None;
        // Blank lines seen inside a value, kept only if it goes on.
        let mut pending_blank = 0usize;
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = line.trim();
            let section_name = |current: Option<Option<usize>>, ini: &Ini| match current {
                Some(Some(i)) => ini.sections.get(i).map(|s| s.name.clone()),
                Some(None) => Some(DEFAULT_SECTION.to_owned()),
                None => None,
            };
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if trimmed.is_empty() {
                if open.is_some() {
                    pending_blank += 1;
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some((_, key_indent)), Some(target)) = (open, current) {
                if indent > key_indent {
                    let section = section_name(current, &ini);
                    let entry =
                        entries_mut(&mut ini, target)
                            .last_mut()
                            .ok_or_else(|| SyntaxError {
                                line: number,
                                section,
                                message: "continuation line without a key".to_owned(),
                            })?;
                    for _ in 0..pending_blank {
                        entry.value.push('\n');
                    }
                    pending_blank = 0;
                    entry.value.push('\n');
                    entry.value.push_str(trimmed);
                    continue;
                }
            }
            open = None;
            pending_blank = 0;
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(SyntaxError {
                        line: number,
                        section: section_name(current, &ini),
                        message: format!("malformed section header {trimmed:?}"),
                    });
                };
                if name.is_empty() {
                    return Err(SyntaxError {
                        line: number,
                        section: None,
                        message: "empty section name".to_owned(),
                    });
                }
                if name == DEFAULT_SECTION {
                    current = Some(None);
                    continue;
                }
                if let Some(first) = ini.sections.iter().find(|s| s.name == name) {
                    return Err(SyntaxError {
                        line: number,
                        section: Some(name.to_owned()),
                        message: format!(
                            "section [{name}] is given twice (first on line {})",
                            first.line
                        ),
                    });
                }
                ini.sections.push(Section {
                    name: name.to_owned(),
                    line: number,
                    entries: Vec::new(),
                });
                current = Some(Some(ini.sections.len() - 1));
                continue;
            }
            let Some(target) = current else {
                return Err(SyntaxError {
                    line: number,
                    section: None,
                    message: "a key before the first [section] header".to_owned(),
                });
            };
            let Some(split) = trimmed.find(['=', ':']) else {
                return Err(SyntaxError {
                    line: number,
                    section: section_name(current, &ini),
                    message: format!("expected `key = value`, found {trimmed:?}"),
                });
            };
            let key = trimmed[..split].trim_end();
            let value = trimmed[split + 1..].trim_start();
            if key.is_empty() {
                return Err(SyntaxError {
                    line: number,
                    section: section_name(current, &ini),
                    message: format!("a value without a key: {trimmed:?}"),
                });
            }
            let entries = entries_mut(&mut ini, target);
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                let first_line = first.line;
                return Err(SyntaxError {
                    line: number,
                    section: section_name(current, &ini),
                    message: format!("key {key:?} is given twice (first on line {first_line})"),
                });
            }
            entries.push(Entry {
                key: key.to_owned(),
                value: value.to_owned(),
                line: number,
            });
            open = Some((entries.len() - 1, indent));
        }
        Ok(ini)
    }

    /// The section named exactly `name`.
    #[cfg(test)]
    pub(crate) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

fn entries_mut(ini: &mut Ini, target: Option<usize>) -> &mut Vec<Entry> {
    match target.and_then(|i| ini.sections.get_mut(i)) {
        Some(section) => &mut section.entries,
        None => &mut ini.defaults,
    }
}

/// The raw values a section's `%(name)s` references may use: the section's
/// own keys over `[DEFAULT]`'s over the loader's defaults (`here`, `__file__`).
pub(crate) struct Scope<'a> {
    values: BTreeMap<&'a str, &'a str>,
}

impl<'a> Scope<'a> {
    /// The scope of `section` (None for `[DEFAULT]` itself).
    pub(crate) fn new(
        builtins: &'a BTreeMap<String, String>,
        defaults: &'a [Entry],
        section: Option<&'a Section>,
    ) -> Self {
        let mut values: BTreeMap<&str, &str> = builtins
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for entry in defaults {
            values.insert(&entry.key, &entry.value);
        }
        for entry in section.into_iter().flat_map(|s| &s.entries) {
            values.insert(&entry.key, &entry.value);
        }
        Scope { values }
    }

    /// `raw`, the value of `key`, with its references expanded.
    pub(crate) fn interpolate(&self, key: &str, raw: &str) -> Result<String, InterpolationError> {
        let mut out = String::with_capacity(raw.len());
        self.expand(key, raw, 1, &mut out)?;
        Ok(out)
    }

    fn expand(
        &self,
        key: &str,
        mut rest: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        if depth > MAX_DEPTH {
            return Err(InterpolationError::TooDeep {
                key: key.to_owned(),
            });
        }
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
                continue;
            }
            let reference = rest
                .strip_prefix("%(")
                .and_then(|after| after.split_once(")s"))
                .filter(|(name, _)| !name.is_empty() && !name.contains(')'));
            let Some((name, after)) = reference else {
                return Err(InterpolationError::Syntax {
                    key: key.to_owned(),
                    found: rest.to_owned(),
                });
            };
            let value = self
                .values
                .get(name)
                .ok_or_else(|| InterpolationError::Missing {
                    key: key.to_owned(),
                    missing: name.to_owned(),
                })?;
            if value.contains('%') {
                self.expand(key, value, depth + 1, out)?;
            } else {
                out.push_str(value);
            }
            rest = after;
        }
        out.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        Ini::parse(text).unwrap()
    }

    fn value<'a>(ini: &'a Ini, section: &str, key: &str) -> &'a str {
        let entries = if section == DEFAULT_SECTION {
            &ini.defaults
        } else {
            &ini.section(section).unwrap().entries
        };
        &entries.iter().find(|e| e.key == key).unwrap().value
    }

    #[test]
    fn the_seeds_file_parses_into_three_sections_with_their_lines() {
        let ini = parse(
            "[pipeline:main]\npipeline = auth instance\n[app:instance]\npaste.app_factory = routers:app_factory\n[filter:auth]\npaste.filter_factory = auth:filter_factory\n",
        );
        let names: Vec<(&str, usize)> = ini
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.line))
            .collect();
        assert_eq!(
            names,
            [
                ("pipeline:main", 1),
                ("app:instance", 3),
                ("filter:auth", 5)
            ]
        );
        assert_eq!(value(&ini, "pipeline:main", "pipeline"), "auth instance");
        assert_eq!(ini.sections[2].entries[0].line, 6);
    }

    #[test]
    fn both_delimiters_split_at_the_first_one_and_values_are_trimmed() {
        let ini =
            parse("[composite:m]\n/v2.1: api\nuse = egg:Paste#urlmap\n/ =  versions  \nempty =\n");
        assert_eq!(value(&ini, "composite:m", "/v2.1"), "api");
        assert_eq!(value(&ini, "composite:m", "use"), "egg:Paste#urlmap");
        assert_eq!(value(&ini, "composite:m", "/"), "versions");
        assert_eq!(value(&ini, "composite:m", "empty"), "");
    }

    #[test]
    fn keys_keep_their_case_as_paste_deploy_asks() {
        let ini = parse("[app:a]\nKey = 1\nkey = 2\n");
        assert_eq!(value(&ini, "app:a", "Key"), "1");
        assert_eq!(value(&ini, "app:a", "key"), "2");
    }

    #[test]
    fn comments_are_whole_lines_only() {
        let ini =
            parse("# top\n; also\n[app:a]\n  # indented comment\nx = 1 ; not a comment\ny = a#b\n");
        assert_eq!(value(&ini, "app:a", "x"), "1 ; not a comment");
        assert_eq!(value(&ini, "app:a", "y"), "a#b");
        assert_eq!(ini.sections[0].entries.len(), 2);
    }

    #[test]
    fn indented_lines_continue_a_value_and_inner_blank_lines_are_kept() {
        let ini = parse(
            "[pipeline:main]\npipeline = request_id\n    faultwrap\n\n    instance\n\n\nnext = 1\n",
        );
        assert_eq!(
            value(&ini, "pipeline:main", "pipeline"),
            "request_id\nfaultwrap\n\ninstance"
        );
        assert_eq!(value(&ini, "pipeline:main", "next"), "1");
    }

    #[test]
    fn crlf_line_ends_are_read_like_lf() {
        let ini = parse("[app:a]\r\nx = 1\r\n  2\r\n");
        assert_eq!(value(&ini, "app:a", "x"), "1\n2");
    }

    #[test]
    fn default_is_kept_apart_from_the_sections() {
        let ini = parse("[DEFAULT]\ndebug = true\n[app:a]\nx = 1\n");
        assert_eq!(value(&ini, DEFAULT_SECTION, "debug"), "true");
        assert_eq!(ini.sections.len(), 1);
    }

    #[test]
    fn syntax_errors_name_their_line_and_section() {
        let table = [
            (
                "x = 1\n",
                1,
                None,
                "a key before the first [section] header",
            ),
            (
                "[app:a]\njust words\n",
                2,
                Some("app:a"),
                "expected `key = value`",
            ),
            ("[app:a\n", 1, None, "malformed section header"),
            ("[app:a]\n= v\n", 2, Some("app:a"), "a value without a key"),
            (
                "[app:a]\n[app:a]\n",
                2,
                Some("app:a"),
                "given twice (first on line 1)",
            ),
            (
                "[app:a]\nx=1\nx=2\n",
                3,
                Some("app:a"),
                "key \"x\" is given twice",
            ),
            ("[]\n", 1, None, "empty section name"),
        ];
        for (text, line, section, message) in table {
            let error = Ini::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}");
            assert_eq!(error.section.as_deref(), section, "{text:?}");
            assert!(
                error.message.contains(message),
                "{text:?}: {}",
                error.message
            );
        }
    }

    fn expand(text: &str, section: &str, key: &str) -> Result<String, InterpolationError> {
        let ini = parse(text);
        let builtins = BTreeMap::from([("here".to_owned(), "/etc/nova-rs".to_owned())]);
        let scope = Scope::new(&builtins, &ini.defaults, ini.section(section));
        scope.interpolate(key, value(&ini, section, key))
    }

    #[test]
    fn interpolation_reads_the_section_then_default_then_here() {
        let text = "[DEFAULT]\nroot = /srv\nname = default\n[app:a]\nname = local\npath = %(root)s/%(name)s\nfile = %(here)s/x.ini\npct = 100%%\nchain = <%(path)s>\n";
        assert_eq!(expand(text, "app:a", "path").unwrap(), "/srv/local");
        assert_eq!(expand(text, "app:a", "file").unwrap(), "/etc/nova-rs/x.ini");
        assert_eq!(expand(text, "app:a", "pct").unwrap(), "100%");
        assert_eq!(expand(text, "app:a", "chain").unwrap(), "</srv/local>");
    }

    #[test]
    fn failing_interpolations_say_why() {
        let text = "[app:a]\nmissing = %(nope)s\nbad = 50%\nloop = %(loop)s\nopen = %(x\n";
        assert!(matches!(
            expand(text, "app:a", "missing"),
            Err(InterpolationError::Missing { missing, .. }) if missing == "nope"
        ));
        assert!(matches!(
            expand(text, "app:a", "bad"),
            Err(InterpolationError::Syntax { found, .. }) if found == "%"
        ));
        assert!(matches!(
            expand(text, "app:a", "loop"),
            Err(InterpolationError::TooDeep { .. })
        ));
        assert!(matches!(
            expand(text, "app:a", "open"),
            Err(InterpolationError::Syntax { .. })
        ));
    }
}
