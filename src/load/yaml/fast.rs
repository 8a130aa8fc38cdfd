//! The loader's fast path: a hand-written scanner for the YAML most configs are written in,
//! building the same tree as the saphyr-parser path (same values, byte spans, duplicate-key
//! reports and budgets) without going through events. Its lexing and budgets (`lex`) are
//! shared with the scenario's direct path (`crate::load::direct`), which reads the same
//! subset without building a tree.
//!
//! It covers block mappings and sequences (compact `- key: v` nesting, indentless sequences
//! under a key), one-line plain and quoted scalars, one-line flow collections of those,
//! comments, empty values and `---` / `...` documents. Anything else — anchors, aliases,
//! tags, block scalars, multi-line scalars or flows, tabs, `\r`, directives, complex keys, a
//! byte order mark, any syntax error or a budget that would be exceeded — makes it decline
//! (`None`) and the caller runs the saphyr path, which owns every error message and position.
//!
//! The spans reproduce saphyr-parser 0.3's markers: a quoted scalar or a flow collection
//! ends after the blanks and comment that follow its closing character, a block collection
//! ends where the token that closes it starts, an empty value sits at its `:`, an empty
//! sequence entry after its `-` and the blanks and comment behind it (where an indentless
//! sequence starts, too). `tests` in the parent module and `tests/yaml_fast.rs` compare both
//! paths on every YAML file of the repository, on mutations of them and on generated streams.

use super::lex::{charge_run, plain_start, Budget, Lexer, MAX_KEY, R};
use super::{resolve_plain, DuplicateKey, Limits, Node, OpenMap, Parsed, Span, Value, YamlDoc};
use std::borrow::Cow;
use std::collections::HashMap;

/// Parses `text` if it is within the subset, else `None`.
pub(super) fn parse(text: &str, limits: Limits) -> Option<Parsed> {
    let mut p = Fast {
        lx: Lexer::new(text),
        b: Budget::new(limits),
        items: Vec::new(),
        entries: Vec::new(),
        duplicates: Vec::new(),
    };
    let docs = p.stream()?;
    if !charge_run(p.b.file_nodes, p.b.file_bytes) {
        return None;
    }
    Some(Parsed { docs, error: None })
}

struct Fast<'a> {
    /// The cursor (`Fast` derefs to it).
    lx: Lexer<'a>,
    b: Budget,
    /// Items of the open sequences, innermost last (as `Builder::items`).
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Node, Node)>,
    /// The current document's duplicate keys.
    duplicates: Vec<DuplicateKey>,
}

impl<'a> std::ops::Deref for Fast<'a> {
    type Target = Lexer<'a>;
    fn deref(&self) -> &Lexer<'a> {
        &self.lx
    }
}

impl<'a> std::ops::DerefMut for Fast<'a> {
    fn deref_mut(&mut self) -> &mut Lexer<'a> {
        &mut self.lx
    }
}

fn span(start: usize, end: usize) -> Span {
    Span { start, end }
}

impl<'a> Fast<'a> {
    /// A quoted scalar's node (its bytes are the unescaped text's).
    fn string(&mut self, span: Span, s: Cow<'_, str>) -> R<Node> {
        self.b.charge(s.len())?;
        Some(Node {
            span,
            value: Value::Str(s.into_owned()),
        })
    }

    /// A plain scalar's node: `start..end` resolved as on the saphyr path.
    fn plain(&mut self, start: usize, end: usize) -> R<Node> {
        self.b.charge(end - start)?;
        Some(Node {
            span: span(start, end),
            value: resolve_plain(Cow::Borrowed(&self.s[start..end])),
        })
    }

    /// saphyr's empty scalar (an empty value or document) at `at`.
    fn null_at(&mut self, at: Span) -> R<Node> {
        self.b.charge(0)?;
        Some(Node {
            span: at,
            value: Value::Null,
        })
    }

    // ---- stream and documents ----

