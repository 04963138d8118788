//! The TIME field of a line: when the segment is sent, as a [`When`].
//!
//! Text enters at the start of a line; a [`When`] leaves. The forms:
//! - `+0.1`, `+.1`: seconds after the previous line actually happened (a relative time,
//!   at most [`MAX_RELATIVE_US`]);
//! - `0.5`, `.5`: seconds after the start of the script (absolute, at most
//!   [`MAX_ABSOLUTE_US`]);
//! - `A~B`: a range, both ends relative (`+0~+0.2`) or both absolute (`0.1~0.3`), B not
//!   before A (packetdrill's time ranges);
//! - `*`: any time (the caller allows it in `>` lines only).
//!
//! At most 6 decimals (microseconds). Times leave the runner's report through
//! [`format_secs`].

use super::cursor::Cursor;
use super::error::ParseError;
use super::spec::{Time, When};

/// A relative time may advance at most this much (µs) in one line.
pub const MAX_RELATIVE_US: i64 = 3_600_000_000;
/// An absolute time may be at most this far (µs) from the start of the script.
pub const MAX_ABSOLUTE_US: i64 = 86_400_000_000;

/// What a time is written like, for the message when there is none.
const TIME_FORMS: &str = "+0.1 after the previous line, 0.5 after the start, +0~+0.2 a range, or *";

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

/// The TIME field, the cursor at its first character.
pub(super) fn parse_when(c: &mut Cursor) -> Result<When, ParseError> {
    if c.eat('*') {
        return Ok(When::Any);
    }
    let first = instant(c)?;
    if !c.eat('~') {
        return Ok(When::At(first));
    }
    let end_pos = c.pos;
    let end = instant(c)?;
    match (first, end) {
        (Time::Relative(a), Time::Relative(b)) | (Time::Absolute(a), Time::Absolute(b)) => {
            if b < a {
                return c.err(end_pos, "the time range ends before it starts");
            }
        }
        (Time::Relative(_), Time::Absolute(_)) => {
            return c.err(
                end_pos,
                "a time range is relative at both ends (+0~+0.2) or absolute at both (0.1~0.3): write +N here",
            );
        }
        (Time::Absolute(_), Time::Relative(_)) => {
            return c.err(
                end_pos,
                "a time range is relative at both ends (+0~+0.2) or absolute at both (0.1~0.3): drop the +",
            );
        }
    }
    Ok(When::Range(first, end))
}

/// One instant: `+S` or `S`.
fn instant(c: &mut Cursor) -> Result<Time, ParseError> {
    if c.peek() == Some('-') {
        return c.err(
            c.pos,
            "time cannot go backwards: use +N or an absolute time",
        );
    }
    if c.eat('+') {
        Ok(Time::Relative(seconds(c, MAX_RELATIVE_US)?))
    } else {
        Ok(Time::Absolute(seconds(c, MAX_ABSOLUTE_US)?))
    }
}

/// Seconds with up to 6 decimals (`1`, `1.5`, `.5`), as microseconds.
fn seconds(c: &mut Cursor, max_us: i64) -> Result<i64, ParseError> {
    let start = c.pos;
    let mut whole: i64 = 0;
    while let Some(d) = c.peek().and_then(|ch| ch.to_digit(10)) {
        whole = whole.saturating_mul(10).saturating_add(i64::from(d));
        c.pos += 1;
    }
    let has_whole = c.pos > start;
    let decimals = c.peek() == Some('.') && c.peek2().is_some_and(|d| d.is_ascii_digit());
    if !has_whole && !decimals {
        return c.err(
            start,
            format!("expected a time ({TIME_FORMS}), found {}", c.found()),
        );
    }
    let mut frac: i64 = 0;
    if c.eat('.') {
        let fstart = c.pos;
        let mut digits = 0;
        while let Some(d) = c.peek().and_then(|ch| ch.to_digit(10)) {
            digits += 1;
            if digits > 6 {
                return c.err(fstart, "times have at most 6 decimals (microseconds)");
            }
            frac = frac * 10 + i64::from(d);
            c.pos += 1;
        }
        if digits == 0 {
            return c.err(fstart, "expected digits after the decimal point");
        }
        for _ in digits..6 {
            frac *= 10;
        }
    }
    let us = whole.saturating_mul(1_000_000).saturating_add(frac);
    if us > max_us {
        return c.err(
            start,
            format!("time too large (at most {} s)", max_us / 1_000_000),
        );
    }
    if c.peek()
        .is_some_and(|ch| !ch.is_whitespace() && !matches!(ch, '<' | '>' | '~'))
    {
        return c.err(c.pos, format!("unexpected {} in the time", c.found()));
    }
    Ok(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn when(text: &str) -> Result<When, ParseError> {
        let chars: Vec<char> = text.chars().collect();
        let mut c = Cursor {
            chars: &chars,
            pos: 0,
            line: 1,
        };
        parse_when(&mut c)
    }

    fn col(text: &str) -> (usize, String) {
        let e = when(text).unwrap_err();
        (e.col, e.msg)
    }

    #[test]
    fn points() {
        use Time::*;
        assert_eq!(when("0 "), Ok(When::At(Absolute(0))));
        assert_eq!(when("1.5 "), Ok(When::At(Absolute(1_500_000))));
        assert_eq!(when("+0.000001"), Ok(When::At(Relative(1))));
        assert_eq!(when("+5>"), Ok(When::At(Relative(5_000_000))));
        assert_eq!(when("* "), Ok(When::Any));
        // packetdrill's short forms: no digit before the point.
        assert_eq!(when("+.1 "), Ok(When::At(Relative(100_000))));
        assert_eq!(when(".25 "), Ok(When::At(Absolute(250_000))));
        assert_eq!(when("+.000001 "), Ok(When::At(Relative(1))));
    }

    #[test]
    fn ranges() {
        use Time::*;
        assert_eq!(
            when("+0~+0.2 "),
            Ok(When::Range(Relative(0), Relative(200_000)))
        );
        assert_eq!(
            when("0.1~0.3"),
            Ok(When::Range(Absolute(100_000), Absolute(300_000)))
        );
        assert_eq!(
            when("+.1~+.1 "),
            Ok(When::Range(Relative(100_000), Relative(100_000)))
        );
        assert_eq!(col("0.3~0.1").0, 5);
        assert!(col("0.3~0.1").1.contains("ends before it starts"));
        assert_eq!(col("+0~0.2").0, 4);
        assert!(col("+0~0.2").1.contains("write +N here"));
        assert!(col("0~+0.2").1.contains("drop the +"));
        assert!(col("+0~ ").1.contains("expected a time"));
        assert!(col("+0~-1").1.contains("backwards"));
        assert!(col("+0~+3601").1.contains("too large"));
    }

    #[test]
    fn errors() {
        assert_eq!(col("."), (1, col(".").1));
        assert!(col(".").1.contains("expected a time"));
        assert!(col("+.").1.contains("expected a time"));
        assert!(col("...").1.contains("expected a time"));
        assert_eq!(col("1.x").0, 3);
        assert!(col("1.x").1.contains("digits after the decimal point"));
        assert_eq!(col("+.1234567").0, 3);
        assert_eq!(col("0x").0, 2);
        assert!(col("0x").1.contains("in the time"));
        assert!(col("-1").1.contains("backwards"));
        assert!(col("86401").1.contains("at most 86400 s"));
    }

    #[test]
    fn formatting_seconds() {
        assert_eq!(format_secs(10_000), "0.010");
        assert_eq!(format_secs(5_000_123), "5.000123");
        assert_eq!(format_secs(-1_000), "-0.001");
    }
}
