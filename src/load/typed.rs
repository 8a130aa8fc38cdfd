//! Typed inputs: a serde `Deserializer` over the span-carrying YAML tree, and the one error
//! type of input files (`.meshext-lint.yaml`, scenarios). (`load::direct` reads a scenario
//! the same way straight from its text, and falls back here on any problem.)
//!
//! Deserializing the tree directly (rather than JSON plus `serde_path_to_error`) keeps exact
//! positions with no new dependency: every error takes the span of the innermost node it is
//! about (the key for a key problem) and collects its JSON-pointer path on the way out. Each
//! file kind turns a [`Problem`] at a path into its own wording.
//!
//! Conventions of the input files, which differ from serde's defaults:
//! - `Option<T>` means the key may be left out; a present `key:` (null) must still fit `T`.
//! - The [`Dialect`] says how strict keys and scalars are and whether null is an empty list.

use crate::diag::Location;
use crate::load::yaml::{self, Node, Span, Value};
use crate::source::SourceFile;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::fmt;

/// An invalid input file: where, what, and optionally how to fix it. Displays like a finding's
/// one-line form, `file:line:col: message`, with `= help:` on the next line when there is help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub location: Location,
    pub message: String,
    pub help: Option<Box<str>>,
    /// JSON pointer of the node the problem is about (`None`: the file or its syntax).
    pub pointer: Option<Box<str>>,
}

impl InputError {
    pub(crate) fn file(name: &str, message: impl Into<String>) -> InputError {
        InputError {
            location: Location::file_only(name),
            message: message.into(),
            help: None,
            pointer: None,
        }
    }

    /// An error about the node at `pointer` of `root` (the nearest existing ancestor if absent).
    pub(crate) fn at_pointer(
        src: &SourceFile,
        root: &Node,
        pointer: &str,
        message: impl Into<String>,
    ) -> InputError {
        let span = nearest(root, pointer).span;
        InputError {
            location: src.location(span.start, span.end),
            message: message.into(),
            help: None,
            pointer: Some(pointer.into()),
        }
    }

    /// `file:line:col: title: message`, with the help line when there is help.
    pub fn titled(&self, title: &str) -> String {
        format!(
            "{}: {title}: {}{}",
            self.location,
            self.message,
            self.help_line()
        )
    }

    fn help_line(&self) -> String {
        self.help
            .as_ref()
            .map(|h| format!("\n  = help: {h}"))
            .unwrap_or_default()
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}{}", self.location, self.message, self.help_line())
    }
}

impl std::error::Error for InputError {}

/// The node at `pointer`, else its nearest existing ancestor.
fn nearest<'n>(root: &'n Node, pointer: &str) -> &'n Node {
    let mut p = pointer;
    loop {
        if let Some((_, n)) = root.pointer(p) {
            return n;
        }
        match p.rfind('/') {
            Some(i) => p = &p[..i],
            None => return root,
        }
    }
}

/// Parses `src` as YAML; a syntax error becomes an `invalid YAML` error at its position.
pub(crate) fn parse_yaml(
    src: &SourceFile,
    limits: yaml::Limits,
) -> Result<Vec<yaml::YamlDoc>, InputError> {
    let parsed = yaml::parse(&src.text, limits);
    match parsed.error {
        Some(e) => Err(InputError {
            location: src.location(e.span.start, e.span.end),
            message: format!("invalid YAML: {}", e.message),
            help: None,
            pointer: None,
        }),
        None => Ok(parsed.docs),
    }
}

/// A duplicate key is an error: YAML would silently keep only the last value.
pub(crate) fn reject_duplicates(src: &SourceFile, doc: &yaml::YamlDoc) -> Result<(), InputError> {
    let Some(d) = doc.duplicates.first() else {
        return Ok(());
    };
    let first = src.location(d.first.start, d.first.end);
    Err(InputError {
        location: src.location(d.span.start, d.span.end),
        message: format!("duplicate key `{}`", d.key),
        help: Some(
            format!(
                "`{}` is first set at line {}, column {}; keep one of them",
                d.key, first.line, first.column
            )
            .into(),
        ),
        pointer: None,
    })
}

