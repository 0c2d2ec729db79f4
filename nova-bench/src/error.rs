//! What can stop a benchmark run.

use std::path::PathBuf;

/// Why a benchmark could not be run to the end.
///
/// Errors in individual requests are not failures: they are counted and
/// reported in the table. These are the failures that leave no figure to
/// report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A server exited, or never said where it listens, before it could be
    /// measured.
    #[error("{program} did not start serving: {reason}; its log ends with:\n{log_tail}")]
    NotServing {
        /// The program.
        program: PathBuf,
        /// What was seen.
        reason: String,
        /// The last lines it wrote to standard error.
        log_tail: String,
    },
    /// Creating the instances a workload needs failed.
    #[error("populating the store failed: {0}")]
    Populate(String),
    /// The identity service gave no token for a workload's user.
    #[error("getting a token from the identity service failed: {0}")]
    Authenticate(String),
    /// A file or a `/proc` entry could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A `/proc` entry did not have the expected shape.
    #[error("cannot read {field} from {path}")]
    Proc {
        /// The file.
        path: PathBuf,
        /// The field looked for.
        field: String,
    },
    /// The options make no sense together.
    #[error("{0}")]
    Usage(String),
    /// `--profile` could not run or read `perf`.
    #[error("profiling: {0}")]
    Profiler(String),
}

impl BenchError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            what: what.into(),
            source,
        }
    }
}
