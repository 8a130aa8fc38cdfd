//! `proxy_call_foreign_function`: the functions Envoy registers in
//! `source/extensions/common/wasm/foreign.cc`, answered as Envoy answers them. Which names a
//! version registers is the `foreign` column of `rules/abi/host_profiles.tsv`; any other name
//! is NOT_FOUND, as proxy-wasm-cpp-host answers when no function is registered under it.

use super::mem::{self, finish, Fault};
use super::{note_unsupported, over_budget, owe, status, HostState, C};
use crate::simulate::cel;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasmi::Error;

/// At most this many `declare_property` declarations per VM (Envoy has no limit; the
/// simulator's memory does).
const MAX_DECLARATIONS: usize = 10_000;

/// Output limit of `uncompress` (a zip bomb must not take the tool's memory): the body limit.
fn max_output() -> usize {
    crate::simulate::limits::max_body_bytes()
}

/// At most this many CEL expressions kept per VM, this many bytes of their text and this many
/// nodes of their syntax trees (≈ 60 bytes each) (Envoy has no limit; the simulator's memory
/// does).
const MAX_EXPRESSIONS: usize = 10_000;
const MAX_EXPRESSION_BYTES: usize = 16 << 20;
const MAX_EXPRESSION_NODES: usize = 1_000_000;

/// Filter-state object names Envoy builds from bytes (a registered
/// `StreamInfo::FilterState::ObjectFactory`); `set_envoy_filter_state` refuses other names.
const FILTER_STATE_OBJECTS: &[&str] = &[
    "envoy.tcp_proxy.cluster",
    "envoy.network.upstream_server_name",
    "envoy.network.application_protocols",
    "envoy.network.upstream_subject_alt_names",
];

pub fn call(
    c: &mut C<'_>,
    name: (i32, i32),
    args: (i32, i32),
    out: (i32, i32),
) -> Result<i32, Error> {
    finish((|| {
        let name = mem::read_string(c, name.0, name.1)?;
        let profile = c.data().profile;
        if !profile.has_foreign(&name) {
            return Ok(status::NOT_FOUND);
        }
        let args = mem::read(c, args.0, args.1)?;
        let (code, result) = match name.as_str() {
            "compress" => (status::OK, Some(deflate(&args))),
            "uncompress" => match inflate(&args, max_output()) {
                Inflated::Ok(v)
                    if profile.uncompress_retry_on_mem_error() && v.len() > args.len() * 2 + 2 =>
                {
                    // Envoy ≤ 1.17 retried only on Z_MEM_ERROR: an output larger than its
                    // first estimate (2n+2) ended as Z_BUF_ERROR → SerializationFailure.
                    (status::SERIALIZATION_FAILURE, None)
                }
                Inflated::Ok(v) => (status::OK, Some(v)),
                Inflated::Corrupt => (status::SERIALIZATION_FAILURE, None),
                Inflated::TooBig(limit) => {
                    return Err(Fault::Trap(over_budget("uncompress output bytes", limit)))
                }
            },
            "declare_property" => (declare_property(c, &args)?, None),
            "set_envoy_filter_state" => (set_envoy_filter_state(c, &args), None),
            // `Context::clearRouteCache`: Ok whether or not a route was cached.
            "clear_route_cache" => (status::OK, None),
            "expr_create" => expr_create(c, &args)?,
            "expr_evaluate" => expr_evaluate(c, &args)?,
            "expr_delete" => (expr_delete(c, &args), None),
            _ => (status::NOT_FOUND, None),
        };
        // cpp-host writes the result slots only when the function allocated a result.
        if let Some(bytes) = result.filter(|b| !b.is_empty()) {
            mem::copy_out(c, &bytes, out.0, out.1)?;
        }
        Ok(code)
    })())
}

/// zlib `compress()` (default level, zlib header and Adler-32 trailer).
fn deflate(input: &[u8]) -> Vec<u8> {
    let mut z = Compress::new(Compression::default(), true);
    let mut out = Vec::with_capacity(input.len() + input.len() / 1000 + 64);
    loop {
        let consumed = z.total_in() as usize;
        match z.compress_vec(&input[consumed..], &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out,
            Ok(_) => out.reserve(out.capacity().max(64)),
            // Compressing in memory cannot fail; an empty result is what a failure would be.
            Err(_) => return Vec::new(),
        }
    }
}

