//! Schema JSON to encoding plan.
//!
//! The plan is a flat arena of [`Node`]s; named types are referenced by index,
//! so recursive schemas are plain cycles of indices.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use simd_json::prelude::*;
use simd_json::BorrowedValue;

use super::error::{AvroError, FieldPath, PathSegment};

/// Index of a node in [`Plan::nodes`].
pub(crate) type NodeId = u32;

/// Resolution of a timestamp logical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// Nanoseconds per unit.
    pub(crate) fn nanos(self) -> i128 {
        match self {
            Self::Millis => 1_000_000,
            Self::Micros => 1_000,
            Self::Nanos => 1,
        }
    }
}

/// One step of the encoding plan.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Date,
    TimeMillis,
    TimeMicros,
    Timestamp {
        unit: TimeUnit,
        local: bool,
    },
    /// `uuid` on `string`.
    Uuid,
    /// `uuid` on `fixed(16)`.
    UuidFixed,
    Decimal {
        precision: usize,
        scale: usize,
        /// `Some(size)` on `fixed`, `None` on `bytes`.
        fixed: Option<usize>,
    },
    /// `duration` on `fixed(12)`.
    Duration,
    Fixed(usize),
    Enum(Box<[Box<str>]>),
    Array(NodeId),
    Map(NodeId),
    Union(Box<[NodeId]>),
    Record(Box<[Field]>),
    /// A record whose fields are still being compiled.
    Pending,
}

/// A record field.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: Box<str>,
    pub(crate) node: NodeId,
    /// Whether the field's type accepts JSON null (null, or a union with null).
    pub(crate) nullable: bool,
    /// The schema default, as JSON.
    pub(crate) default: Option<BorrowedValue<'static>>,
    /// The schema default, pre-encoded.
    pub(crate) default_bytes: Option<Box<[u8]>>,
}

/// A compiled schema.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) nodes: Vec<Node>,
    /// Full name of each named node (record, enum, fixed, logical types on fixed).
    pub(crate) names: Vec<Option<Box<str>>>,
    /// Per node, the field-name table of a record (empty for other nodes).
    pub(crate) tables: Vec<FieldTable>,
    /// Per node, for a union: by [`JsonKind`], the first branch whose type
    /// can take a JSON value of that kind ([`NO_BRANCH`] if none).
    pub(crate) first_branch: Vec<[u8; JsonKind::COUNT]>,
    pub(crate) root: NodeId,
}

/// The type of a JSON value, as far as choosing a union branch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    Null,
    Bool,
    Integer,
    Float,
    String,
    Array,
    Object,
}

impl JsonKind {
    pub(crate) const COUNT: usize = 7;
    const ALL: [JsonKind; JsonKind::COUNT] = [
        JsonKind::Null,
        JsonKind::Bool,
        JsonKind::Integer,
        JsonKind::Float,
        JsonKind::String,
        JsonKind::Array,
        JsonKind::Object,
    ];
}

/// In [`Plan::first_branch`]: no branch (or beyond 254).
pub(crate) const NO_BRANCH: u8 = u8::MAX;

/// Whether a node could take a JSON value of this kind at all.
pub(crate) fn accepts(node: &Node, kind: JsonKind) -> bool {
    use JsonKind as K;
    let is_string = kind == K::String;
    let is_number = matches!(kind, K::Integer | K::Float);
    match node {
        Node::Null => kind == K::Null,
        Node::Boolean => kind == K::Bool,
        Node::Int | Node::Long => is_number,
        Node::Float | Node::Double => is_number || is_string,
        Node::String | Node::Uuid | Node::UuidFixed | Node::Enum(_) => is_string,
        Node::Bytes | Node::Fixed(_) => is_string || kind == K::Array,
        Node::Date
        | Node::TimeMillis
        | Node::TimeMicros
        | Node::Timestamp { .. }
        | Node::Decimal { .. } => is_string || is_number,
        Node::Duration => matches!(kind, K::Object | K::Array),
        Node::Array(_) => kind == K::Array,
        Node::Map(_) | Node::Record(_) => kind == K::Object,
        Node::Union(_) | Node::Pending => false,
    }
}

