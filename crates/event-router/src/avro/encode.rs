//! Walks a plan and a simd-json value together, writing Avro binary.

use super::error::{AvroError, PathSegment};
use super::json::Json;
use super::schema::{self, Field, JsonKind, Node, NodeId, Plan, TimeUnit};
use super::text::{self, DecimalError};

/// Deepest nesting of arrays, maps and records the encoder follows.
pub(crate) const MAX_DEPTH: usize = 64;

/// Records of up to this many fields are matched in one pass over the
/// object (see [`Encoder::record`]).
const RECORD_SLOTS: usize = 32;

/// How JSON strings map to `bytes` and `fixed`, and how absent fields are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Event JSON: a string's UTF-8 bytes; absent fields use pre-encoded defaults.
    Event,
    /// Schema default values, per the Avro specification: each code point
    /// U+0000..U+00FF of a string is one byte; absent fields use their
    /// defaults' JSON (the pre-encoded bytes may not exist yet).
    Default,
}

pub(crate) struct Encoder<'p> {
    pub(crate) plan: &'p Plan,
    pub(crate) mode: Mode,
}

#[inline]
pub(crate) fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[inline]
fn write_len(out: &mut Vec<u8>, len: usize) {
    // A Vec never holds more than isize::MAX bytes.
    write_long(out, i64::try_from(len).unwrap_or(i64::MAX));
}

#[inline]
fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    write_len(out, s.len());
    out.extend_from_slice(s);
}

/// Text for an error message (the encoder's strings are valid UTF-8).
#[cold]
fn shown(s: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(s)
}

/// A JSON integer (or an integral float) as i64.
fn integer<'a>(v: impl Json<'a>, expected: &'static str) -> Result<i64, AvroError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    if let Some(u) = v.as_u64() {
        return Err(AvroError::invalid(format!(
            "{u} is out of range for {expected}"
        )));
    }
    if let Some(f) = v.as_f64() {
        // 2^63 is exactly representable; the range is [-2^63, 2^63).
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
            return Ok(f as i64);
        }
        return Err(AvroError::invalid(format!(
            "{f} is not an integer in range for {expected}"
        )));
    }
    Err(AvroError::mismatch(expected, v.kind()))
}

fn int32<'a>(v: impl Json<'a>, expected: &'static str) -> Result<i32, AvroError> {
    let i = integer(v, expected)?;
    i32::try_from(i).map_err(|_| AvroError::invalid(format!("{i} is out of range for {expected}")))
}

fn number<'a>(v: impl Json<'a>, expected: &'static str) -> Result<f64, AvroError> {
    if let Some(f) = v.cast_f64() {
        return Ok(f);
    }
    match v.str_bytes() {
        Some(b"NaN") => Ok(f64::NAN),
        Some(b"Infinity") => Ok(f64::INFINITY),
        Some(b"-Infinity") => Ok(f64::NEG_INFINITY),
        _ => Err(AvroError::mismatch(expected, v.kind())),
    }
}

fn checked_i64(n: i128, expected: &'static str) -> Result<i64, AvroError> {
    i64::try_from(n).map_err(|_| AvroError::invalid(format!("out of range for {expected}")))
}

