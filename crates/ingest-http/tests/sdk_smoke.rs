//! The official Segment and RudderStack Python SDKs against the server.
//!
//! Needs `python3` with `segment-analytics-python` and `rudder-sdk-python`
//! (`scripts/setup-test-deps` installs both).

use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread;

use ingest_http::server::{bind_reuseport, Server};
use ingest_http::{EventSink, HttpConfig, IngestOutcome, IngestRequest, WriteKey};

/// Records every event (a batch is split into its events) with its source.
struct Recorder {
    events: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl EventSink for Recorder {
    type Settled = Pin<Box<dyn Future<Output = IngestOutcome>>>;

    fn submit(&self, request: IngestRequest) -> Self::Settled {
        let source = request.source.as_deref().unwrap_or("").to_owned();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let events = match body.get("batch") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            _ => vec![body],
        };
        let n = events.len();
        let mut seen = self.events.lock().unwrap();
        seen.extend(events.into_iter().map(|e| (source.clone(), e)));
        Box::pin(async move { IngestOutcome::settled(n, 0, vec![]) })
    }

    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn python_sdks_are_accepted() {
    let http = HttpConfig::new([
        WriteKey::with_source("seg-key", "segment"),
        WriteKey::with_source("rudder-key", "rudder"),
    ]);
    let listener = bind_reuseport("127.0.0.1:0".parse().unwrap(), 64).unwrap();
    let addr = listener.local_addr().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let recorded = events.clone();
    let server = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let sink = Rc::new(Recorder { events: recorded });
            Server::new(Arc::new(http), sink)
                .serve(listener, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/sdk_smoke.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .expect("python3 runs");
    let _ = stop_tx.send(());
    server.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["segment 31", "rudder 31"]
    );

    let events = events.lock().unwrap();
    for source in ["segment", "rudder"] {
        let mine: Vec<&serde_json::Value> = events
            .iter()
            .filter(|(s, _)| s == source)
            .map(|(_, e)| e)
            .collect();
        assert_eq!(mine.len(), 31, "{source}");
        let mut types: Vec<&str> = mine.iter().filter_map(|e| e["type"].as_str()).collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(
            types,
            ["alias", "group", "identify", "page", "screen", "track"],
            "{source}"
        );
        let batched = mine
            .iter()
            .filter(|e| e["event"].as_str().is_some_and(|n| n.ends_with("Batched")))
            .count();
        assert_eq!(batched, 25, "{source}");
    }
}