/// A record's field names, found by hashing: a JSON key maps to its field
/// index with one hash and (usually) one comparison, so a record is encoded
/// with one pass over the object's members instead of a lookup per field.
#[derive(Debug, Default)]
pub(crate) struct FieldTable {
    /// Field names, in schema order.
    names: Vec<Box<str>>,
    /// Open addressing, a power of two long: field index + 1, 0 when free.
    slots: Vec<u16>,
}

impl FieldTable {
    fn new(fields: &[Field]) -> FieldTable {
        let names: Vec<Box<str>> = fields.iter().map(|f| f.name.clone()).collect();
        if names.len() >= usize::from(u16::MAX) {
            // Too many to index; `find` then answers nothing and callers
            // look fields up one by one.
            return FieldTable {
                names,
                slots: Vec::new(),
            };
        }
        let size = (names.len() * 2).next_power_of_two().max(4);
        let mut slots = vec![0u16; size];
        for (index, name) in names.iter().enumerate() {
            let mut at = field_hash(name.as_bytes()) as usize & (size - 1);
            while slots[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            slots[at] = index as u16 + 1;
        }
        FieldTable { names, slots }
    }

    /// Whether [`FieldTable::find`] answers for this record.
    #[inline]
    pub(crate) fn indexed(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Field names, in schema order.
    pub(crate) fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// The index of the field named `key`.
    #[inline]
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = field_hash(key) as usize & mask;
        loop {
            let index = usize::from(*self.slots.get(at)?).checked_sub(1)?;
            if self
                .names
                .get(index)
                .is_some_and(|n| same_name(n.as_bytes(), key))
            {
                return Some(index);
            }
            at = (at + 1) & mask;
        }
    }
}

/// `a == b`, for the short strings field names are: up to 16 bytes are
/// compared as two overlapping words each, without a call to `memcmp`.
#[inline]
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// A cheap hash of a field name: its length and up to eight bytes from each
/// end, multiplied and folded.
#[inline]
fn field_hash(key: &[u8]) -> u32 {
    let n = key.len();
    let word = |bytes: &[u8]| {
        let mut w = [0u8; 8];
        let len = bytes.len().min(8);
        w[..len].copy_from_slice(&bytes[..len]);
        u64::from_le_bytes(w)
    };
    let head = word(key);
    let tail = word(&key[n.saturating_sub(8)..]);
    let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 32) as u32
}

impl Plan {
    /// The field table of record `id`; an empty one for other nodes.
    pub(crate) fn table(&self, id: NodeId) -> &FieldTable {
        static EMPTY: FieldTable = FieldTable {
            names: Vec::new(),
            slots: Vec::new(),
        };
        self.tables.get(id as usize).unwrap_or(&EMPTY)
    }

    /// The first branch of union `id` that can take a value of `kind`.
    #[inline]
    pub(crate) fn first_branch(&self, id: NodeId, kind: JsonKind) -> Option<usize> {
        let index = *self.first_branch.get(id as usize)?.get(kind as usize)?;
        (index != NO_BRANCH).then_some(usize::from(index))
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        // Ids come from the compiler and always index the arena; `Null` is
        // never reached for a valid id.
        self.nodes.get(id as usize).unwrap_or(&Node::Null)
    }

    /// The name a union branch goes by in Avro's JSON encoding: the primitive
    /// type name, `array`, `map`, or the full name of a named type.
    pub(crate) fn branch_name(&self, id: NodeId) -> &str {
        if let Some(Some(name)) = self.names.get(id as usize) {
            return name;
        }
        match self.node(id) {
            Node::Null => "null",
            Node::Boolean => "boolean",
            Node::Int | Node::Date | Node::TimeMillis => "int",
            Node::Long | Node::TimeMicros | Node::Timestamp { .. } => "long",
            Node::Float => "float",
            Node::Double => "double",
            Node::Bytes | Node::Decimal { .. } => "bytes",
            Node::String | Node::Uuid => "string",
            Node::Array(_) => "array",
            Node::Map(_) => "map",
            Node::Union(_) => "union",
            Node::Record(_) | Node::Pending => "record",
            Node::Enum(_) => "enum",
            Node::Fixed(_) | Node::UuidFixed | Node::Duration => "fixed",
        }
    }
}

