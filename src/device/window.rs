//! A middleware that keeps a peer's first data inside the receive window our SYN-ACK
//! really offered: a workaround for smoltcp 0.14, found by fuzzing (`fuzz/`, target
//! `frames`).
//!
//! The smoltcp behaviour (socket/tcp.rs, `Socket::process`): the right edge of the
//! receive window is computed as `remote_last_ack + (remote_last_win << remote_win_shift)`,
//! where `remote_last_win` is the window field of the last segment smoltcp sent. After a
//! SYN-ACK that field is the SYN-ACK's, which is *not* scaled (RFC 7323 §2.2: the window
//! of a SYN segment never is) — so with window scaling smoltcp believes the window is
//! 2^shift times what it offered and what its buffer holds (default knobs: a 64 KiB
//! buffer, shift 1: 128 KiB believed). Until smoltcp sends its next segment on that
//! connection, a segment beyond the buffer passes its acceptability test; the buffer
//! takes only what fits, the reassembler counts all of it, and when the gap before it is
//! filled `RingBuffer::enqueue_unallocated` panics (`count <= self.window()`), stopping
//! `taplab serve` — any peer could do it with a SYN and ~47 segments. (Had the buffer
//! been drained meanwhile, stale buffer bytes would have been handed up as data.)
//!
//! What the guard does: when smoltcp sends a SYN-ACK, it notes that connection's right
//! edge as the SYN-ACK offered it (its acknowledgement number plus its window). When
//! smoltcp sends its next segment on the connection, its own edge is right again and the
//! note is dropped — but not for the two kinds of segment after which smoltcp keeps the
//! stale window: an RST it answers with (`rst_reply`: e.g. to an unacceptable ACK in
//! SYN-RECEIVED, where the socket stays), and a keep-alive (sequence number one below
//! what it has sent: the ISN, right after a handshake). A segment from the peer on a noted connection whose data or FIN goes
//! past the edge is cut at the edge before smoltcp sees it (RFC 9293 §3.10.7.4: only the
//! part inside the window is processed; a segment entirely outside it becomes an empty
//! one, which smoltcp answers with an ACK). RSTs pass untouched. A peer that keeps to
//! the window is never changed.
//!
//! Data in: every frame in both directions, through [`WindowGuard::view`], which the
//! stack wraps around its device for each poll. Data out: the same frames, a cut one in
//! the guard's own buffer. Cuts are logged at debug (`window:`).

use super::frame::{TcpSpan, tcp_span};
use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, Ipv4Packet, Ipv6Packet, TcpPacket};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// (local address, local port, remote address, remote port).
type Key = (IpAddress, u16, IpAddress, u16);

/// A connection smoltcp may misjudge the window of.
#[derive(Debug, Clone, Copy)]
struct Note {
    /// The right edge our SYN-ACK offered (the peer's sequence space).
    edge: u32,
    /// Our ISN as smoltcp numbers it (the SYN-ACK's sequence number).
    isn: u32,
    /// Order of notes, for eviction.
    order: u64,
}

/// The connections whose last segment from us that set smoltcp's window was a SYN-ACK.
pub struct WindowGuard {
    edges: RefCell<BTreeMap<Key, Note>>,
    /// Most connections noted at once (the oldest note goes first).
    capacity: usize,
    /// Order of notes, for eviction.
    counter: Cell<u64>,
    /// Reused for cut frames.
    scratch: RefCell<Vec<u8>>,
}

