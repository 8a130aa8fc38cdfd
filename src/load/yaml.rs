//! YAML → a span-carrying tree.
//!
//! Built on `saphyr-parser` events. We own the tree so that we can: keep byte spans for every
//! node (saphyr counts characters), report duplicate keys instead of failing, and bound alias
//! expansion and nesting so that hostile input (billion laughs, deep nesting) cannot exhaust
//! memory or the stack.

mod fast;
/// The lexer and budgets of the fast path, shared with the scenario's direct path.
pub(crate) mod lex;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as PSpan};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar. `quoted` is true for quoted or block scalars and `!!str`.
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A scalar's text as a key (`1` → "1", `true` → "true"); `None` for a collection.
    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Null => Some(Cow::Borrowed("null")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The entry (key node, value node) for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_cow().as_deref() == Some(key))
            .map(|(k, v)| (k, v))
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// A scalar as mapping-key text (`1` → "1", `true` → "true").
    pub fn key_text(&self) -> Option<String> {
        self.key_cow().map(Cow::into_owned)
    }

    /// `key_text` without copying a string key (key lookups compare many keys).
    pub fn key_cow(&self) -> Option<Cow<'_, str>> {
        self.value.text()
    }

    /// Converts to JSON the way Kubernetes does (non-string keys become their text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    m.insert(
                        k.key_text().unwrap_or_else(|| "<complex key>".into()),
                        v.to_json(),
                    );
                }
                J::Object(m)
            }
        }
    }

    /// The node at a JSON pointer (`/spec/ports/0/port`), with the key node of the last
    /// segment when it is a mapping entry.
    pub fn pointer(&self, ptr: &str) -> Option<(Option<&Node>, &Node)> {
        let mut cur = self;
        let mut key = None;
        if ptr.is_empty() {
            return Some((None, cur));
        }
        for raw in ptr.strip_prefix('/')?.split('/') {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            match &cur.value {
                Value::Map(_) => {
                    let (k, v) = cur.entry(&seg)?;
                    key = Some(k);
                    cur = v;
                }
                Value::Seq(items) => {
                    cur = items.get(seg.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, cur))
    }
}

/// A problem found while parsing; `span` points at it.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

/// A duplicate mapping key: where it is, and where the key was first defined.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    pub key: String,
    pub span: Span,
    pub first: Span,
}

/// One YAML document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlDoc {
    /// `None` for an empty document.
    pub root: Option<Node>,
    pub span: Span,
    pub duplicates: Vec<DuplicateKey>,
}

/// Result of parsing a stream: the documents read before any error, and the error.
#[derive(Debug, Default)]
pub struct Parsed {
    pub docs: Vec<YamlDoc>,
    pub error: Option<YamlError>,
}

/// Bounds that keep hostile input cheap. Every count includes alias expansions, so the tree
/// built (and every recursive walk over it: `to_json`, the typed deserialiser) is bounded too.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting of collections, in the expanded tree.
    pub max_depth: usize,
    /// Maximum nodes per document.
    pub max_nodes: usize,
    /// Maximum nodes per file (all its documents).
    pub max_file_nodes: usize,
    /// Maximum scalar bytes per file.
    pub max_file_bytes: usize,
}

impl Default for Limits {
    /// The run's budgets (`crate::limits`).
    fn default() -> Self {
        use crate::limits::{get_usize, Limit};
        Limits {
            max_depth: get_usize(Limit::YamlDepth),
            max_nodes: get_usize(Limit::YamlDocumentNodes),
            max_file_nodes: get_usize(Limit::YamlFileNodes),
            max_file_bytes: get_usize(Limit::YamlFileBytes),
        }
    }
}