enum Inflated {
    Ok(Vec<u8>),
    /// Z_DATA_ERROR: not a complete zlib stream.
    Corrupt,
    TooBig(usize),
}

/// zlib `uncompress()`: one complete zlib stream (bytes after it are ignored, as zlib does).
fn inflate(input: &[u8], cap: usize) -> Inflated {
    let mut z = Decompress::new(true);
    let mut out = Vec::with_capacity((input.len() * 2 + 2).min(cap));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Inflated::TooBig(cap);
            }
            out.reserve(out.capacity().max(64).min(cap - out.len()));
        }
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let consumed = in_before as usize;
        // `Finish` on a first call with too small a buffer is fatal in miniz; `None` resumes.
        match z.decompress_vec(&input[consumed..], &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return Inflated::Ok(out),
            Ok(_) if z.total_in() == in_before && z.total_out() == out_before => {
                // No progress with room to write: the input ended mid-stream.
                if out.len() < out.capacity() {
                    return Inflated::Corrupt;
                }
            }
            Ok(_) => {}
            Err(_) => return Inflated::Corrupt,
        }
    }
}

/// A protobuf message's fields as (number, value); `None` when the bytes
/// are not a well-formed message (`ParseFromArray` fails).
fn proto_fields(mut b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let (num, wire) = (key >> 3, key & 7);
        if num == 0 {
            return None;
        }
        let f = match wire {
            0 => {
                varint(&mut b)?;
                Field::Scalar
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if b.len() < n {
                    return None;
                }
                b = &b[n..];
                Field::Scalar
            }
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                if b.len() < n {
                    return None;
                }
                let (v, rest) = b.split_at(n);
                b = rest;
                Field::Bytes(v)
            }
            // Groups (3/4) do not occur in these messages; 6/7 are invalid.
            _ => return None,
        };
        out.push((num, f));
    }
    Some(out)
}

enum Field<'a> {
    /// A varint or fixed-width value (no field these functions read).
    Scalar,
    Bytes(&'a [u8]),
}

/// The last occurrence of string field `num` (protobuf: last one wins), "" when absent.
fn string_field<'a>(fields: &[(u64, Field<'a>)], num: u64) -> &'a [u8] {
    fields
        .iter()
        .rev()
        .find_map(|(n, f)| match f {
            Field::Bytes(b) if *n == num => Some(*b),
            _ => None,
        })
        .unwrap_or(b"")
}

/// `DeclarePropertyArguments {name = 1, readonly = 2, type = 3, schema = 4, span = 5}` →
/// `Context::declareProperty`: the first declaration of a name in a context wins, a repeat is
/// BAD_ARGUMENT; a message that does not parse is BAD_ARGUMENT.
fn declare_property(c: &mut C<'_>, args: &[u8]) -> Result<i32, Fault> {
    let Some(fields) = proto_fields(args) else {
        return Ok(status::BAD_ARGUMENT);
    };
    let name = String::from_utf8_lossy(string_field(&fields, 1)).into_owned();
    let s = c.data_mut();
    let key = (s.effective, name);
    if s.declared.contains(&key) {
        return Ok(status::BAD_ARGUMENT);
    }
    if s.declared.len() >= MAX_DECLARATIONS {
        return Err(Fault::Trap(over_budget(
            "declare_property declarations",
            MAX_DECLARATIONS,
        )));
    }
    s.declared.insert(key);
    Ok(status::OK)
}

