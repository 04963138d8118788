//! The packet list: frames in, one [`Row`] per frame out, in Wireshark's columns
//! `No. Time Source Destination Protocol Length Info`.
//!
//! [`Analyzer`] is incremental: it is fed one frame at a time (from a file by `taplab
//! trace`, or as frames pass through a live server) and keeps only bounded state: the
//! TCP conversations of [`super::tcp`] with their HTTP reassembly, and the ICMP echo
//! requests awaiting replies. Each row's Info is what a single pass of tshark 4.0 shows
//! (`tshark -r FILE`), since a live listing cannot look ahead either: no "reply in"
//! forward references, and an HTTP message named in the frame that completes it.

use super::dissect::{self, TcpOpt, TcpSeg, Transport, flag, flags_text};
use super::http::{HTTP_PORTS, Label};
use super::pcap::{CapturedFrame, LinkType};
use super::tcp::{self, NOT_DISSECTED, SegInfo, TcpTable, analysis_labels};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Echo requests remembered for pairing with replies.
const MAX_ECHOES: usize = 4096;

/// How numbers are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingOptions {
    /// Raw sequence and acknowledgment numbers (and SACK edges) instead of relative ones.
    pub absolute: bool,
}

/// The TCP part of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRow {
    /// Wireshark's tcp.stream.
    pub stream: usize,
    pub src_port: u16,
    pub dst_port: u16,
    /// As displayed (relative unless `absolute`).
    pub seq: u32,
    /// As displayed; `None` without the ACK flag.
    pub ack: Option<u32>,
    pub raw_seq: u32,
    pub raw_ack: Option<u32>,
    /// Payload bytes (tcp.len).
    pub len: usize,
    /// Wireshark's flag list, e.g. "SYN, ACK".
    pub flags: String,
    /// The same flags as bits ([`super::dissect::flag`]).
    pub flag_bits: u16,
    /// The window (scaled once the handshake showed scaling: tcp.window_size).
    pub win: u64,
    /// Options as in Info, in packet order: "MSS=1460", "WS=256", "SACK_PERM",
    /// "TSval=… TSecr=…", "SLE=… SRE=…".
    pub options: Vec<String>,
    /// Bracketed prefixes and suffix as in Info, e.g. "TCP Retransmission",
    /// "TCP Dup ACK 12#1", "TCP segment of a reassembled PDU".
    pub analysis: Vec<String>,
}

/// One line of the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Frame number, from 1.
    pub no: u64,
    /// Seconds since the first frame.
    pub time: f64,
    /// Capture time, µs since the Unix epoch.
    pub time_us: i64,
    pub src: String,
    pub dst: String,
    pub protocol: String,
    /// Frame length on the wire.
    pub length: usize,
    pub info: String,
    pub tcp: Option<TcpRow>,
}

const W_NO: usize = 6;
const W_TIME: usize = 11;
const W_ADDR: usize = 21;
const W_PROTO: usize = 8;
const W_LEN: usize = 6;

impl Row {
    /// The column headings, aligned with [`Row::line`].
    pub fn header() -> String {
        format!(
            "{:>W_NO$} {:>W_TIME$} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} Info",
            "No.", "Time", "Source", "Destination", "Protocol", "Length"
        )
    }

    /// The row as one listing line (no column contains a space, except Info, the last).
    pub fn line(&self) -> String {
        format!(
            "{:>W_NO$} {:>W_TIME$.6} {:<W_ADDR$} {:<W_ADDR$} {:<W_PROTO$} {:>W_LEN$} {}",
            self.no,
            self.time,
            or_dash(&self.src),
            or_dash(&self.dst),
            self.protocol,
            self.length,
            self.info
        )
    }

    /// Whether this row names an HTTP message (what `--http` keeps).
    pub fn is_http(&self) -> bool {
        self.protocol.starts_with("HTTP")
    }
}

/// Keeps the listing's columns countable when an address is unknown.
fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

type EchoKey = (bool, IpAddr, IpAddr, u16, u16);

/// Turns frames into rows, one at a time, remembering what Wireshark's analysis needs.
#[derive(Debug)]
pub struct Analyzer {
    opts: ListingOptions,
    http: bool,
    no: u64,
    first_us: Option<i64>,
    tcp: TcpTable,
    echo: HashMap<EchoKey, u64>,
    echo_order: VecDeque<EchoKey>,
}

impl Analyzer {
    pub fn new(opts: ListingOptions) -> Self {
        Analyzer {
            opts,
            http: true,
            no: 0,
            first_us: None,
            tcp: TcpTable::default(),
            echo: HashMap::new(),
            echo_order: VecDeque::new(),
        }
    }

    /// Whether TCP payload on HTTP ports is decoded as HTTP (on by default). Off, every
    /// TCP row shows its TCP summary, as `tshark -d tcp.port==80,data` does.
    pub fn set_http(&mut self, on: bool) {
        self.http = on;
    }

    /// Number of TCP conversations currently tracked (bounded by
    /// [`super::tcp::MAX_STREAMS`]).
    pub fn tracked_streams(&self) -> usize {
        self.tcp.len()
    }

    /// Bytes held for HTTP messages still incomplete (bounded by
    /// [`super::tcp::MAX_HTTP_BUFFERED`]).
    pub fn held_bytes(&self) -> usize {
        self.tcp.http_buffered()
    }

    /// One frame from a file: its length on the wire is the file's.
    pub fn push_frame(&mut self, f: &CapturedFrame) -> Row {
        let mut row = self.push(f.time_us, f.link, &f.data);
        row.length = f.orig_len.max(f.data.len());
        row
    }

