//! Unit tests of the listing and the state timeline, on frames built here. The expected
//! Info texts are tshark 4.0's for the same frames (checked by writing them to a pcap
//! and running `tshark -r` on it while writing these tests).

use super::*;
use crate::tcp::{Side, StateChange, TcpFlags, TcpState, endpoint_text};

// The flag bits as they are written into the header bytes.
const FIN: u16 = TcpFlags::FIN.bits();
const SYN: u16 = TcpFlags::SYN.bits();
const RST: u16 = TcpFlags::RST.bits();
const PSH: u16 = TcpFlags::PSH.bits();
const ACK: u16 = TcpFlags::ACK.bits();
const URG: u16 = TcpFlags::URG.bits();

const CLIENT: [u8; 4] = [192, 168, 69, 100];
const SERVER: [u8; 4] = [192, 168, 69, 1];
const CPORT: u16 = 51997;
const CMAC: [u8; 6] = [0x6e, 0xec, 0x8a, 0x44, 0x6b, 0xe0];
const SMAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

/// Ethernet + IPv4 + TCP, from the client (51997) or the server (80). Checksums are
/// left zero: the listing does not check them.
fn tcp(
    from_client: bool,
    flags: u16,
    seq: u32,
    ack: u32,
    win: u16,
    opts: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let (smac, dmac, src, dst, sport, dport) = if from_client {
        (CMAC, SMAC, CLIENT, SERVER, CPORT, 80)
    } else {
        (SMAC, CMAC, SERVER, CLIENT, 80, CPORT)
    };
    let mut opts = opts.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(1);
    }
    let tcp_len = 20 + opts.len() + data.len();
    let mut f = Vec::new();
    f.extend(dmac);
    f.extend(smac);
    f.extend([0x08, 0x00]);
    f.extend([0x45, 0]);
    f.extend(((20 + tcp_len) as u16).to_be_bytes());
    f.extend([0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend(src);
    f.extend(dst);
    f.extend(sport.to_be_bytes());
    f.extend(dport.to_be_bytes());
    f.extend(seq.to_be_bytes());
    f.extend(ack.to_be_bytes());
    let off_flags = ((((20 + opts.len()) / 4) as u16) << 12) | flags;
    f.extend(off_flags.to_be_bytes());
    f.extend(win.to_be_bytes());
    f.extend([0, 0, 0, 0]);
    f.extend(opts);
    f.extend_from_slice(data);
    f
}

const SYN_OPTS: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10,
];
const SYNACK_OPTS: [u8; 20] = [
    2, 4, 5, 0xb4, 1, 3, 3, 2, 4, 2, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1,
];

/// Feeds frames 1 ms apart; returns the rows.
fn run(frames: &[Vec<u8>]) -> Vec<Row> {
    run_with(ListingOptions::default(), frames)
}

fn run_with(opts: ListingOptions, frames: &[Vec<u8>]) -> Vec<Row> {
    let mut a = Analyzer::new(opts);
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            a.push(
                1_700_000_000_000_000 + i as i64 * 1000,
                LinkType::Ethernet,
                f,
            )
        })
        .collect()
}

/// A handshake with client ISN `c` and server ISN `s` (WS 1024 and 4).
fn handshake(c: u32, s: u32) -> Vec<Vec<u8>> {
    vec![
        tcp(true, SYN, c, 0, 64240, &SYN_OPTS, b""),
        tcp(
            false,
            SYN | ACK,
            s,
            c.wrapping_add(1),
            65535,
            &SYNACK_OPTS,
            b"",
        ),
        tcp(
            true,
            ACK,
            c.wrapping_add(1),
            s.wrapping_add(1),
            63,
            &[],
            b"",
        ),
    ]
}

/// As `run`, with HTTP decoding off (payload on port 80 that is not HTTP would
/// otherwise be labelled as HTTP reassembly).
fn run_plain(frames: &[Vec<u8>]) -> Vec<Row> {
    let mut a = Analyzer::new(ListingOptions::default());
    a.set_http(false);
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| a.push(i as i64 * 1000, LinkType::Ethernet, f))
        .collect()
}

fn infos(rows: &[Row]) -> Vec<String> {
    rows.iter().map(|r| r.info()).collect()
}

