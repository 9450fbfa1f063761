//! The producer handle and the task that runs the sans-IO call order.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use kafka_producer::{
    AppendError, AuthError, BadResponse, BatchResult, ConnId, ConnectRequest, DeliveryId,
    DeliveryReport, Event, FatalError, Outcome, ProducerConfig, RecordRef, Transmit,
};
use tokio::sync::{mpsc, Notify};

use crate::connection::{Connection, ConnectionError};
use crate::security::{Connector, SecurityConfig};
use crate::transport::{self, write_all, Transport, MAX_IOVECS};
use crate::{Engine, Error};

/// Bytes a connection reads at once.
const READ_CHUNK: usize = 64 * 1024;
/// Most request bytes gathered for one write (several requests go out in
/// one system call, and with TLS in full records).
const GATHER_MAX: usize = 1 << 20;

/// What the driver has seen of the brokers, for health checks and error
/// messages ([`Producer::health`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// The last authentication failure, until a connection is set up
    /// again (SASL accepted, certificates verified).
    pub auth_failure: Option<AuthError>,
    /// The last response that could not be used, until the brokers answer
    /// again (a Metadata response applied or a record persisted).
    pub bad_response: Option<BadResponse>,
    /// Responses that carried bytes after their last field (ignored).
    pub trailing_bytes_responses: u64,
    /// Responses that could not be used.
    pub bad_responses: u64,
    /// When a Metadata response was last applied.
    pub last_metadata: Option<Instant>,
    /// When a record was last persisted.
    pub last_persisted: Option<Instant>,
}

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
/// Dropping it does not cancel the record. Await it or drop it: outcomes
/// are held in send order behind the oldest one not yet taken.
pub struct Delivery {
    shared: Rc<Shared>,
    id: DeliveryId,
    /// The outcome was returned (or the driver was found gone).
    done: bool,
}

impl Future for Delivery {
    type Output = Result<Outcome, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(Err(Error::DriverGone));
        }
        let mut waiting = this.shared.waiting.borrow_mut();
        match waiting.poll(this.id, cx.waker()) {
            Some(outcome) => {
                this.done = true;
                Poll::Ready(Ok(outcome))
            }
            None if this.shared.stopped.get() => {
                waiting.abandon(this.id);
                this.done = true;
                Poll::Ready(Err(Error::DriverGone))
            }
            None => Poll::Pending,
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("done", &self.done)
            .finish()
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.done {
            self.shared.waiting.borrow_mut().abandon(self.id);
        }
    }
}

/// A handler of delivery reports.
struct DeliveryHandler(Box<dyn FnMut(&DeliveryReport)>);

impl std::fmt::Debug for DeliveryHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryHandler")
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
    pub(crate) security: Connector,
    /// Wakes the driver task (a permit is kept if it is busy).
    pub(crate) wake: Notify,
    /// A send has woken the driver since its loop last started: later
    /// sends need not notify again (each notification is an atomic
    /// compare-and-swap, paid per record otherwise).
    send_woke: Cell<bool>,
    /// Outcomes were reported: buffer space may be free.
    space: Notify,
    /// The driver task has stopped.
    done: Notify,
    stopped: Cell<bool>,
    closing: Cell<bool>,
    waiting: RefCell<Waiting>,
    /// The handler set with [`Producer::on_delivery`].
    on_delivery: RefCell<Option<DeliveryHandler>>,
    /// The write queue of each open connection.
    conns: RefCell<HashMap<ConnId, mpsc::UnboundedSender<Transmit>>>,
    health: RefCell<Health>,
}

impl Producer {
    /// Starts a producer for `config` on the current runtime, which must
    /// be a [`crate::Runtime`] of `engine` (call this inside its
    /// `block_on`). It connects to a bootstrap broker at once, in
    /// plaintext: for TLS or SASL use [`Self::with_security`].
    pub fn new(config: ProducerConfig, engine: Engine) -> Result<Self, Error> {
        Self::with_security(config, &SecurityConfig::default(), engine)
    }