/// What all YAML parsed by this process has cost so far (`yaml-run-nodes`, `yaml-run-bytes`):
/// many files each under their own budget must not add up to an unbounded run.
/// Counted only in a run of the binary (`enable_run_budget`): a library caller (a test
/// process parsing many unrelated files) has no run.
static RUN_NODES: AtomicUsize = AtomicUsize::new(0);
static RUN_BYTES: AtomicUsize = AtomicUsize::new(0);
static RUN_BUDGET: AtomicBool = AtomicBool::new(false);

/// Makes every later parse count against the run's budgets (`yaml-run-nodes`,
/// `yaml-run-bytes`); the CLI calls it once at start.
pub fn enable_run_budget() {
    RUN_BUDGET.store(true, Ordering::Relaxed);
}

/// Size of a finished node: nodes and scalar bytes in it, and its height (0 for a scalar).
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
    height: usize,
}

impl Cost {
    fn add(&mut self, c: Cost) {
        self.nodes += c.nodes;
        self.bytes += c.bytes;
        self.height = self.height.max(c.height + 1);
    }
}

/// Converts saphyr's character indices to byte offsets. Markers arrive nearly in order,
/// so a cursor that walks from the last position is linear overall.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            text,
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        // Skip an ASCII run at once: `n` characters are `n` bytes there.
        if self.chars < char_index {
            let n = char_index - self.chars;
            if let Some(run) = self.text.as_bytes().get(self.bytes..self.bytes + n) {
                if run.is_ascii() {
                    self.bytes += n;
                    self.chars += n;
                }
            }
        }
        while self.chars < char_index {
            match self.text[self.bytes..].chars().next() {
                Some(c) => {
                    self.bytes += c.len_utf8();
                    self.chars += 1;
                }
                None => return self.bytes,
            }
        }
        while self.chars > char_index {
            match self.text[..self.bytes].chars().next_back() {
                Some(c) => {
                    self.bytes -= c.len_utf8();
                    self.chars -= 1;
                }
                None => break,
            }
        }
        self.bytes
    }

    fn span(&mut self, s: &PSpan) -> Span {
        let start = self.byte(s.start.index());
        let end = self.byte(s.end.index());
        Span {
            start,
            end: end.max(start),
        }
    }
}

enum Frame {
    /// Its items are `Builder::items[base..]` until it closes: one shared buffer instead of
    /// a growing vector per collection (the close copies them into an exact-size vector).
    Seq {
        start: Span,
        anchor: usize,
        base: usize,
        cost: Cost,
    },
    /// Its entries are `Builder::entries[base..]` until it closes.
    Map {
        start: Span,
        anchor: usize,
        base: usize,
        /// Key text → position in `Builder::entries`, built once the mapping has more than
        /// `INDEXED` entries: duplicate and merge checks stay linear without hashing and
        /// copying every key of the many small mappings.
        index: Option<HashMap<String, usize>>,
        key: Option<Node>,
        cost: Cost,
    },
}

/// Entries a mapping may have before its keys are indexed rather than scanned.
const INDEXED: usize = 16;

/// Parses a YAML stream (one or more documents).
///
/// The fast path (`fast`) reads the common subset of YAML directly; on anything else, and on
/// any error, it declines and the saphyr-parser path reads the text (both build the same tree).
pub fn parse(text: &str, limits: Limits) -> Parsed {
    match fast::parse(text, limits) {
        Some(p) => p,
        None => parse_events(text, limits),
    }
}

/// The fast path alone: `None` where it declines. For the differential tests and the fuzz
/// target; `parse` is the entry point.
#[doc(hidden)]
pub fn parse_fast(text: &str, limits: Limits) -> Option<Parsed> {
    fast::parse(text, limits)
}

