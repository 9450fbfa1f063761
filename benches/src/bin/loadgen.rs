//! Load generator for the forwarder end to end: many keep-alive
//! connections posting `/v1/batch` bodies of realistic track events, as the
//! Segment and RudderStack SDKs do. Reports events per second and, given
//! the forwarder's pid, its CPU time per million events and per event,
//! split into user and system time (from `/proc/<pid>/stat`).
//!
//! ```text
//! loadgen [--addr 127.0.0.1:8080] [--write-key dev] [--connections 32]
//!         [--events 500] [--seconds 20] [--warmup 3] [--pid PID]
//! ```
//!
//! Bodies are built once before the run (distinct users, message ids and
//! properties per event), so the generator spends its time writing bytes.
//! Only events of requests answered 200 count.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Args {
    addr: String,
    write_key: String,
    connections: usize,
    events: usize,
    seconds: u64,
    warmup: u64,
    pid: Option<u32>,
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:8080".into(),
        write_key: "dev".into(),
        connections: 32,
        events: 500,
        seconds: 20,
        warmup: 3,
        pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--addr" => a.addr = value(),
            "--write-key" => a.write_key = value(),
            "--connections" => a.connections = number(&value()),
            "--events" => a.events = number(&value()),
            "--seconds" => a.seconds = number(&value()),
            "--warmup" => a.warmup = number(&value()),
            "--pid" => a.pid = Some(number(&value())),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    a
}

fn number<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "{msg}\nusage: loadgen [--addr HOST:PORT] [--write-key KEY] [--connections N] \
         [--events N] [--seconds N] [--warmup N] [--pid FORWARDER_PID]"
    );
    std::process::exit(2)
}

/// One realistic Segment track event (about 700 bytes).
fn event(body: usize, i: usize) -> String {
    let user = (body * 7919 + i * 104_729) % 1_000_003;
    format!(
        r#"{{"type":"track","event":"Order Completed","userId":"user-{user}","anonymousId":"5f1c2a7e-{body:04x}-4b8e-9c3d-{i:012x}","messageId":"ajs-next-{body:08x}{i:08x}","timestamp":"2026-11-21T10:00:{s:02}.{ms:03}Z","sentAt":"2026-11-21T10:00:{s:02}.{ms:03}Z","context":{{"library":{{"name":"analytics.js","version":"next-1.64.0"}},"ip":"203.0.113.{ip}","locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36","page":{{"path":"/checkout/complete","referrer":"https://shop.example.com/cart","title":"Thank you","url":"https://shop.example.com/checkout/complete"}}}},"properties":{{"orderId":"ord-{body}-{i}","total":{t}.{c:02},"revenue":{r}.50,"currency":"USD","coupon":null,"products":[{{"productId":"sku-{p}","name":"Widget {p}","price":19.99,"quantity":{q}}},{{"productId":"sku-{p2}","name":"Gadget","price":5.25,"quantity":1}}]}},"integrations":{{}}}}"#,
        s = i % 60,
        ms = (i * 37) % 1000,
        ip = i % 250 + 1,
        t = 20 + i % 400,
        c = i % 100,
        r = 10 + i % 300,
        p = i % 97,
        p2 = i % 89 + 100,
        q = i % 4 + 1,
    )
}

