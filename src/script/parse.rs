//! The script language: text in, a list of [`Event`]s out, or a [`ParseError`] that names
//! the line and column.
//!
//! A script is a subset of packetdrill's syntax for TCP segments. One event per line:
//!
//! ```text
//! TIME DIR FLAGS SEQ [ack N] [win N] [<OPTIONS>] [port N] [peer-port N] ["PAYLOAD"]
//! ```
//!
//! - TIME: `+0.1` (seconds after the previous line actually happened), `0.5` (seconds
//!   after the start of the script), or `*` (any time; `>` lines only). At most 6
//!   decimals (microseconds); a relative time is at most 3600 s, an absolute one at most
//!   86400 s.
//! - DIR: `<` the peer sends this segment to our stack; `>` our stack must send this one.
//! - FLAGS: letters `F` `S` `R` `P` `U` `E` `W` and `.` (ACK) in any order, each once —
//!   `S`, `S.`, `.`, `P.`, `F.`, `FP.`, `R`, `R.` — or `none`; `*` in `>` lines.
//! - SEQ: `START:END(LEN)`, relative to the sender's ISN (see the runner), END − START =
//!   LEN; SYN and FIN are not counted in LEN (at most 9000 in `<` lines). In `>` lines any
//!   of the three, or the whole range, may be `*` (don't care).
//! - After SEQ, in any order, each at most once:
//!   - `ack N` (requires the `.` flag, and `.` requires it in `<` lines). `ack *`: in `>`
//!     lines don't care; in `<` lines acknowledge everything our stack has sent.
//!   - `win N`: the raw 16-bit window field. `<` lines default to 65535.
//!   - `<OPTIONS>`: comma-separated, in wire order: `mss N`, `wscale N`, `sackOK`, `nop`,
//!     `eol`, `TS val N ecr N`, `sack A:B [C:D ...]`, and in `>` lines a final `...`
//!     (any further options). In `>` lines a value may be `*`; in `<` lines only
//!     `ecr *` (echo the last TS val our stack sent). Keywords are case-insensitive.
//!   - `port N` / `peer-port N`: our port (default 80) and the peer's (default 40000).
//!   - `"PAYLOAD"`: in `<` lines the exact payload (its length must equal LEN; without a
//!     string the payload is LEN zero bytes, as in packetdrill); in `>` lines a prefix
//!     the payload must start with. Escapes: `\r \n \t \0 \\ \" \xHH`.
//! - `*`, `...` and `…` are the same wildcard wherever a wildcard is allowed.
//! - A `>` line checks FLAGS, SEQ and ports always, the rest only where given.
//! - Comments: `//` or `#` to the end of the line (outside strings); blank lines.
//!   A comment `// flags: ...` before the first event records the knob flags the script
//!   needs ([`Script::flags`]); the parser does not act on it.
//!
//! Parsing never panics: every malformed input becomes a [`ParseError`].

use std::fmt;

/// A relative time may advance at most this much (µs) in one line.
pub const MAX_RELATIVE_US: i64 = 3_600_000_000;
/// An absolute time may be at most this far (µs) from the start of the script.
pub const MAX_ABSOLUTE_US: i64 = 86_400_000_000;
/// The most TCP option bytes a header can carry.
pub const MAX_OPTION_BYTES: usize = 40;
/// The longest payload a `<` line may give (larger ones cannot fit any frame).
pub const MAX_PAYLOAD: u32 = 9000;

/// A value, or "don't care".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val<T> {
    Is(T),
    Any,
}

impl<T: PartialEq + Copy> Val<T> {
    /// Whether `actual` is what this value allows.
    pub fn allows(&self, actual: T) -> bool {
        match self {
            Val::Is(v) => *v == actual,
            Val::Any => true,
        }
    }

    pub fn value(&self) -> Option<T> {
        match self {
            Val::Is(v) => Some(*v),
            Val::Any => None,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Val<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Is(v) => write!(f, "{v}"),
            Val::Any => f.write_str("*"),
        }
    }
}

/// Who sends the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `<`: the scripted peer sends it to our stack.
    In,
    /// `>`: our stack must send it.
    Out,
}

/// When an event happens, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// After the previous event.
    Relative(i64),
    /// After the start of the script.
    Absolute(i64),
    /// Whenever (only for `>` lines).
    Any,
}

/// TCP flags as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// Letters in tcpdump's order; `.` (ACK) is printed last.
    const LETTERS: [(char, u8); 7] = [
        ('F', Self::FIN),
        ('S', Self::SYN),
        ('R', Self::RST),
        ('P', Self::PSH),
        ('U', Self::URG),
        ('E', Self::ECE),
        ('W', Self::CWR),
    ];

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    fn bit_for(c: char) -> Option<u8> {
        if c == '.' {
            return Some(Self::ACK);
        }
        Self::LETTERS.iter().find(|(l, _)| *l == c).map(|(_, b)| *b)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (c, bit) in Self::LETTERS {
            if self.has(bit) {
                write!(f, "{c}")?;
            }
        }
        if self.has(Self::ACK) {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// `START:END(LEN)`, each possibly `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqSpec {
    pub start: Val<u32>,
    pub end: Val<u32>,
    pub len: Val<u32>,
}

impl SeqSpec {
    pub const ANY: SeqSpec = SeqSpec {
        start: Val::Any,
        end: Val::Any,
        len: Val::Any,
    };
}

impl fmt::Display for SeqSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == SeqSpec::ANY {
            return f.write_str("*");
        }
        write!(f, "{}:{}({})", self.start, self.end, self.len)
    }
}

