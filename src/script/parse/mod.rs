//! The script language: text in, a list of [`Event`]s out, or a [`ParseError`] that names
//! the line and column.
//!
//! A script is a subset of packetdrill's syntax for TCP segments. One event per line:
//!
//! ```text
//! TIME DIR FLAGS SEQ [ack N] [win N] [<OPTIONS>] [port N] [peer-port N] ["PAYLOAD"]
//! ```
//!
//! - TIME ([`time`]): `+0.1` or `+.1` (seconds after the previous line actually
//!   happened), `0.5` or `.5` (seconds after the start of the script), `+0~+0.2` or
//!   `0.1~0.3` (a range: a `>` line's segment may come anywhere in it; a `<` line's is
//!   sent at its start), or `*` (any time; `>` lines only). At most 6 decimals
//!   (microseconds); a relative time is at most 3600 s, an absolute one at most 86400 s.
//! - DIR: `<` the peer sends this segment to our stack; `>` our stack must send this one.
//! - FLAGS (`segment.rs`): letters `F` `S` `R` `P` `U` `E` `W` and `.` (ACK) in any
//!   order, each once — `S`, `S.`, `.`, `P.`, `F.`, `FP.`, `R`, `R.` — or `none`; `*` in
//!   `>` lines.
//! - SEQ (`segment.rs`): `START:END(LEN)`, relative to the sender's ISN (see the runner),
//!   END − START = LEN; SYN and FIN are not counted in LEN (at most 9000 in `<` lines).
//!   In `>` lines any of the three, or the whole range, may be a wildcard: `*`,
//!   `*:*(0)`, `...:...(0)`, `1:*(*)`.
//! - After SEQ, in any order, each at most once:
//!   - `ack N` (requires the `.` flag, and `.` requires it in `<` lines). `ack *`: in `>`
//!     lines don't care; in `<` lines acknowledge everything our stack has sent.
//!   - `win N`: the raw 16-bit window field. `<` lines default to 65535.
//!   - `<OPTIONS>` ([`options`]): comma-separated, in wire order: `mss N`, `wscale N`,
//!     `sackOK`, `nop`, `eol`, `TS val N ecr N`, `sack A:B [C:D ...]`, `FO [HEX]` /
//!     `FOEXP [HEX]` (TCP Fast Open cookie; none: a cookie request), `md5 [HEX]` (TCP
//!     MD5 signature, 16 bytes), and in `>` lines a final `...` (any further options).
//!     In `>` lines a value may be `*`; in `<` lines only `ecr *` (echo the last TS val
//!     our stack sent). Keywords are case-insensitive.
//!   - `port N` / `peer-port N`: our port (default 80) and the peer's (default 40000).
//!   - `"PAYLOAD"` (`payload.rs`): in `<` lines the exact payload (its length must equal
//!     LEN; without a string the payload is LEN zero bytes, as in packetdrill); in `>`
//!     lines a prefix the payload must start with. Escapes: `\r \n \t \0 \\ \" \xHH`.
//! - `*`, `...` and `…` are the same wildcard wherever a wildcard is allowed.
//! - A `>` line checks FLAGS, SEQ and ports always, the rest only where given.
//! - Comments: `//` or `#` to the end of the line (outside strings); blank lines.
//!   A comment `// flags: ...` before the first event records the flags the script
//!   needs ([`Script::flags`]; `--ipv6` among them makes it an IPv6 script, peer
//!   fdaa::100 and our stack fdaa::1); the parser does not act on it.
//!
//! The files: [`spec`] the values a script becomes, `cursor.rs` the tokens (and comments),
//! one file per field group, and this one the line as a whole: the items after SEQ and
//! the checks that need the whole line. Parsing never panics: every malformed input
//! becomes a [`ParseError`].

mod cursor;
mod error;
pub mod options;
mod payload;
mod segment;
pub mod spec;
pub mod time;

pub use error::ParseError;
pub use options::{MAX_OPTION_BYTES, option_bytes};
pub use payload::escape;
pub use spec::{Dir, Event, Hex, OptList, Script, SegmentSpec, SeqSpec, TcpOpt, Time, Val, When};
pub use time::format_secs;

use crate::tcp::TcpFlags;
use cursor::{Cursor, IN_EXACT, Wild};

/// The longest payload a `<` line may give (larger ones cannot fit any frame).
pub const MAX_PAYLOAD: u32 = 9000;

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    let mut script = Script::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let chars: Vec<char> = raw.chars().collect();
        let cut = cursor::comment_start(&chars);
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

/// Where each item after SEQ started, for the checks that need the whole line.
#[derive(Default)]
struct ItemsAt {
    flags: usize,
    seq: usize,
    ack: usize,
    options: usize,
    payload: usize,
}

