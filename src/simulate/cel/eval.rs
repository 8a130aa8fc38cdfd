//! Evaluation of a compiled expression against an [`Activation`], with CEL's semantics as
//! cel-cpp implements them: errors are values, `&&`/`||` absorb an error when the other side
//! decides the result, integer arithmetic fails on overflow, equality across int/uint/double
//! compares numerically (heterogeneous equality) and is false across other types.

use super::parse::{BinOp, Comprehension, Expr, Macro};
use super::{Activation, Value};
use std::cmp::Ordering;

/// The evaluation made more values (bytes) or took more work than its bounds allow; the
/// caller traps.
#[derive(Debug)]
pub enum Exhausted {
    Bytes(usize),
    Steps(u64),
}

struct Ev<'a> {
    act: &'a dyn Activation,
    /// Nodes evaluated, plus work units for comparisons, copies and regular expressions.
    steps: u64,
    /// Bytes of values produced (attribute values, concatenations, literals built).
    bytes: usize,
    max_bytes: usize,
    max_steps: u64,
    /// Comprehension variables in scope, innermost last.
    locals: Vec<(String, Value)>,
}

/// Evaluates `e`; `Ok` holds the value (possibly a [`Value::Error`]); `Err` when the values
/// made exceed `max_bytes` or the work `max_steps`. Also returns (work units, bytes produced) for fuel.
pub fn evaluate(
    e: &Expr,
    act: &dyn Activation,
    max_bytes: usize,
    max_steps: u64,
) -> (Result<Value, Exhausted>, u64, usize) {
    let mut ev = Ev {
        act,
        steps: 0,
        bytes: 0,
        max_bytes,
        max_steps,
        locals: Vec::new(),
    };
    let r = ev.eval(e);
    (r, ev.steps, ev.bytes)
}

type R = Result<Value, Exhausted>;

/// The attribute path of `e` when it is an identifier followed by field selections and
/// string-literal indexes (`request.headers['x-id']`).
/// A comprehension variable shadows the attribute of its name.
fn attr_path(e: &Expr, locals: &[(String, Value)]) -> Option<Vec<String>> {
    match e {
        Expr::Ident(n) if locals.iter().any(|(v, _)| v == n) => None,
        Expr::Ident(n) => Some(vec![n.clone()]),
        Expr::Select(t, f) => {
            let mut p = attr_path(t, locals)?;
            p.push(f.clone());
            Some(p)
        }
        Expr::Index(t, i) => match &**i {
            Expr::Lit(Value::String(k)) => {
                let mut p = attr_path(t, locals)?;
                p.push(k.clone());
                Some(p)
            }
            _ => None,
        },
        _ => None,
    }
}

macro_rules! tri {
    ($v:expr) => {
        match $v {
            Value::Error(e) => return Ok(Value::Error(e)),
            v => v,
        }
    };
}

