//! Differential property tests of the Avro encoder against `apache-avro`.
//!
//! Random schemas (nested records, enums, arrays, maps, unions with null,
//! fixed, decimal, date, timestamps, times, uuid) and random JSON events that
//! conform to them: our bytes must decode with `apache-avro` to the value the
//! JSON stands for, and equal `apache-avro`'s own encoding of that value
//! wherever it can encode it.

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use apache_avro::{Decimal, Schema};
use event_router::avro::{AvroSchema, JsonView};
use proptest::prelude::*;
use serde_json::{json, Value as Json};

#[derive(Debug, Clone)]
enum Shape {
    Null,
    Bool,
    Int,
    Long,
    Float,
    Double,
    Str,
    Bytes,
    Fixed(usize),
    Enum(usize),
    Date,
    TimestampMillis,
    TimestampMicros,
    LocalTimestampMillis,
    TimeMillis,
    TimeMicros,
    Uuid,
    DecimalBytes {
        precision: u32,
        scale: u32,
    },
    DecimalFixed {
        size: usize,
        precision: u32,
        scale: u32,
    },
    Array(Box<Shape>),
    Map(Box<Shape>),
    /// `["null", T]`.
    Nullable(Box<Shape>),
    /// Fields and whether each has a default.
    Record(Vec<(Shape, bool)>),
}

fn leaf() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Null),
        Just(Shape::Bool),
        Just(Shape::Int),
        Just(Shape::Long),
        Just(Shape::Float),
        Just(Shape::Double),
        Just(Shape::Str),
        Just(Shape::Bytes),
        (0usize..20).prop_map(Shape::Fixed),
        (1usize..6).prop_map(Shape::Enum),
        Just(Shape::Date),
        Just(Shape::TimestampMillis),
        Just(Shape::TimestampMicros),
        Just(Shape::LocalTimestampMillis),
        Just(Shape::TimeMillis),
        Just(Shape::TimeMicros),
        Just(Shape::Uuid),
        (1u32..19)
            .prop_flat_map(|p| (Just(p), 0..=p))
            .prop_map(|(precision, scale)| Shape::DecimalBytes { precision, scale }),
        (1usize..9)
            .prop_flat_map(|size| {
                let max = (((size * 8 - 1) as f64) * std::f64::consts::LOG10_2).floor() as u32;
                let max = max.clamp(1, 18);
                (Just(size), 1..=max).prop_flat_map(|(size, p)| (Just(size), Just(p), 0..=p))
            })
            .prop_map(|(size, precision, scale)| Shape::DecimalFixed {
                size,
                precision,
                scale
            }),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    leaf().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Shape::Array(Box::new(s))),
            inner.clone().prop_map(|s| Shape::Map(Box::new(s))),
            inner.clone().prop_map(|s| match s {
                Shape::Null | Shape::Nullable(_) => s,
                s => Shape::Nullable(Box::new(s)),
            }),
            prop::collection::vec((inner, any::<bool>()), 1..6).prop_map(Shape::Record),
        ]
    })
}

fn root_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => prop::collection::vec((shape(), any::<bool>()), 1..8).prop_map(Shape::Record),
        1 => shape(),
    ]
}

/// Whether a field of this shape gets a default (and which), if asked for.
fn default_of(shape: &Shape) -> Option<(Json, Avro)> {
    Some(match shape {
        Shape::Nullable(_) => (Json::Null, Avro::Union(0, Box::new(Avro::Null))),
        Shape::Null => (Json::Null, Avro::Null),
        Shape::Bool => (json!(true), Avro::Boolean(true)),
        Shape::Int => (json!(-7), Avro::Int(-7)),
        Shape::Long => (json!(1_i64 << 40), Avro::Long(1 << 40)),
        Shape::Double => (json!(2.5), Avro::Double(2.5)),
        Shape::Str => (json!("dflt"), Avro::String("dflt".into())),
        Shape::Enum(_) => (json!("S1"), Avro::Enum(1, "S1".into())),
        Shape::Array(_) => (json!([]), Avro::Array(vec![])),
        Shape::Map(_) => (json!({}), Avro::Map(HashMap::new())),
        _ => return None,
    })
}

