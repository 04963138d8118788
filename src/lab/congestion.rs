//! The checks of the flow- and congestion-control scenarios — `slow-start`,
//! `fast-retransmit`, `rto-backoff`, `congestion-avoidance`, `window-limited` and
//! `nagle-delayed-ack` — and the one view of a connection they share.
//!
//! That view is the sender's, read from the capture at the server's end of the wire (the
//! server is the sender of every response): each data segment the server sent, in order,
//! with the bytes in flight once it had left ([`Sent`]: highest byte sent minus highest
//! byte the client had acknowledged, as Wireshark's `tcp.analysis.bytes_in_flight`),
//! and whether the analyzer marked it a retransmission. Flights ([`Flight`]) group the
//! segments sent in one round trip. Data enters as the scenario's [`Evidence`]; what
//! leaves is a [`Verdict`] that quotes the numbers a student would look up in the listing.
//!
//! What smoltcp 0.14 does, which the checks expect and the scenarios' texts describe:
//! its congestion window starts at 2048 bytes (not Linux's ten segments) and counts
//! bytes, so a flight ends with a partial segment; in slow start it grows by at most one
//! MSS per ACK; fast retransmit resends one segment per three duplicate ACKs (no SACK
//! recovery); a retransmission timeout resends from the first unacknowledged byte with a
//! window of one MSS, and the timeout (at least 1 s) doubles with every expiry.

use super::frames::Seg;
use super::scenarios::{Evidence, Verdict, verdict};
use crate::knobs::CongestionControl;
use crate::trace::Mark;
use smoltcp::time::Instant;

/// smoltcp's smallest retransmission timeout (RFC 6298's 1 s), in ms.
const MIN_RTO_MS: f64 = 1000.0;

/// How the analyzer saw a data segment that was sent before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resent {
    /// `[TCP Fast Retransmission]`: after duplicate ACKs.
    Fast,
    /// `[TCP Retransmission]` (a timeout) or `[TCP Spurious Retransmission]`.
    Other,
}

/// One data segment the server sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Frame number in the capture.
    pub no: usize,
    pub time: Instant,
    /// Relative sequence number and payload length.
    pub seq: u32,
    pub len: usize,
    /// Bytes in flight once it had left: highest byte sent − highest byte acknowledged.
    pub in_flight: u32,
    /// The highest (relative) byte the client had acknowledged by then.
    pub acked: u32,
    pub resent: Option<Resent>,
}

/// The data segments of one round trip.
#[derive(Debug, Clone)]
pub struct Flight {
    /// Frame number of its first segment.
    pub first: usize,
    /// New bytes (retransmissions not counted).
    pub bytes: u64,
    /// Some segment in it was a retransmission.
    pub resends: bool,
}

/// The connection that carried the most bytes from the server.
pub fn busiest_stream(e: &Evidence) -> Option<usize> {
    let mut bytes: Vec<(usize, usize)> = Vec::new();
    for (_, s) in e.segs() {
        if s.from_client || s.len == 0 {
            continue;
        }
        match bytes.iter_mut().find(|(st, _)| *st == s.stream) {
            Some(b) => b.1 += s.len,
            None => bytes.push((s.stream, s.len)),
        }
    }
    // The first of equals: max_by_key would take the last.
    let most = bytes.iter().map(|b| b.1).max()?;
    bytes.iter().find(|b| b.1 == most).map(|b| b.0)
}

/// The server's data segments on `stream`, with the bytes in flight after each.
pub fn sender_view(e: &Evidence, stream: usize) -> Vec<Sent> {
    let mut acked = 0u32;
    let mut high = 0u32;
    let mut out = Vec::new();
    for f in e.frames {
        let Some(s) = f.tcp().filter(|s| s.stream == stream) else {
            continue;
        };
        if s.from_client {
            if s.ack && !s.syn {
                acked = acked.max(s.rel_ack);
            }
            continue;
        }
        if s.len == 0 || s.syn {
            continue;
        }
        high = high.max(s.rel_seq.wrapping_add(s.len as u32));
        let resent = if s.has(Mark::FastRetransmission) {
            Some(Resent::Fast)
        } else if s.retransmitted() {
            Some(Resent::Other)
        } else {
            None
        };
        out.push(Sent {
            no: f.no,
            time: f.time,
            seq: s.rel_seq,
            len: s.len,
            in_flight: high.saturating_sub(acked),
            acked,
            resent,
        });
    }
    out
}