impl Ev<'_> {
    fn produced(&mut self, v: Value) -> R {
        self.bytes = self.bytes.saturating_add(v.weight());
        if self.bytes > self.max_bytes {
            return Err(Exhausted::Bytes(self.max_bytes));
        }
        Ok(v)
    }

    fn eval(&mut self, e: &Expr) -> R {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(Exhausted::Steps(self.max_steps));
        }
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Comprehension(c) => self.comprehension(c),
            Expr::Ident(_) | Expr::Select(..) | Expr::Index(..) => self.access(e),
            Expr::Has(t, f) => self.has(t, f),
            Expr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(tri!(self.eval(i)?));
                }
                self.produced(Value::List(out))
            }
            Expr::Map(entries) => {
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = tri!(self.eval(k)?);
                    let v = tri!(self.eval(v)?);
                    if !matches!(
                        k,
                        Value::Bool(_) | Value::Int(_) | Value::Uint(_) | Value::String(_)
                    ) {
                        return Ok(Value::err("unsupported key type"));
                    }
                    if out.iter().any(|(o, _)| equal(o, &k)) {
                        return Ok(Value::err("duplicate key in map"));
                    }
                    out.push((k, v));
                }
                self.produced(Value::Map(out))
            }
            Expr::Not(a) => Ok(match tri!(self.eval(a)?) {
                Value::Bool(b) => Value::Bool(!b),
                _ => no_overload("!_"),
            }),
            Expr::Neg(a) => Ok(match tri!(self.eval(a)?) {
                Value::Int(i) => i.checked_neg().map_or_else(overflow, Value::Int),
                Value::Double(d) => Value::Double(-d),
                Value::Duration(d) => d.checked_neg().map_or_else(overflow, Value::Duration),
                _ => no_overload("-_"),
            }),
            Expr::And(a, b) => self.logic(a, b, false),
            Expr::Or(a, b) => self.logic(a, b, true),
            Expr::Cond(c, a, b) => match tri!(self.eval(c)?) {
                Value::Bool(true) => self.eval(a),
                Value::Bool(false) => self.eval(b),
                _ => Ok(no_overload("_?_:_")),
            },
            Expr::Bin(op, a, b) => {
                let a = tri!(self.eval(a)?);
                let b = tri!(self.eval(b)?);
                // Work beyond the node: comparing or copying the operands (maps compare
                // entry by entry).
                let pairs = match (&a, &b) {
                    (Value::Map(x), Value::Map(y)) => x.len() * y.len(),
                    _ => 0,
                };
                self.steps += ((a.weight() + b.weight()) / 8 + pairs) as u64;
                let v = binary(*op, a, b);
                self.produced(v)
            }
            Expr::Call(target, name, args) => {
                let mut vals = Vec::with_capacity(args.len() + 1);
                if let Some(t) = target {
                    vals.push(tri!(self.eval(t)?));
                }
                for a in args {
                    vals.push(tri!(self.eval(a)?));
                }
                // Work beyond the node: reading the arguments; compiling a regular expression
                // costs more per byte of the pattern.
                let read: usize = vals.iter().map(Value::weight).sum();
                let pattern = match (name.as_str(), vals.last()) {
                    ("matches", Some(Value::String(re))) => re.len() * 4,
                    _ => 0,
                };
                self.steps += (read / 8 + pattern) as u64;
                let v = call(name, target.is_some(), vals);
                self.produced(v)
            }
        }
    }

    /// `a && b` (`or` = false) / `a || b` (`or` = true): the deciding value wins over an error
    /// or a non-bool on either side; otherwise the first error is the result.
    fn logic(&mut self, a: &Expr, b: &Expr, or: bool) -> R {
        let l = self.eval(a)?;
        if l == Value::Bool(or) {
            return Ok(l);
        }
        let r = self.eval(b)?;
        if r == Value::Bool(or) {
            return Ok(r);
        }
        Ok(match (l, r) {
            (Value::Bool(_), Value::Bool(_)) => Value::Bool(!or),
            (Value::Error(e), _) | (_, Value::Error(e)) => Value::Error(e),
            _ => no_overload(if or { "_||_" } else { "_&&_" }),
        })
    }

    /// An identifier, selection or index: an attribute of the activation when the whole path
    /// names one; else the parent's value selected or indexed.
    fn access(&mut self, e: &Expr) -> R {
        if let Some(path) = attr_path(e, &self.locals) {
            if let Some(v) = self.act.resolve(&path) {
                return self.produced(v);
            }
        }
        match e {
            Expr::Ident(n) => {
                if let Some((_, v)) = self.locals.iter().rev().find(|(v, _)| v == n) {
                    return Ok(v.clone());
                }
                Ok(Value::err(format!(
                    "No value with name \"{n}\" found in Activation"
                )))
            }
            Expr::Select(t, f) => {
                let t = tri!(self.eval(t)?);
                Ok(select(&t, f))
            }
            Expr::Index(t, i) => {
                let key = tri!(self.eval(i)?);
                // A computed string key of an attribute: the attribute's own lookup (header
                // names case-insensitive, as Envoy's header map wrapper).
                if let (Value::String(k), Some(mut p), false) = (
                    &key,
                    attr_path(t, &self.locals),
                    matches!(**i, Expr::Lit(Value::String(_))),
                ) {
                    p.push(k.clone());
                    if let Some(v) = self.act.resolve(&p) {
                        return self.produced(v);
                    }
                }
                let t = tri!(self.eval(t)?);
                Ok(index(&t, &key))
            }
            _ => unreachable!("access of a non-access expression"),
        }
    }

    /// The comprehension macros as cel-spec expands them: `all` is false once a predicate is
    /// false (absorbing errors elsewhere), `exists` true once one is true; `exists_one`,
    /// `filter` and `map` are strict. A map iterates over its keys.
    fn comprehension(&mut self, c: &Comprehension) -> R {
        let items = match tri!(self.eval(&c.range)?) {
            Value::List(l) => l,
            Value::Map(m) => m.into_iter().map(|(k, _)| k).collect(),
            _ => return Ok(no_overload("comprehension range")),
        };
        let mut err: Option<Value> = None;
        let mut count = 0usize;
        let mut out = Vec::new();
        for item in items {
            self.locals.push((c.var.clone(), item.clone()));
            let r = self.step(c, item, &mut out);
            self.locals.pop();
            match (c.kind, r?) {
                (Macro::All, Value::Bool(false)) => return Ok(Value::Bool(false)),
                (Macro::Exists, Value::Bool(true)) => return Ok(Value::Bool(true)),
                (Macro::ExistsOne, Value::Bool(true)) => count += 1,
                (Macro::All | Macro::Exists, Value::Bool(_)) => {}
                (Macro::All | Macro::Exists, e) => {
                    err.get_or_insert(match e {
                        Value::Error(_) => e,
                        _ => no_overload("comprehension predicate"),
                    });
                }
                (Macro::ExistsOne, Value::Bool(false)) => {}
                (_, Value::Error(e)) => return Ok(Value::Error(e)),
                (Macro::ExistsOne, _) => return Ok(no_overload("exists_one predicate")),
                (Macro::Filter | Macro::Map, _) => {}
            }
        }
        Ok(match c.kind {
            Macro::All => err.unwrap_or(Value::Bool(true)),
            Macro::Exists => err.unwrap_or(Value::Bool(false)),
            Macro::ExistsOne => Value::Bool(count == 1),
            Macro::Filter | Macro::Map => return self.produced(Value::List(out)),
        })
    }

    /// One iteration: the predicate's value (all/exists/exists_one), or for filter/map an
    /// error value or `null` after pushing what the element contributes to `out`.
    fn step(&mut self, c: &Comprehension, item: Value, out: &mut Vec<Value>) -> R {
        let keep = match &c.pred {
            Some(p) => self.eval(p)?,
            None => Value::Bool(true),
        };
        match c.kind {
            Macro::All | Macro::Exists | Macro::ExistsOne => return Ok(keep),
            _ => {}
        }
        match keep {
            Value::Bool(true) => {}
            Value::Bool(false) => return Ok(Value::Null),
            Value::Error(e) => return Ok(Value::Error(e)),
            _ => return Ok(no_overload("filter predicate")),
        }
        let v = match &c.transform {
            Some(t) => tri!(self.eval(t)?),
            None => item,
        };
        out.push(v);
        Ok(Value::Null)
    }

    fn has(&mut self, t: &Expr, f: &str) -> R {
        let path = attr_path(t, &self.locals);
        if let Some(mut p) = path.clone() {
            p.push(f.to_string());
            if self.act.resolve(&p).is_some() {
                return Ok(Value::Bool(true));
            }
        }
        Ok(match self.eval(t)? {
            Value::Map(m) => Value::Bool(m.iter().any(|(k, _)| k == &Value::String(f.into()))),
            // An attribute that is not there has no fields.
            Value::Error(_) if path.is_some() => Value::Bool(false),
            Value::Error(e) => Value::Error(e),
            _ => Value::err("invalid type for field selection"),
        })
    }
}

