//! The direct path: a serde `Deserializer` that reads YAML text itself and drives a file's
//! `Deserialize` impls with no span tree and no intermediate values (the scenario's large
//! `requests:` lists spent two thirds of their parse building and freeing the tree).
//!
//! It reads the subset the fast scanner reads (`yaml::fast`, sharing its lexer
//! `yaml::lex`): block mappings and sequences (compact `- key: v`, indentless sequences),
//! one-line plain and quoted scalars, one-line flow collections, comments, empty values, one
//! document (an optional leading `---`). Its `deserialize_*` methods follow `typed::De`'s
//! under the same [`Dialect`], scalars resolved by `yaml::plain_kind` as on the tree.
//!
//! It only ever succeeds or declines: on anything outside the subset, any syntax or typing
//! error, a duplicate or merge key, a visitor that leaves entries unread, or a budget that
//! would be exceeded it returns `None` without wording anything, and the caller runs the tree
//! path, which reports the problem with its position. Struct fields are read in document
//! order, not `Dialect::struct_order`'s declared order: that order only decides which of
//! several errors is reported first, and any error declines.

use crate::load::typed::Dialect;
use crate::load::yaml::lex::{charge_run, plain_first, plain_start, Budget, Lexer, MAX_KEY, R};
use crate::load::yaml::{plain_kind, Limits, Plain};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Why the direct path stopped: never worded (the tree path words the problem).
#[derive(Debug)]
pub(crate) struct Decline;

impl fmt::Display for Decline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("declined")
    }
}

impl std::error::Error for Decline {}

impl de::Error for Decline {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Decline
    }
}

type Res<T> = Result<T, Decline>;

/// The file's cost, to charge to the run's budgets once the caller keeps the result.
#[must_use]
pub(crate) struct Cost {
    nodes: usize,
    bytes: usize,
}

impl Cost {
    /// Charges the run's budgets (as the tree path would have); `false` if that would exceed
    /// them: then nothing is charged and the caller declines (the tree path reports it).
    pub(crate) fn commit(self) -> bool {
        charge_run(self.nodes, self.bytes)
    }
}

/// `T` typed straight from `text`, with what the file costs; `None` declines.
pub(crate) fn from_text<T: DeserializeOwned>(
    text: &str,
    limits: Limits,
    dialect: Dialect,
) -> Option<(T, Cost)> {
    let mut r = Reader {
        lx: Lexer::new(text),
        b: Budget::new(limits),
        dialect,
        keys: Vec::new(),
    };
    let value = r.document().ok()?;
    Some((
        value,
        Cost {
            nodes: r.b.file_nodes,
            bytes: r.b.file_bytes,
        },
    ))
}

struct Reader<'a> {
    lx: Lexer<'a>,
    b: Budget,
    dialect: Dialect,
    /// Key texts of the open mappings, innermost last (duplicate checks).
    keys: Vec<Cow<'a, str>>,
}

/// A scalar: its text (unescaped if quoted) and what it resolves to (`Str` if quoted).
struct Scalar<'a> {
    text: Cow<'a, str>,
    kind: Plain,
}