#[test]
fn handshake_as_tshark_prints_it() {
    let rows = run(&handshake(1000, 5000));
    assert_eq!(
        infos(&rows),
        [
            "51997 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=1 TSecr=0 WS=1024",
            "80 → 51997 [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1460 WS=4 SACK_PERM TSval=2 TSecr=1",
            "51997 → 80 [ACK] Seq=1 Ack=1 Win=64512 Len=0",
        ]
    );
    let r = &rows[0];
    assert_eq!((r.no, r.time, r.protocol(), r.length), (1, 0.0, "TCP", 74));
    assert_eq!(
        r.addresses(),
        ("192.168.69.100".into(), "192.168.69.1".into())
    );
    let t = rows[1].tcp().unwrap();
    assert_eq!(t.stream, 0);
    assert_eq!((t.src_port, t.dst_port), (80, CPORT));
    assert_eq!(
        (t.seq, t.ack, t.raw_seq, t.raw_ack),
        (0, Some(1), 5000, Some(1001))
    );
    assert_eq!(t.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(t.win, 65535);
    assert_eq!(
        listing::option_texts(t),
        ["MSS=1460", "WS=4", "SACK_PERM", "TSval=2 TSecr=1"]
    );
    assert_eq!(
        (
            t.mss(),
            t.window_scale(),
            t.sack_permitted(),
            t.timestamps()
        ),
        (Some(1460), Some(2), true, Some((2, 1)))
    );
    // Scaled once both SYNs had the option: 63 × 1024.
    assert_eq!(rows[2].tcp().unwrap().win, 64512);
    assert!((rows[2].time - 0.002).abs() < 1e-9);
    assert_eq!(
        rows[2].line(),
        "     3    0.002000 192.168.69.100        192.168.69.1          TCP          54 51997 → 80 [ACK] Seq=1 Ack=1 Win=64512 Len=0"
    );
    assert!(Row::header().starts_with("   No.        Time Source"));
}

#[test]
fn no_window_scaling_unless_both_syns_offer_it() {
    let frames = vec![
        tcp(true, SYN, 1000, 0, 64240, &SYN_OPTS, b""),
        tcp(false, SYN | ACK, 5000, 1001, 65535, &[2, 4, 5, 0xb4], b""),
        tcp(true, ACK, 1001, 5001, 63, &[], b""),
    ];
    assert_eq!(run(&frames)[2].tcp().unwrap().win, 63);
}

#[test]
fn relative_numbers_wrap_past_2_pow_32_and_absolute_shows_raw() {
    let (c, s) = (4_294_967_000u32, 4_294_967_290u32);
    let mut frames = handshake(c, s);
    frames.push(tcp(
        true,
        PSH | ACK,
        c + 1,
        s.wrapping_add(1),
        63,
        &[],
        &[b'x'; 500],
    ));
    frames.push(tcp(
        false,
        ACK,
        s.wrapping_add(1),
        c.wrapping_add(501),
        16,
        &[],
        &[b'y'; 100],
    ));
    frames.push(tcp(
        true,
        ACK,
        c.wrapping_add(501),
        s.wrapping_add(101),
        63,
        &[],
        b"",
    ));
    let rows = run(&frames);
    let t: Vec<_> = rows.iter().map(|r| r.tcp().cloned().unwrap()).collect();
    assert_eq!((t[3].seq, t[3].ack, t[3].len), (1, Some(1), 500));
    assert_eq!((t[4].seq, t[4].ack), (1, Some(501)));
    assert_eq!((t[5].seq, t[5].ack), (501, Some(101)));
    assert_eq!(t[5].raw_ack, Some(s.wrapping_add(101)));
    let abs = run_with(ListingOptions { absolute: true }, &frames);
    assert_eq!(
        abs[5].info(),
        format!(
            "51997 → 80 [ACK] Seq={} Ack={} Win=64512 Len=0",
            c.wrapping_add(501),
            s.wrapping_add(101)
        )
    );
    assert_eq!(abs[0].tcp().unwrap().seq, c);
}

#[test]
fn analysis_flags_as_tshark_marks_them() {
    let (c, s) = (1000u32, 5000u32);
    let mut f = handshake(c, s);
    let data = |seq: u32, n: usize| tcp(false, ACK, s + seq, c + 1, 512, &[], &vec![b'z'; n]);
    let ack = |a: u32, win: u16| tcp(true, ACK, c + 1, s + a, win, &[], b"");
    f.push(data(1, 100)); // 4
    f.push(ack(101, 63)); // 5
    f.push(ack(101, 70)); // 6 window update
    f.push(data(101, 100)); // 7
    f.push(data(301, 100)); // 8 previous segment not captured
    f.push(ack(201, 70)); // 9
    f.push(ack(201, 70)); // 10 dup 1
    f.push(ack(201, 70)); // 11 dup 2
    f.push(data(201, 100)); // 12 fast retransmission
    f.push(ack(401, 0)); // 13 zero window
    f.push(data(201, 50)); // 14 spurious retransmission (already acked)
    f.push(ack(401, 70)); // 15 window update
    f.push(tcp(false, ACK, s + 400, c + 1, 512, &[], b"")); // 16 keep-alive
    let rows = run_plain(&f);
    let analysis: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let marks = &r.tcp().unwrap().marks;
            marks.iter().map(ToString::to_string).collect()
        })
        .collect();
    let want: [&[&str]; 16] = [
        &[],
        &[],
        &[],
        &[],
        &[],
        &["TCP Window Update"],
        &[],
        &["TCP Previous segment not captured"],
        &[],
        &["TCP Dup ACK 9#1"],
        &["TCP Dup ACK 9#2"],
        &["TCP Fast Retransmission"],
        &["TCP ZeroWindow"],
        &["TCP Spurious Retransmission"],
        &["TCP Window Update"],
        &["TCP Keep-Alive"],
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(analysis[i], *w, "frame {}: {}", i + 1, rows[i].info());
    }
    assert_eq!(
        rows[9].info(),
        "[TCP Dup ACK 9#1] 51997 → 80 [ACK] Seq=1 Ack=201 Win=71680 Len=0"
    );
    assert_eq!(
        rows[12].info(),
        "[TCP ZeroWindow] 51997 → 80 [ACK] Seq=1 Ack=401 Win=0 Len=0"
    );
}

