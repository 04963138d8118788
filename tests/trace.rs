//! `taplab trace` against tshark on real captures. Each test serves the lab page with
//! `taplab serve` on a real tap in a namespace of its own (tests/common), loads it with
//! curl while tcpdump (and taplab's own `--pcap`) capture, then lists the capture with
//! the release binary and compares it frame by frame with `tshark -r` of the same file:
//! stream numbers, relative Seq/Ack, Len, flags, Win and options parsed back out of the
//! listing's Info text, the bracketed analysis marks, and (on clean captures) every
//! column of every line. The agreement found is written to
//! target/test-artifacts/trace-<capture>.txt. The TCP stream graphs and bytes in flight
//! of a lossy capture are checked against tshark's numbers the same way.

mod common;
mod graph_check;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use taplab::trace::listing::split_line;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `taplab trace FILE ARGS`.
fn trace(file: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("trace")
        .arg(file)
        .args(args)
        .output()
        .expect("run taplab trace")
}

fn trace_ok(file: &Path, args: &[&str]) -> String {
    let out = trace(file, args);
    assert!(
        out.status.success(),
        "taplab trace {} {args:?}: {}\n{}",
        file.display(),
        out.status,
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// One listing line, split into its columns.
#[derive(Debug, Clone, Default, PartialEq)]
struct Line {
    no: u64,
    time: String,
    src: String,
    dst: String,
    proto: String,
    len: String,
    info: String,
}

/// The listing's lines (up to the blank line before the timelines).
fn listing(out: &str) -> Vec<Line> {
    let mut lines = out.lines();
    let head = lines.next().unwrap_or("");
    assert!(
        head.split_whitespace().collect::<Vec<_>>()
            == [
                "No.",
                "Time",
                "Source",
                "Destination",
                "Protocol",
                "Length",
                "Info"
            ],
        "header: {head}"
    );
    // Columns are found by position: a blank one (an ARP destination in a cooked
    // capture, as tshark leaves it) is as wide as its heading.
    lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let [no, time, src, dst, proto, len, info] =
                split_line(l).unwrap_or_else(|| panic!("columns of {l}"));
            Line {
                no: no.parse().unwrap_or_else(|_| panic!("frame number in {l}")),
                time: time.into(),
                src: src.into(),
                dst: dst.into(),
                proto: proto.into(),
                len: len.into(),
                info: info.into(),
            }
        })
        .collect()
}

/// The TCP fields of one Info text, as the listing writes them.
#[derive(Debug, Clone, Default, PartialEq)]
struct TcpInfo {
    marks: Vec<String>,
    sport: u16,
    dport: u16,
    flags: u16,
    seq: u32,
    ack: Option<u32>,
    win: u64,
    len: u32,
    mss: Option<u32>,
    ws: Option<u32>,
    sack_perm: bool,
    ts: Option<(u32, u32)>,
    sack: Vec<(u32, u32)>,
}

fn flag_bits(names: &str) -> u16 {
    let mut bits = 0;
    for n in names.split(", ") {
        // With AccECN, the three ECN bits are one counter.
        if let Some(ace) = n.strip_prefix("ACE=") {
            bits |= ace.parse::<u16>().unwrap() << 6;
            continue;
        }
        bits |= match n {
            "" => 0,
            "FIN" => 0x001,
            "SYN" => 0x002,
            "RST" => 0x004,
            "PSH" => 0x008,
            "ACK" => 0x010,
            "URG" => 0x020,
            "ECE" => 0x040,
            "CWR" => 0x080,
            "AE" => 0x100,
            "Reserved" => 0xe00,
            "<None>" => 0,
            other => panic!("flag {other}"),
        };
    }
    bits
}

/// Parses a TCP summary ("[marks] 51997 → 80 [SYN] Seq=0 … Len=0 MSS=1460 …").
fn parse_tcp(info: &str) -> Option<TcpInfo> {
    let mut t = TcpInfo::default();
    let mut s = info;
    while let Some(rest) = s.strip_prefix('[') {
        let end = rest.find("] ")?;
        t.marks.push(rest[..end].to_string());
        s = &rest[end + 2..];
    }
    let (ports, rest) = s.split_once(" [")?;
    let (sp, dp) = ports.split_once(" → ")?;
    t.sport = sp.parse().ok()?;
    t.dport = dp.parse().ok()?;
    let (flags, rest) = rest.split_once("] ")?;
    t.flags = flag_bits(flags);
    let mut words = rest.split(' ').peekable();
    let mut have_seq = false;
    while let Some(w) = words.next() {
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        let num = || v.parse::<u64>().unwrap_or_else(|_| panic!("{w} in {info}"));
        match k {
            "Seq" => {
                t.seq = num() as u32;
                have_seq = true;
            }
            "Ack" => t.ack = Some(num() as u32),
            "Win" => t.win = num(),
            // Options tshark names but does not give as separate fields here.
            "Urg" | "TFO" | "MD5" | "AccECN" | "EE0B" | "ECEB" | "EE1B" | "ExID" => {}
            "Len" => t.len = num() as u32,
            "MSS" => t.mss = Some(num() as u32),
            "WS" => t.ws = Some(num() as u32),
            "SACK_PERM" => t.sack_perm = true,
            "TSval" => {
                let ecr = words.next()?.strip_prefix("TSecr=")?.parse().ok()?;
                t.ts = Some((num() as u32, ecr));
            }
            "SLE" => {
                let sre = words.next()?.strip_prefix("SRE=")?.parse().ok()?;
                t.sack.push((num() as u32, sre));
            }
            "[TCP" => {
                // "[TCP segment of a reassembled PDU]" (only when HTTP is decoded).
                t.marks.push(
                    words
                        .by_ref()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace(']', ""),
                );
            }
            _ => panic!("unexpected `{w}` in {info}"),
        }
    }
    have_seq.then_some(t)
}

/// What tshark says about one frame.
#[derive(Debug, Clone, Default)]
struct Tshark {
    no: u64,
    stream: Option<usize>,
    tcp: Option<TcpInfo>,
    raw: Option<(u32, u32)>,
    line: Line,
}

const FIELDS: [&str; 24] = [
    "frame.number",
    "_ws.col.Time",
    "_ws.col.Source",
    "_ws.col.Destination",
    "_ws.col.Protocol",
    "frame.len",
    "_ws.col.Info",
    "tcp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "tcp.flags.str",
    "tcp.window_size",
    "tcp.options.mss_val",
    "tcp.options.wscale.multiplier",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.seq_raw",
    "tcp.ack_raw",
];

