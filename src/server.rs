//! The HTTP server around the router: accepts connections and serves HTTP/1.1 on them with
//! hyper, within three limits that `axum::serve` does not offer:
//!
//! * at most `max_connections` open connections: at the cap the server stops accepting
//!   until one closes, so the waiting connections queue in the kernel's listen backlog
//!   (nothing is read from them, no memory is spent on them);
//! * a header-read timeout: a request's line and headers must arrive in full within
//!   `header_read_timeout`, counted from the request's first byte (from the accept for a
//!   connection's first request), else the connection is closed;
//! * an idle timeout: a connection waiting for its next request, or whose client stops
//!   reading a response, is closed after `idle_timeout` without progress.
//!
//! The two timeouts follow Go's `net/http` (`ReadHeaderTimeout`, `IdleTimeout`). hyper's own
//! `header_read_timeout` cannot express them: its timer also runs while a keep-alive
//! connection waits for its next request, so it would cut idle connections at the header
//! timeout. A small per-connection watchdog (`Tracker`) times both instead. While a
//! handler runs no connection timer applies: the request timeout bounds it.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits (`CARTGATE_HEADER_READ_TIMEOUT_SECS`, `CARTGATE_IDLE_TIMEOUT_SECS`,
/// `CARTGATE_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets the
/// open connections finish their requests (idle ones close at once) and returns.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The watchdog times request heads; hyper's timer would also cut idle connections.
    http.header_read_timeout(None);
    tokio::pin!(shutdown);
    loop {
        // At the cap, accept nothing until a connection closes and frees its slot.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        // `Listener::accept` retries transient accept errors itself (EMFILE: after a pause).
        let stream = tokio::select! {
            (stream, _) = axum::serve::Listener::accept(&mut listener) => stream,
            () = &mut shutdown => break,
        };
        let tracker = Arc::new(Tracker::new(limits));
        let io = TokioIo::new(Watched {
            inner: stream,
            tracker: tracker.clone(),
        });
        let service = {
            let (app, tracker) = (app.clone(), tracker.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                // hyper calls the service as soon as the request's head is parsed.
                let handling = Busy::handling(tracker.clone());
                let app = app.clone();
                async move {
                    let resp = match app.oneshot(req).await {
                        Ok(resp) => resp,
                        Err(never) => match never {},
                    };
                    let sending = handling.sending();
                    Ok::<_, Infallible>(resp.map(|body| TrackedBody {
                        body,
                        _sending: sending,
                    }))
                }
            })
        };
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _slot = slot;
            metrics::gauge!("cartgate_open_connections").increment(1.0);
            tokio::select! {
                res = conn => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                phase = tracker.expired() => {
                    // Dropping the connection closes the socket.
                    metrics::counter!("cartgate_connections_timed_out_total", "phase" => phase)
                        .increment(1);
                }
            }
            metrics::gauge!("cartgate_open_connections").decrement(1.0);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Where a connection is, for its timeouts.
#[derive(Debug)]
struct Phase {
    /// Requests whose handler runs.
    handling: usize,
    /// Responses not yet sent in full.
    sending: usize,
    /// When the head of the next request started to arrive (the accept, for the first).
    head_started: Option<Instant>,
    /// The last byte read or written, or the last request or response finished.
    last_progress: Instant,
}

impl Phase {
    /// When the connection is to be closed, and why; `None` while a handler runs.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, &'static str)> {
        if self.handling > 0 {
            None
        } else if self.sending > 0 {
            Some((self.last_progress + limits.idle_timeout, "idle"))
        } else if let Some(started) = self.head_started {
            Some((started + limits.header_read_timeout, "header"))
        } else {
            Some((self.last_progress + limits.idle_timeout, "idle"))
        }
    }
}

/// One connection's watchdog.
struct Tracker {
    limits: ConnectionLimits,
    phase: Mutex<Phase>,
    /// Signalled when a deadline may have come closer (the watchdog re-reads it).
    changed: Notify,
}

impl Tracker {
    fn new(limits: ConnectionLimits) -> Tracker {
        let now = Instant::now();
        Tracker {
            limits,
            phase: Mutex::new(Phase {
                handling: 0,
                sending: 0,
                head_started: Some(now),
                last_progress: now,
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Phase, Instant)) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut phase, Instant::now());
        drop(phase);
        self.changed.notify_one();
    }

    fn read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        phase.last_progress = now;
        if phase.handling == 0 && phase.sending == 0 && phase.head_started.is_none() {
            // The first byte of the next request: its head is timed from here.
            phase.head_started = Some(now);
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        phase.last_progress = Instant::now();
    }

