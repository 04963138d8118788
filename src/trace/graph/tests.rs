//! The graphs of a small connection built frame by frame: a handshake, four segments of
//! data from the server, one of them retransmitted after two duplicate ACKs with SACK,
//! and a zero window at the end. Every frame goes through the real analyzer.

use super::*;
use crate::testutil::{frame, segment};
use crate::trace::{Analyzer, LinkType, ListingOptions, Row};
use series::{Plot, Series};
use smoltcp::wire::{TcpControl, TcpRepr};

static DATA: [u8; 100] = [b'x'; 100];

/// (ms, from the server, control, seq, ack, payload bytes, window, SACK block)
type Spec = (
    i64,
    bool,
    TcpControl,
    u32,
    Option<u32>,
    usize,
    u16,
    Option<(u32, u32)>,
);

fn rows(specs: &[Spec]) -> Vec<Row> {
    let mut a = Analyzer::new(ListingOptions::default());
    specs
        .iter()
        .map(|&(ms, server, control, seq, ack, len, win, sack)| {
            let (sp, dp) = if server { (80, 40000) } else { (40000, 80) };
            let tcp = TcpRepr {
                payload: &DATA[..len],
                window_len: win,
                sack_ranges: [sack, None, None],
                ..segment(sp, dp, control, seq, ack)
            };
            a.push(
                1_000_000_000 + ms * 1000,
                LinkType::Ethernet,
                &frame(server, &tcp),
            )
        })
        .collect()
}

fn connection() -> Vec<Row> {
    use TcpControl::{None as N, Psh, Syn};
    rows(&[
        (0, false, Syn, 100, None, 0, 1000, None),
        (1, true, Syn, 5000, Some(101), 0, 1000, None),
        (2, false, N, 101, Some(5001), 0, 1000, None),
        (3, false, Psh, 101, Some(5001), 10, 1000, None),
        (4, true, N, 5001, Some(111), 100, 1000, None),
        (5, true, N, 5101, Some(111), 100, 1000, None),
        (6, true, N, 5201, Some(111), 100, 1000, None),
        (7, true, N, 5301, Some(111), 100, 1000, None),
        (10, false, N, 111, Some(5201), 0, 1000, None),
        (11, false, N, 111, Some(5201), 0, 1000, Some((5301, 5401))),
        (12, false, N, 111, Some(5201), 0, 1000, Some((5301, 5401))),
        (13, true, N, 5201, Some(111), 100, 1000, None),
        (20, false, N, 111, Some(5401), 0, 1000, None),
        (21, false, N, 111, Some(5401), 0, 0, None),
    ])
}

fn recorder(rows: &[Row]) -> Recorder {
    let mut r = Recorder::new(None);
    for row in rows {
        r.push(row);
    }
    r
}

fn series<'a>(p: &'a Plot, key: &str) -> &'a Series {
    p.series.iter().find(|s| s.key == key).unwrap_or_else(|| {
        panic!(
            "no series {key} in {:?}",
            p.series.iter().map(|s| s.key).collect::<Vec<_>>()
        )
    })
}

/// (frame, y, top) of a series.
fn values(p: &Plot, key: &str) -> Vec<(u64, f64, f64)> {
    series(p, key)
        .points
        .iter()
        .map(|x| (x.frame, x.y, x.top))
        .collect()
}

#[test]
fn the_direction_with_more_data_and_the_analyzers_bytes_in_flight() {
    let rows = connection();
    let in_flight: Vec<Option<u32>> = rows.iter().map(|r| r.tcp().unwrap().in_flight).collect();
    assert_eq!(
        in_flight,
        [
            None,
            None,
            None,
            Some(10),
            Some(100),
            Some(200),
            Some(300),
            Some(400),
            None,
            None,
            None,
            Some(100),
            None,
            None
        ],
        "the retransmission: 201..401 unacknowledged, 301..401 SACKed"
    );
    let rec = recorder(&rows);
    let s = rec.stream(None, None).unwrap();
    assert_eq!(
        (s.number, s.dir, s.dir_chosen),
        (0, Direction::Server, true)
    );
    assert_eq!(s.bytes, [10, 500]);
    assert_eq!(s.flow_text(), "192.168.69.1:80 → 192.168.69.100:40000");
    let c = rec.stream(Some(0), Some(Direction::Client)).unwrap();
    assert_eq!((c.dir, c.dir_chosen), (Direction::Client, false));
    assert!(
        rec.stream(Some(3), None)
            .unwrap_err()
            .contains("no TCP stream 3")
    );
    assert!(Recorder::new(None).stream(None, None).is_err());
}

