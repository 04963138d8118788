//! Frames in, one [`Row`] per frame out: the stateless dissection of [`super::dissect`]
//! finished with what needs memory across frames.
//!
//! [`Analyzer`] is incremental: it is fed one frame at a time (from a file by `taplab
//! trace`, or as frames pass through a live server or the lab's wire) and keeps only
//! bounded state: the TCP conversations of [`super::tcp`] with their HTTP reassembly,
//! and the ICMP echo requests awaiting replies. Each row is what a single pass of tshark
//! 4.0 shows (`tshark -r FILE`), since a live listing cannot look ahead either: no
//! "reply in" forward references, and an HTTP message named in the frame that
//! completes it.

use super::dissect::{self, TcpSeg, Transport};
use super::listing::ListingOptions;
use super::marks::{Mark, bit};
use super::pcap::{CapturedFrame, LinkType};
use super::row::{Content, OptionBytes, OtherRow, Row, TcpRow};
use super::tcp::{NOT_DISSECTED, TcpTable};
use crate::tcp::TcpFlags;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Echo requests remembered for pairing with replies.
const MAX_ECHOES: usize = 4096;

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

    /// Whether TCP payload is decoded as HTTP (on by default). Off, every TCP row shows
    /// its TCP summary, as `tshark -d tcp.port==80,data` does on port 80.
    pub fn set_http(&mut self, on: bool) {
        self.http = on;
    }

    /// The capture time of the first frame (µs since the epoch), once there was one.
    pub fn first_time_us(&self) -> Option<i64> {
        self.first_us
    }

    /// Number of TCP conversations currently tracked (bounded by
    /// [`super::tcp::MAX_STREAMS`]).
    #[cfg(test)]
    pub(crate) fn tracked_streams(&self) -> usize {
        self.tcp.len()
    }

    /// Bytes held for HTTP messages still incomplete (bounded by
    /// [`super::tcp::MAX_HTTP_BUFFERED`]).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
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
        let content = match d.transport {
            Transport::Tcp(seg) => Content::Tcp(self.tcp_row(time_us, &seg)),
            Transport::Echo(e) => Content::Other(OtherRow {
                info: self.echo(&e),
                src: d.src,
                dst: d.dst,
                protocol: d.protocol,
            }),
            Transport::None => Content::Other(OtherRow {
                src: d.src,
                dst: d.dst,
                protocol: d.protocol,
                info: d.info,
            }),
        };
        Row {
            no: self.no,
            time: time_us.saturating_sub(first) as f64 / 1e6,
            time_us,
            length: frame.len(),
            content,
        }
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

    fn tcp_row(&mut self, time_us: i64, seg: &TcpSeg) -> TcpRow {
        let absolute = self.opts.absolute;
        let si = self.tcp.segment(self.no, time_us, seg);
        let has_ack = seg.flags.contains(TcpFlags::ACK);
        // tshark hands neither retransmissions nor a RST's payload to HTTP; a FIN
        // without payload can still end a response that runs until the close.
        let to_http = self.http
            && si.analysis & NOT_DISSECTED == 0
            && !seg.flags.contains(TcpFlags::RST)
            && (seg.seglen > 0 || seg.flags.contains(TcpFlags::FIN));
        let http = if to_http {
            let ooo = si.analysis & bit::OUT_OF_ORDER != 0;
            self.tcp.http(si.stream, si.dir, seg, ooo)
        } else {
            None
        };
        TcpRow {
            stream: si.stream,
            dir: si.dir,
            src: seg.src,
            dst: seg.dst,
            src_port: seg.sport,
            dst_port: seg.dport,
            seq: if absolute { seg.seq } else { si.rel_seq },
            ack: if absolute {
                has_ack.then_some(seg.ack)
            } else {
                si.rel_ack
            },
            raw_seq: seg.seq,
            raw_ack: has_ack.then_some(seg.ack),
            len: seg.seglen as usize,
            flags: seg.flags,
            ace: si.ace,
            win: si.window,
            win_field: seg.window,
            urgent: seg.urgent,
            option_bytes: OptionBytes::new(seg.options),
            sack_base: if absolute {
                0
            } else {
                si.rev_base.unwrap_or(0)
            },
            seq_base: si.base,
            ack_base: si.rev_base.unwrap_or(0),
            in_flight: si.in_flight,
            marks: Mark::list(si.analysis, si.dup),
            http,
        }
    }
}