struct Names(usize);

impl Names {
    fn next(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}{}", self.0)
    }
}

fn render(shape: &Shape, names: &mut Names) -> Json {
    match shape {
        Shape::Null => json!("null"),
        Shape::Bool => json!("boolean"),
        Shape::Int => json!("int"),
        Shape::Long => json!("long"),
        Shape::Float => json!("float"),
        Shape::Double => json!("double"),
        Shape::Str => json!("string"),
        Shape::Bytes => json!("bytes"),
        Shape::Fixed(size) => json!({"type": "fixed", "name": names.next("F"), "size": size}),
        Shape::Enum(n) => {
            let symbols: Vec<String> = (0..(*n).max(2)).map(|i| format!("S{i}")).collect();
            json!({"type": "enum", "name": names.next("E"), "symbols": symbols})
        }
        Shape::Date => json!({"type": "int", "logicalType": "date"}),
        Shape::TimestampMillis => json!({"type": "long", "logicalType": "timestamp-millis"}),
        Shape::TimestampMicros => json!({"type": "long", "logicalType": "timestamp-micros"}),
        Shape::LocalTimestampMillis => {
            json!({"type": "long", "logicalType": "local-timestamp-millis"})
        }
        Shape::TimeMillis => json!({"type": "int", "logicalType": "time-millis"}),
        Shape::TimeMicros => json!({"type": "long", "logicalType": "time-micros"}),
        Shape::Uuid => json!({"type": "string", "logicalType": "uuid"}),
        Shape::DecimalBytes { precision, scale } => {
            json!({"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale})
        }
        Shape::DecimalFixed {
            size,
            precision,
            scale,
        } => json!({
            "type": "fixed", "name": names.next("D"), "size": size,
            "logicalType": "decimal", "precision": precision, "scale": scale
        }),
        Shape::Array(items) => json!({"type": "array", "items": render(items, names)}),
        Shape::Map(values) => json!({"type": "map", "values": render(values, names)}),
        Shape::Nullable(inner) => json!(["null", render(inner, names)]),
        Shape::Record(fields) => {
            let name = names.next("R");
            let fields: Vec<Json> = fields
                .iter()
                .enumerate()
                .map(|(i, (shape, with_default))| {
                    let mut field = json!({"name": format!("f{i}"), "type": render(shape, names)});
                    if let (true, Some((default, _))) = (*with_default, default_of(shape)) {
                        field["default"] = default;
                    }
                    field
                })
                .collect();
            // A namespace on some records exercises name resolution.
            if name.ends_with('3') {
                json!({"type": "record", "name": name, "namespace": "com.example.ns", "fields": fields})
            } else {
                json!({"type": "record", "name": name, "fields": fields})
            }
        }
    }
}

/// SplitMix64: deterministic values from a proptest-chosen seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.below((hi - lo) as u64 + 1) as i64)
    }
}

/// 1970-01-01 + days as (year, month, day); independent of the parser's direction.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// RFC 3339 text for `units` since the epoch (unit = 10^-digits s), shown at `offset_min`.
fn rfc3339(units: i64, digits: u32, offset_min: Option<i64>) -> String {
    let per_sec = 10_i64.pow(digits);
    let shown = units + offset_min.unwrap_or(0) * 60 * per_sec;
    let secs = shown.div_euclid(per_sec);
    let frac = shown.rem_euclid(per_sec);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:0width$}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        width = digits as usize
    );
    match offset_min {
        None => {}
        Some(0) => s.push('Z'),
        Some(o) => s.push_str(&format!(
            "{}{:02}:{:02}",
            if o < 0 { '-' } else { '+' },
            o.abs() / 60,
            o.abs() % 60
        )),
    }
    s
}

fn minimal_be(v: i64) -> Vec<u8> {
    let full = v.to_be_bytes();
    let mut start = 0;
    while start + 1 < full.len()
        && ((full[start] == 0 && full[start + 1] & 0x80 == 0)
            || (full[start] == 0xFF && full[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    full[start..].to_vec()
}

fn decimal_text(unscaled: i64, scale: u32, extra_zeros: usize) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    let zeros = "0".repeat(extra_zeros);
    if scale == 0 && extra_zeros == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}{zeros}")
    }
}

