//! Payload strings: `"GET / HTTP/1.1\r\n\r\n"` in a script, bytes in a segment.
//!
//! A string enters at its opening quote and leaves as bytes ([`parse_string`]); bytes
//! leave again as a string a script can hold ([`escape`]), so the report shows payloads
//! in the syntax they are written in. Escapes: `\r \n \t \0 \\ \" \xHH`; any other
//! character stands for its UTF-8 bytes.

use super::cursor::Cursor;
use super::error::ParseError;

/// Escapes bytes for a script string: printable ASCII as is, the rest as escapes.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// A string literal, the cursor on its opening `"`.
pub(super) fn parse_string(c: &mut Cursor) -> Result<Vec<u8>, ParseError> {
    let open = c.pos;
    c.pos += 1; // '"'
    let mut out = Vec::new();
    loop {
        let Some(ch) = c.peek() else {
            return c.err(open, "the string is not closed with `\"`");
        };
        c.pos += 1;
        match ch {
            '"' => return Ok(out),
            '\\' => out.push(escaped(c, open)?),
            other => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// The byte an escape stands for, the cursor just after its backslash.
fn escaped(c: &mut Cursor, open: usize) -> Result<u8, ParseError> {
    let esc = c.pos - 1;
    let Some(e) = c.peek() else {
        return c.err(open, "the string is not closed with `\"`");
    };
    c.pos += 1;
    Ok(match e {
        'r' => b'\r',
        'n' => b'\n',
        't' => b'\t',
        '0' => 0,
        '\\' => b'\\',
        '"' => b'"',
        'x' => {
            let digit = |i: usize| c.chars.get(i).and_then(|d| d.to_digit(16));
            match (digit(c.pos), digit(c.pos + 1)) {
                (Some(h), Some(l)) => {
                    c.pos += 2;
                    (h * 16 + l) as u8
                }
                _ => return c.err(esc, "`\\x` needs two hex digits, e.g. \\x0d"),
            }
        }
        other => {
            return c.err(
                esc,
                format!("unknown escape `\\{other}` (use \\r \\n \\t \\0 \\\\ \\\" \\xHH)"),
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Result<Vec<u8>, ParseError> {
        let chars: Vec<char> = text.chars().collect();
        let mut c = Cursor {
            chars: &chars,
            pos: 0,
            line: 1,
        };
        parse_string(&mut c)
    }

    #[test]
    fn escapes_round_trip() {
        assert_eq!(string(r#""\x00\t\\\"""#).unwrap(), b"\0\t\\\"");
        assert_eq!(string(r#""é""#).unwrap(), "é".as_bytes());
        let all: Vec<u8> = (0..=255).collect();
        let written = format!("\"{}\"", escape(&all));
        assert_eq!(string(&written).unwrap(), all);
    }

    #[test]
    fn errors_point_at_the_escape_or_the_quote() {
        assert_eq!(string(r#""ab\q""#).unwrap_err().col, 4);
        assert_eq!(string(r#""\x4""#).unwrap_err().col, 2);
        assert_eq!(string(r#""abc"#).unwrap_err().col, 1);
        assert_eq!(string(r#""abc\"#).unwrap_err().col, 1);
    }
}