/// A mapping key's text as recorded for duplicate checks: a string as it is, another scalar
/// as its value's text (`1` → "1", as the tree's `Value::text`).
fn key_text(text: Cow<'_, str>, kind: Plain) -> Cow<'_, str> {
    match kind {
        Plain::Str => text,
        _ => Cow::Owned(value_text(&text, kind)),
    }
}

/// A scalar's text as the tree's `Value::text` gives it: a non-string's value written out.
fn value_text(text: &str, kind: Plain) -> String {
    match kind.value() {
        Some(v) => v.text().map(Cow::into_owned).unwrap_or_default(),
        None => text.to_string(),
    }
}

/// What starts at the cursor.
enum Head<'a> {
    Scalar(Scalar<'a>),
    /// A block sequence at a column (the cursor at its first `-`); indentless or not.
    BlockSeq(isize, bool),
    /// A block mapping at a column whose first key has been read (the cursor at its `:`).
    BlockMap(isize, Scalar<'a>, usize),
    /// A flow collection (the cursor at `[` or `{`); `true`: the line must end after it.
    Flow(u8, bool),
}

/// Where a node is, which decides what may start there (as `Fast::node`'s `block`).
#[derive(Clone, Copy)]
enum At {
    /// The first content of a line or after `- ` (`true`), or after `key: ` (`false`).
    Node(bool),
    /// An empty value or sequence entry.
    Null,
    /// A mapping's value that is a sequence at the mapping's own column.
    Indentless(isize),
    /// An item of a flow collection.
    Flow,
}

#[inline]
fn ok<T>(r: R<T>) -> Res<T> {
    r.ok_or(Decline)
}

impl<'a> Reader<'a> {
    /// The one document: an optional `---`, the root, then the end of the text.
    fn document<T: DeserializeOwned>(&mut self) -> Res<T> {
        if self.lx.t.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(Decline);
        }
        ok(self.lx.line_content())?;
        match self.lx.marker_here() {
            Some(b'-') => {
                self.lx.pos += 3;
                ok(self.lx.rest_of_line())?;
                ok(self.lx.next_line())?;
            }
            Some(_) => return Err(Decline),
            None => {}
        }
        if self.lx.col < 0 {
            // Empty, or more than one document.
            return Err(Decline);
        }
        let value = T::deserialize(ValueDe {
            r: self,
            at: At::Node(true),
        })?;
        // Scalars are counted unchecked (`Budget::count`): the totals are checked here, as
        // where each collection opens.
        if self.lx.col >= 0 || !self.lx.eof() || !self.b.within() {
            return Err(Decline);
        }
        Ok(value)
    }

    #[inline]
    fn plain(&mut self, start: usize, end: usize) -> Res<Scalar<'a>> {
        self.b.count(end - start);
        let text = &self.lx.s[start..end];
        Ok(Scalar {
            kind: plain_kind(text),
            text: Cow::Borrowed(text),
        })
    }

    #[inline]
    fn quoted(&mut self, q: u8) -> Res<Scalar<'a>> {
        let text = ok(self.lx.quoted(q))?;
        self.b.count(text.len());
        Ok(Scalar {
            text,
            kind: Plain::Str,
        })
    }

    #[inline]
    fn null(&mut self) -> Res<Scalar<'a>> {
        self.b.count(0);
        Ok(Scalar {
            text: Cow::Borrowed(""),
            kind: Plain::Null,
        })
    }

    /// What starts at the cursor, read as `Fast::node` / `flow_item` read it; a scalar is
    /// consumed (with the rest of its line in block context).
    fn head(&mut self, at: At) -> Res<Head<'a>> {
        let lx = &mut self.lx;
        let block = match at {
            At::Null => return self.null().map(Head::Scalar),
            At::Indentless(c) => return Ok(Head::BlockSeq(c, true)),
            At::Flow => {
                return match lx.at(lx.pos) {
                    c @ (b'[' | b'{') => Ok(Head::Flow(c, false)),
                    q @ (b'"' | b'\'') => self.quoted(q).map(Head::Scalar),
                    _ => {
                        let start = lx.pos;
                        let end = ok(lx.flow_plain())?;
                        self.plain(start, end).map(Head::Scalar)
                    }
                }
            }
            At::Node(block) => block,
        };
        let c = lx.at(lx.pos);
        let col = lx.column();
        match c {
            b'-' if lx.dash() => {
                if !block {
                    return Err(Decline);
                }
                Ok(Head::BlockSeq(col, false))
            }
            b'[' | b'{' => Ok(Head::Flow(c, true)),
            b'"' | b'\'' => {
                let start = lx.pos;
                let s = self.quoted(c)?;
                if self.lx.at(self.lx.pos) == b':' {
                    if !block {
                        return Err(Decline);
                    }
                    return Ok(Head::BlockMap(col, s, start));
                }
                if !self.lx.at_break() {
                    return Err(Decline);
                }
                ok(self.lx.next_line())?;
                Ok(Head::Scalar(s))
            }
            _ => {
                if !plain_start(c, lx.at(lx.pos + 1)) {
                    return Err(Decline);
                }
                let start = lx.pos;
                let end = ok(lx.plain_block())?;
                let colon = lx.at(lx.pos) == b':';
                let s = self.plain(start, end)?;
                if colon {
                    if !block {
                        return Err(Decline);
                    }
                    return Ok(Head::BlockMap(col, s, start));
                }
                ok(self.lx.rest_of_line())?;
                ok(self.lx.next_line())?;
                Ok(Head::Scalar(s))
            }
        }
    }

    /// The next key of a block mapping at the start of its line (`Fast::block_key`); the
    /// cursor ends at its `:`.
    fn block_key(&mut self) -> Res<(Scalar<'a>, usize)> {
        let c = self.lx.at(self.lx.pos);
        let start = self.lx.pos;
        let key = match c {
            b'"' | b'\'' => self.quoted(c)?,
            _ => {
                if !plain_start(c, self.lx.at(self.lx.pos + 1)) {
                    return Err(Decline);
                }
                let end = ok(self.lx.plain_block())?;
                self.plain(start, end)?
            }
        };
        if self.lx.at(self.lx.pos) != b':' {
            return Err(Decline);
        }
        Ok((key, start))
    }

    /// Records a mapping's key (its entries are `keys[base..]`); declines on a duplicate or
    /// a merge key (`<<`), which the tree path handles.
    fn add_key(
        &mut self,
        key: &Scalar<'a>,
        base: usize,
        index: &mut Option<HashSet<Cow<'a, str>>>,
    ) -> Res<()> {
        self.add_key_text(key_text(key.text.clone(), key.kind), base, index)
    }

    /// `add_key` of the key's text as recorded (`key_text`).
    #[inline]
    fn add_key_text(
        &mut self,
        text: Cow<'a, str>,
        base: usize,
        index: &mut Option<HashSet<Cow<'a, str>>>,
    ) -> Res<()> {
        if text.as_bytes() == b"<<" {
            return Err(Decline);
        }
        let seen = &self.keys[base..];
        let dup = match index {
            Some(ix) => !ix.insert(text.clone()),
            None if seen.len() >= INDEXED => {
                let mut ix: HashSet<Cow<'a, str>> = seen.iter().cloned().collect();
                let dup = !ix.insert(text.clone());
                *index = Some(ix);
                dup
            }
            // Lengths first: most keys of a mapping differ in length.
            None => (seen.iter()).any(|k| k.len() == text.len() && k.as_bytes() == text.as_bytes()),
        };
        if dup {
            return Err(Decline);
        }
        self.keys.push(text);
        Ok(())
    }

    /// The key just added, to a key deserializer.
    #[inline]
    fn key_de(&self, kind: Plain) -> KeyDe<'_> {
        KeyDe {
            text: self.keys.last().map(|k| &**k).unwrap_or_default(),
            is_str: kind == Plain::Str,
            dialect: self.dialect,
        }
    }
}

