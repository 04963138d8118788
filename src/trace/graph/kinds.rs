//! The five graphs, each a [`Plot`] made from one [`Stream`]'s events, as Wireshark's
//! TCP stream graphs draw them:
//!
//! - `tcptrace`: sequence number over time for the data direction: each segment as a bar
//!   over the sequence range it carries, the receiver's ACK line and the upper edge of
//!   its receive window (ACK + window) as steps, its SACK blocks as wide grey bars, and
//!   retransmissions (red, × at the top), duplicate ACKs (△) and zero windows (■) marked;
//! - `stevens`: the same sequence numbers as points only (one per segment, at its start);
//! - `throughput`: goodput (new data: retransmissions left out) and throughput (all data)
//!   over a moving window, in bit/s, at each data segment; segment lengths as rings on a
//!   second axis;
//! - `rtt`: round-trip time samples by Karn's rule (see [`super::rtt`]);
//! - `window`: the receiver's advertised window (steps) and the sender's bytes in flight
//!   (dots), in bytes.

use super::axes::Quantity;
use super::record::{Event, Stream, note};
use super::rtt;
use super::series::{Draw, Plot, Point, Series, Shape, Style, YAxis};
use crate::tcp::TcpFlags;

/// Which graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Tcptrace,
    Stevens,
    Throughput,
    Rtt,
    Window,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Tcptrace,
        Kind::Stevens,
        Kind::Throughput,
        Kind::Rtt,
        Kind::Window,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Tcptrace => "tcptrace",
            Kind::Stevens => "stevens",
            Kind::Throughput => "throughput",
            Kind::Rtt => "rtt",
            Kind::Window => "window",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Tcptrace => "Time/sequence (tcptrace)",
            Kind::Stevens => "Time/sequence (Stevens)",
            Kind::Throughput => "Throughput",
            Kind::Rtt => "Round-trip time",
            Kind::Window => "Receive window and bytes in flight",
        }
    }
}

const INK: &str = "#24292f";
const RED: &str = "#cf222e";
const BLUE: &str = "#0550ae";
const GREEN: &str = "#1a7f37";
const GREY: &str = "#8c959f";
const OCHRE: &str = "#9a6700";

fn style(draw: Draw, colour: &'static str, width: f64) -> Style {
    Style {
        draw,
        colour,
        dash: None,
        width,
    }
}

fn dashed(mut s: Style, dash: &'static str) -> Style {
    s.dash = Some(dash);
    s
}

/// The graph `kind` of `stream`; `source` says where the frames came from (a file, a
/// lab run).
pub fn plot(kind: Kind, stream: &Stream, source: &str) -> Plot {
    let mut p = match kind {
        Kind::Tcptrace => tcptrace(stream),
        Kind::Stevens => stevens(stream),
        Kind::Throughput => throughput(stream),
        Kind::Rtt => rtt_plot(stream),
        Kind::Window => window(stream),
    };
    p.title = format!(
        "{}: {} (stream {})",
        kind.title(),
        stream.flow_text(),
        stream.number
    );
    let d = usize::from(stream.dir.index());
    let why = if stream.dir_chosen {
        format!(
            "the direction that carried more: {} bytes, the other {}",
            stream.bytes[d],
            stream.bytes[1 - d]
        )
    } else {
        format!("as asked: --direction {}", stream.dir.name())
    };
    let mut notes = vec![format!(
        "{source}; data sent by the {} ({why})",
        stream.dir.name()
    )];
    notes.append(&mut p.notes);
    if let Some(f) = stream.cut_after {
        notes.push(format!(
            "only the segments up to frame {f}: the rest were not kept (memory bound)"
        ));
    }
    p.notes = notes;
    p
}

fn seq_axis() -> YAxis {
    YAxis {
        quantity: Quantity::Bytes,
        name: "Relative sequence number".into(),
        from_zero: false,
    }
}

fn empty_plot(y: YAxis) -> Plot {
    Plot {
        title: String::new(),
        notes: Vec::new(),
        x_name: "Time since the first frame".into(),
        y,
        y2: None,
        series: Vec::new(),
    }
}

/// Whether the event takes sequence space (data, SYN or FIN).
fn occupies(e: &Event) -> bool {
    e.len > 0 || e.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
}

