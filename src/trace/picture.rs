//! Ladder pictures of a capture: turns the analyzer's [`Row`]s and the state timeline's
//! [`StateChange`]s into the [`Ladder`] that [`super::ladder::render_svg`] draws.
//!
//! The client (the end that sent the first SYN of the first stream pictured) is on the
//! left, the server on the right. Each TCP row becomes one arrow labelled as the listing
//! labels it (relative numbers, window, options); an HTTP row carries its request or
//! status line as a note, a row with Wireshark analysis (a retransmission, a window
//! update) carries that. A state change caused by a segment the end *sent* is drawn
//! above that segment's arrow, one caused by a segment it *received* below it, and each
//! end's first state is drawn before anything happens.

use super::http::HttpPart;
use super::ladder::{Item, Ladder, Segment, StateMark};
use super::listing::{Extras, option_texts};
use super::row::{Row, TcpRow};
use crate::tcp::{Side, StateChange, TcpFlags};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The ladder of the TCP rows of `rows` (the streams already chosen by the caller) with
/// their state changes; `t0_us` is the capture's first frame time (µs since the epoch),
/// from which the rows' times count. With `extras.in_flight`, data segments' labels end
/// with their bytes in flight, as the listing's lines do.
pub fn ladder(
    title: &str,
    rows: &[Row],
    changes: &[StateChange],
    t0_us: i64,
    extras: Extras,
) -> Ladder {
    let tcp: Vec<(&Row, &TcpRow)> = rows.iter().filter_map(|r| Some((r, r.tcp()?))).collect();
    // Each stream's client: the source of its first row with SYN and no ACK, else of
    // its first row.
    let mut clients: BTreeMap<usize, (IpAddr, u16)> = BTreeMap::new();
    for (_, t) in &tcp {
        let syn_only = t.flags == TcpFlags::SYN;
        let src = (t.src, t.src_port);
        match clients.entry(t.stream) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(src);
            }
            std::collections::btree_map::Entry::Occupied(mut o) if syn_only => {
                o.insert(src);
            }
            _ => {}
        }
    }
    let (left, right) = match tcp.first() {
        Some((_, t)) => {
            let (cip, cport) = clients[&t.stream];
            let (sip, sport) = if (t.src, t.src_port) == (cip, cport) {
                (t.dst, t.dst_port)
            } else {
                (t.src, t.src_port)
            };
            (format!("client {cip}"), format!("server {sip}:{sport}"))
        }
        None => ("client".to_string(), "server".to_string()),
    };

    let mut by_frame: BTreeMap<u64, Vec<&StateChange>> = BTreeMap::new();
    for c in changes {
        by_frame.entry(c.frame.unwrap_or(0)).or_default().push(c);
    }
    let mut started: BTreeMap<(usize, bool), ()> = BTreeMap::new();
    let mut items = Vec::new();
    let mark = |c: &StateChange, state| StateMark {
        time: (c.time.total_micros() - t0_us) as f64 / 1e6,
        left: c.side == Side::Client,
        stream: c.stream().unwrap_or(0),
        state,
        inferred: c.inferred.is_some(),
    };
    for (r, t) in &tcp {
        let client = clients[&t.stream];
        let from_left = (t.src, t.src_port) == client;
        let here = by_frame.get(&r.no).map_or(&[][..], |v| v.as_slice());
        for c in here {
            let left = c.side == Side::Client;
            if started
                .insert((c.stream().unwrap_or(0), left), ())
                .is_none()
            {
                items.push(Item::State(mark(c, c.from)));
            }
        }
        // What an end does itself shows above its arrow; what it sees, below.
        let (before, after): (Vec<&&StateChange>, Vec<&&StateChange>) = here
            .iter()
            .partition(|c| c.inferred.is_some_and(|i| i.cause.by_its_own_segment()));
        items.extend(before.into_iter().map(|c| Item::State(mark(c, c.to))));
        items.push(Item::Segment(segment(r, t, from_left, extras)));
        items.extend(after.into_iter().map(|c| Item::State(mark(c, c.to))));
    }
    Ladder {
        title: title.to_string(),
        left,
        right,
        items,
    }
}

