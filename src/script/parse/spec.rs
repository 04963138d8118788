//! What a script says, as values: the parser's output and what the runner and the matcher
//! work from.
//!
//! Values enter from [`super::parse_script`] (every field as the line wrote it, wildcards
//! as [`Val::Any`]) and from the runner's description of segments on the wire (every
//! field [`Val::Is`]). They leave through `Display`, which writes script syntax: a
//! [`SegmentSpec`] printed and parsed again is the same value (the parser's fuzz test
//! holds it to that).

use super::payload::escape;
use crate::tcp::TcpFlags;
use std::fmt;

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

/// One instant a line names, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// `+0.1`, `+.1`: after the previous line actually happened.
    Relative(i64),
    /// `0.5`, `.5`: after the start of the script.
    Absolute(i64),
}

/// When a line's segment is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// At this instant (± the run's tolerance for `>` lines).
    At(Time),
    /// `A~B`: anywhere from A to B (± the tolerance) for `>` lines; at A for `<` lines.
    /// Both ends are of the same kind and B is not before A (the parser checks).
    Range(Time, Time),
    /// `*`: whenever (only for `>` lines).
    Any,
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

/// Bytes an option carries that a script writes in hex: a TFO cookie (at most 16 bytes,
/// RFC 7413 §4.1.1) or an MD5 digest (16). Kept inline so that option values are `Copy`
/// like the other [`Val`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hex {
    len: u8,
    /// Unused bytes stay zero, so the derived equality compares what is used.
    bytes: [u8; Hex::MAX],
}

impl Hex {
    /// The most bytes a value holds.
    pub const MAX: usize = 16;

    /// `None` if `b` is longer than [`Hex::MAX`].
    pub fn new(b: &[u8]) -> Option<Hex> {
        let mut h = Hex {
            len: u8::try_from(b.len()).ok()?,
            bytes: [0; Hex::MAX],
        };
        h.bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(h)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
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
    /// TCP Fast Open (RFC 7413): `FO` (an empty cookie: a cookie request), `FO HEX`,
    /// `FO *`; `FOEXP …` for the experimental kind 254 with TFO's magic.
    FastOpen {
        cookie: Val<Hex>,
        experimental: bool,
    },
    /// TCP MD5 signature (RFC 2385): `md5 HEX` (16 bytes), `md5 *`.
    Md5(Val<Hex>),
    /// An option the script language has no word for (only ever seen on the wire).
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
    /// An option whose length byte is impossible; nothing after it was read (only ever
    /// seen on the wire).
    Malformed {
        kind: u8,
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
            TcpOpt::FastOpen {
                cookie,
                experimental,
            } => {
                f.write_str(if *experimental { "FOEXP" } else { "FO" })?;
                match cookie {
                    Val::Is(c) if c.is_empty() => Ok(()),
                    c => write!(f, " {c}"),
                }
            }
            TcpOpt::Md5(d) => write!(f, "md5 {d}"),
            TcpOpt::Unknown { kind, data } => {
                write!(f, "unknown-kind-{kind}({} bytes)", data.len())
            }
            TcpOpt::Malformed { kind } => write!(f, "malformed-kind-{kind}"),
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
    pub flags: Val<TcpFlags>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keeps_up_to_16_bytes_and_prints_them() {
        let h = Hex::new(&[0xab, 0x01]).unwrap();
        assert_eq!(h.as_slice(), [0xab, 0x01]);
        assert_eq!(h.to_string(), "ab01");
        assert!(Hex::new(&[0; 16]).is_some());
        assert_eq!(Hex::new(&[0; 17]), None);
        assert!(Hex::new(&[]).unwrap().is_empty());
        // Equality compares the bytes in use only.
        assert_eq!(Hex::new(&[1]).unwrap(), Hex::new(&[1]).unwrap());
        assert_ne!(Hex::new(&[1]).unwrap(), Hex::new(&[1, 0]).unwrap());
    }

    #[test]
    fn fast_open_and_md5_print_as_written() {
        let fo = |c: Val<Hex>, experimental| TcpOpt::FastOpen {
            cookie: c,
            experimental,
        };
        assert_eq!(fo(Val::Is(Hex::default()), false).to_string(), "FO");
        let cookie = Hex::new(&[0xde, 0xad, 0xbe, 0xef]).unwrap();
        assert_eq!(fo(Val::Is(cookie), false).to_string(), "FO deadbeef");
        assert_eq!(fo(Val::Any, true).to_string(), "FOEXP *");
        assert_eq!(
            TcpOpt::Md5(Val::Is(Hex::new(&[7; 16]).unwrap())).to_string(),
            "md5 07070707070707070707070707070707"
        );
        assert_eq!(
            TcpOpt::Malformed { kind: 9 }.to_string(),
            "malformed-kind-9"
        );
    }
}