/// The saphyr-parser path alone (what `parse` falls back to). For the differential tests,
/// the fuzz target and the benchmark.
#[doc(hidden)]
pub fn parse_events(text: &str, limits: Limits) -> Parsed {
    let mut offsets = Offsets::new(text);
    let mut b = Builder {
        limits,
        out: Parsed::default(),
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        anchors: HashMap::new(),
        doc: None,
        nodes: 0,
        file_nodes: 0,
        file_bytes: 0,
    };
    for item in Parser::new_from_str(text) {
        let step = match item {
            Ok((event, pspan)) => b.event(event, offsets.span(&pspan)),
            Err(e) => {
                let at = offsets.byte(e.marker().index());
                Err(YamlError {
                    message: e.info().to_string(),
                    span: Span { start: at, end: at },
                })
            }
        };
        if let Err(e) = step {
            b.out.error = Some(e);
            break;
        }
    }
    b.out
}

/// The tree under construction: open collections, anchors and the node budget of the
/// current document.
struct Builder {
    limits: Limits,
    out: Parsed,
    stack: Vec<Frame>,
    /// Items of the open sequences, innermost last (`Frame::Seq::base`).
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last (`Frame::Map::base`).
    entries: Vec<(Node, Node)>,
    anchors: HashMap<usize, (Node, Cost)>,
    doc: Option<YamlDoc>,
    nodes: usize,
    file_nodes: usize,
    file_bytes: usize,
}

fn error(message: impl Into<String>, span: Span) -> YamlError {
    YamlError {
        message: message.into(),
        span,
    }
}