fn tcptrace(s: &Stream) -> Plot {
    let mut data = Series::new(
        "data",
        "segment (its sequence range)",
        style(Draw::Bars(None), INK, 1.2),
    );
    let mut re = Series::new(
        "retransmission",
        "retransmitted segment",
        style(Draw::Bars(Some(Shape::Cross)), RED, 2.0),
    );
    let mut ack = Series::new("ack", "ACK number", style(Draw::Steps, BLUE, 1.2));
    let mut win = Series::new(
        "window",
        "receive window's upper edge (ACK + window)",
        dashed(style(Draw::Steps, GREEN, 1.2), "6 3"),
    );
    let mut sack = Series::new("sack", "SACK block", style(Draw::Bars(None), GREY, 4.0));
    let mut dup = Series::new(
        "dup-ack",
        "duplicate ACK",
        style(Draw::Marks(Shape::Triangle), OCHRE, 1.2),
    );
    let mut zero = Series::new(
        "zero-window",
        "zero window",
        style(Draw::Marks(Shape::Square), RED, 1.0),
    );
    for e in s.data().filter(|e| occupies(e)) {
        let p = Point::bar(e.frame, e.time(), f64::from(e.seq), f64::from(e.end()));
        if e.has(note::RETRANSMISSION) {
            re.points.push(p);
        } else {
            data.points.push(p);
        }
    }
    for e in s.acks() {
        let Some(a) = e.ack else { continue };
        let (t, a) = (e.time(), f64::from(a));
        ack.points.push(Point::at(e.frame, t, a));
        win.points.push(Point::at(e.frame, t, a + f64::from(e.win)));
        for &(l, r) in s.sacks(e) {
            sack.points
                .push(Point::bar(e.frame, t, f64::from(l), f64::from(r)));
        }
        if e.has(note::DUP_ACK) {
            dup.points.push(Point::at(e.frame, t, a));
        }
        if e.has(note::ZERO_WINDOW) {
            zero.points.push(Point::at(e.frame, t, a));
        }
    }
    let mut p = empty_plot(seq_axis());
    fit_window(&mut p, &mut win, &[&data, &re, &ack, &sack]);
    // Drawn in this order: later ones on top.
    p.series = vec![win];
    p.series.extend(Some(sack).filter(|x| !x.points.is_empty()));
    p.series.extend([ack, data]);
    p.series
        .extend([re, dup, zero].into_iter().filter(|x| !x.points.is_empty()));
    p
}

/// A receive window far larger than the data sent (a scaled window of megabytes for a
/// page of kilobytes) would squash the data into a line at the bottom: then the window
/// does not set the range (it runs off the top), and a note says how high it goes.
fn fit_window(p: &mut Plot, win: &mut Series, others: &[&Series]) {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for pt in others.iter().flat_map(|s| &s.points) {
        lo = lo.min(pt.y.min(pt.top));
        hi = hi.max(pt.y.max(pt.top));
    }
    let top = win.points.iter().map(|pt| pt.y).fold(f64::MIN, f64::max);
    if lo <= hi && top > hi + (hi - lo).max(1.0) {
        win.sets_range = false;
        p.notes.push(format!(
            "the {} rises to {}, above the top of the graph",
            win.name,
            bytes_text(top)
        ));
    }
}

fn stevens(s: &Stream) -> Plot {
    let mut data = Series::new(
        "data",
        "segment (its first sequence number)",
        style(Draw::Marks(Shape::Dot), INK, 1.0),
    );
    let mut re = Series::new(
        "retransmission",
        "retransmitted segment",
        style(Draw::Marks(Shape::Cross), RED, 1.5),
    );
    for e in s.data().filter(|e| occupies(e)) {
        let p = Point::at(e.frame, e.time(), f64::from(e.seq));
        if e.has(note::RETRANSMISSION) {
            re.points.push(p);
        } else {
            data.points.push(p);
        }
    }
    let mut p = empty_plot(seq_axis());
    p.series = vec![data];
    if !re.points.is_empty() {
        p.series.push(re);
    }
    p
}

/// The moving window for throughput: about a 25th of the data's span but at least two
/// round trips (the shortest sample's; a sender sends in bursts of one per round trip),
/// rounded up to 1, 2 or 5 times a power of ten, at least 1 ms.
fn moving_window_us(s: &Stream) -> i64 {
    let mut data = s.data().filter(|e| e.len > 0);
    let first = data.next().map_or(0, |e| e.time_us);
    let last = data.last().map_or(first, |e| e.time_us);
    let rtt = rtt::samples(s).iter().map(|x| x.rtt_us).min().unwrap_or(0);
    let raw = ((last - first) / 25).max(2 * rtt).max(1000);
    let mag = 10i64.pow((raw as f64).log10().floor() as u32);
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * mag)
        .find(|w| *w >= raw)
        .unwrap_or(10 * mag)
}

