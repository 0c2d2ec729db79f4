//! Per-connection time limits: how long a client may take to send a request's
//! headers, and how long a connection may sit idle between requests.
//!
//! hyper has one timer for both on HTTP/1 and none while hyper-util's `auto`
//! builder is still sniffing the protocol, so a client that connects and
//! sends nothing would be kept forever. [`TimedIo`] wraps the socket instead:
//! it sees every byte read and written, and [`Activity`] tells it whether a
//! request is being handled (then no limit applies: the handler and the body
//! timeout govern). A read that would wait past a deadline fails with
//! `TimedOut`, and hyper closes the connection.
//!
//! The clock is read only when a read has to wait and a deadline applies,
//! not for every read and write: bytes moving are noted, and stamped with
//! the time at that wait, which follows them within the same turn of the
//! connection's task. Reading the clock several times per request was a
//! visible part of a small request's cost.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What the connection's service is doing, shared with its [`TimedIo`].
#[derive(Debug, Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    dispatched: AtomicU64,
    /// The connection task, parked in a read while a request was in flight:
    /// it must look at its deadline again once the last one is done, since
    /// hyper may not read again by itself until the client sends something.
    reader: AtomicWaker,
}

/// Marks one request as being handled until dropped.
pub(crate) struct InFlight(Arc<Activity>);

impl Activity {
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.dispatched.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.reader.wake();
        }
    }
}

/// The limits [`TimedIo`] enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// From the first byte of a request until it is handed to the service.
    pub(crate) header_read_timeout: Duration,
    /// With no request in flight and no byte of a new one received.
    pub(crate) idle_timeout: Duration,
}

/// A socket that fails reads which would wait past the connection's deadline.
pub(crate) struct TimedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    timer: Pin<Box<Sleep>>,
    last_activity: Instant,
    /// When the first byte of a not yet dispatched request arrived.
    request_started: Option<Instant>,
    seen_dispatched: u64,
    /// Bytes moved (or a request was dispatched) since `last_activity`
    /// was stamped: it is the time of the next wait.
    activity_unstamped: bool,
    /// The first byte of a request arrived and `request_started` is the
    /// time of the next wait.
    request_start_unstamped: bool,
}

impl<T> TimedIo<T> {
    pub(crate) fn new(inner: T, activity: Arc<Activity>, limits: ConnectionLimits) -> Self {
        let now = Instant::now();
        TimedIo {
            inner,
            activity,
            limits,
            timer: Box::pin(tokio::time::sleep_until(now + limits.idle_timeout)),
            last_activity: now,
            request_started: None,
            seen_dispatched: 0,
            activity_unstamped: false,
            request_start_unstamped: false,
        }
    }

    /// Catches up with requests dispatched since the last look: the bytes
    /// that started them have been used, so their header clock stops.
    fn observe_dispatches(&mut self) {
        let dispatched = self.activity.dispatched.load(Ordering::Acquire);
        if dispatched != self.seen_dispatched {
            self.seen_dispatched = dispatched;
            self.request_started = None;
            self.request_start_unstamped = false;
            self.activity_unstamped = true;
        }
    }

    /// Gives what happened since the last wait its time, `now`.
    fn stamp(&mut self, now: Instant) {
        if std::mem::take(&mut self.activity_unstamped) {
            self.last_activity = now;
        }
        if std::mem::take(&mut self.request_start_unstamped) {
            self.request_started = Some(now);
        }
    }

    fn deadline(&self) -> Option<(Instant, &'static str)> {
        if self.activity.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(match self.request_started {
            Some(started) => (
                started + self.limits.header_read_timeout,
                "request headers took too long",
            ),
            None => (
                self.last_activity + self.limits.idle_timeout,
                "connection idle for too long",
            ),
        })
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        this.observe_dispatches();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.activity_unstamped = true;
                    if this.request_started.is_none()
                        && this.activity.in_flight.load(Ordering::Acquire) == 0
                    {
                        this.request_start_unstamped = true;
                    }
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                // With a request in flight no deadline applies, and the
                // time is not needed.
                if this.activity.in_flight.load(Ordering::Acquire) > 0 {
                    return this.wait_for_request(cx);
                }
                let now = Instant::now();
                this.stamp(now);
                let Some((deadline, reason)) = this.deadline() else {
                    // A request was dispatched in between.
                    return this.wait_for_request(cx);
                };
                if deadline <= now {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, reason)));
                }
                this.timer.as_mut().reset(deadline);
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, reason)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T> TimedIo<T> {
    /// Waits, without a deadline, for the request in flight to finish.
    fn wait_for_request(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.activity.reader.register(cx.waker());
        // The request may have finished in between.
        if self.activity.in_flight.load(Ordering::Acquire) == 0 {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity_unstamped = true;
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity_unstamped = true;
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
