//! The router's index of a JSON body: a [`JsonView`], built by the
//! router's own scanner while it validates a request body, and read by the
//! Avro encoder through the [`Json`] trait.
//!
//! A `JsonView` is a flat list of nodes in document order (each knows how
//! many nodes its subtree has), so building one allocates nothing once its
//! buffers have grown, and strings without escapes are slices of the text.
//! It reads JSON exactly as simd-json does, so both entry points encode the same bytes:
//!
//! - Integers are `u64` when not negative and `i64` when negative; an integer
//!   outside both ranges makes the text invalid, as does a number that
//!   overflows `f64`. Numbers with a fraction or exponent are `f64`
//!   (correctly rounded), parsed from their text when first read as a
//!   number; the text itself is what a `decimal` reads (see
//!   [`Json::float_text`]), the one place where the view keeps more than
//!   simd-json does.
//! - A repeated object key keeps every occurrence: lookups find the first,
//!   maps list all of them in document order.

use simd_json::prelude::*;
use simd_json::StaticNode;

use super::error::AvroError;
use super::json::Json;
use super::schema::{same_name, FieldTable, JsonKind};
use crate::scan::{self, Kind, Scanner, Sink, Stop};

/// A JSON document indexed for [`super::AvroSchema::encode_view`]: the
/// text, and one node per value (and per key) with its byte range.
///
/// The encoder reads a view through a `Doc`: the view's nodes and the
/// bytes they point into, which for the router's body index are the
/// request body itself (not a copy of it) and the view's own text after it.
///
/// Reusable: [`JsonView::parse`] replaces the content and keeps the buffers,
/// so a long-lived view allocates nothing per document once it has grown.
#[derive(Debug, Default)]
pub struct JsonView {
    text: String,
    nodes: Vec<ViewNode>,
    /// Contents of strings with escapes, decoded.
    decoded: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ViewNode {
    item: Item,
    /// The number of nodes in this node's subtree, itself included: the
    /// next sibling is `size` nodes on. Relative, so that a subtree copied
    /// elsewhere (an event out of a batch) needs no rewriting.
    size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Scalar(StaticNode),
    /// A string's contents: a range of the text, or of `decoded` if it had
    /// escapes.
    Str {
        start: u32,
        end: u32,
        src: Src,
    },
    /// A number with a fraction or exponent, known to be finite as `f64`:
    /// its text, parsed when read as a number.
    Float {
        start: u32,
        end: u32,
        src: Src,
    },
    Array(u32),
    Object(u32),
}

/// Which bytes of a [`Doc`] a node's range is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    /// [`Doc::text`]: the text indexed (a view's own, or a request body).
    Text,
    /// [`Doc::extra`]: a body index's text after the body (the enrichment).
    Extra,
    /// [`Doc::decoded`]: contents of strings with escapes, decoded.
    Decoded,
}

/// A view as the encoder reads it: the nodes, and the bytes their ranges
/// are of. Every string range holds valid UTF-8: `text` is text the
/// scanner validated (each string is checked as it is scanned, before its
/// node is made), `extra` is a `String`, and `decoded` is what
/// [`scan::unescape_into`] writes of validated strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc<'a> {
    nodes: &'a [ViewNode],
    text: &'a [u8],
    extra: &'a [u8],
    decoded: &'a [u8],
}

impl<'a> Doc<'a> {
    /// The root value; `None` for a view without a document.
    pub(crate) fn root(&'a self) -> Option<At<'a>> {
        (!self.nodes.is_empty()).then_some(At { doc: self, i: 0 })
    }

    #[inline]
    fn node(&self, i: usize) -> ViewNode {
        self.nodes.get(i).copied().unwrap_or(NULL_NODE)
    }

    #[inline]
    fn bytes(&self, start: u32, end: u32, src: Src) -> Option<&'a [u8]> {
        let range = start as usize..end as usize;
        match src {
            Src::Text => self.text.get(range),
            Src::Extra => self.extra.get(range),
            Src::Decoded => self.decoded.get(range),
        }
    }
}

const NULL_NODE: ViewNode = ViewNode {
    item: Item::Scalar(StaticNode::Null),
    size: u32::MAX,
};

impl JsonView {
    /// An empty view.
    pub fn new() -> JsonView {
        JsonView::default()
    }

    /// Validates `json` (UTF-8 and RFC 8259, nesting up to 128 levels) and
    /// indexes it, replacing what the view held.
    pub fn parse(&mut self, json: &[u8]) -> Result<(), AvroError> {
        self.fill(|text| text.extend_from_slice(json))
    }

    /// Replaces the text with what `write` appends to an empty buffer, then
    /// validates and indexes it.
    pub(crate) fn fill(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), AvroError> {
        self.fill_with(write, false)
    }

    /// [`JsonView::fill`] for text assembled from JSON that was validated
    /// already (the router's enriched events), indexed by a quicker pass
    /// that checks only the structure it walks, not string contents or the
    /// number grammar. On valid JSON the view is the one [`JsonView::fill`]
    /// makes; should the pass find anything amiss, the text is validated and
    /// indexed in full instead.
    pub(crate) fn fill_valid(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), AvroError> {
        self.fill_with(write, true)
    }