    /// One frame as it passed: capture time (µs since the epoch), link type, bytes.
    pub fn push(&mut self, time_us: i64, link: LinkType, frame: &[u8]) -> Row {
        self.no += 1;
        let first = *self.first_us.get_or_insert(time_us);
        let d = dissect::dissect(link, frame);
        let mut row = Row {
            no: self.no,
            time: time_us.saturating_sub(first) as f64 / 1e6,
            time_us,
            src: d.src.clone(),
            dst: d.dst.clone(),
            protocol: d.protocol.clone(),
            length: frame.len(),
            info: d.info.clone(),
            tcp: None,
        };
        match &d.transport {
            Transport::None => {}
            Transport::Echo(e) => row.info = self.echo(e),
            Transport::Tcp(seg) => self.tcp_row(&mut row, time_us, seg),
        }
        row
    }

    fn echo(&mut self, e: &dissect::Echo) -> String {
        let mut info = if e.v6 {
            format!(
                "Echo (ping) {} id=0x{:04x}, seq={}, hop limit={}",
                if e.request { "request" } else { "reply" },
                e.id,
                e.seq,
                e.ttl
            )
        } else {
            format!(
                "Echo (ping) {}id=0x{:04x}, seq={}/{}, ttl={}",
                if e.request { "request  " } else { "reply    " },
                e.id,
                e.seq,
                e.seq.swap_bytes(),
                e.ttl
            )
        };
        if e.request {
            let k = (e.v6, e.src, e.dst, e.id, e.seq);
            if self.echo.insert(k, self.no).is_none() {
                self.echo_order.push_back(k);
                if self.echo_order.len() > MAX_ECHOES
                    && let Some(old) = self.echo_order.pop_front()
                {
                    self.echo.remove(&old);
                }
            }
        } else if let Some(req) = self.echo.get(&(e.v6, e.dst, e.src, e.id, e.seq)) {
            info += &format!(" (request in {req})");
        }
        info
    }

    fn tcp_row(&mut self, row: &mut Row, time_us: i64, seg: &TcpSeg) {
        let absolute = self.opts.absolute;
        let decode_http = self.http
            && seg.seglen > 0
            && (HTTP_PORTS.contains(&seg.sport) || HTTP_PORTS.contains(&seg.dport));
        let si = self.tcp.segment(self.no, time_us, seg);
        let SegInfo {
            stream,
            dir,
            rel_seq,
            rel_ack,
            rev_base,
            window,
            flags,
            dup,
        } = si;
        let has_ack = seg.flags & flag::ACK != 0;
        let seq = if absolute { seg.seq } else { rel_seq };
        let ack = if absolute {
            has_ack.then_some(seg.ack)
        } else {
            rel_ack
        };
        let sack_base = if absolute { 0 } else { rev_base.unwrap_or(0) };
        let options: Vec<String> = seg
            .options
            .iter()
            .filter_map(|o| match o {
                TcpOpt::Mss(m) => Some(format!("MSS={m}")),
                TcpOpt::WindowScale(s) => Some(format!("WS={}", 1u32 << (*s).min(14))),
                TcpOpt::SackPerm => Some("SACK_PERM".into()),
                TcpOpt::Timestamps(v, e) => Some(format!("TSval={v} TSecr={e}")),
                TcpOpt::Sack(blocks) => Some(
                    blocks
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
                ),
                TcpOpt::Other(_) => None,
            })
            .collect();
        let flags_str = flags_text(seg.flags);
        let mut summary = format!("{} → {} [{flags_str}] Seq={seq}", seg.sport, seg.dport);
        if let Some(a) = ack {
            summary += &format!(" Ack={a}");
        }
        summary += &format!(" Win={window}");
        if seg.flags & flag::URG != 0 {
            summary += &format!(" Urg={}", seg.urgent);
        }
        summary += &format!(" Len={}", seg.seglen);
        for o in &options {
            summary.push(' ');
            summary += o;
        }

        let label = if decode_http && flags & NOT_DISSECTED == 0 {
            let ooo = flags & tcp::a::OUT_OF_ORDER != 0;
            self.tcp.http(stream, dir, seg.seq, seg.payload, ooo)
        } else {
            Label::Plain
        };
        let mut analysis = analysis_labels(flags, dup);
        const PDU: &str = "TCP segment of a reassembled PDU";
        let body = match label {
            Label::Plain => summary,
            Label::SegmentOf(None) => {
                analysis.push(PDU.into());
                format!("{summary} [{PDU}]")
            }
            Label::SegmentOf(Some(line)) => {
                analysis.push(PDU.into());
                format!("{line}  [{PDU}]")
            }
            Label::Continuation => {
                row.protocol = "HTTP".into();
                "Continuation".into()
            }
            Label::Complete { protocol, info } => {
                row.protocol = protocol;
                info
            }
        };
        // The marks go in front (the reassembly suffix, pushed last, is already in
        // `body`).
        let prefix: String = analysis
            .iter()
            .filter(|l| *l != PDU)
            .map(|l| format!("[{l}] "))
            .collect();
        row.info = prefix + &body;
        row.tcp = Some(TcpRow {
            stream,
            src_port: seg.sport,
            dst_port: seg.dport,
            seq,
            ack,
            raw_seq: seg.seq,
            raw_ack: has_ack.then_some(seg.ack),
            len: seg.seglen as usize,
            flags: flags_str,
            flag_bits: seg.flags,
            win: window,
            options,
            analysis,
        });
    }
}