impl WindowGuard {
    pub fn new(capacity: usize) -> WindowGuard {
        WindowGuard {
            edges: RefCell::new(BTreeMap::new()),
            capacity: capacity.max(1),
            counter: Cell::new(0),
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// `inner` with every frame passing the guard.
    pub fn view<'d, D: Device>(&'d self, inner: &'d mut D) -> Guarded<'d, D> {
        Guarded { inner, guard: self }
    }

    /// Connections noted now.
    pub fn noted(&self) -> usize {
        self.edges.borrow().len()
    }

    /// A frame smoltcp sends: a SYN-ACK notes its edge; any later segment that sets
    /// smoltcp's window anew (not an RST, not a keep-alive) ends the note.
    fn outgoing(&self, frame: &[u8]) {
        let Some(span) = tcp_span(frame) else {
            return;
        };
        let Ok(tcp) = TcpPacket::new_checked(&frame[span.range.clone()]) else {
            return;
        };
        if tcp.rst() {
            return;
        }
        let key = (span.src, tcp.src_port(), span.dst, tcp.dst_port());
        let seq = tcp.seq_number().0 as u32;
        let mut edges = self.edges.borrow_mut();
        if !(tcp.syn() && tcp.ack()) {
            if edges.get(&key).is_some_and(|n| n.isn != seq) {
                edges.remove(&key);
            }
            return;
        }
        let edge = (tcp.ack_number().0 as u32).wrapping_add(u32::from(tcp.window_len()));
        if !edges.contains_key(&key) && edges.len() >= self.capacity {
            let oldest = edges.iter().min_by_key(|(_, n)| n.order).map(|(k, _)| *k);
            if let Some(k) = oldest {
                edges.remove(&k);
            }
        }
        let order = self.counter.get();
        self.counter.set(order + 1);
        edges.insert(
            key,
            Note {
                edge,
                isn: seq,
                order,
            },
        );
    }

    /// A frame from the peer: None to pass it as it is, or the payload bytes to keep
    /// (the segment goes past the edge).
    fn cut(&self, frame: &[u8], span: &TcpSpan) -> Option<usize> {
        let tcp = TcpPacket::new_checked(&frame[span.range.clone()]).ok()?;
        if tcp.rst() {
            return None;
        }
        let key = (span.dst, tcp.dst_port(), span.src, tcp.src_port());
        let edge = self.edges.borrow().get(&key)?.edge;
        let seq = tcp.seq_number().0 as u32;
        let len = tcp.payload().len();
        let end = seq
            .wrapping_add(len as u32)
            .wrapping_add(u32::from(tcp.fin()));
        if end.wrapping_sub(edge) as i32 <= 0 {
            return None;
        }
        let room = edge.wrapping_sub(seq) as i32;
        Some((room.max(0) as usize).min(len))
    }

    /// Passes a frame from the peer to `f`, cut at the edge if it goes past it.
    fn incoming<R>(&self, frame: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        if self.edges.borrow().is_empty() {
            return f(frame);
        }
        let Some(span) = tcp_span(frame) else {
            return f(frame);
        };
        let Some(keep) = self.cut(frame, &span) else {
            return f(frame);
        };
        let mut scratch = self.scratch.borrow_mut();
        if !cut_payload(frame, &span, keep, &mut scratch) {
            return f(frame);
        }
        log::debug!(
            "window: {} sent past the window our SYN-ACK offered; cut to {keep} bytes",
            span.src
        );
        f(&scratch)
    }
}

/// Writes into `out` the frame with the segment's payload cut to its first `keep` bytes
/// and its FIN removed, lengths and checksums made right. False if the frame cannot be
/// rewritten (it is then passed as it is).
fn cut_payload(frame: &[u8], span: &TcpSpan, keep: usize, out: &mut Vec<u8>) -> bool {
    let Ok(tcp) = TcpPacket::new_checked(&frame[span.range.clone()]) else {
        return false;
    };
    let header = usize::from(tcp.header_len());
    let end = span.range.start + header + keep;
    out.clear();
    out.extend_from_slice(&frame[..end]);
    const ETH: usize = 14;
    let ip_len = end - ETH;
    match span.src {
        IpAddress::Ipv4(_) => {
            let mut ip = Ipv4Packet::new_unchecked(&mut out[ETH..]);
            ip.set_total_len(ip_len as u16);
            ip.fill_checksum();
        }
        IpAddress::Ipv6(_) => {
            Ipv6Packet::new_unchecked(&mut out[ETH..]).set_payload_len((ip_len - 40) as u16);
        }
    }
    let mut tcp = TcpPacket::new_unchecked(&mut out[span.range.start..end]);
    tcp.set_fin(false);
    tcp.fill_checksum(&span.src, &span.dst);
    true
}

/// A device whose frames pass a [`WindowGuard`].
pub struct Guarded<'d, D: Device> {
    inner: &'d mut D,
    guard: &'d WindowGuard,
}

impl<D: Device> Device for Guarded<'_, D> {
    type RxToken<'a>
        = GuardedRx<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = GuardedTx<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let guard = self.guard;
        let (rx, tx) = self.inner.receive(now)?;
        Some((
            GuardedRx { inner: rx, guard },
            GuardedTx { inner: tx, guard },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let guard = self.guard;
        Some(GuardedTx {
            inner: self.inner.transmit(now)?,
            guard,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

pub struct GuardedRx<'a, T> {
    inner: T,
    guard: &'a WindowGuard,
}

impl<T: RxToken> RxToken for GuardedRx<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let guard = self.guard;
        self.inner.consume(|frame| guard.incoming(frame, f))
    }
}

pub struct GuardedTx<'a, T> {
    inner: T,
    guard: &'a WindowGuard,
}

impl<T: TxToken> TxToken for GuardedTx<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let guard = self.guard;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            guard.outgoing(buf);
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{frame, segment};
    use smoltcp::wire::{TcpControl, TcpRepr};