    /// Indexes an event as the router enriches it, without assembling the
    /// enriched text: `event`, a JSON object the router validated, with the
    /// value of the last top-level member named `replace[i].0` replaced by
    /// the JSON value `replace[i].1`, and its closing brace replaced by
    /// `tail` (members, each after a comma when one precedes it, then `}`).
    /// The view is the one [`JsonView::fill_valid`] makes of that text.
    ///
    /// Returns `false`, leaving no document, when the overlay cannot be
    /// expressed this way (a replacement that is an array or object, a name
    /// the event lacks) or the quick pass declines the event (say, an integer
    /// out of range); the caller then assembles the text instead.
    #[cfg(test)]
    pub(crate) fn fill_event(
        &mut self,
        event: &[u8],
        replace: &[(&str, &[u8])],
        tail: &[u8],
    ) -> bool {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        self.nodes.clear();
        self.decoded.clear();
        bytes.extend_from_slice(event);
        for (_, json) in replace {
            // A space after each value, so that adjacent numbers stay apart.
            bytes.extend_from_slice(json);
            bytes.push(b' ');
        }
        bytes.extend_from_slice(tail);
        self.text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.clear();
                self.text = String::from_utf8(bytes).unwrap_or_default();
                return false;
            }
        };
        if u32::try_from(self.text.len()).is_err() {
            return false;
        }
        let mut quick = Quick::new(self.text.as_bytes(), &mut self.nodes, &mut self.decoded);
        if quick.overlay(event.len(), replace).is_err() {
            self.nodes.clear();
            self.decoded.clear();
            return false;
        }
        true
    }

    fn fill_with(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>),
        valid: bool,
    ) -> Result<(), AvroError> {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        self.nodes.clear();
        self.decoded.clear();
        write(&mut bytes);
        self.text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                // Keep the buffer for the next document.
                let mut bytes = e.into_bytes();
                bytes.clear();
                self.text = String::from_utf8(bytes).unwrap_or_default();
                return Err(not_json(&format!("invalid UTF-8 at byte {offset}")));
            }
        };
        if u32::try_from(self.text.len()).is_err() {
            return Err(not_json("text of 4 GiB or more"));
        }
        if valid {
            let mut quick = Quick::new(self.text.as_bytes(), &mut self.nodes, &mut self.decoded);
            if quick.document().is_ok() {
                return Ok(());
            }
            self.nodes.clear();
            self.decoded.clear();
        }
        let buf = self.text.as_bytes();
        let mut s = Scanner::new(buf);
        let mut builder = Builder {
            text: buf,
            nodes: &mut self.nodes,
            decoded: &mut self.decoded,
            number_error: None,
            lenient: false,
            top: 0,
            count: 0,
        };
        let built = builder.value(&mut s, 0).and_then(|_| s.finish());
        if let Some(what) = builder.number_error {
            self.nodes.clear();
            return Err(not_json(what));
        }
        if built.is_err() {
            self.nodes.clear();
            return Err(not_json(&s.error().to_string()));
        }
        Ok(())
    }

    /// The document, for the encoder: no root before a successful
    /// [`JsonView::parse`].
    pub(crate) fn doc(&self) -> Doc<'_> {
        Doc {
            nodes: &self.nodes,
            text: self.text.as_bytes(),
            extra: &[],
            decoded: &self.decoded,
        }
    }
}

/// The nodes of a whole request body, built by a [`Builder`] while the
/// router's scanner validates it, from which [`BodyIndex::fill_event`] makes
/// the view of one event with the router's enrichment laid over it, the
/// event's bytes having been walked once.
///
/// The body's bytes are not copied: nodes of the body point into it, and
/// the caller passes the same body again to [`BodyIndex::fill_event`] and
/// [`BodyIndex::doc`].
#[derive(Debug, Default)]
pub(crate) struct BodyIndex {
    /// Text: the current event's enrichment (the body's ranges are of the
    /// body). Decoded: the body's strings, then the enrichment's. Nodes:
    /// the current event.
    view: JsonView,
    body: Vec<ViewNode>,
    body_len: usize,
    decoded_len: usize,
    ready: bool,
}

impl BodyIndex {
    /// Starts indexing `body`: the builder's nodes follow what the caller
    /// scans of the same bytes. Call [`BodyIndex::end_body`] once the scan
    /// succeeded (which also makes the body valid UTF-8).
    pub(crate) fn start<'b>(&'b mut self, body: &'b [u8]) -> Builder<'b> {
        self.ready = false;
        self.body.clear();
        self.view.nodes.clear();
        self.view.decoded.clear();
        self.view.text.clear();
        self.body_len = body.len();
        Builder {
            text: body,
            nodes: &mut self.body,
            decoded: &mut self.view.decoded,
            number_error: None,
            lenient: true,
            top: 0,
            count: 0,
        }
    }

    /// The body's nodes are complete.
    pub(crate) fn end_body(&mut self) {
        self.decoded_len = self.view.decoded.len();
        self.ready = u32::try_from(self.body_len).is_ok();
    }

    /// [`JsonView::fill_event`] for the event object whose node is `root`
    /// in `body` (the body indexed), without walking its bytes again;
    /// `false` (and no document) in the same cases, or when the body was
    /// not indexed.
    pub(crate) fn fill_event(
        &mut self,
        body: &[u8],
        root: usize,
        replace: &[(&str, &[u8])],
        tail: &[u8],
    ) -> bool {
        let view = &mut self.view;
        view.nodes.clear();
        if !self.ready || body.len() != self.body_len {
            return false;
        }
        view.text.clear();
        view.decoded.truncate(self.decoded_len);
        let end = match self.body.get(root) {
            Some(ViewNode {
                item: Item::Object(_),
                size,
            }) => root + *size as usize,
            _ => return false,
        };
        let Some(nodes) = self.body.get(root..end) else {
            return false;
        };
        // Sizes are relative: the event's nodes are copied as they are.
        view.nodes.extend_from_slice(nodes);
        // As in `JsonView::fill_event`: a space after each value.
        for (i, piece) in replace
            .iter()
            .map(|(_, json)| *json)
            .chain([tail])
            .enumerate()
        {
            let Ok(piece) = std::str::from_utf8(piece) else {
                view.nodes.clear();
                return false;
            };
            view.text.push_str(piece);
            if i < replace.len() {
                view.text.push(' ');
            }
        }
        if u32::try_from(view.text.len()).is_err() {
            view.nodes.clear();
            return false;
        }
        // The enrichment is parsed as text after the body: its ranges are
        // of `Doc::extra`.
        let mut quick = Quick {
            text: view.text.as_bytes(),
            src: Src::Extra,
            body,
            pos: 0,
            nodes: &mut view.nodes,
            decoded: &mut view.decoded,
        };
        if quick.overlay_rest(replace).is_err() {
            view.nodes.clear();
            return false;
        }
        true
    }

