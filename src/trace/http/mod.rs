//! HTTP over one TCP connection, as a single pass of tshark 4.0 sees it.
//!
//! Segments with payload come in (raw sequence number, bytes) per direction, and the
//! end of a direction (its FIN); out comes an [`HttpPart`] saying what HTTP made of that
//! segment, as data: the message heads it starts or completes, "segment of a reassembled
//! PDU", or "Continuation". The listing turns it into Info text.
//!
//! tshark reassembles an HTTP message that spans several segments and names it in the
//! frame that *completes* it (`HTTP/1.1 200 OK  (text/html)`); the frame that carries the
//! start line shows that line with `[TCP segment of a reassembled PDU]`, the frames
//! between their TCP summary with the same suffix. Several messages in one segment
//! (pipelining) are all named, in order, and so is the start line of one that begins
//! there and ends later. A response without a length runs until the sender's FIN, which
//! completes it. After a `CONNECT` is answered 2xx the connection is a tunnel: its bytes
//! are not HTTP, unless a segment passes the heuristic (tshark then decodes that one; it
//! also decodes a tunnel to port 443 as TLS, which taplab does not). Bytes that belong to
//! no message are "Continuation" once a request was seen on the connection, and plain
//! TCP before.
//!
//! Which connections are HTTP: those on tshark's HTTP ports ([`HTTP_PORTS`]), and any
//! other once a segment passes tshark's heuristic ([`parse::looks_like_http`]); from
//! that segment on, both directions are HTTP.
//!
//! Memory is bounded per direction: one message in progress (its byte ranges seen so far,
//! or, while its headers are incomplete, at most [`MAX_HEADER_BUF`] bytes), plus the
//! requests awaiting their responses (a HEAD's response has no body). Segments that tshark
//! flags as retransmissions are not passed in, as tshark does not pass them to HTTP.

pub mod parse;

use parse::{Kind, Method, Parse};
use std::collections::VecDeque;

/// Ports tshark decodes as HTTP by default (`http.tcp.port`).
pub const HTTP_PORTS: [u16; 10] = [80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710];

/// Headers longer than this are not reassembled (tshark has no such limit, but a live
/// listing must not grow without bound).
pub const MAX_HEADER_BUF: usize = 64 * 1024;
/// Ranges kept per message in progress; more holes than this and it is given up.
const MAX_RANGES: usize = 256;
const MAX_PENDING_REQUESTS: usize = 32;

/// How an HTTP message starts: its start line and the type its headers name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request or status line, with bytes tshark would not show as they are escaped.
    pub line: String,
    /// The Content-Type header's value as sent, if the headers were complete and had one.
    pub content_type: Option<String>,
}

impl Head {
    /// The media type without parameters, lowercased: `text/html`.
    pub fn media_type(&self) -> Option<String> {
        let ct = self.content_type.as_deref()?;
        let mt = ct.split(';').next().unwrap_or("").trim();
        (!mt.is_empty()).then(|| mt.to_ascii_lowercase())
    }
}

/// A message that is complete in this segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub head: Head,
    /// It carries a body (tshark names the body's media type only then).
    pub has_body: bool,
    /// It starts in this segment too (else its start was in an earlier one).
    pub starts_here: bool,
}

/// After the messages a segment completes: the start of one that goes on in later
/// segments, or bytes that are no message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    Starts(Head),
    Continuation,
}

/// What HTTP made of one segment (`None` from [`HttpConn`]: not its business, the TCP
/// summary alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpPart {
    /// Part of a message still being reassembled: "[TCP segment of a reassembled PDU]".
    /// With the message's head when this segment carries its start line.
    SegmentOf(Option<Head>),
    /// Payload that belongs to no message: "Continuation".
    Continuation,
    /// Bytes carried through a CONNECT tunnel: shown as TCP, but tshark counts them as
    /// HTTP's (`-Y http` keeps them).
    Tunnelled,
    /// The segment completes these messages (several when pipelined), in order.
    Messages {
        done: Vec<Message>,
        tail: Option<Tail>,
    },
}

