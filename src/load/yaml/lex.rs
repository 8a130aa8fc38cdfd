//! The lexing shared by the loader's fast path (`fast`, which builds the span tree) and the
//! scenario's direct path (`crate::load::direct`, which types a file straight from its
//! text): the cursor over one-line tokens (plain and quoted scalars, flow punctuation,
//! comments, line starts) and the per-file budgets. Both read the same subset with the same
//! rules, and both decline (`None`) on anything outside it.

use super::{Limits, RUN_BUDGET, RUN_BYTES, RUN_NODES};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Declines: the caller falls back to the saphyr path.
pub(crate) type R<T> = Option<T>;

/// A simple key may not run longer than this (saphyr-parser makes a key stale after 1024
/// characters); bytes are at least characters, so staying under it in bytes is safe.
pub(crate) const MAX_KEY: usize = 1000;

/// Adds a whole file's cost to the run's budgets at once, or nothing if that would exceed
/// them (the saphyr path then charges node by node and reports where the budget ran out).
pub(crate) fn charge_run(nodes: usize, bytes: usize) -> bool {
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

/// The cursor.
pub(crate) struct Lexer<'a> {
    pub(crate) t: &'a [u8],
    pub(crate) s: &'a str,
    pub(crate) pos: usize,
    /// Start of the current line.
    pub(crate) line: usize,
    /// Column of the next content after `next_line` (its first non-blank byte); -1 at the
    /// end of the stream or at a document marker, which close every block collection.
    pub(crate) col: isize,
}