/// How strictly a file kind reads the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// Mapping keys must be strings; otherwise a scalar key is read as its text (`1` → "1").
    pub string_keys: bool,
    /// A number or boolean is accepted as text, and text as an integer (`"5"` → 5).
    pub scalars_as_text: bool,
    /// `key:` with no value reads as an empty list or mapping.
    pub null_is_empty: bool,
    /// A struct's unknown keys are reported before any of its values is read, and its values
    /// are read in the order the struct declares them (not as written), so that of several
    /// problems the same one is reported first whatever the order of the keys.
    pub struct_order: bool,
}

/// What went wrong, before a file kind words it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    /// The node does not have the expected shape.
    Type(Expected),
    UnknownKey {
        key: String,
        expected: &'static [&'static str],
    },
    MissingKey(&'static str),
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    NonStringKey,
    /// Already worded (by a validating `Deserialize` impl).
    Message(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expected {
    Text,
    List,
    Mapping,
    Integer,
    Bool,
    /// A visitor's own words (`Visitor::expecting`).
    Phrase(String),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Text => "a string",
            Expected::List => "a list",
            Expected::Mapping => "a mapping",
            Expected::Integer => "an integer",
            Expected::Bool => "true or false",
            Expected::Phrase(p) => p,
        })
    }
}

/// `a, b or c`.
pub(crate) fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A deserialization error: the problem, the span of the node it is about, and its path
/// (collected innermost first while the error travels up).
#[derive(Debug)]
pub(crate) struct DeError {
    problem: Problem,
    span: Option<Span>,
    rev_path: Vec<String>,
}

impl DeError {
    fn new(problem: Problem, span: Span) -> DeError {
        DeError {
            problem,
            span: Some(span),
            rev_path: Vec::new(),
        }
    }

    fn at(mut self, span: Span) -> DeError {
        self.span.get_or_insert(span);
        self
    }

    fn within(mut self, seg: String) -> DeError {
        self.rev_path.push(seg);
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.problem)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            problem: Problem::Message(msg.to_string()),
            span: None,
            rev_path: Vec::new(),
        }
    }

    fn invalid_type(_: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let mut e = Self::custom("");
        e.problem = Problem::Type(Expected::Phrase(exp.to_string()));
        e
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::custom("");
        e.problem = Problem::UnknownKey {
            key: field.to_string(),
            expected,
        };
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::custom("");
        e.problem = Problem::UnknownVariant {
            variant: variant.to_string(),
            expected,
        };
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = Self::custom("");
        e.problem = Problem::MissingKey(field);
        e
    }
}

/// Deserializes `root` into `T`; `describe` words a problem at a path (segments of the
/// JSON pointer, unescaped).
pub(crate) fn from_node<T: DeserializeOwned>(
    src: &SourceFile,
    root: &Node,
    dialect: Dialect,
    describe: fn(&[&str], &Problem) -> String,
) -> Result<T, InputError> {
    T::deserialize(De {
        node: root,
        dialect,
    })
    .map_err(|e| {
        let span = e.span.unwrap_or(root.span);
        let path: Vec<&str> = e.rev_path.iter().rev().map(String::as_str).collect();
        let pointer: String = path
            .iter()
            .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
            .collect();
        InputError {
            location: src.location(span.start, span.end),
            message: describe(&path, &e.problem),
            help: None,
            pointer: Some(pointer.into()),
        }
    })
}

fn key_seg(k: &Node) -> String {
    k.key_text().unwrap_or_default()
}

/// A value node.
struct De<'a> {
    node: &'a Node,
    dialect: Dialect,
}

