//! The driver against sockets that misbehave, on each engine: a broker
//! that accepts and hangs up at once, and a full buffer.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kafka_net::{
    io_uring_available, AppendError, DeliveryError, Engine, Error, NetConfig, Outcome, Producer,
    RecordRef, Runtime,
};

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Epoll];
    if io_uring_available().is_ok() {
        v.push(Engine::IoUring);
    }
    v
}

/// A listener that accepts connections and closes them at once, counting.
fn hang_up_server() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            count.fetch_add(1, Ordering::Relaxed);
            drop(s);
        }
    });
    (port, n)
}

fn record(value: &[u8]) -> RecordRef<'_> {
    RecordRef {
        topic: "t",
        partition: None,
        key: Some(b"k"),
        value: Some(value),
        headers: &[],
        timestamp: 0,
    }
}

#[test]
fn broken_connections_are_retried_until_the_delivery_timeout() {
    for engine in engines() {
        let (port, accepted) = hang_up_server();
        let addr = format!("127.0.0.1:{port}");
        let cfg = NetConfig::from_properties([
            ("bootstrap.servers", addr.as_str()),
            ("delivery.timeout.ms", "1500"),
            ("reconnect.backoff.ms", "10"),
            ("reconnect.backoff.max.ms", "50"),
        ])
        .unwrap();
        let rt = Runtime::new(engine).unwrap();
        let outcome = rt.block_on(async {
            let p = Producer::new(cfg.producer, engine).unwrap();
            let d = p.send(record(b"v")).unwrap();
            let o = d.await.unwrap();
            p.close().await;
            o
        });
        assert!(
            matches!(
                outcome,
                Outcome::NotPersisted(DeliveryError::TimedOut { .. })
            ),
            "{engine:?}: {outcome:?}"
        );
        assert!(
            accepted.load(Ordering::Relaxed) >= 2,
            "{engine:?}: the driver reconnected"
        );
    }
}

#[test]
fn a_full_buffer_refuses_at_once() {
    for engine in engines() {
        let (port, _) = hang_up_server();
        let addr = format!("127.0.0.1:{port}");
        let cfg = NetConfig::from_properties([
            ("bootstrap.servers", addr.as_str()),
            ("buffer.memory", "4096"),
            ("delivery.timeout.ms", "500"),
        ])
        .unwrap();
        let rt = Runtime::new(engine).unwrap();
        rt.block_on(async {
            let p = Producer::new(cfg.producer, engine).unwrap();
            let value = [7u8; 1000];
            let mut deliveries = Vec::new();
            let refused = loop {
                match p.send(record(&value)) {
                    Ok(d) => deliveries.push(d),
                    Err(e) => break e,
                }
                assert!(
                    deliveries.len() < 5,
                    "{engine:?}: buffer.memory not enforced"
                );
            };
            assert!(
                matches!(refused, Error::Append(AppendError::BufferFull)),
                "{engine:?}: {refused:?}"
            );
            // send_wait waits for the held records' outcomes (timeouts
            // here), then gets its place.
            let d = p.send_wait(record(&value)).await.unwrap();
            for d in deliveries {
                assert!(matches!(d.await.unwrap(), Outcome::NotPersisted(_)));
            }
            assert!(matches!(d.await.unwrap(), Outcome::NotPersisted(_)));
            p.close().await;
        });
    }
}

#[test]
fn detached_records_are_reported_to_the_handler_once_each() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use kafka_net::{BatchResult, DeliveryId};

    for engine in engines() {
        let (port, _) = hang_up_server();
        let addr = format!("127.0.0.1:{port}");
        let cfg = NetConfig::from_properties([
            ("bootstrap.servers", addr.as_str()),
            ("buffer.memory", "4096"),
            ("delivery.timeout.ms", "300"),
        ])
        .unwrap();
        let rt = Runtime::new(engine).unwrap();
        rt.block_on(async {
            let p = Producer::new(cfg.producer, engine).unwrap();
            let seen: Rc<RefCell<Vec<(DeliveryId, bool)>>> = Rc::default();
            let log = seen.clone();
            p.on_delivery(move |report| {
                let failed = matches!(report.result, BatchResult::NotPersisted(_));
                log.borrow_mut()
                    .extend(report.ids.iter().map(|id| (*id, failed)));
            });
            let value = [7u8; 1000];
            let tracked = p.send(record(&value)).unwrap();
            // More than the buffer holds: the waiting send gets its place
            // once earlier records have their outcomes.
            let mut detached = Vec::new();
            for _ in 0..6 {
                detached.push(p.send_detached_wait(record(&value)).await.unwrap());
            }
            assert!(matches!(tracked.await.unwrap(), Outcome::NotPersisted(_)));
            p.flush().await;
            let mut seen = seen.borrow().clone();
            seen.sort();
            let mut want: Vec<(DeliveryId, bool)> = detached.iter().map(|id| (*id, true)).collect();
            want.push((DeliveryId(0), true));
            want.sort();
            assert_eq!(seen, want, "{engine:?}: every id once, the tracked one too");
            p.close().await;
        });
    }
}