/// Entries a mapping may have before its keys are hashed rather than scanned.
const INDEXED: usize = 16;

/// The node at the cursor.
struct ValueDe<'r, 'a> {
    r: &'r mut Reader<'a>,
    at: At,
}

/// Which `De` method is asked for.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    Any,
    Str,
    I64,
    Bool,
    Seq,
    Map,
    /// A map read by a derived struct visitor, which rejects a repeated field itself.
    Struct,
    Enum,
}

impl<'r, 'a> ValueDe<'r, 'a> {
    fn read<'de, V: Visitor<'de>>(self, v: V, want: Want) -> Res<V::Value> {
        let r = self.r;
        // The common scalars, scanned and resolved in place as `head` reads them (without
        // building a `Head`): a flow item, or a value after `key: ` (where a key declines).
        if let At::Flow | At::Node(false) = self.at {
            let s: &'a str = r.lx.s;
            let start = r.lx.pos;
            let c = r.lx.at(start);
            let flow = matches!(self.at, At::Flow);
            if plain_first(c) {
                let end = if flow {
                    ok(r.lx.flow_plain_rest())?
                } else {
                    let end = ok(r.lx.plain_block())?;
                    if r.lx.at(r.lx.pos) == b':' {
                        return Err(Decline);
                    }
                    ok(r.lx.rest_of_line())?;
                    ok(r.lx.next_line())?;
                    end
                };
                r.b.count(end - start);
                let text = &s[start..end];
                return scalar_text(r.dialect, text, plain_kind(text), v, want);
            }
            if c == b'{' || c == b'[' {
                // As `head` tells a flow collection.
                return flow_collection(r, c, !flow, v, want);
            }
            if c == b'"' || c == b'\'' {
                let text = ok(r.lx.quoted(c))?;
                if !flow {
                    if r.lx.at(r.lx.pos) == b':' || !r.lx.at_break() {
                        return Err(Decline);
                    }
                    ok(r.lx.next_line())?;
                }
                r.b.count(text.len());
                return scalar_text(r.dialect, &text, Plain::Str, v, want);
            }
        }
        match r.head(self.at)? {
            Head::Scalar(s) => scalar(r.dialect, s, v, want),
            Head::BlockSeq(c, indentless) => {
                if !matches!(want, Want::Any | Want::Seq) {
                    return Err(Decline);
                }
                ok(r.b.open())?;
                let start = r.lx.pos;
                let mut acc = BlockSeq {
                    r,
                    c,
                    indentless,
                    started: false,
                    done: false,
                    start,
                    items: 0,
                };
                let value = v.visit_seq(&mut acc)?;
                if !acc.done {
                    return Err(Decline);
                }
                Ok(value)
            }
            Head::BlockMap(c, first, start) => {
                if !matches!(want, Want::Any | Want::Map | Want::Struct) {
                    return Err(Decline);
                }
                ok(r.b.open())?;
                let base = r.keys.len();
                let mut acc = BlockMap {
                    r,
                    c,
                    first: Some((first, start)),
                    base,
                    track: want != Want::Struct,
                    index: None,
                    value_next: false,
                    done: false,
                };
                let value = v.visit_map(&mut acc)?;
                if !acc.done {
                    return Err(Decline);
                }
                Ok(value)
            }
            Head::Flow(open, line_end) => flow_collection(r, open, line_end, v, want),
        }
    }
}