    /// The document [`BodyIndex::fill_event`] made of `body`; `None` for
    /// another body than the one indexed.
    pub(crate) fn doc<'a>(&'a self, body: &'a [u8]) -> Option<Doc<'a>> {
        (self.ready && body.len() == self.body_len).then_some(Doc {
            nodes: &self.view.nodes,
            text: body,
            extra: self.view.text.as_bytes(),
            decoded: &self.view.decoded,
        })
    }
}

#[cold]
fn not_json(what: &str) -> AvroError {
    AvroError::invalid(format!("event is not JSON: {what}"))
}

pub(crate) struct Builder<'t> {
    text: &'t [u8],
    nodes: &'t mut Vec<ViewNode>,
    decoded: &'t mut Vec<u8>,
    number_error: Option<&'static str>,
    /// Record a number out of range in `number_error` and go on (with a
    /// `null` node) rather than stop the scan.
    lenient: bool,
    /// While [`Scanner::container_into`] reports to the builder: the node
    /// of the innermost open container, and the nodes made directly inside
    /// it so far. An open container's node holds the same two of the one
    /// around it until it closes.
    top: u32,
    count: u32,
}

impl Builder<'_> {
    /// Scans one value with `s` (over the same text as the builder) and
    /// appends its nodes.
    pub(crate) fn value(&mut self, s: &mut Scanner<'_>, depth: u32) -> Result<scan::Val, Stop> {
        match s.peek() {
            Some(b'{' | b'[') => self.container(s, depth),
            _ => {
                let v = s.value(depth)?;
                match v.kind() {
                    Kind::String => self.string(v),
                    Kind::Number => self.number(v.start() as usize, v.end() as usize)?,
                    Kind::True => self.leaf(Item::Scalar(StaticNode::Bool(true))),
                    Kind::False => self.leaf(Item::Scalar(StaticNode::Bool(false))),
                    _ => self.leaf(Item::Scalar(StaticNode::Null)),
                }
                Ok(v)
            }
        }
    }

    /// An object or array and everything in it, in one loop of the scanner
    /// that reports each value to the builder (see [`Sink`]), rather than a
    /// call per value.
    #[inline(never)]
    fn container(&mut self, s: &mut Scanner<'_>, depth: u32) -> Result<scan::Val, Stop> {
        s.container_into(depth, self)
    }

    /// The node of the number `start..end` of the text (valid by the
    /// grammar): an integer, a float kept as its text, or, out of range, an
    /// error (a `null` node in a lenient builder).
    #[inline(always)]
    fn number(&mut self, start: usize, end: usize) -> Result<(), Stop> {
        let raw = self.text.get(start..end);
        let item = match raw.map(number) {
            Some(Ok(Some(n))) => Item::Scalar(n),
            Some(Ok(None)) => Item::Float {
                start: start as u32,
                end: end as u32,
                src: Src::Text,
            },
            Some(Err(what)) => {
                self.number_error = Some(what);
                if !self.lenient {
                    return Err(Stop);
                }
                Item::Scalar(StaticNode::Null)
            }
            None => Item::Scalar(StaticNode::Null),
        };
        self.leaf(item);
        Ok(())
    }

    /// Appends an object node whose members follow; returns it for
    /// [`Builder::close_object`].
    pub(crate) fn open_object(&mut self) -> usize {
        self.nodes.push(NULL_NODE);
        self.nodes.len() - 1
    }

    /// Closes the object node `at` with `count` members.
    pub(crate) fn close_object(&mut self, at: usize, count: u32) {
        self.close(at, Item::Object(count));
    }

    /// [`Builder::open_object`] for an array.
    pub(crate) fn open_array(&mut self) -> usize {
        self.open_object()
    }

    /// Closes the array node `at` with `count` elements.
    pub(crate) fn close_array(&mut self, at: usize, count: u32) {
        self.close(at, Item::Array(count));
    }

    /// Appends the node of a member's key.
    pub(crate) fn key(&mut self, key: scan::Val) {
        self.string(key);
    }

    /// Takes back the record of a number out of range since the last call.
    pub(crate) fn take_number_error(&mut self) -> bool {
        self.number_error.take().is_some()
    }

    fn leaf(&mut self, item: Item) {
        self.nodes.push(ViewNode { item, size: 1 });
    }

    fn close(&mut self, at: usize, item: Item) {
        let size = self.nodes.len().saturating_sub(at) as u32;
        if let Some(node) = self.nodes.get_mut(at) {
            *node = ViewNode { item, size };
        }
    }

    fn string(&mut self, v: scan::Val) {
        self.string_at(v.start() as usize, v.end() as usize, v.escaped());
    }

    /// The node of the string `start..end` of the text (quotes included).
    #[inline(always)]
    fn string_at(&mut self, start: usize, end: usize, escaped: bool) {
        let item = if escaped {
            let from = self.decoded.len() as u32;
            let body = self
                .text
                .get(start + 1..end.saturating_sub(1))
                .unwrap_or_default();
            scan::unescape_into(body, self.decoded);
            Item::Str {
                start: from,
                end: self.decoded.len() as u32,
                src: Src::Decoded,
            }
        } else {
            Item::Str {
                start: start as u32 + 1,
                end: (end as u32).saturating_sub(1),
                src: Src::Text,
            }
        };
        self.leaf(item);
    }
}