#[test]
fn tcptrace_shows_segments_acks_window_sacks_and_what_went_wrong() {
    let rec = recorder(&connection());
    let p = kinds::plot(Kind::Tcptrace, &rec.stream(None, None).unwrap(), "test");
    assert_eq!(
        values(&p, "data"),
        [
            (2, 0.0, 1.0),
            (5, 1.0, 101.0),
            (6, 101.0, 201.0),
            (7, 201.0, 301.0),
            (8, 301.0, 401.0)
        ]
    );
    assert_eq!(values(&p, "retransmission"), [(12, 201.0, 301.0)]);
    let acks: Vec<f64> = values(&p, "ack").iter().map(|v| v.1).collect();
    assert_eq!(acks, [1.0, 1.0, 201.0, 201.0, 201.0, 401.0, 401.0]);
    let edge: Vec<f64> = values(&p, "window").iter().map(|v| v.1).collect();
    assert_eq!(
        edge,
        [1001.0, 1001.0, 1201.0, 1201.0, 1201.0, 1401.0, 401.0]
    );
    assert_eq!(values(&p, "sack"), [(10, 301.0, 401.0), (11, 301.0, 401.0)]);
    assert_eq!(
        values(&p, "dup-ack"),
        [(10, 201.0, 201.0), (11, 201.0, 201.0)]
    );
    assert_eq!(values(&p, "zero-window"), [(14, 401.0, 401.0)]);
    assert!(p.title.contains("(tcptrace)") && p.title.contains("stream 0"));
    assert!(
        p.notes[0].contains("data sent by the server"),
        "{:?}",
        p.notes
    );
    // The first frame's time is 0; the data segment of frame 5 was 4 ms later.
    assert_eq!(series(&p, "data").points[1].x, 0.004);
}

#[test]
fn rtt_follows_karns_rule() {
    let rec = recorder(&connection());
    let s = rec.stream(None, None).unwrap();
    let samples = rtt::samples(&s);
    // The handshake (SYN-ACK at 1 ms, its ACK at 2 ms), then the ACK at 10 ms of the
    // segment sent at 5 ms. The ACK at 20 ms covers the retransmitted segment: none.
    let got: Vec<(u64, i64)> = samples.iter().map(|x| (x.frame, x.rtt_us)).collect();
    assert_eq!(got, [(3, 1000), (9, 5000)]);
    let p = kinds::plot(Kind::Rtt, &s, "test");
    assert_eq!(values(&p, "rtt"), [(3, 1.0, 1.0), (9, 5.0, 5.0)]);
}

#[test]
fn throughput_window_and_stevens() {
    let rec = recorder(&connection());
    let s = rec.stream(None, None).unwrap();
    let p = kinds::plot(Kind::Throughput, &s, "test");
    // A 2 ms moving window (two of the shortest round trip, the handshake's 1 ms): the
    // first segment alone, then two segments of 100 bytes in each window.
    let good: Vec<f64> = values(&p, "goodput").iter().map(|v| v.1).collect();
    assert_eq!(good, [400_000.0, 800_000.0, 800_000.0, 800_000.0, 0.0]);
    let all: Vec<f64> = values(&p, "throughput").iter().map(|v| v.1).collect();
    assert_eq!(
        all[4], 400_000.0,
        "the retransmission counts in throughput only"
    );
    assert!(p.notes.iter().any(|n| n.contains("2 ms")), "{:?}", p.notes);
    assert_eq!(series(&p, "segment-length").points.len(), 5);

    let w = kinds::plot(Kind::Window, &s, "test");
    let flight: Vec<f64> = values(&w, "in-flight").iter().map(|v| v.1).collect();
    assert_eq!(flight, [100.0, 200.0, 300.0, 400.0, 100.0]);
    assert_eq!(values(&w, "window").last(), Some(&(14, 0.0, 0.0)));
    assert_eq!(values(&w, "zero-window"), [(14, 0.0, 0.0)]);

    let st = kinds::plot(Kind::Stevens, &s, "test");
    let seqs: Vec<f64> = values(&st, "data").iter().map(|v| v.1).collect();
    assert_eq!(seqs, [0.0, 1.0, 101.0, 201.0, 301.0]);
    assert_eq!(values(&st, "retransmission"), [(12, 201.0, 201.0)]);
}

