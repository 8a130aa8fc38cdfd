//! Pretty JSON, byte for byte what `serde_json::to_writer_pretty` writes (two-space indent,
//! `[]`/`{}` for empty containers, serde_json's escapes, numbers and enum encodings), from a
//! serde `Serializer` of our own that writes into a 64 KiB buffer and hands it to the
//! `io::Write` when full.
//!
//! Why not serde_json's `Serializer` with a `Formatter`: it calls `io::Write::write_all` for
//! every fragment (quote, text, quote, line break, `: `) and scans strings byte by byte
//! through a table. A 10,000-request simulate report is ~1.15 M strings and 25 MB; those
//! calls were most of its cost. Here a token is one room check and fixed-size stores, and
//! struct fields are inlined into the derived `Serialize` impls, where a field name is a
//! constant and its check and copy fold away (docs/performance.md §8).
//!
//! serde_json is the reference: the differential tests below compare both on generated
//! values, and floats (absent from our reports) are formatted by serde_json itself.

use serde::ser::{self, Impossible, Serialize};
use std::fmt;
use std::io;

/// Output is handed to the writer when the buffer is this full.
const CHUNK: usize = 1 << 16;

/// What a long string reserves past its length (its last 16-byte block, quotes and `": `),
/// and what the buffer grows by beyond a request.
const SLACK: usize = 64;

/// `,` then a line break and 63 levels of indentation, sliced as needed.
const BREAK: &[u8; 128] = b",\n                                                                                                                              ";

/// Writes `v` as pretty JSON to `w`. An error of `w` is returned as it was; a value serde_json
/// would refuse (a map key that is not a string, a number or a bool) is an `InvalidData` error.
pub fn to_writer<T: ?Sized + Serialize, W: io::Write>(w: W, v: &T) -> io::Result<()> {
    let mut stream = Stream::new(w);
    stream.value(v, 0);
    stream.finish().map(drop)
}

/// `v` as pretty JSON text (serde_json's `to_string_pretty`).
pub fn to_string<T: ?Sized + Serialize>(v: &T) -> Result<String, Error> {
    let mut ser = Ser {
        buf: vec![0; 1 << 10],
        pos: 0,
        out: None,
        error: None,
        depth: 0,
    };
    v.serialize(&mut ser)?;
    let mut buf = ser.buf;
    buf.truncate(ser.pos);
    // Only `&str` contents and ASCII are ever written.
    String::from_utf8(buf).map_err(|e| Error::Msg(e.to_string()))
}

/// A document written piece by piece (raw JSON text, then values at a given nesting depth)
/// through one buffer handed to `w` in chunks: `simulate --format json` writes each request's
/// report as soon as it is complete. After the writer's first error the rest is dropped.
pub struct Stream<W: io::Write> {
    w: W,
    buf: Vec<u8>,
    pos: usize,
    error: Option<io::Error>,
}

impl<W: io::Write> Stream<W> {
    pub fn new(w: W) -> Self {
        Stream {
            w,
            buf: vec![0; CHUNK + SLACK],
            pos: 0,
            error: None,
        }
    }

    /// Text that is already JSON.
    pub fn raw(&mut self, text: &[u8]) {
        self.with_ser(0, |ser| {
            ser.raw(text);
            Ok(())
        });
    }

    /// `v` as pretty JSON, indented as a value `depth` levels deep (its first line is not
    /// indented: the caller wrote the line break and indentation before it).
    pub fn value<T: ?Sized + Serialize>(&mut self, v: &T, depth: usize) {
        self.with_ser(depth, |ser| v.serialize(ser));
    }

