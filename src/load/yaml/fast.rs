//! The loader's fast path: a hand-written scanner for the YAML most configs are written in,
//! building the same tree as the saphyr-parser path (same values, byte spans, duplicate-key
//! reports and budgets) without going through events.
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

use super::{
    resolve_plain, DuplicateKey, Limits, Node, OpenMap, Parsed, Span, Value, YamlDoc, RUN_BUDGET,
    RUN_BYTES, RUN_NODES,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Declines: the saphyr path parses the input instead.
type R<T> = Option<T>;

/// A simple key may not run longer than this (saphyr-parser makes a key stale after 1024
/// characters); bytes are at least characters, so staying under it in bytes is safe.
const MAX_KEY: usize = 1000;

/// Parses `text` if it is within the subset, else `None`.
pub(super) fn parse(text: &str, limits: Limits) -> Option<Parsed> {
    let mut p = Fast {
        t: text.as_bytes(),
        s: text,
        pos: 0,
        line: 0,
        col: -1,
        limits,
        depth: 0,
        nodes: 0,
        file_nodes: 0,
        file_bytes: 0,
        items: Vec::new(),
        entries: Vec::new(),
        duplicates: Vec::new(),
    };
    let docs = p.stream()?;
    if !charge_run(p.file_nodes, p.file_bytes) {
        return None;
    }
    Some(Parsed { docs, error: None })
}

/// Adds a whole file's cost to the run's budgets at once, or nothing if that would exceed
/// them (the saphyr path then charges node by node and reports where the budget ran out).
fn charge_run(nodes: usize, bytes: usize) -> bool {
    use crate::limits::{get_usize, Limit};
    if !RUN_BUDGET.load(Ordering::Relaxed) {
        return true;
    }
    fn add(counter: &AtomicUsize, n: usize, max: usize) -> bool {
        counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                cur.checked_add(n).filter(|&total| total <= max)
            })
            .is_ok()
    }
    if !add(&RUN_NODES, nodes, get_usize(Limit::YamlRunNodes)) {
        return false;
    }
    if !add(&RUN_BYTES, bytes, get_usize(Limit::YamlRunBytes)) {
        RUN_NODES.fetch_sub(nodes, Ordering::Relaxed);
        return false;
    }
    true
}

struct Fast<'a> {
    t: &'a [u8],
    s: &'a str,
    pos: usize,
    /// Start of the current line.
    line: usize,
    /// Column of the next content after `next_line` (its first non-blank byte); -1 at the
    /// end of the stream or at a document marker, which close every block collection.
    col: isize,
    limits: Limits,
    /// Open collections (the saphyr path's stack).
    depth: usize,
    nodes: usize,
    file_nodes: usize,
    file_bytes: usize,
    /// Items of the open sequences, innermost last (as `Builder::items`).
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Node, Node)>,
    /// The current document's duplicate keys.
    duplicates: Vec<DuplicateKey>,
}

fn span(start: usize, end: usize) -> Span {
    Span { start, end }
}

impl<'a> Fast<'a> {
    fn at(&self, i: usize) -> u8 {
        self.t.get(i).copied().unwrap_or(0)
    }

    fn eof(&self) -> bool {
        self.pos >= self.t.len()
    }

    /// A `---` or `...` line start at `i` (saphyr: the three characters then a blank, a
    /// break or the end).
    fn marker(&self, i: usize) -> Option<u8> {
        let c = self.at(i);
        if (c == b'-' || c == b'.')
            && self.at(i + 1) == c
            && self.at(i + 2) == c
            && matches!(self.at(i + 3), 0 | b' ' | b'\n' | b'\t' | b'\r')
        {
            Some(c)
        } else {
            None
        }
    }

    /// Skips a comment from its `#` to the line break.
    fn comment(&mut self) -> R<()> {
        let t = self.t;
        let mut i = self.pos;
        while i < t.len() {
            match t[i] {
                b'\n' => break,
                // saphyr ends a comment at `\r` and at NUL (its end of input).
                b'\r' | 0 => return None,
                0xEF if t.get(i + 1) == Some(&0xBB) && t.get(i + 2) == Some(&0xBF) => return None,
                _ => i += 1,
            }
        }
        self.pos = i;
        Some(())
    }