/// The round-trip time the handshake shows at the server: its SYN-ACK out, the client's
/// ACK in. In ms.
pub fn handshake_rtt(e: &Evidence, stream: usize) -> Option<f64> {
    let mut synack = None;
    for f in e.frames {
        let Some(s) = f.tcp().filter(|s| s.stream == stream) else {
            continue;
        };
        match synack {
            None if !s.from_client && s.syn && s.ack => synack = Some(f.time),
            Some(t) if s.from_client && s.ack && !s.syn => return Some(ms(f.time, t)),
            _ => {}
        }
    }
    None
}

/// Groups data segments into flights: a new flight starts after a pause of more than
/// half a round trip (the sender waiting for ACKs).
pub fn flights(sent: &[Sent], rtt_ms: f64) -> Vec<Flight> {
    let mut out: Vec<Flight> = Vec::new();
    let mut last: Option<Instant> = None;
    for s in sent {
        let new = last.is_none_or(|l| ms(s.time, l) > rtt_ms / 2.0);
        if new {
            out.push(Flight {
                first: s.no,
                bytes: 0,
                resends: false,
            });
        }
        if let Some(f) = out.last_mut() {
            match s.resent {
                Some(_) => f.resends = true,
                None => f.bytes += s.len as u64,
            }
        }
        last = Some(s.time);
    }
    out
}

/// `a − b` in milliseconds.
fn ms(a: Instant, b: Instant) -> f64 {
    (a - b).total_micros() as f64 / 1000.0 * if a < b { -1.0 } else { 1.0 }
}

/// Seconds since the first captured frame, as the listing prints them.
fn at(e: &Evidence, t: Instant) -> String {
    let t0 = e.frames.first().map_or(t, |f| f.time);
    format!("{:.3} s", ms(t, t0) / 1000.0)
}

/// The largest window the client advertised on `stream` (after its SYN).
fn client_window(e: &Evidence, stream: usize) -> u64 {
    e.segs()
        .filter(|(_, s)| s.stream == stream && s.from_client && !s.syn)
        .map(|(_, s)| s.win)
        .max()
        .unwrap_or(0)
}

/// The segment in frame `no`.
fn seg_at<'a>(e: &'a Evidence, no: usize) -> Option<&'a Seg> {
    e.frames.get(no.wrapping_sub(1)).and_then(|f| f.tcp())
}

/// The stream, its handshake RTT and the sender's view, or why there are none.
fn connection(e: &Evidence) -> Result<(usize, f64, Vec<Sent>), Verdict> {
    let stream = busiest_stream(e).ok_or_else(|| verdict(false, "the server sent no data"))?;
    let rtt = handshake_rtt(e, stream)
        .ok_or_else(|| verdict(false, "no handshake to measure the round trip from"))?;
    Ok((stream, rtt, sender_view(e, stream)))
}

