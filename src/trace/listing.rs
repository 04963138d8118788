//! The packet list as text: a [`Row`] in, one line out, in Wireshark's columns
//! `No. Time Source Destination Protocol Length Info`, each as a single pass of tshark
//! 4.0 prints it (`tshark -r FILE`).
//!
//! This is where a row's values become words: Wireshark's flag list (`[SYN, ACK]`, or
//! `[ACK, ACE=1]` on an AccECN connection), the options it names, the bracketed analysis
//! marks, and the HTTP summary with the media type tshark's body dissectors name.
//!
//! Columns are separated by spaces and padded to fixed widths, Info last. A column
//! Wireshark leaves blank (an ARP destination in a `tcpdump -i any` capture) is printed
//! blank: a reader finds the columns by position, each one `{content}` padded to its
//! width plus one space (see [`split_line`]).

use super::http::{HttpPart, Message, Tail};
use super::row::{Content, Row, TcpRow};
use crate::tcp::{TcpFlags, TcpOption};
use std::fmt::Write as _;

/// How numbers are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingOptions {
    /// Raw sequence and acknowledgment numbers (and SACK edges) instead of relative ones.
    pub absolute: bool,
}

/// What a line shows beyond tshark's default columns (none by default, so the default
/// line stays tshark's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// `[Bytes in flight: N]` after the Info of each data segment that has a value
    /// (tcp.analysis.bytes_in_flight).
    pub in_flight: bool,
}

const W_NO: usize = 6;
const W_TIME: usize = 11;
const W_ADDR: usize = 21;
const W_PROTO: usize = 8;
const W_LEN: usize = 6;

/// What tshark says when the first message of a segment needs later segments.
const PDU: &str = "TCP segment of a reassembled PDU";

impl Row {
    /// The column headings, aligned with [`Row::line`].
    pub fn header() -> String {
        format!(
            "{:>W_NO$} {:>W_TIME$} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} Info",
            "No.", "Time", "Source", "Destination", "Protocol", "Length"
        )
    }

    /// The row as one listing line.
    pub fn line(&self) -> String {
        self.line_with(Extras::default())
    }

    /// The row as one listing line, with `extras`.
    pub fn line_with(&self, extras: Extras) -> String {
        let mut info = self.info();
        if extras.in_flight
            && let Some(n) = self.tcp().and_then(|t| t.in_flight)
        {
            if !info.ends_with(' ') {
                info.push(' ');
            }
            let _ = write!(info, "[Bytes in flight: {n}]");
        }
        let (src, dst) = self.addresses();
        format!(
            "{:>W_NO$} {:>W_TIME$.6} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} {}",
            self.no,
            self.time,
            src,
            dst,
            self.protocol(),
            self.length,
            info
        )
    }

    /// Source and Destination as printed.
    pub fn addresses(&self) -> (String, String) {
        match &self.content {
            Content::Tcp(t) => (t.src.to_string(), t.dst.to_string()),
            Content::Other(o) => (o.src.clone(), o.dst.clone()),
        }
    }

    /// The Protocol column: TCP, HTTP (HTTP/JSON, HTTP/XML: the last message's body
    /// names it), or the dissector's.
    pub fn protocol(&self) -> &str {
        match &self.content {
            Content::Tcp(t) => match &t.http {
                Some(HttpPart::Messages { done, .. }) => done.last().map_or("HTTP", |m| media(m).0),
                Some(HttpPart::Continuation) => "HTTP",
                _ => "TCP",
            },
            Content::Other(o) => &o.protocol,
        }
    }

    /// The Info column.
    pub fn info(&self) -> String {
        match &self.content {
            Content::Tcp(t) => tcp_info(t),
            Content::Other(o) => o.info.clone(),
        }
    }
}

/// The analysis marks, then the HTTP summary or the TCP one.
fn tcp_info(t: &TcpRow) -> String {
    let mut s = String::new();
    for m in &t.marks {
        let _ = write!(s, "[{m}] ");
    }
    match &t.http {
        None | Some(HttpPart::Tunnelled) => s += &summary(t),
        Some(HttpPart::SegmentOf(None)) => {
            let _ = write!(s, "{} [{PDU}]", summary(t));
        }
        Some(HttpPart::SegmentOf(Some(head))) => {
            let _ = write!(s, "{}  [{PDU}]", head.line);
        }
        Some(HttpPart::Continuation) => s += "Continuation",
        Some(HttpPart::Messages { done, tail }) => {
            s += &messages_text(done);
            match tail {
                Some(Tail::Starts(head)) => {
                    let _ = write!(s, "{} ", head.line);
                }
                Some(Tail::Continuation) => s += "Continuation",
                None => {}
            }
        }
    }
    s
}

/// Complete messages as tshark names them, one after the other: `GET / HTTP/1.1 `,
/// `HTTP/1.1 200 OK  (text/html)`.
pub fn messages_text(done: &[Message]) -> String {
    done.iter()
        .map(|m| format!("{} {}", m.head.line, media(m).1))
        .collect()
}

