use super::*;

/// A fixed activation: `request.headers` / `request.method` / `request.size`, and a
/// `connection_id`.
struct Act;

impl Activation for Act {
    fn resolve(&self, path: &[String]) -> Option<Value> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let headers = || {
            Value::Map(vec![
                (Value::String("x-id".into()), Value::String("7".into())),
                (
                    Value::String("host".into()),
                    Value::String("example.com".into()),
                ),
            ])
        };
        Some(match p.as_slice() {
            ["request", "headers"] => headers(),
            ["request", "headers", k] => select_str(&headers(), k)?,
            ["request", "method"] => Value::String("GET".into()),
            ["request", "size"] => Value::Int(12),
            ["request", "time"] => Value::Timestamp(1_700_000_000_000_000_000),
            ["connection_id"] => Value::Uint(3),
            _ => return None,
        })
    }
}

fn select_str(m: &Value, k: &str) -> Option<Value> {
    match m {
        Value::Map(e) => e
            .iter()
            .find(|(key, _)| key == &Value::String(k.into()))
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

fn ev(text: &str) -> Value {
    let e = compile(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    evaluate(&e, &Act, 1 << 20, MAX_STEPS)
        .0
        .expect("within bounds")
}

fn is_err(text: &str) -> bool {
    matches!(ev(text), Value::Error(_))
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn literals() {
    assert_eq!(ev("42"), Value::Int(42));
    assert_eq!(ev("0x1F"), Value::Int(31));
    assert_eq!(ev("7u"), Value::Uint(7));
    assert_eq!(ev("18446744073709551615u"), Value::Uint(u64::MAX));
    assert_eq!(ev("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(ev("1.5"), Value::Double(1.5));
    assert_eq!(ev("1e3"), Value::Double(1000.0));
    assert_eq!(ev(".5"), Value::Double(0.5));
    assert_eq!(ev("'a\\tb\\x41\\u00e9\\101'"), s("a\tbAéA"));
    assert_eq!(ev(r#""say \"hi\"""#), s("say \"hi\""));
    assert_eq!(ev(r"r'a\nb'"), s("a\\nb"));
    assert_eq!(ev(r"r'\'"), s("\\"), "a raw string ends at its first quote");
    assert_eq!(ev("'''x\n'y'''"), s("x\n'y"));
    assert_eq!(ev("b'\\xff\\x00'"), Value::Bytes(vec![0xff, 0]));
    assert_eq!(ev("true"), Value::Bool(true));
    assert_eq!(ev("null"), Value::Null);
    assert_eq!(ev("[1, 'a',]"), Value::List(vec![Value::Int(1), s("a")]));
    assert_eq!(ev("{'a': 1}['a']"), Value::Int(1));
    assert_eq!(ev("// comment\n 1 // more"), Value::Int(1));
}

#[test]
fn arithmetic_and_precedence() {
    assert_eq!(ev("1 + 2 * 3"), Value::Int(7));
    assert_eq!(ev("(1 + 2) * 3"), Value::Int(9));
    assert_eq!(ev("10 - 4 - 3"), Value::Int(3), "left-associative");
    assert_eq!(ev("7 / 2"), Value::Int(3));
    assert_eq!(ev("-7 % 3"), Value::Int(-1));
    assert_eq!(ev("2u * 3u"), Value::Uint(6));
    assert_eq!(ev("1.5 + 2.0"), Value::Double(3.5));
    assert_eq!(ev("'ab' + 'cd'"), s("abcd"));
    assert_eq!(
        ev("[1] + [2]"),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(ev("--3"), Value::Int(3));
    assert_eq!(ev("!!true"), Value::Bool(true));
    assert!(is_err("9223372036854775807 + 1"), "int overflow");
    assert!(is_err("-9223372036854775808 - 1"));
    assert!(is_err("-(-9223372036854775808)"));
    assert!(is_err("0u - 1u"), "uint underflow");
    assert!(is_err("1 / 0") && is_err("1 % 0"));
    assert!(is_err("1 + 1u"), "no mixed-type arithmetic");
    assert!(is_err("'a' + 1"));
    assert_eq!(ev("1 < 2 == true"), Value::Bool(true));
    assert_eq!(ev("true ? 1 : 2"), Value::Int(1));
    assert_eq!(ev("false ? 1 : true ? 2 : 3"), Value::Int(2));
    assert!(is_err("1 ? 2 : 3"));
}

#[test]
fn comparisons_equality_and_in() {
    assert_eq!(ev("1 == 1.0"), Value::Bool(true), "heterogeneous numbers");
    assert_eq!(ev("1u == 1"), Value::Bool(true));
    assert_eq!(ev("-1 < 1u"), Value::Bool(true));
    assert_eq!(ev("'a' == 1"), Value::Bool(false));
    assert_eq!(ev("'abc' < 'abd'"), Value::Bool(true));
    assert_eq!(ev("[1, 2] == [1, 2]"), Value::Bool(true));
    assert_eq!(ev("{'a': 1} == {'a': 1.0}"), Value::Bool(true));
    assert_eq!(ev("null == null"), Value::Bool(true));
    assert!(is_err("'a' < 1"));
    assert_eq!(ev("2 in [1, 2]"), Value::Bool(true));
    assert_eq!(ev("'x-id' in request.headers"), Value::Bool(true));
    assert_eq!(ev("'nope' in request.headers"), Value::Bool(false));
    assert!(is_err("1 in 'abc'"));
    assert!(is_err("{'a': 1, 'a': 2}"), "duplicate key");
}

#[test]
fn logic_absorbs_errors_as_cel_does() {
    assert_eq!(ev("false && (1 / 0 == 1)"), Value::Bool(false));
    assert_eq!(
        ev("(1 / 0 == 1) && false"),
        Value::Bool(false),
        "commutative"
    );
    assert_eq!(ev("(1 / 0 == 1) || true"), Value::Bool(true));
    assert_eq!(ev("true || missing"), Value::Bool(true));
    assert!(is_err("true && (1 / 0 == 1)"));
    assert!(is_err("(1 / 0 == 1) || false"));
    assert!(is_err("1 && true"));
    assert_eq!(ev("1 || true"), Value::Bool(true));
}

#[test]
fn attributes_and_has() {
    let x = "request.headers['x-id'] == '7' && request.method == 'GET'";
    assert_eq!(ev(x), Value::Bool(true));
    assert_eq!(ev("request.headers.host"), s("example.com"));
    assert_eq!(ev("request.size + 1"), Value::Int(13));
    assert_eq!(ev("connection_id == 3u"), Value::Bool(true));
    assert_eq!(ev("size(request.headers)"), Value::Int(2));
    assert_eq!(
        ev("request.headers[request.method == 'GET' ? 'x-id' : 'host']"),
        s("7")
    );
    assert!(is_err("request.headers['missing']"), "no such key");
    assert!(is_err("nothing"), "undeclared");
    assert!(is_err("nothing.at.all"));
    assert_eq!(ev("has(request.headers.host)"), Value::Bool(true));
    assert_eq!(ev("has(request.headers.missing)"), Value::Bool(false));
    assert_eq!(ev("has({'a': 1}.a)"), Value::Bool(true));
    assert_eq!(ev("has(nothing.x)"), Value::Bool(false));
    assert!(is_err("has(1.x)") || compile("has(1.x)").is_err());
    assert_eq!(
        ev("request.time > timestamp('2020-01-01T00:00:00Z')"),
        Value::Bool(true)
    );
}

#[test]
fn functions() {
    assert_eq!(ev("size('héllo')"), Value::Int(5), "code points");
    assert_eq!(ev("'héllo'.size()"), Value::Int(5));
    assert_eq!(ev("size(b'ab')"), Value::Int(2));
    assert_eq!(ev("size([1, 2, 3])"), Value::Int(3));
    assert_eq!(ev("'/api/v1'.startsWith('/api')"), Value::Bool(true));
    assert_eq!(ev("'a.json'.endsWith('.json')"), Value::Bool(true));
    assert_eq!(ev("'abc'.contains('bc')"), Value::Bool(true));
    assert_eq!(
        ev("'abc123'.matches('[0-9]+')"),
        Value::Bool(true),
        "partial match"
    );
    assert_eq!(ev("matches('abc', '^b')"), Value::Bool(false));
    assert!(is_err("'a'.matches('(')"), "bad regex");
    assert_eq!(ev("int('-12')"), Value::Int(-12));
    assert_eq!(ev("int(2.9)"), Value::Int(2));
    assert_eq!(ev("uint(3)"), Value::Uint(3));
    assert!(is_err("uint(-1)") && is_err("int('x')") && is_err("int(1e19)"));
    assert_eq!(ev("double(2)"), Value::Double(2.0));
    assert_eq!(ev("string(12)"), s("12"));
    assert_eq!(ev("string(1.5)"), s("1.5"));
    assert_eq!(ev("string(1e20)"), s("1e+20"));
    assert_eq!(ev("string(0.0001)"), s("0.0001"));
    assert_eq!(ev("string(true)"), s("true"));
    assert_eq!(ev("string(b'hi')"), s("hi"));
    assert_eq!(ev("bytes('hi')"), Value::Bytes(b"hi".to_vec()));
    assert_eq!(
        ev("timestamp('2024-05-01T10:00:00.5+02:00')"),
        Value::Timestamp(1_714_550_400_500_000_000)
    );
    assert_eq!(
        ev("string(timestamp('2024-05-01T08:00:00Z'))"),
        s("2024-05-01T08:00:00Z")
    );
    assert_eq!(ev("duration('1h30m')"), Value::Duration(5_400_000_000_000));
    assert_eq!(ev("string(duration('1.5s'))"), s("1.5s"));
    assert_eq!(
        ev("timestamp('2024-01-01T00:00:00Z') - timestamp('2023-12-31T23:59:59Z')"),
        Value::Duration(1_000_000_000)
    );
    assert!(is_err("timestamp('yesterday')") && is_err("duration('soon')"));
    assert!(is_err("size(1)"), "no overload for the argument's type");
}

#[test]
fn create_errors() {
    for bad in [
        "",
        "1 +",
        "(1",
        "[1, 2",
        "{'a' 1}",
        "'unterminated",
        "1 ? 2",
        "a.",
        "a..b",
        "@",
        "if",
        "a.in",
        "9223372036854775808",
        "0x",
        "has(a)",
        "has(a, b)",
        "1 2",
        "f(1,)",
        "'\\q'",
    ] {
        assert!(
            matches!(compile(bad), Err(CreateError::Parse(_))),
            "{bad:?}: {:?}",
            compile(bad)
        );
    }
    assert!(matches!(compile("nosuch(1)"), Err(CreateError::Compile(_))));
    assert!(matches!(
        compile("size(1, 2)"),
        Err(CreateError::Compile(_))
    ));
    assert!(matches!(
        compile("'a'.frobnicate()"),
        Err(CreateError::Compile(_))
    ));
    assert!(matches!(
        compile("type(1) == int"),
        Err(CreateError::Unsupported(_))
    ));
    assert!(matches!(
        compile("google.protobuf.Duration{seconds: 1}"),
        Err(CreateError::Unsupported(_))
    ));
}

#[test]
fn limits_bound_depth_and_size() {
    // Nesting past the parser's recursion limit is a parse error, not a stack overflow.
    for deep in [
        "(".repeat(100_000) + "1" + &")".repeat(100_000),
        "-".repeat(5_000) + "1",
        "[".repeat(5_000),
        "a".to_string() + &".b".repeat(5_000),
        "1".to_string() + &" + 1".repeat(5_000),
        "x".to_string() + &"[0]".repeat(5_000),
        "true ? 1 : ".repeat(5_000) + "1",
    ] {
        assert!(
            matches!(compile(&deep), Err(CreateError::Parse(_))),
            "{}",
            &deep[..20]
        );
    }
    let ok = "1".to_string() + &" + 1".repeat(MAX_DEPTH - 1);
    assert_eq!(ev(&ok), Value::Int(MAX_DEPTH as i64));
    let long = "'".to_string() + &"a".repeat(MAX_CODEPOINTS) + "'";
    assert!(matches!(compile(&long), Err(CreateError::Parse(_))));
    // Values made past the byte bound stop the evaluation.
    let e = compile("request.headers.host + request.headers.host + request.headers.host").unwrap();
    assert!(matches!(
        evaluate(&e, &Act, 30, MAX_STEPS).0,
        Err(Exhausted::Bytes(_))
    ));
    assert!(evaluate(&e, &Act, 1000, MAX_STEPS).0.is_ok());
}

#[test]
fn garbage_never_panics() {
    // A fixed pseudo-random stream of CEL-ish fragments and bytes.
    let parts = [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ".",
        ",",
        ":",
        "?",
        "!",
        "-",
        "+",
        "*",
        "/",
        "%",
        "==",
        "<",
        "&&",
        "||",
        " in ",
        "1",
        "1u",
        "1.5",
        "'s'",
        "b'x'",
        "r'\\'",
        "\"",
        "'''",
        "a",
        "has",
        "size",
        "request",
        "headers",
        "0x",
        "1e",
        "\\",
        "\u{e9}",
        "null",
        "true",
        "//",
        "\n",
        "9223372036854775808",
        "matches",
        "'('",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut text = String::new();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for _ in 0..(x % 12) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(parts[(x % parts.len() as u64) as usize]);
        }
        if let Ok(e) = compile(&text) {
            let _ = evaluate(&e, &Act, 1 << 16, MAX_STEPS);
        }
    }
}

#[test]
fn serialization_follows_serialize_value() {
    let ser = |t: &str| serialize(&ev(t), Encoding::default()).ok();
    assert_eq!(ser("'ab'"), Some(b"ab".to_vec()));
    assert_eq!(ser("b'\\x00'"), Some(vec![0]));
    assert_eq!(ser("7"), Some(7i64.to_le_bytes().to_vec()));
    assert_eq!(ser("7u"), Some(7u64.to_le_bytes().to_vec()));
    assert_eq!(ser("1.5"), Some(1.5f64.to_le_bytes().to_vec()));
    assert_eq!(ser("true"), Some(vec![1]));
    assert_eq!(
        ser("duration('1s')"),
        Some(1_000_000_000i64.to_le_bytes().to_vec())
    );
    assert_eq!(ser("null"), None, "SerializationFailure");
    assert_eq!(ser("[]"), Some(vec![0; 4]));
    // {'k': 'v'}: count 1, sizes 1 and 1, then "k\0v\0".
    assert_eq!(
        ser("{'k': 'v'}"),
        Some(b"\x01\0\0\0\x01\0\0\0\x01\0\0\0k\0v\0".to_vec())
    );
    // ['a']: the element as a key with an empty value.
    assert_eq!(
        ser("['a']"),
        Some(b"\x01\0\0\0\x01\0\0\0\0\0\0\0a\0\0".to_vec())
    );
}

#[test]
fn envoy_wasm_serializes_composites_as_struct_and_null_as_empty() {
    let enc = Encoding {
        struct_composites: true,
        null_empty: true,
    };
    let ser = |t: &str| serialize(&ev(t), enc);
    // Struct {fields {key: "k", value {string_value: "v"}}}
    assert_eq!(
        ser("{'k': 'v'}"),
        Ok(b"\x0a\x08\x0a\x01k\x12\x03\x1a\x01v".to_vec())
    );
    // ListValue {values {number_value: 1}, values {bool_value: true}, values {"aGk="}}
    let mut list = b"\x0a\x09\x11".to_vec();
    list.extend_from_slice(&1f64.to_le_bytes());
    list.extend_from_slice(b"\x0a\x02\x20\x01\x0a\x06\x1a\x04aGk=");
    assert_eq!(ser("[1, true, b'hi']"), Ok(list));
    assert_eq!(ser("null"), Ok(Vec::new()));
    assert_eq!(
        ser("{1: 'a'}"),
        Err(NotSerializable),
        "Struct keys are strings"
    );
    assert_eq!(
        ser("{'b': 1, 'a': 2}").unwrap()[4],
        b'a',
        "entries in key order"
    );
}

#[test]
fn comprehension_macros() {
    assert_eq!(ev("[1, 2, 3].all(x, x > 0)"), Value::Bool(true));
    assert_eq!(ev("[1, 2, 3].all(x, x > 1)"), Value::Bool(false));
    assert_eq!(ev("[1, 2, 3].exists(x, x == 2)"), Value::Bool(true));
    assert_eq!(ev("[].exists(x, x == 2)"), Value::Bool(false));
    assert_eq!(ev("[1, 2, 2].exists_one(x, x == 2)"), Value::Bool(false));
    assert_eq!(ev("[1, 2, 3].exists_one(x, x == 2)"), Value::Bool(true));
    assert_eq!(
        ev("[1, 2, 3].filter(x, x % 2 == 1)"),
        Value::List(vec![Value::Int(1), Value::Int(3)])
    );
    assert_eq!(
        ev("[1, 2, 3].map(x, x * 10)"),
        Value::List(vec![Value::Int(10), Value::Int(20), Value::Int(30)])
    );
    assert_eq!(ev("[1, 2, 3].map(x, x > 1, x * 10)"), ev("[20, 30]"));
    // A map iterates over its keys; attributes work inside.
    assert_eq!(
        ev("request.headers.exists(h, h == 'x-id')"),
        Value::Bool(true)
    );
    assert_eq!(
        ev("request.headers.all(k, size(request.headers[k]) > 0)"),
        Value::Bool(true)
    );
    // The variable shadows an attribute of the same name, only inside.
    assert_eq!(
        ev("[1].all(request, request == 1) && request.size == 12"),
        Value::Bool(true)
    );
    assert_eq!(
        ev("[[1, 2], [3]].all(l, l.all(x, x > 0))"),
        Value::Bool(true)
    );
    // Error absorption: a false (all) or a true (exists) decides whatever the other elements do.
    assert_eq!(ev("[0, 1].all(x, 1 / x > 5)"), Value::Bool(false));
    assert_eq!(ev("[0, 1].exists(x, 1 / x == 1)"), Value::Bool(true));
    assert!(is_err("[0, 1].all(x, 1 / x > 0)"));
    assert!(is_err("[0, 1].map(x, 1 / x)"));
    assert!(is_err("[1].filter(x, 1)"));
    assert!(is_err("1.all(x, true)"));
    // Nested comprehensions are bounded by the evaluation's step limit.
    let r = format!("[{}]", "1,".repeat(1000));
    let e = compile(&format!("{r}.all(a, {r}.all(b, {r}.all(c, true)))")).unwrap();
    assert!(matches!(
        evaluate(&e, &Act, 1 << 30, 100_000).0,
        Err(Exhausted::Steps(_))
    ));
}