fn no_overload(op: &str) -> Value {
    Value::err(format!("No matching overloads found : {op}"))
}

fn overflow() -> Value {
    Value::err("integer overflow")
}

fn select(t: &Value, f: &str) -> Value {
    match t {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| matches!(k, Value::String(s) if s == f))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Value::err(format!("Key not found in map : {f}"))),
        _ => Value::err(format!("invalid type for field selection: {f}")),
    }
}

fn index(t: &Value, i: &Value) -> Value {
    match t {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| equal(k, i))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Value::err("Key not found in map")),
        Value::List(l) => {
            let n = match i {
                Value::Int(n) => usize::try_from(*n).ok(),
                Value::Uint(n) => usize::try_from(*n).ok(),
                Value::Double(d) if d.fract() == 0.0 && *d >= 0.0 => Some(*d as usize),
                _ => return no_overload("_[_]"),
            };
            match n.and_then(|n| l.get(n)) {
                Some(v) => v.clone(),
                None => Value::err("index out of bounds"),
            }
        }
        _ => no_overload("_[_]"),
    }
}

/// CEL equality: numeric across int/uint/double, structural for lists and maps, false across
/// other types.
pub fn equal(a: &Value, b: &Value) -> bool {
    if let Some(o) = num_cmp(a, b) {
        return o == Some(Ordering::Equal);
    }
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| equal(k, k2) && equal(v, v2)))
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b) && a == b,
    }
}

