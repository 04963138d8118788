//! The reader's tests: the cases the whole-file reader was tested on, the same output
//! as that reader ([`super::whole_file`]) on every well-formed capture and every cut of
//! one, reading from a trickling source as from memory, and garbage that must not panic.

use super::whole_file::{self, Capture};
use super::*;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Reads a whole capture from memory with the streaming reader.
fn read_all(bytes: &[u8]) -> Result<Capture, String> {
    read_from(bytes)
}

fn read_from(src: impl Read) -> Result<Capture, String> {
    let mut r = CaptureReader::new(src)?;
    let mut frames = Vec::new();
    while let Some(f) = r.next_frame()? {
        frames.push(f);
    }
    Ok(Capture {
        format: r.format(),
        frames,
        warning: r.warning().map(str::to_string),
    })
}

/// `v` in the byte order of a capture written big- or little-endian.
fn w32(big: bool, v: u32) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn w16(big: bool, v: u16) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A classic pcap with the given frames, in either byte order and resolution.
pub(super) fn pcap(big: bool, nanos: bool, link: u32, frames: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let w32 = |v: u32| w32(big, v);
    let w16 = |v: u16| w16(big, v);
    let mut b = Vec::new();
    b.extend(w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    b.extend(w16(2));
    b.extend(w16(4));
    b.extend(w32(0));
    b.extend(w32(0));
    b.extend(w32(65535));
    b.extend(w32(link));
    for (s, frac, data) in frames {
        b.extend(w32(*s));
        b.extend(w32(*frac));
        b.extend(w32(data.len() as u32));
        b.extend(w32(data.len() as u32 + 4));
        b.extend_from_slice(data);
    }
    b
}

fn block(big: bool, btype: u32, body: &[u8]) -> Vec<u8> {
    let w32 = |v: u32| w32(big, v);
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let total = body.len() as u32 + 12;
    let mut b = Vec::new();
    b.extend(w32(btype));
    b.extend(w32(total));
    b.extend(body);
    b.extend(w32(total));
    b
}

/// A pcapng with one section, one interface and the given EPBs (plus an SPB and an
/// unknown block to skip).
fn pcapng(big: bool, link: u16, tsresol: Option<u8>, frames: &[(u64, &[u8])]) -> Vec<u8> {
    let w32 = |v: u32| w32(big, v);
    let w16 = |v: u16| w16(big, v);
    let mut shb = Vec::new();
    shb.extend(w32(0x1a2b_3c4d));
    shb.extend(w16(1));
    shb.extend(w16(0));
    shb.extend([0xff; 8]);
    let mut out = block(big, SHB, &shb);
    let mut idb = Vec::new();
    idb.extend(w16(link));
    idb.extend(w16(0));
    idb.extend(w32(0));
    // An option to skip (if_name), then if_tsresol, then the end.
    idb.extend(w16(2));
    idb.extend(w16(4));
    idb.extend(b"tap0");
    if let Some(r) = tsresol {
        idb.extend(w16(9));
        idb.extend(w16(1));
        idb.extend([r, 0, 0, 0]);
    }
    idb.extend(w16(0));
    idb.extend(w16(0));
    out.extend(block(big, IDB, &idb));
    out.extend(block(big, 0x0000_0005, &[1, 2, 3, 4])); // interface statistics
    for (ts, data) in frames {
        let mut epb = Vec::new();
        epb.extend(w32(0));
        epb.extend(w32((ts >> 32) as u32));
        epb.extend(w32(*ts as u32));
        epb.extend(w32(data.len() as u32));
        epb.extend(w32(data.len() as u32));
        epb.extend_from_slice(data);
        out.extend(block(big, EPB, &epb));
    }
    let mut spb = Vec::new();
    spb.extend(w32(3));
    spb.extend([9, 9, 9]);
    out.extend(block(big, SPB, &spb));
    out
}

#[test]
fn classic_pcap_both_orders_and_resolutions() {
    for big in [false, true] {
        for nanos in [false, true] {
            let frac = if nanos { 250_000_999 } else { 250_000 };
            let b = pcap(big, nanos, 1, &[(100, frac, b"abc"), (101, 0, b"")]);
            let c = read_all(&b).unwrap();
            assert_eq!(
                c.format,
                Format::Pcap {
                    big_endian: big,
                    nanos
                }
            );
            assert_eq!(c.frames.len(), 2);
            assert_eq!(c.frames[0].time_us, 100_250_000);
            assert_eq!(c.frames[0].data, b"abc");
            assert_eq!(c.frames[0].orig_len, 7);
            assert_eq!(c.frames[0].link, LinkType::Ethernet);
            assert_eq!(c.frames[1].time_us, 101_000_000);
            assert!(c.warning.is_none());
        }
    }
}

#[test]
fn every_supported_link_type_and_a_clear_error_for_others() {
    for code in [0, 1, 101, 108, 228, 229, 113, 276] {
        let c = read_all(&pcap(false, false, code, &[(1, 0, b"x")])).unwrap();
        assert_eq!(c.frames[0].link.code(), code);
    }
    let e = read_all(&pcap(false, false, 127, &[])).unwrap_err();
    assert!(e.contains("link type 127 (IEEE 802.11 radiotap)"), "{e}");
    assert!(e.contains("Ethernet (1)"), "{e}");
}

#[test]
fn pcapng_both_orders_tsresol_and_skipped_blocks() {
    for big in [false, true] {
        let c = read_all(&pcapng(big, 1, None, &[(1_700_000_000_123_456, b"frame")])).unwrap();
        assert_eq!(c.format, Format::Pcapng);
        assert_eq!(c.frames.len(), 2, "EPB and SPB");
        assert_eq!(c.frames[0].time_us, 1_700_000_000_123_456);
        assert_eq!(c.frames[0].data, b"frame");
        assert_eq!(c.frames[1].data, [9, 9, 9], "SPB: orig len 3, padded");
        assert!(c.warning.is_none());
        // Nanoseconds (10^-9) and 2^-10 units.
        let c = read_all(&pcapng(big, 101, Some(9), &[(5_000_000_123, b"x")])).unwrap();
        assert_eq!(c.frames[0].time_us, 5_000_000);
        assert_eq!(c.frames[0].link, LinkType::RawIp);
        let c = read_all(&pcapng(big, 276, Some(0x80 | 10), &[(2048, b"x")])).unwrap();
        assert_eq!(c.frames[0].time_us, 2_000_000);
    }
    let e = read_all(&pcapng(false, 105, None, &[(0, b"x")])).unwrap_err();
    assert!(e.contains("link type 105"), "{e}");
}

#[test]
fn two_sections_with_different_byte_orders() {
    let mut b = pcapng(false, 1, None, &[(1, b"le")]);
    b.extend(pcapng(true, 1, None, &[(2, b"be")]));
    let c = read_all(&b).unwrap();
    let data: Vec<&[u8]> = c.frames.iter().map(|f| f.data.as_slice()).collect();
    assert_eq!(data, [&b"le"[..], &[9, 9, 9], b"be", &[9, 9, 9]]);
}

#[test]
fn truncated_files_keep_the_complete_frames() {
    let b = pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
    for cut in 25..b.len() {
        let c = read_all(&b[..cut]).unwrap();
        assert!(c.frames.len() < 2);
        // 45 = header + first record: a complete file of one frame.
        if cut != 45 {
            assert!(c.warning.as_deref().unwrap().contains("cut short"), "{cut}");
        }
    }
    let b = pcapng(true, 1, None, &[(1, b"first"), (2, b"second")]);
    for cut in 1..b.len() {
        match read_all(&b[..cut]) {
            Ok(c) => assert!(c.frames.len() <= 3),
            Err(e) => assert!(e.contains("pcapng") || e.contains("short"), "{e}"),
        }
    }
    assert!(read_all(&b[..24]).unwrap().frames.is_empty());
}

#[test]
fn not_a_capture_says_so() {
    assert!(read_all(b"").unwrap_err().contains("empty"));
    assert!(read_all(b"ab").unwrap_err().contains("too short"));
    let e = read_all(b"<!DOCTYPE html>").unwrap_err();
    assert!(
        e.starts_with("is not a pcap or pcapng capture (it starts with 3c 21 44"),
        "{e}"
    );
    assert!(
        read_all(&[0xd4, 0xc3, 0xb2, 0xa1, 0, 0])
            .unwrap_err()
            .contains("header")
    );
}

#[test]
fn absurd_lengths_are_damage_not_allocations() {
    let mut b = pcap(false, false, 1, &[(1, 0, b"ok")]);
    b.extend(1u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(u32::MAX.to_le_bytes());
    b.extend(u32::MAX.to_le_bytes());
    let c = read_all(&b).unwrap();
    assert_eq!(c.frames.len(), 1);
    assert!(c.warning.unwrap().contains("damaged at frame 2"));
}

#[test]
fn garbage_never_panics() {
    // A small xorshift generator: deterministic garbage, and mutations of good files.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let seeds = [
        pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]),
        pcap(true, true, 276, &[(1, 0, b"first")]),
        pcapng(false, 1, Some(9), &[(1, b"first"), (2, b"second")]),
        pcapng(true, 113, None, &[(1, b"first")]),
    ];
    for i in 0..20_000 {
        let mut b = if i % 4 == 0 {
            let n = (next() % 200) as usize;
            (0..n).map(|_| next() as u8).collect()
        } else {
            seeds[i % seeds.len()].clone()
        };
        for _ in 0..(next() % 6) {
            if b.is_empty() {
                break;
            }
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        if next() % 3 == 0 && !b.is_empty() {
            let cut = (next() as usize) % b.len();
            b.truncate(cut);
        }
        let _ = read_all(&b);
    }
}