/// What the nodes read so far cost, against the limits (as the saphyr path counts: every
/// node, keys and empty values included, and scalar bytes).
pub(crate) struct Budget {
    pub(crate) limits: Limits,
    /// Open collections (the saphyr path's stack).
    pub(crate) depth: usize,
    pub(crate) nodes: usize,
    pub(crate) file_nodes: usize,
    pub(crate) file_bytes: usize,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            depth: 0,
            nodes: 0,
            file_nodes: 0,
            file_bytes: 0,
        }
    }

    /// Charges a node to the document's and the file's budgets; declines past them.
    #[inline]
    pub(crate) fn charge(&mut self, bytes: usize) -> R<()> {
        self.count(bytes);
        self.within().then_some(())
    }

    /// Counts a node without checking the totals: for a reader that checks them with
    /// [`Budget::within`] where a collection opens and at its end (the count only grows, so
    /// it declines all the same, a little later).
    #[inline]
    pub(crate) fn count(&mut self, bytes: usize) {
        self.nodes += 1;
        self.file_nodes += 1;
        self.file_bytes += bytes;
    }

    /// Whether the nodes counted so far fit the limits.
    #[inline]
    pub(crate) fn within(&self) -> bool {
        self.nodes <= self.limits.max_nodes
            && self.file_nodes <= self.limits.max_file_nodes
            && self.file_bytes <= self.limits.max_file_bytes
    }

    #[inline]
    pub(crate) fn open(&mut self) -> R<()> {
        if self.depth >= self.limits.max_depth {
            return None;
        }
        self.charge(0)?;
        self.depth += 1;
        Some(())
    }

    /// A collection closes.
    #[inline]
    pub(crate) fn close(&mut self) {
        self.depth -= 1;
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            t: text.as_bytes(),
            s: text,
            pos: 0,
            line: 0,
            col: -1,
        }
    }

    #[inline]
    pub(crate) fn at(&self, i: usize) -> u8 {
        self.t.get(i).copied().unwrap_or(0)
    }

    #[inline]
    pub(crate) fn eof(&self) -> bool {
        self.pos >= self.t.len()
    }

    /// A `---` or `...` line start at `i` (saphyr: the three characters then a blank, a
    /// break or the end).
    #[inline]
    pub(crate) fn marker(&self, i: usize) -> Option<u8> {
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
    pub(crate) fn comment(&mut self) -> R<()> {
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
    #[inline]
    pub(crate) fn rest_of_line(&mut self) -> R<()> {
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
    #[inline]
    pub(crate) fn blanks_and_comment(&mut self) -> R<()> {
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
    #[inline]
    pub(crate) fn next_line(&mut self) -> R<()> {
        if self.eof() {
            self.col = -1;
            return Some(());
        }
        debug_assert_eq!(self.t[self.pos], b'\n');
        self.pos += 1;
        self.line_content()
    }

    /// From a line start, moves to the next content as `next_line` does.
    pub(crate) fn line_content(&mut self) -> R<()> {
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
    #[inline]
    pub(crate) fn at_break(&self) -> bool {
        self.eof() || self.t[self.pos] == b'\n'
    }

    /// The `-` at the cursor is a block sequence entry (a blank, a break or the end follows).
    #[inline]
    pub(crate) fn dash(&self) -> bool {
        matches!(self.t.get(self.pos + 1), None | Some(b' ' | b'\n'))
    }

    #[inline]
    pub(crate) fn column(&self) -> isize {
        (self.pos - self.line) as isize
    }

    /// The document marker at the cursor, if the cursor is at one (at a line start).
    #[inline]
    pub(crate) fn marker_here(&self) -> Option<u8> {
        if self.eof() || self.pos != self.line {
            return None;
        }
        self.marker(self.pos)
    }

    // ---- scalars ----

    /// A plain scalar on one line in block context, from the cursor; returns its end (before
    /// trailing blanks). The cursor stops at the line break, at ` #`, or at a `:` followed by a
    /// blank (a key's indicator, possibly after blanks).
    pub(crate) fn plain_block(&mut self) -> R<usize> {
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
    pub(crate) fn quoted(&mut self, q: u8) -> R<Cow<'a, str>> {
        let t = self.t;
        let mut i = self.pos + 1;
        let first = i;
        // Allocated only for an escape or a `''`.
        let mut out: Option<String> = None;
        let mut run = i;
        loop {
            let b = *t.get(i)?;
            match b {
                b'\'' if q == b'\'' => {
                    if t.get(i + 1) == Some(&b'\'') {
                        (out.get_or_insert_with(String::new)).push_str(&self.s[run..=i]);
                        i += 2;
                        run = i;
                        continue;
                    }
                    break;
                }
                b'"' if q == b'"' => break,
                b'\\' if q == b'"' => {
                    let o = out.get_or_insert_with(String::new);
                    o.push_str(&self.s[run..i]);
                    let (ch, len) = escape(&t[i + 1..])?;
                    o.push(ch);
                    i += 1 + len;
                    run = i;
                }
                b'\n' | 0..=0x1F | 0x7F => return None,
                0xEF if t.get(i + 1) == Some(&0xBB) && t.get(i + 2) == Some(&0xBF) => return None,
                _ => i += 1,
            }
        }
        let text = match out {
            None => Cow::Borrowed(&self.s[first..i]),
            Some(mut o) => {
                o.push_str(&self.s[run..i]);
                Cow::Owned(o)
            }
        };
        self.pos = i + 1;
        self.blanks_and_comment()?;
        // saphyr: a quoted scalar is followed by a break, a `:`, or a flow indicator.
        Some(text)
    }

    /// After a flow item: a `,` (not followed by the closing bracket — a trailing comma is
    /// declined) → `Some(false)`; the closing bracket → `Some(true)`; anything else → `None`.
    #[inline]
    pub(crate) fn flow_next(&mut self, close: u8) -> R<bool> {
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
    #[inline]
    pub(crate) fn flow_blanks(&mut self) -> R<()> {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' | b'\n' | b'\t' | b'\r' => None,
            0 if self.eof() => None,
            _ => Some(()),
        }
    }

    /// A plain scalar inside a flow collection, from the cursor; returns its end (before
    /// trailing blanks), the cursor stops at the token that ends it.
    pub(crate) fn flow_plain(&mut self) -> R<usize> {
        // (`plain_start` is false at `[` and `{`.)
        if !plain_start(self.at(self.pos), self.at(self.pos + 1)) {
            return None;
        }
        self.flow_plain_rest()
    }

    /// `flow_plain` once its first byte is known to start a plain scalar.
    #[inline]
    pub(crate) fn flow_plain_rest(&mut self) -> R<usize> {
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
                b'\n' => break,
                // A `-` right before a flow indicator declines (checked here rather than at
                // every `-`: `i > pos`, as no plain scalar starts with an indicator).
                b',' | b'[' | b']' | b'{' | b'}' if t[i - 1] == b'-' => return None,
                b',' | b'[' | b']' | b'{' | b'}' => break,
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
}

/// Bytes a plain scalar's scan must look at: in block context (`BLOCK`) and in a flow
/// collection (`FLOW`, which adds the flow indicators).
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
    c
};

/// Whether a `:` followed by `b` ends a plain scalar inside a flow collection.
pub(crate) fn is_flow_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\n' | b'\t' | b'\r' | b',' | b'[' | b']' | b'{' | b'}'
    )
}

/// Whether `c` (then `next`) may start a plain scalar the fast path reads: no indicator.
#[inline]
pub(crate) fn plain_start(c: u8, next: u8) -> bool {
    match START[c as usize] {
        0 => false,
        1 => true,
        _ => !matches!(next, b' ' | b'\n' | b'\t' | b'\r' | 0),
    }
}

/// Whether `c` starts a plain scalar whatever follows (`plain_start` but for `-`).
#[inline]
pub(crate) fn plain_first(c: u8) -> bool {
    START[c as usize] == 1
}

/// `plain_start` by first byte: 0 never starts a plain scalar (an indicator, a blank or a
/// control character), 1 always does, 2 (`-`) unless a blank, a break or the end follows.
static START: [u8; 256] = {
    let mut c = [1u8; 256];
    let mut i = 0;
    while i < 0x20 {
        c[i] = 0;
        i += 1;
    }
    c[0x7F] = 0;
    let never = b"?:,[]{}#&*!|>'\"%@` ";
    let mut k = 0;
    while k < never.len() {
        c[never[k] as usize] = 0;
        k += 1;
    }
    c[b'-' as usize] = 2;
    c
};

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