/// One TCP option, as written in a script or seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOpt {
    Nop,
    Eol,
    Mss(Val<u16>),
    Wscale(Val<u8>),
    SackOk,
    Ts {
        val: Val<u32>,
        ecr: Val<u32>,
    },
    Sack(Vec<(Val<u32>, Val<u32>)>),
    /// An option the script language has no word for (only ever seen on the wire).
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
}

impl fmt::Display for TcpOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOpt::Nop => f.write_str("nop"),
            TcpOpt::Eol => f.write_str("eol"),
            TcpOpt::Mss(v) => write!(f, "mss {v}"),
            TcpOpt::Wscale(v) => write!(f, "wscale {v}"),
            TcpOpt::SackOk => f.write_str("sackOK"),
            TcpOpt::Ts { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOpt::Sack(blocks) => {
                f.write_str("sack")?;
                for (a, b) in blocks {
                    write!(f, " {a}:{b}")?;
                }
                Ok(())
            }
            TcpOpt::Unknown { kind, data } => {
                write!(f, "unknown-kind-{kind}({} bytes)", data.len())
            }
        }
    }
}

/// An options list `<...>`; `more`: it ended with `...` (any further options).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptList {
    pub items: Vec<TcpOpt>,
    pub more: bool,
}

impl fmt::Display for OptList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<")?;
        for (i, o) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{o}")?;
        }
        if self.more {
            if !self.items.is_empty() {
                f.write_str(",")?;
            }
            f.write_str("...")?;
        }
        f.write_str(">")
    }
}

/// A segment as a script line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// `*` only in `>` lines.
    pub flags: Val<Flags>,
    pub seq: SeqSpec,
    pub ack: Option<Val<u32>>,
    pub win: Option<Val<u16>>,
    pub options: Option<OptList>,
    /// `<`: the whole payload; `>`: a prefix of it.
    pub payload: Option<Vec<u8>>,
    pub port: Option<u16>,
    pub peer_port: Option<u16>,
}

impl fmt::Display for SegmentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.flags, self.seq)?;
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(o) = &self.options {
            write!(f, " {o}")?;
        }
        if let Some(p) = self.port {
            write!(f, " port {p}")?;
        }
        if let Some(p) = self.peer_port {
            write!(f, " peer-port {p}")?;
        }
        if let Some(p) = &self.payload {
            write!(f, " \"{}\"", escape(p))?;
        }
        Ok(())
    }
}

/// One line of a script that does something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line as written, without its comment.
    pub text: String,
    pub when: When,
    pub dir: Dir,
    pub seg: SegmentSpec,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub events: Vec<Event>,
    /// The text after `// flags:` in a comment before the first event, if any.
    pub flags: Option<String>,
}

/// What is wrong, and where (1-based line and column, counted in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.msg)
    }
}

impl std::error::Error for ParseError {}

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

