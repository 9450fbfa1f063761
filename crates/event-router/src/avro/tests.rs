//! Table tests per type and logical type; `apache-avro` decodes our output.

use apache_avro::types::Value as Avro;
use apache_avro::{Decimal, Schema};
use simd_json::prelude::*;

use super::*;

/// The example schema of RudderStack's Kafka destination documentation,
/// verbatim (it writes nested records the goavro way).
const RUDDERSTACK_DOC_SCHEMA: &str = include_str!("../../tests/data/rudderstack_doc_schema.json");

/// The documentation's example event. The page shows a trailing comma after
/// `context.traits`, which is not JSON; it is removed here, nothing else.
const RUDDERSTACK_DOC_EVENT: &str = r#"{
  "event": "Product Added",
  "messageId": "4bb69e26-b5a6-446a-a140-dbb6263369c9",
  "type": "track",
  "anonymousId": "",
  "context": {
    "traits": {
      "email": "alex@example.com"
    }
  },
  "integrations": {
    "KAFKA": {
      "schemaId": "schema001"
    }
  },
  "originalTimestamp": "2022-06-22T12:31:19.002+05:30",
  "receivedAt": "2022-06-22T12:31:15.656+05:30",
  "request_ip": "[::1]",
  "sentAt": "2022-06-22T12:31:19.002+05:30",
  "timestamp": "2022-06-22T12:31:15.655+05:30"
}"#;

fn encode_str(schema: &AvroSchema, json: &str) -> Result<Vec<u8>, AvroError> {
    let mut text = json.as_bytes().to_vec();
    let value = simd_json::to_borrowed_value(&mut text).expect("test JSON parses");
    let mut out = Vec::new();
    schema.encode(&value, &mut out).map(|()| out)
}

fn enc(schema: &str, json: &str) -> Result<Vec<u8>, String> {
    encode_str(&AvroSchema::compile(schema).expect("schema compiles"), json)
        .map_err(|e| e.to_string())
}

/// Encodes with ours, decodes with apache-avro.
fn roundtrip(schema: &str, json: &str) -> Avro {
    let compiled = AvroSchema::compile(schema).expect("schema compiles");
    let bytes = encode_str(&compiled, json).expect("encodes");
    let reference = Schema::parse_str(compiled.normalized_json()).expect("reference parses");
    let mut reader = &bytes[..];
    let value =
        apache_avro::from_avro_datum(&reference, &mut reader, None).expect("reference decodes");
    assert!(reader.is_empty(), "trailing bytes after datum");
    value
}

fn err(schema: &str, json: &str) -> String {
    enc(schema, json).expect_err("must fail")
}