/// A flow collection at the cursor (its opening bracket `open`); `line_end`: the line must
/// end after it.
fn flow_collection<'de, V: Visitor<'de>>(
    r: &mut Reader<'_>,
    open: u8,
    line_end: bool,
    v: V,
    want: Want,
) -> Res<V::Value> {
    ok(r.b.open())?;
    r.lx.pos += 1;
    ok(r.lx.flow_blanks())?;
    let base = r.keys.len();
    let mut acc = Flow {
        r,
        first: true,
        base,
        track: want != Want::Struct,
        index: None,
        value_next: false,
        done: false,
    };
    let value = match (open, want) {
        (b'[', Want::Any | Want::Seq) => v.visit_seq(&mut acc)?,
        (b'{', Want::Any | Want::Map | Want::Struct) => v.visit_map(&mut acc)?,
        _ => return Err(Decline),
    };
    if !acc.done {
        return Err(Decline);
    }
    let r = acc.r;
    if line_end {
        if !r.lx.at_break() {
            return Err(Decline);
        }
        ok(r.lx.next_line())?;
    }
    Ok(value)
}

/// A scalar read as `De` reads its node.
#[inline]
fn scalar<'de, V: Visitor<'de>>(d: Dialect, s: Scalar<'_>, v: V, want: Want) -> Res<V::Value> {
    scalar_text(d, &s.text, s.kind, v, want)
}

