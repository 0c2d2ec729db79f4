//! House-style checks that run as ordinary tests, so `cargo test` enforces
//! them: every Rust file opens with a `//!` doc saying what it is for, no
//! test is switched off or made to pass by panicking, and no crate's modules
//! refer to each other in a loop.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fs;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    rust_files(&path, found);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }

    fn workspace_files() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut found = Vec::new();
        rust_files(root, &mut found);
        assert!(found.len() > 10, "the walk found the workspace's files");
        found
    }

    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let missing: Vec<String> = workspace_files()
            .into_iter()
            .filter(|path| {
                let text = fs::read_to_string(path).unwrap();
                !text.trim_start().starts_with("//!")
            })
            .map(|path| path.display().to_string())
            .collect();
        assert!(missing.is_empty(), "files without a //! doc: {missing:#?}");
    }

    #[test]
    fn no_test_is_ignored_or_passes_by_panicking() {
        let banned = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
        let offenders: Vec<String> = workspace_files()
            .into_iter()
            .filter(|path| {
                let text = fs::read_to_string(path).unwrap();
                banned.iter().any(|b| text.contains(b))
            })
            .map(|path| path.display().to_string())
            .collect();
        assert!(offenders.is_empty(), "{offenders:#?}");
    }

    /// The crates whose modules are checked for loops: the libraries and
    /// the two programs.
    fn crates() -> impl Iterator<Item = &'static str> {
        crate::LIBRARY_CRATES
            .into_iter()
            .chain(["nova-server", "nova-bench"])
    }

    /// The top-level module each `src/` file belongs to: `plan` for
    /// `src/plan.rs` and `src/plan/x.rs`; `None` for the crate root and for
    /// test modules, whose references do not shape the crate.
    fn top_module(src: &Path, file: &Path) -> Option<String> {
        let relative = file.strip_prefix(src).ok()?;
        let first = relative.components().next()?.as_os_str().to_string_lossy();
        let name = first.trim_end_matches(".rs").to_owned();
        let stem = file.file_stem()?.to_string_lossy();
        let is_root = matches!(name.as_str(), "lib" | "main");
        (!is_root && stem != "tests").then_some(name)
    }

    /// The code of a file that the build uses: comments and everything from
    /// the first `#[cfg(test)]` on left out.
    fn code(text: &str) -> String {
        let built = text.split("#[cfg(test)]").next().unwrap_or("");
        built
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Names after `crate::` in `code`, including each name of a
    /// `crate::{a, b::c}` group.
    fn crate_references(code: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let group = if rest.starts_with('{') {
                &rest[1..rest.find('}').unwrap_or(rest.len())]
            } else {
                rest
            };
            let words = group.split(|c: char| !(c.is_alphanumeric() || c == '_'));
            if rest.starts_with('{') {
                names.extend(words.filter(|w| !w.is_empty()).map(str::to_owned));
            } else if let Some(first) = words.into_iter().next() {
                names.insert(first.to_owned());
            }
        }
        names
    }

    /// Which module each name the crate root re-exports comes from
    /// (`pub use plan::{Plan, Want};`).
    fn reexports(root: &str) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        for statement in root.split(';') {
            let Some(at) = statement.find("pub use ") else {
                continue;
            };
            let path = &statement[at + "pub use ".len()..];
            let Some((module, names)) = path.split_once("::") else {
                continue;
            };
            for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if !name.is_empty() {
                    found.insert(name.to_owned(), module.trim().to_owned());
                }
            }
        }
        found
    }

    /// A loop in `graph`, if it has one, as the modules along it.
    fn find_loop(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(start) = path.iter().position(|n| n == node) {
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            if !done.insert(node.to_owned()) {
                return None;
            }
            path.push(node.to_owned());
            for next in graph.get(node).into_iter().flatten() {
                if let Some(cycle) = visit(next, graph, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        graph
            .keys()
            .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
    }

    /// Every module of `krate` and the modules its code refers to.
    fn module_graph(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let src = root.join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let lib = fs::read_to_string(src.join("lib.rs"))
            .or_else(|_| fs::read_to_string(src.join("main.rs")))
            .unwrap();
        let exported = reexports(&lib);
        let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(&src, f)).collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = modules
            .iter()
            .map(|module| (module.clone(), BTreeSet::new()))
            .collect();
        for file in &files {
            let Some(from) = top_module(&src, file) else {
                continue;
            };
            let text = fs::read_to_string(file).unwrap();
            for name in crate_references(&code(&text)) {
                let to = if modules.contains(&name) {
                    Some(name)
                } else {
                    exported.get(&name).cloned()
                };
                if let Some(to) = to.filter(|to| *to != from) {
                    graph.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        graph
    }

    #[test]
    fn no_crates_modules_refer_to_each_other_in_a_loop() {
        let mut loops = Vec::new();
        for krate in crates() {
            let graph = module_graph(krate);
            assert!(!graph.is_empty(), "{krate}: the walk found its modules");
            if let Some(cycle) = find_loop(&graph) {
                loops.push(format!("{krate}: {}", cycle.join(" -> ")));
            }
        }
        assert!(loops.is_empty(), "module loops: {loops:#?}");
    }

    #[test]
    fn the_loop_finder_finds_a_loop_and_only_a_loop() {
        let graph = |edges: &[(&str, &str)]| {
            let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (a, b) in edges {
                graph
                    .entry(a.to_string())
                    .or_default()
                    .insert(b.to_string());
            }
            graph
        };
        assert_eq!(
            find_loop(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            find_loop(&graph(&[("a", "b"), ("a", "c"), ("b", "c")])),
            None
        );
        assert_eq!(
            crate_references("use crate::{plan::Plan, Registry};\nlet x = crate::ini::parse();"),
            ["Plan", "Registry", "ini", "plan"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert_eq!(
            reexports("pub use error::{ConfigError, FactoryError};\npub use config::Config;"),
            [
                ("Config".to_owned(), "config".to_owned()),
                ("ConfigError".to_owned(), "error".to_owned()),
                ("FactoryError".to_owned(), "error".to_owned()),
            ]
            .into_iter()
            .collect()
        );
    }
}
