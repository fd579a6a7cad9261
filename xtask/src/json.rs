//! A reader for the flat JSON-lines records that the benchmarks write: one object per
//! line whose values are strings, numbers, booleans, null or arrays (arrays and nested
//! objects are kept as raw text). Enough for `target/nn-bench/*.jsonl`, and no
//! dependency.

use std::iter::Peekable;
use std::str::Chars;

/// A value of a record's field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, unescaped.
    Str(String),
    /// A number.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array or object, as its raw text.
    Raw(String),
}

/// One line's object: its fields in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record(pub Vec<(String, Value)>);

impl Record {
    /// The field `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string field `key`.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The numeric field `key`.
    pub fn num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Value::Num(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Parses one line holding one JSON object.
pub fn parse_line(line: &str) -> Result<Record, String> {
    let mut it = line.trim().chars().peekable();
    expect(&mut it, '{')?;
    let mut fields = Vec::new();
    skip_ws(&mut it);
    if it.peek() == Some(&'}') {
        it.next();
        return Ok(Record(fields));
    }
    loop {
        skip_ws(&mut it);
        expect(&mut it, '"')?;
        let key = string(&mut it)?;
        skip_ws(&mut it);
        expect(&mut it, ':')?;
        skip_ws(&mut it);
        let value = value(&mut it)?;
        fields.push((key, value));
        skip_ws(&mut it);
        match it.next() {
            Some(',') => continue,
            Some('}') => break,
            other => return Err(format!("expected ',' or '}}', found {other:?}")),
        }
    }
    skip_ws(&mut it);
    match it.next() {
        None => Ok(Record(fields)),
        Some(c) => Err(format!("unexpected {c:?} after the object")),
    }
}

fn skip_ws(it: &mut Peekable<Chars<'_>>) {
    while it.peek().is_some_and(|c| c.is_whitespace()) {
        it.next();
    }
}

fn expect(it: &mut Peekable<Chars<'_>>, want: char) -> Result<(), String> {
    match it.next() {
        Some(c) if c == want => Ok(()),
        other => Err(format!("expected {want:?}, found {other:?}")),
    }
}

/// The rest of a string whose opening quote has been read.
fn string(it: &mut Peekable<Chars<'_>>) -> Result<String, String> {
    let mut s = String::new();
    loop {
        match it.next() {
            None => return Err("unterminated string".into()),
            Some('"') => return Ok(s),
            Some('\\') => match it.next() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('u') => {
                    let hex: String = it.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("bad \\u escape {hex:?}"))?;
                    s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                Some(c) => s.push(c),
                None => return Err("unterminated escape".into()),
            },
            Some(c) => s.push(c),
        }
    }
}

fn value(it: &mut Peekable<Chars<'_>>) -> Result<Value, String> {
    match it.peek().copied() {
        Some('"') => {
            it.next();
            Ok(Value::Str(string(it)?))
        }
        Some('[' | '{') => Ok(Value::Raw(nested(it)?)),
        Some(_) => {
            let mut word = String::new();
            while let Some(&c) = it.peek() {
                if c == ',' || c == '}' || c.is_whitespace() {
                    break;
                }
                word.push(c);
                it.next();
            }
            match word.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                // Python writes non-finite floats as NaN / Infinity.
                "NaN" => Ok(Value::Num(f64::NAN)),
                "Infinity" => Ok(Value::Num(f64::INFINITY)),
                "-Infinity" => Ok(Value::Num(f64::NEG_INFINITY)),
                _ => word
                    .parse()
                    .map(Value::Num)
                    .map_err(|_| format!("bad value {word:?}")),
            }
        }
        None => Err("missing value".into()),
    }
}

/// An array or object as raw text, brackets balanced outside strings.
fn nested(it: &mut Peekable<Chars<'_>>) -> Result<String, String> {
    let mut raw = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in it.by_ref() {
        raw.push(c);
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(raw);
                }
            }
            _ => {}
        }
    }
    Err("unterminated array or object".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bench_records() -> Result<(), String> {
        let r = parse_line(
            r#"{"kind":"workload","id":"W1","sizes":[2,16,16,1],"lr":0.01,"x":{"a":[1,"]"]},"ok":true,"n":null,"s":"a\"b\u00e9"}"#,
        )?;
        assert_eq!(r.str("kind"), Some("workload"));
        assert_eq!(r.get("sizes"), Some(&Value::Raw("[2,16,16,1]".into())));
        assert_eq!(r.num("lr"), Some(0.01));
        assert_eq!(r.get("x"), Some(&Value::Raw(r#"{"a":[1,"]"]}"#.into())));
        assert_eq!(r.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(r.get("n"), Some(&Value::Null));
        assert_eq!(r.str("s"), Some("a\"bé"));
        Ok(())
    }

    #[test]
    fn reads_python_spacing_and_exponents() -> Result<(), String> {
        let r = parse_line(r#"{ "a" : 1.5e-3 , "b": -2 }"#)?;
        assert_eq!(r.num("a"), Some(1.5e-3));
        assert_eq!(r.num("b"), Some(-2.0));
        Ok(())
    }

    #[test]
    fn rejects_broken_lines() {
        for bad in [
            r#"{"a":1"#,
            r#"{"a":}"#,
            r#"{"a":"x}"#,
            r#"["a"]"#,
            r#"{"a":1} x"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad} parsed");
        }
    }
}
