//! Lexing one line: a cursor over its characters that reads the small tokens every field
//! is made of (numbers, keywords, wildcards, hex bytes), and finds where a comment starts.
//!
//! Characters enter as one line, comment already cut ([`comment_start`]); tokens leave as
//! values, and every failure as a [`ParseError`] at the character where it happened.
//! Positions are counted in characters, not bytes, so that columns match what an editor
//! shows for non-ASCII text.

use super::error::ParseError;
use super::spec::{Hex, Val};

/// Where a comment starts (`//` or `#` outside a string), or the line's length.
pub(super) fn comment_start(chars: &[char]) -> usize {
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            return i;
        }
        i += 1;
    }
    chars.len()
}

/// Whether a wildcard is allowed at a spot, and if not, why.
#[derive(Clone, Copy)]
pub(super) enum Wild {
    Yes,
    No(&'static str),
}

/// Why the peer's lines take no wildcards.
pub(super) const IN_EXACT: &str = "the peer's segment (a `<` line) needs a number";

/// A one-character wildcard (`*` or `…`).
pub(super) fn is_wild(c: char) -> bool {
    c == '*' || c == '…'
}

/// Cursor over one line's characters.
pub(super) struct Cursor<'a> {
    pub chars: &'a [char],
    pub pos: usize,
    pub line: usize,
}

impl Cursor<'_> {
    pub fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line,
            col: pos + 1,
            msg: msg.into(),
        })
    }

    pub fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// The character after the next one.
    pub fn peek2(&self) -> Option<char> {
        self.chars.get(self.pos + 1).copied()
    }

    pub fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// What is at the cursor, for messages.
    pub fn found(&self) -> String {
        match self.peek() {
            None => "the end of the line".into(),
            Some(_) => {
                let s: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| !c.is_whitespace())
                    .take(12)
                    .collect();
                format!("`{s}`")
            }
        }
    }

    /// A wildcard token (`*`, `...`, `…`), consumed if present.
    pub fn eat_wild(&mut self) -> bool {
        match self.peek() {
            Some(c) if is_wild(c) => {
                self.pos += 1;
                true
            }
            Some('.')
                if self.chars.get(self.pos + 1) == Some(&'.')
                    && self.chars.get(self.pos + 2) == Some(&'.') =>
            {
                self.pos += 3;
                true
            }
            _ => false,
        }
    }

    /// A keyword: a letter, then letters, digits, `-` or `_`.
    pub fn word(&mut self) -> String {
        let start = self.pos;
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.pos += 1;
            }
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Whether the keyword `w` stands at the cursor as a whole word.
    pub fn word_ahead(&self, w: &str) -> bool {
        let n = w.chars().count();
        self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(w.chars())
            && !self
                .chars
                .get(self.pos + n)
                .is_some_and(|c| c.is_alphanumeric())
    }

    /// A decimal number no larger than `max`.
    pub fn number(&mut self, what: &str, max: u64) -> Result<u64, ParseError> {
        let start = self.pos;
        let mut v: u64 = 0;
        let mut too_big = false;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            v = match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(d))) {
                Some(n) if n <= max => n,
                _ => {
                    too_big = true;
                    max
                }
            };
            self.pos += 1;
        }
        if self.pos == start {
            return self.err(start, format!("expected {what}, found {}", self.found()));
        }
        if too_big {
            return self.err(start, format!("{what} is too large (at most {max})"));
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return self.err(
                self.pos,
                format!("unexpected {} after a number", self.found()),
            );
        }
        Ok(v)
    }

    /// A number or (if `wild` allows it) a wildcard.
    pub fn val(&mut self, what: &str, max: u64, wild: Wild) -> Result<Val<u64>, ParseError> {
        let start = self.pos;
        if self.eat_wild() {
            return match wild {
                Wild::Yes => Ok(Val::Any),
                Wild::No(why) => self.err(start, format!("a wildcard is not allowed here: {why}")),
            };
        }
        self.number(what, max).map(Val::Is)
    }

    pub fn val32(&mut self, what: &str, wild: Wild) -> Result<Val<u32>, ParseError> {
        Ok(match self.val(what, u64::from(u32::MAX), wild)? {
            Val::Is(v) => Val::Is(v as u32),
            Val::Any => Val::Any,
        })
    }

    pub fn val16(&mut self, what: &str, wild: Wild) -> Result<Val<u16>, ParseError> {
        Ok(match self.val(what, u64::from(u16::MAX), wild)? {
            Val::Is(v) => Val::Is(v as u16),
            Val::Any => Val::Any,
        })
    }

    pub fn val8(&mut self, what: &str, wild: Wild) -> Result<Val<u8>, ParseError> {
        Ok(match self.val(what, u64::from(u8::MAX), wild)? {
            Val::Is(v) => Val::Is(v as u8),
            Val::Any => Val::Any,
        })
    }

    /// Bytes written as hex digits (`deadbeef`, two digits a byte), `min..=max` of them.
    pub fn hex(&mut self, what: &str, min: usize, max: usize) -> Result<Hex, ParseError> {
        let start = self.pos;
        let mut digits = Vec::new();
        while let Some(d) = self.peek().and_then(|c| c.to_digit(16)) {
            digits.push(d as u8);
            self.pos += 1;
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return self.err(
                self.pos,
                format!("unexpected {} in {what} (hex digits 0-9 a-f)", self.found()),
            );
        }
        if digits.is_empty() {
            return self.err(
                start,
                format!("expected {what} in hex, found {}", self.found()),
            );
        }
        if !digits.len().is_multiple_of(2) {
            return self.err(
                start,
                format!("{what} has an odd number of hex digits (two per byte)"),
            );
        }
        let bytes: Vec<u8> = digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
        if bytes.len() < min || bytes.len() > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return self.err(
                start,
                format!("{what} is {} bytes; it takes {want}", bytes.len()),
            );
        }
        match Hex::new(&bytes) {
            Some(h) => Ok(h),
            None => self.err(start, format!("{what} is longer than {} bytes", Hex::MAX)),
        }
    }
}