impl Builder {
    /// Handles one parser event; a finished node is attached to its parent.
    fn event(&mut self, event: Event, span: Span) -> Result<(), YamlError> {
        let (node, cost) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => return Ok(()),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.nodes = 0;
                self.doc = Some(YamlDoc {
                    root: None,
                    span,
                    duplicates: Vec::new(),
                });
                return Ok(());
            }
            Event::DocumentEnd => {
                if let Some(mut d) = self.doc.take() {
                    d.span.end = span.end.max(d.span.start);
                    self.out.docs.push(d);
                }
                return Ok(());
            }
            Event::SequenceStart(anchor, _) => {
                return self.open(
                    Frame::Seq {
                        start: span,
                        anchor,
                        base: self.items.len(),
                        cost: Cost::default(),
                    },
                    span,
                )
            }
            Event::MappingStart(anchor, _) => {
                return self.open(
                    Frame::Map {
                        start: span,
                        anchor,
                        base: self.entries.len(),
                        index: None,
                        key: None,
                        cost: Cost::default(),
                    },
                    span,
                )
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(span)?,
            Event::Alias(id) => self.alias(id, span)?,
            Event::Scalar(text, style, anchor, tag) => {
                let cost = Cost {
                    nodes: 1,
                    bytes: text.len(),
                    height: 0,
                };
                self.charge(cost, span, "")?;
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style != ScalarStyle::Plain || forced_str {
                    Value::Str(text.into_owned())
                } else {
                    resolve_plain(text)
                };
                let node = Node { span, value };
                register(&mut self.anchors, anchor, &node, cost);
                (node, cost)
            }
        };
        self.attach(node, cost);
        Ok(())
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(error(
                format!("nesting deeper than {} levels", self.limits.max_depth),
                span,
            ));
        }
        // The collection node itself.
        self.charge(
            Cost {
                nodes: 1,
                ..Cost::default()
            },
            span,
            "",
        )?;
        self.stack.push(frame);
        Ok(())
    }

    /// Closes the innermost collection.
    fn close(&mut self, span: Span) -> Result<(Node, Cost), YamlError> {
        let (start, anchor, value, mut cost) = match self.stack.pop() {
            Some(Frame::Seq {
                start,
                anchor,
                base,
                cost,
            }) => (start, anchor, Value::Seq(self.items.split_off(base)), cost),
            Some(Frame::Map {
                start,
                anchor,
                base,
                cost,
                ..
            }) => (
                start,
                anchor,
                Value::Map(self.entries.split_off(base)),
                cost,
            ),
            None => return Err(error("unbalanced collection", span)),
        };
        cost.nodes += 1;
        cost.height = cost.height.max(1);
        let node = closed(start, span, value);
        register(&mut self.anchors, anchor, &node, cost);
        Ok((node, cost))
    }

    /// A copy of the anchored node; it keeps the anchor's spans, so findings inside point
    /// at the original.
    fn alias(&mut self, id: usize, span: Span) -> Result<(Node, Cost), YamlError> {
        let Some(&(_, cost)) = self.anchors.get(&id) else {
            return Err(error("alias to an unknown anchor", span));
        };
        // The expanded tree is what gets walked recursively, so its depth is what is bounded.
        if self.stack.len() + cost.height > self.limits.max_depth {
            return Err(error(
                format!(
                    "alias nests collections deeper than {} levels",
                    self.limits.max_depth
                ),
                span,
            ));
        }
        // Charged before copying, so a bomb stops before it is built.
        self.charge(cost, span, " (alias bomb?)")?;
        Ok((self.anchors[&id].0.clone(), cost))
    }

    /// Charges a node (or an expanded alias) to the document's, the file's and the run's
    /// budgets; `why` is appended to the error.
    fn charge(&mut self, c: Cost, span: Span, why: &str) -> Result<(), YamlError> {
        use crate::limits::{get_usize, Limit};
        self.nodes += c.nodes;
        self.file_nodes += c.nodes;
        self.file_bytes += c.bytes;
        let (run_nodes, run_bytes) = if RUN_BUDGET.load(Ordering::Relaxed) {
            (
                RUN_NODES.fetch_add(c.nodes, Ordering::Relaxed) + c.nodes,
                RUN_BYTES.fetch_add(c.bytes, Ordering::Relaxed) + c.bytes,
            )
        } else {
            (0, 0)
        };
        let over = if self.nodes > self.limits.max_nodes {
            Some(format!(
                "document expands to more than {} nodes",
                self.limits.max_nodes
            ))
        } else if self.file_nodes > self.limits.max_file_nodes {
            Some(format!(
                "file expands to more than {} nodes",
                self.limits.max_file_nodes
            ))
        } else if self.file_bytes > self.limits.max_file_bytes {
            Some(format!(
                "file expands to more than {} bytes of scalars",
                self.limits.max_file_bytes
            ))
        } else if run_nodes > get_usize(Limit::YamlRunNodes) {
            Some(format!(
                "the YAML of this run expands to more than {} nodes (limit yaml-run-nodes)",
                get_usize(Limit::YamlRunNodes)
            ))
        } else if run_bytes > get_usize(Limit::YamlRunBytes) {
            Some(format!(
                "the YAML of this run expands to more than {} bytes of scalars (limit yaml-run-bytes)",
                get_usize(Limit::YamlRunBytes)
            ))
        } else {
            None
        };
        match over {
            Some(m) => Err(error(format!("{m}{why}"), span)),
            None => Ok(()),
        }
    }

    /// Attaches a finished node to its parent, or makes it the document's root.
    fn attach(&mut self, node: Node, c: Cost) {
        match self.stack.last_mut() {
            Some(Frame::Seq { cost, .. }) => {
                cost.add(c);
                self.items.push(node)
            }
            Some(Frame::Map {
                base,
                index,
                key,
                cost,
                ..
            }) => {
                cost.add(c);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        let mut m = OpenMap {
                            entries: &mut self.entries,
                            base: *base,
                            index,
                        };
                        m.insert(k, node, self.doc.as_mut().map(|d| &mut d.duplicates))
                    }
                }
            }
            None => {
                if let Some(d) = self.doc.as_mut() {
                    d.root = Some(node);
                }
            }
        }
    }
}

/// The open mapping's entries (`entries[base..]`) and their key index.
struct OpenMap<'a> {
    entries: &'a mut Vec<(Node, Node)>,
    base: usize,
    index: &'a mut Option<HashMap<String, usize>>,
}