fn body(n: usize, events: usize) -> Vec<u8> {
    let mut b = String::with_capacity(events * 800);
    b.push_str(r#"{"batch":["#);
    for i in 0..events {
        if i > 0 {
            b.push(',');
        }
        b.push_str(&event(n, i));
    }
    b.push_str(r#"],"sentAt":"2026-11-21T10:00:59.000Z"}"#);
    b.into_bytes()
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[derive(Debug, Default)]
struct Counters {
    ok_requests: AtomicU64,
    ok_events: AtomicU64,
    unavailable: AtomicU64,
    other: AtomicU64,
    bytes: AtomicU64,
}

/// Writes requests and reads responses on one connection until `stop`.
fn client(
    addr: String,
    requests: Arc<Vec<Vec<u8>>>,
    first: usize,
    events: u64,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = first;
    'connect: while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let _ = s.set_nodelay(true);
        let mut have = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let req = &requests[n % requests.len()];
            n += 1;
            if s.write_all(req).is_err() {
                continue 'connect;
            }
            // Read one response: head, then Content-Length bytes.
            loop {
                if let Some(end) = find(&buf[..have], b"\r\n\r\n") {
                    let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
                    let status: u16 = head
                        .split(' ')
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    let total = end + 4 + len;
                    while have < total {
                        if buf.len() < total {
                            buf.resize(total, 0);
                        }
                        match s.read(&mut buf[have..]) {
                            Ok(0) | Err(_) => continue 'connect,
                            Ok(k) => have += k,
                        }
                    }
                    match status {
                        200 => {
                            counters.ok_requests.fetch_add(1, Ordering::Relaxed);
                            counters.ok_events.fetch_add(events, Ordering::Relaxed);
                            counters
                                .bytes
                                .fetch_add(req.len() as u64, Ordering::Relaxed);
                        }
                        503 => {
                            counters.unavailable.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            counters.other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    buf.copy_within(total..have, 0);
                    have -= total;
                    break;
                }
                if have == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                match s.read(&mut buf[have..]) {
                    Ok(0) | Err(_) => continue 'connect,
                    Ok(k) => have += k,
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// CPU time of a process, in seconds: (user, system).
fn cpu_seconds(pid: &str) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // After the command: state is field 3, utime 14, stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some((utime / ticks, stime / ticks))
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn snapshot(c: &Counters) -> [u64; 5] {
    [
        c.ok_requests.load(Ordering::Relaxed),
        c.ok_events.load(Ordering::Relaxed),
        c.unavailable.load(Ordering::Relaxed),
        c.other.load(Ordering::Relaxed),
        c.bytes.load(Ordering::Relaxed),
    ]
}

fn main() {
    let args = parse_args();
    let auth = base64(format!("{}:", args.write_key).as_bytes());
    let distinct = 64;
    let requests: Vec<Vec<u8>> = (0..distinct)
        .map(|n| {
            let b = body(n, args.events);
            let mut r = format!(
                "POST /v1/batch HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Authorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n",
                args.addr,
                b.len()
            )
            .into_bytes();
            r.extend_from_slice(&b);
            r
        })
        .collect();
    let avg_body = requests.iter().map(Vec::len).sum::<usize>() / requests.len();
    eprintln!(
        "loadgen: {} connections, {} events per request, ~{} bytes per request, {} s after {} s warm-up",
        args.connections, args.events, avg_body, args.seconds, args.warmup
    );
    let requests = Arc::new(requests);
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..args.connections)
        .map(|i| {
            let (addr, requests, counters, stop) = (
                args.addr.clone(),
                requests.clone(),
                counters.clone(),
                stop.clone(),
            );
            let events = args.events as u64;
            std::thread::spawn(move || client(addr, requests, i * 7, events, counters, stop))
        })
        .collect();

    std::thread::sleep(Duration::from_secs(args.warmup));
    let pid = args.pid.map(|p| p.to_string());
    let cpu0 = pid.as_deref().and_then(cpu_seconds);
    let self0 = cpu_seconds("self");
    let c0 = snapshot(&counters);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    let c1 = snapshot(&counters);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = pid.as_deref().and_then(cpu_seconds);
    let self1 = cpu_seconds("self");
    stop.store(true, Ordering::Relaxed);

    let events = (c1[1] - c0[1]) as f64;
    let rate = events / elapsed;
    println!("requests answered 200: {}", c1[0] - c0[0]);
    println!("requests answered 503: {}", c1[2] - c0[2]);
    println!("other responses:       {}", c1[3] - c0[3]);
    println!(
        "events/s:              {:.0} ({:.1} MB/s of request bodies)",
        rate,
        (c1[4] - c0[4]) as f64 / elapsed / 1e6
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        let (user, system) = (b.0 - a.0, b.1 - a.1);
        let cpu = user + system;
        println!(
            "forwarder CPU:         {:.2} s in {:.2} s ({:.2} cores; user {:.2} s, system {:.2} s)",
            cpu,
            elapsed,
            cpu / elapsed,
            user,
            system
        );
        if events > 0.0 {
            println!(
                "forwarder CPU-s per million events: {:.3}  => {:.0} events/s per forwarder core",
                cpu / events * 1e6,
                events / cpu
            );
            println!(
                "forwarder CPU per event: user {:.3} us, system {:.3} us",
                user / events * 1e6,
                system / events * 1e6
            );
        }
    }
    if let (Some(a), Some(b)) = (self0, self1) {
        println!("loadgen CPU:           {:.2} s", (b.0 + b.1) - (a.0 + a.1));
    }
    for t in threads {
        let _ = t.join();
    }
}