impl HttpPart {
    /// The head of the message that starts at the segment's first byte, if one does.
    pub fn head_at_start(&self) -> Option<&Head> {
        match self {
            HttpPart::SegmentOf(h) => h.as_ref(),
            HttpPart::Messages { done, .. } => {
                done.first().filter(|m| m.starts_here).map(|m| &m.head)
            }
            HttpPart::Continuation | HttpPart::Tunnelled => None,
        }
    }

    /// Whether tshark's `-Y http` keeps the segment (and `taplab trace --http`): it names
    /// a message, continues one, or is in a tunnel.
    pub fn kept_as_http(&self) -> bool {
        !matches!(self, HttpPart::SegmentOf(_))
    }
}

#[derive(Debug, Clone)]
enum Msp {
    /// Length known: `total` bytes from `start`; `ranges` are the offsets seen.
    Body {
        start: u32,
        total: u32,
        ranges: Vec<(u32, u32)>,
        head: Head,
        has_body: bool,
    },
    /// Length not known yet (start line or headers incomplete): the bytes so far and the
    /// sequence number the next segment must start at.
    More { start: u32, buf: Vec<u8>, next: u32 },
    /// A response without a length: everything up to the sender's FIN.
    UntilClose { head: Head, has_body: bool },
}

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Adds `[from, to)` to sorted, merged ranges; false when there would be too many.
fn add_range(ranges: &mut Vec<(u32, u32)>, from: u32, to: u32) -> bool {
    if from >= to {
        return true;
    }
    ranges.push((from, to));
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *ranges = merged;
    ranges.len() <= MAX_RANGES
}

/// The HTTP state of one TCP connection: a direction index (0 or 1) per segment.
#[derive(Debug, Clone, Default)]
pub struct HttpConn {
    /// Decoded as HTTP: on an HTTP port from the start, else since a segment passed the
    /// heuristic.
    active: bool,
    msp: [Option<Msp>; 2],
    /// The requests parsed and not yet answered, oldest first.
    requests: VecDeque<Method>,
    /// A request line was seen: from then on tshark takes any payload here for HTTP.
    seen_request: bool,
    /// A CONNECT was answered 2xx: what follows is the tunnel's, not HTTP.
    tunnel: bool,
}

/// What one message start in a segment came to.
enum Step {
    /// Complete: the message, and where the bytes after it start.
    Done(Message, usize),
    /// Goes on in later segments (its head, if the start line is complete).
    Open(Option<Head>),
    /// Not a message.
    NotHttp,
}

impl HttpConn {
    /// A connection on one of [`HTTP_PORTS`] is HTTP from its first segment; any other
    /// once a segment passes the heuristic.
    pub fn new(on_http_port: bool) -> Self {
        HttpConn {
            active: on_http_port,
            ..HttpConn::default()
        }
    }

    /// Bytes held for messages whose start line or headers are still incomplete.
    pub fn buffered(&self) -> usize {
        self.msp
            .iter()
            .map(|m| match m {
                Some(Msp::More { buf, .. }) => buf.len(),
                _ => 0,
            })
            .sum()
    }

    /// Gives up the incomplete messages that hold bytes (to stay within a budget).
    pub fn drop_buffers(&mut self) {
        for m in &mut self.msp {
            if matches!(m, Some(Msp::More { .. })) {
                *m = None;
            }
        }
    }

