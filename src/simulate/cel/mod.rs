//! A CEL (Common Expression Language) evaluator for Envoy's `expr_create` / `expr_evaluate`
//! foreign functions: the subset Envoy and Istio expressions use — literals, attribute
//! selection and indexing, list and map literals, arithmetic with overflow errors,
//! comparisons, `in`, `&&`/`||` with CEL's error absorption, `?:`, the `has()` macro and the
//! common built-in functions, and the comprehension macros (`all`, `exists`, `exists_one`,
//! `filter`, `map`). Message construction is refused as unsupported. Values of identifiers come from an
//! [`Activation`] (the simulator's properties).

mod eval;
mod parse;

pub use eval::{evaluate, Exhausted};
pub use parse::{CreateError, Expr, MAX_CODEPOINTS, MAX_DEPTH};

/// Work units (nodes, comparisons, copies) one evaluation may take: comprehensions nest, so
/// an expression of a few hundred bytes could otherwise loop for hours (cel-cpp's
/// `comprehension_max_iterations` is unlimited in Envoy). Owed as fuel, this is about 2e8, less
/// than one call's fuel.
pub const MAX_STEPS: u64 = 10_000_000;

use crate::simulate::headers::encode_pairs;

/// A CEL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    /// Entries in insertion order; keys are bool, int, uint or string.
    Map(Vec<(Value, Value)>),
    /// Nanoseconds since the Unix epoch.
    Timestamp(i64),
    /// Nanoseconds.
    Duration(i64),
    /// A protobuf message (`node`, `metadata`, …) in binary form; opaque to the evaluator.
    Message(Vec<u8>),
    /// An evaluation error (CEL errors are values until the result).
    Error(String),
}

impl Value {
    pub fn err(msg: impl Into<String>) -> Value {
        Value::Error(msg.into())
    }

    /// Bytes this value holds (for the evaluator's memory bound).
    pub fn weight(&self) -> usize {
        match self {
            Value::String(s) => s.len(),
            Value::Bytes(b) | Value::Message(b) => b.len(),
            Value::List(l) => l.iter().map(|v| 8 + v.weight()).sum(),
            Value::Map(m) => m.iter().map(|(k, v)| 8 + k.weight() + v.weight()).sum(),
            _ => 8,
        }
    }
}

/// Where identifiers get their values: a path of field names from a top-level identifier
/// (`request.headers.x-id` → `["request", "headers", "x-id"]`); `None` when it does not exist.
pub trait Activation {
    fn resolve(&self, path: &[String]) -> Option<Value>;
}

/// Global functions with an overload in cel-cpp's `RegisterBuiltinFunctions`: (name, arity).
const GLOBAL: &[(&str, usize)] = &[
    ("size", 1),
    ("int", 1),
    ("uint", 1),
    ("double", 1),
    ("string", 1),
    ("bytes", 1),
    ("dyn", 1),
    ("matches", 2),
    ("timestamp", 1),
    ("duration", 1),
];
/// Receiver-style functions (`target.name(args)`): (name, arity without the target).
const RECEIVER: &[(&str, usize)] = &[
    ("size", 0),
    ("startsWith", 1),
    ("endsWith", 1),
    ("contains", 1),
    ("matches", 1),
];
/// Built-ins cel-cpp has that this evaluator does not.
const NOT_MODELLED: &[&str] = &[
    "type",
    "bool",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];

/// Parses and plans an expression as cel-cpp's `parser::Parse` and `CreateExpression` do: a
/// syntax error is [`CreateError::Parse`], a call without an overload of that name and arity
/// [`CreateError::Compile`].
pub fn compile(text: &str) -> Result<Expr, CreateError> {
    compile_counted(text).map(|(e, _)| e)
}

/// [`compile`], with the number of nodes of the syntax tree (what it holds in memory).
pub fn compile_counted(text: &str) -> Result<(Expr, usize), CreateError> {
    let e = parse::parse(text)?;
    let nodes = check_calls(&e)?;
    Ok((e, nodes))
}

/// Checks every call against the overload tables; returns the number of nodes.
fn check_calls(e: &Expr) -> Result<usize, CreateError> {
    let mut nodes = 0;
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        nodes += 1;
        match e {
            Expr::Lit(_) | Expr::Ident(_) => {}
            Expr::Select(t, _) | Expr::Has(t, _) | Expr::Not(t) | Expr::Neg(t) => stack.push(t),
            Expr::Index(a, b) | Expr::Bin(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                stack.extend([&**a, &**b])
            }
            Expr::Cond(a, b, c) => stack.extend([&**a, &**b, &**c]),
            Expr::Comprehension(c) => {
                stack.push(&c.range);
                stack.extend(c.pred.as_ref());
                stack.extend(c.transform.as_ref());
            }
            Expr::List(items) => stack.extend(items),
            Expr::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
            Expr::Call(target, name, args) => {
                let table = if target.is_some() { RECEIVER } else { GLOBAL };
                if NOT_MODELLED.contains(&name.as_str()) {
                    return Err(CreateError::Unsupported(format!("CEL function {name}()")));
                }
                if !table.contains(&(name.as_str(), args.len())) {
                    return Err(CreateError::Compile(format!(
                        "no overloads provided for function '{name}' with {} argument(s)",
                        args.len()
                    )));
                }
                stack.extend(target.as_deref());
                stack.extend(args);
            }
        }
    }
    Ok(nodes)
}