    /// Our SYN-ACK to port 40000: ack 1001, window 65535.
    fn syn_ack() -> Vec<u8> {
        let r = TcpRepr {
            window_len: 65535,
            window_scale: Some(1),
            ..segment(80, 40000, TcpControl::Syn, 5000, Some(1001))
        };
        frame(true, &r)
    }

    fn data(seq: u32, len: usize, control: TcpControl) -> Vec<u8> {
        let payload = vec![b'x'; len];
        let r = TcpRepr {
            payload: &payload,
            ..segment(40000, 80, control, seq, Some(5001))
        };
        frame(false, &r)
    }

    /// What smoltcp would see of `f`.
    fn seen(g: &WindowGuard, f: &[u8]) -> Vec<u8> {
        g.incoming(f, |b| b.to_vec())
    }

    fn parsed(f: &[u8]) -> (u32, usize, bool) {
        let span = tcp_span(f).unwrap();
        let t = TcpPacket::new_checked(&f[span.range.clone()]).unwrap();
        assert!(t.verify_checksum(&span.src, &span.dst));
        (t.seq_number().0 as u32, t.payload().len(), t.fin())
    }

    #[test]
    fn data_past_the_syn_acks_window_is_cut_until_we_send_again() {
        let g = WindowGuard::new(4);
        // Before any SYN-ACK nothing is touched.
        let far = data(1001 + 65535, 6, TcpControl::None);
        assert_eq!(seen(&g, &far), far);
        g.outgoing(&syn_ack());
        assert_eq!(g.noted(), 1);
        // Inside the window: untouched, FIN included.
        let inside = data(1001 + 65535 - 10, 10, TcpControl::None);
        assert_eq!(seen(&g, &inside), inside);
        // Entirely past it: an empty segment at its sequence number.
        assert_eq!(parsed(&seen(&g, &far)), (1001 + 65535, 0, false));
        // Straddling, with a FIN: the part inside, no FIN.
        let straddle = data(1001 + 65535 - 4, 10, TcpControl::Fin);
        assert_eq!(parsed(&seen(&g, &straddle)), (1001 + 65535 - 4, 4, false));
        let fin_at_edge = data(1001 + 65535 - 4, 4, TcpControl::Fin);
        assert_eq!(
            parsed(&seen(&g, &fin_at_edge)),
            (1001 + 65535 - 4, 4, false)
        );
        // RSTs pass as they are.
        let rst = data(1001 + 70000, 0, TcpControl::Rst);
        assert_eq!(seen(&g, &rst), rst);
        // Our RST answer and a keep-alive (at the ISN) leave smoltcp's window as it was.
        g.outgoing(&frame(true, &segment(80, 40000, TcpControl::Rst, 7, None)));
        g.outgoing(&frame(
            true,
            &segment(80, 40000, TcpControl::None, 5000, Some(1001)),
        ));
        assert_eq!(g.noted(), 1);
        // Our next real segment (an ACK) ends the note: smoltcp's own edge is right again.
        g.outgoing(&frame(
            true,
            &segment(80, 40000, TcpControl::None, 5001, Some(1001)),
        ));
        assert_eq!(g.noted(), 0);
        assert_eq!(seen(&g, &far), far);
    }