/// Numeric comparison across int, uint and double: `None` when not both numbers;
/// `Some(None)` when incomparable (NaN).
fn num_cmp(a: &Value, b: &Value) -> Option<Option<Ordering>> {
    use Value::{Double, Int, Uint};
    Some(match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Uint(x), Uint(y)) => Some(x.cmp(y)),
        (Double(x), Double(y)) => x.partial_cmp(y),
        (Int(x), Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Uint(x), Int(y)) => Some(if *y < 0 {
            Ordering::Greater
        } else {
            x.cmp(&(*y as u64))
        }),
        (Int(x), Double(y)) => (*x as f64).partial_cmp(y),
        (Double(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (Uint(x), Double(y)) => (*x as f64).partial_cmp(y),
        (Double(x), Uint(y)) => x.partial_cmp(&(*y as f64)),
        _ => return None,
    })
}

fn order(a: &Value, b: &Value) -> Result<Option<Ordering>, ()> {
    if let Some(o) = num_cmp(a, b) {
        return Ok(o);
    }
    Ok(Some(match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Duration(x), Value::Duration(y)) => {
            x.cmp(y)
        }
        _ => return Err(()),
    }))
}

fn binary(op: BinOp, a: Value, b: Value) -> Value {
    use Value::*;
    match op {
        BinOp::Eq => Bool(equal(&a, &b)),
        BinOp::Ne => Bool(!equal(&a, &b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => match order(&a, &b) {
            Err(()) => no_overload("relation"),
            Ok(None) => Bool(false),
            Ok(Some(o)) => Bool(match op {
                BinOp::Lt => o == Ordering::Less,
                BinOp::Le => o != Ordering::Greater,
                BinOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }),
        },
        BinOp::In => match &b {
            List(l) => Bool(l.iter().any(|v| equal(v, &a))),
            Map(m) => Bool(m.iter().any(|(k, _)| equal(k, &a))),
            _ => no_overload("@in"),
        },
        BinOp::Add => match (a, b) {
            (Int(x), Int(y)) => x.checked_add(y).map_or_else(overflow, Int),
            (Uint(x), Uint(y)) => x.checked_add(y).map_or_else(overflow, Uint),
            (Double(x), Double(y)) => Double(x + y),
            (String(x), String(y)) => String(x + &y),
            (Bytes(mut x), Bytes(y)) => {
                x.extend_from_slice(&y);
                Bytes(x)
            }
            (List(mut x), List(y)) => {
                x.extend(y);
                List(x)
            }
            (Duration(x), Duration(y)) => x.checked_add(y).map_or_else(overflow, Duration),
            (Timestamp(x), Duration(y)) | (Duration(y), Timestamp(x)) => {
                x.checked_add(y).map_or_else(overflow, Timestamp)
            }
            _ => no_overload("_+_"),
        },
        BinOp::Sub => match (a, b) {
            (Int(x), Int(y)) => x.checked_sub(y).map_or_else(overflow, Int),
            (Uint(x), Uint(y)) => x.checked_sub(y).map_or_else(overflow, Uint),
            (Double(x), Double(y)) => Double(x - y),
            (Duration(x), Duration(y)) => x.checked_sub(y).map_or_else(overflow, Duration),
            (Timestamp(x), Timestamp(y)) => x.checked_sub(y).map_or_else(overflow, Duration),
            (Timestamp(x), Duration(y)) => x.checked_sub(y).map_or_else(overflow, Timestamp),
            _ => no_overload("_-_"),
        },
        BinOp::Mul => match (a, b) {
            (Int(x), Int(y)) => x.checked_mul(y).map_or_else(overflow, Int),
            (Uint(x), Uint(y)) => x.checked_mul(y).map_or_else(overflow, Uint),
            (Double(x), Double(y)) => Double(x * y),
            _ => no_overload("_*_"),
        },
        BinOp::Div => match (a, b) {
            (Int(_), Int(0)) | (Uint(_), Uint(0)) => Value::err("divide by zero"),
            (Int(x), Int(y)) => x.checked_div(y).map_or_else(overflow, Int),
            (Uint(x), Uint(y)) => Uint(x / y),
            (Double(x), Double(y)) => Double(x / y),
            _ => no_overload("_/_"),
        },
        BinOp::Rem => match (a, b) {
            (Int(_), Int(0)) | (Uint(_), Uint(0)) => Value::err("modulus by zero"),
            (Int(x), Int(y)) => x.checked_rem(y).map_or_else(overflow, Int),
            (Uint(x), Uint(y)) => Uint(x % y),
            _ => no_overload("_%_"),
        },
    }
}

fn call(name: &str, receiver: bool, args: Vec<Value>) -> Value {
    use Value::*;
    let mut it = args.into_iter();
    let a = it.next().unwrap_or(Null);
    let b = it.next();
    match (name, a, b) {
        ("size", String(s), None) => Int(s.chars().count() as i64),
        ("size", Bytes(b), None) => Int(b.len() as i64),
        ("size", List(l), None) => Int(l.len() as i64),
        ("size", Map(m), None) => Int(m.len() as i64),
        ("startsWith", String(s), Some(String(p))) => Bool(s.starts_with(&p)),
        ("endsWith", String(s), Some(String(p))) => Bool(s.ends_with(&p)),
        ("contains", String(s), Some(String(p))) => Bool(s.contains(&p)),
        ("matches", String(s), Some(String(re))) => {
            match regex::RegexBuilder::new(&re).size_limit(1 << 20).build() {
                Ok(r) => Bool(r.is_match(&s)),
                Err(_) => Value::err(format!("invalid regular expression: {re}")),
            }
        }
        ("dyn", v, None) => v,
        ("int", v, None) => to_int(v),
        ("uint", v, None) => to_uint(v),
        ("double", v, None) => match v {
            Double(d) => Double(d),
            Int(i) => Double(i as f64),
            Uint(u) => Double(u as f64),
            String(s) => s
                .trim()
                .parse::<f64>()
                .map_or_else(|_| Value::err("double conversion error"), Double),
            _ => no_overload("double"),
        },
        ("string", v, None) => to_string(&v).unwrap_or_else(|e| e),
        ("bytes", v, None) => match v {
            Bytes(b) => Bytes(b),
            String(s) => Bytes(s.into_bytes()),
            _ => no_overload("bytes"),
        },
        ("timestamp", v, None) => match v {
            Timestamp(t) => Timestamp(t),
            String(s) => parse_timestamp(&s).map_or_else(
                || Value::err(format!("String to Timestamp conversion failed: {s}")),
                Timestamp,
            ),
            Int(secs) => secs
                .checked_mul(1_000_000_000)
                .map_or_else(overflow, Timestamp),
            _ => no_overload("timestamp"),
        },
        ("duration", v, None) => match v {
            Duration(d) => Duration(d),
            String(s) => parse_duration(&s).map_or_else(
                || Value::err(format!("String to Duration conversion failed: {s}")),
                Duration,
            ),
            _ => no_overload("duration"),
        },
        _ => {
            let _ = receiver;
            no_overload(name)
        }
    }
}

/// `string(v)`: `Ok` the string, `Err` the error value.
pub(super) fn to_string(v: &Value) -> Result<Value, Value> {
    use Value::*;
    Ok(String(match v {
        String(s) => s.clone(),
        Int(i) => i.to_string(),
        Uint(u) => u.to_string(),
        Double(d) => format_g(*d),
        Bool(b) => b.to_string(),
        Bytes(b) => std::str::from_utf8(b)
            .map_err(|_| Value::err("invalid UTF-8 in bytes"))?
            .to_string(),
        Timestamp(t) => format_timestamp(*t),
        Duration(d) => format_duration(*d),
        _ => return Err(no_overload("string")),
    }))
}

fn to_int(v: Value) -> Value {
    match v {
        Value::Int(i) => Value::Int(i),
        Value::Uint(u) => i64::try_from(u).map_or_else(|_| Value::err("range error"), Value::Int),
        Value::Double(d) => {
            // Truncation; values outside (-2^63, 2^63) (and NaN) are range errors.
            if d.is_nan() || d <= -9.223_372_036_854_776e18 || d >= 9.223_372_036_854_776e18 {
                Value::err("range error")
            } else {
                Value::Int(d as i64)
            }
        }
        Value::String(s) => s
            .parse::<i64>()
            .map_or_else(|_| Value::err("cannot convert string to int"), Value::Int),
        Value::Timestamp(t) => Value::Int(t.div_euclid(1_000_000_000)),
        _ => no_overload("int"),
    }
}

fn to_uint(v: Value) -> Value {
    match v {
        Value::Uint(u) => Value::Uint(u),
        Value::Int(i) => u64::try_from(i).map_or_else(|_| Value::err("range error"), Value::Uint),
        Value::Double(d) => {
            if !(0.0..1.844_674_407_370_955_2e19).contains(&d) {
                Value::err("range error")
            } else {
                Value::Uint(d as u64)
            }
        }
        Value::String(s) => s
            .parse::<u64>()
            .map_or_else(|_| Value::err("cannot convert string to uint"), Value::Uint),
        _ => no_overload("uint"),
    }
}

/// `absl::StrCat(double)`: six significant digits, `%g` style.
pub fn format_g(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{d:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(&format!("{d:.decimals$}"))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// RFC 3339 (`2024-05-01T10:00:00Z`, `…T10:00:00.5+02:00`) → nanoseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let hh = num(i + 1..i + 3)?;
            let mm = num(i + 4..i + 6)?;
            let v = hh * 3600 + mm * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn format_timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        t / 3600,
        t % 3600 / 60,
        t % 60
    );
    if frac != 0 {
        out.push_str(format!(".{frac:09}").trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Seconds with the fraction the value needs, as protobuf's JSON form (`1.5s`).
fn format_duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    let (s, frac) = (a / 1_000_000_000, a % 1_000_000_000);
    if frac == 0 {
        format!("{sign}{s}s")
    } else {
        format!("{sign}{s}.{}s", format!("{frac:09}").trim_end_matches('0'))
    }
}

/// Go-style durations (`1h30m`, `-1.5s`, `100ms`, `2us`, `3ns`) → nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let units: [(&str, f64); 6] = [
            ("ns", 1.0),
            ("us", 1e3),
            ("ms", 1e6),
            ("s", 1e9),
            ("m", 60e9),
            ("h", 3600e9),
        ];
        let (u, scale) = units.iter().find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[u.len()..];
        total += v * scale;
    }
    if total >= 9.2e18 {
        return None;
    }
    let ns = total.round() as i64;
    Some(if neg { -ns } else { ns })
}
