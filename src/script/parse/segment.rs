//! The FLAGS and SEQ fields of a line: which TCP flags, and which sequence range.
//!
//! Text enters at the field's first character; a [`TcpFlags`] set (or `*`) and a
//! [`SeqSpec`] leave.
//! - FLAGS: tcpdump's letters `F S R P U E W` and `.` (ACK) in any order, each once, or
//!   `none`; the letters are [`TcpFlags::from_letters`]'s. A wildcard where the caller
//!   allows one.
//! - SEQ: `START:END(LEN)`, END − START = LEN (modulo 2^32). Where wildcards are allowed
//!   any of the three may be one, or the whole range (`*` alone). A wildcard followed by
//!   `:` is the START of a range (`*:*(0)`, `...:...(0)`), not the whole range.

use super::cursor::{Cursor, Wild, is_wild};
use super::error::ParseError;
use super::spec::{SeqSpec, Val};
use crate::tcp::TcpFlags;

/// The FLAGS field.
pub(super) fn parse_flags(c: &mut Cursor, wild: Wild) -> Result<Val<TcpFlags>, ParseError> {
    let start = c.pos;
    if c.eat_wild() {
        if let Wild::No(why) = wild {
            return c.err(start, format!("a wildcard is not allowed here: {why}"));
        }
        return end_of_flags(c).map(|()| Val::Any);
    }
    if c.word_ahead("none") {
        c.pos += 4;
        return end_of_flags(c).map(|()| Val::Is(TcpFlags::empty()));
    }
    let mut flags = TcpFlags::empty();
    while let Some(ch) = c.peek() {
        let mut buf = [0u8; 4];
        let Ok(bit) = TcpFlags::from_letters(ch.encode_utf8(&mut buf)) else {
            break;
        };
        if flags.contains(bit) {
            return c.err(c.pos, format!("flag `{ch}` given twice"));
        }
        flags |= bit;
        c.pos += 1;
    }
    if c.pos == start {
        return c.err(
            start,
            format!(
                "expected TCP flags (S, S., ., P., F., R, R., or none), found {}",
                c.found()
            ),
        );
    }
    end_of_flags(c).map(|()| Val::Is(flags))
}

/// The flags end at a space (or the end of the line).
fn end_of_flags(c: &Cursor) -> Result<(), ParseError> {
    if c.peek().is_some_and(|ch| !ch.is_whitespace()) {
        return c.err(
            c.pos,
            format!(
                "unexpected {} in the flags (letters F S R P U E W and `.`)",
                c.found()
            ),
        );
    }
    Ok(())
}

/// The SEQ field.
pub(super) fn parse_seq(c: &mut Cursor, wild: Wild) -> Result<SeqSpec, ParseError> {
    let start_pos = c.pos;
    if c.eat_wild() {
        if c.peek() != Some(':') {
            return match wild {
                Wild::Yes => Ok(SeqSpec::ANY),
                Wild::No(why) => c.err(start_pos, format!("a wildcard is not allowed here: {why}")),
            };
        }
        // `*:…`: the wildcard is the range's START; read it again as one.
        c.pos = start_pos;
    }
    if !c
        .peek()
        .is_some_and(|ch| ch.is_ascii_digit() || is_wild(ch) || ch == '.')
    {
        return c.err(
            start_pos,
            format!(
                "expected the sequence range START:END(LEN), e.g. 1:1(0), found {}",
                c.found()
            ),
        );
    }
    let start = c.val32("the start of the sequence range", wild)?;
    expect(c, ':')?;
    let end = c.val32("the end of the sequence range", wild)?;
    expect(c, '(')?;
    let len = c.val32("the length in START:END(LEN)", wild)?;
    expect(c, ')')?;
    if let (Val::Is(s), Val::Is(e), Val::Is(l)) = (start, end, len)
        && e.wrapping_sub(s) != l
    {
        return c.err(
            start_pos,
            format!(
                "{s}:{e}({l}) does not add up: END - START is {} but LEN is {l}",
                e.wrapping_sub(s)
            ),
        );
    }
    Ok(SeqSpec { start, end, len })
}

/// One punctuation character of START:END(LEN).
fn expect(c: &mut Cursor, ch: char) -> Result<(), ParseError> {
    if c.eat(ch) {
        return Ok(());
    }
    c.err(
        c.pos,
        format!("expected `{ch}` in START:END(LEN), found {}", c.found()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::cursor::IN_EXACT;
    use super::*;

    fn with<T>(
        text: &str,
        wild: Wild,
        f: impl Fn(&mut Cursor, Wild) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        let chars: Vec<char> = text.chars().collect();
        let mut c = Cursor {
            chars: &chars,
            pos: 0,
            line: 1,
        };
        f(&mut c, wild)
    }

    fn flags(text: &str) -> Result<Val<TcpFlags>, ParseError> {
        with(text, Wild::No(IN_EXACT), parse_flags)
    }

    fn seq_out(text: &str) -> Result<SeqSpec, ParseError> {
        with(text, Wild::Yes, parse_seq)
    }

    #[test]
    fn every_flag_letter_and_none() {
        for (text, bits) in [
            ("S", TcpFlags::SYN),
            ("S.", TcpFlags::SYN | TcpFlags::ACK),
            (".", TcpFlags::ACK),
            ("FP.", TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK),
            ("R", TcpFlags::RST),
            ("none", TcpFlags::empty()),
            ("SEW", TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR),
            ("U.", TcpFlags::URG | TcpFlags::ACK),
        ] {
            assert_eq!(flags(text), Ok(Val::Is(bits)), "{text}");
        }
        assert_eq!(flags(".PF "), flags("FP."));
        assert_eq!(with("* ", Wild::Yes, parse_flags), Ok(Val::Any));
        assert!(flags("*").unwrap_err().msg.contains("not allowed"));
        assert_eq!(flags("SS").unwrap_err().col, 2);
        assert_eq!(flags("S..").unwrap_err().col, 3);
        assert_eq!(flags("nonex").unwrap_err().col, 1);
        assert_eq!(flags("S,").unwrap_err().col, 2);
    }

    #[test]
    fn wildcards_stand_for_the_range_or_its_parts() {
        let exact = |s, e, l| SeqSpec {
            start: Val::Is(s),
            end: Val::Is(e),
            len: Val::Is(l),
        };
        assert_eq!(seq_out("1:5(4)"), Ok(exact(1, 5, 4)));
        for w in ["*", "...", "…"] {
            assert_eq!(seq_out(w), Ok(SeqSpec::ANY), "{w}");
            assert_eq!(
                seq_out(&format!("{w}:{w}(0)")),
                Ok(SeqSpec {
                    start: Val::Any,
                    end: Val::Any,
                    len: Val::Is(0)
                }),
                "{w}"
            );
            assert_eq!(
                seq_out(&format!("1:{w}({w})")),
                Ok(SeqSpec {
                    start: Val::Is(1),
                    ..SeqSpec::ANY
                }),
                "{w}"
            );
        }
        // Wrapping: END - START modulo 2^32.
        assert_eq!(seq_out("4294967295:9(10)"), Ok(exact(u32::MAX, 9, 10)));
        let no = |t: &str| with(t, Wild::No(IN_EXACT), parse_seq).unwrap_err();
        assert_eq!(no("*:*(0)").col, 1);
        assert!(no("*:*(0)").msg.contains("not allowed"));
        assert_eq!(no("...").col, 1);
        assert_eq!(no("1:*(0)").col, 3);
    }
}