/// `tshark -r FILE -T fields …`; the payload on the servers' ports in `plain` decoded
/// as plain data (what taplab's --no-http shows).
fn tshark(file: &Path, plain: &[u16]) -> Vec<Tshark> {
    let mut c = Command::new("tshark");
    c.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=\t"]);
    for port in plain {
        // Plain data: with HTTP merely disabled, tshark would try its heuristic
        // dissectors on it, and some ask for reassembly of binary data.
        c.args(["-d", &format!("tcp.port=={port},data")]);
    }
    for f in FIELDS {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark");
    assert!(out.status.success(), "tshark: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            let n = |i: usize| get(i).parse::<u64>().ok();
            let line = Line {
                no: n(0).unwrap(),
                time: get(1).into(),
                src: get(2).into(),
                dst: get(3).into(),
                proto: get(4).into(),
                len: get(5).into(),
                info: get(6).into(),
            };
            let mut t = Tshark {
                no: line.no,
                stream: n(7).map(|s| s as usize),
                line,
                ..Default::default()
            };
            if t.stream.is_some() {
                // tcp.flags.str: "·······A··S·", 12 positions, most significant first;
                // on an AccECN connection the ECN positions hold the ACE counter: "-1-".
                let chars: Vec<char> = get(13).chars().collect();
                let ace = (chars.len() == 12 && chars[3] == '-')
                    .then(|| chars[4].to_digit(10).unwrap() as u16);
                let flags = chars
                    .iter()
                    .rev()
                    .enumerate()
                    .filter(|(i, ch)| **ch != '·' && !(ace.is_some() && (6..9).contains(i)))
                    .fold(ace.unwrap_or(0) << 6, |b, (i, _)| b | (1 << i));
                let list = |i: usize| -> Vec<u32> {
                    get(i)
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse().unwrap())
                        .collect()
                };
                t.tcp = Some(TcpInfo {
                    marks: Vec::new(),
                    sport: n(8).unwrap() as u16,
                    dport: n(9).unwrap() as u16,
                    flags,
                    seq: n(10).unwrap() as u32,
                    ack: (flags & 0x010 != 0).then(|| n(11).unwrap() as u32),
                    win: n(14).unwrap(),
                    len: n(12).unwrap() as u32,
                    mss: n(15).map(|v| v as u32),
                    ws: n(16).map(|v| v as u32),
                    sack_perm: !get(17).is_empty(),
                    ts: n(18).map(|v| (v as u32, n(19).unwrap() as u32)),
                    sack: list(20).into_iter().zip(list(21)).collect(),
                });
                t.raw = Some((n(22).unwrap() as u32, n(23).unwrap_or(0) as u32));
            }
            t
        })
        .collect()
}

/// Equal, or equal but for tshark's vendor names: Wireshark resolves the first three
/// bytes of a MAC through its vendor table (a random MAC like 02:1a:… may become
/// "MS-NLB-PhysServer-26_b7:f3:20:d5"), which taplab does not carry.
fn same_modulo_vendor(ours: &str, theirs: &str) -> bool {
    ours == theirs
        || (ours.split(' ').count() == theirs.split(' ').count()
            && ours.split(' ').zip(theirs.split(' ')).all(|(o, t)| {
                o == t
                    || t.rsplit_once('_').is_some_and(|(_, tail)| {
                        o.len() == 17 && o.ends_with(tail) && tail.len() == 8
                    })
            }))
}

fn same_line(o: &Line, t: &Line) -> bool {
    o.no == t.no
        && o.time == t.time
        && same_modulo_vendor(&o.src, &t.src)
        && same_modulo_vendor(&o.dst, &t.dst)
        && o.proto == t.proto
        && o.len == t.len
        && same_modulo_vendor(&o.info, &t.info)
}

/// The bracketed marks at the start of an Info text.
fn marks(info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = info;
    while let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find("] ") else { break };
        out.push(rest[..end].to_string());
        s = &rest[end + 2..];
    }
    out
}

fn artifacts() -> PathBuf {
    let d = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// How closely one capture's listing matches tshark's.
struct Agreement {
    report: String,
    /// Frames whose whole line (all columns) differs from tshark's, with both lines.
    line_diffs: Vec<String>,
    /// Per mark kind: (frames tshark marks, frames we mark, frames both mark).
    marks: BTreeMap<String, (BTreeSet<u64>, BTreeSet<u64>)>,
    /// Every Info of the --no-http listing equals tshark's without HTTP.
    plain_equal: bool,
}

/// Compares `taplab trace` with tshark on `file`; asserts what must hold on every
/// capture (same TCP frames, streams and fields) and returns the rest for the caller.
fn compare(name: &str, file: &Path) -> Agreement {
    compare_on(name, file, &[80])
}

/// Each `--stream N` listing holds exactly tshark's frames of stream N. Returns the
/// number of streams.
fn streams_equal(name: &str, file: &Path, theirs: &[Tshark]) -> usize {
    let mut streams: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for t in theirs {
        if let Some(s) = t.stream {
            streams.entry(s).or_default().push(t.no);
        }
    }
    for (s, frames) in &streams {
        let ours: Vec<u64> = listing(&trace_ok(
            file,
            &["--no-http", "--no-states", "--stream", &s.to_string()],
        ))
        .iter()
        .map(|l| l.no)
        .collect();
        assert_eq!(&ours, frames, "{name}: frames of stream {s}");
    }
    streams.len()
}

/// The rows tshark's `-Y http` shows: (frame number, Info).
fn tshark_http_rows(file: &Path) -> Vec<(u64, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "http",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.col.Info",
        ])
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (n, i) = l.split_once('\t')?;
            Some((n.parse().ok()?, i.to_string()))
        })
        .collect()
}