/// `scalar` of its text (unescaped if quoted) and kind.
fn scalar_text<'de, V: Visitor<'de>>(
    d: Dialect,
    text: &str,
    kind: Plain,
    v: V,
    want: Want,
) -> Res<V::Value> {
    match (want, kind) {
        (Want::Any, Plain::Null) => v.visit_unit(),
        (Want::Any | Want::Bool, Plain::Bool(b)) => v.visit_bool(b),
        (Want::Any | Want::I64, Plain::Int(i)) => v.visit_i64(i),
        (Want::Any, Plain::Float(f)) => v.visit_f64(f),
        (Want::Any | Want::Str, Plain::Str) => v.visit_str(text),
        (Want::Str, Plain::Int(_) | Plain::Float(_) | Plain::Bool(_)) if d.scalars_as_text => {
            v.visit_string(value_text(text, kind))
        }
        (Want::I64, Plain::Str) if d.scalars_as_text => match text.trim().parse() {
            Ok(i) => v.visit_i64(i),
            Err(_) => Err(Decline),
        },
        (Want::Seq, Plain::Null) if d.null_is_empty => v.visit_seq(Empty),
        (Want::Map | Want::Struct, Plain::Null) if d.null_is_empty => v.visit_map(Empty),
        (Want::Enum, Plain::Str) => {
            let de: de::value::StrDeserializer<'_, Decline> = text.into_deserializer();
            v.visit_enum(de)
        }
        _ => Err(Decline),
    }
}

impl<'de, 'r, 'a> de::Deserializer<'de> for ValueDe<'r, 'a> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Any)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Str)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Str)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Str)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::I64)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Bool)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Seq)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        self.read(v, Want::Map)
    }

    /// Entries in document order (see the module comment on `struct_order`). The keys are
    /// not tracked: serde's derived visitors fail on a repeated field (and, with
    /// `deny_unknown_fields`, on any other key), which declines.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Res<V::Value> {
        self.read(v, Want::Struct)
    }

    /// As `De`: a present value is `Some` (a null must fit `T`).
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        v.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Res<V::Value> {
        self.read(v, Want::Enum)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Res<V::Value> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        tuple tuple_struct ignored_any
    }
}

/// A mapping key, as `typed::KeyDe` reads it: a string as is, another scalar as its text
/// (or declined where keys must be strings).
struct KeyDe<'k> {
    text: &'k str,
    is_str: bool,
    dialect: Dialect,
}

/// A struct's plain field name at `span`, scanned in place by a mapping (block or flow):
/// charged, then named as `KeyDe::of` would; another scalar than a string, or a merge key,
/// declines.
fn plain_field<'de, K: DeserializeSeed<'de>>(
    r: &mut Reader<'_>,
    span: std::ops::Range<usize>,
    seed: K,
) -> Res<K::Value> {
    r.b.count(span.len());
    let text = &r.lx.s[span];
    if plain_kind(text) != Plain::Str || text.as_bytes() == b"<<" {
        return Err(Decline);
    }
    seed.deserialize(KeyDe {
        text,
        is_str: true,
        dialect: r.dialect,
    })
}

impl<'k> KeyDe<'k> {
    /// An untracked key (a struct's field name). Another scalar than a string, or a merge
    /// key, can name no field: it declines at once.
    fn of(key: &'k Scalar<'_>, dialect: Dialect) -> Res<KeyDe<'k>> {
        if key.kind != Plain::Str || key.text.as_bytes() == b"<<" {
            return Err(Decline);
        }
        Ok(KeyDe {
            text: &key.text,
            is_str: true,
            dialect,
        })
    }
}