impl Encoder<'_> {
    /// Encodes `v` as the node `id`. On error `out` may hold partial output.
    pub(crate) fn encode<'a, J: Json<'a>>(
        &self,
        id: NodeId,
        v: J,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        match self.plan.node(id) {
            Node::Null => {
                if !v.is_null() {
                    return Err(AvroError::mismatch("null", v.kind()));
                }
            }
            Node::Boolean => match v.as_bool() {
                Some(b) => out.push(u8::from(b)),
                None => return Err(AvroError::mismatch("boolean", v.kind())),
            },
            Node::Int => write_long(out, i64::from(int32(v, "int")?)),
            Node::Long => write_long(out, integer(v, "long")?),
            Node::Float => {
                let f = number(v, "float")?;
                let narrow = f as f32;
                if f.is_finite() && !narrow.is_finite() {
                    return Err(AvroError::invalid(format!("{f} is out of range for float")));
                }
                out.extend_from_slice(&narrow.to_le_bytes());
            }
            Node::Double => out.extend_from_slice(&number(v, "double")?.to_le_bytes()),
            Node::String => match v.str_bytes() {
                Some(s) => write_str(out, s),
                None => return Err(AvroError::mismatch("string", v.kind())),
            },
            Node::Bytes => self.bytes(v, None, out)?,
            Node::Fixed(size) => self.bytes(v, Some(*size), out)?,
            Node::Enum(symbols) => {
                let Some(s) = v.str_bytes() else {
                    return Err(AvroError::mismatch("enum symbol (string)", v.kind()));
                };
                match symbols.iter().position(|sym| sym.as_bytes() == s) {
                    Some(index) => write_len(out, index),
                    None => {
                        return Err(AvroError::invalid(format!(
                            "`{}` is not a symbol of the enum",
                            shown(s)
                        )))
                    }
                }
            }
            Node::Array(items) => {
                let Some(len) = v.array_len() else {
                    return Err(AvroError::mismatch("array", v.kind()));
                };
                if depth >= MAX_DEPTH {
                    return Err(too_deep());
                }
                if len != 0 {
                    write_len(out, len);
                    v.elements(|i, element| {
                        self.encode(*items, element, out, depth + 1)
                            .map_err(|e| e.within(PathSegment::Index(i)))
                    })?;
                }
                out.push(0);
            }
            Node::Map(values) => {
                let Some(len) = v.object_len() else {
                    return Err(AvroError::mismatch("map (JSON object)", v.kind()));
                };
                if depth >= MAX_DEPTH {
                    return Err(too_deep());
                }
                if len != 0 {
                    write_len(out, len);
                    v.members(|key, value| {
                        write_str(out, key);
                        self.encode(*values, value, out, depth + 1)
                            .map_err(|e| e.within(PathSegment::Key(shown(key).into_owned())))
                    })?;
                }
                out.push(0);
            }
            Node::Record(fields) => {
                if !v.is_object() {
                    return Err(AvroError::mismatch("record (JSON object)", v.kind()));
                }
                if depth >= MAX_DEPTH {
                    return Err(too_deep());
                }
                self.record(id, fields, v, out, depth)?;
            }
            Node::Union(branches) => self.union(id, branches, v, out, depth)?,
            Node::Pending => return Err(AvroError::schema("record used before it is complete")),
            logical => self.logical(logical, v, out)?,
        }
        Ok(())
    }

    /// [`Self::encode`], with a string written without the call (strings
    /// are the most common values of an event) and a union chosen without
    /// the frame of `encode`.
    #[inline(always)]
    fn value<'a, J: Json<'a>>(
        &self,
        id: NodeId,
        v: J,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        match self.plan.node(id) {
            Node::String => {
                if let Some(s) = v.str_bytes() {
                    write_str(out, s);
                    return Ok(());
                }
            }
            Node::Union(branches) => return self.union(id, branches, v, out, depth),
            _ => {}
        }
        self.encode(id, v, out, depth)
    }

    /// The fields of a record, in schema order. Members are matched to
    /// fields in one pass (the first member of a name wins) for records of
    /// up to [`RECORD_SLOTS`] fields; larger ones look each field up.
    #[inline(never)]
    fn record<'a, J: Json<'a>>(
        &self,
        id: NodeId,
        fields: &[Field],
        v: J,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        let within =
            |field: &Field, e: AvroError| e.within(PathSegment::Field(field.name.to_string()));
        if fields.len() > RECORD_SLOTS {
            for field in fields {
                self.field(field, v.get(&field.name), out, depth)
                    .map_err(|e| within(field, e))?;
            }
            return Ok(());
        }
        let mut slots = [J::Slot::default(); RECORD_SLOTS];
        let slots = &mut slots[..fields.len()];
        v.find_fields(self.plan.table(id), slots);
        for (field, slot) in fields.iter().zip(slots.iter()) {
            self.field(field, v.slot(*slot), out, depth)
                .map_err(|e| within(field, e))?;
        }
        Ok(())
    }

    /// Logical types; kept out of [`Self::encode`] so that its stack frame,
    /// paid once per nesting level, stays small.
    #[inline(never)]
    fn logical<'a>(
        &self,
        node: &Node,
        v: impl Json<'a>,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroError> {
        match node {
            Node::Date => {
                let days = match v.str_bytes() {
                    Some(s) => text::parse_date(s).ok_or_else(|| {
                        AvroError::invalid(format!("`{}` is not a YYYY-MM-DD date", shown(s)))
                    })?,
                    None => i64::from(int32(v, "date (days or YYYY-MM-DD)")?),
                };
                let days = i32::try_from(days)
                    .map_err(|_| AvroError::invalid("date out of range for int"))?;
                write_long(out, i64::from(days));
            }
            Node::TimeMillis => {
                let millis = match v.str_bytes() {
                    Some(s) => time_of_day(s)? / 1_000_000,
                    None => i64::from(int32(v, "time-millis (integer or HH:MM:SS)")?),
                };
                write_long(out, millis);
            }
            Node::TimeMicros => {
                let micros = match v.str_bytes() {
                    Some(s) => time_of_day(s)? / 1_000,
                    None => integer(v, "time-micros (integer or HH:MM:SS)")?,
                };
                write_long(out, micros);
            }
            Node::Timestamp { unit, local } => {
                let n = match v.str_bytes() {
                    Some(s) => {
                        let ts = text::parse_timestamp(s).ok_or_else(|| {
                            AvroError::invalid(format!(
                                "`{}` is not an RFC 3339 timestamp",
                                shown(s)
                            ))
                        })?;
                        let nanos = if *local {
                            ts.wall_nanos
                        } else {
                            ts.utc_nanos()
                        };
                        // i64 division when the nanoseconds fit (years
                        // 1677..2262), the same result as the i128 one.
                        match i64::try_from(nanos) {
                            Ok(nanos) => nanos.div_euclid(unit.nanos() as i64),
                            Err(_) => checked_i64(nanos.div_euclid(unit.nanos()), "timestamp")?,
                        }
                    }
                    None => integer(v, timestamp_expected(*unit))?,
                };
                write_long(out, n);
            }
            Node::Uuid => match v.str_bytes() {
                Some(s) if text::is_uuid(s) => write_str(out, s),
                Some(s) => return Err(AvroError::invalid(format!("`{}` is not a UUID", shown(s)))),
                None => return Err(AvroError::mismatch("uuid (string)", v.kind())),
            },
            Node::UuidFixed => match v.str_bytes() {
                Some(s) => match text::parse_uuid(s) {
                    Some(bytes) => out.extend_from_slice(&bytes),
                    None if self.mode == Mode::Default => self.bytes(v, Some(16), out)?,
                    None => {
                        return Err(AvroError::invalid(format!("`{}` is not a UUID", shown(s))))
                    }
                },
                None => return Err(AvroError::mismatch("uuid (string)", v.kind())),
            },
            Node::Decimal {
                precision,
                scale,
                fixed,
            } => self.decimal(v, *precision, *scale, *fixed, out)?,
            Node::Duration => self.duration(v, out)?,
            _ => return Err(AvroError::schema("internal: not a logical type")),
        }
        Ok(())
    }

    #[inline(always)]
    fn field<'a, J: Json<'a>>(
        &self,
        field: &Field,
        value: Option<J>,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        // An explicit null for a field that cannot hold null counts as absent
        // when the schema gives a default.
        let value = match value {
            Some(v) if v.is_null() && !field.nullable && field.default.is_some() => None,
            other => other,
        };
        if let Some(v) = value {
            return self.value(field.node, v, out, depth + 1);
        }
        match (self.mode, &field.default_bytes, &field.default) {
            (Mode::Event, Some(bytes), _) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            (_, _, Some(default)) => self.encode(field.node, default, out, depth + 1),
            (_, _, None) => Err(AvroError::MissingField {
                path: Default::default(),
            }),
        }
    }

    /// `bytes` (`size == None`) or `fixed(size)` from a string or an array of
    /// integers 0..=255.
    fn bytes<'a>(
        &self,
        v: impl Json<'a>,
        size: Option<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroError> {
        let expected = if size.is_some() {
            "fixed (string or byte array)"
        } else {
            "bytes (string or byte array)"
        };
        let check_len = |len: usize| match size {
            Some(size) if size != len => Err(AvroError::invalid(format!(
                "{len} bytes given, fixed size is {size}"
            ))),
            Some(_) => Ok(()),
            None => Ok(()),
        };
        if let Some(s) = v.str_bytes() {
            if self.mode == Mode::Event {
                check_len(s.len())?;
                if size.is_none() {
                    write_len(out, s.len());
                }
                out.extend_from_slice(s);
                return Ok(());
            }
            // Defaults come from the schema's JSON, so they are text.
            let s = std::str::from_utf8(s)
                .map_err(|_| AvroError::invalid("a bytes default must be a JSON string"))?;
            let len = s.chars().count();
            check_len(len)?;
            if size.is_none() {
                write_len(out, len);
            }
            for c in s.chars() {
                let byte = u8::try_from(u32::from(c)).map_err(|_| {
                    AvroError::invalid("a bytes default may only hold code points up to U+00FF")
                })?;
                out.push(byte);
            }
            return Ok(());
        }
        match v.array_len() {
            Some(len) => {
                check_len(len)?;
                if size.is_none() {
                    write_len(out, len);
                }
                v.elements(|_, item| {
                    let byte = item
                        .as_u64()
                        .and_then(|b| u8::try_from(b).ok())
                        .ok_or_else(|| {
                            AvroError::invalid("byte array elements must be integers 0..=255")
                        })?;
                    out.push(byte);
                    Ok(())
                })?;
            }
            _ => return Err(AvroError::mismatch(expected, v.kind())),
        }
        Ok(())
    }

    fn decimal<'a>(
        &self,
        v: impl Json<'a>,
        precision: usize,
        scale: usize,
        fixed: Option<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroError> {
        let mut number = StackText::default();
        let text: &[u8] = match v.str_bytes() {
            // Per the specification a default is the raw two's-complement bytes.
            Some(_) if self.mode == Mode::Default => return self.bytes(v, fixed, out),
            Some(s) => s,
            // The number as written, when the value keeps its text: exact.
            None => match v.float_text() {
                Some(t) if text::decimal_syntax_ok(t) => t,
                _ if v.is_f64() => match v.as_f64() {
                    // Shortest round-trip digits, in exponent form to stay short.
                    Some(f) if f.is_finite() => number.format(format_args!("{f:e}")).as_bytes(),
                    _ => return Err(AvroError::invalid("decimal must be finite")),
                },
                _ => match (v.as_i64(), v.as_u64()) {
                    (Some(i), _) => number.integer(i < 0, i.unsigned_abs()).as_bytes(),
                    (None, Some(u)) => number.integer(false, u).as_bytes(),
                    _ => {
                        return Err(AvroError::mismatch(
                            "decimal (number or numeric string)",
                            v.kind(),
                        ))
                    }
                },
            },
        };
        let mark = out.len();
        if fixed.is_none() {
            out.push(0); // length placeholder
        }
        let start = out.len();
        text::decimal_to_twos_complement(text, precision, scale, out).map_err(|e| {
            let text = shown(text);
            AvroError::invalid(match e {
                DecimalError::Syntax => format!("`{text}` is not a decimal number"),
                DecimalError::Inexact => {
                    format!("`{text}` has more fractional digits than scale {scale}")
                }
                DecimalError::Precision => {
                    format!("`{text}` exceeds precision {precision} at scale {scale}")
                }
            })
        })?;
        let len = out.len() - start;
        match fixed {
            None => match u8::try_from(len) {
                // One varint byte holds lengths up to 63.
                Ok(short) if short <= 63 => {
                    if let Some(slot) = out.get_mut(mark) {
                        *slot = short << 1;
                    }
                }
                _ => {
                    let mut prefix = Vec::with_capacity(10);
                    write_len(&mut prefix, len);
                    out.splice(mark..start, prefix);
                }
            },
            Some(size) => {
                if len > size {
                    return Err(AvroError::invalid(format!(
                        "`{}` does not fit fixed({size})",
                        shown(text)
                    )));
                }
                let negative = out.get(start).is_some_and(|b| b & 0x80 != 0);
                let pad = if negative { 0xFF } else { 0x00 };
                out.splice(start..start, std::iter::repeat_n(pad, size - len));
            }
        }
        Ok(())
    }

    /// `{"months": m, "days": d, "millis": ms}` or `[m, d, ms]`, each 0..=u32::MAX.
    fn duration<'a>(&self, v: impl Json<'a>, out: &mut Vec<u8>) -> Result<(), AvroError> {
        fn part<'a>(p: Option<impl Json<'a>>) -> Result<u32, AvroError> {
            match p {
                None => Ok(0),
                Some(p) => p
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        AvroError::invalid("duration parts are integers 0..=4294967295")
                    }),
            }
        }
        let parts = if v.is_object() {
            [
                part(v.get("months"))?,
                part(v.get("days"))?,
                part(v.get("millis"))?,
            ]
        } else if v.array_len() == Some(3) {
            let mut items = [None; 3];
            let _ = v.elements(|i, item| {
                if let Some(slot) = items.get_mut(i) {
                    *slot = Some(item);
                }
                Ok::<(), ()>(())
            });
            [part(items[0])?, part(items[1])?, part(items[2])?]
        } else if v.is_str() && self.mode == Mode::Default {
            return self.bytes(v, Some(12), out);
        } else {
            return Err(AvroError::mismatch(
                "duration ({months, days, millis} or [m, d, ms])",
                v.kind(),
            ));
        };
        for p in parts {
            out.extend_from_slice(&p.to_le_bytes());
        }
        Ok(())
    }

    /// Picks the union branch for `v` and writes its index and the value.
    ///
    /// An object `{"<branch name>": value}` is Avro's JSON encoding of a union
    /// and selects that branch, unless the union has a map branch or a record
    /// branch with a field of that name (then the object is taken as data).
    /// Otherwise the first branch that accepts the value wins: scalars are
    /// tried in order (a failed attempt is rolled back), a record branch
    /// accepts an object that has every field without a default, a map an
    /// object, an array an array.
    fn union<'a, J: Json<'a>>(
        &self,
        id: NodeId,
        branches: &[NodeId],
        v: J,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        let kind = v.json_kind();
        if kind != JsonKind::Object {
            // The branch the search below tries first, found by a table:
            // arrays and maps are taken as they are, scalars tried. (Records
            // take only objects.)
            if let Some(index) = self.plan.first_branch(id, kind) {
                let branch = branches.get(index).copied().unwrap_or(0);
                let mark = out.len();
                write_len(out, index);
                if kind == JsonKind::Null {
                    // The first branch for a null is the `null` type itself
                    // (no other type takes one); its value is no bytes.
                    return Ok(());
                }
                match self.value(branch, v, out, depth) {
                    Ok(()) => return Ok(()),
                    Err(e) if matches!(self.plan.node(branch), Node::Array(_)) => return Err(e),
                    // The search below tries the other branches.
                    Err(_) => out.truncate(mark),
                }
            }
        }
        if v.object_len() == Some(1) {
            let mut first = None;
            let _ = v.members(|key, inner| {
                first = Some((key, inner));
                Err(())
            });
            if let Some((key, inner)) = first {
                if let Some(index) = self.wrapped_branch(branches, key) {
                    write_len(out, index);
                    let id = branches.get(index).copied().unwrap_or(0);
                    return self.encode(id, inner, out, depth);
                }
            }
        }
        let mut first_error = None;
        let mut fallback_record = None;
        for (index, &id) in branches.iter().enumerate() {
            let node = self.plan.node(id);
            if !accepts_kind(node, v) {
                continue;
            }
            match node {
                Node::Record(fields) => {
                    let complete = fields
                        .iter()
                        .all(|f| f.default.is_some() || v.get(&f.name).is_some());
                    if complete {
                        write_len(out, index);
                        return self.encode(id, v, out, depth);
                    }
                    fallback_record.get_or_insert((index, id));
                }
                Node::Array(_) | Node::Map(_) => {
                    write_len(out, index);
                    return self.encode(id, v, out, depth);
                }
                _ => {
                    let mark = out.len();
                    write_len(out, index);
                    match self.encode(id, v, out, depth) {
                        Ok(()) => return Ok(()),
                        Err(e) => {
                            out.truncate(mark);
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
        }
        // Nothing fits: report the most specific reason.
        if let Some((index, id)) = fallback_record {
            write_len(out, index);
            return self.encode(id, v, out, depth);
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let names: Vec<String> = branches
            .iter()
            .map(|&b| format!("{:?}", self.plan.branch_name(b)))
            .collect();
        Err(AvroError::NoUnionBranch {
            path: Default::default(),
            branches: format!("[{}]", names.join(",")),
            found: v.kind(),
        })
    }

    fn wrapped_branch(&self, branches: &[NodeId], key: &[u8]) -> Option<usize> {
        let mut found = None;
        for (index, &id) in branches.iter().enumerate() {
            match self.plan.node(id) {
                Node::Map(_) => return None,
                Node::Record(fields) if fields.iter().any(|f| f.name.as_bytes() == key) => {
                    return None
                }
                _ => {}
            }
            let name = self.plan.branch_name(id);
            let short = name.rsplit('.').next().unwrap_or(name);
            if found.is_none() && (name.as_bytes() == key || short.as_bytes() == key) {
                found = Some(index);
            }
        }
        found
    }
}

/// Whether a node could accept a JSON value of this type at all.
fn accepts_kind<'a>(node: &Node, v: impl Json<'a>) -> bool {
    schema::accepts(node, v.json_kind())
}

fn time_of_day(s: &[u8]) -> Result<i64, AvroError> {
    text::parse_time_of_day(s)
        .ok_or_else(|| AvroError::invalid(format!("`{}` is not an HH:MM:SS time", shown(s))))
}

fn timestamp_expected(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Millis => "timestamp in milliseconds or RFC 3339 string",
        TimeUnit::Micros => "timestamp in microseconds or RFC 3339 string",
        TimeUnit::Nanos => "timestamp in nanoseconds or RFC 3339 string",
    }
}

/// A small formatting buffer, so numbers become text without allocating.
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    /// Decimal digits of an integer, with a `-` if `negative`.
    fn integer(&mut self, negative: bool, mut magnitude: u64) -> &str {
        // 20 digits and a sign fill the end of the buffer.
        let mut at = self.buf.len();
        loop {
            at -= 1;
            self.buf[at] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if negative {
            at -= 1;
            self.buf[at] = b'-';
        }
        self.len = 0;
        std::str::from_utf8(&self.buf[at..]).unwrap_or("")
    }

    fn format(&mut self, args: std::fmt::Arguments<'_>) -> &str {
        self.len = 0;
        if std::fmt::Write::write_fmt(self, args).is_err() {
            self.len = 0;
        }
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cold]
fn too_deep() -> AvroError {
    AvroError::TooDeep {
        path: Default::default(),
        limit: MAX_DEPTH,
    }
}
