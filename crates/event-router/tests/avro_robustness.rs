//! The Avro encoder never panics: arbitrary schema text, arbitrary JSON
//! schemas, and arbitrary events against valid and mutated schemas.

use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
use event_router::avro::AvroSchema;
use proptest::prelude::*;
use serde_json::{json, Value as Json};

/// Arbitrary JSON, biased towards the keys and words schemas use.
fn arb_json() -> impl Strategy<Value = Json> {
    let word = prop::sample::select(vec![
        "record",
        "enum",
        "fixed",
        "array",
        "map",
        "null",
        "boolean",
        "int",
        "long",
        "float",
        "double",
        "bytes",
        "string",
        "error",
        "decimal",
        "uuid",
        "date",
        "timestamp-millis",
        "time-micros",
        "local-timestamp-nanos",
        "duration",
        "big-decimal",
        "R",
        "E",
        "a.b",
        "a..b",
        "",
        "S1",
        "2022-06-22T12:31:19.002+05:30",
        "1.50",
        "-0",
        "1e400",
    ]);
    let key = prop::sample::select(vec![
        "type",
        "name",
        "namespace",
        "fields",
        "items",
        "values",
        "symbols",
        "size",
        "logicalType",
        "precision",
        "scale",
        "default",
        "aliases",
        "other",
    ]);
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        (-40i64..40).prop_map(Json::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        word.prop_map(Json::from),
        ".{0,12}".prop_map(Json::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                Json::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn valid_schemas() -> Vec<String> {
    vec![
        TRACK_SCHEMA.to_owned(),
        json!(["null", "int", "double", "string", {"type": "array", "items": "long"},
               {"type": "map", "values": ["null", "bytes"]}]).to_string(),
        json!({"type": "record", "name": "L", "fields": [
            {"name": "v", "type": {"type": "fixed", "name": "D", "size": 3,
                                   "logicalType": "decimal", "precision": 6, "scale": 2}},
            {"name": "u", "type": {"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}},
            {"name": "d", "type": {"type": "fixed", "name": "Du", "size": 12, "logicalType": "duration"}},
            {"name": "t", "type": {"type": "long", "logicalType": "timestamp-nanos"}, "default": 0},
            {"name": "next", "type": ["null", "L"], "default": null}
        ]}).to_string(),
    ]
}

fn encode_all(schema: &AvroSchema, event: &str) {
    let mut text = event.as_bytes().to_vec();
    if let Ok(value) = simd_json::to_borrowed_value(&mut text) {
        let mut out = vec![9, 9];
        let result = schema.encode(&value, &mut out);
        // The prefix is never touched, whatever happens.
        assert_eq!(&out[..2], &[9, 9]);
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_schema_text(schema in ".{0,200}", event in ".{0,200}") {
        if let Ok(compiled) = AvroSchema::compile(&schema) {
            encode_all(&compiled, &event);
        }
    }

    #[test]
    fn arbitrary_json_schema_and_event(schema in arb_json(), event in arb_json()) {
        if let Ok(compiled) = AvroSchema::compile(&schema.to_string()) {
            encode_all(&compiled, &event.to_string());
            encode_all(&compiled, &schema.to_string());
        }
    }

    #[test]
    fn arbitrary_events_against_valid_schemas(event in arb_json(), index in 0usize..3) {
        let schemas = valid_schemas();
        let compiled = AvroSchema::compile(&schemas[index % schemas.len()]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        encode_all(&compiled, &event.to_string());
    }

    #[test]
    fn mutated_valid_schema_and_event(
        cut in 0usize..2000,
        insert in prop::sample::select(vec!["", "\"", "{", "}", "[", "]", ",", "null", "\"type\":\"record\"", "1"]),
        event_cut in 0usize..2000,
    ) {
        let mut schema = TRACK_SCHEMA.to_owned();
        let at = cut.min(schema.len());
        if schema.is_char_boundary(at) {
            schema.insert_str(at, insert);
        }
        let event = TRACK_EVENT.replacen(": ", ":", event_cut % 7);
        let event = &event[..event.char_indices().map(|(i, _)| i).find(|&i| i >= event_cut).unwrap_or(event.len())];
        if let Ok(compiled) = AvroSchema::compile(&schema) {
            encode_all(&compiled, event);
            encode_all(&compiled, TRACK_EVENT);
        }
    }
}

#[test]
fn deep_json_and_deep_schemas_are_errors_not_crashes() {
    let deep_schema = format!("{}\"int\"{}", "[".repeat(5000), "]".repeat(5000));
    assert!(AvroSchema::compile(&deep_schema).is_err());
    let mut nested = String::from("\"int\"");
    for _ in 0..200 {
        nested = format!("{{\"type\":\"array\",\"items\":{nested}}}");
    }
    // serde_json's recursion limit stops it before the compiler recurses.
    assert!(AvroSchema::compile(&nested).is_err());
    let schema =
        AvroSchema::compile(r#"{"type":"map","values":{"type":"array","items":"int"}}"#).unwrap();
    // (simd-json itself overflows the stack parsing ~20,000 nested arrays; the
    // encoder's own limit is what is tested here.)
    encode_all(
        &schema,
        &format!("{}{}", "[".repeat(1000), "]".repeat(1000)),
    );
    encode_all(
        &schema,
        &format!("{{\"k\":{}{}}}", "[".repeat(1000), "]".repeat(1000)),
    );
}
