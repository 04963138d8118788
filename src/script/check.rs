//! The matcher: compares a `>` line with the segment our stack really sent, and turns
//! segments back into script syntax.
//!
//! Data in: a [`SegmentSpec`] from the script, a [`Seen`] segment from the wire, and the
//! connection's ISN base (our ISN on the wire, so that our sequence numbers can be shown
//! and compared relative to it). Data out: the list of differences, one readable line per
//! field that does not match ([`differences`]; empty means the line passes), and the
//! segment as a script line would write it ([`describe`]).

use super::parse::{OptList, SegmentSpec, SeqSpec, TcpOpt, Val, escape};
use super::wire::{DEFAULT_PEER_PORT, DEFAULT_PORT, Seen};
use crate::tcp::TcpFlags;

/// The longest status line [`describe`] shows as the payload string.
const MAX_SHOWN_LINE: usize = 80;

/// `seen` in script syntax, our sequence numbers relative to `base`. A payload that
/// begins with an HTTP status line is shown as that line (a prefix a `>` line may check);
/// other payloads only by their length.
pub fn describe(seen: &Seen, base: u32) -> SegmentSpec {
    let start = seen.seq.wrapping_sub(base);
    let len = seen.payload.len() as u32;
    SegmentSpec {
        flags: Val::Is(seen.flags),
        seq: SeqSpec {
            start: Val::Is(start),
            end: Val::Is(start.wrapping_add(len)),
            len: Val::Is(len),
        },
        ack: seen
            .flags
            .contains(TcpFlags::ACK)
            .then_some(Val::Is(seen.ack)),
        win: Some(Val::Is(seen.win)),
        options: (!seen.options.is_empty()).then(|| OptList {
            items: seen.options.clone(),
            more: false,
        }),
        payload: status_line(&seen.payload).map(|l| l.to_vec()),
        port: (seen.our_port != DEFAULT_PORT).then_some(seen.our_port),
        peer_port: (seen.peer_port != DEFAULT_PEER_PORT).then_some(seen.peer_port),
    }
}

/// The first line of an HTTP response, without its CRLF.
fn status_line(payload: &[u8]) -> Option<&[u8]> {
    if !payload.starts_with(b"HTTP/") {
        return None;
    }
    let end = payload.windows(2).position(|w| w == b"\r\n")?;
    (end <= MAX_SHOWN_LINE).then(|| &payload[..end])
}

