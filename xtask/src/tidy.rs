//! House-style checks that run as ordinary tests, so `cargo test` enforces
//! them: every Rust file opens with a `//!` doc saying what it is for, and no
//! test is switched off or made to pass by panicking.

#[cfg(test)]
mod tests {
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
}