    fn stream(&mut self) -> R<Vec<YamlDoc>> {
        let t = self.t;
        if t.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return None;
        }
        let mut docs = Vec::new();
        self.line_content()?;
        // After an explicit `...` (and at the start) a document may begin without `---`.
        let mut implicit_allowed = true;
        loop {
            if self.eof() {
                break;
            }
            let (start, root) = match self.marker_here() {
                Some(b'.') => {
                    self.pos += 3;
                    self.rest_of_line()?;
                    self.next_line()?;
                    implicit_allowed = true;
                    continue;
                }
                Some(_) => {
                    let start = span(self.pos, self.pos + 3);
                    self.pos += 3;
                    self.rest_of_line()?;
                    self.next_line()?;
                    self.b.nodes = 0;
                    self.b.depth = 0;
                    self.duplicates.clear();
                    let root = if self.col < 0 {
                        // An empty document: saphyr's empty scalar at the next token.
                        let at = if self.eof() {
                            span(self.pos, self.pos)
                        } else {
                            span(self.pos, self.pos + 3)
                        };
                        self.null_at(at)?
                    } else {
                        self.node(true)?
                    };
                    (start, root)
                }
                None => {
                    if !implicit_allowed {
                        return None;
                    }
                    let start = span(self.pos, self.pos);
                    self.b.nodes = 0;
                    self.b.depth = 0;
                    self.duplicates.clear();
                    (start, self.node(true)?)
                }
            };
            // The root is complete: only the end, `---` or `...` may follow.
            if self.col >= 0 {
                return None;
            }
            let end = match self.marker_here() {
                Some(b'.') => {
                    let end = self.pos + 3;
                    self.pos += 3;
                    self.rest_of_line()?;
                    self.next_line()?;
                    implicit_allowed = true;
                    end
                }
                Some(_) => {
                    implicit_allowed = false;
                    self.pos + 3
                }
                None => self.t.len(),
            };
            docs.push(YamlDoc {
                root: Some(root),
                span: span(start.start, end.max(start.start)),
                duplicates: std::mem::take(&mut self.duplicates),
            });
        }
        Some(docs)
    }

    // ---- block nodes ----

    /// A node starting at the cursor (first content of a line, or after `- ` or `key: `).
    /// `block` allows a block collection here (not
    /// after `key: `). Returns with the cursor at the next content (`next_line`).
    fn node(&mut self, block: bool) -> R<Node> {
        let c = self.at(self.pos);
        let col = self.column();
        match c {
            b'-' if self.dash() => {
                if !block {
                    return None;
                }
                self.block_seq(col, false)
            }
            b'[' | b'{' => {
                let n = self.flow(c)?;
                if !self.at_break() {
                    return None;
                }
                self.next_line()?;
                Some(n)
            }
            b'"' | b'\'' => {
                let start = self.pos;
                let s = self.quoted(c)?;
                let end = self.pos;
                if self.at(self.pos) == b':' {
                    if !block {
                        return None;
                    }
                    let key = self.string(span(start, end), s)?;
                    return self.block_map(col, key);
                }
                if !self.at_break() {
                    return None;
                }
                let n = self.string(span(start, end), s)?;
                self.next_line()?;
                Some(n)
            }
            _ => {
                if !plain_start(c, self.at(self.pos + 1)) {
                    return None;
                }
                let start = self.pos;
                let end = self.plain_block()?;
                if self.at(self.pos) == b':' {
                    if !block {
                        return None;
                    }
                    let key = self.plain(start, end)?;
                    return self.block_map(col, key);
                }
                let n = self.plain(start, end)?;
                self.rest_of_line()?;
                self.next_line()?;
                Some(n)
            }
        }
    }

    /// A block mapping at column `c` whose first key has been read; the cursor is at its `:`.
    fn block_map(&mut self, c: isize, first: Node) -> R<Node> {
        self.b.open()?;
        let start = first.span.start;
        let base = self.entries.len();
        let mut index: Option<HashMap<String, usize>> = None;
        let mut key = first;
        loop {
            let colon = self.pos;
            if colon - key.span.start > MAX_KEY {
                return None;
            }
            self.pos += 1;
            let value = self.block_value(c, colon)?;
            let mut m = OpenMap {
                entries: &mut self.entries,
                base,
                index: &mut index,
            };
            m.insert(key, value, Some(&mut self.duplicates));
            if self.col < c {
                break;
            }
            if self.col > c {
                return None;
            }
            key = self.block_key()?;
        }
        let end = self.pos;
        let entries = self.entries.split_off(base);
        self.b.close();
        Some(Node {
            span: span(start, end.max(start)),
            value: Value::Map(entries),
        })
    }

    /// The value after a block mapping's `:` (the cursor is just after it), in a mapping at
    /// column `c`. Returns at the next content.
    fn block_value(&mut self, c: isize, colon: usize) -> R<Node> {
        if self.at(self.pos) != b' ' && !self.at_break() {
            return None;
        }
        let before = self.pos;
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' if self.pos > before => self.comment()?,
            b'\n' => {}
            0 if self.eof() => {}
            _ => return self.node(false),
        }
        self.next_line()?;
        if self.col > c {
            return self.node(true);
        }
        if self.col == c && self.at(self.pos) == b'-' && self.dash() {
            return self.block_seq(c, true);
        }
        self.null_at(span(colon, colon))
    }

    /// The next key of a block mapping, at the start of its line; the cursor ends at its `:`.
    fn block_key(&mut self) -> R<Node> {
        let c = self.at(self.pos);
        let start = self.pos;
        let node = match c {
            b'"' | b'\'' => {
                let s = self.quoted(c)?;
                self.string(span(start, self.pos), s)?
            }
            _ => {
                if !plain_start(c, self.at(self.pos + 1)) {
                    return None;
                }
                let end = self.plain_block()?;
                self.plain(start, end)?
            }
        };
        if self.at(self.pos) != b':' {
            return None;
        }
        Some(node)
    }

    /// A block sequence whose first `-` is at the cursor, at column `c`; `indentless` when it
    /// is a mapping value at the mapping's own column.
    fn block_seq(&mut self, c: isize, indentless: bool) -> R<Node> {
        self.b.open()?;
        let mut start = self.pos;
        let base = self.items.len();
        loop {
            // At `-`, followed by a blank, a break or the end.
            self.pos += 1;
            while self.at(self.pos) == b' ' {
                self.pos += 1;
            }
            if self.at(self.pos) == b'#' {
                self.comment()?;
            }
            let entry = self.pos;
            if indentless && self.items.len() == base {
                start = entry;
            }
            let item = match self.at(self.pos) {
                b'\n' => {
                    self.next_line()?;
                    if self.col > c {
                        self.node(true)?
                    } else {
                        self.null_at(span(entry, entry))?
                    }
                }
                0 if self.eof() => {
                    self.col = -1;
                    self.null_at(span(entry, entry))?
                }
                _ => self.node(true)?,
            };
            self.items.push(item);
            if self.col < c {
                break;
            }
            if self.col > c {
                return None;
            }
            if !(self.at(self.pos) == b'-' && self.dash()) {
                if indentless {
                    break;
                }
                return None;
            }
        }
        let end = self.pos;
        let items = self.items.split_off(base);
        self.b.close();
        Some(Node {
            span: span(start, end.max(start)),
            value: Value::Seq(items),
        })
    }

    // ---- flow collections (one line) ----

    /// A flow collection at the cursor (`[` or `{`), closed on the same line; the cursor ends
    /// after the blanks and comment behind its closing bracket.
    fn flow(&mut self, open: u8) -> R<Node> {
        self.b.open()?;
        let start = self.pos;
        self.pos += 1;
        self.flow_blanks()?;
        let node = if open == b'[' {
            let base = self.items.len();
            if self.at(self.pos) != b']' {
                loop {
                    let item = self.flow_item()?;
                    self.items.push(item);
                    self.flow_blanks()?;
                    if self.flow_next(b']')? {
                        break;
                    }
                }
            }
            Value::Seq(self.items.split_off(base))
        } else {
            let base = self.entries.len();
            let mut index: Option<HashMap<String, usize>> = None;
            if self.at(self.pos) != b'}' {
                loop {
                    let key = self.flow_scalar()?;
                    self.flow_blanks()?;
                    if self.at(self.pos) != b':' || self.at(self.pos + 1) != b' ' {
                        return None;
                    }
                    let colon = self.pos;
                    self.pos += 1;
                    self.flow_blanks()?;
                    let value = match self.at(self.pos) {
                        b',' | b'}' => self.null_at(span(colon, colon))?,
                        _ => self.flow_item()?,
                    };
                    let mut m = OpenMap {
                        entries: &mut self.entries,
                        base,
                        index: &mut index,
                    };
                    m.insert(key, value, Some(&mut self.duplicates));
                    self.flow_blanks()?;
                    if self.flow_next(b'}')? {
                        break;
                    }
                }
            }
            Value::Map(self.entries.split_off(base))
        };
        // At the closing bracket.
        self.pos += 1;
        self.blanks_and_comment()?;
        self.b.close();
        Some(Node {
            span: span(start, self.pos),
            value: node,
        })
    }

    fn flow_item(&mut self) -> R<Node> {
        match self.at(self.pos) {
            c @ (b'[' | b'{') => self.flow(c),
            _ => self.flow_scalar(),
        }
    }

    /// A plain or quoted scalar inside a flow collection.
    fn flow_scalar(&mut self) -> R<Node> {
        let c = self.at(self.pos);
        let start = self.pos;
        if c == b'"' || c == b'\'' {
            let s = self.quoted(c)?;
            return self.string(span(start, self.pos), s);
        }
        let end = self.flow_plain()?;
        self.plain(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_events, Limits};

    /// The fast path handles `text` and builds what the saphyr path builds.
    fn same(text: &str) {
        let fast =
            super::parse(text, Limits::default()).unwrap_or_else(|| panic!("declined: {text:?}"));
        let slow = parse_events(text, Limits::default());
        assert!(slow.error.is_none(), "{text:?}: {:?}", slow.error);
        assert_eq!(
            format!("{:#?}", fast.docs),
            format!("{:#?}", slow.docs),
            "{text:?}"
        );
    }

    fn declines(text: &str) {
        assert!(
            super::parse(text, Limits::default()).is_none(),
            "handled: {text:?}"
        );
    }

    #[test]
    fn spans_follow_saphyr_markers() {
        // A quoted scalar and a flow collection end after their blanks and comment.
        same("a: \"x\"   # c\nb: {k: v}  # c\nc: 'y' \n");
        // An indentless sequence starts after its first `-` and blanks; empty entries and
        // values sit after the `-` (and its comment) and at the `:`.
        same("a:\n- x\n-   # c\n- \nb:\nc: 1\n");
        // Block collections end where the next token starts, past blank and comment lines.
        same("a:\n  b: 1\n\n  # c\nd: [1, 2]\n");
        same("- a: 1\n  b:\n    - x\n  c: 2\n- - y\n  - z\n-\n  k: v\n");
    }

    #[test]
    fn documents_and_markers() {
        same("a: 1\n---\nb: 2\n---\n");
        same("---\n...\n---\n---\nx\n...\n");
        same("# only a comment\n");
        same("");
        same("a: 1\n...\nb: 2\n");
        same("--- # c\n- 1\n... # c\n");
    }

    #[test]
    fn scalars_resolve_and_unescape_as_on_the_saphyr_path() {
        same("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: hello world\ng: 0x10\nh: -.inf\ni: .nan\n");
        same("a: \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\\\"\\/\\0\\N\\_\"\nb: 'it''s'\n");
        same("é: \"ééé\"\nclé: valeur é\n");
        same("k: a:b\nl: a#b\nm: -1\n");
        same("url: http://x/y?z=1&w=2\nneg: -x\nlist: [a, 'b', \"c\", {d: e}, [f]]\n");
        same("{a: , b: 1}\n");
        same("dup: 1\nother: 2\ndup: 3\nm: {x: 1, x: 2}\n");
    }

    #[test]
    fn outside_the_subset_it_declines() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: b\n  c\n",
            "a: 'b\n  c'\n",
            "a: [1,\n  2]\n",
            "a:\tb\n",
            "a: 1\r\n",
            "%YAML 1.2\n---\na: 1\n",
            "? a\n: b\n",
            "\u{feff}a: 1\n",
            "a: {x: 1,}\n",
            "a: [x-, y]\n",
            "a: {k: v-}\n",
            "a: [x -, y]\n",
            "[a: 1]\n",
            "a: b: c\n",
            "a: 1\n b: 2\n",
            "--- a\n",
            "a: \"\\q\"\n",
        ] {
            declines(text);
        }
    }

    #[test]
    fn budgets_decline_so_the_saphyr_path_reports_them() {
        let tiny = Limits {
            max_depth: 2,
            max_nodes: 5,
            max_file_nodes: 8,
            max_file_bytes: 10,
        };
        for text in [
            "a: {b: [c]}\n",
            "[a, b, c, d, e, f]\n",
            "- x\n---\n- y\n---\n- z\n---\n- w\n---\n- v\n",
            "a: abcdefghijkl\n",
        ] {
            assert!(super::parse(text, tiny).is_none(), "{text:?}");
            assert!(parse_events(text, tiny).error.is_some(), "{text:?}");
        }
    }
}