impl<'de, 'k> de::Deserializer<'de> for KeyDe<'k> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Res<V::Value> {
        if self.is_str {
            v.visit_str(self.text)
        } else if self.dialect.string_keys {
            Err(Decline)
        } else {
            v.visit_string(self.text.to_string())
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// `key:` with no value where `null_is_empty`: no items, no entries.
struct Empty;

impl<'de> de::SeqAccess<'de> for Empty {
    type Error = Decline;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _: T) -> Res<Option<T::Value>> {
        Ok(None)
    }
}

impl<'de> de::MapAccess<'de> for Empty {
    type Error = Decline;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Res<Option<K::Value>> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> Res<V::Value> {
        Err(Decline)
    }
}

/// A block sequence's items (`Fast::block_seq`).
struct BlockSeq<'r, 'a> {
    r: &'r mut Reader<'a>,
    c: isize,
    indentless: bool,
    started: bool,
    done: bool,
    /// Where its first item starts, and how many items were read (`size_hint`).
    start: usize,
    items: usize,
}

/// `size_hint` assumes no more items than one per this many bytes of the text left (a
/// bound on what a wrong estimate can reserve).
const MIN_ITEM_BYTES: usize = 128;

impl<'de> de::SeqAccess<'de> for BlockSeq<'_, '_> {
    type Error = Decline;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Res<Option<T::Value>> {
        if self.done {
            return Ok(None);
        }
        let (lx, c) = (&mut self.r.lx, self.c);
        if self.started {
            let end = if lx.col < c {
                true
            } else if lx.col > c {
                return Err(Decline);
            } else if !(lx.at(lx.pos) == b'-' && lx.dash()) {
                if !self.indentless {
                    return Err(Decline);
                }
                true
            } else {
                false
            };
            if end {
                self.done = true;
                self.r.b.close();
                return Ok(None);
            }
        }
        self.started = true;
        self.items += 1;
        // At `-`, followed by a blank, a break or the end.
        lx.pos += 1;
        while lx.at(lx.pos) == b' ' {
            lx.pos += 1;
        }
        if lx.at(lx.pos) == b'#' {
            ok(lx.comment())?;
        }
        let at = match lx.at(lx.pos) {
            b'\n' => {
                ok(lx.next_line())?;
                if lx.col > c {
                    At::Node(true)
                } else {
                    At::Null
                }
            }
            0 if lx.eof() => {
                lx.col = -1;
                At::Null
            }
            _ => At::Node(true),
        };
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            at,
        })
        .map(Some)
    }

    /// An estimate, not a count: the items left if they are as long as those read so far,
    /// bounded by the text left (`MIN_ITEM_BYTES`); unknown before the first item (serde's
    /// `Vec` asks then, and reserves nothing). Lets a long list (`requests:`) be reserved
    /// once rather than regrown.
    fn size_hint(&self) -> Option<usize> {
        if self.items == 0 || self.done {
            return None;
        }
        let lx = &self.r.lx;
        let (read, left) = (lx.pos - self.start, lx.t.len() - lx.pos);
        let per_item = (read / self.items).max(1);
        Some((left / per_item).min(left / MIN_ITEM_BYTES))
    }
}