/// The builder as the scanner's [`Sink`]: one node per value and key. Each
/// container counts the nodes made directly inside it (keys and values
/// alike, so an object's members are half of them).
impl Sink for Builder<'_> {
    #[inline(always)]
    fn open(&mut self, _object: bool) {
        self.count += 1;
        let at = self.nodes.len() as u32;
        // Until it closes, the node keeps the state of the container around
        // it.
        self.nodes.push(ViewNode {
            item: Item::Array(self.count),
            size: self.top,
        });
        self.top = at;
        self.count = 0;
    }

    #[inline(always)]
    fn close(&mut self, object: bool) {
        let at = self.top as usize;
        let size = self.nodes.len().saturating_sub(at) as u32;
        let count = self.count;
        if let Some(node) = self.nodes.get_mut(at) {
            if let Item::Array(outer) = node.item {
                self.count = outer;
            }
            self.top = node.size;
            node.item = if object {
                Item::Object(count / 2)
            } else {
                Item::Array(count)
            };
            node.size = size;
        }
    }

    #[inline(always)]
    fn string(&mut self, start: usize, end: usize, escaped: bool) {
        self.count += 1;
        self.string_at(start, end, escaped);
    }

    #[inline(always)]
    fn number(&mut self, start: usize, end: usize) -> Result<(), Stop> {
        self.count += 1;
        Builder::number(self, start, end)
    }

    #[inline(always)]
    fn literal(&mut self, kind: Kind) {
        self.count += 1;
        self.leaf(Item::Scalar(match kind {
            Kind::True => StaticNode::Bool(true),
            Kind::False => StaticNode::Bool(false),
            _ => StaticNode::Null,
        }));
    }
}

/// Indexes JSON text known to be valid, in one pass that checks only the
/// structure it walks (brackets, `:` and `,`, literals, number ranges as
/// [`number`] does) and no string contents; any surprise is an error, after
/// which the caller indexes the text with the validating [`Builder`]. For
/// valid JSON the nodes are those [`Builder`] makes.
struct Quick<'t> {
    /// The bytes walked.
    text: &'t [u8],
    /// What the ranges of `text` are of, in the document.
    src: Src,
    /// The document's [`Doc::text`] (for member names of the nodes in place
    /// when `text` is [`Doc::extra`]).
    body: &'t [u8],
    pos: usize,
    nodes: &'t mut Vec<ViewNode>,
    decoded: &'t mut Vec<u8>,
}

impl<'t> Quick<'t> {
    /// A pass over a whole document's `text`.
    fn new(text: &'t [u8], nodes: &'t mut Vec<ViewNode>, decoded: &'t mut Vec<u8>) -> Self {
        Quick {
            text,
            src: Src::Text,
            body: text,
            pos: 0,
            nodes,
            decoded,
        }
    }

    fn document(&mut self) -> Result<(), ()> {
        self.value(0)?;
        match self.skip_ws() {
            None => Ok(()),
            Some(_) => Err(()),
        }
    }

    /// [`JsonView::fill_event`]'s pass: the event object (the text's first
    /// `event_len` bytes), then each replacement value in turn, then the
    /// tail's members, appended to the root object.
    #[cfg(test)]
    fn overlay(&mut self, event_len: usize, replace: &[(&str, &[u8])]) -> Result<(), ()> {
        self.value(0)?;
        if self.pos != event_len {
            return Err(());
        }
        self.overlay_rest(replace)
    }

    /// [`Quick::overlay`] past the event, whose nodes are in place.
    fn overlay_rest(&mut self, replace: &[(&str, &[u8])]) -> Result<(), ()> {
        let (mut count, end) = match self.nodes.first() {
            Some(ViewNode {
                item: Item::Object(n),
                size,
            }) => (*n, *size as usize),
            _ => return Err(()),
        };
        for (name, json) in replace {
            let target = self.last_root_member(end, name.as_bytes()).ok_or(())?;
            let at = self.nodes.len();
            let piece_end = self.pos + json.len();
            self.value(1)?;
            if self.pos != piece_end || self.nodes.len() != at + 1 {
                return Err(());
            }
            self.pos += 1;
            let node = self.nodes.pop().ok_or(())?;
            self.nodes.get_mut(target).ok_or(())?.item = node.item;
        }
        loop {
            match self.skip_ws() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => self.pos += 1,
                Some(b'"') => {
                    self.string()?;
                    if self.skip_ws() != Some(b':') {
                        return Err(());
                    }
                    self.pos += 1;
                    self.value(1)?;
                    count += 1;
                }
                _ => return Err(()),
            }
        }
        if self.pos != self.text.len() {
            return Err(());
        }
        let size = self.nodes.len() as u32;
        let root = self.nodes.first_mut().ok_or(())?;
        *root = ViewNode {
            item: Item::Object(count),
            size,
        };
        Ok(())
    }

    /// The node index of the value of the root object's last member named
    /// `name`; `end` is the index after the root's subtree.
    fn last_root_member(&self, end: usize, name: &[u8]) -> Option<usize> {
        let mut found = None;
        let mut i = 1;
        while i + 1 < end {
            let key = match self.nodes.get(i)?.item {
                Item::Str { start, end, src } => {
                    let range = start as usize..end as usize;
                    match src {
                        Src::Text => self.body.get(range),
                        Src::Extra if self.src == Src::Extra => self.text.get(range),
                        Src::Extra => None,
                        Src::Decoded => self.decoded.get(range),
                    }
                }
                _ => None,
            };
            if key == Some(name) {
                found = Some(i + 1);
            }
            let size = self.nodes.get(i + 1)?.size as usize;
            if size == 0 {
                return None;
            }
            i += 1 + size;
        }
        found
    }

    /// The next byte that is not whitespace, without consuming it.
    #[inline]
    fn skip_ws(&mut self) -> Option<u8> {
        let buf = self.text;
        while let Some(&c) = buf.get(self.pos) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.pos += 1;
        }
        None
    }

    fn value(&mut self, depth: u32) -> Result<(), ()> {
        match self.skip_ws().ok_or(())? {
            b'{' => {
                if depth >= scan::MAX_DEPTH {
                    return Err(());
                }
                let at = self.nodes.len();
                self.nodes.push(NULL_NODE);
                self.pos += 1;
                let mut count = 0u32;
                if self.skip_ws() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        if self.skip_ws() != Some(b'"') {
                            return Err(());
                        }
                        self.string()?;
                        if self.skip_ws() != Some(b':') {
                            return Err(());
                        }
                        self.pos += 1;
                        self.value(depth + 1)?;
                        count += 1;
                        match self.skip_ws() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                self.close(at, Item::Object(count));
            }
            b'[' => {
                if depth >= scan::MAX_DEPTH {
                    return Err(());
                }
                let at = self.nodes.len();
                self.nodes.push(NULL_NODE);
                self.pos += 1;
                let mut count = 0u32;
                if self.skip_ws() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.value(depth + 1)?;
                        count += 1;
                        match self.skip_ws() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                self.close(at, Item::Array(count));
            }
            b'"' => self.string()?,
            b't' => self.literal(b"true", StaticNode::Bool(true))?,
            b'f' => self.literal(b"false", StaticNode::Bool(false))?,
            b'n' => self.literal(b"null", StaticNode::Null)?,
            b'-' | b'0'..=b'9' => {
                let buf = self.text;
                let start = self.pos;
                let mut end = start + 1;
                while buf
                    .get(end)
                    .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    end += 1;
                }
                self.pos = end;
                let raw = self.text.get(start..end).ok_or(())?;
                if !is_json_number(raw) {
                    return Err(());
                }
                let item = match number(raw) {
                    Ok(Some(n)) => Item::Scalar(n),
                    Ok(None) => Item::Float {
                        start: start as u32,
                        end: end as u32,
                        src: self.src,
                    },
                    Err(_) => return Err(()),
                };
                self.leaf(item);
            }
            _ => return Err(()),
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], node: StaticNode) -> Result<(), ()> {
        let end = self.pos + word.len();
        if self.text.get(self.pos..end) != Some(word) {
            return Err(());
        }
        self.pos = end;
        self.leaf(Item::Scalar(node));
        Ok(())
    }

    /// The string whose opening quote is at the cursor.
    fn string(&mut self) -> Result<(), ()> {
        let buf = self.text;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = quote_or_backslash(buf, i);
            match buf.get(i) {
                Some(b'"') => break,
                Some(_) => {
                    escaped = true;
                    i += 2;
                }
                None => return Err(()),
            }
        }
        self.pos = i + 1;
        let item = if escaped {
            let from = self.decoded.len() as u32;
            scan::unescape_into(buf.get(start..i).ok_or(())?, self.decoded);
            Item::Str {
                start: from,
                end: self.decoded.len() as u32,
                src: Src::Decoded,
            }
        } else {
            Item::Str {
                start: start as u32,
                end: i as u32,
                src: self.src,
            }
        };
        self.leaf(item);
        Ok(())
    }

    #[inline]
    fn leaf(&mut self, item: Item) {
        self.nodes.push(ViewNode { item, size: 1 });
    }

    fn close(&mut self, at: usize, item: Item) {
        let size = self.nodes.len().saturating_sub(at) as u32;
        if let Some(node) = self.nodes.get_mut(at) {
            *node = ViewNode { item, size };
        }
    }
}

