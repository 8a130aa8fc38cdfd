//! Tokenizer and Pratt parser for the CEL grammar (cel-spec `doc/langdef.md`), the subset
//! Envoy/Istio expressions use. Hostile input is bounded as cel-cpp's parser bounds it
//! (`parser/options.h`): at most [`MAX_CODEPOINTS`] code points and [`MAX_DEPTH`] levels of
//! nesting; either limit is a parse error, never a stack overflow.

use super::Value;

/// `kExpressionSizeCodepointLimit` of cel-cpp's parser options.
pub const MAX_CODEPOINTS: usize = 100_000;
/// `kDefaultMaxRecursionDepth` of cel-cpp's parser options (counted here as the depth of the
/// syntax tree, which is what the evaluator recurses on).
pub const MAX_DEPTH: usize = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    Ident(String),
    Select(Box<Expr>, String),
    /// `has(e.f)`.
    Has(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    /// `name(args)` or `target.name(args)`.
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Comprehension(Box<Comprehension>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Macro {
    All,
    Exists,
    ExistsOne,
    Filter,
    Map,
}

/// `range.kind(var, pred)` / `range.map(var, [pred,] transform)`.
#[derive(Debug, Clone)]
pub struct Comprehension {
    pub kind: Macro,
    pub var: String,
    pub range: Expr,
    pub pred: Option<Expr>,
    pub transform: Option<Expr>,
}

/// Why an expression does not become a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// A syntax error (cel-cpp `parser::Parse` fails).
    Parse(String),
    /// Parses, but has a function without overloads (cel-cpp's planner fails).
    Compile(String),
    /// Valid CEL the simulator does not evaluate (comprehension macros, message construction).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    /// An int literal beyond i64::MAX (valid only as the operand of a unary minus).
    BigInt(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    Punct(&'static str),
    End,
}

const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

const PUNCT: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}",
];

fn perr<T>(msg: impl Into<String>) -> Result<T, CreateError> {
    Err(CreateError::Parse(msg.into()))
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        loop {
            while self.i < self.s.len()
                && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
            {
                self.i += 1;
            }
            if self.s[self.i..].starts_with(b"//") {
                while self.i < self.s.len() && self.s[self.i] != b'\n' {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }

    fn next(&mut self) -> Result<(Tok, usize), CreateError> {
        self.skip_space();
        let start = self.i;
        let Some(&c) = self.s.get(self.i) else {
            return Ok((Tok::End, start));
        };
        let tok = if c.is_ascii_digit()
            || (c == b'.' && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit))
        {
            self.number()?
        } else if c == b'"' || c == b'\'' {
            self.string(false, false)?
        } else if c.is_ascii_alphabetic() || c == b'_' {
            // String prefixes: r, b, rb, br (any case) directly before a quote.
            let mut j = self.i;
            while j < self.s.len() && (self.s[j].is_ascii_alphanumeric() || self.s[j] == b'_') {
                j += 1;
            }
            let word = std::str::from_utf8(&self.s[self.i..j]).unwrap_or_default();
            let lw = word.to_ascii_lowercase();
            let quoted = matches!(self.s.get(j), Some(b'"' | b'\''));
            if quoted && matches!(lw.as_str(), "r" | "b" | "rb" | "br") {
                self.i = j;
                self.string(lw.contains('r'), lw.contains('b'))?
            } else {
                self.i = j;
                Tok::Ident(word.to_string())
            }
        } else {
            match PUNCT
                .iter()
                .find(|p| self.s[self.i..].starts_with(p.as_bytes()))
            {
                Some(p) => {
                    self.i += p.len();
                    Tok::Punct(p)
                }
                None => return perr(format!("unexpected character at offset {start}")),
            }
        };
        Ok((tok, start))
    }

    fn number(&mut self) -> Result<Tok, CreateError> {
        let s = self.s;
        let start = self.i;
        if s[self.i..].starts_with(b"0x") || s[self.i..].starts_with(b"0X") {
            self.i += 2;
            let ds = self.i;
            while self.i < s.len() && s[self.i].is_ascii_hexdigit() {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&s[ds..self.i]).unwrap_or_default();
            let v = u64::from_str_radix(digits, 16).or_else(|_| perr("invalid hex literal"))?;
            return self.int_suffix(v);
        }
        while self.i < s.len() && s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let mut float = false;
        if s.get(self.i) == Some(&b'.') && s.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            float = true;
            self.i += 1;
            while self.i < s.len() && s[self.i].is_ascii_digit() {
                self.i += 1;
            }
        }
        if matches!(s.get(self.i), Some(b'e' | b'E')) {
            let mut j = self.i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if s.get(j).is_some_and(u8::is_ascii_digit) {
                float = true;
                self.i = j;
                while self.i < s.len() && s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
            }
        }
        let text = std::str::from_utf8(&s[start..self.i]).unwrap_or_default();
        if float {
            return text
                .parse::<f64>()
                .map(Tok::Double)
                .or_else(|_| perr("invalid double literal"));
        }
        let v = text
            .parse::<u64>()
            .or_else(|_| perr("invalid int literal"))?;
        self.int_suffix(v)
    }

    fn int_suffix(&mut self, v: u64) -> Result<Tok, CreateError> {
        if matches!(self.s.get(self.i), Some(b'u' | b'U')) {
            self.i += 1;
            return Ok(Tok::Uint(v));
        }
        Ok(match i64::try_from(v) {
            Ok(i) => Tok::Int(i),
            Err(_) => Tok::BigInt(v),
        })
    }

    fn string(&mut self, raw: bool, bytes: bool) -> Result<Tok, CreateError> {
        let s = self.s;
        let q = s[self.i];
        let triple = s[self.i..].starts_with(&[q, q, q]);
        self.i += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = s.get(self.i) else {
                return perr("unterminated string literal");
            };
            if triple && s[self.i..].starts_with(&[q, q, q]) {
                self.i += 3;
                break;
            }
            if !triple && c == q {
                self.i += 1;
                break;
            }
            if !triple && (c == b'\n' || c == b'\r') {
                return perr("newline in string literal");
            }
            if c == b'\\' && !raw {
                self.escape(&mut out, bytes)?;
                continue;
            }
            out.push(c);
            self.i += 1;
        }
        if bytes {
            return Ok(Tok::Bytes(out));
        }
        String::from_utf8(out)
            .map(Tok::Str)
            .or_else(|_| perr("invalid UTF-8 in string literal"))
    }

    fn escape(&mut self, out: &mut Vec<u8>, bytes: bool) -> Result<(), CreateError> {
        let s = self.s;
        self.i += 1;
        let Some(&c) = s.get(self.i) else {
            return perr("unterminated escape");
        };
        self.i += 1;
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'`' | b'?' => Some(c),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let hex = |me: &mut Self, n: usize| -> Result<u32, CreateError> {
            let d = s
                .get(me.i..me.i + n)
                .ok_or(CreateError::Parse("short escape".into()))?;
            let t = std::str::from_utf8(d).unwrap_or("z");
            me.i += n;
            u32::from_str_radix(t, 16).or_else(|_| perr("invalid escape"))
        };
        match c {
            b'x' | b'X' => {
                let v = hex(self, 2)?;
                push_code(out, v, bytes)
            }
            b'u' => {
                let v = hex(self, 4)?;
                push_char(out, v, bytes)
            }
            b'U' => {
                let v = hex(self, 8)?;
                push_char(out, v, bytes)
            }
            b'0'..=b'3' => {
                let d = s
                    .get(self.i..self.i + 2)
                    .ok_or(CreateError::Parse("short escape".into()))?;
                if !d.iter().all(|b| (b'0'..=b'7').contains(b)) {
                    return perr("invalid octal escape");
                }
                self.i += 2;
                let v =
                    u32::from(c - b'0') * 64 + u32::from(d[0] - b'0') * 8 + u32::from(d[1] - b'0');
                push_code(out, v, bytes)
            }
            _ => perr("invalid escape sequence"),
        }
    }
}