    /// Runs `f` on a serializer over this stream's buffer and writer.
    fn with_ser(&mut self, depth: usize, f: impl FnOnce(&mut Ser<'_>) -> Result<(), Error>) {
        if self.error.is_some() {
            return;
        }
        let mut ser = Ser {
            buf: std::mem::take(&mut self.buf),
            pos: self.pos,
            out: Some(&mut self.w),
            error: None,
            depth,
        };
        let result = f(&mut ser);
        let Ser {
            buf, pos, error, ..
        } = ser;
        self.buf = buf;
        self.pos = pos;
        self.error = error.or_else(|| result.err().map(io::Error::from));
    }

    /// Hands over what is buffered; the writer's first error, if there was one.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.w.write_all(&self.buf[..self.pos])?;
        Ok(self.w)
    }
}

/// Why serialising failed: the writer's error, or a value JSON cannot represent.
#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Msg(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Msg(msg.to_string())
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::Msg(m) => io::Error::new(io::ErrorKind::InvalidData, m),
        }
    }
}

// serde_json's texts for the keys it refuses.
fn key_must_be_a_string() -> Error {
    Error::Msg("key must be a string".into())
}

fn float_key_must_be_finite() -> Error {
    Error::Msg("float key must be finite (got NaN or +/-inf)".into())
}

/// The serializer: text goes into `buf[..pos]`. `buf` is initialised in full, so a token is
/// one room check and then fixed-size stores that may run past the token into the slack
/// (the next token overwrites them) instead of a `memcpy` call per fragment.
pub struct Ser<'w> {
    buf: Vec<u8>,
    pos: usize,
    /// Where full buffers go; `None`: keep everything (`to_string`). One writer type for
    /// every caller (`dyn`): the hand-over is rare, the `Serialize` impls compile once.
    out: Option<&'w mut dyn io::Write>,
    /// The writer failed: later output is dropped, the next element returns this.
    error: Option<io::Error>,
    depth: usize,
}