const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '\n', '\u{1}', 'é', '€', '😀', '/', '\u{7f}',
];

/// A JSON event for `shape`, the Avro value it stands for, and whether it
/// holds no map with more than one entry (map order makes bytes differ).
fn value(shape: &Shape, rng: &mut Rng) -> (String, Avro, bool) {
    let one = |json: String, avro: Avro| (json, avro, true);
    match shape {
        Shape::Null => one("null".into(), Avro::Null),
        Shape::Bool => {
            let b = rng.chance(2);
            one(b.to_string(), Avro::Boolean(b))
        }
        Shape::Int => {
            let i = if rng.chance(4) {
                rng.next() as i32
            } else {
                rng.range(-200, 200) as i32
            };
            one(i.to_string(), Avro::Int(i))
        }
        Shape::Long => {
            let i = if rng.chance(3) {
                rng.next() as i64
            } else {
                rng.range(-70_000, 70_000)
            };
            one(i.to_string(), Avro::Long(i))
        }
        Shape::Float => {
            let f = if rng.chance(2) {
                f32::from_bits(rng.next() as u32)
            } else {
                rng.range(-1000, 1000) as f32 / 8.0
            };
            let f = if f.is_finite() { f } else { 0.5 };
            one(format!("{:?}", f64::from(f)), Avro::Float(f))
        }
        Shape::Double => {
            let f = if rng.chance(2) {
                f64::from_bits(rng.next())
            } else {
                rng.range(-1000, 1000) as f64 / 16.0
            };
            let f = if f.is_finite() { f } else { -0.25 };
            one(format!("{f:?}"), Avro::Double(f))
        }
        Shape::Str => {
            let s: String = (0..rng.below(12))
                .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize])
                .collect();
            one(
                serde_json::to_string(&s).unwrap_or_default(),
                Avro::String(s),
            )
        }
        Shape::Bytes => {
            if rng.chance(2) {
                let s: String = (0..rng.below(8))
                    .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize])
                    .collect();
                let bytes = s.as_bytes().to_vec();
                one(
                    serde_json::to_string(&s).unwrap_or_default(),
                    Avro::Bytes(bytes),
                )
            } else {
                let bytes: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                one(
                    serde_json::to_string(&bytes).unwrap_or_default(),
                    Avro::Bytes(bytes),
                )
            }
        }
        Shape::Fixed(size) => {
            let bytes: Vec<u8> = (0..*size).map(|_| rng.next() as u8).collect();
            one(
                serde_json::to_string(&bytes).unwrap_or_default(),
                Avro::Fixed(*size, bytes),
            )
        }
        Shape::Enum(n) => {
            let k = rng.below((*n).max(2) as u64) as u32;
            one(format!("\"S{k}\""), Avro::Enum(k, format!("S{k}")))
        }
        Shape::Date => {
            let d = rng.range(-719_000, 2_900_000);
            let json = if rng.chance(2) {
                let (y, m, dd) = civil_from_days(d);
                format!("\"{y:04}-{m:02}-{dd:02}\"")
            } else {
                d.to_string()
            };
            one(json, Avro::Date(d as i32))
        }
        Shape::TimestampMillis | Shape::TimestampMicros | Shape::LocalTimestampMillis => {
            let digits = if matches!(shape, Shape::TimestampMicros) {
                6
            } else {
                3
            };
            let per_sec = 10_i64.pow(digits);
            // Years 0001..9998.
            let t =
                rng.range(-62_000_000_000, 253_000_000_000) * per_sec + rng.range(0, per_sec - 1);
            let local = matches!(shape, Shape::LocalTimestampMillis);
            let json = if rng.chance(3) {
                t.to_string()
            } else if local {
                format!("\"{}\"", rfc3339(t, digits, None))
            } else {
                let offset = if rng.chance(2) {
                    0
                } else {
                    rng.range(-14 * 60, 14 * 60)
                };
                format!("\"{}\"", rfc3339(t, digits, Some(offset)))
            };
            let avro = match shape {
                Shape::TimestampMillis => Avro::TimestampMillis(t),
                Shape::TimestampMicros => Avro::TimestampMicros(t),
                _ => Avro::LocalTimestampMillis(t),
            };
            one(json, avro)
        }
        Shape::TimeMillis | Shape::TimeMicros => {
            let digits = if matches!(shape, Shape::TimeMicros) {
                6
            } else {
                3
            };
            let per_sec = 10_i64.pow(digits);
            let t = rng.range(0, 86_400 * per_sec - 1);
            let json = if rng.chance(2) {
                t.to_string()
            } else {
                let secs = t / per_sec;
                format!(
                    "\"{:02}:{:02}:{:02}.{:0width$}\"",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60,
                    t % per_sec,
                    width = digits as usize
                )
            };
            let avro = if digits == 3 {
                Avro::TimeMillis(t as i32)
            } else {
                Avro::TimeMicros(t)
            };
            one(json, avro)
        }
        Shape::Uuid => {
            let hex: String = (0..32).map(|_| format!("{:x}", rng.below(16))).collect();
            let text = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            // Decoded uuids are compared as text (see `comparable`).
            one(format!("\"{text}\""), Avro::String(text))
        }
        Shape::DecimalBytes { precision, scale }
        | Shape::DecimalFixed {
            precision, scale, ..
        } => {
            let bound = 10_i64.pow(*precision) - 1;
            let unscaled = if rng.chance(3) {
                bound * if rng.chance(2) { -1 } else { 1 }
            } else {
                rng.range(-bound, bound)
            };
            let json = if *precision <= 15 && rng.chance(2) {
                // As a JSON number: at most 15 digits survive f64 exactly.
                decimal_text(unscaled, *scale, 0)
            } else {
                format!(
                    "\"{}\"",
                    decimal_text(unscaled, *scale, rng.below(3) as usize)
                )
            };
            one(json, Avro::Decimal(Decimal::from(minimal_be(unscaled))))
        }
        Shape::Array(items) => {
            let mut parts = Vec::new();
            let mut values = Vec::new();
            let mut single = true;
            for _ in 0..rng.below(4) {
                let (j, v, s) = value(items, rng);
                parts.push(j);
                values.push(v);
                single &= s;
            }
            (
                format!("[{}]", parts.join(",")),
                Avro::Array(values),
                single,
            )
        }
        Shape::Map(values) => {
            let mut parts = Vec::new();
            let mut map = HashMap::new();
            let mut single = true;
            let n = rng.below(4);
            for i in 0..n {
                let key = format!("k{i}{}", CHARS[rng.below(CHARS.len() as u64) as usize]);
                let (j, v, s) = value(values, rng);
                parts.push(format!(
                    "{}:{j}",
                    serde_json::to_string(&key).unwrap_or_default()
                ));
                map.insert(key, v);
                single &= s;
            }
            (
                format!("{{{}}}", parts.join(",")),
                Avro::Map(map),
                single && n <= 1,
            )
        }
        Shape::Nullable(inner) => {
            if rng.chance(3) {
                one("null".into(), Avro::Union(0, Box::new(Avro::Null)))
            } else {
                let (j, v, s) = value(inner, rng);
                (j, Avro::Union(1, Box::new(v)), s)
            }
        }
        Shape::Record(fields) => {
            let mut parts = Vec::new();
            let mut values = Vec::new();
            let mut single = true;
            for (i, (shape, with_default)) in fields.iter().enumerate() {
                let name = format!("f{i}");
                let default = if *with_default {
                    default_of(shape)
                } else {
                    None
                };
                match default {
                    Some((_, avro)) if rng.chance(2) => values.push((name, avro)),
                    _ => {
                        let (j, v, s) = value(shape, rng);
                        parts.push(format!("\"{name}\":{j}"));
                        values.push((name, v));
                        single &= s;
                    }
                }
            }
            if rng.chance(3) {
                parts.push(r#""zz_extra":{"ignored":[1,2.5,"x"]}"#.into());
            }
            // Field order in the JSON does not matter.
            if rng.chance(2) {
                parts.reverse();
            }
            (
                format!("{{{}}}", parts.join(",")),
                Avro::Record(values),
                single,
            )
        }
    }
}