/// Names of the primitive types, which are never namespaced.
const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Field-level `type` strings that RudderStack's schemas (goavro) accept inline.
const INLINE_COMPLEX: [&str; 6] = ["record", "error", "enum", "fixed", "array", "map"];

/// Field attributes that belong to the field, not to a lifted inline type.
const FIELD_ONLY: [&str; 4] = ["default", "doc", "order", "aliases"];

/// Rewrites the goavro dialect into standard Avro, in place.
///
/// goavro compiles a record field's JSON object itself as the field's schema,
/// so RudderStack users write `{"name": "context", "type": "record",
/// "fields": [..]}` for a nested record. Standard Avro wants
/// `{"name": "context", "type": {"type": "record", "name": "context", ..}}`.
/// A field whose `type` is one of [`INLINE_COMPLEX`], or which carries a
/// `logicalType` next to a primitive `type`, is lifted that way (the nested
/// type takes the field's name, as in goavro). Standard schemas are unchanged.
pub(crate) fn normalize(schema: &mut Json) {
    match schema {
        Json::Array(branches) => branches.iter_mut().for_each(normalize),
        Json::Object(map) => {
            if let Some(Json::Array(fields)) = map.get_mut("fields") {
                for field in fields.iter_mut() {
                    if let Json::Object(field) = field {
                        lift_inline_type(field);
                        if let Some(ty) = field.get_mut("type") {
                            normalize(ty);
                        }
                    }
                }
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = map.get_mut(key) {
                    if !inner.is_string() {
                        normalize(inner);
                    }
                }
            }
        }
        _ => {}
    }
}

fn lift_inline_type(field: &mut Map<String, Json>) {
    let Some(Json::String(ty)) = field.get("type") else {
        return;
    };
    let complex = INLINE_COMPLEX.contains(&ty.as_str());
    let logical = PRIMITIVES.contains(&ty.as_str()) && field.contains_key("logicalType");
    if !complex && !logical {
        return;
    }
    let Some(Json::String(name)) = field.get("name").cloned() else {
        return;
    };
    let mut lifted = Map::new();
    let mut kept = Map::new();
    for (k, v) in std::mem::take(field) {
        if k == "name" {
            kept.insert(k.clone(), v.clone());
            if complex {
                lifted.insert(k, v);
            }
        } else if FIELD_ONLY.contains(&k.as_str()) {
            kept.insert(k, v);
        } else {
            lifted.insert(k, v);
        }
    }
    if complex && !lifted.contains_key("name") {
        lifted.insert("name".into(), Json::String(name));
    }
    kept.insert("type".into(), Json::Object(lifted));
    *field = kept;
}

/// Compiles normalized schema JSON into a plan (without defaults encoded).
pub(crate) fn compile(schema: &Json) -> Result<(Plan, Vec<DefaultSite>), AvroError> {
    let mut c = Compiler {
        nodes: Vec::new(),
        names: Vec::new(),
        by_name: HashMap::new(),
        path: Vec::new(),
        defaults: Vec::new(),
    };
    for node in [
        Node::Null,
        Node::Boolean,
        Node::Int,
        Node::Long,
        Node::Float,
        Node::Double,
        Node::Bytes,
        Node::String,
    ] {
        c.push(node, None);
    }
    let root = c.schema(schema, None)?;
    let tables = c
        .nodes
        .iter()
        .map(|node| match node {
            Node::Record(fields) => FieldTable::new(fields),
            _ => FieldTable::default(),
        })
        .collect();
    let first_branch = c
        .nodes
        .iter()
        .map(|node| match node {
            Node::Union(branches) => JsonKind::ALL.map(|kind| {
                branches
                    .iter()
                    .position(|&b| c.nodes.get(b as usize).is_some_and(|n| accepts(n, kind)))
                    .and_then(|i| u8::try_from(i).ok())
                    .filter(|&i| i != NO_BRANCH)
                    .unwrap_or(NO_BRANCH)
            }),
            _ => [NO_BRANCH; JsonKind::COUNT],
        })
        .collect();
    Ok((
        Plan {
            nodes: c.nodes,
            names: c.names,
            tables,
            first_branch,
            root,
        },
        c.defaults,
    ))
}