    /// What HTTP makes of a segment of `dir` (0 or 1) starting at raw sequence number
    /// `seq`. `out_of_order`: the analysis marked it so. tshark adds such a segment to a
    /// message in progress, but does not decode anything it would have to decode itself
    /// (a new message, or the message it completes).
    pub fn segment(
        &mut self,
        dir: usize,
        seq: u32,
        payload: &[u8],
        out_of_order: bool,
    ) -> Option<HttpPart> {
        let dir = dir.min(1);
        if payload.is_empty() {
            return None;
        }
        if self.tunnel {
            // tshark tries its heuristics on each segment of a tunnel to a port it has no
            // dissector for: one that passes is read as the start of a message.
            if !parse::looks_like_http(payload) {
                return Some(HttpPart::Tunnelled);
            }
            return self.first(dir, seq, payload.to_vec(), true);
        }
        if !self.active {
            if !parse::looks_like_http(payload) {
                return None;
            }
            self.active = true;
        }
        let end = seq.wrapping_add(payload.len() as u32);
        match self.msp[dir].take() {
            Some(Msp::Body {
                start,
                total,
                mut ranges,
                head,
                has_body,
            }) if !gt(start, seq) && gt(start.wrapping_add(total), seq) => {
                let off = seq.wrapping_sub(start);
                let upto = if gt(end, start.wrapping_add(total)) {
                    total
                } else {
                    end.wrapping_sub(start)
                };
                if !add_range(&mut ranges, off, upto) {
                    return Some(HttpPart::SegmentOf(None));
                }
                if ranges != [(0, total)] {
                    self.msp[dir] = Some(Msp::Body {
                        start,
                        total,
                        ranges,
                        head,
                        has_body,
                    });
                    return Some(HttpPart::SegmentOf(None));
                }
                if out_of_order {
                    return None;
                }
                let done = Message {
                    head,
                    has_body,
                    starts_here: false,
                };
                let rest = &payload[(upto - off) as usize..];
                Some(self.after(dir, vec![done], start.wrapping_add(total), rest))
            }
            Some(Msp::UntilClose { head, .. }) => {
                self.msp[dir] = Some(Msp::UntilClose {
                    head,
                    has_body: true,
                });
                Some(HttpPart::SegmentOf(None))
            }
            Some(more @ Msp::More { .. }) if out_of_order => {
                self.msp[dir] = Some(more);
                None
            }
            Some(Msp::More {
                start,
                mut buf,
                next,
            }) if next == seq => {
                if buf.len() + payload.len() > MAX_HEADER_BUF {
                    return Some(HttpPart::SegmentOf(None));
                }
                buf.extend_from_slice(payload);
                self.first(dir, start, buf, false)
            }
            other if out_of_order => {
                self.msp[dir] = other;
                None
            }
            // Anything else starts afresh (a message in progress that this segment does
            // not continue is given up, as tshark's lookup would not find it either).
            _ => self.first(dir, seq, payload.to_vec(), true),
        }
    }

    /// The end of `dir`'s data (its FIN): completes a response that runs until the close.
    pub fn fin(&mut self, dir: usize) -> Option<HttpPart> {
        let dir = dir.min(1);
        match self.msp[dir].take() {
            Some(Msp::UntilClose { head, has_body }) => Some(HttpPart::Messages {
                done: vec![Message {
                    head,
                    has_body,
                    starts_here: false,
                }],
                tail: None,
            }),
            other => {
                self.msp[dir] = other;
                None
            }
        }
    }

    /// What the bytes of a message starting at `start` (all of them so far, ending with
    /// the current segment's) make of the current segment. `here`: the message starts in
    /// the current segment. Bytes that are no message are "Continuation" once a request
    /// was seen here, and not HTTP's business before (tshark 4.0 shows them as TCP).
    fn first(&mut self, dir: usize, start: u32, buf: Vec<u8>, here: bool) -> Option<HttpPart> {
        Some(match self.step(dir, start, &buf) {
            Step::Done(mut m, used) => {
                m.starts_here = here;
                self.after(
                    dir,
                    vec![m],
                    start.wrapping_add(used as u32),
                    &buf[used.min(buf.len())..],
                )
            }
            Step::Open(head) => HttpPart::SegmentOf(head),
            Step::NotHttp if self.seen_request => HttpPart::Continuation,
            Step::NotHttp => return None,
        })
    }