pub fn check_slow_start(e: &Evidence) -> Verdict {
    let (stream, rtt, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let fl = flights(&sent, rtt);
    let window = client_window(e, stream);
    let doubled = fl
        .windows(2)
        .take_while(|w| !w[1].resends && w[1].bytes as f64 >= 1.8 * w[0].bytes as f64)
        .count();
    // The flight that stopped the doubling, and why.
    let stop = fl.get(doubled + 1);
    let mss = 1460.0;
    let reason = match stop {
        Some(f) if f.resends => Some(format!("the first loss (#{})", f.first)),
        Some(f) if f.bytes as f64 >= window as f64 - mss => {
            Some(format!("the client's window of {window} bytes"))
        }
        _ => None,
    };
    let shown = (doubled + 3).max(8);
    let mut flights_text: Vec<String> = fl
        .iter()
        .take(shown)
        .enumerate()
        .map(|(i, f)| match i.checked_sub(1).map(|p| &fl[p]) {
            Some(p) => format!(
                "{} (×{:.2})",
                f.bytes,
                f.bytes as f64 / p.bytes.max(1) as f64
            ),
            None => f.bytes.to_string(),
        })
        .collect();
    if fl.len() > shown {
        flights_text.push("…".into());
    }
    verdict(
        doubled >= 4 && reason.is_some(),
        format!(
            "RTT {rtt:.1} ms (handshake); new bytes per round trip: {}; doubled {doubled} times in a row, {}",
            flights_text.join(", "),
            match reason {
                Some(r) => format!("until {r}"),
                None => "then grew slower, with neither a loss nor the window in the way".into(),
            }
        ),
    )
}

pub fn check_fast_retransmit(e: &Evidence) -> Verdict {
    let (stream, rtt, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(fast) = sent.iter().find(|s| s.resent == Some(Resent::Fast)) else {
        return verdict(
            false,
            match sent.iter().find(|s| s.resent.is_some()) {
                Some(s) => format!(
                    "no fast retransmission: the first resend, #{} at {}, came after a timeout",
                    s.no,
                    at(e, s.time)
                ),
                None => "no retransmission at all".into(),
            },
        );
    };
    let Some(original) = sent.iter().find(|s| s.seq == fast.seq) else {
        return verdict(false, "the retransmitted segment was never sent before");
    };
    let timeout_first = sent
        .iter()
        .any(|s| s.seq == fast.seq && s.resent == Some(Resent::Other) && s.no < fast.no);
    let dups: Vec<usize> = e
        .segs()
        .filter(|(n, s)| {
            *n > original.no
                && *n < fast.no
                && s.stream == stream
                && s.from_client
                && s.has(Mark::DupAck { frame: 0, count: 0 })
                && s.rel_ack == fast.seq
        })
        .map(|(n, _)| n)
        .collect();
    let waited = ms(fast.time, original.time);
    verdict(
        dups.len() >= 3 && !timeout_first && waited < MIN_RTO_MS,
        format!(
            "#{} (Seq={}, Len={}) left at {} and was lost; {} duplicate ACK(s) of Seq={} came back ({}); #{} [TCP Fast Retransmission] resent it at {}: {waited:.1} ms after the original, about one RTT ({rtt:.1} ms), where a timeout would have waited at least {:.0} s",
            original.no,
            original.seq,
            original.len,
            at(e, original.time),
            dups.len(),
            fast.seq,
            dups.iter()
                .take(4)
                .map(|n| format!("#{n}"))
                .collect::<Vec<_>>()
                .join(", ")
                + if dups.len() > 4 { ", …" } else { "" },
            fast.no,
            at(e, fast.time),
            MIN_RTO_MS / 1000.0
        ),
    )
}

pub fn check_rto_backoff(e: &Evidence) -> Verdict {
    let (_, _, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(first) = sent.iter().find(|s| s.resent == Some(Resent::Other)) else {
        return verdict(false, "no retransmission after a timeout");
    };
    // Every sending of that segment's first byte, original included.
    let times: Vec<(usize, Instant)> = sent
        .iter()
        .filter(|s| s.seq == first.seq)
        .map(|s| (s.no, s.time))
        .collect();
    let waits: Vec<f64> = times.windows(2).map(|w| ms(w[1].1, w[0].1)).collect();
    let floor = waits.first().is_some_and(|&w| w >= MIN_RTO_MS * 0.99);
    let doubling = waits
        .windows(2)
        .all(|w| (1.9..=2.1).contains(&(w[1] / w[0])));
    verdict(
        waits.len() >= 4 && floor && doubling,
        format!(
            "Seq={} was sent {} time(s): {}; waits {} — {}",
            first.seq,
            times.len(),
            times
                .iter()
                .map(|(n, t)| format!("#{n} at {}", at(e, *t)))
                .collect::<Vec<_>>()
                .join(", "),
            waits
                .iter()
                .map(|w| format!("{:.3} s", w / 1000.0))
                .collect::<Vec<_>>()
                .join(", "),
            if floor && doubling {
                "the timeout starts at smoltcp's 1 s floor and doubles after each expiry"
            } else {
                "not a doubling from 1 s"
            }
        ),
    )
}

/// One loss the sender recovered from by fast retransmit: the flight just before the
/// retransmission and the flight just after the recovery.
struct Tooth {
    at: usize,
    peak: u32,
    trough: u32,
}

/// Segments that must follow a recovery for its flight to count: fewer, and the transfer
/// was ending (the flight shrinks because nothing is left to send).
const BUSY_AFTER: usize = 8;

/// The largest flight among the new-data segments sent at the same instant as `sent[i]`
/// (an ACK releases a burst; its last segment shows the whole flight).
fn burst_flight(sent: &[Sent], i: usize) -> u32 {
    let t = sent[i].time;
    sent.iter()
        .skip_while(|s| s.time < t)
        .take_while(|s| s.time == t)
        .filter(|s| s.resent.is_none())
        .map(|s| s.in_flight)
        .max()
        .unwrap_or(sent[i].in_flight)
}

/// The sawtooth: for every fast retransmission whose recovery completed before the next
/// loss, the flight before it and after it. Also the number of loss episodes that ended in
/// a retransmission timeout.
fn teeth(sent: &[Sent]) -> (Vec<Tooth>, usize) {
    // Loss events: the first resend after new data (a run of resends is one event).
    let mut events: Vec<(usize, Resent)> = Vec::new();
    let mut in_event = false;
    for (i, s) in sent.iter().enumerate() {
        match s.resent {
            Some(kind) if !in_event => {
                events.push((i, kind));
                in_event = true;
            }
            Some(Resent::Other) => {
                // A timeout inside a fast recovery: the recovery failed.
                if let Some(last) = events.last_mut() {
                    last.1 = Resent::Other;
                }
            }
            Some(Resent::Fast) => {}
            None => in_event = false,
        }
    }
    let timeouts = events.iter().filter(|e| e.1 == Resent::Other).count();
    let mut out = Vec::new();
    for (k, &(i, kind)) in events.iter().enumerate() {
        if kind != Resent::Fast {
            continue;
        }
        let next = events.get(k + 1).map_or(sent.len(), |n| n.0);
        let Some(before) = sent[..i].iter().rposition(|s| s.resent.is_none()) else {
            continue;
        };
        // The recovery is over when the client's ACK passes the resent segment; the first
        // new data after that shows the cut window.
        let Some(exit) =
            (i..next).find(|&j| sent[j].resent.is_none() && sent[j].acked > sent[i].seq)
        else {
            continue;
        };
        if next - exit < BUSY_AFTER {
            continue;
        }
        out.push(Tooth {
            at: sent[i].no,
            peak: burst_flight(sent, before),
            trough: burst_flight(sent, exit),
        });
    }
    (out, timeouts)
}

pub fn check_congestion_avoidance(e: &Evidence) -> Verdict {
    let (_, rtt, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let cc = e.config.server_knobs.cc;
    let (teeth, timeouts) = teeth(&sent);
    let mut ratios: Vec<f64> = teeth
        .iter()
        .map(|t| t.trough as f64 / t.peak.max(1) as f64)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios.get(ratios.len() / 2).copied();
    // Reno halves the window (β = 0.5), Cubic keeps 0.7 of it (RFC 9438); the flight
    // measured after the cut also lost what was in flight beyond the window.
    let (range, rule) = match cc {
        CongestionControl::Reno => (0.3..=0.6, "Reno halves it"),
        CongestionControl::Cubic => (0.55..=0.85, "Cubic keeps 0.7 of it"),
        CongestionControl::None => (2.0..=2.0, "with --cc none nothing cuts it"),
    };
    let shown: Vec<String> = teeth
        .iter()
        .take(6)
        .map(|t| format!("#{} {}→{}", t.at, t.peak, t.trough))
        .collect();
    verdict(
        teeth.len() >= 2 && median.is_some_and(|m| range.contains(&m)),
        format!(
            "--cc {}: {} loss(es) at the queue recovered by fast retransmit, the flight cut each time (bytes in flight before → after: {}{}), median ×{}: {rule}; {timeouts} loss episode(s) ended in a timeout; RTT {rtt:.1} ms without queueing",
            cc.name(),
            teeth.len(),
            shown.join(", "),
            if teeth.len() > 6 { ", …" } else { "" },
            median.map_or("-".into(), |m| format!("{m:.2}")),
        ),
    )
}

pub fn check_window_limited(e: &Evidence) -> Verdict {
    let (stream, rtt, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let window = client_window(e, stream);
    let most = sent.iter().map(|s| s.in_flight).max().unwrap_or(0);
    let full: Vec<usize> = e
        .segs()
        .filter(|(_, s)| s.stream == stream && !s.from_client && s.has(Mark::WindowFull))
        .map(|(n, _)| n)
        .collect();
    // Throughput from the first full window to the last byte.
    let rate = full.first().and_then(|&n| {
        let from = sent.iter().position(|s| s.no == n)?;
        let last = sent.last()?;
        let bytes: usize = sent[from + 1..]
            .iter()
            .filter(|s| s.resent.is_none())
            .map(|s| s.len)
            .sum();
        let secs = ms(last.time, sent[from].time) / 1000.0;
        (secs > 0.0).then(|| bytes as f64 / secs)
    });
    let ceiling = window as f64 / (rtt / 1000.0);
    let overall = match (sent.first(), sent.last()) {
        (Some(a), Some(b)) if b.time > a.time => {
            let bytes: usize = sent
                .iter()
                .filter(|s| s.resent.is_none())
                .map(|s| s.len)
                .sum();
            Some(bytes as f64 / (ms(b.time, a.time) / 1000.0))
        }
        _ => None,
    };
    let link = e.config.wire.bandwidth.map(|b| b as f64 / 8.0);
    let capped = rate.is_some_and(|r| r <= ceiling * 1.1 && r >= ceiling * 0.7)
        && link.is_none_or(|l| ceiling < l * 0.9);
    verdict(
        window <= 65535 && most as u64 <= window && full.len() >= 5 && capped,
        format!(
            "the client's window: {window} bytes{}; most in flight: {most} bytes; {} segment(s) filled the window ([TCP Window Full], the first {}); from there {} — one window per round trip is {window} B / {rtt:.1} ms = {:.0} kB/s{}; the whole transfer: {}",
            if window <= 65535 {
                " (no window scaling)"
            } else {
                ""
            },
            full.len(),
            full.first().map_or("-".into(), |n| format!("#{n}")),
            rate.map_or("no window-limited phase".into(), |r| format!(
                "{:.0} kB/s",
                r / 1000.0
            )),
            ceiling / 1000.0,
            link.map_or(String::new(), |l| format!(
                ", on a link of {:.0} kB/s",
                l / 1000.0
            )),
            overall.map_or("-".into(), |r| format!("{:.0} kB/s", r / 1000.0))
        ),
    )
}

pub fn check_nagle_delayed_ack(e: &Evidence) -> Verdict {
    let (stream, rtt, sent) = match connection(e) {
        Ok(c) => c,
        Err(v) => return v,
    };
    // The longest pause between two data segments of the response, and what ended it.
    let pause = sent
        .windows(2)
        .map(|w| (ms(w[1].time, w[0].time), &w[0], &w[1]))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let Some((gap, before, held)) = pause else {
        return verdict(
            false,
            "the response fit in one segment: nothing to hold back",
        );
    };
    // The client's ACK that arrived at the instant the held segment left.
    let release = e.segs().find(|(n, s)| {
        *n < held.no
            && s.stream == stream
            && s.from_client
            && s.ack
            && e.frames[n - 1].time == held.time
    });
    let acked_all = release.is_some_and(|(_, s)| s.rel_ack == before.seq + before.len as u32);
    let mss = seg_at(e, before.no).map_or(0, |s| s.len);
    let small = held.len < mss;
    let stall = gap - rtt;
    let delay = e
        .config
        .client
        .knobs
        .ack_delay
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let ok = acked_all && small && delay > 0.0 && (stall - delay).abs() <= 5.0;
    let released = match release {
        Some((n, s)) => format!("#{n}, the client's ACK of everything (Ack={})", s.rel_ack),
        None => "no ACK".into(),
    };
    verdict(
        ok,
        if ok {
            format!(
                "#{} (Len={}) left at {}; the rest of the response, #{} (Len={} < MSS), waited {gap:.1} ms for {released}: one round trip ({rtt:.1} ms) + {stall:.1} ms of the client's delayed ACK ({delay:.0} ms) — Nagle holds a small segment while data is unacknowledged, and the client, with nothing to send, delays its ACK",
                before.no,
                before.len,
                at(e, before.time),
                held.no,
                held.len,
            )
        } else {
            format!(
                "no stall: the longest pause in the response, before #{} (Len={}), was {gap:.1} ms = one round trip ({rtt:.1} ms) + {stall:.1} ms, waiting for {released} (client ACK delay {delay:.0} ms, server Nagle {})",
                held.no,
                held.len,
                if e.config.server_knobs.nagle {
                    "on"
                } else {
                    "off"
                }
            )
        },
    )
}
