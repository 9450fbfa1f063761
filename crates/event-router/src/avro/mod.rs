//! Avro encoding of events.
//!
//! A schema is compiled once ([`AvroSchema::compile`]) into an encoding plan;
//! [`AvroSchema::encode`] (over a simd-json value) or [`AvroSchema::encode_view`]
//! (over a [`JsonView`], the router's path) then writes the Avro binary datum straight from the
//! parsed event JSON, without building an intermediate Avro value.
//!
//! Schemas are checked against the specification by `apache-avro` at compile
//! time. The goavro dialect that RudderStack documents, where a record field
//! reads `{"name": "context", "type": "record", "fields": [..]}`, is accepted
//! and rewritten into standard Avro (the nested record takes the field's name);
//! [`AvroSchema::normalized_json`] returns the standard form, which is what a
//! schema registry should hold.
//!
//! # JSON to Avro
//!
//! - Records: fields are looked up by name; extra JSON fields are ignored; an
//!   absent field (or a `null` for a field that cannot be null) takes the
//!   schema default, else it is an error naming the field path.
//! - Unions: `{"<branch name>": value}` (Avro's JSON encoding) selects a branch
//!   when that is unambiguous; otherwise the first branch that accepts the
//!   value is used (`null` for null, a record for an object that has the
//!   record's required fields, ...).
//! - `int`/`long`: JSON integers (or integral numbers) in range.
//!   `float`/`double`: numbers, and the strings `NaN`, `Infinity`, `-Infinity`.
//! - `bytes`/`fixed`: a string (its UTF-8 bytes) or an array of integers 0..=255.
//! - `date`: days since the epoch or `YYYY-MM-DD`. `time-millis`/`time-micros`:
//!   an integer or `HH:MM:SS[.fraction]`. `timestamp-*`: an integer in the
//!   type's unit or an RFC 3339 string (no offset means UTC); `local-timestamp-*`
//!   take the wall clock as written and ignore any offset.
//! - `uuid`: a `8-4-4-4-12` hex string, written as given (on `string`) or as
//!   16 bytes (on `fixed(16)`).
//! - `decimal`: a JSON number or a numeric string, scaled exactly: digits the
//!   scale cannot hold must be zeros, and the result must fit the precision.
//!   Through a [`JsonView`] (the router's path) a JSON number's digits are
//!   taken from its text as written, so any number of digits is exact.
//!   A simd-json value keeps only the `f64` (its shortest round-trip digits
//!   are used), so there amounts beyond 15 significant digits belong in
//!   strings.
//! - `duration`: `{"months", "days", "millis"}` or `[months, days, millis]`.
//!
//! Schema defaults follow the specification's JSON encoding (a `bytes`
//! default's code points are its bytes).
//!
//! # References
//!
//! - Apache Avro specification 1.12: binary encoding, logical types, names.
//! - Confluent wire format: magic byte 0, then the schema id as a big-endian
//!   32-bit integer, then the datum.

mod body_index;
mod encode;
mod error;
pub mod example;
mod json;
mod schema;
mod text;

use serde_json::Value as Json;
use simd_json::BorrowedValue;

pub use self::body_index::JsonView;
pub(crate) use self::body_index::{BodyIndex, Builder, Doc};
use self::encode::{Encoder, Mode};
pub use self::error::{AvroError, FieldPath, PathSegment};
use self::schema::Plan;

/// A compiled Avro schema: the encoding plan for one writer schema.
///
/// Cheap to share between threads (`Send + Sync`); encoding takes `&self`.
#[derive(Debug)]
pub struct AvroSchema {
    plan: Plan,
    normalized: String,
}

