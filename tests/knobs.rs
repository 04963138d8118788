//! The TCP knobs, each value class, seen on a real tap by tcpdump (absolute numbers), with
//! the kernel as the peer. And with every combination the content still arrives
//! byte-equal: a knob must never corrupt the stream.

mod common;

use common::*;
use std::time::Duration;

/// Runs taplab with `flags`, lets `client` talk to it while tcpdump watches, and returns
/// the server's log and the parsed segments.
fn capture(flags: &[&str], client: impl FnOnce(&Taplab)) -> (String, Vec<Seg>) {
    let t = Taplab::start(flags);
    let mut cap = Capture::start(&t.ns);
    client(&t);
    std::thread::sleep(Duration::from_millis(300));
    let lines = cap.finish();
    (t.log(), parse_tcpdump(&lines, 80))
}

fn curl_ok(t: &Taplab, args: &[&str]) {
    let out = t.curl(args);
    assert!(
        out.status.success(),
        "curl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        t.log()
    );
}

fn synack(segs: &[Seg]) -> &Seg {
    segs.iter()
        .find(|s| s.from_server && s.is_syn())
        .unwrap_or_else(|| panic!("no SYN-ACK:\n{}", dump(segs)))
}

fn max_payload(segs: &[Seg], from_server: bool) -> usize {
    segs.iter()
        .filter(|s| s.from_server == from_server)
        .map(|s| s.len)
        .max()
        .unwrap_or(0)
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn isn_fixed_keyed_and_random() {
    let url = format!("{URL}/logo.svg");
    let (_, segs) = capture(&["--isn", "1000"], |t| {
        curl_ok(t, &["-o", "/dev/null", &url]);
        curl_ok(t, &["-o", "/dev/null", &url]);
    });
    let isns: Vec<_> = segs
        .iter()
        .filter(|s| s.from_server && s.is_syn())
        .map(|s| s.seq)
        .collect();
    assert_eq!(isns, vec![Some(1000), Some(1000)], "{}", dump(&segs));
    // The peer acknowledges our data in the same (wire) space: 1000 + 1 + bytes.
    let last_ack = segs
        .iter()
        .filter(|s| !s.from_server)
        .filter_map(|s| s.ack)
        .max()
        .unwrap();
    assert!(
        last_ack > 1001 && last_ack < 1001 + 10_000,
        "{}",
        dump(&segs)
    );

    for mode in ["keyed", "random"] {
        let (_, segs) = capture(&["--isn", mode], |t| {
            for _ in 0..4 {
                curl_ok(t, &["-o", "/dev/null", &url]);
            }
        });
        let isns: Vec<u32> = segs
            .iter()
            .filter(|s| s.from_server && s.is_syn())
            .filter_map(|s| s.seq)
            .collect();
        assert_eq!(isns.len(), 4, "{}", dump(&segs));
        let distinct: std::collections::BTreeSet<_> = isns.iter().collect();
        assert_eq!(distinct.len(), 4, "--isn {mode} repeated an ISN: {isns:?}");
        assert!(!isns.contains(&0) && !isns.contains(&1000), "{isns:?}");
    }
}

const UPLOAD: &str = r#"
import socket, sys
n = int(sys.argv[1])
s = socket.create_connection(("192.168.69.1", 80), timeout=30)
s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n + b"x" * n)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(data.split(b"\r\n")[0].decode())
"#;

