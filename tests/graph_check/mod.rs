//! The points of a graph checked against tshark's own numbers for the same frames:
//! `taplab … --graph tcptrace=T.csv --graph window=W.csv` against `tshark -T fields -e
//! frame.time_relative -e tcp.seq -e tcp.ack -e tcp.window_size -e
//! tcp.analysis.bytes_in_flight …` of the same capture. Shared by tests/trace.rs (tcpdump
//! captures of `taplab serve`) and tests/graphs.rs (the lab's pcaps).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// target/test-artifacts, where the pictures are kept for a look.
pub fn artifacts_dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The SVG is well-formed (xmllint) and a renderer draws it (rsvg-convert) into
/// target/test-artifacts/NAME.png.
pub fn valid_and_rendered(svg: &Path, name: &str) {
    let x = Command::new("xmllint")
        .arg("--noout")
        .arg(svg)
        .output()
        .expect("xmllint (scripts/test.sh installs libxml2-utils)");
    assert!(
        x.status.success() && x.stderr.is_empty(),
        "{name}: {}",
        String::from_utf8_lossy(&x.stderr)
    );
    let png = artifacts_dir().join(format!("{name}.png"));
    let r = Command::new("rsvg-convert")
        .arg(svg)
        .arg("-o")
        .arg(&png)
        .output()
        .expect("rsvg-convert (librsvg2-bin)");
    assert!(
        r.status.success() && r.stderr.is_empty(),
        "{name}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "{name}: a blank picture?"
    );
    let _ = std::fs::copy(svg, artifacts_dir().join(format!("{name}.svg")));
}

/// One frame as tshark reads it.
#[derive(Debug, Default, Clone)]
pub struct Tf {
    pub time: f64,
    pub stream: Option<u64>,
    pub sport: u16,
    pub seq: u64,
    pub ack: u64,
    pub win: u64,
    pub bif: Option<u64>,
    pub len: u64,
    pub flags: u16,
    pub sacks: Vec<(u64, u64)>,
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// tshark's fields of every frame of `file`, by frame number.
pub fn tshark_fields(file: &Path) -> BTreeMap<u64, Tf> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "frame.time_relative",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.ack",
            "-e",
            "tcp.window_size",
            "-e",
            "tcp.analysis.bytes_in_flight",
            "-e",
            "tcp.len",
            "-e",
            "tcp.flags",
            "-e",
            "tcp.options.sack_le",
            "-e",
            "tcp.options.sack_re",
        ])
        .output()
        .expect("tshark (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let p: Vec<&str> = l.split('|').collect();
        assert_eq!(p.len(), 12, "{l}");
        let list =
            |s: &str| -> Vec<u64> { s.split(',').filter(|x| !x.is_empty()).map(num).collect() };
        m.insert(
            num(p[0]),
            Tf {
                time: p[1].parse().unwrap(),
                stream: p[2].parse().ok(),
                sport: p[3].parse().unwrap_or(0),
                seq: num(p[4]),
                ack: num(p[5]),
                win: num(p[6]),
                bif: p[7].parse().ok(),
                len: num(p[8]),
                flags: u16::from_str_radix(p[9].trim_start_matches("0x"), 16).unwrap_or(0),
                sacks: list(p[10]).into_iter().zip(list(p[11])).collect(),
            },
        );
    }
    m
}

/// The frame numbers tshark selects with `filter`.
pub fn tshark_frames(file: &Path, filter: &str) -> BTreeSet<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(num)
        .collect()
}

/// One line of a graph's CSV.
#[derive(Debug, Clone)]
pub struct Pt {
    pub series: String,
    pub frame: u64,
    pub time: f64,
    pub value: f64,
    pub top: Option<f64>,
}

pub fn points(csv: &str) -> Vec<Pt> {
    let mut lines = csv.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("series,frame,time,value,top"), "{csv}");
    lines
        .map(|l| {
            let p: Vec<&str> = l.split(',').collect();
            assert_eq!(p.len(), 5, "{l}");
            Pt {
                series: p[0].into(),
                frame: num(p[1]),
                time: p[2].parse().unwrap(),
                value: p[3].parse().unwrap(),
                top: p[4].parse().ok(),
            }
        })
        .collect()
}

fn frames_of(pts: &[Pt], series: &[&str]) -> BTreeSet<u64> {
    pts.iter()
        .filter(|p| series.contains(&p.series.as_str()))
        .map(|p| p.frame)
        .collect::<BTreeSet<u64>>()
}

