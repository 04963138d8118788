//! `taplab serve --offload` and large MTUs over a real tap, with the kernel as the peer:
//! what curl receives, what tcpdump on tap0 sees, and what `--pcap` writes. Each test
//! makes its own network namespace (see tests/common).

mod common;

use common::*;

const OURS: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A site with `big.bin` of `size` pseudo-random bytes (a misplaced byte cannot go
/// unnoticed), and the bytes.
fn big_site(size: usize) -> (TempDir, Vec<u8>) {
    let site = TempDir::new("offload-site");
    let mut data = vec![0u8; size];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(site.path().join("big.bin"), &data).unwrap();
    std::fs::write(site.path().join("index.html"), "big").unwrap();
    (site, data)
}

/// curl's copy of /big.bin from `base` (URL, or IPv6's), asserting success.
fn fetch_big(t: &Taplab, base: &str) -> Vec<u8> {
    let out_dir = TempDir::new("offload-out");
    let file = out_dir.path().join("big.bin");
    let out = t.curl(&[
        "--fail",
        "-g",
        "-o",
        file.to_str().unwrap(),
        &format!("{base}/big.bin"),
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), t.log());
    std::fs::read(&file).unwrap()
}

fn from_us(f: &[u8]) -> bool {
    f.len() > 12 && f[6..12] == OURS
}

/// Where the TCP segment of a frame starts and ends, and where its addresses lie
/// (None: not TCP over IPv4 or IPv6).
fn tcp_range(f: &[u8]) -> Option<(usize, usize, std::ops::Range<usize>)> {
    let (start, end, addrs) = match f.get(12..14)? {
        [8, 0] if f.len() >= 34 && f[23] == 6 => {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            (14 + ihl, 14 + total, 26..34)
        }
        [0x86, 0xdd] if f.len() >= 54 && f[20] == 6 => {
            let payload = usize::from(u16::from_be_bytes([f[18], f[19]]));
            (54, 54 + payload, 22..54)
        }
        _ => return None,
    };
    (end <= f.len() && start + 20 <= end).then_some((start, end, addrs))
}

/// The one's-complement sum of the TCP pseudo-header and segment: 0xffff when the
/// checksum holds.
fn tcp_sum(f: &[u8]) -> Option<u16> {
    let (start, end, addrs) = tcp_range(f)?;
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        for w in b.chunks(2) {
            sum += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
    };
    add(&f[addrs]);
    add(&[0, 6]);
    add(&((end - start) as u32).to_be_bytes());
    add(&f[start..end]);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    Some(sum as u16)
}

/// The frame with its TCP checksum field zeroed (where captures may differ in it).
fn without_tcp_checksum(f: &[u8]) -> Vec<u8> {
    let mut f = f.to_vec();
    if let Some((start, _, _)) = tcp_range(&f) {
        f[start + 16..start + 18].copy_from_slice(&[0, 0]);
    }
    f
}

/// tcpdump's frames of one direction must be one unbroken run inside ours (ours started
/// earlier and stopped later), compared through `view`.
fn aligned(ours: &[Vec<u8>], theirs: &[Vec<u8>], view: fn(&[u8]) -> Vec<u8>) -> bool {
    let a: Vec<Vec<u8>> = ours.iter().map(|f| view(f)).collect();
    let b: Vec<Vec<u8>> = theirs.iter().map(|f| view(f)).collect();
    a.windows(b.len()).any(|w| w == &b[..])
}

fn split(frames: Vec<(u64, Vec<u8>)>) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    frames.into_iter().map(|(_, f)| f).partition(|f| from_us(f))
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, curl: run scripts/test.sh"]
fn offload_sends_64k_segments_curl_gets_every_byte_and_the_pcap_agrees_with_tcpdump() {
    let (site, data) = big_site(8 << 20);
    let dir = TempDir::new("offload-pcap");
    let ours = dir.path().join("ours.pcap");
    // A fixed ISN: the knobs layer rewrites every segment's numbers on top of offload.
    let t = Taplab::start(&[
        "--www",
        site.path().to_str().unwrap(),
        "--offload",
        "--isn",
        "1000",
        "--pcap",
        ours.to_str().unwrap(),
    ]);
    let mut cap = Capture::start(&t.ns);
    let got = fetch_big(&t, URL);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the body differs");
    let info = t.get("/tcpinfo");
    // IPv6: MTU-sized segments (smoltcp 0.14 drops IPv6 packets over the MTU whatever
    // the device offers), their checksums completed by the kernel all the same.
    assert!(
        fetch_big(&t, "http://[fdaa::1]") == data,
        "the body over IPv6 differs"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let lines = cap.finish();

    // tcpdump on tap0 sees our segments whole, far over the 1500-byte MTU.
    let (theirs_us, theirs_host) = split(read_pcap(&cap.file));
    let biggest = theirs_us.iter().map(Vec::len).max().unwrap_or(0);
    assert!(
        biggest > 32_768,
        "tcpdump's largest frame from us: {biggest} bytes"
    );
    assert!(biggest <= 14 + 65535);
    // The knob in force on the wire: our SYN-ACK starts at 1000.
    let segs = parse_tcpdump(&lines, 80);
    let syn_ack = segs.iter().find(|s| s.from_server && s.is_syn()).unwrap();
    assert_eq!(syn_ack.seq, Some(1000), "{}", dump(&segs));
    let info = text(&info);
    assert!(info.contains("\"isn\": \"1000\""), "/tcpinfo: {info}");

    // --pcap: our frames byte for byte as tcpdump shows them (the checksum field holds
    // the pseudo-header sum the kernel completes, as on a NIC with offload).
    let (ours_us, ours_host) = split(read_pcap(&ours));
    assert!(
        theirs_us.len() > 20,
        "tcpdump saw {} frames",
        theirs_us.len()
    );
    assert!(
        aligned(&ours_us, &theirs_us, |f| f.to_vec()),
        "frames from us differ"
    );
    // The host's frames: the same, except that tcpdump shows the partial checksum the
    // kernel left and ours the completed one, which holds.
    assert!(
        aligned(&ours_host, &theirs_host, without_tcp_checksum),
        "frames from the host differ"
    );
    for f in &ours_host {
        if let Some(sum) = tcp_sum(f) {
            assert_eq!(
                sum, 0xffff,
                "a host segment in our capture with a bad checksum"
            );
        }
    }
}

#[test]
#[ignore = "needs root (a tap in a network namespace) and tcpdump, curl: run scripts/test.sh"]
fn mtu_65521_without_offload_carries_64k_frames() {
    let (site, data) = big_site(8 << 20);
    let dir = TempDir::new("mtu-pcap");
    let ours = dir.path().join("ours.pcap");
    let t = Taplab::start(&[
        "--www",
        site.path().to_str().unwrap(),
        "--mtu",
        "65521",
        "--pcap",
        ours.to_str().unwrap(),
    ]);
    let link = t.ns.run("ip", &["-o", "link", "show", "tap0"]);
    assert!(
        text(&link.stdout).contains("mtu 65521"),
        "{}",
        text(&link.stdout)
    );
    let mut cap = Capture::start(&t.ns);
    let got = fetch_big(&t, URL);
    assert!(got == data, "the body differs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    cap.finish();
    let (theirs_us, theirs_host) = split(read_pcap(&cap.file));
    let biggest = theirs_us.iter().map(Vec::len).max().unwrap_or(0);
    assert!(
        biggest > 9014 && biggest <= 14 + 65521,
        "tcpdump's largest frame from us: {biggest} bytes"
    );
    // Without offload every checksum is complete: both captures agree byte for byte.
    let (ours_us, ours_host) = split(read_pcap(&ours));
    assert!(
        aligned(&ours_us, &theirs_us, |f| f.to_vec()),
        "frames from us differ"
    );
    assert!(
        aligned(&ours_host, &theirs_host, |f| f.to_vec()),
        "frames from the host differ"
    );
    for f in ours_us.iter().chain(&ours_host) {
        if let Some(sum) = tcp_sum(f) {
            assert_eq!(sum, 0xffff, "a segment with a bad checksum");
        }
    }
}
