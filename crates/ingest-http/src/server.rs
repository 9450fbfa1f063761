//! The tokio (epoll) driver: one listener per worker, one task per
//! connection, one task per in-flight ingest request.
//!
//! Runs on the worker's current-thread runtime: [`Server::serve`] returns a
//! `!Send` future that runs its tasks on a `LocalSet` of its own, so a
//! worker calls `runtime.block_on(server.serve(listener, shutdown))`.
//! Each worker binds its own listener with [`bind_reuseport`]; the kernel
//! spreads connections over them.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::LocalSet;

use crate::config::HttpConfig;
use crate::conn::{Connection, Event, Reply, RequestId};
use crate::metrics::{Registry, WorkerMetrics};
use crate::sink::EventSink;

/// Default time a connection may wait for client bytes before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long, and how many bytes, a closing connection still reads and drops
/// so the client sees its final response rather than a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Binds a non-blocking listener with `SO_REUSEADDR` and `SO_REUSEPORT`,
/// so each worker can bind the same address. Hand it to
/// `tokio::net::TcpListener::from_std` inside the worker's runtime.
pub fn bind_reuseport(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

struct Ctx<S> {
    http: Arc<HttpConfig>,
    sink: Rc<S>,
    registry: Option<Arc<Registry>>,
    worker: Option<Arc<WorkerMetrics>>,
    idle_timeout: Duration,
    live: Cell<usize>,
    drained: Notify,
}

/// One worker's HTTP server.
pub struct Server<S> {
    ctx: Rc<Ctx<S>>,
}

impl<S> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("http", &self.ctx.http)
            .field("idle_timeout", &self.ctx.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl<S: EventSink + 'static> Server<S> {
    /// A server handing requests to `sink`.
    pub fn new(http: Arc<HttpConfig>, sink: Rc<S>) -> Self {
        Server {
            ctx: Rc::new(Ctx {
                http,
                sink,
                registry: None,
                worker: None,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                live: Cell::new(0),
                drained: Notify::new(),
            }),
        }
    }

    /// Serves `GET /metrics` from `registry` and counts this worker's
    /// statuses and sizes into `worker`.
    pub fn with_metrics(mut self, registry: Arc<Registry>, worker: Arc<WorkerMetrics>) -> Self {
        if let Some(ctx) = Rc::get_mut(&mut self.ctx) {
            ctx.registry = Some(registry);
            ctx.worker = Some(worker);
        }
        self
    }

    /// Closes connections that wait this long for client bytes.
    /// Default [`DEFAULT_IDLE_TIMEOUT`].
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        if let Some(ctx) = Rc::get_mut(&mut self.ctx) {
            ctx.idle_timeout = timeout;
        }
        self
    }

    /// Accepts and serves connections until `shutdown` resolves, then stops
    /// accepting, lets each connection finish the requests it has parsed,
    /// and returns once all are closed.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let local = LocalSet::new();
        local.run_until(self.accept_loop(listener, shutdown)).await
    }

    async fn accept_loop(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let ctx = self.ctx.clone();
                        ctx.live.set(ctx.live.get() + 1);
                        let stop = stop_rx.clone();
                        tokio::task::spawn_local(async move {
                            let _ = run_connection(stream, &ctx, stop).await;
                            ctx.live.set(ctx.live.get().saturating_sub(1));
                            if ctx.live.get() == 0 {
                                ctx.drained.notify_waiters();
                            }
                        });
                    }
                    // Out of descriptors or a connection reset before accept:
                    // back off briefly rather than spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        while self.ctx.live.get() > 0 {
            let drained = self.ctx.drained.notified();
            if self.ctx.live.get() == 0 {
                break;
            }
            drained.await;
        }
        Ok(())
    }
}

async fn run_connection<S: EventSink + 'static>(
    mut stream: TcpStream,
    ctx: &Rc<Ctx<S>>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = Connection::new(ctx.http.clone());
    if let Some(w) = &ctx.worker {
        conn = conn.with_metrics(w.clone());
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(RequestId, Reply)>();
    let mut stopping = *stop.borrow();
    if stopping {
        conn.handle_shutdown();
    }
    let mut peer_eof = false;
    loop {
        loop {
            let mut progressed = false;
            while let Some(event) = conn.poll_event() {
                progressed = true;
                dispatch(event, ctx, &mut conn, &tx);
            }
            while let Some(bytes) = conn.poll_transmit() {
                progressed = true;
                stream.write_all(&bytes).await?;
            }
            if !progressed {
                break;
            }
        }
        if conn.is_finished() {
            break;
        }
        let waiting_on_client = conn.pending_replies() == 0;
        tokio::select! {
            biased;
            Some((id, reply)) = rx.recv() => {
                let _ = conn.respond(id, reply);
            }
            ready = stream.readable(), if conn.wants_read() => {
                ready?;
                match stream.try_read_buf(conn.recv_buffer()) {
                    Ok(0) => {
                        peer_eof = true;
                        conn.handle_eof();
                    }
                    Ok(_) => conn.handle_received(SystemTime::now()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.handle_shutdown();
                }
            }
            _ = tokio::time::sleep(ctx.idle_timeout), if waiting_on_client => break,
        }
    }
    stream.shutdown().await?;
    if !peer_eof {
        // Lingering close: drain what the client still sends, so closing
        // with unread data does not reset the connection before it has
        // read the final response.
        let mut sink = vec![0u8; 16 * 1024];
        let mut drained = 0;
        let _ = tokio::time::timeout(LINGER_TIME, async {
            while drained < LINGER_BYTES {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    }
    Ok(())
}

fn dispatch<S: EventSink + 'static>(
    event: Event,
    ctx: &Rc<Ctx<S>>,
    conn: &mut Connection,
    tx: &mpsc::UnboundedSender<(RequestId, Reply)>,
) {
    match event {
        Event::Ingest { id, request } => {
            let settled = ctx.sink.submit(request);
            let tx = tx.clone();
            tokio::task::spawn_local(async move {
                let outcome = settled.await;
                let _ = tx.send((id, Reply::Ingest(outcome)));
            });
        }
        Event::Ready { id } => {
            let _ = conn.respond(id, Reply::Ready(ctx.sink.ready()));
        }
        Event::Metrics { id } => {
            let mut text = ctx
                .registry
                .as_ref()
                .map(|r| r.encode())
                .unwrap_or_default();
            ctx.sink.encode_metrics(&mut text);
            let _ = conn.respond(id, Reply::Metrics(text));
        }
    }
}