/// One line that is not blank, comment already cut.
fn parse_line(chars: &[char], line: usize) -> Result<Event, ParseError> {
    let text: String = chars.iter().collect::<String>().trim().to_string();
    let mut c = Cursor {
        chars,
        pos: 0,
        line,
    };
    c.ws();
    let time_pos = c.pos;
    let when = time::parse_when(&mut c)?;
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
    let mut at = ItemsAt {
        flags: c.pos,
        ..ItemsAt::default()
    };
    let flags = segment::parse_flags(&mut c, wild)?;
    c.ws();
    at.seq = c.pos;
    let seq = segment::parse_seq(&mut c, wild)?;
    let mut seg = SegmentSpec {
        flags,
        seq,
        ack: None,
        win: None,
        options: None,
        payload: None,
        port: None,
        peer_port: None,
    };
    loop {
        let before = c.pos;
        c.ws();
        if c.peek().is_none() {
            break;
        }
        if c.pos == before {
            return c.err(c.pos, format!("expected a space before {}", c.found()));
        }
        parse_item(&mut c, dir, wild, &mut seg, &mut at)?;
    }
    check_line(&c, dir, &seg, &at)?;
    Ok(Event {
        line,
        text,
        when,
        dir,
        seg,
    })
}

/// What may follow SEQ, for messages.
const ITEMS: &str = "ack N, win N, <options>, \"payload\", port N or peer-port N";

/// One item after SEQ (`ack N`, `win N`, `<…>`, `"…"`, `port N`, `peer-port N`), the
/// cursor on its first character.
fn parse_item(
    c: &mut Cursor,
    dir: Dir,
    wild: Wild,
    seg: &mut SegmentSpec,
    at: &mut ItemsAt,
) -> Result<(), ParseError> {
    let item_pos = c.pos;
    match c.peek() {
        Some('<') => {
            if seg.options.is_some() {
                return c.err(item_pos, "options `<...>` given twice");
            }
            at.options = item_pos;
            seg.options = Some(options::parse_options(c, dir)?);
        }
        Some('"') => {
            if seg.payload.is_some() {
                return c.err(item_pos, "payload string given twice");
            }
            at.payload = item_pos;
            seg.payload = Some(payload::parse_string(c)?);
        }
        Some(ch) if ch.is_ascii_alphabetic() => {
            let w = c.word();
            c.ws();
            let given = match w.as_str() {
                "ack" => seg.ack.is_some(),
                "win" => seg.win.is_some(),
                "port" => seg.port.is_some(),
                "peer-port" => seg.peer_port.is_some(),
                _ => return c.err(item_pos, format!("unknown `{w}`: expected {ITEMS}")),
            };
            if given {
                return c.err(item_pos, format!("`{w}` given twice"));
            }
            match w.as_str() {
                "ack" => {
                    at.ack = item_pos;
                    // `ack *` in a `<` line: acknowledge all our stack has sent.
                    seg.ack = Some(c.val32("the acknowledgement number", Wild::Yes)?);
                }
                "win" => seg.win = Some(c.val16("the window (0..65535)", wild)?),
                "port" => seg.port = Some(port(c, "our port")?),
                _ => seg.peer_port = Some(port(c, "the peer's port")?),
            }
        }
        _ => {
            return c.err(
                item_pos,
                format!("unexpected {}: expected {ITEMS}", c.found()),
            );
        }
    }
    Ok(())
}

fn port(c: &mut Cursor, what: &str) -> Result<u16, ParseError> {
    let pos = c.pos;
    let p = c.number(what, u64::from(u16::MAX))?;
    if p == 0 {
        return c.err(pos, format!("{what} cannot be 0"));
    }
    Ok(p as u16)
}