/// The protocol column and the Info suffix tshark's media dissectors give a message's
/// body.
fn media(m: &Message) -> (&'static str, String) {
    let mt = match m.head.media_type() {
        Some(mt) if m.has_body && mt != "application/octet-stream" => mt,
        _ => return ("HTTP", String::new()),
    };
    if mt.ends_with("/xml") || mt.ends_with("+xml") {
        return ("HTTP/XML", String::new());
    }
    if mt == "application/json" || mt.ends_with("+json") {
        return ("HTTP/JSON", format!(", JavaScript Object Notation ({mt})"));
    }
    let s = match mt.as_str() {
        "image/png" => "(PNG)".to_string(),
        "image/jpeg" => "(JPEG JFIF image)".to_string(),
        "image/gif" => "(GIF89a)".to_string(),
        _ => format!("({mt})"),
    };
    ("HTTP", format!(" {s}"))
}

/// `51997 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 …`
fn summary(t: &TcpRow) -> String {
    let mut s = format!(
        "{} → {} [{}] Seq={}",
        t.src_port,
        t.dst_port,
        flags_text(t.flags, t.ace),
        t.seq
    );
    if let Some(a) = t.ack {
        let _ = write!(s, " Ack={a}");
    }
    let _ = write!(s, " Win={}", t.win);
    if t.flags.contains(TcpFlags::URG) {
        let _ = write!(s, " Urg={}", t.urgent);
    }
    let _ = write!(s, " Len={}", t.len);
    for o in option_texts(t) {
        s.push(' ');
        s += &o;
    }
    s
}

/// Wireshark's flag list. With `ace`, the three ECN bits are one counter: `ACK, ACE=1`
/// (and an otherwise empty list stays empty: `, ACE=0`).
pub fn flags_text(flags: TcpFlags, ace: bool) -> String {
    if !ace {
        return flags.wireshark();
    }
    let ecn = TcpFlags::ECE | TcpFlags::CWR | TcpFlags::AE;
    let rest = flags - ecn;
    let names = if rest.is_empty() {
        String::new()
    } else {
        rest.wireshark()
    };
    format!("{names}, ACE={}", (flags & ecn).bits() >> 6)
}

/// The options as Info names them, in header order (those it does not name are left
/// out).
pub fn option_texts(t: &TcpRow) -> Vec<String> {
    t.options()
        .filter_map(|o| option_text(&o, t.sack_base))
        .collect()
}