/// [`compare`] for a capture of servers on `ports`.
fn compare_on(name: &str, file: &Path, ports: &[u16]) -> Agreement {
    let theirs = tshark(file, ports);
    let plain = listing(&trace_ok(file, &["--no-http", "--no-states"]));
    assert_eq!(plain.len(), theirs.len(), "{name}: frame count");
    assert!(!plain.is_empty(), "{name}: empty capture");

    let streams = streams_equal(name, file, &theirs);

    // Every TCP field, parsed back out of our Info text.
    let mut tcp_frames = 0;
    let mut marks_by_kind: BTreeMap<String, (BTreeSet<u64>, BTreeSet<u64>)> = BTreeMap::new();
    for (o, t) in plain.iter().zip(&theirs) {
        assert_eq!(o.no, t.no);
        for m in marks(&t.line.info) {
            let kind = m.split(" ACK ").next().unwrap_or(&m).to_string();
            marks_by_kind.entry(kind).or_default().0.insert(o.no);
        }
        for m in marks(&o.info) {
            let kind = m.split(" ACK ").next().unwrap_or(&m).to_string();
            marks_by_kind.entry(kind).or_default().1.insert(o.no);
        }
        let Some(want) = &t.tcp else {
            continue;
        };
        tcp_frames += 1;
        let mut got = parse_tcp(&o.info)
            .unwrap_or_else(|| panic!("{name}: frame {}: no TCP summary in {}", o.no, o.info));
        got.marks.clear();
        assert_eq!(
            &got, want,
            "{name}: frame {}: {}\ntshark: {}",
            o.no, o.info, t.line.info
        );
    }

    // --absolute: the raw numbers.
    let abs = listing(&trace_ok(file, &["--no-http", "--no-states", "--absolute"]));
    for (o, t) in abs.iter().zip(&theirs) {
        let (Some(raw), Some(want)) = (t.raw, &t.tcp) else {
            continue;
        };
        let got = parse_tcp(&o.info).unwrap();
        assert_eq!(got.seq, raw.0, "{name}: frame {} raw seq", o.no);
        if want.ack.is_some() {
            assert_eq!(got.ack, Some(raw.1), "{name}: frame {} raw ack", o.no);
        }
    }

    // The whole lines, HTTP decoded, against tshark's columns.
    let full = listing(&trace_ok(file, &["--no-states"]));
    let theirs_http = tshark(file, &[]);
    let mut line_diffs = Vec::new();
    for (o, t) in full.iter().zip(&theirs_http) {
        if !same_line(o, &t.line) {
            line_diffs.push(format!("ours:   {o:?}\ntshark: {:?}", t.line));
        }
    }
    let plain_info_equal = plain
        .iter()
        .zip(&theirs)
        .filter(|(o, t)| same_modulo_vendor(&o.info, &t.line.info))
        .count();

    // --http: the rows tshark's `-Y http` shows, with the same Info.
    let http_rows = listing(&trace_ok(file, &["--http", "--no-states"]));
    let want_http = tshark_http_rows(file);
    let got_http: Vec<(u64, String)> = http_rows.iter().map(|l| (l.no, l.info.clone())).collect();

    let mut report = format!(
        "{name}: {} frames, {tcp_frames} TCP in {} streams\n\
         TCP fields (stream, Seq, Ack, Len, flags, Win, options, raw Seq/Ack): equal in {tcp_frames} of {tcp_frames}\n\
         Info without HTTP equal: {plain_info_equal} of {}\n\
         whole lines with HTTP equal: {} of {}\n\
         --http rows: ours {}, tshark -Y http {}, equal: {}\n",
        plain.len(),
        streams,
        plain.len(),
        full.len() - line_diffs.len(),
        full.len(),
        got_http.len(),
        want_http.len(),
        got_http == want_http,
    );
    for (kind, (t, o)) in &marks_by_kind {
        report += &format!(
            "[{kind}]: tshark {}, ours {}, both {}\n",
            t.len(),
            o.len(),
            t.intersection(o).count()
        );
    }
    for (o, t) in plain
        .iter()
        .zip(&theirs)
        .filter(|(o, t)| !same_modulo_vendor(&o.info, &t.line.info))
        .take(5)
    {
        report += &format!(
            "--no-http {}: ours   {}\n--no-http {}: tshark {}\n",
            o.no, o.info, t.no, t.line.info
        );
    }
    for d in line_diffs.iter().take(20) {
        report += d;
        report.push('\n');
    }
    std::fs::write(artifacts().join(format!("trace-{name}.txt")), &report).unwrap();
    eprintln!("{report}");
    if got_http != want_http {
        report += &format!("--http differs:\nours   {got_http:?}\ntshark {want_http:?}\n");
    }
    Agreement {
        report,
        line_diffs,
        marks: marks_by_kind,
        plain_equal: plain_info_equal == plain.len(),
    }
}

/// On a clean capture everything must agree.
fn assert_exact(a: &Agreement) {
    assert!(a.line_diffs.is_empty(), "{}", a.report);
    assert!(a.plain_equal, "{}", a.report);
    for (kind, (t, o)) in &a.marks {
        assert_eq!(t, o, "[{kind}] marks differ\n{}", a.report);
    }
    assert!(!a.report.contains("--http differs"), "{}", a.report);
}

/// The page load of the lab: one keep-alive curl for the page, its CSS, logo and audio
/// (with Range, as browsers ask for audio), a second curl in parallel, a 404 and a
/// Range request.
fn page_load(t: &Taplab) {
    let ns = &t.ns.name;
    let first = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sS", "--max-time", "60"])
        .args(["-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null"])
        .args([
            &format!("{URL}/"),
            &format!("{URL}/style.css"),
            &format!("{URL}/logo.svg"),
        ])
        .args(["--next", "-o", "/dev/null", "-H", "Range: bytes=0-"])
        .arg(format!("{URL}/intro.wav"))
        .spawn()
        .unwrap();
    let second = t.curl(&["-o", "/dev/null", &format!("{URL}/logo.svg")]);
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success() && second.status.success());
    let out = t.curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{URL}/favicon.ico"),
    ]);
    assert_eq!(text(&out.stdout), "404");
    let out = t.curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Range: bytes=100-199",
        &format!("{URL}/intro.wav"),
    ]);
    assert_eq!(text(&out.stdout), "206");
}