/// "4.57 MB", "812 bytes".
fn bytes_text(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.2} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.2} MB", b / 1e6),
        b if b >= 1e4 => format!("{:.1} kB", b / 1e3),
        b => format!("{b:.0} bytes"),
    }
}

fn duration_text(us: i64) -> String {
    if us >= 1_000_000 {
        format!("{} s", us as f64 / 1e6)
    } else {
        format!("{} ms", us as f64 / 1e3)
    }
}

fn throughput(s: &Stream) -> Plot {
    let w = moving_window_us(s);
    let mut good = Series::new("goodput", "goodput (new data)", style(Draw::Line, INK, 1.8));
    let mut all = Series::new(
        "throughput",
        "throughput (all data, retransmissions too)",
        dashed(style(Draw::Line, BLUE, 1.2), "5 3"),
    );
    let mut lens = Series::new(
        "segment-length",
        "segment length (right axis)",
        style(Draw::Marks(Shape::Ring), GREY, 1.0),
    )
    .on_right();
    let data: Vec<&Event> = s.data().filter(|e| e.len > 0).collect();
    // Sums over (t - w, t], kept by two cursors.
    let (mut from, mut sum_all, mut sum_new) = (0usize, 0u64, 0u64);
    for e in &data {
        sum_all += u64::from(e.len);
        if !e.has(note::RETRANSMISSION) {
            sum_new += u64::from(e.len);
        }
        while data[from].time_us <= e.time_us - w {
            sum_all -= u64::from(data[from].len);
            if !data[from].has(note::RETRANSMISSION) {
                sum_new -= u64::from(data[from].len);
            }
            from += 1;
        }
        let rate = |b: u64| b as f64 * 8.0 * 1e6 / w as f64;
        let t = e.time();
        good.points.push(Point::at(e.frame, t, rate(sum_new)));
        all.points.push(Point::at(e.frame, t, rate(sum_all)));
        lens.points.push(Point::at(e.frame, t, f64::from(e.len)));
    }
    let mut p = empty_plot(YAxis {
        quantity: Quantity::Rate,
        name: "Rate".into(),
        from_zero: true,
    });
    p.y2 = Some(YAxis {
        quantity: Quantity::Bytes,
        name: "Segment length".into(),
        from_zero: true,
    });
    p.notes.push(format!(
        "each rate is the data sent in the {} before its segment",
        duration_text(w)
    ));
    p.series = vec![lens, all, good];
    p
}

fn rtt_plot(s: &Stream) -> Plot {
    let mut rtt = Series::new(
        "rtt",
        "RTT sample",
        style(Draw::Marks(Shape::Dot), INK, 1.0),
    );
    for x in rtt::samples(s) {
        rtt.points.push(Point::at(
            x.frame,
            x.time_us as f64 / 1e6,
            x.rtt_us as f64 / 1e3,
        ));
    }
    let mut p = empty_plot(YAxis {
        quantity: Quantity::Millis,
        name: "Round-trip time".into(),
        from_zero: true,
    });
    p.notes.push(
        "one sample per ACK of new data, from the first sending of the last segment it covers; none when that data was sent twice (Karn's rule)".into(),
    );
    p.series = vec![rtt];
    p
}

fn window(s: &Stream) -> Plot {
    let mut rwnd = Series::new(
        "window",
        "receive window advertised by the receiver",
        style(Draw::Steps, GREEN, 1.6),
    );
    let mut flight = Series::new(
        "in-flight",
        "bytes in flight after each data segment",
        style(Draw::Marks(Shape::Dot), INK, 1.0),
    );
    let mut zero = Series::new(
        "zero-window",
        "zero window",
        style(Draw::Marks(Shape::Square), RED, 1.0),
    );
    for e in s.acks() {
        rwnd.points
            .push(Point::at(e.frame, e.time(), f64::from(e.win)));
        if e.has(note::ZERO_WINDOW) {
            zero.points.push(Point::at(e.frame, e.time(), 0.0));
        }
    }
    for e in s.data() {
        if let Some(b) = e.in_flight {
            flight
                .points
                .push(Point::at(e.frame, e.time(), f64::from(b)));
        }
    }
    let mut p = empty_plot(YAxis {
        quantity: Quantity::Bytes,
        name: "Bytes".into(),
        from_zero: true,
    });
    if !flight.points.is_empty() {
        fit_window(&mut p, &mut rwnd, &[&flight]);
    }
    p.series = vec![rwnd, flight];
    if !zero.points.is_empty() {
        p.series.push(zero);
    }
    p
}