impl Ser<'_> {
    /// Makes room for `need` bytes at `pos`.
    #[inline(always)]
    fn room(&mut self, need: usize) {
        if self.buf.len() - self.pos < need {
            self.make_room(need);
        }
    }

    /// The next `N` bytes of the buffer (room made), to store into with fixed offsets: one
    /// bounds check for the whole token.
    #[inline(always)]
    fn window<const N: usize>(&mut self) -> &mut [u8; N] {
        self.room(N);
        let p = self.pos;
        match (&mut self.buf[p..p + N]).try_into() {
            Ok(w) => w,
            Err(_) => unreachable!("a range of N bytes is N bytes"),
        }
    }

    #[cold]
    #[inline(never)]
    fn make_room(&mut self, need: usize) {
        if self.out.is_some() {
            self.hand_over();
        }
        if self.buf.len() - self.pos < need {
            let len = (2 * self.buf.len()).max(self.pos + need + SLACK);
            self.buf.resize(len, 0);
        }
    }

    /// Gives `buf[..pos]` to the writer (once it failed: drops it).
    fn hand_over(&mut self) {
        if let (Some(out), None) = (&mut self.out, &self.error) {
            if let Err(e) = out.write_all(&self.buf[..self.pos]) {
                self.error = Some(e);
            }
        }
        self.pos = 0;
    }

    /// The writer's error, after each element and field: stop serialising.
    #[inline(always)]
    fn failed(&mut self) -> Result<(), Error> {
        if self.error.is_none() {
            return Ok(());
        }
        self.error.take().map_or(Ok(()), |e| Err(Error::Io(e)))
    }

    /// A short constant.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        *self.window::<N>() = *s;
        self.pos += N;
    }

    /// A line break (after a comma unless `!comma`) and the indentation of `self.depth`.
    #[inline(always)]
    fn newline(&mut self, comma: bool) {
        let start = usize::from(!comma);
        let len = 2 + 2 * self.depth - start;
        if len <= 32 {
            // A fixed 32-byte store; what lies past `len` is overwritten by what follows.
            let w = self.window::<32>();
            w.copy_from_slice(&BREAK[start..start + 32]);
            self.pos += len;
        } else {
            self.deep_newline(start);
        }
    }

    #[cold]
    fn deep_newline(&mut self, start: usize) {
        self.raw(&BREAK[start..2]);
        let mut spaces = 2 * self.depth;
        while spaces > 0 {
            let n = spaces.min(BREAK.len() - 2);
            self.raw(&BREAK[2..2 + n]);
            spaces -= n;
        }
    }

    fn raw(&mut self, s: &[u8]) {
        self.room(s.len());
        let p = self.pos;
        self.buf[p..p + s.len()].copy_from_slice(s);
        self.pos = p + s.len();
    }

    #[inline(always)]
    fn open(&mut self, c: u8) {
        self.lit(&[c]);
        self.depth += 1;
    }

    /// Closes a container that `open` opened; `has_value`: it holds at least one element.
    #[inline(always)]
    fn close(&mut self, c: u8, has_value: bool) {
        self.depth -= 1;
        if has_value {
            self.newline(false);
        }
        self.lit(&[c]);
    }

    /// `s` as a JSON string; `key`: followed by `": "`. Values and map keys: one copy of the
    /// code.
    #[inline(never)]
    fn string(&mut self, s: &str, key: bool) {
        self.string_inline(s, key);
    }

    /// `string`, inlined: for struct field names, constants where it is inlined. Up to 32
    /// bytes (nearly every key and value) are read as two overlapping blocks (or words,
    /// halves, single bytes), checked at once and stored whole.
    #[inline(always)]
    fn string_inline(&mut self, s: &str, key: bool) {
        let b = s.as_bytes();
        let n = b.len();
        if n > 32 {
            return self.long_string(b, key);
        }
        let w = self.window::<40>();
        w[0] = b'"';
        if n >= 16 {
            let (x, y) = (block(&b[..16]), block(&b[n - 16..]));
            if escapes16(&x) || escapes16(&y) {
                return self.escaped(b, key);
            }
            w[1..17].copy_from_slice(&x);
            w[n - 15..n + 1].copy_from_slice(&y);
        } else {
            // Two overlapping words; every byte of them is one of the text's.
            let (lo, hi) = if n >= 8 {
                (word(&b[..8]), word(&b[n - 8..]))
            } else if n >= 4 {
                let v = u64::from(half(&b[..4])) | u64::from(half(&b[n - 4..])) << 32;
                (v, v)
            } else if n > 0 {
                // Bytes 0, n/2 and n-1 cover 1 to 3 bytes.
                let v =
                    u64::from_le_bytes([b[0], b[n / 2], b[n - 1], b[0], b[0], b[0], b[0], b[0]]);
                (v, v)
            } else {
                (ONES * 0x20, ONES * 0x20)
            };
            if (escape_flags(lo) | escape_flags(hi)) & HIGH != 0 {
                return self.escaped(b, key);
            }
            if n >= 8 {
                w[1..9].copy_from_slice(&lo.to_le_bytes());
                w[n - 7..n + 1].copy_from_slice(&hi.to_le_bytes());
            } else if n >= 4 {
                let v = lo.to_le_bytes();
                w[1..5].copy_from_slice(&v[..4]);
                w[n - 3..n + 1].copy_from_slice(&v[4..]);
            } else if n > 0 {
                w[1] = b[0];
                w[1 + n / 2] = b[n / 2];
                w[n] = b[n - 1];
            }
        }
        w[n + 1..n + 4].copy_from_slice(b"\": ");
        self.pos += n + if key { 4 } else { 2 };
    }

    #[inline(never)]
    fn long_string(&mut self, b: &[u8], key: bool) {
        self.room(b.len() + SLACK);
        let p = self.pos;
        let dst = &mut self.buf[p..p + b.len() + SLACK];
        dst[0] = b'"';
        if copy_unescaped(&mut dst[1..], b) {
            dst[1 + b.len()..1 + b.len() + 3].copy_from_slice(b"\": ");
            self.pos = p + b.len() + if key { 4 } else { 2 };
        } else {
            self.escaped(b, key);
        }
    }

    /// serde_json's escapes: `\"`, `\\`, the short forms for 8, 9, 10, 12, 13 and `\u00xx`
    /// (lowercase hex) for the other control bytes; nothing else (not `/`, not DEL, not
    /// non-ASCII).
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, b: &[u8], key: bool) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Room for the worst case (every byte `\u00xx`), then plain indexed stores.
        let need = 6 * b.len() + 4;
        self.room(need);
        let p = self.pos;
        let out = &mut self.buf[p..p + need];
        out[0] = b'"';
        let mut o = 1;
        for &c in b {
            let short = match c {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x09 => b't',
                0x0a => b'n',
                0x0c => b'f',
                0x0d => b'r',
                0..=0x1f => 0,
                _ => {
                    out[o] = c;
                    o += 1;
                    continue;
                }
            };
            if short == 0 {
                let hex = |n: u8| HEX[usize::from(n)];
                out[o..o + 6].copy_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    hex(c >> 4),
                    hex(c & 0xf),
                ]);
                o += 6;
            } else {
                out[o..o + 2].copy_from_slice(&[b'\\', short]);
                o += 2;
            }
        }
        out[o..o + 3].copy_from_slice(b"\": ");
        self.pos = p + o + if key { 3 } else { 1 };
    }

    #[inline]
    fn integer<I: itoa::Integer>(&mut self, i: I) {
        let mut b = itoa::Buffer::new();
        self.raw(b.format(i).as_bytes());
    }

    /// `{` + the variant name as the only key of an object (serde_json's externally tagged
    /// enums); the caller writes the value and `close_variant`.
    fn open_variant(&mut self, variant: &str) {
        self.open(b'{');
        self.newline(false);
        self.string(variant, true);
    }

    fn close_variant(&mut self) {
        self.close(b'}', true);
    }

    fn float(&mut self, text: serde_json::Result<Vec<u8>>) -> Result<(), Error> {
        self.raw(&text.map_err(|e| Error::Msg(e.to_string()))?);
        Ok(())
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The top bit of a byte of the result is set if a byte of `x` at or below it is a control
/// byte, `"` or `\` (and only then): the borrow of `x - k * ONES` reaches the top bit of a
/// byte whose own top bit is clear only from a byte below `k`. (LLVM does not vectorise a
/// 16-byte check built from two words; it does one loaded as 16 bytes, `escapes16`.)
#[inline(always)]
fn escape_flags(x: u64) -> u64 {
    let ctl = x.wrapping_sub(ONES * 0x20);
    let quote = (x ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let bslash = (x ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (ctl | quote | bslash) & !x
}

fn block(s: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(s);
    a
}

fn word(s: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    u64::from_le_bytes(a)
}

fn half(s: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    u32::from_le_bytes(a)
}

/// Whether any of the 16 bytes is a control byte, `"` or `\` (compiled to a few SIMD
/// compares).
#[inline(always)]
fn escapes16(c: &[u8; 16]) -> bool {
    c.iter().fold(0u8, |a, &b| {
        a | u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\')
    }) != 0
}

/// Copies `src` (16 bytes or more) to the start of `dst` (`src.len() + 16` bytes or more)
/// 16 bytes at a time, and says whether it needs no escape. False: `dst` holds junk and the
/// caller escapes.
#[inline(always)]
fn copy_unescaped(dst: &mut [u8], src: &[u8]) -> bool {
    let last = src.len().saturating_sub(16);
    let mut i = 0;
    loop {
        // The last block overlaps the one before: every block is a full 16 bytes.
        let at = i.min(last);
        let Some(Ok(c)) = src.get(at..at + 16).map(<&[u8; 16]>::try_from) else {
            return false;
        };
        if escapes16(c) {
            return false;
        }
        dst[at..at + 16].copy_from_slice(c);
        if at == last {
            return true;
        }
        i += 16;
    }
}

impl<'a, 'w> ser::Serializer for &'a mut Ser<'w> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'w>;
    type SerializeTuple = Compound<'a, 'w>;
    type SerializeTupleStruct = Compound<'a, 'w>;
    type SerializeTupleVariant = Compound<'a, 'w>;
    type SerializeMap = Compound<'a, 'w>;
    type SerializeStruct = Compound<'a, 'w>;
    type SerializeStructVariant = Compound<'a, 'w>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        if v {
            self.lit(b"true");
        } else {
            self.lit(b"false");
        }
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.integer(v);
        Ok(())
    }

    // Floats are rare in our output: serde_json writes them (its shortest round-trip text,
    // `null` for NaN and infinities).
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(serde_json::to_vec(&v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(serde_json::to_vec(&v))
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]), false);
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v, false);
        Ok(())
    }

    /// An array of numbers, as serde_json writes bytes.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.lit(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant);
        v.serialize(&mut *self)?;
        self.close_variant();
        Ok(())
    }

    #[inline(always)]
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, 'w>, Error> {
        Ok(Compound::open(self, b'[', len, false))
    }

    #[inline(always)]
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'w>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'w>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'w>, Error> {
        self.open_variant(variant);
        Ok(Compound::open(self, b'[', Some(len), true))
    }

    #[inline(always)]
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, 'w>, Error> {
        Ok(Compound::open(self, b'{', len, false))
    }

    #[inline(always)]
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, 'w>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'w>, Error> {
        self.open_variant(variant);
        Ok(Compound::open(self, b'{', Some(len), true))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Declared empty: already closed (serde_json writes `[]`/`{}` at once).
    Empty,
    First,
    Rest,
}