#[test]
fn a_timeout_retransmission_and_an_urgent_pointer() {
    let (c, s) = (1000u32, 5000u32);
    let mut f = handshake(c, s);
    f.push(tcp(true, PSH | ACK, c + 1, s + 1, 63, &[], b"abc"));
    f.push(tcp(true, PSH | ACK, c + 1, s + 1, 63, &[], b"abc"));
    f.push(tcp(true, PSH | ACK | URG, c + 4, s + 1, 63, &[], b"d"));
    let mut a = Analyzer::new(ListingOptions::default());
    a.set_http(false);
    let mut rows = Vec::new();
    for (i, fr) in f.iter().enumerate() {
        // The copy comes 300 ms after the original: not out of order.
        rows.push(a.push(i as i64 * 300_000, LinkType::Ethernet, fr));
    }
    assert_eq!(
        rows[4].info(),
        "[TCP Retransmission] 51997 → 80 [PSH, ACK] Seq=1 Ack=1 Win=64512 Len=3"
    );
    assert_eq!(
        rows[5].info(),
        "51997 → 80 [PSH, ACK, URG] Seq=4 Ack=1 Win=64512 Urg=0 Len=1"
    );
}

#[test]
fn http_messages_are_named_where_tshark_names_them() {
    let (c, s) = (1000u32, 5000u32);
    let mut f = handshake(c, s);
    let req = b"GET /intro.wav HTTP/1.1\r\nHost: 192.168.69.1\r\n\r\n";
    f.push(tcp(true, PSH | ACK, c + 1, s + 1, 63, &[], req));
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 1000\r\n\r\n";
    let mut first = head.to_vec();
    first.extend([0u8; 400]);
    let r = c + 1 + req.len() as u32;
    f.push(tcp(false, ACK, s + 1, r, 512, &[], &first));
    let second = s + 1 + first.len() as u32;
    f.push(tcp(false, ACK, second, r, 512, &[], &[0u8; 300]));
    f.push(tcp(
        false,
        PSH | ACK,
        second + 300,
        r,
        512,
        &[],
        &[0u8; 300],
    ));
    let rows = run(&f);
    assert_eq!(rows[3].info(), "GET /intro.wav HTTP/1.1 ");
    assert_eq!(rows[3].protocol(), "HTTP");
    assert_eq!(
        rows[4].info(),
        "HTTP/1.1 200 OK  [TCP segment of a reassembled PDU]"
    );
    assert_eq!(rows[4].protocol(), "TCP");
    assert_eq!(
        rows[5].info(),
        "80 → 51997 [ACK] Seq=467 Ack=48 Win=2048 Len=300 [TCP segment of a reassembled PDU]"
    );
    assert_eq!(
        rows[5].tcp().unwrap().http,
        Some(http::HttpPart::SegmentOf(None))
    );
    assert!(rows[5].tcp().unwrap().marks.is_empty());
    assert_eq!(rows[6].info(), "HTTP/1.1 200 OK  (audio/wav)");
    assert!(rows[6].is_http() && !rows[5].is_http());
    // With HTTP off, every row is a TCP summary.
    let mut a = Analyzer::new(ListingOptions::default());
    a.set_http(false);
    let plain: Vec<Row> = f
        .iter()
        .map(|fr| a.push(0, LinkType::Ethernet, fr))
        .collect();
    assert_eq!(
        plain[3].info(),
        "51997 → 80 [PSH, ACK] Seq=1 Ack=1 Win=64512 Len=47"
    );
}