impl AvroSchema {
    /// Parses, validates and compiles a schema.
    ///
    /// Errors name the schema field at fault (e.g. `context.traits`).
    pub fn compile(schema_json: &str) -> Result<AvroSchema, AvroError> {
        let mut json: Json =
            serde_json::from_str(schema_json).map_err(|e| AvroError::SchemaJson(e.to_string()))?;
        schema::normalize(&mut json);
        let (mut plan, sites) = schema::compile(&json)?;
        for site in sites {
            let bytes = default_bytes(&plan, &site)?;
            if let Some(schema::Node::Record(fields)) = plan.nodes.get_mut(site.record as usize) {
                if let Some(field) = fields.get_mut(site.field) {
                    field.default_bytes = Some(bytes);
                }
            }
        }
        validate(&json)?;
        let normalized =
            serde_json::to_string(&json).map_err(|e| AvroError::SchemaJson(e.to_string()))?;
        Ok(AvroSchema { plan, normalized })
    }

    /// Appends the Avro binary encoding of `value` to `out`.
    ///
    /// On error, `out` may hold a partial datum after its original length:
    /// the caller truncates it back.
    pub fn encode(&self, value: &BorrowedValue<'_>, out: &mut Vec<u8>) -> Result<(), AvroError> {
        Encoder {
            plan: &self.plan,
            mode: Mode::Event,
        }
        .encode(self.plan.root, value, out, 0)
    }

    /// Appends the Avro binary encoding of the document in `view` to `out`.
    ///
    /// The same bytes as [`AvroSchema::encode`] on the simd-json value of the
    /// same text, without building that value; with two differences: Avro
    /// maps of more than 32 entries, which this writes in document order
    /// (simd-json's large objects iterate in hash order), and a `decimal`
    /// from a JSON number, which this reads from the number's text rather
    /// than its `f64` (the same for up to 15 significant digits). Errors
    /// and a partial datum as for [`AvroSchema::encode`].
    pub fn encode_view(&self, view: &JsonView, out: &mut Vec<u8>) -> Result<(), AvroError> {
        self.encode_doc(&view.doc(), out)
    }

    /// [`AvroSchema::encode_view`] of a view's document (for the router, a
    /// body index's: see [`BodyIndex::doc`]).
    pub(crate) fn encode_doc(&self, doc: &Doc<'_>, out: &mut Vec<u8>) -> Result<(), AvroError> {
        let Some(root) = doc.root() else {
            return Err(AvroError::invalid("no JSON document in the view"));
        };
        Encoder {
            plan: &self.plan,
            mode: Mode::Event,
        }
        .encode(self.plan.root, root, out, 0)
    }

    /// The schema in standard Avro JSON, after the goavro rewrite (see the
    /// module documentation); identical in meaning to the input otherwise.
    pub fn normalized_json(&self) -> &str {
        &self.normalized
    }
}

/// Appends the Confluent wire-format header: magic byte 0 and `schema_id`
/// big-endian. The Avro datum follows it.
pub fn confluent_header(schema_id: u32, out: &mut Vec<u8>) {
    out.push(0);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

fn default_bytes(plan: &Plan, site: &schema::DefaultSite) -> Result<Box<[u8]>, AvroError> {
    let field = match plan.nodes.get(site.record as usize) {
        Some(schema::Node::Record(fields)) => fields.get(site.field),
        _ => None,
    };
    let (Some(field), Some(default)) = (field, field.and_then(|f| f.default.as_ref())) else {
        return Err(AvroError::schema(
            "internal: default site without a default",
        ));
    };
    let mut out = Vec::new();
    Encoder {
        plan,
        mode: Mode::Default,
    }
    .encode(field.node, default, &mut out, 0)
    .map_err(|e| AvroError::InvalidSchema {
        path: site.path.clone(),
        reason: format!("default value does not match the field's type: {e}"),
    })?;
    Ok(out.into_boxed_slice())
}

/// Checks the schema against the specification with `apache-avro`.
fn validate(json: &Json) -> Result<(), AvroError> {
    // Compilation is a cold path; a panic in the third-party parser on odd
    // input is turned into an error rather than taking the process down.
    let parsed = std::panic::catch_unwind(|| apache_avro::Schema::parse(json).map(|_| ()));
    match parsed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(AvroError::schema(format!(
            "rejected by the Avro specification: {e}"
        ))),
        Err(_) => Err(AvroError::schema("rejected by the Avro schema parser")),
    }
}

#[cfg(test)]
mod tests;
