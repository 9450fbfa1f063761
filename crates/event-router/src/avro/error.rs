//! Errors of schema compilation and encoding, with the field path they occurred at.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathSegment {
    /// A record field (also a schema field while compiling).
    Field(String),
    /// An array element.
    Index(usize),
    /// A map entry.
    Key(String),
}

/// Where in the event (or schema) an error occurred, e.g. `properties.price`
/// or `products[2].sku`. Displays as `(root)` when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath {
    /// Innermost segment first: errors are built while unwinding.
    reversed: Vec<PathSegment>,
}

impl FieldPath {
    /// The segments, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &PathSegment> {
        self.reversed.iter().rev()
    }

    /// Whether this is the root (no segments).
    pub fn is_root(&self) -> bool {
        self.reversed.is_empty()
    }

    fn push_outer(&mut self, segment: PathSegment) {
        self.reversed.push(segment);
    }

    /// Appends an inner segment (used when the path is known up front).
    pub(crate) fn with_inner(mut self, segment: PathSegment) -> Self {
        self.reversed.insert(0, segment);
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reversed.is_empty() {
            return f.write_str("(root)");
        }
        for (i, segment) in self.segments().enumerate() {
            match segment {
                PathSegment::Field(name) if i == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
                PathSegment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// An Avro schema that cannot be compiled, or an event that does not fit it.
///
/// The `Display` form names the field path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AvroError {
    /// The schema text is not JSON.
    #[error("Avro schema is not valid JSON: {0}")]
    SchemaJson(String),
    /// The schema is not valid Avro; `path` names the schema field.
    #[error("Avro schema, at field `{path}`: {reason}")]
    InvalidSchema {
        /// Field path inside the schema.
        path: FieldPath,
        /// What is wrong.
        reason: String,
    },
    /// A record field is absent from the event and has no default.
    #[error("`{path}`: missing field with no default in the schema")]
    MissingField {
        /// Path of the missing field.
        path: FieldPath,
    },
    /// The JSON value has the wrong type for the schema.
    #[error("`{path}`: expected {expected}, found JSON {found}")]
    TypeMismatch {
        /// Path of the value.
        path: FieldPath,
        /// What the schema wants.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// The JSON value has the right type but an unusable value: out of range,
    /// malformed timestamp or UUID, unknown enum symbol, inexact decimal, ...
    #[error("`{path}`: {reason}")]
    InvalidValue {
        /// Path of the value.
        path: FieldPath,
        /// What is wrong.
        reason: String,
    },
    /// No branch of a union accepts the value.
    #[error("`{path}`: no branch of union {branches} accepts JSON {found}")]
    NoUnionBranch {
        /// Path of the value.
        path: FieldPath,
        /// The union's branch names, e.g. `["null","string"]`.
        branches: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// The value nests deeper than the encoder allows.
    #[error("`{path}`: value nests deeper than {limit} levels")]
    TooDeep {
        /// Path where the limit was reached.
        path: FieldPath,
        /// The limit.
        limit: usize,
    },
}

impl AvroError {
    /// The field path the error refers to, if it has one.
    pub fn path(&self) -> Option<&FieldPath> {
        match self {
            Self::SchemaJson(_) => None,
            Self::InvalidSchema { path, .. }
            | Self::MissingField { path }
            | Self::TypeMismatch { path, .. }
            | Self::InvalidValue { path, .. }
            | Self::NoUnionBranch { path, .. }
            | Self::TooDeep { path, .. } => Some(path),
        }
    }

    /// Prefixes the path with an outer segment (called while unwinding).
    #[cold]
    pub(crate) fn within(mut self, segment: PathSegment) -> Self {
        match &mut self {
            Self::SchemaJson(_) => {}
            Self::InvalidSchema { path, .. }
            | Self::MissingField { path }
            | Self::TypeMismatch { path, .. }
            | Self::InvalidValue { path, .. }
            | Self::NoUnionBranch { path, .. }
            | Self::TooDeep { path, .. } => path.push_outer(segment),
        }
        self
    }

    #[cold]
    pub(crate) fn schema(reason: impl Into<String>) -> Self {
        Self::InvalidSchema {
            path: FieldPath::default(),
            reason: reason.into(),
        }
    }

    #[cold]
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidValue {
            path: FieldPath::default(),
            reason: reason.into(),
        }
    }

    #[cold]
    pub(crate) fn mismatch(expected: &'static str, found: &'static str) -> Self {
        Self::TypeMismatch {
            path: FieldPath::default(),
            expected,
            found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        let e = AvroError::MissingField {
            path: FieldPath::default(),
        }
        .within(PathSegment::Field("price".into()))
        .within(PathSegment::Key("k".into()))
        .within(PathSegment::Index(2))
        .within(PathSegment::Field("properties".into()));
        assert_eq!(
            e.to_string(),
            "`properties[2][\"k\"].price`: missing field with no default in the schema"
        );
        assert_eq!(FieldPath::default().to_string(), "(root)");
    }
}