/// `SetEnvoyFilterStateArguments {path = 1, value = 2, span = 3}` →
/// `Context::setEnvoyFilterState`: NOT_FOUND for a name without an object factory or outside a
/// stream (no stream info), BAD_ARGUMENT for a message that does not parse.
fn set_envoy_filter_state(c: &mut C<'_>, args: &[u8]) -> i32 {
    let Some(fields) = proto_fields(args) else {
        return status::BAD_ARGUMENT;
    };
    let path = string_field(&fields, 1);
    if !FILTER_STATE_OBJECTS.iter().any(|o| o.as_bytes() == path) {
        return status::NOT_FOUND;
    }
    let s = c.data();
    let in_stream = s.contexts.get(&s.effective).is_some_and(|i| i.parent != 0);
    if !in_stream {
        return status::NOT_FOUND;
    }
    status::OK
}

/// The CEL expressions of one root context (Envoy's `ExpressionContext`, the root context's
/// foreign data "cel"): tokens count up from 0, skipping those in use.
#[derive(Default)]
pub struct Expressions {
    next: u32,
    /// Token → (expression, bytes of its text, nodes of its tree).
    exprs: BTreeMap<u32, (Rc<cel::Expr>, usize, usize)>,
}

impl Expressions {
    fn create_token(&mut self) -> u32 {
        loop {
            let t = self.next;
            self.next = self.next.wrapping_add(1);
            if !self.exprs.contains_key(&t) {
                return t;
            }
        }
    }
}

/// The root context whose expressions a call uses: that of the context the host called
/// (`proxy_wasm::current_context_->root_context()`; `proxy_set_effective_context` does not
/// change it).
fn expr_root(s: &HostState) -> u32 {
    s.root_of(s.current)
}

/// A 4-byte token argument (`argument.size() != sizeof(uint32_t)` is BAD_ARGUMENT).
fn token_arg(args: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(args.try_into().ok()?))
}

/// `expr_create`: the expression text → its token (4 bytes, little-endian). A parse error or
/// a call without overloads (cel-cpp's planner) is BAD_ARGUMENT; the latter takes a token
/// first, as Envoy's `createToken` does before planning.
fn expr_create(c: &mut C<'_>, args: &[u8]) -> Result<(i32, Option<Vec<u8>>), Fault> {
    let Ok(text) = std::str::from_utf8(args) else {
        return Ok((status::BAD_ARGUMENT, None));
    };
    let compiled = cel::compile_counted(text);
    // Parsing is linear in the text: about 2.6 fuel per byte.
    owe(c, (args.len() / 8) as u64, args.len() as u64);
    let s = c.data_mut();
    let root = expr_root(s);
    let (mut count, mut held, mut nodes) = (0, 0, 0);
    for (_, n, k) in s.expressions.values().flat_map(|e| e.exprs.values()) {
        (count, held, nodes) = (count + 1, held + n, nodes + k);
    }
    let store = s.expressions.entry(root).or_default();
    match compiled {
        Ok((e, n)) => {
            let over = if count >= MAX_EXPRESSIONS {
                Some(("CEL expressions", MAX_EXPRESSIONS))
            } else if held + text.len() > MAX_EXPRESSION_BYTES {
                Some(("bytes of CEL expressions", MAX_EXPRESSION_BYTES))
            } else if nodes + n > MAX_EXPRESSION_NODES {
                Some(("nodes of CEL expressions", MAX_EXPRESSION_NODES))
            } else {
                None
            };
            if let Some((what, limit)) = over {
                return Err(Fault::Trap(over_budget(what, limit)));
            }
            let token = store.create_token();
            store.exprs.insert(token, (Rc::new(e), text.len(), n));
            Ok((status::OK, Some(token.to_le_bytes().to_vec())))
        }
        Err(cel::CreateError::Parse(_)) => Ok((status::BAD_ARGUMENT, None)),
        Err(cel::CreateError::Compile(_)) => {
            store.create_token();
            Ok((status::BAD_ARGUMENT, None))
        }
        Err(cel::CreateError::Unsupported(what)) => {
            note_unsupported(c, &what);
            Ok((status::BAD_ARGUMENT, None))
        }
    }
}

/// The simulator's properties as Envoy's CEL activation for context `ctx`.
struct Attributes<'a> {
    s: &'a HostState,
    ctx: u32,
}

impl cel::Activation for Attributes<'_> {
    fn resolve(&self, path: &[String]) -> Option<cel::Value> {
        super::properties::cel_attribute(self.s, self.ctx, path)
    }
}

