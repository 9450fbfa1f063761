//! The producer handle and the task that runs the sans-IO call order.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_producer::{
    AppendError, ConnId, ConnectRequest, DeliveryId, Event, FatalError, Outcome, ProducerConfig,
    RecordRef, Transmit,
};
use kafka_wire::frame::FrameSplitter;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::{conn, Engine, Error};

/// Largest response frame accepted; a larger size prefix breaks the
/// connection.
const MAX_RESPONSE_FRAME: usize = 256 * 1024 * 1024;

/// A Kafka producer driven on the current thread's [`crate::Runtime`].
///
/// Cheap to use from many tasks of the same thread (methods take `&self`);
/// not `Send`. Dropping the handle without [`Self::close`] lets the
/// driver finish the records already sent, then stop.
#[derive(Debug)]
pub struct Producer {
    shared: Rc<Shared>,
}

/// Resolves to the outcome of one record sent with [`Producer::send`].
/// Dropping it does not cancel the record.
#[derive(Debug)]
pub struct Delivery {
    rx: oneshot::Receiver<Outcome>,
}

impl Future for Delivery {
    type Output = Result<Outcome, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| Error::DriverGone))
    }
}

/// State shared by the handle, the driver task and the connection tasks,
/// all on one thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) core: RefCell<kafka_producer::Producer>,
    pub(crate) engine: Engine,
    pub(crate) connect_timeout: Duration,
    /// TLS and SASL, for the connection set-up step.
    pub(crate) security: crate::security::Connector,
    /// Wakes the driver task (a permit is kept if it is busy).
    pub(crate) wake: Notify,
    /// Outcomes were reported: buffer space may be free.
    space: Notify,
    /// The driver task has stopped.
    done: Notify,
    stopped: Cell<bool>,
    closing: Cell<bool>,
    waiting: RefCell<HashMap<DeliveryId, oneshot::Sender<Outcome>>>,
    /// The write queue of each open connection.
    conns: RefCell<HashMap<ConnId, mpsc::UnboundedSender<Transmit>>>,
    splitter: FrameSplitter,
}

impl Producer {
    /// Starts a producer for `config` on the current runtime, which must
    /// be a [`crate::Runtime`] of `engine` (call this inside its
    /// `block_on`). It connects to a bootstrap broker at once.
    pub fn new(config: ProducerConfig, engine: Engine) -> Result<Self, Error> {
        let connect_timeout = config.request_timeout;
        let security =
            crate::security::Connector::from_pass_through(&config.pass_through, &config.client_id)?;
        let core = kafka_producer::Producer::new(config, Instant::now())?;
        let shared = Rc::new(Shared {
            core: RefCell::new(core),
            engine,
            connect_timeout,
            security,
            wake: Notify::new(),
            space: Notify::new(),
            done: Notify::new(),
            stopped: Cell::new(false),
            closing: Cell::new(false),
            waiting: RefCell::new(HashMap::new()),
            conns: RefCell::new(HashMap::new()),
            splitter: FrameSplitter::new(MAX_RESPONSE_FRAME),
        });
        tokio::task::spawn_local(drive(shared.clone()));
        Ok(Self { shared })
    }

    /// Appends a record and returns the future of its outcome. Returns an
    /// error at once, and the record has no outcome, when the producer
    /// refuses it: `Error::Append(AppendError::BufferFull)` when
    /// `buffer.memory` is spent (the caller decides: shed load, or use
    /// [`Self::send_wait`]), or too large, or the producer failed or is
    /// closed.
    pub fn send(&self, record: RecordRef<'_>) -> Result<Delivery, Error> {
        if self.shared.closing.get() {
            return Err(Error::Closed);
        }
        let id = self
            .shared
            .core
            .borrow_mut()
            .append(record, Instant::now())?;
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.borrow_mut().insert(id, tx);
        self.shared.wake.notify_one();
        Ok(Delivery { rx })
    }

    /// As [`Self::send`], but when the buffer is full waits until earlier
    /// records have outcomes and tries again.
    pub async fn send_wait(&self, record: RecordRef<'_>) -> Result<Delivery, Error> {
        loop {
            let mut freed = pin!(self.shared.space.notified());
            freed.as_mut().enable();
            match self.send(record) {
                Err(Error::Append(AppendError::BufferFull)) => freed.await,
                other => return other,
            }
        }
    }

    /// Sends everything held without lingering and waits until every
    /// record sent so far has an outcome.
    pub async fn flush(&self) {
        self.shared.core.borrow_mut().flush(Instant::now());
        self.shared.wake.notify_one();
        loop {
            let mut freed = pin!(self.shared.space.notified());
            freed.as_mut().enable();
            if self.shared.core.borrow().is_idle() || self.shared.stopped.get() {
                return;
            }
            freed.await;
        }
    }