impl<'a> De<'a> {
    fn mismatch(&self, expected: Expected) -> DeError {
        DeError::new(Problem::Type(expected), self.node.span)
    }

    fn seq<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Seq(items) => v.visit_seq(Seq::new(items, self.dialect)),
            Value::Null if self.dialect.null_is_empty => v.visit_seq(Seq::new(&[], self.dialect)),
            _ => Err(self.mismatch(Expected::List)),
        }
    }

    fn map<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) => v.visit_map(Map::new(entries, self.dialect)),
            Value::Null if self.dialect.null_is_empty => v.visit_map(Map::new(&[], self.dialect)),
            _ => Err(self.mismatch(Expected::Mapping)),
        }
    }

    /// With `struct_order`: the first key of the mapping that is not a field, else the
    /// entries in field order (keys compared borrowed: no text is copied unless reported).
    fn in_field_order(
        &self,
        entries: &'a [(Node, Node)],
        fields: &'static [&'static str],
    ) -> Result<Vec<&'a (Node, Node)>, DeError> {
        let mut sorted: Vec<(usize, &'a (Node, Node))> = Vec::with_capacity(entries.len());
        for e in entries {
            let key = e.0.key_cow();
            let key = key.as_deref().unwrap_or_default();
            match fields.iter().position(|f| *f == key) {
                Some(i) => sorted.push((i, e)),
                None => {
                    return Err(DeError::new(
                        Problem::UnknownKey {
                            key: key.to_string(),
                            expected: fields,
                        },
                        e.0.span,
                    )
                    .within(key.to_string()))
                }
            }
        }
        // Stable: duplicate keys (rejected elsewhere) keep their order.
        sorted.sort_by_key(|(i, _)| *i);
        Ok(sorted.into_iter().map(|(_, e)| e).collect())
    }
}

impl<'de, 'a> de::Deserializer<'de> for De<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(_) => self.seq(v),
            Value::Map(_) => self.map(v),
        }
        .map_err(|e| e.at(self.node.span))
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let lenient = self.dialect.scalars_as_text;
        match &self.node.value {
            Value::Str(s) => v.visit_str(s),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) if lenient => {
                v.visit_string(self.node.key_text().unwrap_or_default())
            }
            _ => Err(self.mismatch(Expected::Text)),
        }
        .map_err(|e| e.at(self.node.span))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let parsed = match &self.node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) if self.dialect.scalars_as_text => s.trim().parse().ok(),
            _ => None,
        };
        match parsed {
            Some(i) => v.visit_i64(i).map_err(|e: DeError| e.at(self.node.span)),
            None => Err(self.mismatch(Expected::Integer)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Bool(b) => v.visit_bool(b).map_err(|e: DeError| e.at(self.node.span)),
            _ => Err(self.mismatch(Expected::Bool)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.seq(v).map_err(|e| e.at(self.node.span))
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.map(v).map_err(|e| e.at(self.node.span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) if self.dialect.struct_order => {
                let sorted = self.in_field_order(entries, fields)?;
                let map = Map {
                    entries: sorted.into_iter(),
                    current: None,
                    dialect: self.dialect,
                };
                v.visit_map(map).map_err(|e| e.at(self.node.span))
            }
            _ => self.deserialize_map(v),
        }
    }

    /// Only an absent key is `None` (serde's derive handles that); a present value is `Some`.
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => v
                .visit_enum(s.as_str().into_deserializer())
                .map_err(|e: DeError| e.at(self.node.span)),
            _ => Err(self.mismatch(Expected::Text)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        tuple tuple_struct ignored_any
    }
}

/// A mapping key: its text (or "keys must be strings" in a dialect with `string_keys`).
struct KeyDe<'a> {
    node: &'a Node,
    dialect: Dialect,
}