/// A record field with a default, to be pre-encoded once the plan is complete.
#[derive(Debug)]
pub(crate) struct DefaultSite {
    pub(crate) record: NodeId,
    pub(crate) field: usize,
    pub(crate) path: FieldPath,
}

struct Compiler {
    nodes: Vec<Node>,
    names: Vec<Option<Box<str>>>,
    by_name: HashMap<String, NodeId>,
    /// Field names from the root to the field being compiled.
    path: Vec<String>,
    defaults: Vec<DefaultSite>,
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

impl Compiler {
    fn push(&mut self, node: Node, name: Option<String>) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(node);
        self.names.push(name.map(String::into_boxed_str));
        id
    }

    fn schema(&mut self, schema: &Json, ns: Option<&str>) -> Result<NodeId, AvroError> {
        match schema {
            Json::String(name) => self.by_type_name(name, ns),
            Json::Array(branches) => self.union(branches, ns),
            Json::Object(map) => self.object(map, ns),
            other => Err(AvroError::schema(format!(
                "a schema is a type name, a union array or an object, not a JSON {}",
                kind(other)
            ))),
        }
    }

    fn by_type_name(&mut self, name: &str, ns: Option<&str>) -> Result<NodeId, AvroError> {
        if let Some(i) = PRIMITIVES.iter().position(|p| *p == name) {
            return Ok(i as NodeId);
        }
        let qualified = match ns {
            Some(ns) if !name.contains('.') => self.by_name.get(&format!("{ns}.{name}")),
            _ => None,
        };
        qualified
            .or_else(|| self.by_name.get(name))
            .copied()
            .ok_or_else(|| {
                AvroError::schema(format!(
                    "unknown type `{name}` (named types must be defined before use; \
                     a nested record is written {{\"type\": {{\"type\": \"record\", ..}}}})"
                ))
            })
    }

    fn union(&mut self, branches: &[Json], ns: Option<&str>) -> Result<NodeId, AvroError> {
        let mut ids = Vec::with_capacity(branches.len());
        for branch in branches {
            if branch.is_array() {
                return Err(AvroError::schema("a union may not contain a union"));
            }
            let id = self.schema(branch, ns)?;
            if matches!(self.nodes.get(id as usize), Some(Node::Union(_))) {
                return Err(AvroError::schema("a union may not contain a union"));
            }
            ids.push(id);
        }
        Ok(self.push(Node::Union(ids.into_boxed_slice()), None))
    }

    fn object(&mut self, map: &Map<String, Json>, ns: Option<&str>) -> Result<NodeId, AvroError> {
        let ty = map
            .get("type")
            .ok_or_else(|| AvroError::schema("schema object has no \"type\""))?;
        let ty = match ty {
            Json::String(ty) => ty.as_str(),
            nested @ (Json::Object(_) | Json::Array(_)) => return self.schema(nested, ns),
            other => {
                return Err(AvroError::schema(format!(
                    "\"type\" must be a string, object or array, not a JSON {}",
                    kind(other)
                )))
            }
        };
        let logical = map.get("logicalType").and_then(Json::as_str);
        match ty {
            "record" | "error" => self.record(map, ns),
            "enum" => self.enumeration(map, ns),
            "fixed" => self.fixed(map, ns, logical),
            "array" => {
                let items = map
                    .get("items")
                    .ok_or_else(|| AvroError::schema("array schema has no \"items\""))?;
                let items = self.schema(items, ns)?;
                Ok(self.push(Node::Array(items), None))
            }
            "map" => {
                let values = map
                    .get("values")
                    .ok_or_else(|| AvroError::schema("map schema has no \"values\""))?;
                let values = self.schema(values, ns)?;
                Ok(self.push(Node::Map(values), None))
            }
            primitive if PRIMITIVES.contains(&primitive) => {
                let node = match (primitive, logical) {
                    ("int", Some("date")) => Node::Date,
                    ("int", Some("time-millis")) => Node::TimeMillis,
                    ("long", Some("time-micros")) => Node::TimeMicros,
                    ("long", Some(logical)) => match timestamp(logical) {
                        Some((unit, local)) => Node::Timestamp { unit, local },
                        None => return self.by_type_name(primitive, None),
                    },
                    ("string", Some("uuid")) => Node::Uuid,
                    ("bytes", Some("decimal")) => match decimal_params(map, None) {
                        Some((precision, scale)) => Node::Decimal {
                            precision,
                            scale,
                            fixed: None,
                        },
                        None => Node::Bytes,
                    },
                    ("bytes", Some("big-decimal")) => {
                        return Err(AvroError::schema(
                            "logical type big-decimal is not supported; use decimal",
                        ))
                    }
                    _ => return self.by_type_name(primitive, None),
                };
                Ok(self.push(node, None))
            }
            reference => self.by_type_name(reference, ns),
        }
    }