#[test]
fn streams_are_numbered_by_first_appearance_and_a_new_syn_starts_a_new_one() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(true, FIN | ACK, 1001, 5001, 63, &[], b""));
    f.push(tcp(false, FIN | ACK, 5001, 1002, 512, &[], b""));
    f.push(tcp(true, ACK, 1002, 5002, 63, &[], b""));
    f.push(tcp(true, SYN, 9000, 0, 64240, &[], b""));
    let rows = run(&f);
    assert_eq!(rows[5].tcp().unwrap().stream, 0);
    let t = rows[6].tcp().unwrap();
    assert_eq!((t.stream, t.seq), (1, 0));
    assert_eq!(
        rows[6].info(),
        "[TCP Port numbers reused] 51997 → 80 [SYN] Seq=0 Win=64240 Len=0"
    );
}

#[test]
fn arp_icmp_ipv6_and_other_link_types() {
    let mut arp = Vec::new();
    arp.extend([0xff; 6]);
    arp.extend(CMAC);
    arp.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    arp.extend(CMAC);
    arp.extend(CLIENT);
    arp.extend([0; 6]);
    arp.extend(SERVER);
    let mut reply = Vec::new();
    reply.extend(CMAC);
    reply.extend(SMAC);
    reply.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    reply.extend(SMAC);
    reply.extend(SERVER);
    reply.extend(CMAC);
    reply.extend(CLIENT);
    let echo = |from_client: bool, kind: u8| {
        let mut f = tcp(from_client, 0, 0, 0, 0, &[], b"");
        f.truncate(34);
        f[23] = 1; // ICMP
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f.extend([kind, 0, 0, 0, 0x10, 0x53, 0, 1]);
        f.extend([0u8; 0]);
        f
    };
    let rows = run(&[arp, reply, echo(true, 8), echo(false, 0)]);
    let (src, dst) = rows[0].addresses();
    assert_eq!(
        (src.as_str(), dst.as_str(), rows[0].protocol()),
        ("6e:ec:8a:44:6b:e0", "Broadcast", "ARP")
    );
    assert_eq!(rows[0].info(), "Who has 192.168.69.1? Tell 192.168.69.100");
    assert_eq!(rows[1].info(), "192.168.69.1 is at 02:00:00:00:00:01");
    assert_eq!(
        rows[2].info(),
        "Echo (ping) request  id=0x1053, seq=1/256, ttl=64"
    );
    assert_eq!(
        rows[3].info(),
        "Echo (ping) reply    id=0x1053, seq=1/256, ttl=64 (request in 3)"
    );
    assert_eq!(rows[3].protocol(), "ICMP");

    // The same TCP segment as raw IP and inside Linux cooked headers (v1 and v2).
    let eth = tcp(true, SYN, 1, 0, 100, &[], b"");
    let ip = eth[14..].to_vec();
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend(CMAC);
    sll.extend([0, 0, 0x08, 0x00]);
    sll.extend(&ip);
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
    sll2.extend(CMAC);
    sll2.extend([0, 0]);
    sll2.extend(&ip);
    let want = "51997 → 80 [SYN] Seq=0 Win=100 Len=0";
    for (link, bytes) in [
        (LinkType::RawIp, &ip),
        (LinkType::RawIpv4, &ip),
        (LinkType::LinuxSll, &sll),
        (LinkType::LinuxSll2, &sll2),
    ] {
        let r = Analyzer::new(ListingOptions::default()).push(0, link, bytes);
        assert_eq!(r.info(), want, "{link:?}");
        assert_eq!(r.addresses().0, "192.168.69.100");
    }

    // ICMPv6 echo over IPv6, raw.
    let addr = |last: [u8; 2]| {
        let mut a = [0u8; 16];
        a[..2].copy_from_slice(&[0xfd, 0xaa]);
        a[14..].copy_from_slice(&last);
        a
    };
    let (host, us) = (addr([1, 0]), addr([0, 1]));
    let v6 = |src: [u8; 16], dst: [u8; 16], kind: u8| {
        let mut p = vec![0x60, 0, 0, 0, 0, 8, 58, 64];
        p.extend(src);
        p.extend(dst);
        p.extend([kind, 0, 0, 0, 0x48, 0x29, 0, 1]);
        p
    };
    let mut a = Analyzer::new(ListingOptions::default());
    let req = a.push(0, LinkType::RawIpv6, &v6(host, us, 128));
    let rep = a.push(0, LinkType::RawIpv6, &v6(us, host, 129));
    assert_eq!(
        (req.addresses().0.as_str(), req.protocol()),
        ("fdaa::100", "ICMPv6")
    );
    assert_eq!(
        req.info(),
        "Echo (ping) request id=0x4829, seq=1, hop limit=64"
    );
    assert_eq!(
        rep.info(),
        "Echo (ping) reply id=0x4829, seq=1, hop limit=64 (request in 1)"
    );
}