impl OpenMap<'_> {
    /// Position in `entries` of the entry whose key text is `t`.
    fn find(&self, t: &str) -> Option<usize> {
        match &*self.index {
            Some(ix) => ix.get(t).copied(),
            None => self.entries[self.base..]
                .iter()
                .position(|(k, _)| match &k.value {
                    // The common case without building a `Cow`.
                    Value::Str(s) => s == t,
                    _ => k.key_cow().as_deref() == Some(t),
                })
                .map(|i| self.base + i),
        }
    }

    /// Appends an entry whose key is not present yet.
    fn push(&mut self, k: Node, v: Node) {
        match self.index {
            Some(ix) => {
                if let Some(t) = k.key_cow() {
                    ix.insert(t.into_owned(), self.entries.len());
                }
            }
            None if self.entries.len() - self.base >= INDEXED => {
                let mut ix = HashMap::with_capacity(2 * INDEXED);
                for (i, (key, _)) in self.entries.iter().enumerate().skip(self.base) {
                    if let Some(t) = key.key_cow() {
                        ix.entry(t.into_owned()).or_insert(i);
                    }
                }
                if let Some(t) = k.key_cow() {
                    ix.insert(t.into_owned(), self.entries.len());
                }
                *self.index = Some(ix);
            }
            None => {}
        }
        self.entries.push((k, v));
    }

    /// Adds `key: value`: `<<` merges, a repeated key is recorded as a duplicate and the
    /// later value wins (as with Kubernetes' JSON conversion).
    fn insert(&mut self, k: Node, node: Node, duplicates: Option<&mut Vec<DuplicateKey>>) {
        let existing = match k.key_cow() {
            Some(t) if t == "<<" => {
                self.merge(&node);
                return;
            }
            Some(t) => self.find(&t).map(|pos| (pos, t.into_owned())),
            None => None,
        };
        match existing {
            Some((pos, t)) => {
                if let Some(d) = duplicates {
                    d.push(DuplicateKey {
                        key: t,
                        span: k.span,
                        first: self.entries[pos].0.span,
                    });
                }
                self.entries[pos].1 = node;
            }
            None => self.push(k, node),
        }
    }

    /// YAML merge keys (`<<: *base`): add entries that are not already present.
    fn merge(&mut self, source: &Node) {
        let sources: Vec<&Node> = match &source.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![source],
        };
        for src in sources {
            if let Value::Map(m) = &src.value {
                for (k, v) in m {
                    match k.key_cow() {
                        Some(t) if self.find(&t).is_some() => {}
                        // A complex key cannot be compared by text; keep it.
                        _ => self.push(k.clone(), v.clone()),
                    }
                }
            }
        }
    }
}

/// A finished collection spanning from its start event to its end event.
fn closed(start: Span, end: Span, value: Value) -> Node {
    Node {
        span: Span {
            start: start.start,
            end: end.end.max(start.start),
        },
        value,
    }
}

