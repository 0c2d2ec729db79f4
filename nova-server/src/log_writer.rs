//! Where log lines go: tracing-appender's non-blocking writer, with each
//! thread keeping its own handle on it.
//!
//! tracing-subscriber asks its writer for a fresh handle for every line,
//! and a handle on the non-blocking writer is a clone of its channel's
//! sender, made and dropped each time: for the access log's line per
//! request, a visible part of the line's cost. Here each thread makes one
//! clone, the first time it logs, and keeps it.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_appender::non_blocking::NonBlocking;
use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] over a [`NonBlocking`] writer that clones it once per
/// thread instead of once per line. Lines reach the same writer, in the
/// same order from each thread.
///
/// ```
/// use nova_server::PerThreadWriter;
///
/// let (writer, _guard) = tracing_appender::non_blocking(std::io::sink());
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(PerThreadWriter::new(writer))
///     .finish();
/// # drop(subscriber);
/// ```
#[derive(Debug)]
pub struct PerThreadWriter {
    writer: NonBlocking,
    /// Tells this writer's handles from another's in a thread's cache.
    id: u64,
}

/// Numbers [`PerThreadWriter`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's handle, and the id of the writer it belongs to.
    static HANDLE: RefCell<Option<(u64, NonBlocking)>> = const { RefCell::new(None) };
}

impl PerThreadWriter {
    /// Writes to `writer`.
    pub fn new(writer: NonBlocking) -> Self {
        PerThreadWriter {
            writer,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl<'a> MakeWriter<'a> for PerThreadWriter {
    type Writer = ThreadHandle<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        ThreadHandle { owner: self }
    }
}

/// What [`PerThreadWriter`] hands out for one line: writes go through the
/// thread's own handle.
#[derive(Debug)]
pub struct ThreadHandle<'a> {
    owner: &'a PerThreadWriter,
}

impl ThreadHandle<'_> {
    fn with_handle<T>(
        &self,
        write: impl FnOnce(&mut NonBlocking) -> io::Result<T>,
    ) -> io::Result<T> {
        let owner = self.owner;
        let mut write = Some(write);
        let cached = HANDLE.try_with(|handle| {
            let mut handle = handle.borrow_mut();
            let (id, writer) = handle.get_or_insert_with(|| (owner.id, owner.writer.clone()));
            if *id != owner.id {
                (*id, *writer) = (owner.id, owner.writer.clone());
            }
            write.take().map(|write| write(writer))
        });
        match (cached, write) {
            (Ok(Some(result)), _) => result,
            // A thread being torn down has no cache left: a clone of its
            // own for this line.
            (_, Some(write)) => write(&mut owner.writer.clone()),
            (_, None) => Err(io::Error::other("the log line was not written")),
        }
    }
}

impl io::Write for ThreadHandle<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with_handle(|writer| writer.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.with_handle(|writer| writer.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with_handle(|writer| writer.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Bytes written, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_every_thread_reach_the_writer_they_were_made_for() {
        let (first, second) = (Sink::default(), Sink::default());
        {
            let (a, _guard_a) = tracing_appender::non_blocking(first.clone());
            let (b, _guard_b) = tracing_appender::non_blocking(second.clone());
            let (a, b) = (PerThreadWriter::new(a), PerThreadWriter::new(b));
            std::thread::scope(|scope| {
                for thread in 0..3 {
                    let (a, b) = (&a, &b);
                    scope.spawn(move || {
                        // Alternating, so each thread's cached handle is
                        // replaced when the other writer is asked for.
                        for line in 0..5 {
                            io::Write::write_all(
                                &mut a.make_writer(),
                                format!("a{thread}.{line}\n").as_bytes(),
                            )
                            .unwrap();
                            io::Write::write_all(
                                &mut b.make_writer(),
                                format!("b{thread}.{line}\n").as_bytes(),
                            )
                            .unwrap();
                        }
                    });
                }
            });
            // The guards flush what is queued when they are dropped here.
        }
        for (sink, prefix) in [(first, 'a'), (second, 'b')] {
            let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 15, "{text}");
            assert!(lines.iter().all(|line| line.starts_with(prefix)), "{text}");
            for thread in 0..3 {
                let own: Vec<&str> = lines
                    .iter()
                    .copied()
                    .filter(|line| line[1..].starts_with(&format!("{thread}.")))
                    .collect();
                let expected: Vec<String> = (0..5)
                    .map(|line| format!("{prefix}{thread}.{line}"))
                    .collect();
                assert_eq!(own, expected, "each thread's lines stay in order");
            }
        }
    }
}
