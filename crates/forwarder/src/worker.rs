//! Worker threads: each owns a runtime on the chosen engine, its listener,
//! router, producer and HTTP server.

use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use event_router::Router;
use ingest_http::server::{bind_reuseport, Server};
use kafka_net::{Engine, Producer, Runtime};
use tokio::sync::{mpsc, watch};

use crate::config::Settings;
use crate::sink::{Sink, SinkOptions};

/// The metrics registries every worker adds itself to: the HTTP front
/// end's and the forwarder's own.
#[derive(Debug, Clone, Default)]
pub struct Registries {
    /// HTTP responses and request sizes.
    pub http: Arc<ingest_http::metrics::Registry>,
    /// Topics, brokers, latency, bytes in flight.
    pub forwarder: Arc<crate::metrics::Registry>,
}

/// How a worker ended.
#[derive(Debug)]
pub struct Exit {
    /// The worker's number.
    pub worker: usize,
    /// `Err` with a message when it failed.
    pub result: Result<(), String>,
}

/// Binds one `SO_REUSEPORT` listener per worker, so that an address in
/// use fails before any thread starts.
pub fn bind(settings: &Settings) -> std::io::Result<Vec<StdListener>> {
    (0..settings.workers)
        .map(|_| bind_reuseport(settings.listen, settings.config.ingest.backlog))
        .collect()
}

/// Starts one thread per listener. Each stops when `shutdown` turns true:
/// it stops accepting, finishes the requests in flight, flushes and closes
/// its producer, then reports on `exits`.
pub fn spawn(
    settings: &Settings,
    engine: Engine,
    listeners: Vec<StdListener>,
    registry: Registries,
    shutdown: watch::Receiver<bool>,
    exits: mpsc::UnboundedSender<Exit>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let mut handles = Vec::with_capacity(listeners.len());
    for (worker, listener) in listeners.into_iter().enumerate() {
        let settings = settings.clone();
        let registry = registry.clone();
        let shutdown = shutdown.clone();
        let exits = exits.clone();
        let handle = std::thread::Builder::new()
            .name(format!("worker-{worker}"))
            .spawn(move || {
                let result = run(worker, &settings, engine, listener, registry, shutdown);
                if let Err(e) = &result {
                    tracing::error!(worker, error = %e, "worker failed");
                }
                let _ = exits.send(Exit { worker, result });
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

fn run(
    worker: usize,
    settings: &Settings,
    engine: Engine,
    listener: StdListener,
    registry: Registries,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let rt = Runtime::new(engine).map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(async move {
        let http_metrics = registry.http.add_worker();
        let metrics = registry.forwarder.add_worker();
        let mut producer_config = settings.net.producer.clone();
        producer_config.rng_seed = producer_config.rng_seed.wrapping_add(worker as u64);
        let producer = Producer::with_security(producer_config, &settings.net.security, engine)
            .map_err(|e| format!("producer: {e}"))?;
        let producer = Rc::new(producer);
        let router = Router::new(&settings.config.router, worker as u64 + 1)
            .map_err(|e| format!("router: {e}"))?;
        let options = SinkOptions {
            batch_mode: settings.config.batch_mode,
            retry_after: settings.retry_after(),
            request_timeout: Duration::from_millis(settings.config.ingest.request_timeout_ms),
            ready_stall: Duration::from_millis(settings.config.ingest.ready_stall_ms),
            source_header: settings.config.router.source_header.clone(),
            dlq_topic_header: settings.config.router.dlq_topic_header.clone(),
            dlq_reason_header: settings.config.router.dlq_reason_header.clone(),
            broker_label: settings
                .net
                .producer
                .bootstrap_servers
                .iter()
                .map(|b| format!("{}:{}", b.host, b.port))
                .collect::<Vec<_>>()
                .join(","),
        };
        let sink = Rc::new(Sink::new(
            router,
            producer.clone(),
            options,
            registry.forwarder.clone(),
            metrics,
        ));
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|e| format!("listener: {e}"))?;
        let server = Server::new(Arc::new(settings.http.clone()), sink.clone())
            .with_metrics(registry.http.clone(), http_metrics)
            .with_idle_timeout(Duration::from_secs(
                settings.config.ingest.idle_timeout_secs,
            ));
        tracing::debug!(worker, engine = engine.name(), "worker serving");
        let stop = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        server
            .serve(listener, stop)
            .await
            .map_err(|e| format!("server: {e}"))?;
        drop(sink);
        // Every request is answered by now, and a 200 was only sent for
        // persisted records: what the producer still holds belongs to
        // requests answered 503. Flush it, but not forever (the broker may
        // be gone).
        let bound = Duration::from_secs(settings.config.shutdown_timeout_secs) / 2;
        let close = async move {
            match Rc::try_unwrap(producer) {
                Ok(producer) => producer.close().await,
                Err(producer) => producer.flush().await,
            }
        };
        if tokio::time::timeout(bound, close).await.is_err() {
            tracing::warn!(
                worker,
                "gave up flushing after {} s; the records left belong to requests answered 503",
                bound.as_secs()
            );
        }
        tracing::debug!(worker, "worker drained");
        Ok(())
    })
}
