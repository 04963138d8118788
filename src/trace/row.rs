//! One frame as the analysis found it: a [`Row`] of the listing, as values.
//!
//! [`super::Analyzer`] makes one per frame. A TCP segment is a [`TcpRow`]: flags as
//! [`TcpFlags`], the options area (walked, typed, with [`TcpRow::options`]), the
//! numbers as Wireshark shows them and as they were on the wire, the analysis
//! [`Mark`]s, and what HTTP made of the payload ([`HttpPart`]). Everything else (ARP,
//! ICMP, UDP, …) is an [`OtherRow`], the stateless dissector's own text, since nothing
//! reads those as data. The text of a row is made by [`super::listing`] when it is
//! printed; the state timeline, the pictures, the lab's checks and the live trace read
//! the values.

use super::http::HttpPart;
use super::marks::Mark;
use crate::tcp::{TcpFlags, TcpOption, options};
use smoltcp::wire::IpEndpoint;
use std::net::IpAddr;

/// One line of the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Frame number, from 1.
    pub no: u64,
    /// Seconds since the first frame.
    pub time: f64,
    /// Capture time, µs since the Unix epoch.
    pub time_us: i64,
    /// Frame length on the wire.
    pub length: usize,
    pub content: Content,
}

/// What a frame carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Tcp(TcpRow),
    Other(OtherRow),
}

/// A frame that is not TCP, in the listing's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherRow {
    /// Source and Destination columns (empty where Wireshark leaves them blank).
    pub src: String,
    pub dst: String,
    pub protocol: String,
    pub info: String,
}

/// A TCP header's options area, kept as it was (at most 40 bytes, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionBytes {
    bytes: [u8; 40],
    len: u8,
}

impl OptionBytes {
    /// The area as captured; anything past 40 bytes (impossible in a valid header) is cut.
    pub fn new(area: &[u8]) -> Self {
        let mut o = OptionBytes {
            bytes: [0; 40],
            len: 0,
        };
        let n = area.len().min(40);
        o.bytes[..n].copy_from_slice(&area[..n]);
        o.len = n as u8;
        o
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The TCP part of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRow {
    /// Wireshark's tcp.stream.
    pub stream: usize,
    /// 0: sent by the end that sent the stream's first segment; 1: by the other.
    pub dir: usize,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// As displayed (relative unless the listing is absolute).
    pub seq: u32,
    /// As displayed; `None` without the ACK flag.
    pub ack: Option<u32>,
    pub raw_seq: u32,
    pub raw_ack: Option<u32>,
    /// Payload bytes (tcp.len), whatever was captured of them.
    pub len: usize,
    pub flags: TcpFlags,
    /// The ECN bits are shown as AccECN's ACE counter (`[ACK, ACE=1]`): an AccECN option
    /// was seen on the connection before.
    pub ace: bool,
    /// The window, scaled once the handshake showed scaling (tcp.window_size).
    pub win: u64,
    /// The window field as sent.
    pub win_field: u16,
    /// The urgent pointer (shown with the URG flag).
    pub urgent: u16,
    pub option_bytes: OptionBytes,
    /// Subtracted from SACK edges when they are shown (the other direction's base, or 0
    /// in an absolute listing).
    pub sack_base: u32,
    /// The bases of the relative numbers, whatever the listing shows: `raw_seq -
    /// seq_base` is the relative sequence number, `raw_ack - ack_base` the relative
    /// acknowledgment number.
    pub seq_base: u32,
    pub ack_base: u32,
    /// Bytes sent in this direction and not yet acknowledged, after this segment
    /// (tcp.analysis.bytes_in_flight; data segments only, see [`super::flight`]).
    pub in_flight: Option<u32>,
    /// Wireshark's analysis, left to right as printed.
    pub marks: Vec<Mark>,
    /// What HTTP made of the payload, if the connection is HTTP and HTTP was consulted.
    pub http: Option<HttpPart>,
}

impl TcpRow {
    /// The options, typed, in header order.
    pub fn options(&self) -> impl Iterator<Item = TcpOption<'_>> {
        options(self.option_bytes.as_bytes()).map(|o| o.option)
    }

    pub fn mss(&self) -> Option<u16> {
        self.options().find_map(|o| match o {
            TcpOption::Mss(m) => Some(m),
            _ => None,
        })
    }

    /// The window-scale shift as sent.
    pub fn window_scale(&self) -> Option<u8> {
        self.options().find_map(|o| match o {
            TcpOption::WindowScale(s) => Some(s),
            _ => None,
        })
    }

    pub fn sack_permitted(&self) -> bool {
        self.options().any(|o| o == TcpOption::SackPermitted)
    }

    /// (TSval, TSecr).
    pub fn timestamps(&self) -> Option<(u32, u32)> {
        self.options().find_map(|o| match o {
            TcpOption::Timestamps { val, ecr } => Some((val, ecr)),
            _ => None,
        })
    }

    pub fn src_endpoint(&self) -> IpEndpoint {
        IpEndpoint::new(self.src.into(), self.src_port)
    }

    pub fn dst_endpoint(&self) -> IpEndpoint {
        IpEndpoint::new(self.dst.into(), self.dst_port)
    }

    pub fn has(&self, flags: TcpFlags) -> bool {
        self.flags.contains(flags)
    }

    /// The sequence number relative to the direction's initial one.
    pub fn rel_seq(&self) -> u32 {
        self.raw_seq.wrapping_sub(self.seq_base)
    }

    /// The acknowledgment number relative to the other direction's initial sequence
    /// number; `None` without the ACK flag.
    pub fn rel_ack(&self) -> Option<u32> {
        self.raw_ack.map(|a| a.wrapping_sub(self.ack_base))
    }

    /// The SACK blocks, relative to the other direction's initial sequence number.
    pub fn rel_sacks(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.options()
            .filter_map(|o| match o {
                TcpOption::Sack(b) => Some(b),
                _ => None,
            })
            .flat_map(|b| b.iter().collect::<Vec<_>>())
            .map(|(l, r)| (l.wrapping_sub(self.ack_base), r.wrapping_sub(self.ack_base)))
    }
}

impl Row {
    pub fn tcp(&self) -> Option<&TcpRow> {
        match &self.content {
            Content::Tcp(t) => Some(t),
            Content::Other(_) => None,
        }
    }

    /// Whether this row names an HTTP message (what `--http` keeps).
    pub fn is_http(&self) -> bool {
        match &self.content {
            Content::Tcp(t) => t.http.as_ref().is_some_and(HttpPart::kept_as_http),
            Content::Other(o) => o.protocol.starts_with("HTTP"),
        }
    }
}