    #[test]
    fn the_notes_are_bounded() {
        let g = WindowGuard::new(2);
        for port in [1u16, 2, 3] {
            let r = segment(80, port, TcpControl::Syn, 5000, Some(1001));
            g.outgoing(&frame(true, &r));
        }
        assert_eq!(g.noted(), 2);
    }

    /// serve's stack over an in-memory wire, through the knobs layer; nobody reads the
    /// sockets, so what arrives stays in their buffers.
    struct Rig {
        stack: crate::stack::Stack,
        dev: crate::device::knobs::KnobsLayer<crate::script::device::ScriptDevice>,
        wire: std::rc::Rc<RefCell<crate::script::device::Wire>>,
        now: Instant,
    }

    impl Rig {
        fn new(knobs: crate::knobs::TcpKnobs, max_conns: usize) -> Rig {
            use crate::device::knobs::{KnobsLayer, RewriteConfig};
            use crate::script::device::{ScriptDevice, Wire};
            use smoltcp::wire::{IpCidr, Ipv4Cidr};
            let wire = std::rc::Rc::new(RefCell::new(Wire::default()));
            let mut dev = KnobsLayer::new(
                ScriptDevice::new(wire.clone(), knobs.mtu),
                RewriteConfig::from_knobs(&knobs, (1, 2), 16),
            );
            let config = crate::stack::StackConfig {
                mac: crate::testutil::SERVER_MAC,
                addrs: vec![IpCidr::Ipv4(Ipv4Cidr::new(crate::testutil::SERVER_IP, 24))],
                gateway4: None,
                gateway6: None,
                port: 80,
                max_conns,
                tx_buffer: 4096,
                knobs,
                random_seed: 3,
            };
            let now = Instant::from_secs(1_000);
            let stack = crate::stack::Stack::new(&config, &mut dev, now);
            Rig {
                stack,
                dev,
                wire,
                now,
            }
        }

        /// Delivers `frames` in one batch a millisecond on; what the stack sent back.
        fn send(&mut self, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
            self.now += smoltcp::time::Duration::from_millis(1);
            for f in frames {
                self.wire.borrow_mut().inject(f.clone());
            }
            while self.wire.borrow().has_rx() {
                self.stack.ingress(self.now, &mut self.dev);
                self.stack.egress(self.now, &mut self.dev);
            }
            std::iter::from_fn(|| self.wire.borrow_mut().take().map(|(_, f)| f)).collect()
        }
    }