/// `\x`/octal: a byte in bytes literals, a code point in strings.
fn push_code(out: &mut Vec<u8>, v: u32, bytes: bool) -> Result<(), CreateError> {
    if bytes {
        out.push(v as u8);
        Ok(())
    } else {
        push_char(out, v, false)
    }
}

/// `\u`/`\U`: the code point's UTF-8 encoding (in bytes literals too).
fn push_char(out: &mut Vec<u8>, v: u32, _bytes: bool) -> Result<(), CreateError> {
    let ch = char::from_u32(v).ok_or(CreateError::Parse("invalid code point".into()))?;
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    Ok(())
}

/// A parsed expression with the depth of each subtree checked.
pub fn parse(text: &str) -> Result<Expr, CreateError> {
    if text.chars().count() > MAX_CODEPOINTS {
        return perr(format!(
            "expression size exceeds codepoint limit ({MAX_CODEPOINTS})"
        ));
    }
    let mut lx = Lexer {
        s: text.as_bytes(),
        i: 0,
    };
    let mut toks = Vec::new();
    loop {
        let (t, _) = lx.next()?;
        let end = t == Tok::End;
        toks.push(t);
        if end {
            break;
        }
    }
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let (e, _) = p.expr()?;
    if p.peek() != &Tok::End {
        return perr("unexpected token after the expression");
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
    /// Parser recursion now.
    depth: usize,
}

/// A subtree and its depth.
type Node = (Expr, usize);

fn node(e: Expr, depth: usize) -> Result<Node, CreateError> {
    if depth > MAX_DEPTH {
        return perr(format!("expression recursion limit exceeded ({MAX_DEPTH})"));
    }
    Ok((e, depth))
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i]
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn expect(&mut self, p: &str) -> Result<(), CreateError> {
        if self.is(p) {
            self.bump();
            Ok(())
        } else {
            perr(format!("expected '{p}'"))
        }
    }

    fn enter(&mut self) -> Result<(), CreateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return perr(format!("expression recursion limit exceeded ({MAX_DEPTH})"));
        }
        Ok(())
    }

    /// expr = or ('?' or ':' expr)?
    fn expr(&mut self) -> Result<Node, CreateError> {
        self.enter()?;
        let (c, dc) = self.binary(0)?;
        let r = if self.is("?") {
            self.bump();
            let (a, da) = self.binary(0)?;
            self.expect(":")?;
            let (b, db) = self.expr()?;
            node(
                Expr::Cond(Box::new(c), Box::new(a), Box::new(b)),
                1 + dc.max(da).max(db),
            )?
        } else {
            (c, dc)
        };
        self.depth -= 1;
        Ok(r)
    }

    /// Binary operators by precedence: `||` 1, `&&` 2, relations 3, `+ -` 4, `* / %` 5; all
    /// left-associative (loops, so a long chain does not recurse).
    fn binary(&mut self, min: u8) -> Result<Node, CreateError> {
        let mut lhs = self.unary()?;
        loop {
            let (prec, op) = match self.peek() {
                Tok::Punct("||") => (1, None),
                Tok::Punct("&&") => (2, None),
                Tok::Punct("==") => (3, Some(BinOp::Eq)),
                Tok::Punct("!=") => (3, Some(BinOp::Ne)),
                Tok::Punct("<") => (3, Some(BinOp::Lt)),
                Tok::Punct("<=") => (3, Some(BinOp::Le)),
                Tok::Punct(">") => (3, Some(BinOp::Gt)),
                Tok::Punct(">=") => (3, Some(BinOp::Ge)),
                Tok::Ident(w) if w == "in" => (3, Some(BinOp::In)),
                Tok::Punct("+") => (4, Some(BinOp::Add)),
                Tok::Punct("-") => (4, Some(BinOp::Sub)),
                Tok::Punct("*") => (5, Some(BinOp::Mul)),
                Tok::Punct("/") => (5, Some(BinOp::Div)),
                Tok::Punct("%") => (5, Some(BinOp::Rem)),
                _ => return Ok(lhs),
            };
            if prec <= min {
                return Ok(lhs);
            }
            let was = self.bump();
            self.enter()?;
            let (rhs, dr) = self.binary(prec)?;
            self.depth -= 1;
            let (l, dl) = lhs;
            let d = 1 + dl.max(dr);
            let e = match (was, op) {
                (Tok::Punct("||"), _) => Expr::Or(Box::new(l), Box::new(rhs)),
                (Tok::Punct("&&"), _) => Expr::And(Box::new(l), Box::new(rhs)),
                (_, Some(op)) => Expr::Bin(op, Box::new(l), Box::new(rhs)),
                _ => return perr("bad operator"),
            };
            lhs = node(e, d)?;
        }
    }

    fn unary(&mut self) -> Result<Node, CreateError> {
        self.enter()?;
        let r = if self.is("!") {
            self.bump();
            let (e, d) = self.unary()?;
            node(Expr::Not(Box::new(e)), d + 1)?
        } else if self.is("-") {
            self.bump();
            // A minus directly before an int literal is part of the literal (so that
            // -9223372036854775808 is an int).
            match self.peek().clone() {
                Tok::Int(v) => {
                    self.bump();
                    self.postfix((Expr::Lit(Value::Int(-v)), 1))?
                }
                Tok::BigInt(v) if v == 1u64 << 63 => {
                    self.bump();
                    self.postfix((Expr::Lit(Value::Int(i64::MIN)), 1))?
                }
                _ => {
                    let (e, d) = self.unary()?;
                    node(Expr::Neg(Box::new(e)), d + 1)?
                }
            }
        } else {
            let p = self.primary()?;
            self.postfix(p)?
        };
        self.depth -= 1;
        Ok(r)
    }

    /// `.field`, `.method(args)`, `[index]` after a primary (a loop: chains do not recurse).
    fn postfix(&mut self, mut cur: Node) -> Result<Node, CreateError> {
        loop {
            if self.is(".") {
                self.bump();
                let Tok::Ident(name) = self.bump() else {
                    return perr("expected a field name after '.'");
                };
                if self.is("(") {
                    self.bump();
                    let (args, da) = self.args(")")?;
                    let (t, dt) = cur;
                    cur = match comprehension(&name, t, args) {
                        Ok(e) => node(e, 1 + dt.max(da))?,
                        Err((t, args)) => {
                            node(Expr::Call(Some(Box::new(t)), name, args), 1 + dt.max(da))?
                        }
                    };
                } else {
                    check_ident(&name)?;
                    let (t, dt) = cur;
                    cur = node(Expr::Select(Box::new(t), name), dt + 1)?;
                }
            } else if self.is("[") {
                self.bump();
                let (i, di) = self.expr()?;
                self.expect("]")?;
                let (t, dt) = cur;
                cur = node(Expr::Index(Box::new(t), Box::new(i)), 1 + dt.max(di))?;
            } else if self.is("{") {
                return Err(CreateError::Unsupported("CEL message construction".into()));
            } else {
                return Ok(cur);
            }
        }
    }

    /// Comma-separated expressions up to `close` (a trailing comma allowed in literals).
    fn args(&mut self, close: &str) -> Result<(Vec<Expr>, usize), CreateError> {
        let mut out = Vec::new();
        let mut depth = 0;
        while !self.is(close) {
            let (e, d) = self.expr()?;
            out.push(e);
            depth = depth.max(d);
            if self.is(",") {
                self.bump();
                if close == ")" && self.is(close) {
                    return perr("trailing comma in an argument list");
                }
            } else {
                break;
            }
        }
        self.expect(close)?;
        Ok((out, depth))
    }

    fn primary(&mut self) -> Result<Node, CreateError> {
        let t = self.bump();
        Ok(match t {
            Tok::Int(v) => (Expr::Lit(Value::Int(v)), 1),
            Tok::BigInt(_) => return perr("int literal out of range"),
            Tok::Uint(v) => (Expr::Lit(Value::Uint(v)), 1),
            Tok::Double(v) => (Expr::Lit(Value::Double(v)), 1),
            Tok::Str(s) => (Expr::Lit(Value::String(s)), 1),
            Tok::Bytes(b) => (Expr::Lit(Value::Bytes(b)), 1),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                e
            }
            Tok::Punct("[") => {
                let (items, d) = self.args("]")?;
                node(Expr::List(items), d + 1)?
            }
            Tok::Punct("{") => {
                let mut entries = Vec::new();
                let mut depth = 0;
                while !self.is("}") {
                    let (k, dk) = self.expr()?;
                    self.expect(":")?;
                    let (v, dv) = self.expr()?;
                    depth = depth.max(dk).max(dv);
                    entries.push((k, v));
                    if self.is(",") {
                        self.bump();
                    } else {
                        break;
                    }
                }
                self.expect("}")?;
                node(Expr::Map(entries), depth + 1)?
            }
            // A leading dot names the root scope: `.request.path` is `request.path` here.
            Tok::Punct(".") => match self.bump() {
                Tok::Ident(name) => self.ident(name)?,
                _ => return perr("expected an identifier after '.'"),
            },
            Tok::Ident(name) => self.ident(name)?,
            Tok::End => return perr("unexpected end of expression"),
            Tok::Punct(p) => return perr(format!("unexpected '{p}'")),
        })
    }

    fn ident(&mut self, name: String) -> Result<Node, CreateError> {
        match name.as_str() {
            "true" => return Ok((Expr::Lit(Value::Bool(true)), 1)),
            "false" => return Ok((Expr::Lit(Value::Bool(false)), 1)),
            "null" => return Ok((Expr::Lit(Value::Null), 1)),
            _ => {}
        }
        check_ident(&name)?;
        if !self.is("(") {
            return Ok((Expr::Ident(name), 1));
        }
        self.bump();
        let (mut args, d) = self.args(")")?;
        if name == "has" {
            // The `has` macro: one argument, a field selection.
            return match (args.pop(), args.is_empty()) {
                (Some(Expr::Select(t, f)), true) => node(Expr::Has(t, f), d + 1),
                _ => perr("invalid argument to has() macro"),
            };
        }
        node(Expr::Call(None, name, args), d + 1)
    }
}