    /// Skips blanks and a comment after a token up to the line break; `None` on anything else.
    fn rest_of_line(&mut self) -> R<()> {
        let start = self.pos;
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' if self.pos > start => self.comment(),
            b'\n' => Some(()),
            0 if self.eof() => Some(()),
            _ => None,
        }
    }

    /// Blanks, and a comment when they precede one (saphyr's `skip_ws_to_eol`): where a quoted
    /// scalar or a flow collection's closing token ends.
    fn blanks_and_comment(&mut self) -> R<()> {
        let start = self.pos;
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' if self.pos > start => self.comment(),
            b'#' | b'\t' | b'\r' => None,
            _ => Some(()),
        }
    }

    /// From a line break (or the end), moves to the next content: its first byte, or the end
    /// of the stream; sets `col` (-1 at the end or at a document marker).
    fn next_line(&mut self) -> R<()> {
        if self.eof() {
            self.col = -1;
            return Some(());
        }
        debug_assert_eq!(self.t[self.pos], b'\n');
        self.pos += 1;
        self.line_content()
    }

    /// From a line start, moves to the next content as `next_line` does.
    fn line_content(&mut self) -> R<()> {
        let t = self.t;
        loop {
            self.line = self.pos;
            while self.at(self.pos) == b' ' {
                self.pos += 1;
            }
            match self.at(self.pos) {
                b'\n' => {
                    self.pos += 1;
                    continue;
                }
                b'#' => {
                    self.comment()?;
                    if self.eof() {
                        self.col = -1;
                        return Some(());
                    }
                    self.pos += 1;
                    continue;
                }
                0 if self.eof() => {
                    self.col = -1;
                    return Some(());
                }
                b'\t' | b'\r' | 0 => return None,
                _ => {}
            }
            self.col = (self.pos - self.line) as isize;
            if self.col == 0 && self.marker(self.pos).is_some() {
                self.col = -1;
            } else if self.col == 0 && matches!(t[self.pos], b'%') {
                return None;
            }
            return Some(());
        }
    }

    /// At a line break or the end of the stream.
    fn at_break(&self) -> bool {
        self.eof() || self.t[self.pos] == b'\n'
    }

    /// The `-` at the cursor is a block sequence entry (a blank, a break or the end follows).
    fn dash(&self) -> bool {
        matches!(self.t.get(self.pos + 1), None | Some(b' ' | b'\n'))
    }

    fn column(&self) -> isize {
        (self.pos - self.line) as isize
    }

    /// Charges a node to the document's and the file's budgets; declines past them.
    fn charge(&mut self, bytes: usize) -> R<()> {
        self.nodes += 1;
        self.file_nodes += 1;
        self.file_bytes += bytes;
        if self.nodes > self.limits.max_nodes
            || self.file_nodes > self.limits.max_file_nodes
            || self.file_bytes > self.limits.max_file_bytes
        {
            return None;
        }
        Some(())
    }

    fn open(&mut self) -> R<()> {
        if self.depth >= self.limits.max_depth {
            return None;
        }
        self.charge(0)?;
        self.depth += 1;
        Some(())
    }

    /// A quoted scalar's node (its bytes are the unescaped text's).
    fn string(&mut self, span: Span, s: String) -> R<Node> {
        self.charge(s.len())?;
        Some(Node {
            span,
            value: Value::Str(s),
        })
    }

    /// A plain scalar's node: `start..end` resolved as on the saphyr path.
    fn plain(&mut self, start: usize, end: usize) -> R<Node> {
        self.charge(end - start)?;
        Some(Node {
            span: span(start, end),
            value: resolve_plain(Cow::Borrowed(&self.s[start..end])),
        })
    }

    /// saphyr's empty scalar (an empty value or document) at `at`.
    fn null_at(&mut self, at: Span) -> R<Node> {
        self.charge(0)?;
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
                    self.nodes = 0;
                    self.depth = 0;
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
                    self.nodes = 0;
                    self.depth = 0;
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

    /// The document marker at the cursor, if the cursor is at one (at a line start).
    fn marker_here(&self) -> Option<u8> {
        if self.eof() || self.pos != self.line {
            return None;
        }
        self.marker(self.pos)
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
        self.open()?;
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
        self.depth -= 1;
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
        self.open()?;
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
        self.depth -= 1;
        Some(Node {
            span: span(start, end.max(start)),
            value: Value::Seq(items),
        })
    }

    // ---- scalars ----

    /// A plain scalar on one line in block context, from the cursor; returns its end (before
    /// trailing blanks). The cursor stops at the line break, at ` #`, or at a `:` followed by a
    /// blank (a key's indicator, possibly after blanks).
    fn plain_block(&mut self) -> R<usize> {
        let t = self.t;
        let mut i = self.pos;
        let mut end = i;
        loop {
            // Ordinary bytes in bulk; the match sees only the special ones.
            while i < t.len() && CLASS[t[i] as usize] & BLOCK == 0 {
                i += 1;
            }
            if i > end {
                end = i;
            }
            let b = t.get(i).copied().unwrap_or(b'\n');
            match b {
                b'\n' => break,
                b' ' => {
                    let mut j = i;
                    while t.get(j) == Some(&b' ') {
                        j += 1;
                    }
                    match t.get(j).copied().unwrap_or(b'\n') {
                        b'\n' | b'#' => break,
                        b':' if matches!(t.get(j + 1).copied().unwrap_or(b'\n'), b' ' | b'\n') => {
                            i = j;
                            break;
                        }
                        _ => i = j,
                    }
                }
                b':' if matches!(t.get(i + 1).copied().unwrap_or(b'\n'), b' ' | b'\n') => break,
                0..=0x1F | 0x7F => return None,
                0xEF if t.get(i + 1) == Some(&0xBB) && t.get(i + 2) == Some(&0xBF) => return None,
                _ => {
                    i += 1;
                    end = i;
                }
            }
        }
        self.pos = i;
        Some(end)
    }

    /// A quoted scalar on one line from its opening quote `q`; the cursor ends after the
    /// blanks and comment behind the closing quote (where saphyr ends its span).
    fn quoted(&mut self, q: u8) -> R<String> {
        let t = self.t;
        let mut i = self.pos + 1;
        let mut out = String::new();
        let mut run = i;
        loop {
            let b = *t.get(i)?;
            match b {
                b'\'' if q == b'\'' => {
                    if t.get(i + 1) == Some(&b'\'') {
                        out.push_str(&self.s[run..=i]);
                        i += 2;
                        run = i;
                        continue;
                    }
                    break;
                }
                b'"' if q == b'"' => break,
                b'\\' if q == b'"' => {
                    out.push_str(&self.s[run..i]);
                    let (ch, len) = escape(&t[i + 1..])?;
                    out.push(ch);
                    i += 1 + len;
                    run = i;
                }
                b'\n' | 0..=0x1F | 0x7F => return None,
                0xEF if t.get(i + 1) == Some(&0xBB) && t.get(i + 2) == Some(&0xBF) => return None,
                _ => i += 1,
            }
        }
        out.push_str(&self.s[run..i]);
        self.pos = i + 1;
        self.blanks_and_comment()?;
        // saphyr: a quoted scalar is followed by a break, a `:`, or a flow indicator.
        Some(out)
    }

    // ---- flow collections (one line) ----

    /// A flow collection at the cursor (`[` or `{`), closed on the same line; the cursor ends
    /// after the blanks and comment behind its closing bracket.
    fn flow(&mut self, open: u8) -> R<Node> {
        self.open()?;
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
        self.depth -= 1;
        Some(Node {
            span: span(start, self.pos),
            value: node,
        })
    }

    /// After a flow item: a `,` (not followed by the closing bracket — a trailing comma is
    /// declined) → `Some(false)`; the closing bracket → `Some(true)`; anything else → `None`.
    fn flow_next(&mut self, close: u8) -> R<bool> {
        match self.at(self.pos) {
            b',' => {
                self.pos += 1;
                self.flow_blanks()?;
                if self.at(self.pos) == close {
                    return None;
                }
                Some(false)
            }
            c if c == close => Some(true),
            _ => None,
        }
    }

    /// Blanks inside a one-line flow collection; a comment or a break there declines.
    fn flow_blanks(&mut self) -> R<()> {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' | b'\n' | b'\t' | b'\r' => None,
            0 if self.eof() => None,
            _ => Some(()),
        }
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
        if !plain_start(c, self.at(self.pos + 1)) || matches!(c, b'[' | b'{') {
            return None;
        }
        let t = self.t;
        let mut i = self.pos;
        let mut end = i;
        loop {
            while i < t.len() && CLASS[t[i] as usize] & FLOW == 0 {
                i += 1;
            }
            if i > end {
                end = i;
            }
            let b = t.get(i).copied().unwrap_or(b'\n');
            match b {
                b'\n' | b',' | b'[' | b']' | b'{' | b'}' => break,
                b' ' => {
                    let mut j = i;
                    while t.get(j) == Some(&b' ') {
                        j += 1;
                    }
                    match t.get(j).copied().unwrap_or(b'\n') {
                        b'\n' | b'#' | b',' | b'[' | b']' | b'{' | b'}' => {
                            i = j;
                            break;
                        }
                        b':' if is_flow_end(t.get(j + 1).copied().unwrap_or(b'\n')) => {
                            i = j;
                            break;
                        }
                        b'-' if is_flow_end(t.get(j + 1).copied().unwrap_or(b'\n')) => return None,
                        _ => i = j,
                    }
                }
                b':' if is_flow_end(t.get(i + 1).copied().unwrap_or(b'\n')) => break,
                b'-' if matches!(t.get(i + 1), Some(b',' | b'[' | b']' | b'{' | b'}')) => {
                    return None
                }
                0..=0x1F | 0x7F => return None,
                0xEF if t.get(i + 1) == Some(&0xBB) && t.get(i + 2) == Some(&0xBF) => return None,
                _ => {
                    i += 1;
                    end = i;
                }
            }
        }
        self.pos = i;
        self.plain(start, end)
    }
}