    /// The fuzzer's first finding (`fuzz/`, target `frames`), minimized: under
    /// `--isn 4294967000 --mss 536 --cc reno --timestamps off --max-conns 1`, a SYN with
    /// window scaling, then the handshake's ACK carrying 6 bytes at 65536 past the ISN —
    /// inside the 128 KiB smoltcp believed after its SYN-ACK, outside the 64 KiB it had.
    /// (The MAC, IP ID, and the stray options of the second segment are the fuzzer's.)
    #[test]
    fn fuzz_frames_1_data_just_past_the_syn_ack_window() {
        let syn: &[u8] = &[
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x02, 0x08, 0x00,
            0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x2f, 0x06, 0xc0, 0xa8,
            0x45, 0x64, 0xc0, 0xa8, 0x45, 0x01, 0x9c, 0x42, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8,
            0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x4b, 0xa3, 0x00, 0x00, 0x02, 0x04,
            0x05, 0xb4, 0x03, 0x03, 0x07, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x0f, 0x42, 0x40, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        let past: &[u8] = &[
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
            0x45, 0x00, 0x00, 0x3a, 0x8a, 0x04, 0x00, 0x00, 0x40, 0x06, 0xe5, 0x03, 0xc0, 0xa8,
            0x45, 0x64, 0xc0, 0xa8, 0x45, 0x01, 0x9c, 0x42, 0x00, 0x50, 0x00, 0x01, 0x03, 0xe9,
            0xff, 0xff, 0xfe, 0xd9, 0x80, 0x18, 0xfa, 0xf0, 0x28, 0x11, 0xa2, 0x00, 0x00, 0x02,
            0x04, 0x20, 0x2f, 0x62, 0x69, 0x04, 0x05, 0x39, 0x32, 0x2e, 0x31, 0xb4, 0x03, 0x03,
            0x07, 0x04,
        ];
        let knobs = crate::knobs::TcpKnobs {
            isn: crate::knobs::IsnMode::Fixed(4_294_967_000),
            mss: Some(536),
            cc: crate::knobs::CongestionControl::Reno,
            timestamps: false,
            ..Default::default()
        };
        let mut rig = Rig::new(knobs, 1);
        let syn_ack = rig.send(&[syn.to_vec()]);
        assert_eq!(syn_ack.len(), 1);
        rig.send(&[past.to_vec()]);
        // Nothing of it was taken (smoltcp took the ACK: the handshake is complete).
        assert_eq!(rig.stack.socket(0).recv_queue(), 0);
        assert_eq!(
            rig.stack.socket(0).state(),
            smoltcp::socket::tcp::State::Established
        );
        // Data inside the window is taken as before.
        let r = TcpRepr {
            payload: b"GET",
            ..segment(40002, 80, TcpControl::Psh, 1001, Some(4_294_967_001))
        };
        rig.send(&[frame(false, &r)]);
        assert_eq!(rig.stack.socket(0).recv_queue(), 3);
    }

    /// What the finding meant for `taplab serve` (a release build, where smoltcp's debug
    /// assertion is off): with the default knobs, a peer completes the handshake, sends 6
    /// bytes just past the 64 KiB buffer and then fills the buffer, in one burst. smoltcp
    /// panicked in `RingBuffer::enqueue_unallocated` and the server stopped. Now nothing
    /// past the 65535 bytes our SYN-ACK offered reaches the socket, and those are intact.
    #[test]
    fn a_peer_cannot_stop_the_server_by_sending_past_the_syn_ack_window() {
        let mut rig = Rig::new(crate::knobs::TcpKnobs::default(), 1);
        let syn = TcpRepr {
            window_scale: Some(7),
            window_len: 64240,
            ..segment(40000, 80, TcpControl::Syn, 1000, None)
        };
        let syn_ack = rig.send(&[frame(false, &syn)]);
        let span = tcp_span(&syn_ack[0]).unwrap();
        let sa = TcpPacket::new_checked(&syn_ack[0][span.range]).unwrap();
        let (isn, offered) = (sa.seq_number().0 as u32, usize::from(sa.window_len()));
        assert_eq!(offered, 65535);
        let ack = isn.wrapping_add(1);
        let seg = |seq: u32, payload: &[u8]| {
            let r = TcpRepr {
                window_len: 502,
                payload,
                ..segment(40000, 80, TcpControl::None, 1001 + seq, Some(ack))
            };
            frame(false, &r)
        };
        let mut burst = vec![seg(0, &[]), seg(65536, b"EVIL!!")];
        let chunk = 1460;
        let fill = vec![b'a'; chunk];
        // The whole 64 KiB buffer: one byte more than the window offered.
        let filled = offered + 1;
        let starts: Vec<usize> = (0..filled).step_by(chunk).collect();
        for &at in starts.iter().rev() {
            let len = chunk.min(filled - at);
            burst.push(seg(at as u32, &fill[..len]));
        }
        rig.send(&burst);
        let socket = rig.stack.socket(0);
        assert_eq!(socket.recv_queue(), offered);
        let got = socket.recv(|b| (b.len(), b.to_vec())).unwrap();
        assert!(
            got.iter().all(|&b| b == b'a'),
            "only the peer's in-window data"
        );
    }
}