impl<'de, 'a> de::Deserializer<'de> for KeyDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => v.visit_str(s),
            _ if self.dialect.string_keys => {
                Err(DeError::new(Problem::NonStringKey, self.node.span))
            }
            _ => v.visit_string(key_seg(self.node)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Seq<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    dialect: Dialect,
}

impl<'a> Seq<'a> {
    fn new(items: &'a [Node], dialect: Dialect) -> Self {
        Seq {
            items: items.iter().enumerate(),
            dialect,
        }
    }
}

impl<'de, 'a> de::SeqAccess<'de> for Seq<'a> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        let de = De {
            node,
            dialect: self.dialect,
        };
        seed.deserialize(de)
            .map(Some)
            .map_err(|e| e.at(node.span).within(i.to_string()))
    }
}

/// A mapping's entries, as written (`slice::Iter`) or in field order (`vec::IntoIter`).
struct Map<'a, I: Iterator<Item = &'a (Node, Node)>> {
    entries: I,
    current: Option<&'a (Node, Node)>,
    dialect: Dialect,
}

impl<'a> Map<'a, std::slice::Iter<'a, (Node, Node)>> {
    fn new(entries: &'a [(Node, Node)], dialect: Dialect) -> Self {
        Map {
            entries: entries.iter(),
            current: None,
            dialect,
        }
    }
}

impl<'de, 'a, I: Iterator<Item = &'a (Node, Node)>> de::MapAccess<'de> for Map<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let de = KeyDe {
            node: &entry.0,
            dialect: self.dialect,
        };
        seed.deserialize(de)
            .map(Some)
            .map_err(|e| e.at(entry.0.span).within(key_seg(&entry.0)))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        let (k, node) = self
            .current
            .take()
            .expect("serde asks for a value after its key");
        let de = De {
            node,
            dialect: self.dialect,
        };
        seed.deserialize(de)
            .map_err(|e| e.at(node.span).within(key_seg(k)))
    }
}

/// Ordered `key: value` entries of a mapping (serde has no ordered map of its own).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pairs<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, K: de::Deserialize<'de>, V: de::Deserialize<'de>> de::Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

pub(crate) struct PairsVisitor<K, V>(pub std::marker::PhantomData<(K, V)>);

impl<'de, K: de::Deserialize<'de>, V: de::Deserialize<'de>> Visitor<'de> for PairsVisitor<K, V> {
    type Value = Pairs<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = map.next_entry()? {
            out.push(entry);
        }
        Ok(Pairs(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: Option<String>,
        #[serde(default)]
        b: Vec<i64>,
    }

    const STRICT: Dialect = Dialect {
        string_keys: true,
        scalars_as_text: false,
        null_is_empty: true,
        struct_order: false,
    };

    fn run(text: &str) -> Result<T, InputError> {
        let src = SourceFile::new("t.yaml", text);
        let docs = parse_yaml(&src, yaml::Limits::default())?;
        let root = docs[0].root.clone().unwrap();
        from_node(&src, &root, STRICT, |path, p| format!("{path:?} {p:?}"))
    }

    #[test]
    fn errors_carry_the_span_and_pointer_of_the_node() {
        let e = run("a: x\nb: [1, two]\n").unwrap_err();
        assert_eq!((e.location.line, e.location.column), (2, 8));
        assert_eq!(e.pointer.as_deref(), Some("/b/1"));
        let e = run("a: x\n{c: 1}: 2\n").unwrap_err();
        assert_eq!(e.message, "[\"\"] NonStringKey");
        let e = run("a: x\nzz: 1\n").unwrap_err();
        assert_eq!((e.location.line, e.location.column), (2, 1));
        assert!(e.message.contains("UnknownKey"), "{}", e.message);
        let e = run("a:\n").unwrap_err();
        assert!(e.message.contains("Type(Text)"), "{}", e.message);
        assert!(run("b:\n").is_ok());
    }

    #[test]
    fn or_lists() {
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
        assert_eq!(or_list(&["a"]), "a");
    }
}