/// `expr_evaluate`: the token (4 bytes) → `serializeValue` of the result, evaluated against
/// the context the host called. Unknown token NOT_FOUND; an evaluation error (a missing
/// attribute or key, no matching overload, overflow…) INTERNAL_FAILURE (SERIALIZATION_FAILURE
/// in envoy-wasm); a value `serializeValue` cannot encode SERIALIZATION_FAILURE. The
/// encodings that changed between versions follow the profile (`cel_*` columns).
fn expr_evaluate(c: &mut C<'_>, args: &[u8]) -> Result<(i32, Option<Vec<u8>>), Fault> {
    let Some(token) = token_arg(args) else {
        return Ok((status::BAD_ARGUMENT, None));
    };
    let s = c.data();
    let Some((e, ..)) = (s.expressions.get(&expr_root(s))).and_then(|x| x.exprs.get(&token)) else {
        return Ok((status::NOT_FOUND, None));
    };
    let e = e.clone();
    let act = Attributes { s, ctx: s.current };
    let limit = max_output();
    let (r, steps, bytes) = cel::evaluate(&e, &act, limit, cel::MAX_STEPS);
    owe(c, steps, bytes as u64);
    let v = match r {
        Ok(v) => v,
        Err(cel::Exhausted::Bytes(n)) => {
            return Err(Fault::Trap(over_budget(
                "bytes of values made by one CEL evaluation",
                n,
            )))
        }
        Err(cel::Exhausted::Steps(n)) => {
            return Err(Fault::Trap(over_budget("steps of one CEL evaluation", n)))
        }
    };
    let profile = c.data().profile;
    if matches!(v, cel::Value::Error(_)) {
        // envoy-wasm before PR #511 handed the error value to serializeValue, which refuses it.
        let st = if profile.cel_error_is_serialization_failure() {
            status::SERIALIZATION_FAILURE
        } else {
            status::INTERNAL_FAILURE
        };
        return Ok((st, None));
    }
    Ok(match cel::serialize(&v, profile.cel_encoding()) {
        Ok(bytes) => (status::OK, Some(bytes)),
        Err(cel::NotSerializable) => (status::SERIALIZATION_FAILURE, None),
    })
}

/// `expr_delete`: forgets the token (OK whether or not it existed); BAD_ARGUMENT unless the
/// argument is 4 bytes.
fn expr_delete(c: &mut C<'_>, args: &[u8]) -> i32 {
    let Some(token) = token_arg(args) else {
        return status::BAD_ARGUMENT;
    };
    let s = c.data_mut();
    let root = expr_root(s);
    if let Some(x) = s.expressions.get_mut(&root) {
        x.exprs.remove(&token);
    }
    status::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trip_and_failures() {
        let text = b"hello hello hello hello".repeat(20);
        let z = deflate(&text);
        assert_eq!(&z[..1], b"\x78", "zlib header");
        match inflate(&z, 1 << 20) {
            Inflated::Ok(v) => assert_eq!(v, text),
            _ => panic!("round trip"),
        }
        assert!(matches!(
            inflate(&z[..z.len() - 3], 1 << 20),
            Inflated::Corrupt
        ));
        assert!(matches!(inflate(b"not zlib", 1 << 20), Inflated::Corrupt));
        assert!(matches!(inflate(&z, 16), Inflated::TooBig(16)));
        // An output many times the input (2n+2 is only the first estimate).
        let zeros = deflate(&[0u8; 1000]);
        assert!(matches!(inflate(&zeros, 1 << 20), Inflated::Ok(v) if v == [0u8; 1000]));
    }

    #[test]
    fn protobuf_fields() {
        // name = "x", readonly = true
        let f = proto_fields(b"\x0a\x01x\x10\x01").unwrap();
        assert_eq!(string_field(&f, 1), b"x");
        assert!(proto_fields(b"\x0a\x05x").is_none(), "truncated");
        assert!(proto_fields(b"\x0f").is_none(), "wire type 7");
        assert_eq!(proto_fields(b"").unwrap().len(), 0);
    }
}
