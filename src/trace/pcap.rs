//! Capture files in, timestamped frames out.
//!
//! Reads the two formats tcpdump, Wireshark and `taplab serve --pcap` write: classic pcap
//! (either byte order, microsecond or nanosecond timestamps) and pcapng (Section Header,
//! Interface Description, Enhanced, Simple and the obsolete Packet blocks; every other
//! block is skipped; each section may have its own byte order; `if_tsresol` and
//! `if_tsoffset` are honoured). Each frame comes out as a [`CapturedFrame`]: Unix time in
//! µs, the link type of its interface and the captured bytes.
//!
//! The whole file is read into memory first, and every length field is checked against
//! the bytes that are really there before it is used, so a damaged or hostile file gives
//! an error or a warning, never a panic or a huge allocation. A file that ends in the
//! middle of a frame (tcpdump killed while writing) yields the complete frames and a
//! warning, as Wireshark does.

use std::path::Path;

/// The link-layer header a frame starts with (pcap's LINKTYPE_* values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1): what tcpdump writes for a tap and `serve --pcap` writes.
    Ethernet,
    /// LINKTYPE_RAW (101): an IPv4 or IPv6 packet, told apart by its version nibble.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    RawIpv4,
    /// LINKTYPE_IPV6 (229).
    RawIpv6,
    /// LINKTYPE_LINUX_SLL (113): `tcpdump -i any` before libpcap 1.10.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): `tcpdump -i any` since libpcap 1.10.
    LinuxSll2,
}

impl LinkType {
    /// The link type for a LINKTYPE_* number, if taplab reads it.
    pub fn from_code(code: u32) -> Option<LinkType> {
        Some(match code {
            1 => LinkType::Ethernet,
            101 => LinkType::RawIp,
            228 => LinkType::RawIpv4,
            229 => LinkType::RawIpv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// The LINKTYPE_* number.
    pub fn code(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::RawIpv4 => 228,
            LinkType::RawIpv6 => 229,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// A few link types people meet, named in the "unsupported" error so that it says what
/// the file is.
fn link_name(code: u32) -> &'static str {
    match code {
        0 => "BSD loopback",
        105 => "IEEE 802.11",
        127 => "IEEE 802.11 radiotap",
        108 => "OpenBSD loopback",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        201 => "Bluetooth HCI",
        220 => "USB",
        249 => "USBPcap",
        9 => "PPP",
        _ => "unknown",
    }
}

/// One frame of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Capture time, µs since the Unix epoch.
    pub time_us: i64,
    pub link: LinkType,
    /// The bytes captured (may be fewer than `orig_len` when a snap length cut them).
    pub data: Vec<u8>,
    /// The frame's length on the wire: Wireshark's "Length" column.
    pub orig_len: usize,
}

/// Which flavour of file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap { big_endian: bool, nanos: bool },
    Pcapng,
}

/// A parsed capture file.
#[derive(Debug, Clone)]
pub struct Capture {
    pub format: Format,
    pub frames: Vec<CapturedFrame>,
    /// Set when the file is damaged or cut short after some good frames: what happened,
    /// for the user; the frames before that point are in `frames`.
    pub warning: Option<String>,
}

/// Frames above this size are taken as damage, not data (Wireshark's limit is similar).
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Reads a capture file; a file cut short yields the frames before the cut (use
/// [`open_capture`] to learn about it).
pub fn read_capture(path: &Path) -> Result<Vec<CapturedFrame>, String> {
    open_capture(path).map(|c| c.frames)
}

/// Reads a capture file, keeping the warning about damage or a cut-short end.
pub fn open_capture(path: &Path) -> Result<Capture, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{shown} does not exist: check the path (capture with `taplab serve --pcap {shown}` or `tcpdump -i tap0 -w {shown}`)")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot read {shown}: permission denied (tcpdump writes its files as user tcpdump; try sudo or chmod)")
        }
        std::io::ErrorKind::IsADirectory => {
            format!("{shown} is a directory: give a capture file")
        }
        _ => format!("cannot read {shown}: {e}"),
    })?;
    parse_capture(&bytes).map_err(|e| format!("{shown} {e}"))
}