/// Maps decoded uuids to their text, as `value` writes them.
fn comparable(v: Avro) -> Avro {
    match v {
        Avro::Uuid(u) => Avro::String(u.to_string()),
        Avro::Union(i, inner) => Avro::Union(i, Box::new(comparable(*inner))),
        Avro::Array(items) => Avro::Array(items.into_iter().map(comparable).collect()),
        Avro::Map(map) => Avro::Map(map.into_iter().map(|(k, v)| (k, comparable(v))).collect()),
        Avro::Record(fields) => Avro::Record(
            fields
                .into_iter()
                .map(|(k, v)| (k, comparable(v)))
                .collect(),
        ),
        other => other,
    }
}

fn encode(schema: &AvroSchema, json: &str) -> Result<Vec<u8>, String> {
    let mut text = json.as_bytes().to_vec();
    let value = simd_json::to_borrowed_value(&mut text).map_err(|e| format!("test JSON: {e}"))?;
    let mut out = Vec::new();
    schema.encode(&value, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The same event through the scanner's view (`encode_view`); errors as text.
fn encode_view(schema: &AvroSchema, json: &str) -> Result<Vec<u8>, String> {
    let mut view = JsonView::new();
    view.parse(json.as_bytes())
        .map_err(|e| format!("test JSON: {e}"))?;
    let mut out = Vec::new();
    schema
        .encode_view(&view, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// JSON number text of every shape the grammar allows, including integers
/// beyond 64 bits, long mantissas and exponents that overflow.
///
/// An integer part of more than 19 digits comes only without a fraction or
/// exponent: with one, simd-json (the reference here) reads such a number
/// wrongly (`18500000000000000000e0` as about 5.3e16, its integer part
/// wrapped at 64 bits), while the view reads it right.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,18})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        "-?[1-9][0-9]{19,21}",
    ]
}

/// Scalar and container schemas a number (or a member holding one) meets.
const NUMBER_SCHEMAS: [&str; 10] = [
    r#""long""#,
    r#""int""#,
    r#""double""#,
    r#""float""#,
    r#"{"type":"bytes","logicalType":"decimal","precision":20,"scale":4}"#,
    r#"{"type":"fixed","name":"D","size":12,"logicalType":"decimal","precision":20,"scale":2}"#,
    r#"{"type":"long","logicalType":"timestamp-millis"}"#,
    r#"["null","long","double","string"]"#,
    r#"{"type":"map","values":["null","double","string"]}"#,
    r#"{"type":"array","items":["long","double"]}"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The view reads numbers, repeated keys and escapes as simd-json does:
    /// the same bytes, or an error from both. A number meeting a `decimal`
    /// is the exception: the view takes its digits as written, which is what
    /// simd-json gives for the same text in a string.
    #[test]
    fn view_and_simd_json_agree_on_numbers_and_keys(
        which in 0..NUMBER_SCHEMAS.len(),
        a in number_text(),
        b in number_text(),
        key in "[a-z\\\\\"\u{e9}\u{1F600}]{0,3}",
        shape in 0..4u8,
    ) {
        let field = NUMBER_SCHEMAS[which];
        let schema_json = format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{field}}},{{"name":"g","type":["null","double"],"default":null}}]}}"#);
        let schema = AvroSchema::compile(&schema_json).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let k = serde_json::to_string(&key).unwrap();
        let json = match shape {
            0 => format!(r#"{{"f":{a},"g":{b}}}"#),
            1 => format!(r#"{{"f":{a},"f":{b}}}"#),
            2 => format!(r#"{{"f":{{{k}:{a},"x":{b},{k}:"{a}"}}}}"#),
            _ => format!(r#"{{"f":[{a},{b}],"g":"{b}"}}"#),
        };
        let old = if field.contains("decimal") {
            let reference = match shape {
                0 => format!(r#"{{"f":"{a}","g":{b}}}"#),
                1 => format!(r#"{{"f":"{a}","f":{b}}}"#),
                _ => json.clone(),
            };
            encode(&schema, &reference)
        } else {
            encode(&schema, &json)
        };
        let new = encode_view(&schema, &json);
        match (&old, &new) {
            (Ok(o), Ok(n)) => prop_assert_eq!(o, n, "json {}", json),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "json {}: simd-json {:?}, view {:?}", json, old, new),
        }
    }

    /// Numbers simd-json misreads (an integer part beyond 64 bits with a
    /// fraction or exponent) are checked against Rust's own parser: a
    /// `double` gets the nearest `f64`, written little-endian.
    #[test]
    fn view_reads_long_mantissas_with_exponents_exactly(
        text in "-?[1-9][0-9]{19,24}(\\.[0-9]{1,8})?[eE][+-]?[0-9]{1,2}",
    ) {
        let schema = AvroSchema::compile(r#"{"type":"record","name":"R","fields":[{"name":"f","type":"double"}]}"#)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let expected: f64 = text.parse().unwrap();
        let got = encode_view(&schema, &format!(r#"{{"f":{text}}}"#));
        prop_assert_eq!(got, Ok(expected.to_le_bytes().to_vec()), "number {}", text);
    }

    #[test]
    fn decodes_to_the_value_the_json_stands_for(shape in root_shape(), seed in any::<u64>()) {
        let schema_json = render(&shape, &mut Names(0)).to_string();
        let ours = AvroSchema::compile(&schema_json).map_err(|e| TestCaseError::fail(format!("{e}: {schema_json}")))?;
        let reference = Schema::parse_str(&schema_json).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let mut rng = Rng(seed);
        for _ in 0..4 {
            let (json, expected, single_entry_maps) = value(&shape, &mut rng);
            let bytes = encode(&ours, &json).map_err(|e| TestCaseError::fail(format!("{e}\nschema {schema_json}\njson {json}")))?;
            // The scanner's view gives the same bytes as the simd-json value.
            prop_assert_eq!(encode_view(&ours, &json), Ok(bytes.clone()), "json {}", json);
            let mut reader = &bytes[..];
            let decoded = apache_avro::from_avro_datum(&reference, &mut reader, None)
                .map_err(|e| TestCaseError::fail(format!("reference decode: {e}\njson {json}")))?;
            prop_assert!(reader.is_empty(), "trailing bytes; json {}", json);
            prop_assert_eq!(comparable(decoded), expected.clone(), "json {}", json);
            if single_entry_maps {
                // apache-avro encodes only what it validates; where it does,
                // the bytes must be identical.
                if let Ok(theirs) = apache_avro::to_avro_datum(&reference, expected) {
                    prop_assert_eq!(&theirs, &bytes, "json {}", json);
                }
            }
        }
    }
}

#[test]
fn generator_reaches_byte_equality() {
    // Guard against the byte comparison silently never running.
    let schema = r#"{"type":"record","name":"R","fields":[{"name":"f0","type":"int"},{"name":"f1","type":["null","string"]}]}"#;
    let reference = Schema::parse_str(schema).unwrap();
    let expected = Avro::Record(vec![
        ("f0".into(), Avro::Int(-3)),
        (
            "f1".into(),
            Avro::Union(1, Box::new(Avro::String("é".into()))),
        ),
    ]);
    let theirs = apache_avro::to_avro_datum(&reference, expected).unwrap();
    let ours = encode(
        &AvroSchema::compile(schema).unwrap(),
        r#"{"f1":"é","f0":-3}"#,
    )
    .unwrap();
    assert_eq!(theirs, ours);
}

#[test]
fn rfc3339_helper_is_consistent() {
    assert_eq!(rfc3339(0, 3, Some(0)), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(-1, 3, Some(330)), "1970-01-01T05:29:59.999+05:30");
    assert_eq!(decimal_text(-5, 2, 1), "-0.050");
    assert_eq!(decimal_text(1234, 0, 0), "1234");
}