/// Whether one expected option allows the one on the wire.
fn option_matches(want: &TcpOpt, got: &TcpOpt) -> bool {
    match (want, got) {
        (TcpOpt::Nop, TcpOpt::Nop) | (TcpOpt::Eol, TcpOpt::Eol) => true,
        (TcpOpt::SackOk, TcpOpt::SackOk) => true,
        (TcpOpt::Mss(w), TcpOpt::Mss(Val::Is(g))) => w.allows(*g),
        (TcpOpt::Wscale(w), TcpOpt::Wscale(Val::Is(g))) => w.allows(*g),
        (
            TcpOpt::Ts { val, ecr },
            TcpOpt::Ts {
                val: Val::Is(gv),
                ecr: Val::Is(ge),
            },
        ) => val.allows(*gv) && ecr.allows(*ge),
        (
            TcpOpt::FastOpen {
                cookie: w,
                experimental: we,
            },
            TcpOpt::FastOpen {
                cookie: Val::Is(g),
                experimental: ge,
            },
        ) => we == ge && w.allows(*g),
        (TcpOpt::Md5(w), TcpOpt::Md5(Val::Is(g))) => w.allows(*g),
        (TcpOpt::Sack(w), TcpOpt::Sack(g)) => {
            w.len() == g.len()
                && w.iter().zip(g).all(|((wa, wb), (ga, gb))| match (ga, gb) {
                    (Val::Is(a), Val::Is(b)) => wa.allows(*a) && wb.allows(*b),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// Whether the options on the wire are the expected list (in order; `...` allows more).
pub fn options_match(want: &OptList, got: &[TcpOpt]) -> bool {
    if got.len() < want.items.len() || (!want.more && got.len() != want.items.len()) {
        return false;
    }
    want.items
        .iter()
        .zip(got)
        .all(|(w, g)| option_matches(w, g))
}

/// What differs between a `>` line and the segment our stack sent. Empty: it matches.
pub fn differences(want: &SegmentSpec, seen: &Seen, base: u32) -> Vec<String> {
    let got = describe(seen, base);
    let mut diffs = Vec::new();
    let port = want.port.unwrap_or(DEFAULT_PORT);
    if port != seen.our_port {
        diffs.push(format!(
            "port: expected our port {port}, got {}",
            seen.our_port
        ));
    }
    let peer = want.peer_port.unwrap_or(DEFAULT_PEER_PORT);
    if peer != seen.peer_port {
        diffs.push(format!(
            "peer-port: expected {peer}, got {}",
            seen.peer_port
        ));
    }
    if !want.flags.allows(seen.flags) {
        diffs.push(format!(
            "flags: expected {}, got {}",
            want.flags, seen.flags
        ));
    }
    let (s, e, l) = (got.seq.start, got.seq.end, got.seq.len);
    let seq_ok = match (s, e, l) {
        (Val::Is(s), Val::Is(e), Val::Is(l)) => {
            want.seq.start.allows(s) && want.seq.end.allows(e) && want.seq.len.allows(l)
        }
        _ => false,
    };
    if !seq_ok {
        diffs.push(format!(
            "sequence range: expected {}, got {}",
            want.seq, got.seq
        ));
    }
    // Without the ACK flag there is no ack number to compare (the flags said so).
    if let Some(a) = want.ack
        && seen.flags.contains(TcpFlags::ACK)
        && !a.allows(seen.ack)
    {
        diffs.push(format!("ack: expected {a}, got {}", seen.ack));
    }
    if let Some(w) = want.win
        && !w.allows(seen.win)
    {
        diffs.push(format!("win: expected {w}, got {}", seen.win));
    }
    if let Some(o) = &want.options
        && !options_match(o, &seen.options)
    {
        let shown = OptList {
            items: seen.options.clone(),
            more: false,
        };
        diffs.push(format!("options: expected {o}, got {shown}"));
    }
    if let Some(p) = &want.payload
        && !seen.payload.starts_with(p)
    {
        let n = (p.len() + 16).min(seen.payload.len());
        diffs.push(format!(
            "payload: expected it to start with \"{}\", it starts with \"{}\"{}",
            escape(p),
            escape(&seen.payload[..n]),
            if n < seen.payload.len() { "..." } else { "" }
        ));
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::parse::parse_script;

    fn spec(line: &str) -> SegmentSpec {
        parse_script(line)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .events
            .remove(0)
            .seg
    }

    /// A SYN-ACK as smoltcp sends it, our ISN 1000 on the wire.
    fn synack() -> Seen {
        Seen {
            our_port: 80,
            peer_port: 40000,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            seq: 1000,
            ack: 1,
            win: 32768,
            options: vec![
                TcpOpt::Mss(Val::Is(1460)),
                TcpOpt::Wscale(Val::Is(1)),
                TcpOpt::SackOk,
                TcpOpt::Eol,
            ],
            payload: vec![],
        }
    }

    fn response() -> Seen {
        Seen {
            flags: TcpFlags::PSH | TcpFlags::ACK,
            seq: 1001,
            ack: 77,
            options: vec![],
            payload: b"HTTP/1.1 200 OK\r\nServer: taplab\r\n\r\n".to_vec(),
            ..synack()
        }
    }

    #[test]
    fn describe_writes_script_syntax_relative_to_the_base() {
        assert_eq!(
            describe(&synack(), 1000).to_string(),
            "S. 0:0(0) ack 1 win 32768 <mss 1460,wscale 1,sackOK,eol>"
        );
        assert_eq!(
            describe(&response(), 1000).to_string(),
            "P. 1:36(35) ack 77 win 32768 \"HTTP/1.1 200 OK\""
        );
        let rst = Seen {
            our_port: 81,
            flags: TcpFlags::RST | TcpFlags::ACK,
            seq: 0,
            win: 0,
            options: vec![],
            ..synack()
        };
        assert_eq!(
            describe(&rst, 0).to_string(),
            "R. 0:0(0) ack 1 win 0 port 81"
        );
        // Sequence numbers wrap: base just below 2^32.
        let mut s = response();
        s.seq = 5;
        assert!(
            describe(&s, u32::MAX - 4)
                .to_string()
                .starts_with("P. 10:45(35)")
        );
    }

    #[test]
    fn a_matching_line_has_no_differences() {
        for line in [
            "0 > S. 0:0(0) ack 1 <mss 1460,wscale 1,sackOK,eol>",
            "0 > S. 0:0(0) ack 1 win 32768",
            "0 > S. 0:0(0) ack 1 <mss *,...>",
            "0 > S. * ack *",
            "0 > S. 0:0(0)",
            "0 > S. 0:0(0) ack 1 <...>",
            "0 > S. 0:*(*) ack 1 port 80 peer-port 40000",
        ] {
            assert_eq!(
                differences(&spec(line), &synack(), 1000),
                Vec::<String>::new(),
                "{line}"
            );
        }
        for line in [
            "0 > P. 1:36(35) ack 77 \"HTTP/1.1 200 OK\"",
            "0 > P. 1:36(35) ack 77 \"HTTP/1.1 200 OK\\r\\nServer\"",
            "0 > P. 1:*(*) ack 77 <>",
        ] {
            assert_eq!(
                differences(&spec(line), &response(), 1000),
                Vec::<String>::new(),
                "{line}"
            );
        }
    }

    #[test]
    fn each_field_reports_its_difference() {
        let d = |line: &str| differences(&spec(line), &synack(), 1000).join("; ");
        assert_eq!(
            d("0 > S. 0:0(0) ack 1 win 1234"),
            "win: expected 1234, got 32768"
        );
        assert_eq!(d("0 > S. 0:0(0) ack 2"), "ack: expected 2, got 1");
        assert_eq!(d("0 > . 0:0(0) ack 1"), "flags: expected ., got S.");
        assert_eq!(
            d("0 > S. 1:1(0) ack 1"),
            "sequence range: expected 1:1(0), got 0:0(0)"
        );
        assert_eq!(
            d("0 > S. 0:0(0) ack 1 <mss 1460,wscale 1,sackOK>"),
            "options: expected <mss 1460,wscale 1,sackOK>, got <mss 1460,wscale 1,sackOK,eol>"
        );
        assert_eq!(
            d("0 > S. 0:0(0) ack 1 <mss 536,...>"),
            "options: expected <mss 536,...>, got <mss 1460,wscale 1,sackOK,eol>"
        );
        assert_eq!(
            d("0 > S. 0:0(0) ack 1 port 81"),
            "port: expected our port 81, got 80"
        );
        assert_eq!(
            d("0 > S. 0:0(0) ack 1 peer-port 9"),
            "peer-port: expected 9, got 40000"
        );
        // Several at once, in field order.
        assert_eq!(
            d("0 > F. 1:1(0) ack 2 win 1"),
            "flags: expected F., got S.; sequence range: expected 1:1(0), got 0:0(0); ack: expected 2, got 1; win: expected 1, got 32768"
        );
        let p = differences(
            &spec("0 > P. 1:36(35) ack 77 \"HTTP/1.1 404\""),
            &response(),
            1000,
        );
        assert_eq!(
            p,
            vec![
                "payload: expected it to start with \"HTTP/1.1 404\", it starts with \"HTTP/1.1 200 OK\\r\\nServer: tap\"..."
            ]
        );
    }

    #[test]
    fn options_compare_in_order_and_value() {
        let got = synack().options;
        let list = |s: &str| spec(&format!("0 > . 1:1(0) {s}")).options.unwrap();
        assert!(options_match(&list("<mss 1460,wscale 1,sackOK,eol>"), &got));
        assert!(!options_match(
            &list("<wscale 1,mss 1460,sackOK,eol>"),
            &got
        ));
        assert!(!options_match(
            &list("<mss 1460,wscale 2,sackOK,eol>"),
            &got
        ));
        assert!(options_match(&list("<mss 1460,wscale *,...>"), &got));
        assert!(!options_match(
            &list("<mss 1460,wscale 1,sackOK,eol,nop,...>"),
            &got
        ));
        assert!(!options_match(&list("<>"), &got));
        let ts = [
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Ts {
                val: Val::Is(5),
                ecr: Val::Is(9),
            },
        ];
        assert!(options_match(&list("<nop,nop,TS val * ecr 9>"), &ts));
        assert!(!options_match(&list("<nop,nop,TS val * ecr 8>"), &ts));
        let sack = [TcpOpt::Sack(vec![
            (Val::Is(1), Val::Is(2)),
            (Val::Is(5), Val::Is(9)),
        ])];
        assert!(options_match(&list("<sack 1:2 5:*>"), &sack));
        assert!(!options_match(&list("<sack 1:2>"), &sack));
        // TFO cookies and MD5 digests: by value, by wildcard, and kind 34 is not 254.
        let hex = |b: &[u8]| Val::Is(crate::script::parse::Hex::new(b).unwrap());
        let tfo = [
            TcpOpt::FastOpen {
                cookie: hex(&[0xab, 0xcd, 0x01, 0x02]),
                experimental: false,
            },
            TcpOpt::Md5(hex(&[7; 16])),
        ];
        assert!(options_match(
            &list("<FO abcd0102,md5 07070707070707070707070707070707>"),
            &tfo
        ));
        assert!(options_match(&list("<FO *,md5>"), &tfo));
        assert!(options_match(&list("<FO ...,...>"), &tfo));
        assert!(!options_match(&list("<FO,md5 *>"), &tfo));
        assert!(!options_match(&list("<FO abcd0103,...>"), &tfo));
        assert!(!options_match(&list("<FOEXP *,...>"), &tfo));
        assert!(!options_match(
            &list("<FO *,md5 07070707070707070707070707070708>"),
            &tfo
        ));
    }
}
