//! The router micro-benchmarks the report quotes: criterion's results for
//! the `router` groups, read from its output directory.

use std::fs;
use std::path::Path;

/// One criterion result.
#[derive(Debug, Clone)]
pub(super) struct MicroResult {
    pub(super) id: String,
    pub(super) mean_ns: f64,
}

/// Reads criterion's `*/new/benchmark.json` and `estimates.json` for the
/// router groups.
pub(super) fn read_criterion(dir: &Path) -> Vec<MicroResult> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|name| name == "new") {
                if let Some(result) = read_criterion_result(&path) {
                    found.push(result);
                }
            } else {
                stack.push(path);
            }
        }
    }
    found.sort_by_key(|result| natural_key(&result.id));
    found
}

fn read_criterion_result(new: &Path) -> Option<MicroResult> {
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&fs::read_to_string(new.join(name)).ok()?).ok()
    };
    let benchmark = read("benchmark.json")?;
    let id = benchmark["full_id"].as_str()?.to_owned();
    if !id.starts_with("router") {
        return None;
    }
    let mean_ns = read("estimates.json")?["mean"]["point_estimate"].as_f64()?;
    Some(MicroResult { id, mean_ns })
}

/// Sorts `a/5` before `a/50` before `a/500`.
fn natural_key(id: &str) -> (String, u64) {
    match id.rsplit_once('/') {
        Some((head, tail)) => (head.to_owned(), tail.parse().unwrap_or(u64::MAX)),
        None => (id.to_owned(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_results_sort_by_route_count_as_a_number() {
        let mut ids = ["router/hit/500", "router/hit/5", "router/hit/50"];
        ids.sort_by_key(|id| natural_key(id));
        assert_eq!(ids, ["router/hit/5", "router/hit/50", "router/hit/500"]);
    }
}