/// Whether `s` is a number by RFC 8259's grammar:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
fn is_json_number(s: &[u8]) -> bool {
    fn digits(s: &[u8], i: &mut usize) -> usize {
        let from = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    }
    let mut i = usize::from(s.first() == Some(&b'-'));
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(s, &mut i);
        }
        _ => return false,
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        if digits(s, &mut i) == 0 {
            return false;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(s, &mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

/// The index of the first `"` or `\` at or after `i` (or `buf.len()`),
/// eight bytes at a time.
#[inline]
fn quote_or_backslash(buf: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = buf.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let q = w ^ (ONES * u64::from(b'"'));
        let b = w ^ (ONES * u64::from(b'\\'));
        // A zero byte in q or b; bits above the first one may be spurious,
        // the lowest is exact.
        let hits = ((q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)) & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = buf.get(i) {
        if c == b'"' || c == b'\\' {
            return i;
        }
        i += 1;
    }
    i
}

/// A JSON number as simd-json reads it: an integer, or `None` for a number
/// with a fraction or exponent that is finite as `f64` (parsed when read,
/// see [`float`]). `raw` passed the JSON number grammar.
fn number(raw: &[u8]) -> Result<Option<StaticNode>, &'static str> {
    let Some(mark) = raw.iter().position(|c| matches!(c, b'.' | b'e' | b'E')) else {
        let (negative, digits) = match raw {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, raw),
        };
        let mut magnitude: u64 = 0;
        for &c in digits {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return Err("invalid number");
            }
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(digit)))
                .ok_or("integer out of range")?;
        }
        return if !negative {
            Ok(Some(StaticNode::U64(magnitude)))
        } else if magnitude <= 1 << 63 {
            // -2^63 is i64::MIN, which `wrapping_neg` leaves as it is.
            Ok(Some(StaticNode::I64((magnitude as i64).wrapping_neg())))
        } else {
            Err("integer out of range")
        };
    };
    // |value| < 10^(integer digits + exponent); f64 holds up to 1.7e308,
    // so only numbers near that bound need a full parse to be checked.
    let int_digits = raw[..mark]
        .iter()
        .skip_while(|&&c| matches!(c, b'-' | b'0'))
        .count() as i64;
    let exponent = match raw.iter().position(|c| matches!(c, b'e' | b'E')) {
        None => 0,
        Some(e) => {
            let tail = &raw[e + 1..];
            let (negative, digits) = match tail {
                [b'-', rest @ ..] => (true, rest),
                [b'+', rest @ ..] => (false, rest),
                _ => (false, tail),
            };
            let magnitude = digits.iter().fold(0i64, |acc, d| {
                acc.saturating_mul(10)
                    .saturating_add(i64::from(d.wrapping_sub(b'0')))
            });
            if negative {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    if int_digits.saturating_add(exponent) <= 300 {
        return Ok(None);
    }
    match parse_f64(raw) {
        Some(f) if f.is_finite() => Ok(None),
        _ => Err("number out of range"),
    }
}

/// `raw` (a JSON number, so ASCII) as the correctly rounded `f64`.
fn parse_f64(raw: &[u8]) -> Option<f64> {
    std::str::from_utf8(raw).ok()?.parse::<f64>().ok()
}

/// The value of a number [`number`] accepted as finite.
fn float(raw: &[u8]) -> StaticNode {
    StaticNode::F64(parse_f64(raw).unwrap_or(0.0))
}

/// A value in a [`Doc`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    doc: &'a Doc<'a>,
    i: usize,
}

impl<'a> At<'a> {
    #[inline]
    fn node(self) -> ViewNode {
        self.doc.node(self.i)
    }

    /// `(key index, value index)` of each member, in order.
    #[inline]
    fn each_member<E>(self, mut f: impl FnMut(usize) -> Result<(), E>) -> Result<(), E> {
        let node = self.node();
        if let Item::Object(_) = node.item {
            let end = self.i + node.size as usize;
            let mut i = self.i + 1;
            while i < end {
                f(i)?;
                // Past the key, then past the value's subtree.
                let size = self.doc.node(i + 1).size as usize;
                if size == 0 {
                    break;
                }
                i += 1 + size;
            }
        }
        Ok(())
    }

    fn key(self, i: usize) -> Option<&'a [u8]> {
        match self.doc.node(i).item {
            Item::Str { start, end, src } => self.doc.bytes(start, end, src),
            _ => None,
        }
    }
}