/// A block mapping's entries (`Fast::block_map`).
struct BlockMap<'r, 'a> {
    r: &'r mut Reader<'a>,
    c: isize,
    /// The first key (read to tell the mapping), and where it starts.
    first: Option<(Scalar<'a>, usize)>,
    base: usize,
    /// Whether its keys are checked for repeats (`Want::Struct` leaves that to serde).
    track: bool,
    index: Option<HashSet<Cow<'a, str>>>,
    value_next: bool,
    done: bool,
}

impl<'de, 'a> de::MapAccess<'de> for BlockMap<'_, 'a> {
    type Error = Decline;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Res<Option<K::Value>> {
        if self.done || self.value_next {
            return if self.done { Ok(None) } else { Err(Decline) };
        }
        let (key, start) = match self.first.take() {
            Some(first) => first,
            None => {
                let col = self.r.lx.col;
                if col < self.c {
                    self.done = true;
                    self.r.keys.truncate(self.base);
                    self.r.b.close();
                    return Ok(None);
                }
                if col > self.c {
                    return Err(Decline);
                }
                let r = &mut *self.r;
                let start = r.lx.pos;
                if !self.track && plain_first(r.lx.at(start)) {
                    // A struct's field name, plain: scanned and checked in place (as
                    // `block_key` and `KeyDe::of`).
                    let end = ok(r.lx.plain_block())?;
                    if r.lx.at(r.lx.pos) != b':' || r.lx.pos - start > MAX_KEY {
                        return Err(Decline);
                    }
                    self.value_next = true;
                    return plain_field(r, start..end, seed).map(Some);
                }
                r.block_key()?
            }
        };
        if self.r.lx.pos - start > MAX_KEY {
            return Err(Decline);
        }
        self.value_next = true;
        if self.track {
            self.r.add_key(&key, self.base, &mut self.index)?;
            return seed.deserialize(self.r.key_de(key.kind)).map(Some);
        }
        seed.deserialize(KeyDe::of(&key, self.r.dialect)?).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Res<V::Value> {
        if !self.value_next {
            return Err(Decline);
        }
        self.value_next = false;
        let (lx, c) = (&mut self.r.lx, self.c);
        // Past the `:` (`Fast::block_value`).
        lx.pos += 1;
        if lx.at(lx.pos) != b' ' && !lx.at_break() {
            return Err(Decline);
        }
        let before = lx.pos;
        while lx.at(lx.pos) == b' ' {
            lx.pos += 1;
        }
        let at = match lx.at(lx.pos) {
            b'#' if lx.pos > before => {
                ok(lx.comment())?;
                None
            }
            b'\n' => None,
            0 if lx.eof() => None,
            _ => Some(At::Node(false)),
        };
        let at = match at {
            Some(at) => at,
            None => {
                ok(lx.next_line())?;
                if lx.col > c {
                    At::Node(true)
                } else if lx.col == c && lx.at(lx.pos) == b'-' && lx.dash() {
                    At::Indentless(c)
                } else {
                    At::Null
                }
            }
        };
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            at,
        })
    }
}

/// A one-line flow collection's items or entries (`Fast::flow`); the cursor is past the
/// opening bracket and its blanks.
struct Flow<'r, 'a> {
    r: &'r mut Reader<'a>,
    first: bool,
    base: usize,
    /// As `BlockMap::track`.
    track: bool,
    index: Option<HashSet<Cow<'a, str>>>,
    value_next: bool,
    done: bool,
}

impl Flow<'_, '_> {
    /// Before the next item: `true` at the closing bracket (then consumed, as the blanks and
    /// comment behind it).
    #[inline]
    fn at_end(&mut self, close: u8) -> Res<bool> {
        let lx = &mut self.r.lx;
        if !self.first {
            // The common separator, `, ` then the next item: what `flow_blanks` and
            // `flow_next` accept there, without their calls.
            let t = lx.t;
            let p = lx.pos;
            if let [b',', b' ', c, ..] = t[p.min(t.len())..] {
                if !matches!(c, b' ' | b'#' | b'\n' | b'\t' | b'\r') && c != close {
                    lx.pos = p + 2;
                    return Ok(false);
                }
            }
        }
        let end = if self.first {
            self.first = false;
            lx.at(lx.pos) == close
        } else {
            ok(lx.flow_blanks())?;
            ok(lx.flow_next(close))?
        };
        if end {
            lx.pos += 1;
            ok(lx.blanks_and_comment())?;
            self.r.keys.truncate(self.base);
            self.r.b.close();
            self.done = true;
        }
        Ok(end)
    }
}

impl<'de> de::SeqAccess<'de> for Flow<'_, '_> {
    type Error = Decline;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Res<Option<T::Value>> {
        if self.done || self.at_end(b']')? {
            return Ok(None);
        }
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            at: At::Flow,
        })
        .map(Some)
    }
}