    /// As [`Self::new`], with connections secured by `security` (TLS,
    /// SASL). Reads the CA, certificate and key files now.
    pub fn with_security(
        config: ProducerConfig,
        security: &SecurityConfig,
        engine: Engine,
    ) -> Result<Self, Error> {
        let security = Connector::new(security, &config.client_id)?;
        let connect_timeout = config.request_timeout;
        let core = kafka_producer::Producer::new(config, Instant::now())?;
        let shared = Rc::new(Shared {
            core: RefCell::new(core),
            engine,
            connect_timeout,
            security,
            wake: Notify::new(),
            send_woke: Cell::new(false),
            space: Notify::new(),
            done: Notify::new(),
            stopped: Cell::new(false),
            closing: Cell::new(false),
            waiting: RefCell::new(Waiting::default()),
            on_delivery: RefCell::new(None),
            conns: RefCell::new(HashMap::new()),
            health: RefCell::new(Health::default()),
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
        let id = self.send_detached(record)?;
        Ok(self.track(id))
    }

    /// The [`Delivery`] of the record appended under `id`. The outcome is
    /// recorded by the driver task, which runs only once the caller yields,
    /// so registering after the append misses nothing.
    fn track(&self, id: DeliveryId) -> Delivery {
        self.shared.waiting.borrow_mut().insert(id);
        Delivery {
            shared: self.shared.clone(),
            id,
            done: false,
        }
    }

    /// As [`Self::send`], with the value given as parts written one after
    /// the other (never null; `record.value` is not used), each copied once
    /// into the batch: see [`kafka_producer::Producer::append_parts`].
    pub fn send_parts(
        &self,
        record: RecordRef<'_>,
        value_parts: &[&[u8]],
    ) -> Result<Delivery, Error> {
        let id = self.send_parts_detached(record, value_parts)?;
        Ok(self.track(id))
    }

    /// As [`Self::send`], but when the buffer is full waits until earlier
    /// records have outcomes and tries again.
    pub async fn send_wait(&self, record: RecordRef<'_>) -> Result<Delivery, Error> {
        self.wait_for_space(|| self.send(record)).await
    }

    /// Appends a record whose outcome is reported only to the handler set
    /// with [`Self::on_delivery`], as part of its batch's report (under the
    /// id returned here): no [`Delivery`] is kept per record, which is the
    /// cheaper way to send many records when outcomes are counted or
    /// handled per batch. Refusals are as for [`Self::send`].
    #[inline]
    pub fn send_detached(&self, record: RecordRef<'_>) -> Result<DeliveryId, Error> {
        if self.shared.closing.get() {
            return Err(Error::Closed);
        }
        let id = self.shared.core.borrow_mut().append(record, Instant::now)?;
        self.shared.wake_for_send();
        Ok(id)
    }

    /// As [`Self::send_detached`], with the value given as parts, as for
    /// [`Self::send_parts`].
    pub fn send_parts_detached(
        &self,
        record: RecordRef<'_>,
        value_parts: &[&[u8]],
    ) -> Result<DeliveryId, Error> {
        if self.shared.closing.get() {
            return Err(Error::Closed);
        }
        let id = self
            .shared
            .core
            .borrow_mut()
            .append_parts(record, value_parts, Instant::now)?;
        self.shared.wake_for_send();
        Ok(id)
    }

    /// As [`Self::send_detached`], but when the buffer is full waits until
    /// earlier records have outcomes and tries again.
    pub async fn send_detached_wait(&self, record: RecordRef<'_>) -> Result<DeliveryId, Error> {
        self.wait_for_space(|| self.send_detached(record)).await
    }

    /// Sets the handler called with the report of every batch (and of
    /// records that failed before reaching one), for records sent by any of
    /// the `send` methods, before their [`Delivery`] futures are woken. It
    /// runs on the driver task; it may send more records, but must not set
    /// another handler from inside.
    pub fn on_delivery(&self, handler: impl FnMut(&DeliveryReport) + 'static) {
        *self.shared.on_delivery.borrow_mut() = Some(DeliveryHandler(Box::new(handler)));
    }

    /// Calls `send` until it succeeds or fails with anything but a full
    /// buffer, waiting for outcomes between tries.
    async fn wait_for_space<T>(&self, send: impl Fn() -> Result<T, Error>) -> Result<T, Error> {
        loop {
            // Registering for a wake-up costs a lock: only when full.
            match send() {
                Err(Error::Append(AppendError::BufferFull)) => {}
                other => return other,
            }
            let mut freed = pin!(self.shared.space.notified());
            freed.as_mut().enable();
            match send() {
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

    /// What the driver has seen of the brokers.
    pub fn health(&self) -> Health {
        self.shared.health.borrow().clone()
    }

    /// [`Health::trailing_bytes_responses`] and [`Health::bad_responses`],
    /// without copying the rest.
    pub fn response_counts(&self) -> (u64, u64) {
        let h = self.shared.health.borrow();
        (h.trailing_bytes_responses, h.bad_responses)
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
    /// Wakes the driver for a new record, once per turn of its loop.
    #[inline]
    fn wake_for_send(&self) {
        if !self.send_woke.replace(true) {
            self.wake.notify_one();
        }
    }

    /// A connection is up (TCP and set-up done).
    fn connected(&self, conn: ConnId) {
        self.health.borrow_mut().auth_failure = None;
        self.core
            .borrow_mut()
            .handle_connected(conn, Instant::now());
        self.wake.notify_one();
    }

    /// Hands the response frames `conn` has split off to the producer.
    fn frames(&self, id: ConnId, conn: &mut Connection) {
        let Some(first) = conn.poll_frame() else {
            return;
        };
        let now = Instant::now();
        let mut core = self.core.borrow_mut();
        core.handle_frame(id, first, now);
        while let Some(frame) = conn.poll_frame() {
            core.handle_frame(id, frame, now);
        }
        drop(core);
        self.wake.notify_one();
    }

    /// A connection failed authentication.
    fn auth_failed(&self, conn: ConnId, error: AuthError) {
        self.conns.borrow_mut().remove(&conn);
        self.health.borrow_mut().auth_failure = Some(error.clone());
        self.core
            .borrow_mut()
            .handle_auth_failure(conn, error, Instant::now());
        self.wake.notify_one();
    }

    /// Logs and keeps what an event other than a delivery report says.
    fn note(&self, event: Event, now: Instant) {
        let mut health = self.health.borrow_mut();
        match event {
            Event::BadResponse(bad) => {
                let api = kafka_wire::messages::api_name(bad.api_key);
                tracing::warn!(
                    broker = %bad.broker,
                    api,
                    version = bad.version,
                    error = %bad.error,
                    "unusable response; reconnecting after reconnect.backoff.ms"
                );
                health.bad_response = Some(bad);
                health.bad_responses += 1;
            }
            Event::TrailingBytes {
                broker,
                api_key,
                version,
                bytes,
            } => {
                let api = kafka_wire::messages::api_name(api_key);
                tracing::debug!(%broker, api, version, bytes, "ignored bytes after a response");
                health.trailing_bytes_responses += 1;
            }
            Event::MetadataUpdated { .. } => {
                health.last_metadata = Some(now);
                health.bad_response = None;
            }
            _ => {}
        }
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

/// The outcome of each record sent, from `send` until its [`Delivery`]
/// has taken it or was dropped. The producer hands delivery ids out in
/// sequence, so this is a ring indexed from the oldest id still held: no
/// hash map (whose random probes missed the cache at every outcome) and no
/// channel allocated per record.
#[derive(Debug, Default)]
struct Waiting {
    /// The id of `slots[0]`.
    base: u64,
    slots: VecDeque<Slot>,
}

#[derive(Debug)]
enum Slot {
    /// No outcome yet; the waker of the task polling its [`Delivery`].
    Waiting(Option<Waker>),
    /// The outcome, not taken yet.
    Ready(Outcome),
    /// Taken, or its [`Delivery`] was dropped (or an id never sent).
    Gone,
}

impl Waiting {
    /// Adds `id`, which is newer than every id added before.
    fn insert(&mut self, id: DeliveryId) {
        if self.slots.is_empty() {
            self.base = id.0;
        }
        let Some(at) = id.0.checked_sub(self.base) else {
            // Older than the oldest held: never happens with sequential
            // ids; refuse it rather than misplace it.
            return;
        };
        let Ok(at) = usize::try_from(at) else {
            return;
        };
        while self.slots.len() < at {
            self.slots.push_back(Slot::Gone);
        }
        match self.slots.get_mut(at) {
            Some(slot) => *slot = Slot::Waiting(None),
            None => self.slots.push_back(Slot::Waiting(None)),
        }
    }

    fn slot(&mut self, id: DeliveryId) -> Option<&mut Slot> {
        let at = usize::try_from(id.0.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(at)
    }

    /// Records the outcome of `id` and wakes its task. Dropped if nobody
    /// waits for it any more.
    fn settle(&mut self, id: DeliveryId, outcome: Outcome) {
        if let Some(slot) = self.slot(id) {
            if let Slot::Waiting(waker) = slot {
                let waker = waker.take();
                *slot = Slot::Ready(outcome);
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// Takes the outcome of `id` if it is known; otherwise keeps `waker`
    /// to wake when it is.
    fn poll(&mut self, id: DeliveryId, waker: &Waker) -> Option<Outcome> {
        let slot = self.slot(id)?;
        match slot {
            Slot::Ready(_) => {
                let Slot::Ready(outcome) = std::mem::replace(slot, Slot::Gone) else {
                    return None;
                };
                self.trim();
                Some(outcome)
            }
            Slot::Waiting(w) => {
                match w {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            Slot::Gone => None,
        }
    }

    /// Nobody will take the outcome of `id`.
    fn abandon(&mut self, id: DeliveryId) {
        if let Some(slot) = self.slot(id) {
            *slot = Slot::Gone;
            self.trim();
        }
    }

    /// Wakes every task still waiting (the driver stopped).
    fn wake_all(&mut self) {
        for slot in &mut self.slots {
            if let Slot::Waiting(w) = slot {
                if let Some(w) = w.take() {
                    w.wake();
                }
            }
        }
    }

    fn trim(&mut self) {
        while let Some(Slot::Gone) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

/// Marks the driver stopped and wakes every waiting [`Delivery`], also
/// when the driver task is dropped with its runtime.
struct StopGuard(Rc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.conns.borrow_mut().clear();
        self.0.stopped.set(true);
        self.0.space.notify_waiters();
        self.0.done.notify_waiters();
        self.0.waiting.borrow_mut().wake_all();
    }
}

/// The driver task: applies timers, then drains every output of the state
/// machine (closes, connects, transmits, events), then sleeps until the
/// next timer or a wake-up.
async fn drive(shared: Rc<Shared>) {
    let guard = StopGuard(shared.clone());
    let mut reports = Vec::new();
    loop {
        // Sends from here on notify again (the permit they leave ends the
        // wait at the bottom of this loop at once).
        shared.send_woke.set(false);
        let now = Instant::now();
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
                match event {
                    Event::Delivery(report) => {
                        if matches!(report.result, BatchResult::Persisted { .. }) {
                            let mut health = shared.health.borrow_mut();
                            health.last_persisted = Some(now);
                            health.bad_response = None;
                        }
                        reports.push(report);
                    }
                    event => shared.note(event, now),
                }
            }
        }
        if !reports.is_empty() {
            // Outside the producer's borrow: the handler may send.
            let handler = shared.on_delivery.borrow_mut().take();
            if let Some(mut handler) = handler {
                for report in &reports {
                    (handler.0)(report);
                }
                let mut slot = shared.on_delivery.borrow_mut();
                if slot.is_none() {
                    *slot = Some(handler);
                }
            }
            let mut waiting = shared.waiting.borrow_mut();
            for report in reports.drain(..) {
                // Detached records have no slot; skip the walk when no
                // record is tracked.
                if !waiting.slots.is_empty() {
                    for (id, outcome) in report.outcomes() {
                        waiting.settle(id, outcome);
                    }
                }
            }
            drop(waiting);
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
    drop(guard);
}

/// One connection's task: connect, set up, then read and write until the
/// producer closes the connection (its queue is dropped) or it fails.
async fn run_conn(shared: Rc<Shared>, req: ConnectRequest, rx: mpsc::UnboundedReceiver<Transmit>) {
    let result = match shared.engine {
        #[cfg(target_os = "linux")]
        Engine::IoUring => connect_and_run::<transport::Uring>(&shared, &req, rx).await,
        #[cfg(not(target_os = "linux"))]
        Engine::IoUring => Err(ConnectionError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "io_uring needs Linux",
        ))),
        Engine::Epoll => connect_and_run::<transport::Epoll>(&shared, &req, rx).await,
    };
    if let Err(e) = result {
        let broker = format!("{}:{}", req.host, req.port);
        tracing::warn!(broker = %broker, "connection failed: {e}");
        match e.authentication(&broker) {
            // Fails the records waiting for this broker now rather than at
            // `delivery.timeout.ms`.
            Some(error) => shared.auth_failed(req.conn, error),
            None => shared.disconnected(req.conn),
        }
    }
}

/// Resolves the broker's address (the first one the resolver returns),
/// connects and runs the connection on transport `T`. The TCP connect and
/// the set-up step (TLS, SASL) are each bounded by `request.timeout.ms`.
async fn connect_and_run<T: Transport>(
    shared: &Shared,
    req: &ConnectRequest,
    rx: mpsc::UnboundedReceiver<Transmit>,
) -> Result<(), ConnectionError> {
    let addr = tokio::net::lookup_host((req.host.as_str(), req.port))
        .await?
        .next()
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no address for broker")
        })?;
    let mut stream = tokio::time::timeout(shared.connect_timeout, T::connect(addr))
        .await
        .map_err(|_| timed_out("connect timed out"))??;
    let conn = RefCell::new(Connection::new(&shared.security, &req.host)?);
    let run = async {
        tokio::time::timeout(shared.connect_timeout, set_up(&stream, &conn))
            .await
            .map_err(|_| timed_out("TLS/SASL set-up timed out"))??;
        shared.connected(req.conn);
        exchange(shared, req.conn, &stream, &conn, rx).await
    };
    match run.await {
        Ok(()) => {
            stream.shutdown().await;
            Ok(())
        }
        Err(e) => {
            // What the connection still has to say is the TLS alert that
            // tells the broker why (unknown_ca, ...). Best effort.
            let alert = conn.borrow_mut().poll_write();
            if let Some(alert) = alert {
                let send = write_all(&stream, alert);
                let _ = tokio::time::timeout(shared.connect_timeout, send).await;
            }
            Err(e)
        }
    }
}

fn timed_out(what: &'static str) -> ConnectionError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what).into()
}

/// The set-up step: sends what the connection gives and hands it what
/// comes back, until TLS and SASL are done.
async fn set_up<T: Transport>(
    stream: &T,
    conn: &RefCell<Connection>,
) -> Result<(), ConnectionError> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        let out = conn.borrow_mut().poll_write();
        if let Some(out) = out {
            let sent = write_all(stream, out).await;
            sent.map_err(|e| conn.borrow().io_error(e))?;
        }
        if conn.borrow().is_set_up() {
            return Ok(());
        }
        let n = read(stream, &mut buf).await;
        let n = n.map_err(|e| conn.borrow().io_error(e))?;
        conn.borrow_mut().handle_read(&buf[..n])?;
    }
}

/// Reads into `buf` (emptied first); the end of the stream is an error.
async fn read<T: Transport>(stream: &T, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut b = std::mem::take(buf);
    b.clear();
    let (result, b) = stream.read(b).await;
    *buf = b;
    match result? {
        0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
        n => Ok(n),
    }
}

/// A set-up connection: responses to the producer, its requests to the
/// broker, until the producer drops the queue (`Ok`, after a clean close)
/// or the connection fails.
async fn exchange<T: Transport>(
    shared: &Shared,
    id: ConnId,
    stream: &T,
    conn: &RefCell<Connection>,
    mut rx: mpsc::UnboundedReceiver<Transmit>,
) -> Result<(), ConnectionError> {
    // Responses that came with the end of the set-up.
    shared.frames(id, &mut conn.borrow_mut());
    // The reader asks the writer to send what the connection itself has to
    // (a TLS key update).
    let kick = Notify::new();
    let reader = async {
        let mut buf = Vec::with_capacity(READ_CHUNK);
        loop {
            let n = read(stream, &mut buf).await?;
            let mut c = conn.borrow_mut();
            c.handle_read(&buf[..n])?;
            if c.wants_write() {
                kick.notify_one();
            }
            shared.frames(id, &mut c);
        }
    };
    let writer = async {
        loop {
            tokio::select! {
                biased;
                t = rx.recv() => match t {
                    Some(t) => gather(t, &mut rx, &mut conn.borrow_mut()),
                    None => break,
                },
                () = kick.notified() => {}
            }
            let out = conn.borrow_mut().poll_write();
            if let Some(out) = out {
                write_all(stream, out).await?;
            }
        }
        // The producer dropped the queue: close quietly (close_notify).
        let bye = {
            let mut c = conn.borrow_mut();
            c.close();
            c.poll_write()
        };
        if let Some(bye) = bye {
            let _ = write_all(stream, bye).await;
        }
        Ok(())
    };
    tokio::select! {
        r = reader => r,
        w = writer => w,
    }
}

/// Hands `first` and the requests already queued behind it (up to
/// [`MAX_IOVECS`] chunks or [`GATHER_MAX`] bytes) to the connection, so
/// that one write carries them all.
fn gather(first: Transmit, rx: &mut mpsc::UnboundedReceiver<Transmit>, conn: &mut Connection) {
    let (mut chunks, mut bytes) = (first.chunks.len(), first.len());
    conn.handle_transmit(first.chunks);
    while chunks < MAX_IOVECS && bytes < GATHER_MAX {
        let Ok(t) = rx.try_recv() else {
            break;
        };
        chunks += t.chunks.len();
        bytes += t.len();
        conn.handle_transmit(t.chunks);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// Counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn persisted(offset: i64) -> Outcome {
        Outcome::Persisted {
            partition: 0,
            offset,
        }
    }

    fn offset(o: Option<Outcome>) -> Option<i64> {
        match o {
            Some(Outcome::Persisted { offset, .. }) => Some(offset),
            _ => None,
        }
    }

    #[test]
    fn waiting_hands_each_outcome_to_its_id_in_any_order_and_shrinks() {
        let (count, waker) = counter();
        let mut w = Waiting::default();
        for id in 10..20 {
            w.insert(DeliveryId(id));
        }
        for id in 10..20 {
            assert_eq!(offset(w.poll(DeliveryId(id), &waker)), None);
        }
        // Outcomes out of order (partitions settle independently).
        let order = [13, 10, 19, 11, 12, 15, 14, 18, 17, 16];
        for id in order {
            w.settle(DeliveryId(id), persisted(id as i64));
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 10, "each waiter woken once");
        for id in order.iter().rev() {
            assert_eq!(offset(w.poll(DeliveryId(*id), &waker)), Some(*id as i64));
            assert_eq!(offset(w.poll(DeliveryId(*id), &waker)), None, "taken once");
        }
        assert!(w.slots.is_empty(), "drained from the front");
    }

    #[test]
    fn waiting_drops_abandoned_outcomes_and_skips_gaps() {
        let (count, waker) = counter();
        let mut w = Waiting::default();
        assert_eq!(offset(w.poll(DeliveryId(0), &waker)), None);
        w.insert(DeliveryId(5));
        // Ids 6 and 7 were never sent.
        w.insert(DeliveryId(8));
        w.insert(DeliveryId(9));
        // 5's Delivery is dropped before its outcome; the outcome is dropped.
        w.abandon(DeliveryId(5));
        assert_eq!(w.base, 8, "the gap goes with the abandoned slot");
        w.settle(DeliveryId(5), persisted(5));
        w.settle(DeliveryId(7), persisted(7));
        w.settle(DeliveryId(99), persisted(99));
        assert_eq!(w.slots.len(), 2);
        // 9 settles before anyone polls it: no waker, kept until taken.
        w.settle(DeliveryId(9), persisted(9));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        // 8 abandoned after a poll, 9 taken: empty.
        assert_eq!(offset(w.poll(DeliveryId(8), &waker)), None);
        w.abandon(DeliveryId(8));
        assert_eq!(offset(w.poll(DeliveryId(9), &waker)), Some(9));
        assert!(w.slots.is_empty());
        // Empty again: the next id starts a new ring; an older one is
        // refused, not misplaced.
        w.insert(DeliveryId(1_000));
        w.insert(DeliveryId(3));
        assert_eq!((w.base, w.slots.len()), (1_000, 1));
        // A stopping driver wakes whoever still waits.
        assert_eq!(offset(w.poll(DeliveryId(1_000), &waker)), None);
        w.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