#[test]
fn pictures_and_data_are_stable_and_say_what_they_show() {
    let rec = recorder(&connection());
    let s = rec.stream(None, None).unwrap();
    for kind in Kind::ALL {
        let svg_req = GraphRequest::parse(&format!("{}=x.svg", kind.name())).unwrap();
        let a = render(&svg_req, &s, "taplab test");
        assert_eq!(a, render(&svg_req, &s, "taplab test"), "{}", kind.name());
        assert!(a.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(a.trim_end().ends_with("</svg>"));
        for bad in ["NaN", "inf", "-0.0 ", "\"-0.0\""] {
            assert!(!a.contains(bad), "{}: {bad}", kind.name());
        }
        assert!(
            a.contains("Time since the first frame (ms)"),
            "{}",
            kind.name()
        );
        let csv_req = GraphRequest::parse(&format!("{}=x.CSV", kind.name())).unwrap();
        let d = render(&csv_req, &s, "taplab test");
        assert!(d.contains("\nseries,frame,time,value,top\n"), "{d}");
    }
    let d = render(&GraphRequest::parse("tcptrace=a.csv").unwrap(), &s, "t");
    assert!(d.contains("\ndata,5,0.004000,1,101\n"), "{d}");
    assert!(d.contains("\nack,9,0.010000,201,\n"), "{d}");
    let svg = render(&GraphRequest::parse("tcptrace=a.svg").unwrap(), &s, "t");
    for legend in [
        "retransmitted segment (1)",
        "duplicate ACK (2)",
        "SACK block (2)",
        "Relative sequence number (bytes)",
    ] {
        assert!(svg.contains(legend), "{legend}");
    }
}

#[test]
fn an_empty_direction_still_draws_axes_and_says_so() {
    let rec = recorder(&connection()[..3]);
    let s = rec.stream(None, Some(Direction::Server)).unwrap();
    let svg = render(&GraphRequest::parse("throughput=x.svg").unwrap(), &s, "t");
    assert!(svg.contains("nothing to draw"), "{svg}");
}

#[test]
fn graph_requests_and_directions_are_checked() {
    assert_eq!(
        GraphRequest::parse("rtt=out/r.svg").unwrap(),
        GraphRequest {
            kind: Kind::Rtt,
            out: "out/r.svg".into()
        }
    );
    assert!(
        GraphRequest::parse("tcptrace")
            .unwrap_err()
            .contains("KIND=OUT.svg")
    );
    assert!(
        GraphRequest::parse("sequence=x.svg")
            .unwrap_err()
            .contains("tcptrace, stevens, throughput, rtt, window")
    );
    assert!(
        GraphRequest::parse("rtt=")
            .unwrap_err()
            .contains("name the file")
    );
    assert_eq!(parse_direction("client"), Ok(Direction::Client));
    assert!(parse_direction("up").is_err());
}

#[test]
fn the_recorder_is_bounded_and_says_where_it_stopped() {
    let rows = connection();
    let mut rec = Recorder::with_cap(None, 5);
    for r in &rows {
        rec.push(r);
    }
    let s = rec.stream(None, None).unwrap();
    assert_eq!(s.events.len(), 5);
    assert_eq!(s.cut_after, Some(5));
    assert_eq!(s.bytes, [10, 500], "bytes still counted past the bound");
    let p = kinds::plot(Kind::Tcptrace, &s, "t");
    assert!(
        p.notes.iter().any(|n| n.contains("up to frame 5")),
        "{:?}",
        p.notes
    );
    // Only the stream asked for is kept.
    let mut only = Recorder::new(Some(1));
    for r in &rows {
        only.push(r);
    }
    assert!(only.stream(None, None).is_err());
}