/// The checks that need the whole line: ACK flag and number go together, and a `<`
/// line's payload and options fit what it says and what a frame can carry.
fn check_line(c: &Cursor, dir: Dir, seg: &SegmentSpec, at: &ItemsAt) -> Result<(), ParseError> {
    let has_ack = seg.flags.value().map(|f| f.contains(TcpFlags::ACK));
    if seg.ack.is_some() && has_ack == Some(false) {
        return c.err(
            at.ack,
            "`ack N` needs the `.` (ACK) flag, e.g. `S.` or `P.`",
        );
    }
    let seq = seg.seq;
    if dir == Dir::Out {
        if let (Some(p), Val::Is(len)) = (&seg.payload, seq.len)
            && p.len() as u64 > u64::from(len)
        {
            return c.err(
                at.payload,
                format!(
                    "the payload string is {} bytes, longer than the segment's {len}",
                    p.len()
                ),
            );
        }
        return Ok(());
    }
    if has_ack == Some(true) && seg.ack.is_none() {
        return c.err(
            at.flags,
            "the `.` (ACK) flag needs `ack N` (or `ack *` for all our stack has sent)",
        );
    }
    let len = seq.len.value().unwrap_or(0);
    if len > MAX_PAYLOAD {
        return c.err(
            at.seq,
            format!("a payload of {len} bytes cannot fit in one frame (at most {MAX_PAYLOAD})"),
        );
    }
    if let Some(p) = &seg.payload
        && p.len() as u64 != u64::from(len)
    {
        let s = seq.start.value().unwrap_or(0);
        return c.err(
            at.payload,
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
                at.options,
                format!(
                    "these options take {n} bytes; a TCP header has room for {MAX_OPTION_BYTES}"
                ),
            );
        }
    }
    Ok(())
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
        assert_eq!(e.when, When::At(Time::Relative(100_000)));
        assert_eq!(e.dir, Dir::In);
        assert_eq!(e.seg.flags, Val::Is(TcpFlags::SYN));
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
            ("S", TcpFlags::SYN),
            ("S.", TcpFlags::SYN | TcpFlags::ACK),
            (".", TcpFlags::ACK),
            ("P.", TcpFlags::PSH | TcpFlags::ACK),
            ("F.", TcpFlags::FIN | TcpFlags::ACK),
            ("FP.", TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK),
            ("R", TcpFlags::RST),
            ("R.", TcpFlags::RST | TcpFlags::ACK),
            ("none", TcpFlags::empty()),
            ("SEW", TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR),
            ("U.", TcpFlags::URG | TcpFlags::ACK),
        ] {
            let e = one(&format!("0 > {text} 0:0(0)"));
            assert_eq!(e.seg.flags, Val::Is(bits), "{text}");
            assert_eq!(e.seg.flags.to_string(), text);
        }
        // Any order in, canonical order out.
        assert_eq!(one("0 > .PF 1:1(0)").seg.flags.to_string(), "FP.");
        // `*` in expectations only.
        assert_eq!(one("0 > * * ack 5").seg.flags, Val::Any);
        assert!(err("0 < * 0:0(0)").msg.contains("wildcard is not allowed"));
    }

    #[test]
    fn times_in_a_line() {
        use Time::*;
        assert_eq!(one("0 > . 1:1(0)").when, When::At(Absolute(0)));
        assert_eq!(one("+0.2> . 1:1(0)").when, When::At(Relative(200_000)));
        assert_eq!(one("* > . 1:1(0)").when, When::Any);
        assert_eq!(one("+.1 > . 1:1(0)").when, When::At(Relative(100_000)));
        assert_eq!(one(".5 < S 0:0(0)").when, When::At(Absolute(500_000)));
        assert_eq!(
            one("+0~+0.2 > . 1:1(0)").when,
            When::Range(Relative(0), Relative(200_000))
        );
        assert_eq!(
            one("0.1~0.3< S 0:0(0)").when,
            When::Range(Absolute(100_000), Absolute(300_000))
        );
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
            // A wildcard START (packetdrill's `*:*(0)`): the length still counts.
            let e = one(&format!("+0 > . {w}:{w}(0) ack 3"));
            assert_eq!(e.seg.seq.len, Val::Is(0));
            assert_eq!(e.seg.seq.start, Val::Any);
            assert_eq!(format!("{}", e.seg), ". *:*(0) ack 3");
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
        // TFO and MD5, in both directions.
        for line in [
            "0 > S. 0:0(0) ack 1 <FO,FO 01020304,FOEXP *,md5 *,md5 000102030405060708090a0b0c0d0e0f>",
            "0 < S 0:0(0) win 65535 <FO,FOEXP 0a0b0c0d,md5 00000000000000000000000000000000>",
        ] {
            let e = one(line);
            assert_eq!(format!("0 {} {}", &line[2..3], e.seg), line);
        }
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
            ("0 < . *:*(0) ack 1", 1, 7, "wildcard is not allowed"),
            ("0 < . ...:1(0) ack 1", 1, 7, "wildcard is not allowed"),
            ("+0~0.2 > . 1:1(0)", 1, 4, "relative at both ends"),
            ("0.3~0.2 > . 1:1(0)", 1, 5, "ends before it starts"),
            ("*~1 > . 1:1(0)", 1, 2, "expected `<`"),
            ("0 < S 0:0(0) <FO abc>", 1, 18, "odd number"),
            ("0 < S 0:0(0) <FO *>", 1, 18, "wildcard is not allowed"),
            ("0 < S 0:0(0) <md5 00>", 1, 19, "it takes 16"),
            ("0 < S 0:0(0) <md5,md5,md5>", 1, 14, "room for 40"),
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
            "+.1~+.3 > . *:*(0) ack * <FO *,md5 *,FOEXP,...>",
            ".5 < S 0:0(0) <FO 00112233,md5,nop,FOEXP 0a0b>",
        ];
        let alphabet: Vec<char> =
            " \t+-*.:()<>,\"\\#/0123456789SFRP.abcdefxTSackwinmsportéé…\u{0}\r~FOEXPmd5"
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