/// Serves with `flags` and `--pcap`, loads the page while tcpdump captures, and returns
/// (tcpdump's file, taplab's file) kept in `dir`.
fn capture_page_load(dir: &TempDir, tag: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    let ours = dir.path().join(format!("{tag}-serve.pcap"));
    let mut args = flags.to_vec();
    args.extend(["--pcap", ours.to_str().unwrap()]);
    let t = Taplab::start(&args);
    let mut cap = Capture::start(&t.ns);
    page_load(&t);
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let theirs = dir.path().join(format!("{tag}-tcpdump.pcap"));
    std::fs::copy(&cap.file, &theirs).unwrap();
    drop(t);
    (theirs, ours)
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_page_load_equals_tshark_on_both_capture_points() {
    let dir = TempDir::new("trace-clean");
    let (tcpdump, serve) = capture_page_load(&dir, "clean", &[]);
    for (name, file) in [("clean-tcpdump", &tcpdump), ("clean-serve", &serve)] {
        let a = compare(name, file);
        assert_exact(&a);
    }
    // The same capture as pcapng and with nanosecond timestamps lists the same.
    let base = trace_ok(&tcpdump, &[]);
    for (fmt, ext) in [("pcapng", "pcapng"), ("nsecpcap", "ns.pcap")] {
        let conv = dir.path().join(format!("clean.{ext}"));
        let st = Command::new("editcap")
            .args(["-F", fmt])
            .arg(&tcpdump)
            .arg(&conv)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(trace_ok(&conv, &[]), base, "{fmt}");
    }
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_lossy_capture_marks_every_retransmission_tshark_marks() {
    let dir = TempDir::new("trace-lossy");
    let (tcpdump, _) = capture_page_load(&dir, "lossy", &["--loss", "0.1", "--seed", "3"]);
    let a = compare("lossy-tcpdump", &tcpdump);
    let retrans = |k: &str| a.marks.get(k).cloned().unwrap_or_default();
    let (theirs, ours) = retrans("TCP Retransmission");
    assert!(
        !theirs.is_empty(),
        "10 % loss and no retransmission?\n{}",
        a.report
    );
    for kind in [
        "TCP Retransmission",
        "TCP Fast Retransmission",
        "TCP Spurious Retransmission",
    ] {
        let (t, o) = retrans(kind);
        let missing: Vec<_> = t.difference(&o).collect();
        assert!(
            missing.is_empty(),
            "[{kind}] tshark marks {missing:?}, we do not\n{}",
            a.report
        );
    }
    assert!(ours.len() >= theirs.len());
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_shows_the_knobs_as_tshark_does() {
    let dir = TempDir::new("trace-knobs");
    let (tcpdump, serve) = capture_page_load(
        &dir,
        "knobs",
        &["--isn", "4294967000", "--mss", "536", "--wscale", "2"],
    );
    let a = compare("knobs-tcpdump", &tcpdump);
    assert_exact(&a);
    assert_exact(&compare("knobs-serve", &serve));
    // The server's ISN wraps within the first response: absolute numbers show it.
    let abs = trace_ok(&tcpdump, &["--absolute", "--stream", "0", "--no-states"]);
    assert!(
        abs.contains("80 → ") && abs.contains("[SYN, ACK] Seq=4294967000 "),
        "{abs}"
    );
    let rel = trace_ok(&tcpdump, &["--stream", "0", "--no-states"]);
    assert!(rel.contains("MSS=536 WS=4"), "{rel}");

    let (tcpdump, _) =
        capture_page_load(&dir, "plain", &["--wscale", "off", "--timestamps", "off"]);
    let a = compare("nowscale-tcpdump", &tcpdump);
    assert_exact(&a);
    // The client offers both (tcpdump sees its SYN before taplab strips the option);
    // the SYN-ACK has neither, so the windows stay unscaled.
    let rel = trace_ok(&tcpdump, &["--stream", "0", "--no-states"]);
    let synack = rel.lines().find(|l| l.contains("[SYN, ACK]")).unwrap();
    assert!(
        !synack.contains("WS=") && !synack.contains("TSval"),
        "{rel}"
    );
    let third = rel.lines().nth(3).unwrap();
    assert!(third.contains("[ACK] Seq=1 Ack=1 Win=64240 Len=0"), "{rel}");
}

/// The timeline block of one stream in `taplab trace` output.
fn timeline_of(out: &str, stream: usize) -> Vec<String> {
    let head = format!("Stream {stream}: ");
    out.lines()
        .skip_while(|l| !l.starts_with(&head))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let l = l.trim();
            if l.starts_with("now:") {
                l.to_string()
            } else {
                l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")
            }
        })
        .collect()
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_state_timelines_of_a_client_first_and_a_server_first_close() {
    // Client first: curl (HTTP/1.1) closes as soon as it has the page.
    let t = Taplab::start(&[]);
    let mut cap = Capture::start(&t.ns);
    t.get("/");
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let out = trace_ok(&cap.file, &["--stream", "0"]);
    let tl = timeline_of(&out, 0);
    let want_client = [
        "CLOSED → SYN_SENT (its SYN)",
        "LISTEN → SYN_RCVD (SYN seen)",
        "SYN_SENT → ESTABLISHED (SYN-ACK seen)",
        "SYN_RCVD → ESTABLISHED (ACK of its SYN-ACK)",
        "ESTABLISHED → FIN_WAIT_1 (its FIN)",
        "ESTABLISHED → CLOSE_WAIT (peer's FIN)",
    ];
    assert_eq!(&tl[..6], &want_client, "{out}");
    // Then the client's FIN is acknowledged (on its own or with the server's FIN), the
    // client reaches TIME_WAIT and the server CLOSED.
    assert!(
        tl.contains(&"CLOSE_WAIT → LAST_ACK (its FIN)".to_string()),
        "{out}"
    );
    assert!(
        tl.contains(&"FIN_WAIT_1 → FIN_WAIT_2 (ACK of its FIN)".to_string()),
        "{out}"
    );
    assert!(
        tl.contains(&"FIN_WAIT_2 → TIME_WAIT (peer's FIN)".to_string()),
        "{out}"
    );
    assert_eq!(
        tl.last().unwrap(),
        "now: client TIME_WAIT, server CLOSED",
        "{out}"
    );
    assert!(
        out.contains("Stream 0: 192.168.69.100:")
            && out.contains("↔ 192.168.69.1:80 (states inferred from the segments)"),
        "{out}"
    );
    drop(t);

    // Server first: the server's FIN rides on its last data segment.
    let t = Taplab::start(&["--close", "server-first"]);
    let mut cap = Capture::start(&t.ns);
    t.get("/");
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let out = trace_ok(&cap.file, &["--stream", "0"]);
    let tl = timeline_of(&out, 0);
    let fin = tl
        .iter()
        .position(|l| l == "ESTABLISHED → FIN_WAIT_1 (its FIN)")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        tl[fin + 1],
        "ESTABLISHED → CLOSE_WAIT (peer's FIN)",
        "{out}"
    );
    // The FIN_WAIT_1 line is in the server's column: further right than the client's.
    let block: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Stream 0"))
        .collect();
    let col = |needle: &str| {
        block
            .iter()
            .find(|l| l.contains(needle))
            .and_then(|l| l.find(needle))
            .unwrap()
    };
    assert!(
        col("ESTABLISHED → FIN_WAIT_1") > col("ESTABLISHED → CLOSE_WAIT"),
        "{out}"
    );
    assert!(
        tl.contains(&"CLOSE_WAIT → LAST_ACK (its FIN)".to_string()),
        "{out}"
    );
    assert_eq!(
        tl.last().unwrap(),
        "now: client CLOSED, server TIME_WAIT",
        "{out}"
    );
    assert_exact(&compare("server-first-tcpdump", &cap.file));
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_errors_are_one_line_and_it_needs_no_root() {
    let dir = TempDir::new("trace-errors");
    let one_line = |out: &Output, needle: &str| {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("taplab: error: ") && err.lines().count() == 1,
            "{err}"
        );
        assert!(err.contains(needle), "`{needle}` not in {err}");
    };
    one_line(
        &trace(&dir.path().join("nope.pcap"), &[]),
        "does not exist: check the path",
    );
    one_line(
        &trace(&repo().join("README.md"), &[]),
        "is not a pcap or pcapng capture",
    );
    // A radiotap capture: a link type taplab does not read.
    let mut b = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    b.extend([2, 0, 4, 0]);
    for v in [0u32, 0, 65535, 127] {
        b.extend(v.to_le_bytes());
    }
    let radiotap = dir.path().join("wifi.pcap");
    std::fs::write(&radiotap, &b).unwrap();
    one_line(
        &trace(&radiotap, &[]),
        "link type 127 (IEEE 802.11 radiotap)",
    );

    // A real capture, cut in the middle of a frame: the complete frames and a warning.
    let t = Taplab::start(&[]);
    let mut cap = Capture::start(&t.ns);
    t.get("/logo.svg");
    std::thread::sleep(Duration::from_millis(200));
    cap.finish();
    drop(t);
    let full = std::fs::read(&cap.file).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &full[..full.len() - 10]).unwrap();
    let out = trace(&cut, &["--no-states"]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("taplab: warning: ") && err.contains("cut short"),
        "{err}"
    );
    let n_full = listing(&trace_ok(&cap.file, &["--no-states"])).len();
    assert_eq!(listing(&text(&out.stdout)).len(), n_full - 1);
    one_line(
        &trace(&cap.file, &["--stream", "99"]),
        "there is no stream 99",
    );

    // Without root: as nobody, on a world-readable copy.
    let copy = dir.path().join("copy.pcap");
    std::fs::copy(&cap.file, &copy).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "trace",
        ])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), trace_ok(&copy, &[]));
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_linux_cooked_capture_of_any_interface_equals_tshark() {
    let t = Taplab::start(&[]);
    let dir = TempDir::new("trace-any");
    let file = dir.path().join("any.pcap");
    let mut td =
        t.ns.cmd("tcpdump")
            .args(["-i", "any", "-nn", "-U", "--immediate-mode", "-w"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    // tcpdump says "listening on any" once the capture is open.
    let mut err = std::io::BufReader::new(td.stderr.take().unwrap());
    let mut line = String::new();
    let _ = std::io::BufRead::read_line(&mut err, &mut line);
    t.get("/");
    let out = t.curl(&["-o", "/dev/null", "http://[fdaa::1]/style.css"]);
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(300));
    stop_child(&mut td, Duration::from_secs(3));
    let head = std::fs::read(&file).unwrap();
    assert_eq!(
        u32::from_le_bytes(head[20..24].try_into().unwrap()),
        276,
        "SLL2"
    );
    let a = compare("any-tcpdump", &file);
    assert_exact(&a);
}

/// `tcpdump -i any` writes Linux cooked captures (v2 since libpcap 1.10, v1 with `-y
/// LINUX_SLL`), whose header holds only the sender's link-layer address. For ARP,
/// whose Source and Destination columns are link-layer addresses, tshark leaves the
/// Destination blank, and so does the listing: no `-` or other filler, in either version
/// (the ARP lines' words are No., Time, Source, Protocol, …), and every column of every
/// line as tshark's.
#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_leaves_a_cooked_arps_destination_blank_as_tshark_does() {
    for (dlt, code) in [("LINUX_SLL", 113), ("LINUX_SLL2", 276)] {
        let t = Taplab::start(&[]);
        let dir = TempDir::new("trace-any-arp");
        let file = dir.path().join(format!("{dlt}.pcap"));
        let mut td =
            t.ns.cmd("tcpdump")
                .args([
                    "-i",
                    "any",
                    "-y",
                    dlt,
                    "-nn",
                    "-U",
                    "--immediate-mode",
                    "-w",
                ])
                .arg(&file)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
        // tcpdump says "listening on any" once the capture is open (after naming the
        // link type it was asked for).
        let mut err = std::io::BufReader::new(td.stderr.take().unwrap());
        let mut said = String::new();
        for _ in 0..3 {
            if std::io::BufRead::read_line(&mut err, &mut said).unwrap_or(0) == 0
                || said.contains("listening on any")
            {
                break;
            }
        }
        assert!(said.contains("listening on any"), "tcpdump: {said}");
        // A new namespace: the kernel first asks who has 192.168.69.1, and taplab answers.
        t.get("/");
        std::thread::sleep(Duration::from_millis(300));
        stop_child(&mut td, Duration::from_secs(3));
        let head = std::fs::read(&file).unwrap();
        assert_eq!(
            u32::from_le_bytes(head[20..24].try_into().unwrap()),
            code,
            "{dlt}"
        );

        let out = trace_ok(&file, &["--no-states"]);
        let theirs = tshark(&file, &[]);
        let ours = listing(&out);
        let arps: Vec<&Line> = ours.iter().filter(|l| l.proto == "ARP").collect();
        assert!(
            arps.iter()
                .any(|l| l.info == "Who has 192.168.69.1? Tell 192.168.69.100")
                && arps
                    .iter()
                    .any(|l| l.info.starts_with("192.168.69.1 is at ")),
            "{dlt}: no ARP request and reply in\n{out}"
        );
        for l in &arps {
            let t = &theirs.iter().find(|t| t.no == l.no).unwrap().line;
            assert_eq!(
                t.dst, "",
                "{dlt}: tshark's Destination of ARP frame {}",
                l.no
            );
            assert_eq!(l.dst, "", "{dlt}: our Destination of ARP frame {}", l.no);
            assert!(same_line(l, t), "{dlt}:\nours:   {l:?}\ntshark: {t:?}");
        }
        // The printed line itself: after the source address comes the protocol.
        let raw = out.lines().skip(1).take_while(|l| !l.is_empty());
        for (raw, l) in raw.zip(&ours).filter(|(_, l)| l.proto == "ARP") {
            let words: Vec<&str> = raw.split_whitespace().collect();
            let no = l.no.to_string();
            assert_eq!(
                words[..4],
                [no.as_str(), l.time.as_str(), l.src.as_str(), "ARP"],
                "{dlt}: {raw}"
            );
        }
        assert_exact(&compare(&format!("any-arp-{dlt}"), &file));
    }
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_draws_a_ladder_picture_a_renderer_accepts() {
    let dir = TempDir::new("svg");
    let (theirs, _ours) = capture_page_load(
        &dir,
        "svg",
        &["--close", "client-first", "--close-wait", "30"],
    );
    let svg = dir.path().join("page.svg");
    // The connection that asked for the page (the two curls race for stream 0).
    let found = Command::new("tshark")
        .arg("-r")
        .arg(&theirs)
        .args([
            "-Y",
            "http.request.uri == \"/\"",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
        ])
        .output()
        .unwrap();
    let stream = text(&found.stdout)
        .lines()
        .next()
        .unwrap_or("0")
        .to_string();
    let out = trace_ok(
        &theirs,
        &["--stream", &stream, "--svg", svg.to_str().unwrap()],
    );
    assert!(out.contains("[SYN]"), "the listing still prints");
    let text = std::fs::read_to_string(&svg).unwrap();
    // The handshake, the teardown and both ends' states are in the picture.
    for needle in [
        "[SYN]",
        "[SYN, ACK]",
        "[FIN, ACK]",
        "SYN_SENT",
        "SYN_RCVD",
        "ESTABLISHED",
        "FIN_WAIT_2",
        "TIME_WAIT",
        "LAST_ACK",
        "GET / HTTP/1.1",
    ] {
        assert!(text.contains(needle), "no {needle} in the SVG");
    }
    // A bulk transfer is condensed, not drawn segment by segment.
    assert!(text.contains("more segments"), "no condensed band");
    // A real renderer reads it (rsvg-convert fails on malformed XML).
    let png = artifacts().join("trace-ladder.png");
    let r = std::process::Command::new("rsvg-convert")
        .arg(&svg)
        .arg("-o")
        .arg(&png)
        .output()
        .expect("rsvg-convert (librsvg2-bin)");
    assert!(
        r.status.success() && r.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(std::fs::metadata(&png).unwrap().len() > 20_000);
    let _ = std::fs::copy(&svg, artifacts().join("trace-ladder.svg"));
}

/// Writes `frames` (Ethernet, with µs times) as a loopback capture: link type 0 (DLT_NULL:
/// the address family in the byte order of the machine that captured, which is also the
/// file's) or 108 (DLT_LOOP: always big-endian), IPv6 with the family number `v6`. Frames
/// other than IP (ARP) have no place on a loopback interface and are left out.
fn loopback_pcap(frames: &[(u64, Vec<u8>)], link: u32, big: bool, v6: u32) -> Vec<u8> {
    let w32 = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut b = Vec::new();
    b.extend(w32(0xa1b2_c3d4));
    b.extend(w16(2));
    b.extend(w16(4));
    for v in [0, 0, 262_144, link] {
        b.extend(w32(v));
    }
    for (us, eth) in frames {
        let family = match eth.get(12..14) {
            Some([0x08, 0x00]) => 2,
            Some([0x86, 0xdd]) => v6,
            _ => continue,
        };
        let family = if link == 108 {
            u32::to_be_bytes(family)
        } else {
            w32(family)
        };
        let len = (eth.len() - 14 + 4) as u32;
        for v in [(us / 1_000_000) as u32, (us % 1_000_000) as u32, len, len] {
            b.extend(w32(v));
        }
        b.extend(family);
        b.extend(&eth[14..]);
    }
    b
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_loopback_capture_equals_tshark() {
    // A page load over IPv4 and a request over IPv6, captured on the tap, then written as
    // Npcap on Windows, macOS, FreeBSD and OpenBSD write a loopback capture.
    let t = Taplab::start(&[]);
    let mut cap = Capture::start(&t.ns);
    page_load(&t);
    let out = t.curl(&["-o", "/dev/null", "http://[fdaa::1]/style.css"]);
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    drop(t);
    let frames = read_pcap(&cap.file);
    let dir = TempDir::new("trace-loopback");
    for (name, link, big, v6) in [
        ("npcap-null", 0, false, 24),
        ("macos-null-big-endian", 0, true, 30),
        ("freebsd-null", 0, false, 28),
        ("openbsd-loop", 108, false, 24),
    ] {
        let file = dir.path().join(format!("{name}.pcap"));
        std::fs::write(&file, loopback_pcap(&frames, link, big, v6)).unwrap();
        let a = compare(name, &file);
        assert_exact(&a);
        let listed = trace_ok(&file, &["--no-states"]);
        assert!(
            listed.contains("fdaa::1") && listed.contains("192.168.69.1"),
            "{name}: both IPv4 and IPv6\n{listed}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The captures students make: servers on other ports, reused port pairs, pipelining,
// tunnels, responses without a length, and the options Linux and others send.

/// A background process in the test's namespace, stopped by PID when dropped.
struct Bg(std::process::Child);

impl Drop for Bg {
    fn drop(&mut self) {
        stop_child(&mut self.0, Duration::from_secs(2));
    }
}

/// Starts `python3 ARGS` in `ns` (bounded to two minutes) and waits until 127.0.0.1:port
/// accepts connections.
fn python_server(ns: &Netns, port: u16, args: &[&str]) -> Bg {
    let child = ns
        .cmd("timeout")
        .args(["120", "python3"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    let bg = Bg(child);
    let wait = format!(
        "import socket, time\n\
         for _ in range(100):\n\
         \x20   try:\n\
         \x20       socket.create_connection(('127.0.0.1', {port}), 0.2).close()\n\
         \x20       break\n\
         \x20   except OSError:\n\
         \x20       time.sleep(0.05)\n\
         else:\n\
         \x20   raise SystemExit('nothing listens on {port}')\n"
    );
    ns.run("python3", &["-c", &wait]);
    bg
}

/// `python3 -m http.server PORT` on the lab's site.
fn http_server(ns: &Netns, port: u16) -> Bg {
    let www = www();
    let p = port.to_string();
    python_server(
        ns,
        port,
        &[
            "-m",
            "http.server",
            &p,
            "--bind",
            "127.0.0.1",
            "--directory",
            www.to_str().unwrap(),
        ],
    )
}

/// HTTP rows of our listing (`--http`), and the server ports of the streams they are in.
fn http_rows(file: &Path) -> Vec<Line> {
    listing(&trace_ok(file, &["--http", "--no-states"]))
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_finds_http_where_tshark_does_on_the_seeds_ports_and_any_other() {
    // The seeds' own servers ran on 8080 (IIS), 5000 (Flask) and 3000 (Node); of these
    // tshark decodes only 8080 by port, the others (and 8000, on no list) by its
    // heuristic.
    let ns = Netns::new();
    let ports = [8080u16, 5000, 3000, 8000];
    let _servers: Vec<Bg> = ports.iter().map(|p| http_server(&ns, *p)).collect();
    let mut cap = Capture::start_on(&ns, "lo");
    for p in ports {
        let base = format!("http://127.0.0.1:{p}");
        let out = ns.output(
            "curl",
            &[
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                &format!("{base}/"),
                &format!("{base}/style.css"),
                &format!("{base}/nope"),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let a = compare_on("ports-lo", &cap.file, &ports);
    assert_exact(&a);
    // Each port's requests and responses were found: 3 × 2 rows per port.
    let rows = http_rows(&cap.file);
    assert_eq!(rows.len(), 6 * ports.len(), "{}", a.report);
    assert!(
        rows.iter()
            .any(|l| l.info == "HTTP/1.0 404 File not found  (text/html)")
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_reused_port_pair_restarts_the_numbers_as_tshark_does() {
    let ns = Netns::new();
    // Its responses have no length, so the server closes first and the client's port is
    // free again at once (no TIME_WAIT on the client's side).
    let _server = python_server(&ns, 5000, &["-c", ODD_SERVER, "5000"]);
    let mut cap = Capture::start_on(&ns, "lo");
    for _ in 0..2 {
        let out = ns.output(
            "curl",
            &[
                "-sS",
                "--max-time",
                "20",
                "--local-port",
                "45000",
                "-o",
                "/dev/null",
                "http://127.0.0.1:5000/",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
    cap.finish();
    let a = compare_on("reuse-lo", &cap.file, &[5000]);
    assert_exact(&a);
    let out = trace_ok(&cap.file, &["--no-states"]);
    let reused: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("[TCP Port numbers reused]"))
        .collect();
    assert_eq!(reused.len(), 1, "{out}");
    assert!(reused[0].contains("45000 → 5000 [SYN] Seq=0 "), "{out}");
    // The second connection is a stream of its own, counted from its own ISN.
    let second = trace_ok(&cap.file, &["--stream", "1", "--no-states"]);
    assert!(
        second.contains("5000 → 45000 [SYN, ACK] Seq=0 Ack=1 "),
        "{second}"
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_lists_pipelined_requests_as_tshark_does() {
    let t = Taplab::start(&[]);
    let mut cap = Capture::start(&t.ns);
    // Two requests in one write; the second asks the server to close.
    let out = python(
        &t.ns,
        "import socket\n\
         s = socket.create_connection(('192.168.69.1', 80))\n\
         s.sendall(b'GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'\n\
         \x20         b'GET /style.css HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n')\n\
         s.settimeout(10)\n\
         got = b''\n\
         while True:\n\
         \x20   b = s.recv(65536)\n\
         \x20   if not b:\n\
         \x20       break\n\
         \x20   got += b\n\
         assert got.count(b'HTTP/1.1 200 OK') == 2, got[:200]\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let a = compare("pipelined-tcpdump", &cap.file);
    assert_exact(&a);
    let rows = http_rows(&cap.file);
    assert!(
        rows.iter()
            .any(|l| l.info == "GET / HTTP/1.1 GET /style.css HTTP/1.1 "),
        "{}",
        a.report
    );
}

/// A server that answers CONNECT with 200 and then echoes each chunk reversed, and
/// anything else with an HTTP/1.0 response that has no length (it ends when the
/// server closes).
const ODD_SERVER: &str = "\
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(8)
def serve(c):
    c.settimeout(5)
    head = b''
    while b'\\r\\n\\r\\n' not in head:
        got = c.recv(4096)
        if not got:
            return c.close()
        head += got
    if head.startswith(b'CONNECT'):
        c.sendall(b'HTTP/1.1 200 Connection established\\r\\n\\r\\n')
        while True:
            got = c.recv(4096)
            if not got:
                break
            c.sendall(got[::-1])
    else:
        c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nno length: ')
        c.sendall(b'read until the server closes\\n')
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
";

/// Through a tunnel: bytes no dissector claims, then a request (tshark's heuristic
/// decodes that one); then a GET whose response has no length.
const ODD_CLIENT: &str = "\
import socket, time
c = socket.create_connection(('127.0.0.1', 8080))
c.sendall(b'CONNECT example.com:5555 HTTP/1.1\\r\\nHost: example.com:5555\\r\\n\\r\\n')
c.settimeout(5)
assert c.recv(4096).startswith(b'HTTP/1.1 200')
for msg in [b'\\x00\\x01 tunnelled bytes', b'GET / HTTP/1.1\\r\\n\\r\\n']:
    c.sendall(msg)
    assert c.recv(4096) == msg[::-1]
    time.sleep(0.05)
c.close()
c = socket.create_connection(('127.0.0.1', 8080))
c.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
body = b''
while True:
    got = c.recv(4096)
    if not got:
        break
    body += got
assert body.endswith(b'read until the server closes\\n'), body
";

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_of_a_tunnel_and_a_response_without_a_length_equals_tshark() {
    let ns = Netns::new();
    let _server = python_server(&ns, 8080, &["-c", ODD_SERVER, "8080"]);
    let mut cap = Capture::start_on(&ns, "lo");
    let out = python(&ns, ODD_CLIENT, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let a = compare_on("odd-lo", &cap.file, &[8080]);
    assert_exact(&a);
    let full = listing(&trace_ok(&cap.file, &["--no-states"]));
    let info = |needle: &str| full.iter().filter(|l| l.info.contains(needle)).count();
    // The tunnel's own bytes are TCP, not Continuation; the response without a length
    // is named on the server's FIN, which completes it.
    assert_eq!(info("Continuation"), 0);
    assert_eq!(info("HTTP/1.0 200 OK  (text/plain)"), 1);
    assert_eq!(
        info("HTTP/1.0 200 OK  [TCP segment of a reassembled PDU]"),
        1
    );
}

/// Both ends of a TFO exchange (the kernel's, with net.ipv4.tcp_fastopen=3) and of an
/// MD5-signed connection (TCP_MD5SIG on both sockets).
const OPTIONS_PEERS: &str = "\
import socket, struct, threading, time
def md5sig(sock):
    addr = struct.pack('=H', socket.AF_INET) + struct.pack('!H4s', 0, socket.inet_aton('127.0.0.1'))
    key = b'secret'
    v = addr + bytes(128 - len(addr)) + struct.pack('=BBHI', 0, 0, len(key), 0) + key + bytes(80 - len(key))
    sock.setsockopt(socket.IPPROTO_TCP, 14, v)
def server(port, md5=False, tfo=False):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if md5: md5sig(s)
    if tfo: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 5)
    s.bind(('127.0.0.1', port))
    s.listen(5)
    def run():
        while True:
            c, _ = s.accept()
            c.settimeout(2)
            c.recv(1000)
            c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi')
            time.sleep(0.05)
            c.close()
    threading.Thread(target=run, daemon=True).start()
def client(port, md5=False, tfo=False):
    c = socket.socket()
    if md5: md5sig(c)
    req = b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'
    if tfo:
        c.sendto(req, 0x20000000, ('127.0.0.1', port))
    else:
        c.connect(('127.0.0.1', port))
        c.sendall(req)
    c.settimeout(2)
    while c.recv(1000):
        pass
    c.close()
    time.sleep(0.1)
server(8080, tfo=True)
server(8081, md5=True)
client(8080, tfo=True)
client(8080, tfo=True)
client(8081, md5=True)
";

/// Ethernet/IPv4/TCP frames written by hand, for what no peer here sends: AccECN (its
/// option and the ACE counter) and a RST that carries data.
fn crafted_frame(
    from_client: bool,
    flags: u16,
    seq: u32,
    ack: u32,
    opts: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        ([192, 168, 69, 100], [192, 168, 69, 1], 40000u16, 80u16)
    } else {
        ([192, 168, 69, 1], [192, 168, 69, 100], 80, 40000)
    };
    let mut opts = opts.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(1);
    }
    let mut tcp = Vec::new();
    tcp.extend(sport.to_be_bytes());
    tcp.extend(dport.to_be_bytes());
    tcp.extend(seq.to_be_bytes());
    tcp.extend(ack.to_be_bytes());
    tcp.extend(((((20 + opts.len()) / 4) as u16) << 12 | flags).to_be_bytes());
    tcp.extend(502u16.to_be_bytes());
    tcp.extend([0, 0, 0, 0]);
    tcp.extend(opts);
    tcp.extend(data);
    let sum = |b: &[u8], init: u32| {
        let mut s = init;
        for c in b.chunks(2) {
            s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    };
    let mut pseudo = Vec::new();
    pseudo.extend(src);
    pseudo.extend(dst);
    pseudo.extend([0, 6]);
    pseudo.extend((tcp.len() as u16).to_be_bytes());
    let c = sum(&[pseudo, tcp.clone()].concat(), 0);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0];
    ip.extend(((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend([0, 1, 0x40, 0, 64, 6, 0, 0]);
    ip.extend(src);
    ip.extend(dst);
    let c = sum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let (smac, dmac) = if from_client {
        ([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
    } else {
        ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
    };
    [&dmac[..], &smac[..], &[8, 0], &ip, &tcp].concat()
}

/// A classic pcap (µs, Ethernet) of `frames`, 10 ms apart.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut b = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    b.extend(2u16.to_le_bytes());
    b.extend(4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        b.extend(v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let us = 1_000_000 + i as u32 * 10_000;
        for v in [
            us / 1_000_000,
            us % 1_000_000,
            f.len() as u32,
            f.len() as u32,
        ] {
            b.extend(v.to_le_bytes());
        }
        b.extend(f);
    }
    std::fs::write(path, b).unwrap();
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_names_tfo_md5_accecn_and_leaves_a_rsts_data_alone_as_tshark_does() {
    let ns = Netns::new();
    ns.run("sysctl", &["-qw", "net.ipv4.tcp_fastopen=3"]);
    let mut cap = Capture::start_on(&ns, "lo");
    let out = python(&ns, OPTIONS_PEERS, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(300));
    cap.finish();
    let a = compare_on("tfo-md5-lo", &cap.file, &[8080, 8081]);
    assert_exact(&a);
    let out = trace_ok(&cap.file, &["--no-states"]);
    for needle in [" TFO=R", " TFO=C", " MD5"] {
        assert!(out.contains(needle), "no{needle}:\n{out}");
    }

    // AccECN and a RST with data, written by hand.
    const F: u16 = 0x001;
    const S: u16 = 0x002;
    const R: u16 = 0x004;
    const P: u16 = 0x008;
    const A: u16 = 0x010;
    const E: u16 = 0x040;
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
    let frames = [
        crafted_frame(
            true,
            S | E | 0x080 | 0x100,
            1000,
            0,
            &[2, 4, 5, 180, 172, 2],
            b"",
        ),
        crafted_frame(false, S | A, 5000, 1001, &[2, 4, 5, 180, 174, 2], b""),
        crafted_frame(
            true,
            A | E,
            1001,
            5001,
            &[172, 11, 0, 0, 1, 0, 0, 2, 0, 0, 3],
            b"",
        ),
        crafted_frame(true, P | A, 1001, 5001, &[], req),
        crafted_frame(false, P | A, 5001, 1001 + req.len() as u32, &[], resp),
        crafted_frame(
            false,
            R | A,
            5001 + resp.len() as u32,
            1001 + req.len() as u32,
            &[],
            b"the rest of the body",
        ),
        crafted_frame(true, F | A, 1001 + req.len() as u32, 5001, &[], b""),
    ];
    let dir = TempDir::new("crafted");
    let file = dir.path().join("accecn-rst.pcap");
    write_pcap(&file, &frames);
    let a = compare("accecn-rst", &file);
    assert_exact(&a);
    let rows = listing(&trace_ok(&file, &["--no-states"]));
    assert!(
        rows[2].info.contains("[ACK, ACE=1]") && rows[2].info.ends_with("EE0B=1 ECEB=2 EE1B=3")
    );
    assert!(rows[5].info.contains("[RST, ACK, ACE=0]") && !rows[5].info.contains("reassembled"));
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn trace_stops_quietly_when_its_reader_does() {
    // A reader that stops after the first lines (`| head`) ends the run without an
    // error, and what it read is the listing's start. The listing is well over a pipe's
    // buffer (64 KiB), so taplab is still writing when the reader goes.
    let t = Taplab::start(&[]);
    let mut cap = Capture::start(&t.ns);
    for _ in 0..4 {
        t.get("/intro.wav");
    }
    std::thread::sleep(Duration::from_millis(200));
    cap.finish();
    drop(t);
    let whole = trace_ok(&cap.file, &["--no-states"]);
    assert!(whole.len() > 128 * 1024, "{} bytes", whole.len());
    let mut child = Command::new(BIN)
        .arg("trace")
        .arg(&cap.file)
        .arg("--no-states")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..3 {
        std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    }
    drop(out);
    let status = child.wait_with_output().unwrap();
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(status.stderr.is_empty(), "{}", text(&status.stderr));
    assert!(whole.starts_with(&first), "{first}");
}

/// The `[Bytes in flight: N]` a `--in-flight` listing adds to an Info, if any.
fn in_flight_of(info: &str) -> Option<u64> {
    let (_, rest) = info.rsplit_once("[Bytes in flight: ")?;
    rest.strip_suffix(']')?.parse().ok()
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, xmllint, rsvg-convert: run scripts/test.sh"]
fn trace_graphs_and_bytes_in_flight_of_a_tcpdump_capture_are_tsharks_numbers() {
    let dir = TempDir::new("graphs");
    // A lossy page load: retransmissions, duplicate ACKs and the Linux client's SACKs.
    let (tcpdump, _) = capture_page_load(&dir, "graphs", &["--loss", "0.05", "--seed", "5"]);
    let fields = graph_check::tshark_fields(&tcpdump);

    // --in-flight: tshark's tcp.analysis.bytes_in_flight on every frame that has one,
    // nothing on the others; the rest of each line is the default listing's.
    let plain = listing(&trace_ok(&tcpdump, &["--no-states"]));
    let with = listing(&trace_ok(&tcpdump, &["--no-states", "--in-flight"]));
    assert_eq!(plain.len(), with.len());
    let mut values = 0;
    for (p, w) in plain.iter().zip(&with) {
        assert_eq!(
            in_flight_of(&w.info),
            fields[&w.no].bif,
            "frame {}: {}",
            w.no,
            w.info
        );
        assert!(
            w.info.starts_with(p.info.trim_end()),
            "{}\n{}",
            p.info,
            w.info
        );
        values += usize::from(fields[&w.no].bif.is_some());
    }
    assert!(values > 50, "only {values} frames with bytes in flight");

    // The tcptrace and window graphs of the stream that carried the most data (the audio):
    // every point is tshark's seq, ack, window and bytes in flight for its frame.
    let (t, w) = (dir.path().join("t.csv"), dir.path().join("w.csv"));
    let g = |k: &str, f: &Path| format!("{k}={}", f.display());
    trace_ok(
        &tcpdump,
        &["--graph", &g("tcptrace", &t), "--graph", &g("window", &w)],
    );
    let read = |f: &Path| std::fs::read_to_string(f).unwrap();
    let mut report = graph_check::check(&tcpdump, &read(&t), &read(&w));
    let tt = graph_check::points(&read(&t));
    assert!(
        tt.iter().any(|p| p.series == "retransmission") && tt.iter().any(|p| p.series == "sack"),
        "5 % loss and no retransmission or SACK?\n{report}"
    );
    // The other direction of another stream, as asked.
    let stream = fields[&tt[0].frame].stream.unwrap();
    let other = (stream + 1) % 3;
    let args = ["--stream", &other.to_string(), "--direction", "client"];
    let mut a = args.to_vec();
    let (gt, gw) = (g("tcptrace", &t), g("window", &w));
    a.extend(["--graph", &gt, "--graph", &gw]);
    trace_ok(&tcpdump, &a);
    report += "\n";
    report += &graph_check::check(&tcpdump, &read(&t), &read(&w));

    // Every kind as a picture: well-formed, rendered, kept for a look.
    let mut a = vec![];
    let files: Vec<String> = ["tcptrace", "stevens", "throughput", "rtt", "window"]
        .iter()
        .map(|k| g(k, &dir.path().join(format!("{k}.svg"))))
        .collect();
    for f in &files {
        a.extend(["--graph", f.as_str()]);
    }
    trace_ok(&tcpdump, &a);
    for k in ["tcptrace", "stevens", "throughput", "rtt", "window"] {
        let svg = dir.path().join(format!("{k}.svg"));
        graph_check::valid_and_rendered(&svg, &format!("trace-graph-{k}"));
    }
    std::fs::write(artifacts().join("trace-graphs-vs-tshark.txt"), &report).unwrap();
    eprintln!("{report}");
}