/// A block of a richer pcapng section.
enum Blk<'a> {
    /// Interface: link type, snap length, if_tsresol, if_tsoffset.
    Iface(u16, u32, Option<u8>, Option<i64>),
    /// Enhanced packet: interface, timestamp, data, original length.
    Epb(u32, u64, &'a [u8], u32),
    /// Obsolete packet block: interface, timestamp, data.
    Pb(u16, u64, &'a [u8]),
    /// Simple packet: data, original length.
    Spb(&'a [u8], u32),
    /// Any other block, to be skipped.
    Other(u32, &'a [u8]),
}

/// A pcapng section: a section header (with an shb_userappl option) and `blocks`.
fn section(big: bool, blocks: &[Blk<'_>]) -> Vec<u8> {
    let w32 = |v: u32| w32(big, v);
    let w16 = |v: u16| w16(big, v);
    let mut shb = Vec::new();
    shb.extend(w32(0x1a2b_3c4d));
    shb.extend(w16(1));
    shb.extend(w16(0));
    shb.extend([0xff; 8]);
    shb.extend(w16(4));
    shb.extend(w16(6));
    shb.extend(b"taplab\0\0");
    shb.extend([0; 4]);
    let mut out = block(big, SHB, &shb);
    for b in blocks {
        let mut body = Vec::new();
        let btype = match *b {
            Blk::Iface(link, snaplen, tsresol, tsoffset) => {
                body.extend(w16(link));
                body.extend(w16(0));
                body.extend(w32(snaplen));
                if let Some(r) = tsresol {
                    body.extend(w16(9));
                    body.extend(w16(1));
                    body.extend([r, 0, 0, 0]);
                }
                if let Some(o) = tsoffset {
                    body.extend(w16(14));
                    body.extend(w16(8));
                    body.extend(if big {
                        o.to_be_bytes()
                    } else {
                        o.to_le_bytes()
                    });
                }
                body.extend([0; 4]);
                IDB
            }
            Blk::Epb(ifid, ts, data, orig) => {
                body.extend(w32(ifid));
                body.extend(w32((ts >> 32) as u32));
                body.extend(w32(ts as u32));
                body.extend(w32(data.len() as u32));
                body.extend(w32(orig));
                body.extend(data);
                while !body.len().is_multiple_of(4) {
                    body.push(0);
                }
                // An epb_flags option, to be skipped.
                body.extend(w16(2));
                body.extend(w16(4));
                body.extend(w32(1));
                EPB
            }
            Blk::Pb(ifid, ts, data) => {
                body.extend(w16(ifid));
                body.extend(w16(0));
                body.extend(w32((ts >> 32) as u32));
                body.extend(w32(ts as u32));
                body.extend(w32(data.len() as u32));
                body.extend(w32(data.len() as u32));
                body.extend(data);
                PB
            }
            Blk::Spb(data, orig) => {
                body.extend(w32(orig));
                body.extend(data);
                SPB
            }
            Blk::Other(t, data) => {
                body.extend(data);
                t
            }
        };
        out.extend(block(big, btype, &body));
    }
    out
}

/// Well-formed captures of every kind the reader knows: both formats, both byte orders,
/// µs and ns, every link type, every packet block, time options, sections in turn.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let f1: &[u8] = &[0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    let f2: &[u8] = b"a longer frame, some forty bytes in all..";
    let mut out = Vec::new();
    for big in [false, true] {
        for nanos in [false, true] {
            for link in [0, 1, 101, 108, 113, 228, 229, 276] {
                let frames = [
                    (1_700_000_000, 999_999, f1),
                    (1_700_000_001, 0, f2),
                    (0, 0, &[][..]),
                ];
                out.push((
                    format!("pcap big={big} nanos={nanos} link={link}"),
                    pcap(big, nanos, link, &frames),
                ));
            }
        }
        for tsresol in [None, Some(3), Some(9), Some(0x80 | 20), Some(0)] {
            out.push((
                format!("pcapng big={big} tsresol={tsresol:?}"),
                pcapng(
                    big,
                    1,
                    tsresol,
                    &[(1_700_000_000_123_456, f1), (u64::MAX, f2)],
                ),
            ));
        }
        let blocks = [
            Blk::Other(0x0000_0004, &[0, 0, 0, 0]),
            Blk::Iface(1, 0, None, Some(-3600)),
            Blk::Iface(0, 16, Some(9), Some(1_000)),
            Blk::Epb(0, 1_700_000_000_000_001, f1, 60),
            Blk::Epb(1, 5_000_000_123, f2, f2.len() as u32),
            Blk::Pb(1, 7_000_000_000, f1),
            Blk::Spb(f2, 100),
            Blk::Other(0x0000_0bad, f2),
            Blk::Pb(0, 1, f2),
        ];
        out.push((format!("pcapng rich big={big}"), section(big, &blocks)));
        // A section in the other byte order follows; its interfaces are its own.
        let mut two = section(big, &blocks);
        two.extend(section(
            !big,
            &[
                Blk::Iface(276, 0, Some(0x80 | 10), None),
                Blk::Spb(f1, 3),
                Blk::Epb(0, 4096, f2, 0),
            ],
        ));
        out.push((format!("pcapng two sections big={big}"), two));
    }
    out
}

fn same(a: &Result<Capture, String>, b: &Result<Capture, String>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.format == b.format && a.frames == b.frames && a.warning == b.warning,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

#[test]
fn the_same_output_as_the_whole_file_reader_on_every_capture_and_every_cut() {
    for (name, bytes) in corpus() {
        let old = whole_file::parse_capture(&bytes);
        let new = read_all(&bytes);
        assert!(same(&old, &new), "{name}\nold {old:?}\nnew {new:?}");
        let c = new.unwrap();
        assert!(c.frames.len() >= 3 && c.warning.is_none(), "{name}: {c:?}");
        for cut in 0..bytes.len() {
            let old = whole_file::parse_capture(&bytes[..cut]);
            let new = read_all(&bytes[..cut]);
            assert!(
                same(&old, &new),
                "{name} cut at {cut}\nold {old:?}\nnew {new:?}"
            );
        }
    }
}

#[test]
fn time_options_and_packet_blocks_read_as_wireshark_shows_them() {
    for big in [false, true] {
        let c = read_all(&section(
            big,
            &[
                Blk::Iface(1, 4, None, Some(-3600)),
                Blk::Iface(101, 2, Some(9), Some(10)),
                Blk::Epb(0, 1_700_000_000_000_001, b"abc", 60),
                Blk::Pb(1, 7_000_000_999, b"xyz"),
                Blk::Spb(b"simple", 100),
            ],
        ))
        .unwrap();
        let got: Vec<(i64, LinkType, &[u8], usize)> = c
            .frames
            .iter()
            .map(|f| (f.time_us, f.link, &f.data[..], f.orig_len))
            .collect();
        assert_eq!(
            got,
            [
                (1_699_996_400_000_001, LinkType::Ethernet, &b"abc"[..], 60),
                (17_000_000, LinkType::RawIp, b"xyz", 3),
                // On interface 0, cut to its snap length, at its predecessor's time.
                (17_000_000, LinkType::Ethernet, b"simp", 100),
            ],
            "big={big}"
        );
    }
}

/// A source that hands out at most `chunk` bytes per read, like a pipe.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn a_trickling_source_reads_as_the_same_bytes_in_memory() {
    for (name, bytes) in corpus() {
        for chunk in [1, 3, 7] {
            let slow = read_from(Trickle {
                data: &bytes,
                chunk,
            });
            assert!(
                same(&slow, &read_all(&bytes)),
                "{name} in {chunk}-byte reads"
            );
        }
    }
}

/// A source fed by another thread, chunk by chunk, like a pipe from tcpdump.
struct Fed(std::sync::mpsc::Receiver<Vec<u8>>, Vec<u8>);

impl Read for Fed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.1.is_empty() {
            match self.0.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(chunk) => self.1 = chunk,
                // The writer hung up: the end of the input.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(format!("no input: {e}"))),
            }
        }
        let n = buf.len().min(self.1.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

#[test]
fn each_frame_comes_out_as_soon_as_its_bytes_have_arrived() {
    // What follows the first frame's bytes to the end of its record: nothing in pcap,
    // padding and the trailing block length in pcapng.
    for (name, bytes, tail) in [
        (
            "pcap",
            pcap(true, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]),
            0,
        ),
        (
            "pcapng",
            pcapng(false, 1, None, &[(1, b"first"), (2, b"second")]),
            3 + 4,
        ),
    ] {
        // The bytes up to the end of the first frame, then (only once the reader has
        // handed out that frame) the rest.
        let first_end = bytes
            .windows(5)
            .position(|w| w == b"first")
            .map(|at| at + 5 + tail)
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (got_tx, got_rx) = std::sync::mpsc::channel();
        let rest = bytes[first_end..].to_vec();
        tx.send(bytes[..first_end].to_vec()).unwrap();
        let writer = std::thread::spawn(move || {
            got_rx
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("the first frame before the rest of the file");
            tx.send(rest).unwrap();
        });
        let mut r = CaptureReader::new(Fed(rx, Vec::new())).unwrap();
        let first = r.next_frame().unwrap().unwrap();
        assert_eq!(first.data, b"first", "{name}");
        // The rest has not been sent: the reader must not claim the next frame is ready.
        assert!(!r.frame_ready(), "{name}");
        got_tx.send(()).unwrap();
        assert_eq!(r.next_frame().unwrap().unwrap().data, b"second", "{name}");
        writer.join().unwrap();
    }
}

#[test]
fn frame_ready_tells_whether_the_next_frame_is_in_memory() {
    let bytes = pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    // The read buffer holds the whole small file after the header.
    assert!(r.frame_ready());
    r.next_frame().unwrap();
    assert!(r.frame_ready());
    r.next_frame().unwrap();
    assert!(!r.frame_ready());
    assert_eq!(r.next_frame(), Ok(None));
    let bytes = section(
        true,
        &[
            Blk::Iface(1, 0, None, None),
            Blk::Other(5, &[0; 8]),
            Blk::Spb(b"x", 1),
        ],
    );
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    assert!(!r.frame_ready(), "the section header is still to read");
    assert_eq!(r.next_frame().unwrap().unwrap().data, b"x");
    assert!(!r.frame_ready());
}
#[test]
fn on_damaged_files_the_two_readers_never_disagree_about_a_frame() {
    // Where the whole-file reader and this one differ on a damaged file, it is only in
    // where they notice the damage (pcap-parser also checks a block's trailing length and
    // an interface description's layout): the frames before that are the same.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let seeds = corpus();
    let (mut equal, mut earlier, mut later) = (0, 0, 0);
    for i in 0..20_000 {
        let (name, mut b) = seeds[i % seeds.len()].clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        let old = whole_file::parse_capture(&b);
        let new = read_all(&b);
        if same(&old, &new) {
            equal += 1;
            continue;
        }
        let frames = |r: &Result<Capture, String>| r.as_ref().map_or(vec![], |c| c.frames.clone());
        let (o, n) = (frames(&old), frames(&new));
        let k = o.len().min(n.len());
        assert_eq!(o[..k], n[..k], "{name} mutated: {b:02x?}");
        if n.len() <= o.len() {
            earlier += 1;
        } else {
            later += 1;
        }
    }
    eprintln!("mutated captures: {equal} read the same, {earlier} stopped no later, {later} later");
    assert!(equal > 19_000, "{equal}");
}