/// An open array or object.
pub struct Compound<'a, 'w> {
    ser: &'a mut Ser<'w>,
    state: State,
    /// Inside `{"variant": …}`, which `end` closes too.
    variant: bool,
}

impl<'a, 'w> Compound<'a, 'w> {
    #[inline(always)]
    fn open(ser: &'a mut Ser<'w>, c: u8, len: Option<usize>, variant: bool) -> Self {
        let state = if len == Some(0) {
            ser.lit(if c == b'[' { b"[]" } else { b"{}" });
            State::Empty
        } else {
            ser.open(c);
            State::First
        };
        Compound {
            ser,
            state,
            variant,
        }
    }

    /// Before an element or key: the separator and line break.
    #[inline(always)]
    fn next(&mut self) {
        // serde_json puts a comma before anything but the first, even after a declared
        // empty container (a `Serialize` impl that lied about its length).
        self.ser.newline(self.state != State::First);
        self.state = State::Rest;
    }

    #[inline(always)]
    fn end(self, c: u8) -> Result<(), Error> {
        if self.state != State::Empty {
            self.ser.close(c, self.state == State::Rest);
        }
        if self.variant {
            self.ser.close_variant();
        }
        Ok(())
    }

    #[inline(always)]
    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.next();
        v.serialize(&mut *self.ser)?;
        self.ser.failed()
    }

    #[inline(always)]
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        self.next();
        self.ser.string_inline(key, true);
        v.serialize(&mut *self.ser)?;
        self.ser.failed()
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline(always)]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline(always)]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b']')
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Error> {
        self.next();
        k.serialize(MapKey(&mut *self.ser))
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.ser.lit(b": ");
        v.serialize(&mut *self.ser)?;
        self.ser.failed()
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    // Inlined into the derived `Serialize` impls, where the field name is a constant: its
    // escape check and copy fold into a few constant stores.
    #[inline(always)]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}')
    }
}

