//! The forwarder's peer in its end-to-end benchmark: the same job built the
//! usual way, from common libraries. `hyper` serves HTTP/1.1, `serde_json`
//! parses each `/v1/batch` body, and librdkafka (the `rdkafka` crate's
//! `FutureProducer`) produces one record per event.
//!
//! It does what the forwarder does for the benchmark's events, as a team
//! would write it by hand, in one of two ways (`--mode`):
//! - `tree` (the default): each body becomes a `serde_json::Value` tree,
//!   events are read and enriched in the tree and serialised again, the
//!   way most pipelines handle JSON;
//! - `raw`: the tuned way. The body is parsed into borrowed `RawValue`s,
//!   one per event, and each event only into the few fields routing needs
//!   (the rest is checked and skipped); the record's value is the event's
//!   own bytes with `receivedAt` spliced in before its closing brace (an
//!   event that already has one goes through a value tree instead).
//!
//! Either way it:
//! - checks the write key (HTTP Basic, key as the user name);
//! - checks each event: an object with a known `type` and a `userId` or
//!   `anonymousId`;
//! - sets `receivedAt` to the time the body arrived;
//! - produces the event as JSON to the topic, keyed by `userId` (else
//!   `anonymousId`), with `message_id` and `event_type` headers. It uses
//!   the same producer settings as the forwarder: idempotent, `acks=all`,
//!   `linger.ms = 5`, 1 MiB batches, Java's murmur2 for keys;
//! - answers 200 with the forwarder's body once every record is delivered,
//!   and 503 if any is not.
//!
//! One thread serves HTTP, like one forwarder worker. librdkafka adds its
//! own threads. The load generator counts the CPU time of the whole process.
//!
//! ```text
//! peer-forwarder --listen 127.0.0.1:28080 --bootstrap 127.0.0.1:29092 \
//!     --topic events --write-key bench [--mode tree|raw]
//! ```

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// mimalloc rather than the C library's allocator: with glibc's, frees of
/// memory allocated on another thread (librdkafka frees records on its
/// own) made allocation about a third of the process's time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The forwarder's default request limit.
const MAX_BODY: usize = 500_000;
const TYPES: [&str; 6] = ["track", "identify", "page", "screen", "group", "alias"];

struct Shared {
    producer: FutureProducer,
    topic: String,
    /// The whole `Authorization` header value a request must carry.
    authorization: String,
    /// `--mode raw`.
    raw: bool,
}

/// What routing needs of an event; everything else is checked and skipped.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "userId", borrow)]
    user_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "anonymousId", borrow)]
    anonymous_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "messageId", borrow)]
    message_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "receivedAt")]
    received_at: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawBatch<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
}

/// One event, ready to produce.
struct Out {
    key: String,
    value: Vec<u8>,
    ty: String,
    message_id: Option<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let listen: SocketAddr = arg("--listen", "127.0.0.1:28080")
        .parse()
        .expect("--listen: an address");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", arg("--bootstrap", "127.0.0.1:9092"))
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("partitioner", "murmur2_random")
        .create()
        .expect("librdkafka producer");
    let shared = Rc::new(Shared {
        producer,
        topic: arg("--topic", "events"),
        authorization: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:", arg("--write-key", "bench")))
        ),
        raw: match arg("--mode", "tree").as_str() {
            "tree" => false,
            "raw" => true,
            m => panic!("--mode {m}: tree or raw"),
        },
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
        eprintln!("peer-forwarder listening on {listen}");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::task::spawn_local(async move {
                let service = service_fn(move |req| handle(shared.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    r
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    reply(status, serde_json::json!({ "error": message }).to_string())
}

async fn handle(
    shared: Rc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.method() != Method::POST || req.uri().path() != "/v1/batch" {
        return Ok(error(StatusCode::NOT_FOUND, "not found"));
    }
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == shared.authorization.as_bytes());
    if !authorized {
        return Ok(error(StatusCode::UNAUTHORIZED, "unknown write key"));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "body too large")),
    };
    let received = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let parsed = if shared.raw {
        parse_raw(&body, &received)
    } else {
        parse_tree(&body, &received)
    };
    let (outs, errors) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e)),
    };

    let mut pending = Vec::with_capacity(outs.len());
    for out in &outs {
        let mut headers = OwnedHeaders::new().insert(Header {
            key: "event_type",
            value: Some(out.ty.as_bytes()),
        });
        if let Some(id) = &out.message_id {
            headers = headers.insert(Header {
                key: "message_id",
                value: Some(id.as_bytes()),
            });
        }
        let mut record = FutureRecord::to(&shared.topic)
            .key(out.key.as_bytes())
            .payload(&out.value)
            .headers(headers);
        loop {
            match shared.producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((e, _)) => {
                    return Ok(error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()));
                }
            }
        }
    }
    let accepted = pending.len();
    let mut failed = false;
    for delivery in pending {
        failed |= !matches!(delivery.await, Ok(Ok(_)));
    }
    if failed {
        return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "not delivered"));
    }
    let body = serde_json::json!({
        "accepted": accepted,
        "dead_lettered": 0,
        "errors": errors,
    });
    Ok(reply(StatusCode::OK, body.to_string()))
}