/// The comprehension macros (`range.all(x, p)`, `exists`, `exists_one`, `filter`,
/// `map(x, f)`, `map(x, p, f)`): their first argument is the iteration variable. Anything else
/// is an ordinary call, given back.
#[allow(clippy::type_complexity)]
fn comprehension(name: &str, range: Expr, mut args: Vec<Expr>) -> Result<Expr, (Expr, Vec<Expr>)> {
    let kind = match (name, args.len()) {
        ("all", 2) => Macro::All,
        ("exists", 2) => Macro::Exists,
        ("exists_one", 2) => Macro::ExistsOne,
        ("filter", 2) => Macro::Filter,
        ("map", 2 | 3) => Macro::Map,
        _ => return Err((range, args)),
    };
    if !matches!(args[0], Expr::Ident(_)) {
        return Err((range, args));
    }
    let transform = (args.len() == 3).then(|| args.pop()).flatten();
    let body = args.pop().expect("two arguments");
    let Some(Expr::Ident(var)) = args.pop() else {
        unreachable!("checked above")
    };
    // map(x, f): the body is the transform; map(x, p, f): a filter, then the transform.
    let (pred, transform) = match (kind, transform) {
        (Macro::Map, None) => (None, Some(body)),
        (_, t) => (Some(body), t),
    };
    Ok(Expr::Comprehension(Box::new(Comprehension {
        kind,
        var,
        range,
        pred,
        transform,
    })))
}

fn check_ident(name: &str) -> Result<(), CreateError> {
    if name == "in" || RESERVED.contains(&name) {
        return perr(format!("reserved identifier '{name}'"));
    }
    Ok(())
}