    /// Full name and namespace of a named type definition.
    fn full_name(
        &self,
        map: &Map<String, Json>,
        ns: Option<&str>,
    ) -> Result<(String, Option<String>), AvroError> {
        let name = match map.get("name") {
            Some(Json::String(name)) if !name.is_empty() => name,
            _ => return Err(AvroError::schema("named type has no \"name\"")),
        };
        if let Some((space, short)) = name.rsplit_once('.') {
            check_name(short, name)?;
            check_namespace(space)?;
            return Ok((name.clone(), Some(space.to_owned())));
        }
        check_name(name, name)?;
        let space = match map.get("namespace") {
            Some(Json::String(space)) if space.is_empty() => None,
            Some(Json::String(space)) => Some(space.clone()),
            Some(Json::Null) | None => ns.map(str::to_owned),
            Some(other) => {
                return Err(AvroError::schema(format!(
                    "\"namespace\" must be a string, not a JSON {}",
                    kind(other)
                )))
            }
        };
        if let Some(space) = &space {
            check_namespace(space)?;
        }
        let full = match &space {
            Some(space) => format!("{space}.{name}"),
            None => name.clone(),
        };
        Ok((full, space))
    }

    fn define(&mut self, full: String, node: Node) -> Result<NodeId, AvroError> {
        if self.by_name.contains_key(&full) || PRIMITIVES.contains(&full.as_str()) {
            return Err(AvroError::schema(format!("type `{full}` is defined twice")));
        }
        let id = self.push(node, Some(full.clone()));
        self.by_name.insert(full, id);
        Ok(id)
    }

    fn record(&mut self, map: &Map<String, Json>, ns: Option<&str>) -> Result<NodeId, AvroError> {
        let (full, space) = self.full_name(map, ns)?;
        let fields = match map.get("fields") {
            Some(Json::Array(fields)) => fields,
            _ => {
                return Err(AvroError::schema(format!(
                    "record `{full}` has no \"fields\" array"
                )))
            }
        };
        let id = self.define(full, Node::Pending)?;
        let mut compiled: Vec<Field> = Vec::with_capacity(fields.len());
        for (index, field) in fields.iter().enumerate() {
            let name = field.get("name").and_then(Json::as_str);
            let segment = name.map_or_else(|| format!("#{index}"), str::to_owned);
            self.path.push(segment.clone());
            let result = self.field(field, space.as_deref(), &compiled);
            self.path.pop();
            let field = result.map_err(|e| e.within(PathSegment::Field(segment)))?;
            if field.default.is_some() {
                let mut path = FieldPath::default();
                for name in self
                    .path
                    .iter()
                    .chain(std::iter::once(&field.name.to_string()))
                {
                    path = path.with_inner(PathSegment::Field(name.clone()));
                }
                self.defaults.push(DefaultSite {
                    record: id,
                    field: compiled.len(),
                    path,
                });
            }
            compiled.push(field);
        }
        if let Some(slot) = self.nodes.get_mut(id as usize) {
            *slot = Node::Record(compiled.into_boxed_slice());
        }
        Ok(id)
    }