/// A map key, as serde_json takes them: strings, unit variants and chars as themselves;
/// integers, bools and finite floats quoted; anything else refused.
struct MapKey<'a, 'w>(&'a mut Ser<'w>);

impl MapKey<'_, '_> {
    fn quoted(self, f: impl FnOnce(&mut Ser<'_>) -> Result<(), Error>) -> Result<(), Error> {
        self.0.lit(b"\"");
        f(self.0)?;
        self.0.lit(b"\"");
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.string(v, false);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_bool(s, v))
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_i8(s, v))
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_i16(s, v))
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_i32(s, v))
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_i64(s, v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_i128(s, v))
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_u8(s, v))
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_u16(s, v))
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_u32(s, v))
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_u64(s, v))
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(|s| ser::Serializer::serialize_u128(s, v))
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|s| ser::Serializer::serialize_f32(s, v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|s| ser::Serializer::serialize_f64(s, v))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use serde_json::{json, Map, Number, Value};
    use std::collections::BTreeMap;

    /// Both writers' results: the same bytes, or both an error with serde_json's text.
    fn same<T: ?Sized + Serialize>(v: &T) {
        let ours = to_string(v).map_err(|e| e.to_string());
        let theirs = serde_json::to_string_pretty(v).map_err(|e| e.to_string());
        assert_eq!(ours, theirs);
        // The streaming path too (a small value stays in one chunk).
        let mut out = Vec::new();
        match to_writer(&mut out, v) {
            Ok(()) => assert_eq!(Ok(String::from_utf8(out).unwrap()), theirs),
            Err(e) => assert_eq!(Err(e.to_string()), theirs),
        }
    }

    impl Rng {
        /// Strings of 0–40 characters (every scan path: under 4, 4–7, 8 and more, the
        /// overlapping last word), mostly plain, with every control byte, quotes, backslashes,
        /// `/`, DEL and multi-byte characters mixed in at random places.
        fn string(&mut self) -> String {
            let len = self.below(41);
            let plain = self.below(3) == 0;
            (0..len)
                .map(|_| match self.below(if plain { 1 } else { 8 }) {
                    0..=2 => char::from(b'a' + self.below(26) as u8),
                    3 => char::from(self.below(0x20) as u8),
                    4 => ['"', '\\', '/', '\u{7f}'][self.below(4)],
                    5 => ['é', '中', '😀', '\u{2028}', '\u{80}'][self.below(5)],
                    _ => char::from(0x20 + self.below(0x5f) as u8),
                })
                .collect()
        }

        fn number(&mut self) -> Value {
            let fixed = [
                json!(0),
                json!(-1),
                json!(i64::MIN),
                json!(i64::MAX),
                json!(u64::MAX),
                json!(0.0),
                json!(-0.0),
                json!(1.5),
                json!(1e300),
                json!(1e-7),
                json!(f64::MIN_POSITIVE),
                json!(123456789.0),
            ];
            match self.below(4) {
                0 => fixed[self.below(fixed.len())].clone(),
                1 => json!(self.next() as i64),
                2 => json!(self.next() >> self.below(64)),
                _ => {
                    Number::from_f64(f64::from_bits(self.next())).map_or(Value::Null, Value::Number)
                }
            }
        }

        fn value(&mut self, depth: u32) -> Value {
            let leaf = depth == 0 || self.below(3) == 0;
            match self.below(if leaf { 4 } else { 6 }) {
                0 => [Value::Null, json!(true), json!(false)][self.below(3)].clone(),
                1 => self.number(),
                2 | 3 => Value::String(self.string()),
                4 => Value::Array((0..self.below(5)).map(|_| self.value(depth - 1)).collect()),
                _ => {
                    let mut m = Map::new();
                    for _ in 0..self.below(5) {
                        m.insert(self.string(), self.value(depth - 1));
                    }
                    Value::Object(m)
                }
            }
        }
    }

    /// Generated values (nested, empty containers, every escape, number extremes, floats)
    /// come out byte for byte as serde_json writes them.
    #[test]
    fn generated_values_match_serde_json() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let v = rng.value(6);
            same(&v);
        }
        // Every single byte a string can hold, alone and inside text, at each scan offset.
        for c in (0..=0x7fu8).map(char::from).chain(['é', '中', '😀']) {
            for pad in 0..36 {
                let a = "x".repeat(pad);
                same(&json!({ format!("{a}{c}"): format!("{c}{a}"), "k": [format!("{a}{c}{a}")] }));
            }
        }
    }

    /// Deep nesting (past the precomputed indentation) and the empty cases.
    #[test]
    fn nesting_and_empty_containers() {
        let mut deep = json!({"a": [1, {"b": [], "c": {}}, "x\u{1}\"y"], "e": [[]]});
        for i in 0..70 {
            deep = if i % 2 == 0 {
                json!([deep, i, {}])
            } else {
                json!({"k": deep, "n": null})
            };
        }
        for v in [
            json!([]),
            json!({}),
            json!("s"),
            json!([[], {}]),
            json!([{}]),
            deep,
        ] {
            same(&v);
        }
    }

    #[derive(serde::Serialize)]
    struct Unit;

    #[derive(serde::Serialize)]
    struct Newtype(u8);

    #[derive(serde::Serialize)]
    struct Pair(i8, &'static str);

    #[derive(serde::Serialize)]
    struct Empty {}

    #[derive(serde::Serialize)]
    enum E {
        A,
        N(i32),
        Nested(Box<E>),
        T(u8, bool),
        T0(),
        S { x: u16, y: Option<char> },
        S0 {},
    }

    #[derive(serde::Serialize)]
    struct All {
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        tuple: (u8, i16, u32),
        tuple_struct: Pair,
        empty_struct: Empty,
        none: Option<u8>,
        some: Option<&'static str>,
        chars: Vec<char>,
        wide: (i128, u128, i128),
        floats: (f32, f64, f64, f32),
        enums: Vec<E>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        #[serde(serialize_with = "bytes")]
        bytes: Vec<u8>,
        #[serde(serialize_with = "bytes")]
        no_bytes: Vec<u8>,
        #[serde(serialize_with = "unsized_seq")]
        unsized_seq: Vec<u8>,
        #[serde(serialize_with = "unsized_seq")]
        unsized_empty: Vec<u8>,
        #[serde(serialize_with = "unsized_map")]
        unsized_map: Vec<u8>,
        #[serde(serialize_with = "unsized_map")]
        unsized_map_empty: Vec<u8>,
        displayed: Displayed,
    }

    fn bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    fn unsized_seq<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().filter(|_| true))
    }

    fn unsized_map<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for b in v {
            m.serialize_entry(b, &[b])?;
        }
        m.end()
    }

    struct Displayed;

    impl Serialize for Displayed {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("a\"{}\n", 1))
        }
    }

    /// Every serde data-model form, encoded as serde_json encodes it.
    #[test]
    fn data_model_matches_serde_json() {
        let all = All {
            unit: (),
            unit_struct: Unit,
            newtype: Newtype(7),
            tuple: (1, -2, 3),
            tuple_struct: Pair(-8, "p"),
            empty_struct: Empty {},
            none: None,
            some: Some("\u{0}"),
            chars: vec!['a', '"', '\n', '中'],
            wide: (i128::MIN, u128::MAX, 0),
            floats: (0.1, 0.1, f64::NAN, f32::INFINITY),
            enums: vec![
                E::A,
                E::N(-5),
                E::Nested(Box::new(E::Nested(Box::new(E::T(1, true))))),
                E::T(0, false),
                E::T0(),
                E::S {
                    x: 9,
                    y: Some('\t'),
                },
                E::S { x: 0, y: None },
                E::S0 {},
            ],
            skipped: None,
            bytes: vec![0, 1, 255],
            no_bytes: vec![],
            unsized_seq: vec![4, 5],
            unsized_empty: vec![],
            unsized_map: vec![6],
            unsized_map_empty: vec![],
            displayed: Displayed,
        };
        same(&all);
        same(&[E::A]);
        same(&E::N(1));
        same(&E::S0 {});
        same(&Some(Unit));
        same(&1.0f64);
        same(&"top");
    }

    #[derive(serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum K {
        V,
        N(u8),
    }

    #[derive(serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
    struct Wrapped(&'static str);

    /// Map keys: what serde_json stringifies (integers, bools, chars, unit variants,
    /// newtypes, finite floats) and what it refuses (with its message).
    #[test]
    fn map_keys_as_serde_json() {
        same(&BTreeMap::from([(-3i64, 1), (i64::MAX, 2)]));
        same(&BTreeMap::from([(u128::MAX, 1)]));
        same(&BTreeMap::from([(true, 1), (false, 2)]));
        same(&BTreeMap::from([('"', 1), ('a', 2)]));
        same(&BTreeMap::from([(K::V, 1)]));
        same(&BTreeMap::from([(Wrapped("w\n"), 1)]));
        same(&BTreeMap::from([(Some(4u8), 1)]));
        same(&BTreeMap::from([(None::<u8>, 1)]));
        same(&BTreeMap::from([(K::N(1), 1)]));
        same(&BTreeMap::from([((1u8, 2u8), 1)]));
        same(&BTreeMap::from([((), 1)]));
        same(&BTreeMap::from([(vec![1u8], 1)]));
        let floats: Vec<(f64, u8)> = vec![(1.5, 1), (-0.0, 2)];
        same(&FloatKeys(floats));
        same(&FloatKeys(vec![(f64::NAN, 1)]));
        same(&FloatKeys(vec![(f64::INFINITY, 1)]));
    }

    struct FloatKeys(Vec<(f64, u8)>);

    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    /// A value several chunks long comes out whole and in order, through a writer that
    /// takes a few bytes per call.
    #[test]
    fn chunks_make_the_same_bytes() {
        struct Trickle(Vec<u8>, usize);
        impl io::Write for Trickle {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.1 += 1;
                let n = b.len().min(1000);
                self.0.extend_from_slice(&b[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut rng = Rng(7);
        let big: Vec<Value> = (0..6000).map(|_| rng.value(3)).collect();
        let expected = serde_json::to_string_pretty(&big).unwrap();
        assert!(expected.len() > 4 * CHUNK, "{}", expected.len());
        let mut w = Trickle(Vec::new(), 0);
        to_writer(&mut w, &big).unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), expected);
        assert!(w.1 > expected.len() / 1000);
        // One long string larger than a chunk.
        let long = vec!["\u{1}y".repeat(CHUNK)];
        let mut out = Vec::new();
        to_writer(&mut out, &long).unwrap();
        assert_eq!(out, serde_json::to_vec_pretty(&long).unwrap());
    }

    /// A writer's error comes back as that error (kind and text), from a chunk handed over
    /// mid-value and from the last one.
    #[test]
    fn writer_errors_are_returned() {
        struct Fails {
            after: usize,
            calls: usize,
        }
        impl io::Write for Fails {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.after < b.len() {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"));
                }
                self.after -= b.len();
                self.calls += 1;
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let big: Vec<String> = (0..20_000).map(|i| format!("item {i}")).collect();
        for (value, after) in [(big.clone(), 0), (big, 3 * CHUNK), (vec!["x".into()], 0)] {
            let mut w = Fails { after, calls: 0 };
            let e = to_writer(&mut w, &value).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
            assert_eq!(e.to_string(), "pipe closed");
            // Mid-value: the chunks before went out.
            assert_eq!(w.calls > 0, after > 0);
        }
        // A refused key is an InvalidData error with serde_json's text, not a panic.
        let e = to_writer(io::sink(), &BTreeMap::from([((), 1)])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "key must be a string");
    }
}
