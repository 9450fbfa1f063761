//! What the Avro encoder reads from JSON: the [`Json`] trait, over two
//! representations: a simd-json [`BorrowedValue`] (here) and the router's
//! index of a request body ([`super::body_index`]), which reads JSON
//! exactly as simd-json does, so both entry points encode the same bytes.

use simd_json::prelude::*;
use simd_json::{BorrowedValue, StaticNode};

use super::schema::{FieldTable, JsonKind};

/// A JSON value as the encoder reads it.
pub(crate) trait Json<'a>: Copy {
    /// Null, booleans and numbers; `None` for strings, arrays and objects.
    fn scalar(self) -> Option<StaticNode>;
    /// A string's contents (valid UTF-8), as bytes: the view reads them
    /// out of text the scanner validated, without checking them again.
    fn str_bytes(self) -> Option<&'a [u8]>;
    /// The number of elements, if an array.
    fn array_len(self) -> Option<usize>;
    /// The number of members (repeated keys included), if an object.
    fn object_len(self) -> Option<usize>;
    /// Calls `f` with each element of an array, in order.
    fn elements<E>(self, f: impl FnMut(usize, Self) -> Result<(), E>) -> Result<(), E>;
    /// Calls `f` with each member of an object, in order.
    fn members<E>(self, f: impl FnMut(&'a [u8], Self) -> Result<(), E>) -> Result<(), E>;
    /// The first member named `key`, if an object.
    fn get(self, key: &str) -> Option<Self>;

    /// The text of a number with a fraction or exponent, as written, when
    /// the representation keeps it (a [`JsonView`] does).
    fn float_text(self) -> Option<&'a [u8]> {
        None
    }

    /// Where [`Json::find_fields`] found a member: small, and `Default`
    /// means not found.
    type Slot: Copy + Default;

    /// Fills `slots[i]` with the first member named like field `i` of
    /// `table`, if an object; `slots` is as long as the table's names and
    /// starts out all default.
    fn find_fields(self, table: &FieldTable, slots: &mut [Self::Slot]);

    /// The member a slot holds.
    fn slot(self, slot: Self::Slot) -> Option<Self>;

    fn is_null(self) -> bool {
        matches!(self.scalar(), Some(StaticNode::Null))
    }
    fn as_bool(self) -> Option<bool> {
        match self.scalar() {
            Some(StaticNode::Bool(b)) => Some(b),
            _ => None,
        }
    }
    fn is_f64(self) -> bool {
        matches!(self.scalar(), Some(StaticNode::F64(_)))
    }
    fn as_i64(self) -> Option<i64> {
        self.scalar().and_then(|s| s.as_i64())
    }
    fn as_u64(self) -> Option<u64> {
        self.scalar().and_then(|s| s.as_u64())
    }
    fn as_f64(self) -> Option<f64> {
        self.scalar().and_then(|s| s.as_f64())
    }
    fn cast_f64(self) -> Option<f64> {
        self.scalar().and_then(|s| s.cast_f64())
    }
    fn is_str(self) -> bool {
        self.str_bytes().is_some()
    }
    fn is_array(self) -> bool {
        self.array_len().is_some()
    }
    fn is_object(self) -> bool {
        self.object_len().is_some()
    }
    /// The JSON type, for choosing a union branch.
    fn json_kind(self) -> JsonKind {
        match self.scalar() {
            Some(StaticNode::Null) => JsonKind::Null,
            Some(StaticNode::Bool(_)) => JsonKind::Bool,
            Some(StaticNode::F64(_)) => JsonKind::Float,
            Some(_) => JsonKind::Integer,
            None if self.is_str() => JsonKind::String,
            None if self.is_array() => JsonKind::Array,
            None => JsonKind::Object,
        }
    }

    /// The JSON type, for error messages.
    fn kind(self) -> &'static str {
        match self.scalar() {
            Some(StaticNode::Null) => "null",
            Some(StaticNode::Bool(_)) => "boolean",
            Some(StaticNode::F64(_)) => "number",
            Some(_) => "integer",
            None if self.is_str() => "string",
            None if self.is_array() => "array",
            None => "object",
        }
    }
}

impl<'a> Json<'a> for &'a BorrowedValue<'_> {
    #[inline]
    fn scalar(self) -> Option<StaticNode> {
        match self {
            BorrowedValue::Static(s) => Some(*s),
            _ => None,
        }
    }

    #[inline]
    fn str_bytes(self) -> Option<&'a [u8]> {
        match self {
            BorrowedValue::String(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    fn array_len(self) -> Option<usize> {
        match self {
            BorrowedValue::Array(a) => Some(a.len()),
            _ => None,
        }
    }

    fn object_len(self) -> Option<usize> {
        match self {
            BorrowedValue::Object(o) => Some(o.len()),
            _ => None,
        }
    }

    fn elements<E>(self, mut f: impl FnMut(usize, Self) -> Result<(), E>) -> Result<(), E> {
        if let BorrowedValue::Array(a) = self {
            for (i, v) in a.iter().enumerate() {
                f(i, v)?;
            }
        }
        Ok(())
    }

    fn members<E>(self, mut f: impl FnMut(&'a [u8], Self) -> Result<(), E>) -> Result<(), E> {
        if let BorrowedValue::Object(o) = self {
            for (k, v) in o.iter() {
                f(k.as_bytes(), v)?;
            }
        }
        Ok(())
    }

    #[inline]
    fn get(self, key: &str) -> Option<Self> {
        match self {
            BorrowedValue::Object(o) => o.get(key),
            _ => None,
        }
    }

    type Slot = Option<Self>;

    fn find_fields(self, table: &FieldTable, slots: &mut [Self::Slot]) {
        for (slot, name) in slots.iter_mut().zip(table.names()) {
            *slot = Json::get(self, name);
        }
    }

    #[inline]
    fn slot(self, slot: Self::Slot) -> Option<Self> {
        slot
    }
}