fn option_text(o: &TcpOption, sack_base: u32) -> Option<String> {
    Some(match o {
        TcpOption::Mss(m) => format!("MSS={m}"),
        TcpOption::WindowScale(s) => format!("WS={}", 1u32 << (*s).min(14)),
        TcpOption::SackPermitted => "SACK_PERM".into(),
        TcpOption::Timestamps { val, ecr } => format!("TSval={val} TSecr={ecr}"),
        TcpOption::Sack(blocks) => blocks
            .iter()
            .map(|(l, r)| {
                format!(
                    "SLE={} SRE={}",
                    l.wrapping_sub(sack_base),
                    r.wrapping_sub(sack_base)
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
        TcpOption::FastOpen { cookie: [], .. } => "TFO=R".into(),
        TcpOption::FastOpen { .. } => "TFO=C".into(),
        // tshark names MD5 whatever its length.
        TcpOption::Md5(_) | TcpOption::Malformed { kind: 19 } => "MD5".into(),
        TcpOption::AccEcn { order, counters } => accecn_text(*order, counters)?,
        // RFC 6994's shared experimental kinds: the experiment's ID, in hex.
        TcpOption::Unknown {
            kind: 253 | 254,
            data,
        } if data.len() >= 2 => format!("ExID={:X}", u16::from_be_bytes([data[0], data[1]])),
        _ => return None,
    })
}

/// AccECN's counters as tshark names them: order 0 carries EE0B, ECEB, EE1B; order 1
/// the reverse; none at all (on a SYN) is just `AccECN`. Other lengths are malformed
/// and named nothing.
fn accecn_text(order: u8, counters: &[u8]) -> Option<String> {
    if counters.is_empty() {
        return Some("AccECN".into());
    }
    if !counters.len().is_multiple_of(3) || counters.len() > 9 {
        return None;
    }
    let names = if order == 0 {
        ["EE0B", "ECEB", "EE1B"]
    } else {
        ["EE1B", "ECEB", "EE0B"]
    };
    Some(
        counters
            .chunks_exact(3)
            .zip(names)
            .map(|(c, n)| {
                let v = u32::from_be_bytes([0, c[0], c[1], c[2]]);
                format!("{n}={v}")
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// One listing line split back into its columns (No., Time, Source, Destination,
/// Protocol, Length, Info), by the widths [`Row::line`] pads them to: a column is its
/// text padded to its width and one space, or its text and one space when longer, so a
/// blank column is found where its first character would be. None for a line too short.
pub fn split_line(line: &str) -> Option<[&str; 7]> {
    let right = |s: &str, at: usize, w: usize| -> Option<(usize, usize)> {
        // A right-aligned column ends at its width unless its text is longer.
        let tail = s.get(at..)?;
        let start = at + tail.len() - tail.trim_start().len();
        let end = start
            + tail
                .trim_start()
                .find(' ')
                .unwrap_or(tail.trim_start().len());
        Some((start, end.max(at + w)))
    };
    let left = |s: &str, at: usize, w: usize| -> Option<(usize, usize, usize)> {
        let tail = s.get(at..)?;
        let len = if tail.starts_with(' ') {
            0
        } else {
            tail.find(' ').unwrap_or(tail.len())
        };
        Some((at, at + len, at + len.max(w)))
    };
    let (a, b) = right(line, 0, W_NO)?;
    let no = line.get(a..b)?;
    let (a, b2) = right(line, b + 1, W_TIME)?;
    let time = line.get(a..b2)?.trim_end();
    let (a, e, next) = left(line, b2 + 1, W_ADDR)?;
    let src = line.get(a..e)?;
    let (a, e, next) = left(line, next + 1, W_ADDR)?;
    let dst = line.get(a..e)?;
    let (a, e, next) = left(line, next + 1, W_PROTO)?;
    let proto = line.get(a..e)?;
    let (a, b) = right(line, next + 1, W_LEN)?;
    let len = line.get(a..b)?.trim_end();
    let info = line.get(b + 1..).unwrap_or("");
    Some([no.trim(), time, src, dst, proto, len, info])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_with_and_without_ace() {
        let f = TcpFlags::ACK | TcpFlags::ECE;
        assert_eq!(flags_text(f, false), "ACK, ECE");
        assert_eq!(flags_text(f, true), "ACK, ACE=1");
        assert_eq!(
            flags_text(TcpFlags::ACK | TcpFlags::AE | TcpFlags::CWR, true),
            "ACK, ACE=6"
        );
        assert_eq!(flags_text(TcpFlags::empty(), true), ", ACE=0");
        assert_eq!(flags_text(TcpFlags::empty(), false), "<None>");
    }

    #[test]
    fn the_options_tshark_names() {
        let text = |area: &[u8]| {
            crate::tcp::options(area)
                .filter_map(|o| option_text(&o.option, 0))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(text(&[34, 2]), "TFO=R");
        assert_eq!(text(&[34, 6, 1, 2, 3, 4]), "TFO=C");
        assert_eq!(text(&[254, 4, 0xf9, 0x89]), "TFO=R");
        assert_eq!(text(&[254, 4, 0xab, 0xcd]), "ExID=ABCD");
        assert_eq!(text(&[253, 6, 0, 1, 2, 3]), "ExID=1");
        let mut md5 = vec![19, 18];
        md5.extend([0; 16]);
        assert_eq!(text(&md5), "MD5");
        assert_eq!(text(&[172, 2]), "AccECN");
        assert_eq!(text(&[172, 5, 1, 2, 3]), "EE0B=66051");
        assert_eq!(text(&[174, 8, 0, 0, 1, 0, 0, 2]), "EE1B=1 ECEB=2");
        assert_eq!(
            text(&[172, 11, 0, 0, 1, 0, 0, 2, 0, 0, 3]),
            "EE0B=1 ECEB=2 EE1B=3"
        );
        assert_eq!(text(&[172, 4, 1, 2]), "");
    }

    #[test]
    fn lines_split_back_into_columns_blank_ones_too() {
        let line = format!(
            "{:>W_NO$} {:>W_TIME$} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} {}",
            4,
            "0.359742",
            "f6:32:1a:b2:81:5f",
            "",
            "ARP",
            48,
            "Who has 192.168.69.1? Tell 192.168.69.100"
        );
        assert_eq!(
            split_line(&line).unwrap(),
            [
                "4",
                "0.359742",
                "f6:32:1a:b2:81:5f",
                "",
                "ARP",
                "48",
                "Who has 192.168.69.1? Tell 192.168.69.100"
            ]
        );
        // Longer than their widths: the next column moves right.
        let line = format!(
            "{:>W_NO$} {:>W_TIME$} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} {}",
            1234567,
            "12345.123456",
            "fe80::f432:1aff:feb2:815f",
            "ff02::16",
            "HTTP/JSON",
            1234567,
            "x y"
        );
        assert_eq!(
            split_line(&line).unwrap(),
            [
                "1234567",
                "12345.123456",
                "fe80::f432:1aff:feb2:815f",
                "ff02::16",
                "HTTP/JSON",
                "1234567",
                "x y"
            ]
        );
        assert!(split_line("   1").is_none());
    }
}