/// Parses the bytes of a capture file. Errors read as a sentence continuing the file's
/// name ("is not a pcap or pcapng capture …").
pub fn parse_capture(bytes: &[u8]) -> Result<Capture, String> {
    if bytes.is_empty() {
        return Err(
            "is empty: it holds no capture (was tcpdump stopped before the first frame?)".into(),
        );
    }
    let Some(head) = bytes.get(..4) else {
        return Err(format!(
            "is too short ({} bytes) to be a pcap or pcapng capture",
            bytes.len()
        ));
    };
    let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    match le {
        0xa1b2_c3d4 => read_pcap(bytes, false, false),
        0xa1b2_3c4d => read_pcap(bytes, false, true),
        0xd4c3_b2a1 => read_pcap(bytes, true, false),
        0x4d3c_b2a1 => read_pcap(bytes, true, true),
        0x0a0d_0d0a => read_pcapng(bytes),
        0xa1b2_cd34 | 0x34cd_b2a1 => Err(
            "is a \"modified\" (Kuznetzov) pcap, which taplab trace does not read: convert it with `editcap -F pcap IN OUT`".into(),
        ),
        _ => Err(format!(
            "is not a pcap or pcapng capture (it starts with {}): give a file written by tcpdump -w, Wireshark or taplab serve --pcap",
            bytes
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

fn unsupported(code: u32) -> String {
    format!(
        "has link type {code} ({}), which taplab trace does not read: it reads Ethernet (1), raw IP (101, 228, 229) and Linux cooked captures (113, 276); capture on tap0 or an Ethernet interface",
        link_name(code)
    )
}

/// Little reader over a byte slice in one byte order; every read is bounds-checked.
#[derive(Clone, Copy)]
struct Bytes<'a> {
    b: &'a [u8],
    big: bool,
}

impl<'a> Bytes<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }
    fn i64(&self, at: usize) -> Option<i64> {
        let s: [u8; 8] = self.b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big {
            i64::from_be_bytes(s)
        } else {
            i64::from_le_bytes(s)
        })
    }
    fn slice(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.b.get(at..at.checked_add(len)?)
    }
}

fn read_pcap(bytes: &[u8], big: bool, nanos: bool) -> Result<Capture, String> {
    let r = Bytes { b: bytes, big };
    let Some(network) = r.u32(20) else {
        return Err("is cut short inside its pcap file header (24 bytes)".into());
    };
    // The upper bits carry FCS information; the link type is the low 16 bits.
    let code = network & 0xffff;
    let link = LinkType::from_code(code).ok_or_else(|| unsupported(code))?;
    let mut frames = Vec::new();
    let mut warning = None;
    let mut off = 24usize;
    while off < bytes.len() {
        let n = frames.len() + 1;
        let (Some(sec), Some(frac), Some(incl), Some(orig)) =
            (r.u32(off), r.u32(off + 4), r.u32(off + 8), r.u32(off + 12))
        else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let incl = incl as usize;
        if incl > MAX_FRAME {
            warning = Some(format!(
                "is damaged at frame {n}: it claims {incl} captured bytes; showing the {} frames before it",
                frames.len()
            ));
            break;
        }
        let Some(data) = r.slice(off + 16, incl) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let frac_us = if nanos { frac / 1000 } else { frac };
        frames.push(CapturedFrame {
            time_us: i64::from(sec) * 1_000_000 + i64::from(frac_us),
            link,
            data: data.to_vec(),
            orig_len: (orig as usize).max(incl),
        });
        off += 16 + incl;
    }
    Ok(Capture {
        format: Format::Pcap {
            big_endian: big,
            nanos,
        },
        frames,
        warning,
    })
}

fn cut_short(n: usize, good: usize) -> String {
    format!("was cut short in the middle of frame {n}; showing the {good} complete frames")
}

/// An interface of the current pcapng section.
struct Interface {
    link: Result<LinkType, u32>,
    snaplen: u32,
    /// if_tsresol: units per second are 10^n, or 2^n when the high bit is set.
    tsresol: u8,
    /// if_tsoffset: seconds added to every timestamp.
    tsoffset: i64,
}

/// Converts a pcapng timestamp to µs since the epoch, saturating instead of overflowing.
fn pcapng_time_us(units: u64, tsresol: u8, tsoffset: i64) -> i64 {
    let units = i128::from(units);
    let us = if tsresol & 0x80 != 0 {
        let shift = u32::from(tsresol & 0x7f).min(100);
        (units * 1_000_000) >> shift
    } else {
        let exp = i32::from(tsresol);
        if exp <= 6 {
            units * 10i128.pow((6 - exp) as u32)
        } else if exp - 6 > 30 {
            0
        } else {
            units / 10i128.pow((exp - 6) as u32)
        }
    };
    let total = us + i128::from(tsoffset) * 1_000_000;
    total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

fn read_pcapng(bytes: &[u8]) -> Result<Capture, String> {
    let mut frames = Vec::new();
    let mut warning = None;
    let mut ifaces: Vec<Interface> = Vec::new();
    let mut big = false;
    let mut off = 0usize;
    while off < bytes.len() {
        let n = frames.len() + 1;
        let le = Bytes {
            b: bytes,
            big: false,
        };
        let Some(btype) = le.u32(off) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        if btype == SHB {
            // The byte-order magic decides how this section, including this block's
            // own length, is read.
            match le.u32(off + 8) {
                Some(0x1a2b_3c4d) => big = false,
                Some(0x4d3c_2b1a) => big = true,
                Some(_) if off == 0 => {
                    return Err("is not a pcapng capture: its byte-order magic is wrong".into());
                }
                _ => {
                    warning = Some(damaged(n, frames.len(), "a section header"));
                    break;
                }
            }
            ifaces.clear();
        }
        let r = Bytes { b: bytes, big };
        let Some(total) = r.u32(off + 4).map(|t| t as usize) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        if total < 12 || !total.is_multiple_of(4) || total > MAX_FRAME + 64 {
            if off == 0 {
                return Err("is not a pcapng capture: its first block is malformed".into());
            }
            warning = Some(damaged(n, frames.len(), "a block length"));
            break;
        }
        let Some(block) = r.slice(off, total) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let b = Bytes { b: block, big };
        let btype = b.u32(0).unwrap_or(0);
        match btype {
            IDB => {
                let Some(code) = b.u16(8) else {
                    warning = Some(damaged(n, frames.len(), "an interface description"));
                    break;
                };
                let code = u32::from(code);
                let mut iface = Interface {
                    link: LinkType::from_code(code).ok_or(code),
                    snaplen: b.u32(12).unwrap_or(0),
                    tsresol: 6,
                    tsoffset: 0,
                };
                for (ocode, val) in options(b, 16, total - 4) {
                    match (ocode, val.len()) {
                        (9, 1) => iface.tsresol = val[0],
                        (14, 8) => {
                            iface.tsoffset = Bytes { b: val, big }.i64(0).unwrap_or(0);
                        }
                        _ => {}
                    }
                }
                ifaces.push(iface);
            }
            EPB | PB => {
                let (ifid, fixed) = if btype == EPB {
                    (b.u32(8).map(|v| v as usize), 28)
                } else {
                    (b.u16(8).map(usize::from), 28)
                };
                let (Some(ifid), Some(hi), Some(lo), Some(cap), Some(orig)) =
                    (ifid, b.u32(12), b.u32(16), b.u32(20), b.u32(24))
                else {
                    warning = Some(damaged(n, frames.len(), "a packet block"));
                    break;
                };
                let Some(data) = b
                    .slice(fixed, cap as usize)
                    .filter(|_| fixed + cap as usize <= total - 4)
                else {
                    warning = Some(damaged(n, frames.len(), "a packet block's length"));
                    break;
                };
                let Some(iface) = ifaces.get(ifid) else {
                    warning = Some(damaged(
                        n,
                        frames.len(),
                        "a packet on an undescribed interface",
                    ));
                    break;
                };
                let link = iface.link.map_err(unsupported)?;
                frames.push(CapturedFrame {
                    time_us: pcapng_time_us(
                        (u64::from(hi) << 32) | u64::from(lo),
                        iface.tsresol,
                        iface.tsoffset,
                    ),
                    link,
                    data: data.to_vec(),
                    orig_len: (orig as usize).max(data.len()),
                });
            }
            SPB => {
                let Some(iface) = ifaces.first() else {
                    warning = Some(damaged(
                        n,
                        frames.len(),
                        "a simple packet before any interface",
                    ));
                    break;
                };
                let link = iface.link.map_err(unsupported)?;
                let orig = b.u32(8).unwrap_or(0) as usize;
                let mut cap = orig.min(total - 16);
                if iface.snaplen != 0 {
                    cap = cap.min(iface.snaplen as usize);
                }
                let data = b.slice(12, cap).unwrap_or(&[]);
                frames.push(CapturedFrame {
                    // A simple packet block has no timestamp: it gets its predecessor's, so
                    // that relative times stay meaningful.
                    time_us: frames.last().map_or(0, |f: &CapturedFrame| f.time_us),
                    link,
                    data: data.to_vec(),
                    orig_len: orig.max(data.len()),
                });
            }
            _ => {}
        }
        off += total;
    }
    Ok(Capture {
        format: Format::Pcapng,
        frames,
        warning,
    })
}

fn damaged(n: usize, good: usize, what: &str) -> String {
    format!("is damaged at frame {n} ({what}); showing the {good} frames before it")
}

/// The options of a pcapng block between `from` and `to`: (code, value) pairs, stopping
/// at opt_endofopt or at the first option that does not fit.
fn options<'a>(b: Bytes<'a>, from: usize, to: usize) -> Vec<(u16, &'a [u8])> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 4 <= to {
        let (Some(code), Some(len)) = (b.u16(at), b.u16(at + 2)) else {
            break;
        };
        if code == 0 {
            break;
        }
        let len = usize::from(len);
        let Some(val) = b.slice(at + 4, len).filter(|_| at + 4 + len <= to) else {
            break;
        };
        out.push((code, val));
        at += 4 + len.div_ceil(4) * 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    pub(crate) fn pcap(big: bool, nanos: bool, link: u32, frames: &[(u32, u32, &[u8])]) -> Vec<u8> {
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
                let c = parse_capture(&b).unwrap();
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
        for code in [1, 101, 228, 229, 113, 276] {
            let c = parse_capture(&pcap(false, false, code, &[(1, 0, b"x")])).unwrap();
            assert_eq!(c.frames[0].link.code(), code);
        }
        let e = parse_capture(&pcap(false, false, 127, &[])).unwrap_err();
        assert!(e.contains("link type 127 (IEEE 802.11 radiotap)"), "{e}");
        assert!(e.contains("Ethernet (1)"), "{e}");
    }

    #[test]
    fn pcapng_both_orders_tsresol_and_skipped_blocks() {
        for big in [false, true] {
            let c =
                parse_capture(&pcapng(big, 1, None, &[(1_700_000_000_123_456, b"frame")])).unwrap();
            assert_eq!(c.format, Format::Pcapng);
            assert_eq!(c.frames.len(), 2, "EPB and SPB");
            assert_eq!(c.frames[0].time_us, 1_700_000_000_123_456);
            assert_eq!(c.frames[0].data, b"frame");
            assert_eq!(c.frames[1].data, [9, 9, 9], "SPB: orig len 3, padded");
            assert!(c.warning.is_none());
            // Nanoseconds (10^-9) and 2^-10 units.
            let c = parse_capture(&pcapng(big, 101, Some(9), &[(5_000_000_123, b"x")])).unwrap();
            assert_eq!(c.frames[0].time_us, 5_000_000);
            assert_eq!(c.frames[0].link, LinkType::RawIp);
            let c = parse_capture(&pcapng(big, 276, Some(0x80 | 10), &[(2048, b"x")])).unwrap();
            assert_eq!(c.frames[0].time_us, 2_000_000);
        }
        let e = parse_capture(&pcapng(false, 105, None, &[(0, b"x")])).unwrap_err();
        assert!(e.contains("link type 105"), "{e}");
    }

    #[test]
    fn two_sections_with_different_byte_orders() {
        let mut b = pcapng(false, 1, None, &[(1, b"le")]);
        b.extend(pcapng(true, 1, None, &[(2, b"be")]));
        let c = parse_capture(&b).unwrap();
        let data: Vec<&[u8]> = c.frames.iter().map(|f| f.data.as_slice()).collect();
        assert_eq!(data, [&b"le"[..], &[9, 9, 9], b"be", &[9, 9, 9]]);
    }

    #[test]
    fn truncated_files_keep_the_complete_frames() {
        let b = pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
        for cut in 25..b.len() {
            let c = parse_capture(&b[..cut]).unwrap();
            assert!(c.frames.len() < 2);
            // 45 = header + first record: a complete file of one frame.
            if cut != 45 {
                assert!(c.warning.as_deref().unwrap().contains("cut short"), "{cut}");
            }
        }
        let b = pcapng(true, 1, None, &[(1, b"first"), (2, b"second")]);
        for cut in 1..b.len() {
            match parse_capture(&b[..cut]) {
                Ok(c) => assert!(c.frames.len() <= 3),
                Err(e) => assert!(e.contains("pcapng") || e.contains("short"), "{e}"),
            }
        }
        assert!(parse_capture(&b[..24]).unwrap().frames.is_empty());
    }

    #[test]
    fn not_a_capture_says_so() {
        assert!(parse_capture(b"").unwrap_err().contains("empty"));
        assert!(parse_capture(b"ab").unwrap_err().contains("too short"));
        let e = parse_capture(b"<!DOCTYPE html>").unwrap_err();
        assert!(
            e.starts_with("is not a pcap or pcapng capture (it starts with 3c 21 44"),
            "{e}"
        );
        assert!(
            parse_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 0, 0])
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
        let c = parse_capture(&b).unwrap();
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
            let _ = parse_capture(&b);
        }
    }
}