impl<'a> Json<'a> for At<'a> {
    #[inline]
    fn scalar(self) -> Option<StaticNode> {
        match self.node().item {
            Item::Scalar(s) => Some(s),
            Item::Float { start, end, src } => Some(float(self.doc.bytes(start, end, src)?)),
            _ => None,
        }
    }

    #[inline]
    fn is_f64(self) -> bool {
        matches!(self.node().item, Item::Float { .. })
    }

    #[inline]
    fn json_kind(self) -> JsonKind {
        match self.node().item {
            Item::Scalar(StaticNode::Null) => JsonKind::Null,
            Item::Scalar(StaticNode::Bool(_)) => JsonKind::Bool,
            Item::Scalar(StaticNode::F64(_)) | Item::Float { .. } => JsonKind::Float,
            Item::Scalar(_) => JsonKind::Integer,
            Item::Str { .. } => JsonKind::String,
            Item::Array(_) => JsonKind::Array,
            Item::Object(_) => JsonKind::Object,
        }
    }

    fn float_text(self) -> Option<&'a [u8]> {
        match self.node().item {
            Item::Float { start, end, src } => self.doc.bytes(start, end, src),
            _ => None,
        }
    }

    #[inline]
    fn str_bytes(self) -> Option<&'a [u8]> {
        match self.node().item {
            Item::Str { start, end, src } => self.doc.bytes(start, end, src),
            _ => None,
        }
    }

    fn array_len(self) -> Option<usize> {
        match self.node().item {
            Item::Array(n) => Some(n as usize),
            _ => None,
        }
    }

    fn object_len(self) -> Option<usize> {
        match self.node().item {
            Item::Object(n) => Some(n as usize),
            _ => None,
        }
    }

    fn elements<E>(self, mut f: impl FnMut(usize, Self) -> Result<(), E>) -> Result<(), E> {
        let node = self.node();
        if let Item::Array(_) = node.item {
            let end = self.i + node.size as usize;
            let mut i = self.i + 1;
            let mut index = 0;
            while i < end {
                f(index, At { doc: self.doc, i })?;
                index += 1;
                let size = self.doc.node(i).size as usize;
                if size == 0 {
                    break;
                }
                i += size;
            }
        }
        Ok(())
    }

    fn members<E>(self, mut f: impl FnMut(&'a [u8], Self) -> Result<(), E>) -> Result<(), E> {
        self.each_member(|i| {
            let key = self.key(i).unwrap_or_default();
            f(
                key,
                At {
                    doc: self.doc,
                    i: i + 1,
                },
            )
        })
    }

    #[inline]
    fn get(self, key: &str) -> Option<Self> {
        let key = key.as_bytes();
        let found = self.each_member(|i| {
            // Lengths first: most keys differ in length.
            let same_len = matches!(self.doc.node(i).item,
                Item::Str { start, end, .. } if end.saturating_sub(start) as usize == key.len());
            if same_len && self.key(i) == Some(key) {
                Err(i + 1)
            } else {
                Ok(())
            }
        });
        found.err().map(|i| At { doc: self.doc, i })
    }

    /// The node index of the member's value; 0 (the root) for none.
    type Slot = u32;

    /// One pass over the members. Each key is first compared with the
    /// field after the one the previous member matched (members usually
    /// come in schema order), and hashed only when that differs.
    #[inline]
    fn find_fields(self, table: &FieldTable, slots: &mut [u32]) {
        if !table.indexed() {
            for (slot, name) in slots.iter_mut().zip(table.names()) {
                *slot = self.get(name).map_or(0, |v| v.i as u32);
            }
            return;
        }
        let names = table.names();
        let mut expected = 0;
        let _ = self.each_member(|i| {
            let key = self.key(i);
            let field = match (key, names.get(expected)) {
                (Some(key), Some(name)) if same_name(key, name.as_bytes()) => Some(expected),
                (Some(key), _) => table.find(key),
                (None, _) => None,
            };
            if let Some(field) = field {
                expected = field + 1;
                if let Some(slot) = slots.get_mut(field) {
                    if *slot == 0 {
                        *slot = i as u32 + 1;
                    }
                }
            }
            Ok::<(), ()>(())
        });
    }

    #[inline]
    fn slot(self, slot: u32) -> Option<Self> {
        (slot != 0).then_some(At {
            doc: self.doc,
            i: slot as usize,
        })
    }

    #[inline]
    fn is_null(self) -> bool {
        matches!(self.node().item, Item::Scalar(StaticNode::Null))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Both passes over `text`: the quick one's nodes and decoded strings,
    /// or `None` if it declined; and the validating one's, or `None`.
    fn both(text: &str) -> (Option<JsonView>, Option<JsonView>) {
        let mut quick = JsonView::new();
        quick.text = text.to_string();
        let ok = Quick::new(quick.text.as_bytes(), &mut quick.nodes, &mut quick.decoded)
            .document()
            .is_ok();
        let mut full = JsonView::new();
        let valid = full.parse(text.as_bytes()).is_ok();
        (ok.then_some(quick), valid.then_some(full))
    }

    fn assert_same(text: &str) -> Result<(), TestCaseError> {
        match both(text) {
            (Some(q), Some(f)) => {
                prop_assert_eq!(&q.nodes, &f.nodes, "{}", text);
                prop_assert_eq!(&q.decoded, &f.decoded, "{}", text);
            }
            // Declined: the router then validates in full.
            (None, _) => {}
            (Some(_), None) => prop_assert!(false, "quick pass accepted invalid {}", text),
        }
        Ok(())
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "[a-z\"\\\\/\u{0}-\u{1f}\u{e9}\u{1F600} ]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::vec(("[a-z\"\\\\]{0,4}", inner), 0..6).prop_map(|members| {
                    serde_json::Value::Object(members.into_iter().collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn quick_pass_indexes_valid_json_as_the_validating_one(v in json_value()) {
            assert_same(&v.to_string())?;
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
            assert_same(&pretty)?;
            // Valid JSON is always taken by the quick pass.
            prop_assert!(both(&pretty).0.is_some(), "{}", pretty);
        }

        #[test]
        fn quick_pass_reads_numbers_and_repeated_keys_alike(
            a in "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
            b in "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        ) {
            assert_same(&format!(r#"{{"a":{a},"a":[{b}, {a}],"b":{{"\\u0061":{b}}}}}"#))?;
        }

        /// Whatever the bytes, the quick pass returns (no panic, no loop).
        #[test]
        fn quick_pass_survives_any_text(text in "[\\[\\]{}\":,0-9a-z\\\\ .eE+-]{0,40}") {
            let _ = both(&text);
        }
    }

    /// The view's document written out with every member and element in
    /// order (repeated keys kept), as the encoder would read it.
    fn render(v: At<'_>, out: &mut String) {
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("valid UTF-8");
        if let Some(s) = v.str_bytes() {
            out.push_str(&format!("{:?}", text(s)));
        } else if v.is_array() {
            out.push('[');
            let _ = v.elements(|_, e| {
                render(e, out);
                out.push(',');
                Ok::<(), ()>(())
            });
            out.push(']');
        } else if v.is_object() {
            out.push_str(&format!("{{{}:", v.object_len().unwrap_or(0)));
            let _ = v.members(|k, m| {
                out.push_str(&format!("{:?}=", text(k)));
                render(m, out);
                out.push(',');
                Ok::<(), ()>(())
            });
            out.push('}');
        } else {
            let float = v.float_text().map(text);
            out.push_str(&format!("{:?}|{:?}", v.scalar(), float));
        }
    }

    fn rendered(view: &JsonView) -> Option<String> {
        let mut out = String::new();
        let doc = view.doc();
        render(doc.root()?, &mut out);
        Some(out)
    }

    /// An event object from `members` (key and value JSON), the enriched
    /// text the router would assemble from it, and what `fill_event` makes
    /// of the same overlay: both rendered, or `None` for a declined overlay.
    fn overlay_and_assembled(
        members: &[(&str, &str)],
        replace: &[(&str, &str)],
        tail: &[(&str, &str)],
    ) -> (Option<String>, String) {
        // Keys are JSON string contents, escapes and all.
        let member = |k: &str, v: &str| format!("\"{k}\":{v}");
        let decoded =
            |k: &str| serde_json::from_str::<String>(&format!("\"{k}\"")).unwrap_or_default();
        let event = format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| member(k, v))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut values: Vec<&str> = members.iter().map(|(_, v)| *v).collect();
        for (name, json) in replace {
            if let Some(i) = members.iter().rposition(|(k, _)| decoded(k) == *name) {
                values[i] = json;
            }
        }
        let mut all: Vec<String> = members
            .iter()
            .zip(&values)
            .map(|((k, _), v)| member(k, v))
            .collect();
        let tail_members: Vec<String> = tail.iter().map(|(k, v)| member(k, v)).collect();
        all.extend(tail_members.iter().cloned());
        let assembled = format!("{{{}}}", all.join(","));
        let tail_text = format!(
            "{}{}}}",
            if members.is_empty() || tail.is_empty() {
                ""
            } else {
                ","
            },
            tail_members.join(",")
        );
        let mut full = JsonView::new();
        let _ = full.fill_valid(|t| t.extend_from_slice(assembled.as_bytes()));
        let pieces: Vec<(&str, &[u8])> = replace.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        let mut view = JsonView::new();
        let overlay = view
            .fill_event(event.as_bytes(), &pieces, tail_text.as_bytes())
            .then(|| rendered(&view).unwrap_or_default());
        (overlay, rendered(&full).unwrap_or_default())
    }

    fn assert_overlay(members: &[(&str, &str)], replace: &[(&str, &str)], tail: &[(&str, &str)]) {
        let (overlay, assembled) = overlay_and_assembled(members, replace, tail);
        assert_eq!(
            overlay.as_deref(),
            Some(&*assembled),
            "{members:?} {replace:?} {tail:?}"
        );
    }

    #[test]
    fn overlay_replaces_the_last_member_and_appends_the_tail() {
        let now = r#""2026-11-22T01:00:00.000Z""#;
        // receivedAt present (a string, then an object), messageId null.
        assert_overlay(
            &[
                ("type", r#""track""#),
                ("receivedAt", r#""old""#),
                ("messageId", "null"),
            ],
            &[("receivedAt", now), ("messageId", r#""m-1""#)],
            &[],
        );
        assert_overlay(
            &[
                ("receivedAt", r#"{"a":[1,2.5,{"b":"\u00e9"}]}"#),
                ("x", "1"),
            ],
            &[("receivedAt", now)],
            &[("messageId", r#""m-2""#)],
        );
        // Repeated keys: only the last occurrence gets the new value, and
        // the encoder's lookups still see the first.
        assert_overlay(
            &[
                ("receivedAt", "1"),
                ("receivedAt", "2"),
                ("x", "3"),
                ("receivedAt", "4"),
            ],
            &[("receivedAt", now)],
            &[],
        );
        // An escaped key is the same member.
        assert_overlay(
            &[("receiv\\u0065dAt", "1"), ("a\\\"", "2")],
            &[("receivedAt", now)],
            &[],
        );
        // The empty event, and the tail with a batch context and integrations.
        assert_overlay(&[], &[], &[("receivedAt", now), ("messageId", r#""m-3""#)]);
        assert_overlay(
            &[
                ("type", r#""track""#),
                ("context", "null"),
                ("integrations", "{}"),
            ],
            &[("context", "{}")],
            &[
                ("receivedAt", now),
                ("integrations", r#"{"Kafka":{"topic":"t"}}"#),
                ("context", r#"{"ip":"1.2.3.4","library":{"name":"x"}}"#),
            ],
        );
    }

    #[test]
    fn nested_containers_count_their_members_and_elements() {
        let text = r#"{"a":[],"b":{},"c":[1,[2,3],{"d":[{}]}],"e":{"f":{"g":null},"h":"\u00e9"}}"#;
        let mut view = JsonView::new();
        view.parse(text.as_bytes()).unwrap();
        let doc = view.doc();
        let root = doc.root().unwrap();
        assert_eq!(root.object_len(), Some(4));
        let len = |k: &str| {
            let v = root.get(k).unwrap();
            (v.array_len(), v.object_len())
        };
        assert_eq!(len("a"), (Some(0), None));
        assert_eq!(len("b"), (None, Some(0)));
        assert_eq!(len("c"), (Some(3), None));
        assert_eq!(len("e"), (None, Some(2)));
        assert_eq!(
            rendered(&view).as_deref(),
            Some(
                r#"{4:"a"=[],"b"={0:},"c"=[Some(U64(1))|None,[Some(U64(2))|None,Some(U64(3))|None,],{1:"d"=[{0:},],},],"e"={2:"f"={1:"g"=Some(Null)|None,},"h"="é",},}"#
            )
        );
        // The same through the quick pass.
        let (quick, full) = both(text);
        assert_eq!(quick.unwrap().nodes, full.unwrap().nodes);
    }

    #[test]
    fn numbers_out_of_range_inside_containers_are_not_json() {
        for (text, reason) in [
            (r#"{"a":[1,{"b":1e400}]}"#, "number out of range"),
            (r#"[[-1e400]]"#, "number out of range"),
            (
                r#"{"a":{"b":[18446744073709551616]}}"#,
                "integer out of range",
            ),
            (r#"[0,-9223372036854775809]"#, "integer out of range"),
        ] {
            let mut view = JsonView::new();
            let e = view.parse(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(reason), "{text}: {e}");
            assert!(view.doc().root().is_none(), "{text}");
        }
        let mut view = JsonView::new();
        view.parse(br#"{"a":[18446744073709551615,-9223372036854775808,1.5e308]}"#)
            .unwrap();
    }

    #[test]
    fn overlay_declines_what_it_cannot_express() {
        let (overlay, _) =
            overlay_and_assembled(&[("context", "null")], &[("context", r#"{"a":1}"#)], &[]);
        assert_eq!(overlay, None, "an object in place of a member");
        let (overlay, _) = overlay_and_assembled(&[("x", "1")], &[("receivedAt", "1")], &[]);
        assert_eq!(overlay, None, "a member the event lacks");
        let (overlay, _) = overlay_and_assembled(&[("x", "1e999")], &[], &[]);
        assert_eq!(overlay, None, "a number out of range");
        let mut view = JsonView::new();
        assert!(!view.fill_event(b"[1]", &[], b"}"));
        assert!(view.doc().root().is_none());
        assert!(
            !view.fill_event(b"{}", &[], b""),
            "a tail without its brace"
        );
    }

    fn member_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("receivedAt".to_string()),
            Just("messageId".to_string()),
            Just("context".to_string()),
            r#"(a|b|\\"|\\\\|\\u0061){0,3}"#,
        ]
    }

    fn scalar_json() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            any::<i64>().prop_map(|i| i.to_string()),
            "-?[1-9][0-9]{0,3}\\.[0-9]{1,3}",
            "[a-z\"\\\\\u{e9}]{0,6}".prop_map(|s| serde_json::Value::from(s).to_string()),
        ]
    }

    proptest! {
        /// Whatever the event's members (repeated ones included), the
        /// overlay indexes what the assembled text would.
        #[test]
        fn overlay_reads_as_the_assembled_text(
            members in prop::collection::vec(
                (member_name(), prop_oneof![scalar_json(), json_value().prop_map(|v| v.to_string())]),
                0..8,
            ),
            replace in prop::collection::vec((member_name(), scalar_json()), 0..3),
            tail in prop::collection::vec(
                (member_name(), prop_oneof![scalar_json(), json_value().prop_map(|v| v.to_string())]),
                0..3,
            ),
        ) {
            let members: Vec<(&str, &str)> = members.iter().map(|(k, v)| (&**k, &**v)).collect();
            let mut seen = Vec::new();
            let replace: Vec<(&str, &str)> = replace
                .iter()
                .filter(|(k, _)| members.iter().any(|(m, _)| m == k) && !k.contains('\\'))
                .filter(|(k, _)| if seen.contains(k) { false } else { seen.push(k.clone()); true })
                .map(|(k, v)| (&**k, &**v))
                .collect();
            let tail: Vec<(&str, &str)> = tail.iter().map(|(k, v)| (&**k, &**v)).collect();
            let (overlay, assembled) = overlay_and_assembled(&members, &replace, &tail);
            prop_assert_eq!(overlay.as_deref(), Some(&*assembled));
        }
    }
}