    fn field(
        &mut self,
        field: &Json,
        ns: Option<&str>,
        done: &[Field],
    ) -> Result<Field, AvroError> {
        let Json::Object(field) = field else {
            return Err(AvroError::schema(format!(
                "a record field is a JSON object, not a JSON {}",
                kind(field)
            )));
        };
        let name = match field.get("name") {
            Some(Json::String(name)) => name,
            _ => return Err(AvroError::schema("record field has no \"name\"")),
        };
        if done.iter().any(|f| &*f.name == name) {
            return Err(AvroError::schema(format!("field `{name}` appears twice")));
        }
        let ty = field
            .get("type")
            .ok_or_else(|| AvroError::schema("record field has no \"type\""))?;
        let node = self.schema(ty, ns)?;
        let nullable = match self.nodes.get(node as usize) {
            Some(Node::Null) => true,
            Some(Node::Union(branches)) => branches.contains(&0),
            _ => false,
        };
        Ok(Field {
            name: name.as_str().into(),
            node,
            nullable,
            default: field.get("default").map(to_borrowed),
            default_bytes: None,
        })
    }

    fn enumeration(
        &mut self,
        map: &Map<String, Json>,
        ns: Option<&str>,
    ) -> Result<NodeId, AvroError> {
        let (full, _) = self.full_name(map, ns)?;
        let symbols = match map.get("symbols") {
            Some(Json::Array(symbols)) => symbols,
            _ => {
                return Err(AvroError::schema(format!(
                    "enum `{full}` has no \"symbols\" array"
                )))
            }
        };
        let mut out: Vec<Box<str>> = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            let Json::String(symbol) = symbol else {
                return Err(AvroError::schema(format!(
                    "enum `{full}` has a symbol that is not a string"
                )));
            };
            if out.iter().any(|s| **s == **symbol) {
                return Err(AvroError::schema(format!(
                    "enum `{full}` lists symbol `{symbol}` twice"
                )));
            }
            out.push(symbol.as_str().into());
        }
        self.define(full, Node::Enum(out.into_boxed_slice()))
    }

    fn fixed(
        &mut self,
        map: &Map<String, Json>,
        ns: Option<&str>,
        logical: Option<&str>,
    ) -> Result<NodeId, AvroError> {
        let (full, _) = self.full_name(map, ns)?;
        let size = map
            .get("size")
            .and_then(Json::as_u64)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| {
                AvroError::schema(format!(
                    "fixed `{full}` has no non-negative integer \"size\""
                ))
            })?;
        let node = match logical {
            Some("decimal") => match decimal_params(map, Some(size)) {
                Some((precision, scale)) => Node::Decimal {
                    precision,
                    scale,
                    fixed: Some(size),
                },
                None => Node::Fixed(size),
            },
            Some("uuid") if size == 16 => Node::UuidFixed,
            Some("duration") if size == 12 => Node::Duration,
            _ => Node::Fixed(size),
        };
        self.define(full, node)
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, the specification's rule for names.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_name(short: &str, full: &str) -> Result<(), AvroError> {
    if is_name(short) {
        Ok(())
    } else {
        Err(AvroError::schema(format!(
            "invalid name `{full}`: names match [A-Za-z_][A-Za-z0-9_]*"
        )))
    }
}

fn check_namespace(space: &str) -> Result<(), AvroError> {
    if space.split('.').all(is_name) {
        Ok(())
    } else {
        Err(AvroError::schema(format!(
            "invalid namespace `{space}`: dot-separated names"
        )))
    }
}

fn timestamp(logical: &str) -> Option<(TimeUnit, bool)> {
    Some(match logical {
        "timestamp-millis" => (TimeUnit::Millis, false),
        "timestamp-micros" => (TimeUnit::Micros, false),
        "timestamp-nanos" => (TimeUnit::Nanos, false),
        "local-timestamp-millis" => (TimeUnit::Millis, true),
        "local-timestamp-micros" => (TimeUnit::Micros, true),
        "local-timestamp-nanos" => (TimeUnit::Nanos, true),
        _ => return None,
    })
}

