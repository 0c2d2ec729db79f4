//! For tests: the log lines a test's own thread writes, at every level.
//!
//! The approach of nova-filters' own `log_capture`: one global subscriber,
//! installed once for the test binary, writes each line to the buffer of
//! the thread that logged it. A subscriber set for one thread only would
//! race with tests on other threads that reach the same call sites first:
//! tracing caches whether anyone listens at a call site, and lines would be
//! lost.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// What this thread has logged since it last started a capture.
    static LOGGED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes log lines into the logging thread's own buffer.
struct ThisThreadsLog;

impl std::io::Write for ThisThreadsLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGGED.with(|logged| logged.borrow_mut().extend_from_slice(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines this thread logged since [`capture`] was called.
#[derive(Debug)]
pub(crate) struct CapturedLog(());

impl CapturedLog {
    /// Everything this thread logged so far, as text. Call it on the thread
    /// that called [`capture`] (a current-thread test runtime's).
    pub(crate) fn text(&self) -> String {
        LOGGED.with(|logged| String::from_utf8_lossy(&logged.borrow()).into_owned())
    }
}

/// Starts capturing this thread's log lines, `trace` and up, formatted as
/// nova-server writes them (without colour).
pub(crate) fn capture() -> CapturedLog {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ThisThreadsLog)
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    LOGGED.with(|logged| logged.borrow_mut().clear());
    CapturedLog(())
}
