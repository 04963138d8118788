//! The client's own SYN without window scaling or SACK-permitted: a device middleware for
//! `--client-wscale off` and `--client-sack off`.
//!
//! smoltcp always offers both options in the SYN it sends; a Linux client with
//! `net.ipv4.tcp_window_scaling=0` or `tcp_sack=0` does not. [`OwnSynOptions`] sits
//! between the client's stack and the wire and overwrites those options with NOPs in
//! every SYN (without ACK) the stack sends, then recomputes the checksum; every other
//! frame, and everything received, passes untouched. smoltcp adapts when the SYN-ACK then
//! lacks them, so both ends agree on what was negotiated.
//!
//! Finding the segment is [`crate::device::frame::tcp_span`]'s, the flags are
//! [`TcpFlags`] and the options are walked by [`crate::tcp::options()`], as everywhere
//! else in taplab.

use crate::device::frame::tcp_span;
use crate::tcp::options::kind;
use crate::tcp::{TcpFlags, TcpOption, options};
use smoltcp::phy::{Device, DeviceCapabilities, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::TcpPacket;

/// The middleware: `inner` is the device towards the wire.
pub struct OwnSynOptions<D: Device> {
    inner: D,
    /// Option kinds to remove from our SYN (empty: a pass-through).
    strip: Vec<u8>,
}

impl<D: Device> OwnSynOptions<D> {
    pub fn new(inner: D, strip_wscale: bool, strip_sack: bool) -> Self {
        let mut strip = Vec::new();
        if strip_wscale {
            strip.push(kind::WSCALE);
        }
        if strip_sack {
            strip.push(kind::SACK_PERM);
        }
        OwnSynOptions { inner, strip }
    }
}

impl<D: Device> Device for OwnSynOptions<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = StripTxToken<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(now)?;
        Some((
            rx,
            StripTxToken {
                inner: tx,
                strip: &self.strip,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        Some(StripTxToken {
            inner: self.inner.transmit(now)?,
            strip: &self.strip,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

/// The transmit token of [`OwnSynOptions`]: edits the frame once the stack has written it.
pub struct StripTxToken<'a, T> {
    inner: T,
    strip: &'a [u8],
}

impl<T: TxToken> TxToken for StripTxToken<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let strip = self.strip;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            if !strip.is_empty() {
                strip_syn_options(buf, strip);
            }
            r
        })
    }
}

/// Overwrites the options of the given kinds with NOPs in a SYN (without ACK) and
/// recomputes the TCP checksum. Other frames are left alone.
fn strip_syn_options(frame: &mut [u8], kinds: &[u8]) {
    let Some(span) = tcp_span(frame) else {
        return;
    };
    let Ok(mut tcp) = TcpPacket::new_checked(&mut frame[span.range]) else {
        return;
    };
    if TcpFlags::of(&tcp) & (TcpFlags::SYN | TcpFlags::ACK) != TcpFlags::SYN {
        return;
    }
    let area = tcp.options_mut();
    // Where they lie, found before the area is edited (the walker borrows it).
    let found: Vec<(usize, usize)> = options(area)
        .filter(|o| {
            kinds.contains(&o.option.kind()) && !matches!(o.option, TcpOption::Malformed { .. })
        })
        .map(|o| (o.offset, o.len))
        .collect();
    if found.is_empty() {
        return;
    }
    for (offset, len) in found {
        area[offset..offset + len].fill(kind::NOP);
    }
    tcp.fill_checksum(&span.src, &span.dst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{HOST_MAC, HOST_V4, SERVER_MAC, SERVER_V4};
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr,
        TcpControl, TcpRepr, TcpSeqNumber, TcpTimestampRepr,
    };

    /// A SYN (or with `ack`, a SYN-ACK) from the client offering every option smoltcp
    /// offers.
    fn build(ack: Option<u32>) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1),
            ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: 65535,
            window_scale: Some(7),
            max_seg_size: Some(1460),
            sack_permitted: true,
            sack_ranges: [None; 3],
            timestamp: Some(TcpTimestampRepr::new(1, 0)),
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: HOST_V4,
            dst_addr: SERVER_V4,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: HOST_MAC,
            dst_addr: SERVER_MAC,
            ethertype: EthernetProtocol::Ipv4,
        };
        let mut buf = vec![0u8; 14 + 20 + tcp.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut f);
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p, &ChecksumCapabilities::default());
        let mut t = TcpPacket::new_unchecked(p.payload_mut());
        tcp.emit(
            &mut t,
            &HOST_V4.into(),
            &SERVER_V4.into(),
            &ChecksumCapabilities::default(),
        );
        buf
    }

    /// (window scale, SACK permitted, MSS, timestamps) as smoltcp reads them; parsing
    /// checks the checksum.
    fn parse(buf: &[u8]) -> (Option<u8>, bool, Option<u16>, bool) {
        let f = EthernetFrame::new_checked(buf).unwrap();
        let p = Ipv4Packet::new_checked(f.payload()).unwrap();
        let t = TcpPacket::new_checked(p.payload()).unwrap();
        let r = TcpRepr::parse(
            &t,
            &HOST_V4.into(),
            &SERVER_V4.into(),
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        (
            r.window_scale,
            r.sack_permitted,
            r.max_seg_size,
            r.timestamp.is_some(),
        )
    }

    #[test]
    fn strips_options_from_our_syn_only() {
        let both = [kind::WSCALE, kind::SACK_PERM];
        let mut syn = build(None);
        strip_syn_options(&mut syn, &both);
        assert_eq!(
            parse(&syn),
            (None, false, Some(1460), true),
            "checksum still good"
        );
        let mut only_sack = build(None);
        strip_syn_options(&mut only_sack, &[kind::SACK_PERM]);
        assert_eq!(parse(&only_sack), (Some(7), false, Some(1460), true));
        let mut synack = build(Some(5));
        strip_syn_options(&mut synack, &both);
        assert_eq!(parse(&synack), (Some(7), true, Some(1460), true));
        // Garbage does not panic.
        for n in 0..60 {
            strip_syn_options(&mut syn.clone()[..n], &[kind::WSCALE]);
        }
    }
}