/// The state changes of a run, as "frame side FROM→TO".
fn states(frames: &[Vec<u8>]) -> (Vec<String>, StateTracker) {
    let mut t = StateTracker::new();
    let mut out = Vec::new();
    for r in run(frames) {
        for c in t.push(&r) {
            assert!(c.inferred.is_some());
            let side = match c.side {
                Side::Client => "C",
                Side::Server => "S",
            };
            out.push(format!("{} {side} {}→{}", c.frame.unwrap(), c.from, c.to));
        }
    }
    (out, t)
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const OPEN: [&str; 4] = [
    "1 C CLOSED→SYN_SENT",
    "1 S LISTEN→SYN_RCVD",
    "2 C SYN_SENT→ESTABLISHED",
    "3 S SYN_RCVD→ESTABLISHED",
];

#[test]
fn client_closes_first_in_four_segments() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(true, FIN | ACK, 1001, 5001, 63, &[], b"")); // 4
    f.push(tcp(false, ACK, 5001, 1002, 512, &[], b"")); // 5
    f.push(tcp(false, FIN | ACK, 5001, 1002, 512, &[], b"")); // 6
    f.push(tcp(true, ACK, 1002, 5002, 63, &[], b"")); // 7
    let (got, t) = states(&f);
    let mut want = strs(&OPEN);
    want.extend(strs(&[
        "4 C ESTABLISHED→FIN_WAIT_1",
        "4 S ESTABLISHED→CLOSE_WAIT",
        "5 C FIN_WAIT_1→FIN_WAIT_2",
        "6 S CLOSE_WAIT→LAST_ACK",
        "6 C FIN_WAIT_2→TIME_WAIT",
        "7 S LAST_ACK→CLOSED",
    ]));
    assert_eq!(got, want);
    let st = t.stream(0).unwrap();
    assert_eq!(endpoint_text(st.client), "192.168.69.100:51997");
    assert_eq!(endpoint_text(st.server), "192.168.69.1:80");
    assert!(!st.mid_stream);
}

#[test]
fn server_closes_first_with_its_fin_on_the_data_and_a_three_segment_close() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(false, FIN | PSH | ACK, 5001, 1001, 512, &[], b"bye")); // 4
    f.push(tcp(true, FIN | ACK, 1001, 5005, 63, &[], b"")); // 5: ACK and FIN together
    f.push(tcp(false, ACK, 5005, 1002, 512, &[], b"")); // 6
    let (got, _) = states(&f);
    let mut want = strs(&OPEN);
    want.extend(strs(&[
        "4 S ESTABLISHED→FIN_WAIT_1",
        "4 C ESTABLISHED→CLOSE_WAIT",
        "5 C CLOSE_WAIT→LAST_ACK",
        "5 S FIN_WAIT_1→FIN_WAIT_2",
        "5 S FIN_WAIT_2→TIME_WAIT",
        "6 C LAST_ACK→CLOSED",
    ]));
    assert_eq!(got, want);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(true, FIN | ACK, 1001, 5001, 63, &[], b"")); // 4
    f.push(tcp(false, FIN | ACK, 5001, 1001, 512, &[], b"")); // 5: does not ack 4
    f.push(tcp(true, ACK, 1002, 5002, 63, &[], b"")); // 6
    f.push(tcp(false, ACK, 5002, 1002, 512, &[], b"")); // 7
    let (got, t) = states(&f);
    let mut want = strs(&OPEN);
    want.extend(strs(&[
        "4 C ESTABLISHED→FIN_WAIT_1",
        "4 S ESTABLISHED→CLOSE_WAIT",
        "5 S CLOSE_WAIT→CLOSING",
        "5 C FIN_WAIT_1→CLOSING",
        "6 S CLOSING→TIME_WAIT",
        "7 C CLOSING→TIME_WAIT",
    ]));
    assert_eq!(got, want);
    assert_eq!(t.stream(0).unwrap().states, [TcpState::TimeWait; 2]);
}

#[test]
fn rst_closes_both_ends_and_a_refused_syn_too() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(false, RST | ACK, 5001, 1001, 0, &[], b""));
    let (got, _) = states(&f);
    let mut want = strs(&OPEN);
    want.extend(strs(&["4 S ESTABLISHED→CLOSED", "4 C ESTABLISHED→CLOSED"]));
    assert_eq!(got, want);

    let f = vec![
        tcp(true, SYN, 1000, 0, 64240, &[], b""),
        tcp(false, RST | ACK, 0, 1001, 0, &[], b""),
    ];
    let (got, _) = states(&f);
    assert_eq!(
        got,
        strs(&[
            "1 C CLOSED→SYN_SENT",
            "1 S LISTEN→SYN_RCVD",
            "2 S SYN_RCVD→CLOSED",
            "2 C SYN_SENT→CLOSED",
        ])
    );
}