/// One arrow: labelled with the listing's numbers and options; the note is the HTTP
/// row's Info, or the analysis worth a note (a retransmission, a window update).
fn segment(r: &Row, t: &TcpRow, from_left: bool, extras: Extras) -> Segment {
    let mut label = format!("Seq={}", t.seq);
    if let Some(a) = t.ack {
        label += &format!(" Ack={a}");
    }
    label += &format!(" Win={} Len={}", t.win, t.len);
    for o in option_texts(t) {
        label.push(' ');
        label += &o;
    }
    if let Some(n) = t.in_flight.filter(|_| extras.in_flight) {
        label += &format!(" [Bytes in flight: {n}]");
    }
    let names_http = matches!(
        t.http,
        Some(HttpPart::Messages { .. } | HttpPart::Continuation)
    );
    let note = if names_http {
        Some(r.info().trim().to_string())
    } else if !t.marks.is_empty() {
        Some(
            t.marks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        )
    } else {
        None
    };
    Segment {
        frame: r.no,
        time: r.time,
        from_left,
        stream: t.stream,
        flags: t.flags,
        label,
        len: t.len,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::super::analyzer::Analyzer;
    use super::super::ladder::{LadderOptions, render_svg};
    use super::super::listing::ListingOptions;
    use super::super::pcap::LinkType;
    use super::super::timeline::StateTracker;
    use super::*;
    use crate::testutil::{frame, segment};
    use smoltcp::wire::{TcpControl, TcpRepr};

    #[test]
    fn a_handshake_and_close_become_arrows_and_states_in_order() {
        let c = |ctl, seq, ack: Option<u32>, payload: &'static [u8]| TcpRepr {
            payload,
            ..segment(40000, 80, ctl, seq, ack)
        };
        let s = |ctl, seq, ack: Option<u32>| segment(80, 40000, ctl, seq, ack);
        let frames = [
            frame(false, &c(TcpControl::Syn, 100, None, b"")),
            frame(true, &s(TcpControl::Syn, 500, Some(101))),
            frame(false, &c(TcpControl::None, 101, Some(501), b"")),
            frame(
                false,
                &c(TcpControl::Psh, 101, Some(501), b"GET / HTTP/1.1\r\n\r\n"),
            ),
            frame(false, &c(TcpControl::Fin, 119, Some(501), b"")),
            frame(true, &s(TcpControl::Fin, 501, Some(120))),
            frame(false, &c(TcpControl::None, 120, Some(502), b"")),
        ];
        let mut a = Analyzer::new(ListingOptions::default());
        let mut tr = StateTracker::new();
        let mut rows = Vec::new();
        let mut changes = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let row = a.push(1_000_000 + i as i64 * 1000, LinkType::Ethernet, f);
            changes.extend(tr.push(&row));
            rows.push(row);
        }
        let l = ladder("t", &rows, &changes, 1_000_000, Extras::default());
        assert_eq!(l.left, "client 192.168.69.100");
        assert_eq!(l.right, "server 192.168.69.1:80");
        let kinds: Vec<String> = l
            .items
            .iter()
            .map(|i| match i {
                Item::Segment(s) => format!(
                    "{}{}",
                    if s.from_left { ">" } else { "<" },
                    s.flags.wireshark()
                ),
                Item::State(m) => format!("{}:{}", if m.left { "C" } else { "S" }, m.state),
            })
            .collect();
        // Initial states first, SYN_SENT above the SYN, SYN_RCVD below it, ...
        assert_eq!(
            &kinds[..5],
            ["C:CLOSED", "S:LISTEN", "C:SYN_SENT", ">SYN", "S:SYN_RCVD"]
        );
        assert!(kinds.contains(&"C:TIME_WAIT".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"S:CLOSED".to_string()), "{kinds:?}");
        let states: Vec<f64> = l
            .items
            .iter()
            .filter_map(|i| match i {
                Item::State(m) => Some(m.time),
                _ => None,
            })
            .collect();
        assert_eq!(states[0], 0.0);
        assert!((states.last().unwrap() - 0.006).abs() < 1e-9, "{states:?}");
        let get = l.items.iter().find_map(|i| match i {
            Item::Segment(s) if s.len > 0 => Some(s),
            _ => None,
        });
        assert_eq!(get.unwrap().note.as_deref(), Some("GET / HTTP/1.1"));
        let svg = render_svg(&l, &LadderOptions::default());
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{}",
            &svg[..40]
        );
        assert!(svg.contains("TIME_WAIT"));
        assert!(!svg.contains("Bytes in flight"));
        // With --in-flight the request's label says what is in flight after it.
        let extras = Extras { in_flight: true };
        let l = ladder("t", &rows, &changes, 1_000_000, extras);
        let get = l.items.iter().find_map(|i| match i {
            Item::Segment(s) if s.len > 0 => Some(s),
            _ => None,
        });
        assert!(
            get.unwrap()
                .label
                .ends_with(" Len=18 [Bytes in flight: 18]"),
            "{:?}",
            get.unwrap().label
        );
    }
}