type Parsed = Result<(Vec<Out>, Vec<Value>), String>;

fn bad(index: usize, message: &str) -> Value {
    serde_json::json!({ "index": index, "message": message })
}

/// The checks both modes make: a known `type`, and the record key,
/// `userId` else `anonymousId` (non-empty).
fn type_and_key(
    ty: Option<&str>,
    user_id: Option<&str>,
    anonymous_id: Option<&str>,
) -> Result<(String, String), &'static str> {
    let ty = ty.filter(|t| TYPES.contains(t)).ok_or("bad type")?;
    let key = [user_id, anonymous_id]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .ok_or("no identity")?;
    Ok((ty.to_owned(), key.to_owned()))
}

/// `--mode tree`: the body as a value tree.
fn parse_tree(body: &[u8], received: &str) -> Parsed {
    let mut doc: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let events = doc
        .get_mut("batch")
        .and_then(Value::as_array_mut)
        .ok_or("`batch` must be an array")?;
    let mut outs = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    for (index, event) in events.iter_mut().enumerate() {
        let Some(obj) = event.as_object_mut() else {
            errors.push(bad(index, "not an object"));
            continue;
        };
        let field = |name: &str| obj.get(name).and_then(Value::as_str);
        let (ty, key) = match type_and_key(field("type"), field("userId"), field("anonymousId")) {
            Ok(r) => r,
            Err(e) => {
                errors.push(bad(index, e));
                continue;
            }
        };
        let message_id = obj
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        obj.insert("receivedAt".to_owned(), Value::String(received.to_owned()));
        let value = serde_json::to_vec(obj).map_err(|e| e.to_string())?;
        outs.push(Out {
            key,
            value,
            ty,
            message_id,
        });
    }
    Ok((outs, errors))
}

/// `--mode raw`: borrowed events, only their routing fields parsed.
fn parse_raw(body: &[u8], received: &str) -> Parsed {
    let doc: RawBatch<'_> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut outs = Vec::with_capacity(doc.batch.len());
    let mut errors = Vec::new();
    for (index, event) in doc.batch.iter().enumerate() {
        // `RawValue` holds the event's exact text, from its first byte to
        // its last. (A struct also deserialises from an array.)
        let text = event.get().as_bytes();
        if text.first() != Some(&b'{') {
            errors.push(bad(index, "not an object"));
            continue;
        }
        let head: Head<'_> = match serde_json::from_str(event.get()) {
            Ok(h) => h,
            Err(e) => {
                errors.push(bad(index, &e.to_string()));
                continue;
            }
        };
        let (ty, key) = match type_and_key(
            head.ty.as_deref(),
            head.user_id.as_deref(),
            head.anonymous_id.as_deref(),
        ) {
            Ok(r) => r,
            Err(e) => {
                errors.push(bad(index, e));
                continue;
            }
        };
        let value = if head.received_at.is_some() {
            // Rare: replace it in a value tree.
            let tree = serde_json::from_str::<serde_json::Map<String, Value>>(event.get());
            let Ok(mut tree) = tree else {
                errors.push(bad(index, "not an object"));
                continue;
            };
            tree.insert("receivedAt".to_owned(), Value::String(received.to_owned()));
            serde_json::to_vec(&tree).map_err(|e| e.to_string())?
        } else {
            let open = &text[..text.len() - 1];
            let empty = open.iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
            let mut v = Vec::with_capacity(text.len() + 48);
            v.extend_from_slice(open);
            if !empty {
                v.push(b',');
            }
            v.extend_from_slice(b"\"receivedAt\":\"");
            v.extend_from_slice(received.as_bytes());
            v.extend_from_slice(b"\"}");
            v
        };
        outs.push(Out {
            key,
            value,
            ty,
            message_id: head.message_id.map(|m| m.into_owned()),
        });
    }
    Ok((outs, errors))
}