fn register(anchors: &mut HashMap<usize, (Node, Cost)>, anchor: usize, node: &Node, cost: Cost) {
    if anchor != 0 {
        anchors.insert(anchor, (node.clone(), cost));
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema; a string keeps the parser's text
/// without copying it.
fn resolve_plain(text: Cow<'_, str>) -> Value {
    (plain_kind(&text).value()).unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// What a plain scalar resolves to; `Str` is its text as is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl Plain {
    /// The scalar's value, `None` for a string (its text is the value).
    pub(crate) fn value(self) -> Option<Value> {
        match self {
            Plain::Null => Some(Value::Null),
            Plain::Bool(b) => Some(Value::Bool(b)),
            Plain::Int(i) => Some(Value::Int(i)),
            Plain::Float(f) => Some(Value::Float(f)),
            Plain::Str => None,
        }
    }
}

/// The YAML 1.2 core schema's resolution of plain scalar text (`resolve_plain`).
#[inline]
pub(crate) fn plain_kind(s: &str) -> Plain {
    // Every non-string below starts with one of these (most keys and names do not).
    match s.as_bytes().first() {
        None | Some(b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'.' | b'+' | b'-') => {}
        Some(b) if b.is_ascii_digit() => {}
        Some(_) => return Plain::Str,
    }
    resolve_special(s)
}

/// `plain_kind` of text that may be a null, a boolean or a number.
fn resolve_special(s: &str) -> Plain {
    // Short runs of digits (statuses, counts) first: they fit an i64, so the general path
    // below would give the same value.
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        let v = (b.iter()).fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
        return Plain::Int(v);
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        // Past the words above, only a digit, a sign or a dot starts a number (`name`,
        // `no`, `File` are text).
        _ if b[0].is_ascii_alphabetic() => return Plain::Str,
        _ => {}
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Plain::Int(i);
        }
        return s.parse::<f64>().map(Plain::Float).unwrap_or(Plain::Str);
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Plain::Int(i);
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Plain::Int(i);
        }
    }
    let looks_float = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && unsigned.bytes().any(|b| b.is_ascii_digit());
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            return Plain::Float(f);
        }
    }
    Plain::Str
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let p = parse(text, Limits::default());
        assert!(p.error.is_none(), "{:?}", p.error);
        p.docs.into_iter().next().unwrap().root.unwrap()
    }

    #[test]
    fn scalars_resolve_like_the_core_schema() {
        let n = one("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: hello\ng: 0x10\nh: !!str 12\n");
        let j = n.to_json();
        assert_eq!(
            j,
            serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":"hello","g":16,"h":"12"})
        );
    }

    #[test]
    fn runs_of_digits_resolve_as_integers_up_to_i64() {
        assert!(matches!(plain_kind("200"), Plain::Int(200)));
        assert!(matches!(plain_kind("007"), Plain::Int(7)));
        assert!(matches!(
            plain_kind("999999999999999999"),
            Plain::Int(999_999_999_999_999_999)
        ));
        assert!(matches!(
            plain_kind("9223372036854775807"),
            Plain::Int(i64::MAX)
        ));
        assert!(matches!(plain_kind("9223372036854775808"), Plain::Float(_)));
        assert!(matches!(plain_kind("-12"), Plain::Int(-12)));
        assert!(matches!(plain_kind("12a"), Plain::Str));
    }

    #[test]
    fn spans_are_bytes_even_after_non_ascii() {
        let text = "x: \"ééé\"\ny: value\n";
        let n = one(text);
        let v = n.get("y").unwrap();
        assert_eq!(&text[v.span.start..v.span.end], "value");
    }

    #[test]
    fn pointer_finds_nodes_and_keys() {
        let text = "spec:\n  ports:\n  - port: 80\n";
        let n = one(text);
        let (k, v) = n.pointer("/spec/ports/0/port").unwrap();
        assert_eq!(&text[v.span.start..v.span.end], "80");
        assert_eq!(&text[k.unwrap().span.start..k.unwrap().span.end], "port");
        assert!(n.pointer("/spec/nope").is_none());
    }

    #[test]
    fn duplicate_keys_are_reported_and_last_wins() {
        let p = parse("a: 1\nb: 2\na: 3\n", Limits::default());
        let d = &p.docs[0];
        assert_eq!(d.duplicates.len(), 1);
        assert_eq!(d.duplicates[0].key, "a");
        assert_eq!(d.duplicates[0].span.start, 10);
        assert_eq!(d.duplicates[0].first.start, 0);
        assert_eq!(
            d.root.as_ref().unwrap().to_json(),
            serde_json::json!({"a":3,"b":2})
        );
    }

    #[test]
    fn multi_document_streams() {
        let p = parse("a: 1\n---\nb: 2\n---\n", Limits::default());
        assert_eq!(p.docs.len(), 3);
        let last = p.docs[2].root.as_ref().map(|n| n.value.clone());
        assert!(matches!(last, None | Some(Value::Null)));
    }

    #[test]
    fn merge_keys() {
        let n = one("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n");
        assert_eq!(
            n.get("d").unwrap().to_json(),
            serde_json::json!({"y":3,"x":1})
        );
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let p = parse(&text, Limits::default());
        let e = p.error.expect("must stop");
        assert!(e.message.contains("alias bomb"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "[".repeat(10_000);
        let p = parse(&text, Limits::default());
        // Either our bound or the parser's own recursion limit stops it, with a position.
        assert!(p.error.is_some());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let text = "a: 1\nb: [1, 2\nc: 3\n";
        let p = parse(text, Limits::default());
        let e = p.error.unwrap();
        assert!(e.span.start > 5, "{e:?}");
    }

    #[test]
    fn aliases_cannot_nest_past_the_depth_bound() {
        // The text is never more than 3 deep; each alias adds 2 levels to the expanded tree.
        let mut text = String::from("a0: &a0 [[[x]]]\n");
        for i in 1..200 {
            text.push_str(&format!("a{i}: &a{i} [[*a{}]]\n", i - 1));
        }
        let e = parse(&text, Limits::default()).error.expect("must stop");
        assert!(e.message.contains("deeper than 200"), "{}", e.message);
        assert!(e.span.start > 0);
    }

    #[test]
    fn a_large_scalar_times_aliases_is_bounded_by_bytes() {
        let limits = Limits {
            max_file_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut text = format!("s: &s {}\nl:\n", "x".repeat(100_000));
        text.push_str(&"- *s\n".repeat(20));
        let e = parse(&text, limits).error.expect("must stop");
        assert!(e.message.contains("bytes of scalars"), "{}", e.message);
    }

    #[test]
    fn the_file_budget_spans_documents() {
        let limits = Limits {
            max_file_nodes: 1000,
            ..Limits::default()
        };
        let text = "[a, b, c, d, e, f, g, h, i]\n---\n".repeat(200);
        let e = parse(&text, limits).error.expect("must stop");
        assert!(
            e.message.contains("file expands to more than 1000 nodes"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicates_are_found_before_and_after_the_key_index_is_built() {
        // Keys k0..k19 cross `INDEXED`; `k2` repeats after the index exists, `1` (an int)
        // repeats as the string "1" while the mapping is still scanned.
        let mut text = String::from("m:\n  1: a\n  '1': b\n");
        for i in 0..20 {
            text.push_str(&format!("  k{i}: {i}\n"));
        }
        text.push_str("  k2: again\n");
        let p = parse(&text, Limits::default());
        let d = &p.docs[0];
        let keys: Vec<&str> = d.duplicates.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["1", "k2"]);
        assert_eq!(&text[d.duplicates[1].first.start..][..2], "k2");
        let m = d.root.as_ref().unwrap().get("m").unwrap();
        assert_eq!(m.as_map().unwrap().len(), 21);
        assert_eq!(m.get("k2").unwrap().as_str(), Some("again"));
        assert_eq!(m.get("1").unwrap().as_str(), Some("b"));
    }

    #[test]
    fn many_keys_and_merges_are_linear() {
        // 40k keys with a duplicate at the end and a merge of 40k keys: quadratic scans
        // would take minutes here.
        let mut text = String::from("base: &b\n");
        for i in 0..40_000 {
            text.push_str(&format!("  k{i}: {i}\n"));
        }
        text.push_str("  k0: again\nd:\n  <<: *b\n  k1: own\n");
        let p = parse(&text, Limits::default());
        assert!(p.error.is_none());
        let d = &p.docs[0];
        assert_eq!(d.duplicates.len(), 2);
        let m = d.root.as_ref().unwrap().get("d").unwrap().as_map().unwrap();
        assert_eq!(m.len(), 40_000);
    }
}