/// `(precision, scale)` of a valid decimal; `None` makes the logical type
/// ignored, as the Avro specification asks for invalid logical types.
fn decimal_params(map: &Map<String, Json>, fixed: Option<usize>) -> Option<(usize, usize)> {
    let precision = usize::try_from(map.get("precision")?.as_u64()?).ok()?;
    let scale = match map.get("scale") {
        None => 0,
        Some(scale) => usize::try_from(scale.as_u64()?).ok()?,
    };
    if precision == 0 || scale > precision {
        return None;
    }
    if let Some(size) = fixed {
        // Largest precision a two's-complement number of `size` bytes holds.
        let bits = size.checked_mul(8)?.checked_sub(1)?;
        let max = (bits as f64 * std::f64::consts::LOG10_2).floor();
        if precision as f64 > max {
            return None;
        }
    }
    Some((precision, scale))
}

/// Converts a schema default to the value type the encoder reads.
fn to_borrowed(json: &Json) -> BorrowedValue<'static> {
    match json {
        Json::Null => BorrowedValue::null(),
        Json::Bool(b) => BorrowedValue::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                BorrowedValue::from(i)
            } else if let Some(u) = n.as_u64() {
                BorrowedValue::from(u)
            } else {
                BorrowedValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => BorrowedValue::String(Cow::Owned(s.clone())),
        Json::Array(items) => {
            BorrowedValue::Array(Box::new(items.iter().map(to_borrowed).collect()))
        }
        Json::Object(map) => {
            let mut object = BorrowedValue::object_with_capacity(map.len());
            if let Some(o) = object.as_object_mut() {
                for (k, v) in map {
                    o.insert(Cow::Owned(k.clone()), to_borrowed(v));
                }
            }
            object
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lifts_goavro_inline_record() {
        let mut schema = json!({
            "type": "record", "name": "R", "fields": [
                {"name": "ctx", "type": "record", "doc": "d", "fields": [
                    {"name": "tags", "type": "array", "items": "string", "default": []}
                ]},
                {"name": "ts", "type": "long", "logicalType": "timestamp-millis"},
                {"name": "plain", "type": "string", "default": "x"}
            ]
        });
        normalize(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "record", "name": "R", "fields": [
                    {"name": "ctx", "doc": "d", "type": {"type": "record", "name": "ctx", "fields": [
                        {"name": "tags", "default": [], "type": {"type": "array", "name": "tags", "items": "string"}}
                    ]}},
                    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                    {"name": "plain", "type": "string", "default": "x"}
                ]
            })
        );
    }

    #[test]
    fn decimal_params_follow_the_spec() {
        let m = |v: Json| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            decimal_params(&m(json!({"precision": 4, "scale": 2})), None),
            Some((4, 2))
        );
        assert_eq!(
            decimal_params(&m(json!({"precision": 4})), None),
            Some((4, 0))
        );
        assert_eq!(
            decimal_params(&m(json!({"precision": 2, "scale": 3})), None),
            None
        );
        assert_eq!(decimal_params(&m(json!({"precision": 0})), None), None);
        assert_eq!(decimal_params(&m(json!({"scale": 1})), None), None);
        // fixed(2) holds at most 4 digits (32767).
        assert_eq!(
            decimal_params(&m(json!({"precision": 4})), Some(2)),
            Some((4, 0))
        );
        assert_eq!(decimal_params(&m(json!({"precision": 5})), Some(2)), None);
        assert_eq!(decimal_params(&m(json!({"precision": 1})), Some(0)), None);
    }
    #[test]
    fn same_name_agrees_with_equality() {
        let base: Vec<u8> = (b'a'..=b'z').collect();
        for n in 0..=20 {
            let a = &base[..n];
            assert!(same_name(a, a));
            for m in 0..=20 {
                assert_eq!(same_name(a, &base[..m]), n == m, "{n} {m}");
            }
            // One byte different, at each position.
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] = b'-';
                assert!(!same_name(a, &b), "{n} {at}");
            }
        }
    }
}