    /// Resolves when the connection has passed its deadline, with the phase it was in.
    async fn expired(&self) -> &'static str {
        loop {
            let deadline = {
                let phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
                phase.deadline(&self.limits)
            };
            match deadline {
                None => self.changed.notified().await,
                Some((at, phase)) if at <= Instant::now() => return phase,
                Some((at, _)) => {
                    // Progress only moves deadlines later: on waking, read them again.
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// A request in progress on a connection: first its handler runs, then its response is
/// sent. Dropping it (the response sent, or the connection gone) ends the phase.
struct Busy {
    tracker: Arc<Tracker>,
    sending: bool,
}

impl Busy {
    fn handling(tracker: Arc<Tracker>) -> Busy {
        tracker.update(|p, _| {
            p.handling += 1;
            p.head_started = None;
        });
        Busy {
            tracker,
            sending: false,
        }
    }

    fn sending(mut self) -> Busy {
        self.tracker.update(|p, now| {
            p.handling -= 1;
            p.sending += 1;
            p.last_progress = now;
        });
        self.sending = true;
        self
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let sending = self.sending;
        self.tracker.update(|p, now| {
            if sending {
                p.sending -= 1;
            } else {
                p.handling -= 1;
            }
            p.last_progress = now;
        });
    }
}

/// A response body that holds its request's [`Busy`] until hyper has sent it (and drops it).
struct TrackedBody {
    body: Body,
    _sending: Busy,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The client's socket, reporting every read and write to the connection's tracker.
struct Watched {
    inner: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.read();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.wrote();
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.wrote();
        }
        res
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

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(600),
        max_connections: 1,
    };

    fn deadline(t: &Tracker) -> Option<(Instant, &'static str)> {
        t.phase.lock().unwrap().deadline(&LIMITS)
    }

    fn last_progress(t: &Tracker) -> Instant {
        t.phase.lock().unwrap().last_progress
    }

    #[test]
    fn each_phase_has_its_deadline() {
        let t = Arc::new(Tracker::new(LIMITS));
        let accepted = last_progress(&t);
        // A new connection: the first head is timed from the accept, bytes do not extend it.
        assert_eq!(
            deadline(&t),
            Some((accepted + LIMITS.header_read_timeout, "header"))
        );
        t.read();
        assert_eq!(
            deadline(&t),
            Some((accepted + LIMITS.header_read_timeout, "header"))
        );
        // A handler runs: no connection deadline.
        let busy = Busy::handling(t.clone());
        assert_eq!(deadline(&t), None);
        // The response is being sent: the idle timeout, from the last write.
        let busy = busy.sending();
        t.wrote();
        assert_eq!(
            deadline(&t),
            Some((last_progress(&t) + LIMITS.idle_timeout, "idle"))
        );
        // Bytes read meanwhile (the rest of a body, a pipelined request) start no head timer.
        t.read();
        assert_eq!(
            deadline(&t),
            Some((last_progress(&t) + LIMITS.idle_timeout, "idle"))
        );
        // Sent: idle until the next request's first byte, then its head is timed.
        drop(busy);
        assert_eq!(
            deadline(&t),
            Some((last_progress(&t) + LIMITS.idle_timeout, "idle"))
        );
        t.read();
        let head = last_progress(&t);
        assert_eq!(
            deadline(&t),
            Some((head + LIMITS.header_read_timeout, "header"))
        );
        std::thread::sleep(Duration::from_millis(5));
        t.read();
        assert_eq!(
            deadline(&t),
            Some((head + LIMITS.header_read_timeout, "header"))
        );
        // The connection closing while a handler runs ends the phase too.
        drop(Busy::handling(t.clone()));
        assert_eq!(
            deadline(&t),
            Some((last_progress(&t) + LIMITS.idle_timeout, "idle"))
        );
    }

    #[tokio::test]
    async fn the_watchdog_fires_at_the_deadline_and_waits_while_a_handler_runs() {
        let t = Arc::new(Tracker::new(LIMITS));
        let start = Instant::now();
        assert_eq!(t.expired().await, "header");
        assert!(start.elapsed() >= LIMITS.header_read_timeout);

        let t = Arc::new(Tracker::new(LIMITS));
        let busy = Busy::handling(t.clone());
        let watch = tokio::spawn({
            let t = t.clone();
            async move { t.expired().await }
        });
        tokio::time::sleep(LIMITS.idle_timeout * 2).await;
        assert!(!watch.is_finished(), "no deadline while the handler runs");
        let sending = busy.sending();
        let sent = Instant::now();
        // Writes keep a slow download alive.
        for _ in 0..4 {
            tokio::time::sleep(LIMITS.idle_timeout / 3).await;
            t.wrote();
        }
        assert!(!watch.is_finished(), "writes push the idle deadline back");
        drop(sending);
        assert_eq!(watch.await.unwrap(), "idle");
        assert!(sent.elapsed() >= LIMITS.idle_timeout * 4 / 3 + LIMITS.idle_timeout);
    }
}