/// Status of a value Envoy cannot serialize (`WasmResult::SerializationFailure`).
#[derive(Debug, PartialEq, Eq)]
pub struct NotSerializable;

/// How a version's `serializeValue` encodes what differs between versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Encoding {
    /// Maps and lists as `google.protobuf.Struct` / `ListValue` (envoy-wasm), else as pairs.
    pub struct_composites: bool,
    /// `null` is OK with no bytes (a null message in older cel-cpp), else not serializable.
    pub null_empty: bool,
}

/// The bytes `serializeValue` (`source/extensions/common/wasm/context.cc`) gives a value:
/// strings and bytes raw; int, uint, double 8 bytes little-endian; bool one byte; timestamps
/// and durations int64 nanoseconds; messages in protobuf binary; maps as proxy-wasm pairs of
/// serialized keys and values and lists as pairs of serialized elements with empty values
/// (or, in envoy-wasm, as `Struct` / `ListValue`). Errors are not serializable.
pub fn serialize(v: &Value, enc: Encoding) -> Result<Vec<u8>, NotSerializable> {
    Ok(match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) | Value::Message(b) => b.clone(),
        Value::Int(i) | Value::Timestamp(i) | Value::Duration(i) => i.to_le_bytes().to_vec(),
        Value::Uint(u) => u.to_le_bytes().to_vec(),
        Value::Double(d) => d.to_le_bytes().to_vec(),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Null if enc.null_empty => Vec::new(),
        Value::Map(m) if enc.struct_composites => proto::strukt(m)?,
        Value::List(l) if enc.struct_composites => proto::list(l)?,
        // `marshalPairs` of nothing is its 4-byte count.
        Value::Map(m) if m.is_empty() => vec![0; 4],
        Value::List(l) if l.is_empty() => vec![0; 4],
        Value::Map(m) => {
            let pairs = m
                .iter()
                .map(|(k, v)| Ok((serialize(k, enc)?, serialize(v, enc)?)))
                .collect::<Result<Vec<_>, NotSerializable>>()?;
            encode_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
        }
        Value::List(l) => {
            let items = (l.iter().map(|v| serialize(v, enc))).collect::<Result<Vec<_>, _>>()?;
            encode_pairs(items.iter().map(|k| (k.as_slice(), &[][..])))
        }
        Value::Null | Value::Error(_) => return Err(NotSerializable),
    })
}

/// `google.protobuf.Value` / `Struct` / `ListValue` in protobuf binary, as cel-cpp's
/// `ExportAsProtoValue` builds them: numbers as doubles, bytes base64 in `string_value`,
/// timestamps and durations as their JSON strings, `null` as `null_value`. Map keys must be
/// strings; messages (opaque here) are not exported.
mod proto {
    use super::{NotSerializable, Value};

    /// Standard base64 with padding (`absl::Base64Escape`).
    fn base64(b: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn field(num: u64, data: &[u8], out: &mut Vec<u8>) {
        varint((num << 3) | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    fn value(v: &Value) -> Result<Vec<u8>, NotSerializable> {
        let mut out = Vec::new();
        let number = |d: f64, out: &mut Vec<u8>| {
            out.push((2 << 3) | 1);
            out.extend_from_slice(&d.to_le_bytes());
        };
        match v {
            Value::Null => out.extend_from_slice(&[1 << 3, 0]),
            Value::Bool(b) => out.extend_from_slice(&[4 << 3, u8::from(*b)]),
            Value::Int(i) => number(*i as f64, &mut out),
            Value::Uint(u) => number(*u as f64, &mut out),
            Value::Double(d) => number(*d, &mut out),
            Value::String(s) => field(3, s.as_bytes(), &mut out),
            Value::Bytes(b) => field(3, base64(b).as_bytes(), &mut out),
            Value::Timestamp(_) | Value::Duration(_) => {
                let Ok(Value::String(s)) = super::eval::to_string(v) else {
                    return Err(NotSerializable);
                };
                field(3, s.as_bytes(), &mut out)
            }
            Value::Map(m) => field(5, &strukt(m)?, &mut out),
            Value::List(l) => field(6, &list(l)?, &mut out),
            Value::Message(_) | Value::Error(_) => return Err(NotSerializable),
        }
        Ok(out)
    }

    /// `Struct { map<string, Value> fields = 1; }`, entries in key order.
    pub fn strukt(m: &[(Value, Value)]) -> Result<Vec<u8>, NotSerializable> {
        let mut entries: Vec<(&str, &Value)> = Vec::with_capacity(m.len());
        for (k, v) in m {
            let Value::String(k) = k else {
                return Err(NotSerializable);
            };
            entries.push((k, v));
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::new();
        for (k, v) in entries {
            let mut entry = Vec::new();
            field(1, k.as_bytes(), &mut entry);
            field(2, &value(v)?, &mut entry);
            field(1, &entry, &mut out);
        }
        Ok(out)
    }

    /// `ListValue { repeated Value values = 1; }`.
    pub fn list(l: &[Value]) -> Result<Vec<u8>, NotSerializable> {
        let mut out = Vec::new();
        for v in l {
            field(1, &value(v)?, &mut out);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