/// Every tcptrace (`tt`) and window (`wp`) point has tshark's time and numbers for its
/// frame, and its frame is of `stream`. Returns how many points were compared.
fn points_have_tsharks_numbers(
    t: &BTreeMap<u64, Tf>,
    tt: &[Pt],
    wp: &[Pt],
    stream: Option<u64>,
) -> usize {
    let mut checked = 0;
    let all = tt
        .iter()
        .map(|p| (p, true))
        .chain(wp.iter().map(|p| (p, false)));
    for (p, in_tcptrace) in all {
        let f = &t[&p.frame];
        assert!(
            (p.time - f.time).abs() < 1e-6,
            "frame {}: time {} vs tshark {}",
            p.frame,
            p.time,
            f.time
        );
        assert_eq!(f.stream, stream, "frame {} is not of the stream", p.frame);
        let ctl = u64::from(f.flags & 0x003 != 0);
        let want = match (p.series.as_str(), in_tcptrace) {
            ("data" | "retransmission", _) => {
                assert_eq!(
                    p.top,
                    Some((f.seq + f.len + ctl) as f64),
                    "frame {} end",
                    p.frame
                );
                f.seq
            }
            ("ack" | "dup-ack" | "zero-window", true) => f.ack,
            ("window", true) => f.ack + f.win,
            ("window", false) => f.win,
            ("zero-window", false) => {
                assert_eq!(f.win, 0, "frame {}", p.frame);
                0
            }
            ("in-flight", false) => f
                .bif
                .unwrap_or_else(|| panic!("frame {}: tshark has no bytes in flight", p.frame)),
            ("sack", true) => {
                let top = p.top.unwrap() as u64;
                assert!(
                    f.sacks.contains(&(p.value as u64, top)),
                    "frame {}: SACK {}-{top} not in {:?}",
                    p.frame,
                    p.value,
                    f.sacks
                );
                p.value as u64
            }
            _ => continue,
        };
        assert_eq!(
            p.value, want as f64,
            "frame {} series {}: {p:?}\ntshark: {f:?}",
            p.frame, p.series
        );
        checked += 1;
    }
    checked
}

/// Checks the tcptrace and window points of one stream against tshark, frame by frame,
/// both ways (every point has tshark's numbers; every frame tshark has is a point).
/// Returns a one-paragraph report.
pub fn check(file: &Path, tcptrace_csv: &str, window_csv: &str) -> String {
    let t = tshark_fields(file);
    let tt = points(tcptrace_csv);
    let wp = points(window_csv);
    let first = tt
        .iter()
        .find(|p| p.series == "data")
        .unwrap_or_else(|| panic!("no data points in\n{tcptrace_csv}"));
    let stream = t[&first.frame].stream;
    let sender = t[&first.frame].sport;
    let of_stream = |f: &&Tf| f.stream == stream;
    let checked = points_have_tsharks_numbers(&t, &tt, &wp, stream);
    // Both ways: every frame of the stream tshark has appears where it should.
    let by = |pred: &dyn Fn(&Tf) -> bool| -> BTreeSet<u64> {
        t.iter()
            .filter(|(_, f)| of_stream(f) && pred(f))
            .map(|(n, _)| *n)
            .collect()
    };
    let data_frames = by(&|f| f.sport == sender && (f.len > 0 || f.flags & 0x003 != 0));
    assert_eq!(
        frames_of(&tt, &["data", "retransmission"]),
        data_frames,
        "data segments"
    );
    let ack_frames = by(&|f| f.sport != sender && f.flags & 0x010 != 0);
    assert_eq!(frames_of(&tt, &["ack"]), ack_frames, "ACKs");
    let bif_frames = by(&|f| f.sport == sender && f.bif.is_some());
    assert_eq!(
        frames_of(&wp, &["in-flight"]),
        bif_frames,
        "bytes in flight"
    );
    let sack_frames = by(&|f| f.sport != sender && !f.sacks.is_empty());
    assert_eq!(frames_of(&tt, &["sack"]), sack_frames, "SACKs");
    let stream_filter = format!(
        "tcp.stream == {} && tcp.srcport == {sender}",
        stream.unwrap()
    );
    let re = tshark_frames(
        file,
        &format!(
            "{stream_filter} && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission)"
        ),
    );
    assert_eq!(frames_of(&tt, &["retransmission"]), re, "retransmissions");
    let dup = tshark_frames(
        file,
        &format!(
            "tcp.stream == {} && tcp.srcport != {sender} && tcp.analysis.duplicate_ack",
            stream.unwrap()
        ),
    );
    assert_eq!(frames_of(&tt, &["dup-ack"]), dup, "duplicate ACKs");
    format!(
        "{}: stream {} from port {sender}: {checked} points equal to tshark's numbers; {} data segments ({} retransmitted), {} ACKs ({} duplicate), {} SACK blocks, {} bytes-in-flight values",
        file.display(),
        stream.unwrap(),
        data_frames.len(),
        re.len(),
        ack_frames.len(),
        dup.len(),
        tt.iter().filter(|p| p.series == "sack").count(),
        bif_frames.len()
    )
}