impl<'de, 'a> de::MapAccess<'de> for Flow<'_, 'a> {
    type Error = Decline;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Res<Option<K::Value>> {
        if self.value_next {
            return Err(Decline);
        }
        if self.done || self.at_end(b'}')? {
            return Ok(None);
        }
        let r = &mut *self.r;
        let start = r.lx.pos;
        if !self.track && plain_first(r.lx.at(start)) {
            // A struct's field name, plain: scanned and checked in place (as `KeyDe::of`).
            let end = ok(r.lx.flow_plain_rest())?;
            self.value_next = true;
            return plain_field(r, start..end, seed).map(Some);
        }
        if self.track && plain_first(r.lx.at(start)) {
            // A free-form mapping's plain key, scanned in place (no `Scalar` built).
            let end = ok(r.lx.flow_plain_rest())?;
            r.b.count(end - start);
            let s: &'a str = r.lx.s;
            let text = &s[start..end];
            let kind = plain_kind(text);
            self.value_next = true;
            r.add_key_text(
                key_text(Cow::Borrowed(text), kind),
                self.base,
                &mut self.index,
            )?;
            return seed.deserialize(r.key_de(kind)).map(Some);
        }
        let key = match r.lx.at(start) {
            q @ (b'"' | b'\'') => r.quoted(q)?,
            _ => {
                let end = ok(r.lx.flow_plain())?;
                r.plain(start, end)?
            }
        };
        self.value_next = true;
        if self.track {
            r.add_key(&key, self.base, &mut self.index)?;
            return seed.deserialize(r.key_de(key.kind)).map(Some);
        }
        seed.deserialize(KeyDe::of(&key, r.dialect)?).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Res<V::Value> {
        if !self.value_next {
            return Err(Decline);
        }
        self.value_next = false;
        let lx = &mut self.r.lx;
        ok(lx.flow_blanks())?;
        if lx.at(lx.pos) != b':' || lx.at(lx.pos + 1) != b' ' {
            return Err(Decline);
        }
        lx.pos += 1;
        ok(lx.flow_blanks())?;
        let at = match lx.at(lx.pos) {
            b',' | b'}' => At::Null,
            _ => At::Flow,
        };
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// `size_hint` before each item and after the last.
    struct Hints(Vec<Option<usize>>);

    impl<'de> Deserialize<'de> for Hints {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Hints;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a sequence")
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Hints, A::Error> {
                    let mut hints = vec![seq.size_hint()];
                    while seq.next_element::<de::IgnoredAny>()?.is_some() {
                        hints.push(seq.size_hint());
                    }
                    Ok(Hints(hints))
                }
            }
            d.deserialize_seq(V)
        }
    }

    fn hints(text: &str) -> Vec<Option<usize>> {
        let dialect = Dialect {
            string_keys: false,
            scalars_as_text: true,
            null_is_empty: false,
            struct_order: true,
        };
        let (h, _cost) = from_text::<Hints>(text, Limits::default(), dialect).expect("read");
        h.0
    }

    #[test]
    fn block_sequences_estimate_the_items_left_from_those_read() {
        // Ten items of 130 bytes: unknown before the first, then exact.
        let item = format!("- {}\n", "a".repeat(127));
        let h = hints(&item.repeat(10));
        let want: Vec<Option<usize>> = std::iter::once(None)
            .chain((0..10).rev().map(Some))
            .collect();
        assert_eq!(h, want);
    }

    #[test]
    fn a_short_first_item_cannot_make_the_estimate_exceed_the_text() {
        // A 4-byte item then a long one: at most one item per MIN_ITEM_BYTES of text left.
        let long = format!("- {}\n", "b".repeat(10_000));
        let h = hints(&format!("- a\n{long}"));
        assert_eq!(h[1], Some(long.len() / MIN_ITEM_BYTES));
    }
}