#[test]
fn primitives_table() {
    let ok: &[(&str, &str, &[u8])] = &[
        (r#""null""#, "null", &[]),
        (r#""boolean""#, "true", &[1]),
        (r#""boolean""#, "false", &[0]),
        (r#""int""#, "0", &[0]),
        (r#""int""#, "-1", &[1]),
        (r#""int""#, "1", &[2]),
        (r#""int""#, "64", &[0x80, 0x01]),
        (r#""int""#, "2147483647", &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F]),
        (r#""int""#, "-2147483648", &[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (r#""int""#, "3.0", &[6]),
        (
            r#""long""#,
            "9223372036854775807",
            &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
        ),
        (
            r#""long""#,
            "-9223372036854775808",
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
        ),
        (r#""float""#, "1.5", &[0, 0, 0xC0, 0x3F]),
        (r#""float""#, "2", &[0, 0, 0, 0x40]),
        (r#""double""#, "1.5", &[0, 0, 0, 0, 0, 0, 0xF8, 0x3F]),
        (
            r#""double""#,
            r#""-Infinity""#,
            &[0, 0, 0, 0, 0, 0, 0xF0, 0xFF],
        ),
        (
            r#""string""#,
            r#""héllo""#,
            &[12, b'h', 0xC3, 0xA9, b'l', b'l', b'o'],
        ),
        (r#""string""#, r#""""#, &[0]),
        (r#""bytes""#, r#""ab""#, &[4, b'a', b'b']),
        (r#""bytes""#, "[0, 255]", &[4, 0, 255]),
        (r#"{"type":"fixed","name":"F","size":2}"#, r#""ab""#, b"ab"),
        (r#"{"type":"fixed","name":"F","size":2}"#, "[1, 2]", &[1, 2]),
        (
            r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#,
            r#""C""#,
            &[4],
        ),
        (r#"{"type":"array","items":"int"}"#, "[]", &[0]),
        (r#"{"type":"array","items":"int"}"#, "[1,2]", &[4, 2, 4, 0]),
        (r#"{"type":"map","values":"int"}"#, "{}", &[0]),
        (
            r#"{"type":"map","values":"int"}"#,
            r#"{"a":1}"#,
            &[2, 2, b'a', 2, 0],
        ),
        (r#"["null","string"]"#, "null", &[0]),
        (r#"["null","string"]"#, r#""x""#, &[2, 2, b'x']),
    ];
    for (schema, json, bytes) in ok {
        assert_eq!(enc(schema, json).as_deref(), Ok(*bytes), "{schema} {json}");
    }
    let bad: &[(&str, &str, &str)] = &[
        (r#""null""#, "0", "expected null, found JSON integer"),
        (r#""boolean""#, "1", "expected boolean"),
        (r#""int""#, "2147483648", "out of range for int"),
        (r#""int""#, "1.5", "not an integer"),
        (r#""int""#, r#""1""#, "expected int, found JSON string"),
        (r#""long""#, "9223372036854775808", "out of range for long"),
        (r#""float""#, "1e300", "out of range for float"),
        (r#""string""#, "1", "expected string"),
        (r#""bytes""#, "[256]", "0..=255"),
        (
            r#"{"type":"fixed","name":"F","size":2}"#,
            r#""abc""#,
            "fixed size is 2",
        ),
        (
            r#"{"type":"enum","name":"E","symbols":["A"]}"#,
            r#""Z""#,
            "`Z` is not a symbol",
        ),
        (
            r#"{"type":"array","items":"int"}"#,
            "[1,\"x\"]",
            "`[1]`: expected int",
        ),
        (
            r#"{"type":"map","values":"int"}"#,
            r#"{"k":true}"#,
            r#"`["k"]`: expected int"#,
        ),
        (
            r#"["null","int"]"#,
            r#""x""#,
            r#"no branch of union ["null","int"] accepts JSON string"#,
        ),
    ];
    for (schema, json, message) in bad {
        let e = err(schema, json);
        assert!(e.contains(message), "{schema} {json}: {e}");
    }
}

#[test]
fn records_defaults_and_paths() {
    let schema = r#"{"type":"record","name":"Event","fields":[
        {"name":"event","type":"string"},
        {"name":"properties","type":{"type":"record","name":"Props","fields":[
            {"name":"price","type":"double"},
            {"name":"currency","type":"string","default":"USD"},
            {"name":"qty","type":"int","default":1}
        ]}}
    ]}"#;
    // Extra fields are ignored; absent fields take defaults; null for a
    // non-nullable field with a default takes the default.
    let value = roundtrip(
        schema,
        r#"{"event":"Buy","extra":[1,2],"properties":{"price":9.5,"qty":null,"other":{}}}"#,
    );
    assert_eq!(
        value,
        Avro::Record(vec![
            ("event".into(), Avro::String("Buy".into())),
            (
                "properties".into(),
                Avro::Record(vec![
                    ("price".into(), Avro::Double(9.5)),
                    ("currency".into(), Avro::String("USD".into())),
                    ("qty".into(), Avro::Int(1)),
                ])
            ),
        ])
    );
    let compiled = AvroSchema::compile(schema).unwrap();
    let e = encode_str(
        &compiled,
        r#"{"event":"Buy","properties":{"currency":"EUR"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`properties.price`: missing field with no default in the schema"
    );
    assert_eq!(
        e.path().map(ToString::to_string).as_deref(),
        Some("properties.price")
    );
    let e = err(schema, r#"{"event":"Buy","properties":{"price":"cheap"}}"#);
    assert!(e.starts_with("`properties.price`: expected double"), "{e}");
    let e = err(schema, r#"{"event":"Buy","properties":{"price":null}}"#);
    assert!(e.contains("`properties.price`"), "{e}");
}

#[test]
fn nested_paths_through_arrays_and_maps() {
    let schema = r#"{"type":"record","name":"R","fields":[
        {"name":"products","type":{"type":"array","items":{"type":"record","name":"P","fields":[
            {"name":"sku","type":"string"},
            {"name":"attrs","type":{"type":"map","values":"long"},"default":{}}
        ]}}}
    ]}"#;
    let e = err(schema, r#"{"products":[{"sku":"a"},{"no":"sku"}]}"#);
    assert!(e.starts_with("`products[1].sku`: missing field"), "{e}");
    let e = err(schema, r#"{"products":[{"sku":"a","attrs":{"w":1.5}}]}"#);
    assert!(e.starts_with(r#"`products[0].attrs["w"]`"#), "{e}");
}

#[test]
fn unions_pick_the_first_fitting_branch() {
    let schema = r#"["null","int","long","double","string",
        {"type":"record","name":"A","fields":[{"name":"a","type":"int"}]},
        {"type":"record","name":"B","fields":[{"name":"b","type":"int"}]},
        {"type":"array","items":"string"}]"#;
    let cases: &[(&str, u32)] = &[
        ("null", 0),
        ("1", 1),
        ("4294967296", 2),
        ("1.5", 3),
        (r#""s""#, 4),
        (r#"{"a":1}"#, 5),
        (r#"{"b":1}"#, 6),
        (r#"{"b":1,"a":2}"#, 5),
        (r#"["x"]"#, 7),
    ];
    for (json, branch) in cases {
        match roundtrip(schema, json) {
            Avro::Union(index, _) => assert_eq!(index, *branch, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    // No record has all its fields: the error of the first record branch.
    let e = err(schema, r#"{"c":1}"#);
    assert!(e.starts_with("`a`: missing field"), "{e}");
    let e = err(schema, "true");
    assert!(e.contains("no branch of union"), "{e}");
}

#[test]
fn unions_accept_the_avro_json_form() {
    let schema = r#"{"type":"record","name":"R","namespace":"ns","fields":[
        {"name":"u","type":["null","string","long",{"type":"fixed","name":"Id","size":2}]},
        {"name":"m","type":["null",{"type":"map","values":"string"}]}
    ]}"#;
    let value = roundtrip(schema, r#"{"u":{"long":5},"m":{"string":"not a branch"}}"#);
    let Avro::Record(fields) = value else {
        panic!()
    };
    assert_eq!(fields[0].1, Avro::Union(2, Box::new(Avro::Long(5))));
    // With a map branch the object is data, never the wrapped form.
    let Avro::Union(1, inner) = &fields[1].1 else {
        panic!("{:?}", fields[1])
    };
    assert!(matches!(&**inner, Avro::Map(m) if m.len() == 1));
    let value = roundtrip(schema, r#"{"u":{"ns.Id":"ab"},"m":null}"#);
    let Avro::Record(fields) = value else {
        panic!()
    };
    assert_eq!(
        fields[0].1,
        Avro::Union(3, Box::new(Avro::Fixed(2, b"ab".to_vec())))
    );
    let value = roundtrip(schema, r#"{"u":{"Id":"cd"},"m":null}"#);
    let Avro::Record(fields) = value else {
        panic!()
    };
    assert_eq!(
        fields[0].1,
        Avro::Union(3, Box::new(Avro::Fixed(2, b"cd".to_vec())))
    );
    // A record branch with a field of that name takes the object as data.
    let schema = r#"["null",{"type":"record","name":"long","namespace":"x","fields":[{"name":"long","type":"int"}]}]"#;
    assert_eq!(enc(schema, r#"{"long":3}"#), Ok(vec![2, 6]));
}

#[test]
fn logical_dates_and_times() {
    let date = r#"{"type":"int","logicalType":"date"}"#;
    assert_eq!(roundtrip(date, r#""2024-02-29""#), Avro::Date(19_782));
    assert_eq!(roundtrip(date, "-5"), Avro::Date(-5));
    assert!(err(date, r#""2024-02-30""#).contains("not a YYYY-MM-DD date"));
    let ts = r#"{"type":"long","logicalType":"timestamp-millis"}"#;
    assert_eq!(
        roundtrip(ts, r#""2022-06-22T12:31:19.002+05:30""#),
        Avro::TimestampMillis(1_655_881_279_002)
    );
    assert_eq!(
        roundtrip(ts, "1655881279002"),
        Avro::TimestampMillis(1_655_881_279_002)
    );
    assert_eq!(
        roundtrip(ts, r#""1969-12-31T23:59:59.9999Z""#),
        Avro::TimestampMillis(-1)
    );
    assert!(err(ts, r#""yesterday""#).contains("not an RFC 3339 timestamp"));
    assert!(err(ts, "true").contains("expected timestamp in milliseconds"));
    let micros = r#"{"type":"long","logicalType":"timestamp-micros"}"#;
    assert_eq!(
        roundtrip(micros, r#""2022-01-20T13:39:21.032123Z""#),
        Avro::TimestampMicros(1_642_685_961_032_123)
    );
    let nanos = r#"{"type":"long","logicalType":"timestamp-nanos"}"#;
    assert_eq!(
        roundtrip(nanos, r#""2022-01-20T13:39:21.032123456Z""#),
        Avro::TimestampNanos(1_642_685_961_032_123_456)
    );
    let local = r#"{"type":"long","logicalType":"local-timestamp-millis"}"#;
    assert_eq!(
        roundtrip(local, r#""2022-06-22T12:31:19.002+05:30""#),
        Avro::LocalTimestampMillis(1_655_901_079_002)
    );
    let local_us = r#"{"type":"long","logicalType":"local-timestamp-micros"}"#;
    assert_eq!(
        roundtrip(local_us, r#""1970-01-01T00:00:01""#),
        Avro::LocalTimestampMicros(1_000_000)
    );
    let tm = r#"{"type":"int","logicalType":"time-millis"}"#;
    assert_eq!(
        roundtrip(tm, r#""01:00:00.5""#),
        Avro::TimeMillis(3_600_500)
    );
    let tu = r#"{"type":"long","logicalType":"time-micros"}"#;
    assert_eq!(
        roundtrip(tu, r#""00:00:01.000002""#),
        Avro::TimeMicros(1_000_002)
    );
    assert_eq!(roundtrip(tu, "7"), Avro::TimeMicros(7));
}

#[test]
fn logical_uuid() {
    let uuid = r#"{"type":"string","logicalType":"uuid"}"#;
    let text = "4bb69e26-b5a6-446a-a140-dbb6263369c9";
    match roundtrip(uuid, &format!("{text:?}")) {
        Avro::Uuid(u) => assert_eq!(u.to_string(), text),
        other => panic!("{other:?}"),
    }
    assert!(err(uuid, r#""4bb69e26""#).contains("is not a UUID"));
    assert!(err(uuid, "5").contains("expected uuid"));
    // On fixed(16) the 16 bytes are written. (apache-avro 0.21 decodes uuid
    // as length-prefixed bytes even on fixed, so it is not the reference here.)
    let fixed = r#"{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}"#;
    let bytes = enc(fixed, &format!("{text:?}")).unwrap();
    assert_eq!(bytes.len(), 16);
    assert_eq!(&bytes[..4], &[0x4b, 0xb6, 0x9e, 0x26]);
}

#[test]
fn logical_decimal() {
    let schema = r#"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#;
    let cases: &[(&str, i64)] = &[
        ("19.99", 1999),
        (r#""19.99""#, 1999),
        ("25", 2500),
        ("25.0", 2500),
        (r#""-0.01""#, -1),
        (r#""1234.5""#, 123_450),
        ("0.1", 10),
        ("1.005e2", 10_050),
        (r#""-9999.99""#, -999_999),
    ];
    for (json, unscaled) in cases {
        let bytes = enc(schema, json).unwrap();
        let expected = Decimal::from(minimal_be(*unscaled));
        assert_eq!(roundtrip(schema, json), Avro::Decimal(expected), "{json}");
        // Length-prefixed minimal two's complement.
        assert_eq!(usize::from(bytes[0]) / 2, bytes.len() - 1, "{json}");
    }
    assert!(err(schema, "19.999").contains("more fractional digits than scale 2"));
    assert!(err(schema, r#""10000.00""#).contains("exceeds precision 6"));
    assert!(err(schema, r#""1,5""#).contains("is not a decimal number"));
    assert!(err(schema, "true").contains("expected decimal"));
    let fixed =
        r#"{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9,"scale":3}"#;
    assert_eq!(enc(fixed, r#""-0.001""#), Ok(vec![0xFF, 0xFF, 0xFF, 0xFF]));
    assert_eq!(enc(fixed, "1"), Ok(vec![0, 0, 0x03, 0xE8]));
    assert_eq!(
        roundtrip(fixed, r#""-123.456""#),
        Avro::Decimal(Decimal::from(minimal_be(-123_456)))
    );
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

#[test]
fn logical_duration() {
    let schema = r#"{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}"#;
    assert_eq!(
        enc(schema, r#"{"months":1,"days":2,"millis":3}"#),
        Ok(vec![1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])
    );
    assert_eq!(
        enc(schema, "[1,2,3]"),
        Ok(vec![1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])
    );
    assert!(err(schema, "[1,2,-3]").contains("duration parts"));
}

#[test]
fn names_namespaces_and_recursion() {
    let schema = r#"{"type":"record","name":"Node","namespace":"a.b","fields":[
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["LEAF","BRANCH"]}},
        {"name":"again","type":"Kind"},
        {"name":"full","type":"a.b.Kind"},
        {"name":"other","type":{"type":"fixed","name":"x.Id","size":1}},
        {"name":"otherRef","type":"x.Id"},
        {"name":"next","type":["null","Node"],"default":null}
    ]}"#;
    let value = roundtrip(
        schema,
        r#"{"kind":"BRANCH","again":"LEAF","full":"LEAF","other":"a","otherRef":"b",
            "next":{"kind":"LEAF","again":"LEAF","full":"LEAF","other":"c","otherRef":"d"}}"#,
    );
    let Avro::Record(fields) = value else {
        panic!()
    };
    assert_eq!(fields[0].1, Avro::Enum(1, "BRANCH".into()));
    let Avro::Union(1, inner) = &fields[5].1 else {
        panic!("{:?}", fields[5])
    };
    let Avro::Record(inner) = &**inner else {
        panic!()
    };
    assert_eq!(inner[5].1, Avro::Union(0, Box::new(Avro::Null)));
    // `Id` is in namespace `x`, not `a.b`.
    let bad = schema.replace(r#""type":"x.Id"}"#, r#""type":"Id"}"#);
    let e = AvroSchema::compile(&bad).unwrap_err().to_string();
    assert!(
        e.contains("`otherRef`") && e.contains("unknown type `Id`"),
        "{e}"
    );
}

#[test]
fn deep_recursive_values_stop_at_the_limit() {
    let schema = r#"{"type":"record","name":"L","fields":[{"name":"n","type":["null","L"]}]}"#;
    let nested = |depth: usize| {
        let mut json = r#"{"n":"#.repeat(depth);
        json.push_str("null");
        json.push_str(&"}".repeat(depth));
        json
    };
    // Just under the limit encodes (also in a debug build on a test thread's stack).
    let bytes = enc(schema, &nested(encode::MAX_DEPTH - 1)).unwrap();
    assert_eq!(bytes.len(), encode::MAX_DEPTH - 1);
    let e = err(schema, &nested(encode::MAX_DEPTH + 1));
    assert!(e.contains("nests deeper than 64"), "{e}");
    assert!(e.starts_with("`n.n.n."), "{e}");
    assert!(err(schema, &nested(1000)).contains("nests deeper"));
}

#[test]
fn schema_errors_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"type":"record","name":"R","fields":[{"name":"ctx","type":{"type":"record","name":"C","fields":[{"name":"t","type":"nope"}]}}]}"#,
            "`ctx.t`",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"n","type":"int","default":"x"}]}"#,
            "`n`: default value does not match",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"n","type":["int","null"]},{"name":"n","type":"int"}]}"#,
            "appears twice",
        ),
        (r#"["int",["null"]]"#, "may not contain a union"),
        (r#"{"type":"enum","name":"E","symbols":["A","A"]}"#, "twice"),
        (
            r#"{"type":"record","name":"1bad","fields":[]}"#,
            "invalid name `1bad`",
        ),
        (
            r#"{"type":"fixed","name":"F","namespace":"a..b","size":1}"#,
            "invalid namespace `a..b`",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#,
            "Avro specification",
        ),
        (
            r#"{"type":"bytes","logicalType":"big-decimal"}"#,
            "big-decimal",
        ),
        (r#"{"type":"record","name":"R""#, "not valid JSON"),
    ];
    for (schema, message) in cases {
        let e = AvroSchema::compile(schema).expect_err(schema).to_string();
        assert!(e.contains(message), "{schema}: {e}");
    }
}

#[test]
fn defaults_of_every_kind() {
    let schema = r#"{"type":"record","name":"R","fields":[
        {"name":"b","type":"bytes","default":"\u00ff\u0000"},
        {"name":"f","type":{"type":"fixed","name":"F","size":2},"default":"ab"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]},"default":"Y"},
        {"name":"a","type":{"type":"array","items":"int"},"default":[1]},
        {"name":"m","type":{"type":"map","values":"string"},"default":{"k":"v"}},
        {"name":"u","type":["null","int"],"default":null},
        {"name":"r","type":{"type":"record","name":"In","fields":[
            {"name":"x","type":"int","default":7},{"name":"y","type":"string"}]},
         "default":{"y":"z"}}
    ]}"#;
    assert_eq!(
        enc(schema, "{}"),
        Ok(vec![
            4, 0xFF, 0, // bytes
            b'a', b'b', // fixed
            2,    // enum Y
            2, 2, 0, // array [1]
            2, 2, b'k', 2, b'v', 0, // map
            0, // union null
            14, 2, b'z', // record In {x: 7, y: "z"}
        ])
    );
}

#[test]
fn rudderstack_doc_example_loads_and_names_missing_fields() {
    // Decision: the goavro-style inline records load (as RudderStack's own
    // goavro-based destination does), each nested record named after its field.
    let schema = AvroSchema::compile(RUDDERSTACK_DOC_SCHEMA).expect("doc schema loads");
    let normalized = Schema::parse_str(schema.normalized_json()).expect("standard Avro");
    let Schema::Record(root) = &normalized else {
        panic!()
    };
    assert_eq!(root.name.fullname(None), "com.acme.avro.RudderStackEvent");
    let context = &root.fields[10];
    assert_eq!(context.name, "context");
    let Schema::Record(context_record) = &context.schema else {
        panic!("{:?}", context.schema)
    };
    assert_eq!(context_record.name.fullname(None), "com.acme.avro.context");

    // The example event lacks `rudderId` (which RudderStack adds server-side)
    // and `context.ip`; neither has a default, so encoding names the field.
    let e = encode_str(&schema, RUDDERSTACK_DOC_EVENT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`rudderId`: missing field with no default in the schema"
    );
    let with_id = RUDDERSTACK_DOC_EVENT.replacen('{', r#"{"rudderId": "r-1","#, 1);
    let e = encode_str(&schema, &with_id).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`context.ip`: missing field with no default in the schema"
    );

    let complete = with_id.replacen(r#""traits""#, r#""ip": "[::1]", "traits""#, 1);
    let bytes = encode_str(&schema, &complete).expect("complete event encodes");
    let decoded = apache_avro::from_avro_datum(&normalized, &mut &bytes[..], None).unwrap();
    let s = |v: &str| Avro::String(v.into());
    assert_eq!(
        decoded,
        Avro::Record(vec![
            ("anonymousId".into(), s("")),
            ("event".into(), s("Product Added")),
            (
                "messageId".into(),
                s("4bb69e26-b5a6-446a-a140-dbb6263369c9")
            ),
            (
                "originalTimestamp".into(),
                s("2022-06-22T12:31:19.002+05:30")
            ),
            ("receivedAt".into(), s("2022-06-22T12:31:15.656+05:30")),
            ("request_ip".into(), s("[::1]")),
            ("rudderId".into(), s("r-1")),
            ("sentAt".into(), s("2022-06-22T12:31:19.002+05:30")),
            ("timestamp".into(), s("2022-06-22T12:31:15.655+05:30")),
            ("type".into(), s("track")),
            (
                "context".into(),
                Avro::Record(vec![
                    (
                        "traits".into(),
                        Avro::Record(vec![("email".into(), s("alex@example.com"))])
                    ),
                    ("ip".into(), s("[::1]")),
                ])
            ),
            (
                "integrations".into(),
                Avro::Record(vec![(
                    "KAFKA".into(),
                    Avro::Record(vec![("schemaId".into(), s("schema001"))])
                )])
            ),
        ])
    );
}

#[test]
fn example_track_event_matches_the_reference() {
    let value = roundtrip(example::TRACK_SCHEMA, example::TRACK_EVENT);
    let Avro::Record(fields) = value else {
        panic!()
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("type"), Some(Avro::Enum(0, "track".into())));
    assert_eq!(
        get("timestamp"),
        Some(Avro::TimestampMillis(1_709_641_875_655))
    );
    assert_eq!(
        get("sentAt"),
        Some(Avro::Union(
            1,
            Box::new(Avro::TimestampMillis(1_709_622_079_002))
        ))
    );
    let Some(Avro::Record(props)) = get("properties") else {
        panic!()
    };
    assert_eq!(props[1].1, Avro::Decimal(Decimal::from(minimal_be(2500))));
    let Avro::Array(products) = &props[4].1 else {
        panic!()
    };
    let Avro::Record(first) = &products[0] else {
        panic!()
    };
    assert_eq!(first[2].1, Avro::Decimal(Decimal::from(minimal_be(1999))));
    // Compact, as SDKs send it.
    let mut text = example::TRACK_EVENT.as_bytes().to_vec();
    let len = simd_json::to_borrowed_value(&mut text)
        .unwrap()
        .encode()
        .len();
    assert!((500..=800).contains(&len), "example event is {len} bytes");
}

#[test]
fn encode_appends_and_header_precedes() {
    let schema = AvroSchema::compile(r#""string""#).unwrap();
    let mut out = Vec::new();
    confluent_header(0x0102_0304, &mut out);
    assert_eq!(out, [0, 1, 2, 3, 4]);
    let mut text = br#""ok""#.to_vec();
    let value = simd_json::to_borrowed_value(&mut text).unwrap();
    schema.encode(&value, &mut out).unwrap();
    assert_eq!(out, [0, 1, 2, 3, 4, 4, b'o', b'k']);
}

#[test]
fn compiled_schema_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + std::fmt::Debug>() {}
    assert_send_sync::<AvroSchema>();
    assert_send_sync::<AvroError>();
}

fn enc_view(schema: &str, json: &str) -> Result<Vec<u8>, String> {
    let compiled = AvroSchema::compile(schema).expect("schema compiles");
    let mut view = JsonView::new();
    view.parse(json.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    compiled
        .encode_view(&view, &mut out)
        .map(|()| out)
        .map_err(|e| e.to_string())
}

#[test]
fn decimal_numbers_are_read_from_their_text() {
    let schema = r#"{"type":"bytes","logicalType":"decimal","precision":30,"scale":4}"#;
    // Each number, through the view, encodes as its text in a string does.
    let exact = [
        "19.99",
        "-19.99",
        "0.0001",
        "-0.0001",
        "0.00010000",
        "1.005e2",
        "1.005E+2",
        "12345e-4",
        "-12345E-4",
        "0e5",
        "-0.0",
        "25",
        "-25",
        "0",
        "18446744073709551615",
        "-9223372036854775808",
        // 26 significant digits: beyond what f64 keeps.
        "12345678901234567890123456e-4",
        "1234567890123456789012.3456",
        "-1234567890123456789012.3456",
        "0.30000000000000000000e1",
    ];
    for number in exact {
        let quoted = format!("\"{number}\"");
        assert_eq!(enc_view(schema, number), enc(schema, &quoted), "{number}");
        assert!(enc_view(schema, number).is_ok(), "{number}");
    }
    // The f64 of 1234567890123456789012.3456 has other digits: the view
    // keeps the written ones.
    let mut reader = &enc_view(schema, "1234567890123456789012.3456").unwrap()[..];
    let reference = Schema::parse_str(schema).unwrap();
    let decoded = apache_avro::from_avro_datum(&reference, &mut reader, None).unwrap();
    let unscaled: i128 = 12_345_678_901_234_567_890_123_456;
    let bytes = unscaled.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap();
    let minimal = if bytes[first] & 0x80 != 0 {
        bytes[first - 1..].to_vec()
    } else {
        bytes[first..].to_vec()
    };
    assert_eq!(decoded, Avro::Decimal(Decimal::from(minimal)));

    // Digits the scale cannot hold, and values beyond the precision, are
    // rejected rather than rounded.
    let small = r#"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#;
    for (number, reason) in [
        ("19.999", "more fractional digits than scale 2"),
        ("0.30000000000000001", "more fractional digits than scale 2"),
        ("1e-3", "more fractional digits than scale 2"),
        ("-1.0001e1", "more fractional digits than scale 2"),
        ("10000.00", "exceeds precision 6"),
        ("1e4", "exceeds precision 6"),
        ("-12345678", "exceeds precision 6"),
        ("1e300", "exceeds precision 6"),
        (
            "0.30000000000000000001e1",
            "more fractional digits than scale 2",
        ),
    ] {
        let e = enc_view(small, number).expect_err(number);
        assert!(e.contains(reason), "{number}: {e}");
    }
    assert_eq!(enc_view(small, "1.000e2"), enc(small, "100"));
    assert_eq!(enc_view(small, "9999.99"), enc(small, r#""9999.99""#));
    // An exponent of more digits than the text reader takes goes through f64.
    assert_eq!(enc_view(small, "1e0000001"), enc(small, "10"));
    // Numbers beyond f64 are not JSON for the view, as for simd-json.
    assert!(enc_view(small, "1e400").unwrap_err().contains("not JSON"));
    assert!(enc_view(small, "-1e400").unwrap_err().contains("not JSON"));

    let fixed =
        r#"{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9,"scale":3}"#;
    assert_eq!(enc_view(fixed, "-0.001"), Ok(vec![0xFF, 0xFF, 0xFF, 0xFF]));
    assert_eq!(enc_view(fixed, "1e0"), Ok(vec![0, 0, 0x03, 0xE8]));
}

#[test]
fn floats_in_the_view_read_as_simd_json_reads_them() {
    for (schema, number) in [
        (r#""double""#, "0.1"),
        (r#""double""#, "-1.5e-300"),
        (r#""double""#, "1.7976931348623157e308"),
        (r#""double""#, "123456789012345678901234567890.5"),
        (r#""float""#, "3.25"),
        (r#""long""#, "4.0e1"),
        (r#""int""#, "-2.5e0"),
        (r#"["null","long","double"]"#, "2.5"),
        (r#"["null","long","double"]"#, "2.0"),
        (
            r#"{"type":"long","logicalType":"timestamp-millis"}"#,
            "1.5e3",
        ),
    ] {
        assert_eq!(
            enc_view(schema, number),
            enc(schema, number),
            "{schema} {number}"
        );
    }
    assert!(enc_view(r#""double""#, "1.8e308")
        .unwrap_err()
        .contains("not JSON"));
    assert!(enc_view(r#""double""#, "0.000000001e309").is_ok());
}

#[test]
fn records_match_members_to_fields_by_name() {
    // More fields than one pass handles, fields whose names share length
    // and ends, repeated keys (the first wins) and keys that are no field.
    let mut fields = Vec::new();
    let mut members = Vec::new();
    for i in 0..40 {
        fields.push(format!(r#"{{"name":"f{i:02}x","type":"long"}}"#));
        members.push(format!(r#""f{i:02}x":{i}"#));
    }
    let wide = format!(
        r#"{{"type":"record","name":"W","fields":[{}]}}"#,
        fields.join(",")
    );
    members.reverse();
    members.push(r#""f00x":99"#.into());
    members.push(r#""other":1"#.into());
    let json = format!("{{{}}}", members.join(","));
    assert_eq!(enc_view(&wide, &json), enc(&wide, &json));

    let narrow_fields: Vec<String> = fields[..20].to_vec();
    let narrow = format!(
        r#"{{"type":"record","name":"N","fields":[{}]}}"#,
        narrow_fields.join(",")
    );
    let expected: Vec<u8> = (0..20).flat_map(|i: i64| vec![(i * 2) as u8]).collect();
    let mut json = format!("{{{}}}", members.join(","));
    assert_eq!(enc_view(&narrow, &json), Ok(expected.clone()));
    assert_eq!(enc(&narrow, &json), Ok(expected));
    json = r#"{"f00x":1,"f00x":2,"f01x":3,"f02x":4,"f03x":5,"f04x":6,"f05x":7,"f06x":8,"f07x":9,"f08x":10,"f09x":11,"f10x":12,"f11x":13,"f12x":14,"f13x":15,"f14x":16,"f15x":17,"f16x":18,"f17x":19,"f18x":20}"#.into();
    let e = enc_view(&narrow, &json).unwrap_err();
    assert!(e.contains("f19x"), "{e}");
    // Escaped keys are matched by their decoded text.
    let one = r#"{"type":"record","name":"O","fields":[{"name":"ab","type":"long"}]}"#;
    assert_eq!(enc_view(one, r#"{"a\u0062":3}"#), Ok(vec![6]));
}

#[test]
fn records_match_members_in_schema_order_and_out_of_it() {
    let schema = r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"long"},
        {"name":"bb","type":"long","default":7},
        {"name":"cc","type":"long"},
        {"name":"dd","type":["null","string"],"default":null}]}"#;
    let cases = [
        // Schema order, all present.
        (
            r#"{"a":1,"bb":2,"cc":3,"dd":"x"}"#,
            vec![2, 4, 6, 2, 2, b'x'],
        ),
        // Schema order with a member missing and members that are no field.
        (
            r#"{"z":0,"a":1,"cc":3,"zz":9,"dd":null}"#,
            vec![2, 14, 6, 0],
        ),
        // Out of order.
        (
            r#"{"dd":"y","cc":3,"bb":2,"a":1}"#,
            vec![2, 4, 6, 2, 2, b'y'],
        ),
        // A repeated member after its turn: the first wins.
        (r#"{"a":1,"bb":2,"a":5,"cc":3}"#, vec![2, 4, 6, 0]),
        (r#"{"a":1,"a":5,"bb":2,"cc":3,"bb":8}"#, vec![2, 4, 6, 0]),
        // An escaped key in its schema position, and one out of it.
        (r#"{"a":1,"\u0062b":2,"cc":3}"#, vec![2, 4, 6, 0]),
        (r#"{"c\u0063":3,"a":1}"#, vec![2, 14, 6, 0]),
        // A key that is a prefix or an extension of the expected name.
        (r#"{"a":1,"b":4,"bbb":5,"cc":3}"#, vec![2, 14, 6, 0]),
    ];
    for (json, expected) in cases {
        assert_eq!(enc_view(schema, json), Ok(expected.clone()), "{json}");
        assert_eq!(enc(schema, json), Ok(expected), "{json}");
    }
    let e = enc_view(schema, r#"{"a":1,"bb":2,"dd":null}"#).unwrap_err();
    assert!(e.contains("cc"), "{e}");
}

#[test]
fn timestamps_with_an_offset_and_far_from_the_epoch() {
    let millis = r#"{"type":"long","logicalType":"timestamp-millis"}"#;
    let micros = r#"{"type":"long","logicalType":"timestamp-micros"}"#;
    let nanos = r#"{"type":"long","logicalType":"timestamp-nanos"}"#;
    let long = |n: i64| {
        let mut out = Vec::new();
        super::encode::write_long(&mut out, n);
        Ok(out)
    };
    let utc = 1_709_641_875_655; // 2024-03-05T12:31:15.655Z
    for (text, ms) in [
        ("2024-03-05T12:31:15.655Z", utc),
        ("2024-03-05T18:01:15.655+05:30", utc),
        ("2024-03-05T07:31:15.655-05:00", utc),
        ("2024-03-05T12:31:15.655-00:00", utc),
        ("2024-03-05T12:31:15+00:00", utc - 655),
        ("1969-12-31T23:59:59.999Z", -1),
        ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ("9999-12-31T23:59:59.999+01:00", 253_402_297_199_999),
    ] {
        let json = format!("\"{text}\"");
        assert_eq!(enc_view(millis, &json), long(ms), "{text}");
        assert_eq!(enc(millis, &json), long(ms), "{text}");
        assert_eq!(enc_view(micros, &json), long(ms * 1000), "{text}");
    }
    // Nanoseconds beyond i64 are an error, not a wrapped value.
    assert!(enc_view(nanos, r#""9999-12-31T23:59:59Z""#).is_err());
    assert_eq!(
        enc_view(nanos, r#""1969-12-31T23:59:59.999Z""#),
        long(-1_000_000)
    );
    // Offsets out of range are no timestamps.
    assert!(enc_view(millis, r#""2024-03-05T12:31:15+24:00""#).is_err());
    assert!(enc_view(millis, r#""2024-03-05T12:31:15+05:60""#).is_err());
}

#[test]
fn strings_with_and_without_escapes_in_fields_and_unions() {
    let schema = r#"{"type":"record","name":"S","fields":[
        {"name":"s","type":"string"},
        {"name":"u","type":["null","string"]},
        {"name":"m","type":{"type":"map","values":"string"}}]}"#;
    for (s, text) in [
        ("plain", "plain"),
        (r"tab\there", "tab\there"),
        (r"\u00e9t\u00e9 \ud83d\ude00", "été 😀"),
        ("", ""),
        (r#"quote\"and\\slash"#, "quote\"and\\slash"),
    ] {
        let json = format!(r#"{{"s":"{s}","u":"{s}","m":{{"{s}":"{s}"}}}}"#);
        let n = text.len() as i64;
        let mut expected = Vec::new();
        super::encode::write_long(&mut expected, n);
        expected.extend_from_slice(text.as_bytes());
        expected.push(2);
        super::encode::write_long(&mut expected, n);
        expected.extend_from_slice(text.as_bytes());
        expected.push(2);
        for _ in 0..2 {
            super::encode::write_long(&mut expected, n);
            expected.extend_from_slice(text.as_bytes());
        }
        expected.push(0);
        assert_eq!(enc_view(schema, &json), Ok(expected.clone()), "{json}");
        assert_eq!(enc(schema, &json), Ok(expected), "{json}");
    }
    // A string field still refuses what is no string.
    let e = enc_view(schema, r#"{"s":1,"u":null,"m":{}}"#).unwrap_err();
    assert!(e.contains("string"), "{e}");
    assert!(enc_view(schema, r#"{"s":"a","u":2,"m":{}}"#).is_err());
}