#[test]
fn a_capture_that_starts_mid_stream_starts_established() {
    let f = vec![
        tcp(false, PSH | ACK, 5001, 1001, 512, &[], b"data"), // the server speaks first
        tcp(true, FIN | ACK, 1001, 5005, 63, &[], b""),
        tcp(false, FIN | ACK, 5005, 1002, 512, &[], b""),
        tcp(true, ACK, 1002, 5006, 63, &[], b""),
    ];
    let (got, t) = states(&f);
    assert_eq!(
        got,
        strs(&[
            "2 C ESTABLISHED→FIN_WAIT_1",
            "2 S ESTABLISHED→CLOSE_WAIT",
            "3 S CLOSE_WAIT→LAST_ACK",
            "3 C FIN_WAIT_1→FIN_WAIT_2",
            "3 C FIN_WAIT_2→TIME_WAIT",
            "4 S LAST_ACK→CLOSED",
        ])
    );
    let st = t.stream(0).unwrap();
    assert!(st.mid_stream);
    assert_eq!(
        endpoint_text(st.server),
        "192.168.69.1:80",
        "the end on the HTTP port serves"
    );
    let rows = run(&f);
    // Four bytes without a line end on port 80: tshark waits for more of the line.
    assert_eq!(
        rows[0].info(),
        "80 → 51997 [PSH, ACK] Seq=1 Ack=1 Win=512 Len=4 [TCP segment of a reassembled PDU]"
    );
}

#[test]
fn the_timeline_block() {
    let mut f = handshake(1000, 5000);
    f.push(tcp(true, FIN | ACK, 1001, 5001, 63, &[], b""));
    let rows = run(&f);
    let mut t = StateTracker::new();
    let changes: Vec<StateChange> = rows.iter().flat_map(|r| t.push(r)).collect();
    let text = timeline::render_stream(t.stream(0).unwrap(), &changes, rows[0].time_us);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Stream 0: 192.168.69.100:51997 ↔ 192.168.69.1:80 (states inferred from the segments)"
    );
    assert!(lines[1].contains("client (192.168.69.100:51997)"));
    assert!(lines[1].contains("server (192.168.69.1:80)"));
    assert_eq!(lines[2], "      1  0.000000   CLOSED → SYN_SENT (its SYN)");
    assert!(
        lines[3].starts_with("      1  0.000000   ")
            && lines[3].ends_with("LISTEN → SYN_RCVD (SYN seen)")
    );
    assert_eq!(
        lines.last().unwrap(),
        &"  now: client FIN_WAIT_1, server CLOSE_WAIT"
    );
}

#[test]
fn smoltcp_states_map_onto_the_same_names() {
    use smoltcp::socket::tcp::State as S;
    let all = [
        (S::Closed, "CLOSED"),
        (S::Listen, "LISTEN"),
        (S::SynSent, "SYN_SENT"),
        (S::SynReceived, "SYN_RCVD"),
        (S::Established, "ESTABLISHED"),
        (S::FinWait1, "FIN_WAIT_1"),
        (S::FinWait2, "FIN_WAIT_2"),
        (S::CloseWait, "CLOSE_WAIT"),
        (S::Closing, "CLOSING"),
        (S::LastAck, "LAST_ACK"),
        (S::TimeWait, "TIME_WAIT"),
    ];
    for (s, name) in all {
        assert_eq!(TcpState::from(s).to_string(), name);
    }
}

#[test]
fn memory_stays_bounded_with_many_streams() {
    let mut a = Analyzer::new(ListingOptions::default());
    let mut t = StateTracker::new();
    for i in 0..(tcp::MAX_STREAMS + 500) {
        let mut f = tcp(true, SYN, i as u32, 0, 100, &[], b"");
        // A new client port per connection.
        let port = 1024 + i as u16;
        f[34..36].copy_from_slice(&port.to_be_bytes());
        let row = a.push(i as i64, LinkType::Ethernet, &f);
        assert_eq!(row.tcp().unwrap().stream, i);
        t.push(&row);
    }
    assert!(a.tracked_streams() <= tcp::MAX_STREAMS);
    assert!(t.len() <= timeline::MAX_TRACKED);
}