    /// The rest of a segment after the messages in `done`: more messages (pipelining),
    /// the start of one that goes on, or bytes that are none.
    fn after(
        &mut self,
        dir: usize,
        mut done: Vec<Message>,
        mut seq: u32,
        mut rest: &[u8],
    ) -> HttpPart {
        let mut tail = None;
        while !rest.is_empty() && !self.tunnel {
            match self.step(dir, seq, rest) {
                Step::Done(m, used) => {
                    done.push(m);
                    seq = seq.wrapping_add(used as u32);
                    rest = &rest[used.min(rest.len())..];
                }
                Step::Open(head) => {
                    tail = head.map(Tail::Starts);
                    break;
                }
                Step::NotHttp => {
                    tail = self.seen_request.then_some(Tail::Continuation);
                    break;
                }
            }
        }
        HttpPart::Messages { done, tail }
    }

    /// Reads the message starting at `start` whose bytes so far are `buf`; keeps its
    /// state when it goes on in later segments.
    fn step(&mut self, dir: usize, start: u32, buf: &[u8]) -> Step {
        let pending = self.requests.front().copied();
        let next = start.wrapping_add(buf.len() as u32);
        let more = |buf: &[u8]| Msp::More {
            start,
            buf: buf.to_vec(),
            next,
        };
        match parse::parse(buf, pending) {
            Parse::Binary | Parse::NotHttp => Step::NotHttp,
            Parse::NeedLine => {
                self.msp[dir] = Some(more(buf));
                Step::Open(None)
            }
            Parse::Headers { line } => {
                if !line.starts_with("HTTP/") {
                    self.seen_request = true;
                }
                self.msp[dir] = Some(more(buf));
                Step::Open(Some(Head {
                    line,
                    content_type: None,
                }))
            }
            Parse::Chunked { head, kind, done } => {
                self.note(kind);
                // A chunked message is examined again with each segment: it is
                // accounted for once, when complete.
                if done {
                    self.account(kind);
                    let m = Message {
                        head,
                        has_body: true,
                        starts_here: true,
                    };
                    Step::Done(m, buf.len())
                } else {
                    self.msp[dir] = Some(more(buf));
                    Step::Open(Some(head))
                }
            }
            Parse::Message {
                head,
                kind,
                total,
                body_at,
                has_body,
            } => {
                self.note(kind);
                self.account(kind);
                let Some(total) = total else {
                    self.msp[dir] = Some(Msp::UntilClose {
                        head: head.clone(),
                        has_body: buf.len() > body_at,
                    });
                    return Step::Open(Some(head));
                };
                if total <= buf.len() {
                    let m = Message {
                        head,
                        has_body,
                        starts_here: true,
                    };
                    return Step::Done(m, total);
                }
                let Ok(total) = u32::try_from(total) else {
                    return Step::Open(Some(head));
                };
                self.msp[dir] = Some(Msp::Body {
                    start,
                    total,
                    ranges: vec![(0, buf.len() as u32)],
                    head: head.clone(),
                    has_body,
                });
                Step::Open(Some(head))
            }
        }
    }

    /// A request line makes later non-HTTP bytes "Continuation".
    fn note(&mut self, kind: Kind) {
        if let Kind::Request(_) = kind {
            self.seen_request = true;
        }
    }

    /// Notes a parsed request (queued) or response (answers the oldest; a CONNECT
    /// answered 2xx opens a tunnel).
    fn account(&mut self, kind: Kind) {
        match kind {
            Kind::Request(m) => {
                if self.requests.len() >= MAX_PENDING_REQUESTS {
                    self.requests.pop_front();
                }
                self.requests.push_back(m);
            }
            Kind::Response(status) => {
                if self.requests.pop_front() == Some(Method::Connect)
                    && (200..300).contains(&status)
                {
                    self.tunnel = true;
                    self.msp = [None, None];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