    /// Flushes, then closes the connections and stops the driver. Later
    /// sends fail with [`Error::Closed`].
    pub async fn close(self) {
        self.flush().await;
        self.shared.closing.set(true);
        self.shared.wake.notify_one();
        loop {
            let mut done = pin!(self.shared.done.notified());
            done.as_mut().enable();
            if self.shared.stopped.get() {
                return;
            }
            done.await;
        }
    }

    /// The engine this producer's connections use.
    pub fn engine(&self) -> Engine {
        self.shared.engine
    }

    /// Bytes held (pending, batched, in flight): what `buffer.memory`
    /// bounds.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.core.borrow().buffered_bytes()
    }

    /// The fatal error, if the producer failed (create a new one).
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.shared.core.borrow().fatal_error().cloned()
    }

    /// The current producer id and epoch (-1, -1 before one is known).
    pub fn producer_identity(&self) -> (i64, i16) {
        self.shared.core.borrow().producer_identity()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if !self.shared.closing.get() {
            self.shared.core.borrow_mut().flush(Instant::now());
            self.shared.closing.set(true);
            self.shared.wake.notify_one();
        }
    }
}

impl Shared {
    /// A connection is up (TCP and set-up done).
    pub(crate) fn connected(&self, conn: ConnId) {
        self.core
            .borrow_mut()
            .handle_connected(conn, Instant::now());
        self.wake.notify_one();
    }

    /// Hands every complete frame in `buf` to the producer. An invalid
    /// size prefix is an error: the stream cannot be resynchronised.
    pub(crate) fn frames(&self, conn: ConnId, buf: &mut BytesMut) -> std::io::Result<()> {
        let mut frames: Vec<Bytes> = Vec::new();
        loop {
            match self.splitter.split(buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
                }
            }
        }
        if !frames.is_empty() {
            let now = Instant::now();
            let mut core = self.core.borrow_mut();
            for frame in frames {
                core.handle_frame(conn, frame, now);
            }
            drop(core);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// A connection failed or closed on its own.
    fn disconnected(&self, conn: ConnId) {
        self.conns.borrow_mut().remove(&conn);
        self.core
            .borrow_mut()
            .handle_disconnected(conn, Instant::now());
        self.wake.notify_one();
    }
}

/// The driver task: applies timers, then drains every output of the state
/// machine (closes, connects, transmits, events), then sleeps until the
/// next timer or a wake-up.
async fn drive(shared: Rc<Shared>) {
    loop {
        let now = Instant::now();
        let mut delivered = false;
        {
            let mut core = shared.core.borrow_mut();
            if core.poll_timeout().is_some_and(|t| t <= now) {
                core.handle_timeout(now);
            }
            while let Some(conn) = core.poll_close() {
                // Dropping the queue ends the connection's task.
                shared.conns.borrow_mut().remove(&conn);
            }
            while let Some(req) = core.poll_connect() {
                let (tx, rx) = mpsc::unbounded_channel();
                shared.conns.borrow_mut().insert(req.conn, tx);
                tokio::task::spawn_local(run_conn(shared.clone(), req, rx));
            }
            while let Some(t) = core.poll_transmit(now) {
                if let Some(tx) = shared.conns.borrow().get(&t.conn) {
                    // A closed queue means the connection just failed; the
                    // producer learns that from `handle_disconnected`.
                    let _ = tx.send(t);
                }
            }
            while let Some(event) = core.poll_event() {
                if let Event::Delivery(report) = event {
                    let mut waiting = shared.waiting.borrow_mut();
                    for (id, outcome) in report.outcomes() {
                        if let Some(tx) = waiting.remove(&id) {
                            let _ = tx.send(outcome);
                        }
                    }
                    delivered = true;
                }
            }
        }
        if delivered {
            shared.space.notify_waiters();
        }
        let (idle, deadline) = {
            let core = shared.core.borrow();
            (core.is_idle(), core.poll_timeout())
        };
        if idle {
            shared.space.notify_waiters();
            if shared.closing.get() {
                break;
            }
        }
        match deadline {
            Some(at) => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep_until(at.into()) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
    shared.conns.borrow_mut().clear();
    shared.stopped.set(true);
    shared.space.notify_waiters();
    shared.done.notify_waiters();
}

/// One connection's task: connect, set up, then read and write until the
/// producer closes the connection (its queue is dropped) or it fails.
async fn run_conn(shared: Rc<Shared>, req: ConnectRequest, rx: mpsc::UnboundedReceiver<Transmit>) {
    let result = match shared.engine {
        #[cfg(target_os = "linux")]
        Engine::IoUring => conn::uring::run(&shared, &req, rx).await,
        #[cfg(not(target_os = "linux"))]
        Engine::IoUring => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "io_uring needs Linux",
        )),
        Engine::Epoll => conn::epoll::run(&shared, &req, rx).await,
    };
    if let Err(e) = result {
        tracing::warn!(broker = %format_args!("{}:{}", req.host, req.port), "connection failed: {e}");
        shared.disconnected(req.conn);
    }
}