#[test]
fn http_reassembly_memory_has_a_global_bound() {
    let mut a = Analyzer::new(ListingOptions::default());
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'x', 2000));
    for i in 0..3000u16 {
        // Headers that never end, on 3000 connections: 6 MB if all were kept.
        let mut f = tcp(true, PSH | ACK, 1, 1, 100, &[], &head);
        f[34..36].copy_from_slice(&(1024 + i).to_be_bytes());
        a.push(0, LinkType::Ethernet, &f);
        assert!(a.held_bytes() <= tcp::MAX_HTTP_BUFFERED);
    }
    assert!(a.held_bytes() > tcp::MAX_HTTP_BUFFERED / 2);
}

#[test]
fn garbage_frames_never_panic() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut good = handshake(1000, 5000);
    good.push(tcp(
        true,
        PSH | ACK,
        1001,
        5001,
        63,
        &[5, 34, 1, 2, 3],
        b"GET / HTTP/1.1\r\n\r\n",
    ));
    let links = [
        LinkType::Ethernet,
        LinkType::RawIp,
        LinkType::RawIpv4,
        LinkType::RawIpv6,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
    ];
    let mut a = Analyzer::new(ListingOptions::default());
    let mut t = StateTracker::new();
    for i in 0..50_000 {
        let mut f = if i % 3 == 0 {
            let n = (next() % 120) as usize;
            (0..n).map(|_| next() as u8).collect()
        } else {
            good[i % good.len()].clone()
        };
        for _ in 0..(next() % 4) {
            if !f.is_empty() {
                let at = next() as usize % f.len();
                f[at] = next() as u8;
            }
        }
        if next() % 4 == 0 && !f.is_empty() {
            let cut = next() as usize % f.len();
            f.truncate(cut);
        }
        let link = links[(next() % links.len() as u64) as usize];
        let row = a.push(i as i64, link, &f);
        let _ = row.line();
        t.push(&row);
    }
}

/// BSD and Windows loopback captures (DLT_NULL, DLT_LOOP): a 4-byte address family, then
/// the IP packet. tshark 4.0 reads DLT_NULL's family in either byte order, DLT_LOOP's
/// big-endian only, and takes 2 as IPv4 and 24, 28 or 30 as IPv6, no other number
/// (checked on the same frames while writing this test).
#[test]
fn loopback_captures_list_the_ip_packets_they_carry() {
    let v4 = tcp(true, SYN, 1, 0, 100, &[], b"")[14..].to_vec();
    let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
    v6.extend([0; 15]);
    v6.push(1);
    v6.extend([0; 15]);
    v6.push(1);
    v6.extend(&v4[20..]);
    let with = |family: [u8; 4], packet: &[u8]| [&family[..], packet].concat();
    let want = "51997 → 80 [SYN] Seq=0 Win=100 Len=0";
    let cases = [
        (
            LinkType::Null,
            with(2u32.to_le_bytes(), &v4),
            "192.168.69.100",
        ),
        (
            LinkType::Null,
            with(2u32.to_be_bytes(), &v4),
            "192.168.69.100",
        ),
        (
            LinkType::Loop,
            with(2u32.to_be_bytes(), &v4),
            "192.168.69.100",
        ),
        (LinkType::Null, with(24u32.to_le_bytes(), &v6), "::1"),
        (LinkType::Null, with(28u32.to_be_bytes(), &v6), "::1"),
        (LinkType::Null, with(30u32.to_le_bytes(), &v6), "::1"),
        (LinkType::Loop, with(30u32.to_be_bytes(), &v6), "::1"),
    ];
    for (link, frame, src) in &cases {
        let r = Analyzer::new(ListingOptions::default()).push(0, *link, frame);
        assert_eq!(
            (r.info().as_str(), r.addresses().0.as_str()),
            (want, *src),
            "{link:?} {frame:02x?}"
        );
        assert_eq!(r.length, frame.len());
    }
    // Linux's and Windows' own numbers for IPv6 are not taken, nor DLT_LOOP little-endian.
    for (link, frame, family) in [
        (LinkType::Null, with(10u32.to_le_bytes(), &v6), 10),
        (LinkType::Null, with(23u32.to_le_bytes(), &v6), 23),
        (LinkType::Loop, with(2u32.to_le_bytes(), &v4), 0x0200_0000),
    ] {
        let r = Analyzer::new(ListingOptions::default()).push(0, link, &frame);
        assert_eq!(r.protocol(), "NULL");
        assert_eq!(
            r.info(),
            format!("Null/Loopback: unknown address family {family}")
        );
        assert!(r.tcp().is_none());
    }
    let r = Analyzer::new(ListingOptions::default()).push(0, LinkType::Null, &[2, 0]);
    assert!(r.info().starts_with("[Malformed Packet"), "{}", r.info());
}