/// Bytes a plain scalar's scan must look at: in block context (`BLOCK`) and in a flow
/// collection (`FLOW`, which adds the flow indicators and `-`).
const BLOCK: u8 = 1;
const FLOW: u8 = 2;
static CLASS: [u8; 256] = {
    let mut c = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        c[i] = BLOCK | FLOW;
        i += 1;
    }
    c[0x7F] = BLOCK | FLOW;
    c[0xEF] = BLOCK | FLOW;
    c[b' ' as usize] = BLOCK | FLOW;
    c[b':' as usize] = BLOCK | FLOW;
    c[b',' as usize] = FLOW;
    c[b'[' as usize] = FLOW;
    c[b']' as usize] = FLOW;
    c[b'{' as usize] = FLOW;
    c[b'}' as usize] = FLOW;
    c[b'-' as usize] = FLOW;
    c
};

/// Whether a `:` followed by `b` ends a plain scalar inside a flow collection.
fn is_flow_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\n' | b'\t' | b'\r' | b',' | b'[' | b']' | b'{' | b'}'
    )
}

/// Whether `c` (then `next`) may start a plain scalar the fast path reads: no indicator.
fn plain_start(c: u8, next: u8) -> bool {
    match c {
        b'-' => !matches!(next, b' ' | b'\n' | b'\t' | b'\r' | 0),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' => false,
        0..=0x1F | 0x7F => false,
        _ => true,
    }
}

/// A double-quoted scalar's escape after its `\` (saphyr-parser's set): the character and
/// how many bytes follow the backslash.
fn escape(t: &[u8]) -> R<(char, usize)> {
    let c = match *t.first()? {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\x0d',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(t, 2),
        b'u' => return hex(t, 4),
        b'U' => return hex(t, 8),
        _ => return None,
    };
    Some((c, 1))
}

fn hex(t: &[u8], n: usize) -> R<(char, usize)> {
    let digits = t.get(1..1 + n)?;
    let mut v: u32 = 0;
    for &d in digits {
        v = (v << 4) | (d as char).to_digit(16)?;
    }
    Some((char::from_u32(v)?, 1 + n))
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