fn upload(t: &Taplab, bytes: usize) {
    let out = python(&t.ns, UPLOAD, &[&bytes.to_string()]);
    let first = String::from_utf8_lossy(&out.stdout);
    assert!(
        first.starts_with("HTTP/1.1 405"),
        "{first}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn mss_limits_both_directions() {
    let (_, segs) = capture(&["--mss", "536", "--timestamps", "off"], |t| {
        curl_ok(t, &["-o", "/dev/null", &format!("{URL}/intro.wav")]);
        upload(t, 20_000);
    });
    assert_eq!(synack(&segs).mss, Some(536));
    assert_eq!(
        max_payload(&segs, true),
        536,
        "our largest segment:\n{}",
        dump(&segs)
    );
    assert_eq!(max_payload(&segs, false), 536, "the peer's largest segment");

    // Timestamps take 12 option bytes of every segment (seeds row 5: 1448 = 1460 - 12).
    let (_, segs) = capture(&[], |t| {
        curl_ok(t, &["-o", "/dev/null", &format!("{URL}/intro.wav")])
    });
    assert_eq!(synack(&segs).mss, Some(1460));
    assert_eq!(max_payload(&segs, true), 1448);

    // --mtu sets the tap's MTU and the MSS that follows from it.
    let (_, segs) = capture(&["--mtu", "1400"], |t| {
        let out = t.ns.output("cat", &["/sys/class/net/tap0/mtu"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1400");
        curl_ok(t, &["-o", "/dev/null", &format!("{URL}/intro.wav")]);
    });
    assert_eq!(synack(&segs).mss, Some(1360));
    assert_eq!(max_payload(&segs, true), 1348);
}

/// The most bytes the client had in flight (sent, not yet acknowledged by the server).
fn max_client_in_flight(segs: &[Seg]) -> u32 {
    let mut acked = 0u32;
    let mut most = 0;
    for s in segs {
        if s.from_server {
            if let Some(a) = s.ack {
                acked = acked.max(a);
            }
        } else if let (Some(end), false) = (s.end(), s.is_syn())
            && acked > 0
        {
            most = most.max(end.wrapping_sub(acked));
        }
    }
    most
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn window_scaling_offered_used_or_off() {
    let (_, segs) = capture(&["--wscale", "2"], |t| {
        curl_ok(t, &["-o", "/dev/null", &format!("{URL}/")])
    });
    assert_eq!(synack(&segs).wscale, Some(2));

    // A scaled window really used: the client has more than 64 KiB unacknowledged.
    let (_, segs) = capture(&["--wscale", "5"], |t| upload(t, 900_000));
    assert_eq!(synack(&segs).wscale, Some(5));
    let in_flight = max_client_in_flight(&segs);
    assert!(
        in_flight > 65_535,
        "only {in_flight} bytes in flight with shift 5"
    );

    // off: no option in our SYN-ACK (the peer's was stripped before smoltcp saw it), and
    // never more than 64 KiB in flight.
    let (_, segs) = capture(&["--wscale", "off"], |t| upload(t, 900_000));
    let sa = synack(&segs);
    assert_eq!(sa.wscale, None, "{}", sa.line);
    let client_syn = segs.iter().find(|s| !s.from_server && s.is_syn()).unwrap();
    assert!(client_syn.wscale.is_some(), "the kernel offered scaling");
    assert!(
        segs.iter()
            .filter(|s| s.from_server)
            .all(|s| s.win <= 65_535)
    );
    let in_flight = max_client_in_flight(&segs);
    assert!(
        in_flight <= 65_535,
        "{in_flight} bytes in flight without scaling"
    );
}

const CLOSE_CLIENT: &str = r#"
import socket, sys, time
path, wait, port = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.settimeout(10)
s.connect(("192.168.69.1", 80))
s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(65536)
head, body = data.split(b"\r\n\r\n", 1)
cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < cl:
    body += s.recv(65536)
t0 = time.monotonic()
s.settimeout(wait)
try:
    d = s.recv(1)
    print("EOF" if not d else "DATA", round(time.monotonic() - t0, 3))
except socket.timeout:
    print("TIMEOUT", wait)
except ConnectionResetError:
    print("RESET", round(time.monotonic() - t0, 3))
s.close()
"#;

/// A keep-alive HTTP/1.1 client that reads one response, then waits up to `wait` s for
/// the server to close before closing itself. Returns what it saw ("EOF 0.01", "TIMEOUT").
fn close_client(t: &Taplab, path: &str, wait: f64, port: u16) -> String {
    let out = python(
        &t.ns,
        CLOSE_CLIENT,
        &[path, &wait.to_string(), &port.to_string()],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn first_fin(conn: &[Seg]) -> &Seg {
    conn.iter()
        .find(|s| s.has('F') || s.has('R'))
        .unwrap_or_else(|| panic!("no FIN:\n{}", dump(conn)))
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn who_closes_first_and_how_the_fin_travels() {
    // server-first, FIN piggybacked on the last data segment.
    let (_, segs) = capture(&["--close", "server-first"], |t| {
        assert!(close_client(t, "/logo.svg", 3.0, 41001).starts_with("EOF"));
    });
    let conn = connection(&segs, 41001);
    let fin = first_fin(&conn);
    assert!(
        fin.from_server && fin.len > 0,
        "FIN on the data:\n{}",
        dump(&conn)
    );

    // server-first, FIN separate: its own segment after all data was acknowledged.
    let (_, segs) = capture(&["--close", "server-first", "--fin", "separate"], |t| {
        assert!(close_client(t, "/logo.svg", 3.0, 41002).starts_with("EOF"));
    });
    let conn = connection(&segs, 41002);
    let fin = first_fin(&conn);
    assert!(fin.from_server && fin.len == 0, "{}", dump(&conn));
    let data_end = conn
        .iter()
        .filter(|s| s.from_server && s.len > 0)
        .filter_map(|s| s.end())
        .max()
        .unwrap();
    let fin_at = fin.time;
    assert!(
        conn.iter()
            .any(|s| !s.from_server && s.ack == Some(data_end) && s.time <= fin_at),
        "FIN only after the data was acknowledged:\n{}",
        dump(&conn)
    );

    // client-first: the server never closes; the client does, after waiting 1 s.
    let (_, segs) = capture(&["--close", "client-first"], |t| {
        assert_eq!(close_client(t, "/logo.svg", 1.0, 41003), "TIMEOUT 1.0");
    });
    let conn = connection(&segs, 41003);
    assert!(!first_fin(&conn).from_server, "{}", dump(&conn));

    // idle:1 — the server's FIN about 1 s after the response.
    let (_, segs) = capture(&["--close", "idle:1"], |t| {
        assert!(close_client(t, "/logo.svg", 5.0, 41004).starts_with("EOF"));
    });
    let conn = connection(&segs, 41004);
    let fin = first_fin(&conn);
    let last_data = conn.iter().rfind(|s| s.from_server && s.len > 0).unwrap();
    let idle = fin.time - last_data.time;
    assert!(
        fin.from_server && (0.9..2.5).contains(&idle),
        "FIN after {idle} s:\n{}",
        dump(&conn)
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn three_and_four_segment_closes() {
    // close-wait 0: our ACK of the client's FIN and our FIN share one segment.
    let (_, segs) = capture(&["--close", "client-first"], |t| {
        close_client(t, "/", 0.3, 41011);
    });
    let conn = connection(&segs, 41011);
    let cfin = conn
        .iter()
        .position(|s| !s.from_server && s.has('F'))
        .unwrap();
    let after: Vec<_> = conn[cfin + 1..].iter().collect();
    assert!(after.len() == 2, "three segments:\n{}", dump(&conn));
    assert!(after[0].from_server && after[0].has('F') && after[0].ack == conn[cfin].end());
    assert!(!after[1].from_server && !after[1].has('F'));

    // close-wait 300: ACK, then 300 ms in CLOSE-WAIT, then FIN — four segments.
    let (_, segs) = capture(&["--close", "client-first", "--close-wait", "300"], |t| {
        close_client(t, "/", 0.3, 41012);
    });
    let conn = connection(&segs, 41012);
    let cfin = conn
        .iter()
        .position(|s| !s.from_server && s.has('F'))
        .unwrap();
    let after: Vec<_> = conn[cfin + 1..].iter().collect();
    assert!(after.len() == 3, "four segments:\n{}", dump(&conn));
    assert!(after[0].from_server && !after[0].has('F') && after[0].ack == conn[cfin].end());
    assert!(after[1].from_server && after[1].has('F'));
    let linger = after[1].time - after[0].time;
    assert!(
        (0.28..1.0).contains(&linger),
        "lingered {linger} s:\n{}",
        dump(&conn)
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn abort_ends_with_rst_after_all_data() {
    let (_, segs) = capture(&["--close", "server-first", "--abort"], |t| {
        let out = t.curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &format!("{URL}/intro.wav"),
        ]);
        let size = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(
            size,
            std::fs::metadata(www().join("intro.wav"))
                .unwrap()
                .len()
                .to_string()
        );
    });
    assert!(
        segs.iter().any(|s| s.from_server && s.has('R')),
        "{}",
        dump(&segs)
    );
    assert!(
        !segs.iter().any(|s| s.from_server && s.has('F')),
        "no FIN from us:\n{}",
        dump(&segs)
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn nagle_holds_the_small_tail_until_the_ack() {
    // logo.svg's response is one full segment and a small one. Fetched second on a
    // keep-alive connection, the kernel delays its ACK (~40 ms): with Nagle the small
    // tail waits for that ACK; without, it follows at once. (Which of the ACK and the
    // tail tcpdump sees first says nothing: the kernel can ACK inside our write.)
    for (nagle, held) in [("on", true), ("off", false)] {
        let (_, segs) = capture(&["--nagle", nagle], |t| {
            curl_ok(
                t,
                &[
                    "-o",
                    "/dev/null",
                    "-o",
                    "/dev/null",
                    &format!("{URL}/style.css"),
                    &format!("{URL}/logo.svg"),
                ],
            )
        });
        let data: Vec<&Seg> = segs.iter().filter(|s| s.from_server && s.len > 0).collect();
        let n = data.len();
        assert!(n >= 3, "{}", dump(&segs));
        let (full, tail) = (data[n - 2], data[n - 1]);
        assert!(full.len > tail.len, "{}", dump(&segs));
        let gap = tail.time - full.time;
        if held {
            assert!(
                gap > 0.02,
                "--nagle on: tail after {gap} s:\n{}",
                dump(&segs)
            );
            assert!(
                segs.iter()
                    .any(|s| !s.from_server && s.ack >= full.end() && s.time <= tail.time)
            );
        } else {
            assert!(
                gap < 0.01,
                "--nagle off: tail after {gap} s:\n{}",
                dump(&segs)
            );
        }
    }
}

const SLOW_REQUEST: &str = r#"
import socket, time
s = socket.create_connection(("192.168.69.1", 80), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\n")
time.sleep(0.8)
s.sendall(b"Host: t\r\nConnection: close\r\n\r\n")
while s.recv(65536):
    pass
"#;

/// Delay between the client's first data segment and our pure ACK of it.
fn ack_delay_seen(segs: &[Seg]) -> f64 {
    let data = segs.iter().find(|s| !s.from_server && s.len > 0).unwrap();
    let ack = segs
        .iter()
        .find(|s| s.from_server && s.time >= data.time && s.ack >= data.end())
        .unwrap();
    ack.time - data.time
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn ack_delay_is_visible() {
    let (_, segs) = capture(&["--ack-delay", "0"], |t| {
        python(&t.ns, SLOW_REQUEST, &[]);
    });
    let d = ack_delay_seen(&segs);
    assert!(
        d < 0.05,
        "ACK after {d} s with --ack-delay 0:\n{}",
        dump(&segs)
    );
    // 150 ms: below Linux's 200 ms minimum RTO, or the client would retransmit first.
    let (_, segs) = capture(&["--ack-delay", "150"], |t| {
        python(&t.ns, SLOW_REQUEST, &[]);
    });
    let d = ack_delay_seen(&segs);
    assert!(
        (0.14..0.19).contains(&d),
        "ACK after {d} s with --ack-delay 150:\n{}",
        dump(&segs)
    );
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn timestamps_and_sack_on_and_off() {
    let url = format!("{URL}/intro.wav");
    let (_, segs) = capture(&[], |t| curl_ok(t, &["-o", "/dev/null", &url]));
    let sa = synack(&segs);
    assert!(sa.timestamps && sa.sack_ok, "{}", sa.line);
    assert!(segs.iter().filter(|s| s.from_server).all(|s| s.timestamps));

    let (_, segs) = capture(&["--timestamps", "off", "--sack", "off"], |t| {
        curl_ok(t, &["-o", "/dev/null", &url])
    });
    let sa = synack(&segs);
    assert!(!sa.timestamps && !sa.sack_ok, "{}", sa.line);
    assert!(segs.iter().filter(|s| s.from_server).all(|s| !s.timestamps));
    // Without timestamps both sides stop sending them, and segments carry 1460 bytes.
    assert!(
        segs.iter()
            .filter(|s| !s.from_server && !s.is_syn())
            .all(|s| !s.timestamps)
    );
    assert_eq!(max_payload(&segs, true), 1460);
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, tshark, curl, chromium: run scripts/test.sh"]
fn every_knob_combination_delivers_byte_equal_content() {
    let combos: &[&[&str]] = &[
        &[
            "--isn",
            "1000",
            "--mss",
            "536",
            "--wscale",
            "2",
            "--close",
            "server-first",
            "--fin",
            "separate",
        ],
        // Sequence numbers wrap past 2^32 during the audio.
        &[
            "--isn",
            "4294967000",
            "--timestamps",
            "off",
            "--sack",
            "off",
        ],
        &[
            "--wscale",
            "off",
            "--window",
            "20000",
            "--nagle",
            "on",
            "--ack-delay",
            "0",
        ],
        &[
            "--close",
            "client-first",
            "--close-wait",
            "100",
            "--mss",
            "1000",
        ],
        &["--isn", "random", "--close", "idle:1", "--fin", "separate"],
        &["--abort", "--close", "server-first", "--mss", "600"],
        &["--wscale", "14", "--mtu", "1400"],
        &["--mss", "88", "--ack-delay", "200"],
    ];
    let files = ["index.html", "style.css", "logo.svg", "intro.wav"];
    for flags in combos {
        let t = Taplab::start(flags);
        for f in files {
            let got = t.get(&format!("/{f}"));
            assert!(
                got == std::fs::read(www().join(f)).unwrap(),
                "{f} differs with {flags:?}"
            );
        }
        let out = t.curl(&["-g", "--fail", "http://[fdaa::1]/intro.wav"]);
        assert!(
            out.stdout == std::fs::read(www().join("intro.wav")).unwrap(),
            "IPv6 audio differs with {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