/// Each expectation is tshark 4.0.17's on the same frames (written to a pcap).
#[test]
fn a_syn_ack_with_a_new_isn_restarts_its_direction_as_reused_ports() {
    let f = vec![
        tcp(true, SYN, 9000, 0, 100, &[], b""),
        tcp(false, SYN | ACK, 7000, 9001, 100, &[], b""),
        tcp(true, ACK, 9001, 7001, 100, &[], b""),
        tcp(true, SYN, 9000, 0, 100, &[], b""),
        tcp(false, SYN | ACK, 8000, 9001, 100, &[], b""),
        tcp(true, ACK, 9001, 8001, 100, &[], b""),
    ];
    let rows = run_plain(&f);
    assert_eq!(
        infos(&rows[3..]),
        [
            "[TCP Retransmission] 51997 → 80 [SYN] Seq=0 Win=100 Len=0",
            "[TCP Previous segment not captured] [TCP Port numbers reused] 80 → 51997 [SYN, ACK] Seq=0 Ack=1 Win=100 Len=0",
            "[TCP ACKed unseen segment] 51997 → 80 [ACK] Seq=1 Ack=1 Win=100 Len=0",
        ]
    );
    assert!(rows.iter().all(|r| r.tcp().unwrap().stream == 0));
    assert_eq!(rows[4].tcp().unwrap().marks[1], Mark::PortNumbersReused);
}

#[test]
fn a_next_sequence_number_of_zero_counts_as_unknown() {
    // A refused SYN (the RST has Seq 0), then the same SYN again and a SYN-ACK.
    let f = vec![
        tcp(true, SYN, 70, 0, 100, &[], b""),
        tcp(false, RST | ACK, 0, 71, 100, &[], b""),
        tcp(true, SYN, 70, 0, 100, &[], b""),
        tcp(false, SYN | ACK, 90, 71, 100, &[], b""),
        tcp(true, ACK, 71, 91, 100, &[], b""),
    ];
    assert_eq!(
        infos(&run_plain(&f)),
        [
            "51997 → 80 [SYN] Seq=0 Win=100 Len=0",
            "80 → 51997 [RST, ACK] Seq=1 Ack=1 Win=100 Len=0",
            "[TCP Retransmission] 51997 → 80 [SYN] Seq=0 Win=100 Len=0",
            "[TCP Port numbers reused] 80 → 51997 [SYN, ACK] Seq=0 Ack=1 Win=100 Len=0",
            "51997 → 80 [ACK] Seq=1 Ack=1 Win=100 Len=0",
        ]
    );
}

#[test]
fn no_zero_window_probe_into_a_window_nobody_announced() {
    // Mid-stream: the client never sent, so its window is unknown, not zero.
    let f = vec![
        tcp(false, PSH | ACK, 100, 1, 502, &[], b"abc\x01"),
        tcp(false, PSH | ACK, 104, 1, 502, &[], b"more\r"),
        tcp(false, PSH | ACK, 109, 1, 502, &[], b"x"),
    ];
    let rows = run(&f);
    assert!(
        rows[2].tcp().unwrap().marks.is_empty(),
        "{}",
        rows[2].info()
    );
    // Not HTTP once the line turns out to be none (no request seen yet).
    assert_eq!(
        rows[2].info(),
        "80 → 51997 [PSH, ACK] Seq=10 Ack=1 Win=502 Len=1"
    );
}

#[test]
fn tfo_accecn_and_the_ace_counter_as_tshark_shows_them() {
    const ECE: u16 = TcpFlags::ECE.bits();
    const CWR: u16 = TcpFlags::CWR.bits();
    let f = vec![
        tcp(true, SYN, 1000, 0, 100, &[172, 2, 34, 2], b""),
        tcp(false, SYN | ACK, 5000, 1001, 100, &[34, 6, 1, 2, 3, 4], b""),
        tcp(true, ACK | ECE, 1001, 5001, 100, &[], b""),
        tcp(
            false,
            ACK | CWR,
            5001,
            1001,
            100,
            &[174, 8, 0, 0, 1, 0, 0, 2],
            b"",
        ),
        tcp(true, 0, 1001, 5001, 100, &[], b""),
    ];
    assert_eq!(
        infos(&run_plain(&f)),
        [
            "51997 → 80 [SYN] Seq=0 Win=100 Len=0 AccECN TFO=R",
            "80 → 51997 [SYN, ACK] Seq=0 Ack=1 Win=100 Len=0 TFO=C",
            "51997 → 80 [ACK, ACE=1] Seq=1 Ack=1 Win=100 Len=0",
            "[TCP Dup ACK 2#1] 80 → 51997 [ACK, ACE=2] Seq=1 Ack=1 Win=100 Len=0 EE1B=1 ECEB=2",
            "[TCP Dup ACK 3#1] 51997 → 80 [, ACE=0] Seq=1 Win=100 Len=0",
        ]
    );
}