/// Formats microseconds as seconds: `0.010`, or `0.000123` when not a whole millisecond.
pub fn format_secs(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let us = us.unsigned_abs();
    if us.is_multiple_of(1000) {
        format!("{sign}{}.{:03}", us / 1_000_000, (us % 1_000_000) / 1000)
    } else {
        format!("{sign}{}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    let mut script = Script::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let chars: Vec<char> = raw.chars().collect();
        let cut = comment_start(&chars);
        let body: String = chars[..cut].iter().collect();
        if body.trim().is_empty() {
            if script.events.is_empty() && script.flags.is_none() {
                let comment: String = chars[cut..].iter().collect();
                let comment = comment.trim_start_matches(['/', '#']).trim();
                if let Some(rest) = comment.strip_prefix("flags:") {
                    script.flags = Some(rest.trim().to_string());
                }
            }
            continue;
        }
        let event = parse_line(&chars[..cut], line)?;
        script.events.push(event);
    }
    Ok(script)
}

/// Where a comment starts (`//` or `#` outside a string), or the line's length.
fn comment_start(chars: &[char]) -> usize {
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

/// Cursor over one line's characters.
struct Cursor<'a> {
    chars: &'a [char],
    pos: usize,
    line: usize,
}

fn is_wild(c: char) -> bool {
    c == '*' || c == '…'
}

impl Cursor<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line,
            col: pos + 1,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// What is at the cursor, for messages.
    fn found(&self) -> String {
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
    fn eat_wild(&mut self) -> bool {
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
    fn word(&mut self) -> String {
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

    /// A decimal number no larger than `max`.
    fn number(&mut self, what: &str, max: u64) -> Result<u64, ParseError> {
        let start = self.pos;
        let mut v: u64 = 0;
        let mut too_big = false;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            v = match v.checked_mul(10).and_then(|v| v.checked_add(d as u64)) {
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
    fn val(&mut self, what: &str, max: u64, wild: Wild) -> Result<Val<u64>, ParseError> {
        let start = self.pos;
        if self.eat_wild() {
            return match wild {
                Wild::Yes => Ok(Val::Any),
                Wild::No(why) => self.err(start, format!("a wildcard is not allowed here: {why}")),
            };
        }
        self.number(what, max).map(Val::Is)
    }

    fn val32(&mut self, what: &str, wild: Wild) -> Result<Val<u32>, ParseError> {
        Ok(match self.val(what, u32::MAX as u64, wild)? {
            Val::Is(v) => Val::Is(v as u32),
            Val::Any => Val::Any,
        })
    }

    fn val16(&mut self, what: &str, wild: Wild) -> Result<Val<u16>, ParseError> {
        Ok(match self.val(what, u16::MAX as u64, wild)? {
            Val::Is(v) => Val::Is(v as u16),
            Val::Any => Val::Any,
        })
    }

    fn val8(&mut self, what: &str, wild: Wild) -> Result<Val<u8>, ParseError> {
        Ok(match self.val(what, u8::MAX as u64, wild)? {
            Val::Is(v) => Val::Is(v as u8),
            Val::Any => Val::Any,
        })
    }

    /// Seconds with up to 6 decimals, as microseconds.
    fn seconds(&mut self, max_us: i64) -> Result<i64, ParseError> {
        let start = self.pos;
        let whole = self.number_in_time(start)?;
        let mut frac: i64 = 0;
        if self.eat('.') {
            let fstart = self.pos;
            let mut digits = 0;
            while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                digits += 1;
                if digits > 6 {
                    return self.err(
                        fstart,
                        "times have at most 6 decimals (microseconds)".to_string(),
                    );
                }
                frac = frac * 10 + d as i64;
                self.pos += 1;
            }
            if digits == 0 {
                return self.err(fstart, "expected digits after the decimal point");
            }
            for _ in digits..6 {
                frac *= 10;
            }
        }
        let us = whole.saturating_mul(1_000_000).saturating_add(frac);
        if us > max_us {
            return self.err(
                start,
                format!("time too large (at most {} s)", max_us / 1_000_000),
            );
        }
        if self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && c != '<' && c != '>')
        {
            return self.err(self.pos, format!("unexpected {} in the time", self.found()));
        }
        Ok(us)
    }

    fn number_in_time(&mut self, start: usize) -> Result<i64, ParseError> {
        let mut v: i64 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            v = v.saturating_mul(10).saturating_add(d as i64);
            self.pos += 1;
        }
        if self.pos == start {
            return self.err(
                start,
                format!(
                    "expected a time (+0.1 after the previous line, 0.5 after the start, or *), found {}",
                    self.found()
                ),
            );
        }
        Ok(v)
    }
}

/// Whether a wildcard is allowed at a spot, and if not, why.
#[derive(Clone, Copy)]
enum Wild {
    Yes,
    No(&'static str),
}

const IN_EXACT: &str = "the peer's segment (a `<` line) needs a number";

fn parse_line(chars: &[char], line: usize) -> Result<Event, ParseError> {
    let text: String = chars.iter().collect::<String>().trim().to_string();
    let mut c = Cursor {
        chars,
        pos: 0,
        line,
    };
    c.ws();
    let time_pos = c.pos;
    let when = if c.eat('*') {
        When::Any
    } else if c.eat('+') {
        When::Relative(c.seconds(MAX_RELATIVE_US)?)
    } else if c.peek() == Some('-') {
        return c.err(
            c.pos,
            "time cannot go backwards: use +N or an absolute time",
        );
    } else {
        When::Absolute(c.seconds(MAX_ABSOLUTE_US)?)
    };
    c.ws();
    let dir_pos = c.pos;
    let dir = if c.eat('<') {
        Dir::In
    } else if c.eat('>') {
        Dir::Out
    } else {
        return c.err(
            dir_pos,
            format!(
                "expected `<` (the peer sends) or `>` (our stack sends), found {}",
                c.found()
            ),
        );
    };
    if dir == Dir::In && when == When::Any {
        return c.err(
            time_pos,
            "`*` (any time) is only for `>` lines: the peer's segments need a time",
        );
    }
    let wild = match dir {
        Dir::Out => Wild::Yes,
        Dir::In => Wild::No(IN_EXACT),
    };
    c.ws();

    // Flags.
    let flags_pos = c.pos;
    let mut flags = Flags::default();
    let mut any_flags = false;
    if c.eat_wild() {
        if let Wild::No(why) = wild {
            return c.err(flags_pos, format!("a wildcard is not allowed here: {why}"));
        }
        any_flags = true;
    } else if c.word_ahead("none") {
        c.pos += 4;
    } else {
        while let Some(bit) = c.peek().and_then(Flags::bit_for) {
            let ch = c.peek().unwrap_or('?');
            if flags.has(bit) {
                return c.err(c.pos, format!("flag `{ch}` given twice"));
            }
            flags.0 |= bit;
            c.pos += 1;
        }
        if c.pos == flags_pos {
            return c.err(
                flags_pos,
                format!(
                    "expected TCP flags (S, S., ., P., F., R, R., or none), found {}",
                    c.found()
                ),
            );
        }
    }
    if c.peek().is_some_and(|ch| !ch.is_whitespace()) {
        return c.err(
            c.pos,
            format!(
                "unexpected {} in the flags (letters F S R P U E W and `.`)",
                c.found()
            ),
        );
    }
    c.ws();

    // Sequence range.
    let seq_pos = c.pos;
    let seq = if c.eat_wild() {
        match wild {
            Wild::Yes => SeqSpec::ANY,
            Wild::No(why) => {
                return c.err(seq_pos, format!("a wildcard is not allowed here: {why}"));
            }
        }
    } else {
        if !c
            .peek()
            .is_some_and(|ch| ch.is_ascii_digit() || is_wild(ch) || ch == '.')
        {
            return c.err(
                seq_pos,
                format!(
                    "expected the sequence range START:END(LEN), e.g. 1:1(0), found {}",
                    c.found()
                ),
            );
        }
        let start = c.val32("the start of the sequence range", wild)?;
        if !c.eat(':') {
            return c.err(
                c.pos,
                format!("expected `:` in START:END(LEN), found {}", c.found()),
            );
        }
        let end = c.val32("the end of the sequence range", wild)?;
        if !c.eat('(') {
            return c.err(
                c.pos,
                format!("expected `(` in START:END(LEN), found {}", c.found()),
            );
        }
        let len = c.val32("the length in START:END(LEN)", wild)?;
        if !c.eat(')') {
            return c.err(
                c.pos,
                format!("expected `)` in START:END(LEN), found {}", c.found()),
            );
        }
        SeqSpec { start, end, len }
    };
    if let (Val::Is(s), Val::Is(e), Val::Is(l)) = (seq.start, seq.end, seq.len)
        && e.wrapping_sub(s) != l
    {
        return c.err(
            seq_pos,
            format!(
                "{s}:{e}({l}) does not add up: END - START is {} but LEN is {l}",
                e.wrapping_sub(s)
            ),
        );
    }

    let mut seg = SegmentSpec {
        flags: if any_flags { Val::Any } else { Val::Is(flags) },
        seq,
        ack: None,
        win: None,
        options: None,
        payload: None,
        port: None,
        peer_port: None,
    };
    let mut ack_pos = 0;
    let mut payload_pos = 0;
    let mut options_pos = 0;
    loop {
        let before = c.pos;
        c.ws();
        let Some(ch) = c.peek() else { break };
        if c.pos == before {
            return c.err(c.pos, format!("expected a space before {}", c.found()));
        }
        let item_pos = c.pos;
        if ch == '<' {
            if seg.options.is_some() {
                return c.err(item_pos, "options `<...>` given twice");
            }
            options_pos = item_pos;
            seg.options = Some(parse_options(&mut c, dir)?);
        } else if ch == '"' {
            if seg.payload.is_some() {
                return c.err(item_pos, "payload string given twice");
            }
            payload_pos = item_pos;
            seg.payload = Some(parse_string(&mut c)?);
        } else if ch.is_ascii_alphabetic() {
            let w = c.word();
            c.ws();
            let dup = |c: &Cursor, given: bool| {
                if given {
                    c.err(item_pos, format!("`{w}` given twice"))
                } else {
                    Ok(())
                }
            };
            match w.as_str() {
                "ack" => {
                    dup(&c, seg.ack.is_some())?;
                    ack_pos = item_pos;
                    // `ack *` in a `<` line: acknowledge all our stack has sent.
                    seg.ack = Some(c.val32("the acknowledgement number", Wild::Yes)?);
                }
                "win" => {
                    dup(&c, seg.win.is_some())?;
                    seg.win = Some(c.val16("the window (0..65535)", wild)?);
                }
                "port" => {
                    dup(&c, seg.port.is_some())?;
                    seg.port = Some(port(&mut c, "our port")?);
                }
                "peer-port" => {
                    dup(&c, seg.peer_port.is_some())?;
                    seg.peer_port = Some(port(&mut c, "the peer's port")?);
                }
                _ => {
                    return c.err(
                        item_pos,
                        format!(
                            "unknown `{w}`: expected ack N, win N, <options>, \"payload\", port N or peer-port N"
                        ),
                    );
                }
            }
        } else {
            return c.err(
                item_pos,
                format!(
                    "unexpected {}: expected ack N, win N, <options>, \"payload\", port N or peer-port N",
                    c.found()
                ),
            );
        }
    }

    // Checks that need the whole line.
    if seg.ack.is_some() && !any_flags && !flags.has(Flags::ACK) {
        return c.err(
            ack_pos,
            "`ack N` needs the `.` (ACK) flag, e.g. `S.` or `P.`",
        );
    }
    if dir == Dir::In {
        if flags.has(Flags::ACK) && seg.ack.is_none() {
            return c.err(
                flags_pos,
                "the `.` (ACK) flag needs `ack N` (or `ack *` for all our stack has sent)",
            );
        }
        let len = seq.len.value().unwrap_or(0);
        if len > MAX_PAYLOAD {
            return c.err(
                seq_pos,
                format!("a payload of {len} bytes cannot fit in one frame (at most {MAX_PAYLOAD})"),
            );
        }
        if let Some(p) = &seg.payload
            && p.len() as u64 != len as u64
        {
            let s = seq.start.value().unwrap_or(0);
            return c.err(
                payload_pos,
                format!(
                    "the payload string is {} bytes but the segment says {}:{}({len}): write {s}:{}({})",
                    p.len(),
                    s,
                    s.wrapping_add(len),
                    s.wrapping_add(p.len() as u32),
                    p.len()
                ),
            );
        }
        if let Some(o) = &seg.options {
            let n = option_bytes(&o.items);
            if n > MAX_OPTION_BYTES {
                return c.err(
                    options_pos,
                    format!(
                        "these options take {n} bytes; a TCP header has room for {MAX_OPTION_BYTES}"
                    ),
                );
            }
        }
    } else if let (Some(p), Val::Is(len)) = (&seg.payload, seq.len)
        && p.len() as u64 > len as u64
    {
        return c.err(
            payload_pos,
            format!(
                "the payload string is {} bytes, longer than the segment's {len}",
                p.len()
            ),
        );
    }
    Ok(Event {
        line,
        text,
        when,
        dir,
        seg,
    })
}

impl Cursor<'_> {
    /// Whether the keyword `w` stands at the cursor as a whole word.
    fn word_ahead(&self, w: &str) -> bool {
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
}

fn port(c: &mut Cursor, what: &str) -> Result<u16, ParseError> {
    let pos = c.pos;
    let p = c.number(what, u16::MAX as u64)?;
    if p == 0 {
        return c.err(pos, format!("{what} cannot be 0"));
    }
    Ok(p as u16)
}

/// The encoded size of an options list (before padding).
pub fn option_bytes(items: &[TcpOpt]) -> usize {
    items
        .iter()
        .map(|o| match o {
            TcpOpt::Nop | TcpOpt::Eol => 1,
            TcpOpt::Mss(_) => 4,
            TcpOpt::Wscale(_) => 3,
            TcpOpt::SackOk => 2,
            TcpOpt::Ts { .. } => 10,
            TcpOpt::Sack(b) => 2 + 8 * b.len(),
            TcpOpt::Unknown { data, .. } => 2 + data.len(),
        })
        .sum()
}

fn parse_options(c: &mut Cursor, dir: Dir) -> Result<OptList, ParseError> {
    let open = c.pos;
    c.pos += 1; // '<'
    let mut list = OptList::default();
    let wild = match dir {
        Dir::Out => Wild::Yes,
        Dir::In => Wild::No(IN_EXACT),
    };
    c.ws();
    if c.eat('>') {
        return Ok(list);
    }
    loop {
        c.ws();
        let pos = c.pos;
        if c.peek().is_none() {
            return c.err(open, "the options list is not closed with `>`");
        }
        if c.eat_wild() {
            if dir == Dir::In {
                return c.err(pos, "`...` (any further options) is only for `>` lines");
            }
            list.more = true;
            c.ws();
            if !c.eat('>') {
                return c.err(c.pos, "`...` must be the last entry of the options list");
            }
            return Ok(list);
        }
        let w = c.word();
        let opt = match w.to_ascii_lowercase().as_str() {
            "nop" => TcpOpt::Nop,
            "eol" => TcpOpt::Eol,
            "sackok" => TcpOpt::SackOk,
            "mss" => {
                c.ws();
                TcpOpt::Mss(c.val16("the MSS (0..65535)", wild)?)
            }
            "wscale" => {
                c.ws();
                TcpOpt::Wscale(c.val8("the window scale shift (0..255)", wild)?)
            }
            "ts" => {
                c.ws();
                let kw = c.pos;
                if !c.word().eq_ignore_ascii_case("val") {
                    return c.err(kw, "expected `val` in `TS val N ecr N`");
                }
                c.ws();
                let val = c.val32("the TS value", wild)?;
                c.ws();
                let kw = c.pos;
                if !c.word().eq_ignore_ascii_case("ecr") {
                    return c.err(kw, "expected `ecr` in `TS val N ecr N`");
                }
                c.ws();
                // `ecr *` in a `<` line: echo our stack's latest TS value.
                let ecr = c.val32("the TS echo reply", Wild::Yes)?;
                TcpOpt::Ts { val, ecr }
            }
            "sack" => {
                let mut blocks = Vec::new();
                loop {
                    c.ws();
                    if matches!(c.peek(), Some(',') | Some('>') | None) {
                        break;
                    }
                    let a = c.val32("a SACK block's left edge", wild)?;
                    if !c.eat(':') {
                        return c.err(c.pos, "expected `:` in a SACK block A:B");
                    }
                    let b = c.val32("a SACK block's right edge", wild)?;
                    blocks.push((a, b));
                }
                if blocks.is_empty() || blocks.len() > 4 {
                    return c.err(pos, "`sack` takes 1 to 4 blocks A:B");
                }
                TcpOpt::Sack(blocks)
            }
            _ => {
                return c.err(
                    pos,
                    format!(
                        "unknown option {}: expected mss N, wscale N, sackOK, nop, eol, TS val N ecr N, sack A:B{}",
                        if w.is_empty() { c.found() } else { format!("`{w}`") },
                        if dir == Dir::Out { ", or ... at the end" } else { "" }
                    ),
                );
            }
        };
        list.items.push(opt);
        c.ws();
        if c.eat('>') {
            return Ok(list);
        }
        if !c.eat(',') {
            if c.peek().is_none() {
                return c.err(open, "the options list is not closed with `>`");
            }
            return c.err(
                c.pos,
                format!(
                    "expected `,` or `>` in the options list, found {}",
                    c.found()
                ),
            );
        }
    }
}

fn parse_string(c: &mut Cursor) -> Result<Vec<u8>, ParseError> {
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
            '\\' => {
                let esc = c.pos - 1;
                let Some(e) = c.peek() else {
                    return c.err(open, "the string is not closed with `\"`");
                };
                c.pos += 1;
                match e {
                    'r' => out.push(b'\r'),
                    'n' => out.push(b'\n'),
                    't' => out.push(b'\t'),
                    '0' => out.push(0),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    'x' => {
                        let hex: Option<u8> = (|| {
                            let h = c.chars.get(c.pos)?.to_digit(16)?;
                            let l = c.chars.get(c.pos + 1)?.to_digit(16)?;
                            Some((h * 16 + l) as u8)
                        })();
                        match hex {
                            Some(b) => {
                                out.push(b);
                                c.pos += 2;
                            }
                            None => return c.err(esc, "`\\x` needs two hex digits, e.g. \\x0d"),
                        }
                    }
                    other => {
                        return c.err(
                            esc,
                            format!(
                                "unknown escape `\\{other}` (use \\r \\n \\t \\0 \\\\ \\\" \\xHH)"
                            ),
                        );
                    }
                }
            }
            other => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Event {
        let s = parse_script(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(s.events.len(), 1);
        s.events.into_iter().next().unwrap()
    }

    fn err(text: &str) -> ParseError {
        match parse_script(text) {
            Ok(s) => panic!("{text:?} parsed: {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn syn_with_options() {
        let e = one("+0.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>");
        assert_eq!(e.when, When::Relative(100_000));
        assert_eq!(e.dir, Dir::In);
        assert_eq!(e.seg.flags, Val::Is(Flags(Flags::SYN)));
        assert_eq!(
            e.seg.seq,
            SeqSpec {
                start: Val::Is(0),
                end: Val::Is(0),
                len: Val::Is(0)
            }
        );
        assert_eq!(e.seg.win, Some(Val::Is(65535)));
        assert_eq!(
            e.seg.options.unwrap().items,
            vec![
                TcpOpt::Mss(Val::Is(1460)),
                TcpOpt::SackOk,
                TcpOpt::Nop,
                TcpOpt::Wscale(Val::Is(7))
            ]
        );
    }

    #[test]
    fn every_flag_combination_and_its_display() {
        for (text, bits) in [
            ("S", Flags::SYN),
            ("S.", Flags::SYN | Flags::ACK),
            (".", Flags::ACK),
            ("P.", Flags::PSH | Flags::ACK),
            ("F.", Flags::FIN | Flags::ACK),
            ("FP.", Flags::FIN | Flags::PSH | Flags::ACK),
            ("R", Flags::RST),
            ("R.", Flags::RST | Flags::ACK),
            ("none", 0),
            ("SEW", Flags::SYN | Flags::ECE | Flags::CWR),
            ("U.", Flags::URG | Flags::ACK),
        ] {
            let e = one(&format!("0 > {text} 0:0(0)"));
            assert_eq!(e.seg.flags, Val::Is(Flags(bits)), "{text}");
            assert_eq!(e.seg.flags.to_string(), text);
        }
        // Any order in, canonical order out.
        assert_eq!(one("0 > .PF 1:1(0)").seg.flags.to_string(), "FP.");
        // `*` in expectations only.
        assert_eq!(one("0 > * * ack 5").seg.flags, Val::Any);
        assert!(err("0 < * 0:0(0)").msg.contains("wildcard is not allowed"));
    }

    #[test]
    fn times() {
        assert_eq!(one("0 > . 1:1(0)").when, When::Absolute(0));
        assert_eq!(one("1.5 > . 1:1(0)").when, When::Absolute(1_500_000));
        assert_eq!(one("+0.000001 > . 1:1(0)").when, When::Relative(1));
        assert_eq!(one("+5 > . 1:1(0)").when, When::Relative(5_000_000));
        assert_eq!(one("* > . 1:1(0)").when, When::Any);
        assert_eq!(one("+0.2> . 1:1(0)").when, When::Relative(200_000));
        assert_eq!(format_secs(10_000), "0.010");
        assert_eq!(format_secs(5_000_123), "5.000123");
        assert_eq!(format_secs(-1_000), "-0.001");
    }

    #[test]
    fn ack_win_ports_and_payloads() {
        let e = one(
            r#"+0 < P. 1:28(27) ack 1 win 502 port 81 peer-port 40001 "GET / HTTP/1.1\r\nHost: x\r\n\r\n""#,
        );
        assert_eq!(e.seg.ack, Some(Val::Is(1)));
        assert_eq!(e.seg.port, Some(81));
        assert_eq!(e.seg.peer_port, Some(40001));
        assert_eq!(
            e.seg.payload.as_deref(),
            Some(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..])
        );
        // Items in any order.
        let e = one(r#"+0 > P. 1:*(*) "HTTP/1.1 200 OK" ack 28 win *"#);
        assert_eq!(e.seg.win, Some(Val::Any));
        assert_eq!(e.seg.ack, Some(Val::Is(28)));
        assert_eq!(e.seg.payload.as_deref(), Some(&b"HTTP/1.1 200 OK"[..]));
        assert_eq!(
            one(r#"0 < P. 1:5(4) ack 1 "\x00\t\\\"""#)
                .seg
                .payload
                .unwrap(),
            b"\0\t\\\""
        );
        assert_eq!(
            one(r#"0 < P. 1:3(2) ack 1 "é""#).seg.payload.unwrap(),
            "é".as_bytes()
        );
        // `ack *` in a `<` line (acknowledge everything).
        assert_eq!(one("0 < . 1:1(0) ack *").seg.ack, Some(Val::Any));
    }

    #[test]
    fn wildcards_in_expectations() {
        for w in ["*", "...", "…"] {
            let e = one(&format!("+0 > P. {w} ack {w} win {w}"));
            assert_eq!(e.seg.seq, SeqSpec::ANY);
            assert_eq!(e.seg.ack, Some(Val::Any));
            assert_eq!(e.seg.win, Some(Val::Any));
            let e = one(&format!("+0 > P. 1:{w}({w}) ack 3"));
            assert_eq!(e.seg.seq.start, Val::Is(1));
            assert_eq!(e.seg.seq.end, Val::Any);
        }
        let e = one("+0 > S. 0:0(0) ack 1 <mss *,wscale *,TS val * ecr 7,sack 1:* *:9,...>");
        let o = e.seg.options.unwrap();
        assert!(o.more);
        assert_eq!(
            o.items,
            vec![
                TcpOpt::Mss(Val::Any),
                TcpOpt::Wscale(Val::Any),
                TcpOpt::Ts {
                    val: Val::Any,
                    ecr: Val::Is(7)
                },
                TcpOpt::Sack(vec![(Val::Is(1), Val::Any), (Val::Any, Val::Is(9))]),
            ]
        );
        assert!(one("0 > . 1:1(0) <...>").seg.options.unwrap().more);
        assert_eq!(
            one("0 > . 1:1(0) <>").seg.options.unwrap(),
            OptList::default()
        );
    }

    #[test]
    fn every_option_round_trips_through_display() {
        let line = "0 > S. 0:3(3) ack 1 win 65535 <mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 2,sack 10:20 30:40,eol> port 81 peer-port 5 \"a\\r\\n\"";
        let e = one(line);
        let again = format!("0 > {}", e.seg);
        assert_eq!(one(&again).seg, e.seg);
        assert_eq!(
            again,
            "0 > S. 0:3(3) ack 1 win 65535 <mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 2,sack 10:20 30:40,eol> port 81 peer-port 5 \"a\\r\\n\""
        );
        // Case-insensitive option keywords.
        assert_eq!(
            one("0 > . 1:1(0) <SACKOK,ts VAL 1 ECR 2>")
                .seg
                .options
                .unwrap()
                .items,
            vec![
                TcpOpt::SackOk,
                TcpOpt::Ts {
                    val: Val::Is(1),
                    ecr: Val::Is(2)
                }
            ]
        );
    }

    #[test]
    fn comments_blank_lines_and_flags_header() {
        let s = parse_script(
            "// flags: --close server-first --isn 1000\n\n# a comment\n  // indented\n0 < S 0:0(0) // trailing\n+0 > S. 0:0(0) ack 1 # also trailing\n// flags: not this one\n",
        )
        .unwrap();
        assert_eq!(s.flags.as_deref(), Some("--close server-first --isn 1000"));
        assert_eq!(s.events.len(), 2);
        assert_eq!(s.events[0].line, 5);
        assert_eq!(s.events[0].text, "0 < S 0:0(0)");
        assert_eq!(s.events[1].line, 6);
        // `#` and `//` inside a string are not comments.
        let e = one(r#"0 < P. 1:6(5) ack 1 "a#b//""#);
        assert_eq!(e.seg.payload.unwrap(), b"a#b//");
        assert_eq!(parse_script("").unwrap(), Script::default());
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases: &[(&str, usize, usize, &str)] = &[
            (
                "0 < P. 1:77(76) ack 1 \"GET / HTTP/1.1\\r\\n\\r\\n\"",
                1,
                23,
                "write 1:19(18)",
            ),
            ("\n\n0 ? S 0:0(0)", 3, 3, "expected `<`"),
            ("0 < X 0:0(0)", 1, 5, "expected TCP flags"),
            ("0 < SS 0:0(0)", 1, 6, "given twice"),
            ("0 < S 0:5(4)", 1, 7, "does not add up"),
            ("0 < S 0:0(0) win 70000", 1, 18, "too large"),
            ("0 < S 0:0(0) <mss 1460", 1, 14, "not closed"),
            (
                "0 < S 0:0(0) <mss 1460 wscale 7>",
                1,
                24,
                "expected `,` or `>`",
            ),
            ("0 < S 0:0(0) <bogus>", 1, 15, "unknown option `bogus`"),
            ("0 < S 0:0(0) <mss *>", 1, 19, "wildcard is not allowed"),
            ("0 < S 0:0(0) <mss 1,...>", 1, 21, "only for `>` lines"),
            ("0 > S 0:0(0) <...,mss 1>", 1, 18, "must be the last"),
            ("* < S 0:0(0)", 1, 1, "only for `>` lines"),
            ("-1 < S 0:0(0)", 1, 1, "backwards"),
            ("+0.1234567 < S 0:0(0)", 1, 4, "6 decimals"),
            ("+3601 < S 0:0(0)", 1, 2, "too large"),
            ("0 < . 1:1(0)", 1, 5, "needs `ack N`"),
            ("0 > S 0:0(0) ack 1", 1, 14, "needs the `.`"),
            ("0 < . 1:1(0) ack 1 ack 2", 1, 20, "given twice"),
            ("0 < . 1:1(0) ack 1 foo", 1, 20, "unknown `foo`"),
            ("0 < . 1:1(0) ack 1 \"abc", 1, 20, "not closed"),
            ("0 < P. 1:2(1) ack 1 \"\\q\"", 1, 22, "unknown escape"),
            ("0 < P. 1:2(1) ack 1 \"\\x4\"", 1, 22, "two hex digits"),
            ("0 < S 0:0(0) port 0", 1, 19, "cannot be 0"),
            ("0 < S 0:0(0) ack1", 1, 14, "unknown `ack1`"),
            ("0 < S 0:0(0)win 5", 1, 13, "expected a space"),
            ("0 < S 0:0 (0)", 1, 10, "expected `(`"),
            ("0 > . 1:1(0) \"toolong\"", 1, 14, "longer than"),
            ("0 < S 4294967296:0(0)", 1, 7, "too large"),
            ("0 < P. 1:10001(10000) ack 1", 1, 8, "cannot fit"),
            ("0 < S 0:0(0) <sack>", 1, 15, "1 to 4 blocks"),
            ("0 < S 0:0(0) <TS val 1 ecx 2>", 1, 24, "expected `ecr`"),
            (
                "0 < S 0:0(0) <sack 1:2 3:4 5:6 7:8,sack 1:2>",
                1,
                14,
                "room for 40",
            ),
            ("0 < S 0:0(0)x", 1, 13, "expected a space"),
            ("0x < S 0:0(0)", 1, 2, "in the time"),
            ("0 <", 1, 4, "expected TCP flags"),
            ("0 < S", 1, 6, "expected the sequence range"),
            ("0 < S.. 0:0(0)", 1, 7, "given twice"),
            ("0 < S 12abc:0(0)", 1, 9, "after a number"),
        ];
        for &(text, line, col, msg) in cases {
            let e = err(text);
            assert_eq!((e.line, e.col), (line, col), "{text:?}: {e}");
            assert!(e.msg.contains(msg), "{text:?}: {e}");
        }
    }

    /// A tiny deterministic PRNG (xorshift), so the fuzz inputs are the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn garbage_never_panics() {
        let seeds = [
            "0.000 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7,TS val 1 ecr 0>",
            "+0 > S. 0:0(0) ack 1 <mss 1460,...> port 81",
            "+0 < P. 1:28(27) ack 1 win 502 \"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"",
            "* > F. *:1(…) ack * win * <sack 1:2 *:4,TS val * ecr *> \"HTTP/1.1\\x20\"",
        ];
        let alphabet: Vec<char> =
            " \t+-*.:()<>,\"\\#/0123456789SFRP.abcdefxTSackwinmsportéé…\u{0}\r"
                .chars()
                .collect();
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for round in 0..20_000 {
            let text: String = if round % 2 == 0 {
                // Pure garbage.
                let n = rng.below(60);
                (0..n)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            } else {
                // A valid line, mutated.
                let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(chars.len() + 1);
                    match rng.below(3) {
                        0 if i < chars.len() => {
                            chars.remove(i);
                        }
                        1 => chars.insert(i, alphabet[rng.below(alphabet.len())]),
                        _ => chars.truncate(i),
                    }
                }
                chars.into_iter().collect()
            };
            if let Ok(s) = parse_script(&text) {
                // Whatever parses displays and parses back to the same segment.
                for e in s.events {
                    let dir = if e.dir == Dir::In { "<" } else { ">" };
                    let again = format!("0 {dir} {}", e.seg);
                    let back = parse_script(&again)
                        .unwrap_or_else(|err| panic!("{text:?} -> {again:?}: {err}"));
                    assert_eq!(back.events[0].seg, e.seg, "{text:?}");
                }
            }
        }
        // Random bytes, decoded lossily.
        for _ in 0..2_000 {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            let _ = parse_script(&String::from_utf8_lossy(&bytes));
        }
    }
}
