//! A TCP proxy that cuts connections at random byte positions, in the
//! middle of requests (client to broker) or of responses (broker to
//! client). It runs on its own thread with a current-thread runtime.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::workload::SplitMix;

/// How often to cut.
#[derive(Debug, Clone, Copy)]
pub struct ChaosPlan {
    /// Mean request bytes forwarded on a connection before a cut.
    pub mean_request_bytes: u64,
    /// Mean response bytes forwarded on a connection before a cut.
    pub mean_response_bytes: u64,
    /// No more cuts after this many.
    pub max_cuts: u64,
}

/// Counters, readable while the proxy runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Cuts in the request direction (a request left half-written).
    pub request_cuts: AtomicU64,
    /// Cuts in the response direction (a response left half-read).
    pub response_cuts: AtomicU64,
}

impl Stats {
    /// Cuts of either kind.
    pub fn cuts(&self) -> u64 {
        self.request_cuts.load(Ordering::Relaxed) + self.response_cuts.load(Ordering::Relaxed)
    }
}

/// The running proxy; stops on drop.
#[derive(Debug)]
pub struct ChaosProxy {
    /// Counters.
    pub stats: Arc<Stats>,
    chaos: Arc<AtomicBool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ChaosProxy {
    /// Listens on `127.0.0.1:listen`, forwards to `127.0.0.1:upstream`.
    /// Cuts only while chaos is on (it starts on).
    pub fn start(listen: u16, upstream: u16, seed: u64, plan: ChaosPlan) -> ChaosProxy {
        let stats = Arc::new(Stats::default());
        let chaos = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let std_listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, listen)).expect("bind proxy port");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let (st, ch) = (stats.clone(), chaos.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let listener = TcpListener::from_std(std_listener).expect("proxy listener");
                let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream));
                let mut n = 0u64;
                let accept = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        n += 1;
                        st.connections.fetch_add(1, Ordering::Relaxed);
                        let rng = SplitMix(seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
                        tokio::task::spawn_local(relay(
                            client,
                            upstream,
                            rng,
                            plan,
                            st.clone(),
                            ch.clone(),
                        ));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        ChaosProxy {
            stats,
            chaos,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Turns cutting on or off (connections keep flowing either way).
    pub fn set_chaos(&self, on: bool) {
        self.chaos.store(on, Ordering::Relaxed);
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    mut rng: SplitMix,
    plan: ChaosPlan,
    stats: Arc<Stats>,
    chaos: Arc<AtomicBool>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return; // broker down: the client sees its connection close
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let req_budget = 1 + rng.below(2 * plan.mean_request_bytes.max(1));
    let resp_budget = 1 + rng.below(2 * plan.mean_response_bytes.max(1));
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(
        cr,
        sw,
        req_budget,
        plan,
        &stats,
        &stats.request_cuts,
        &chaos,
    );
    let down = pump(
        sr,
        cw,
        resp_budget,
        plan,
        &stats,
        &stats.response_cuts,
        &chaos,
    );
    // The first direction to end (EOF, error or cut) ends both: dropping
    // the halves closes the sockets.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Copies `from` to `to`; once `budget` bytes have passed while chaos is
/// on (and the cut limit allows), forwards only up to that byte and stops.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut budget: u64,
    plan: ChaosPlan,
    stats: &Stats,
    counter: &AtomicU64,
    chaos: &AtomicBool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let armed = chaos.load(Ordering::Relaxed) && stats.cuts() < plan.max_cuts;
        if armed && (n as u64) >= budget {
            let keep = budget as usize - 1; // cut strictly inside what arrived
            let _ = to.write_all(&buf[..keep]).await;
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if armed {
            budget -= n as u64;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
