//! `taplab trace` reads a capture as it arrives: fed through a pipe (`-`, standard input)
//! or a FIFO, it prints each listing line once that frame has come, before the writer
//! has finished, and lists the whole capture exactly as it lists the same file. Needs no
//! root and no network.

mod common;

use common::{BIN, TempDir};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A classic pcap header (little-endian, µs, Ethernet).
fn pcap_header() -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        b.extend(v.to_le_bytes());
    }
    b
}

/// One pcap record: an Ethernet/IPv4/TCP segment between 10.0.0.1:40000 and 10.0.0.2:80.
fn record(n: u32, from_client: bool, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
    };
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend(src);
    f.extend(dst);
    f.extend(sport.to_be_bytes());
    f.extend(dport.to_be_bytes());
    f.extend(seq.to_be_bytes());
    f.extend(ack.to_be_bytes());
    f.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    let mut r = Vec::new();
    for v in [1_700_000_000 + n, n * 1000, f.len() as u32, f.len() as u32] {
        r.extend(v.to_le_bytes());
    }
    r.extend(f);
    r
}

/// A handshake and a close: eight records in all.
fn records() -> Vec<Vec<u8>> {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN: u8 = 0x01;
    vec![
        record(0, true, SYN, 100, 0),
        record(1, false, SYN | ACK, 500, 101),
        record(2, true, ACK, 101, 501),
        record(3, true, FIN | ACK, 101, 501),
        record(4, false, ACK, 501, 102),
        record(5, false, FIN | ACK, 501, 102),
        record(6, true, ACK, 102, 502),
        record(7, true, ACK, 102, 502),
    ]
}

/// Lines of the child's stdout, read on a thread so that the test can wait for each one
/// with a bound instead of hanging.
fn lines(out: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line, waiting at most a minute (a bound against a hang, not a speed check).
fn next_line(rx: &mpsc::Receiver<String>, child: &mut Child, what: &str) -> String {
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no {what} from taplab trace while the capture was still being written")
        })
}

fn trace_file(path: &Path) -> String {
    let out = Command::new(BIN)
        .args(["trace", "--no-states"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Writes the header and the first record into `input`, checks that the header and the
/// first line come out, then writes the rest, closes, and returns the whole output.
fn feed_and_watch(mut child: Child, mut input: impl Write, name: &str) -> String {
    let rx = lines(child.stdout.take().unwrap());
    let recs = records();
    input.write_all(&pcap_header()).unwrap();
    input.write_all(&recs[0]).unwrap();
    input.flush().unwrap();
    let header = next_line(&rx, &mut child, "header");
    let first = next_line(&rx, &mut child, "first line");
    assert!(
        header.contains("No.") && header.contains("Info"),
        "{name}: {header}"
    );
    assert!(
        first.trim_start().starts_with("1 ") && first.contains("[SYN] Seq=0"),
        "{name}: {first}"
    );
    let mut all = vec![header, first];
    // Each further frame is listed before the next is written.
    for (i, rec) in recs[1..].iter().enumerate() {
        input.write_all(rec).unwrap();
        input.flush().unwrap();
        let line = next_line(&rx, &mut child, "line");
        assert!(
            line.trim_start().starts_with(&format!("{} ", i + 2)),
            "{name}: {line}"
        );
        all.push(line);
    }
    drop(input);
    let st = child.wait().unwrap();
    assert!(st.success(), "{name}: {st}");
    all.extend(rx.iter().take(10_000).collect::<Vec<_>>());
    all.join("\n") + "\n"
}

#[test]
fn trace_lists_a_capture_from_a_pipe_and_a_fifo_line_by_line_as_it_arrives() {
    let dir = TempDir::new("trace-stream");
    let file = dir.path().join("whole.pcap");
    std::fs::write(&file, [pcap_header(), records().concat()].concat()).unwrap();
    let want = trace_file(&file);
    // The state timelines would come only at the end: leave them out to watch lines.
    assert_eq!(want.lines().count(), 1 + records().len(), "{want}");

    // Standard input, as from `tcpdump -w - | taplab trace -`.
    let mut child = Command::new(BIN)
        .args(["trace", "--no-states", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    assert_eq!(feed_and_watch(child, stdin, "stdin"), want);

    // A FIFO given as the file.
    let fifo = dir.path().join("live.pcap");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let child = Command::new(BIN)
        .args(["trace", "--no-states"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing waits for taplab to open it for reading.
    let writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    assert_eq!(feed_and_watch(child, writer, "fifo"), want);
}

#[test]
fn a_capture_cut_short_in_a_pipe_lists_its_complete_frames_and_warns() {
    let recs = records();
    let mut bytes = [pcap_header(), recs[..3].concat()].concat();
    bytes.extend(&recs[3][..20]);
    let mut child = Command::new(BIN)
        .args(["trace", "--no-states", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1 + 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("taplab: warning: - was cut short in the middle of frame 4"),
        "{err}"
    );
}
