//! The stack on an in-memory wire, below the knobs layer and above nothing that reads its
//! sockets: what arrives stays in their buffers. The regressions of what fuzzing found
//! live here.

use super::*;
use crate::device::knobs::{KnobsLayer, RewriteConfig};
use crate::knobs::{CongestionControl, IsnMode, TcpKnobs};
use crate::script::device::{ScriptDevice, Wire};
use crate::testutil::{SERVER_IP, frame, segment};
use smoltcp::wire::{Ipv4Cidr, TcpControl, TcpRepr};
use std::cell::RefCell;
use std::rc::Rc;

struct Rig {
    stack: Stack,
    dev: KnobsLayer<ScriptDevice>,
    wire: Rc<RefCell<Wire>>,
    now: Instant,
    opened: Vec<ConnId>,
}

impl Rig {
    fn new(knobs: TcpKnobs, guard: bool) -> Rig {
        let wire = Rc::new(RefCell::new(Wire::default()));
        let mut dev = KnobsLayer::new(
            ScriptDevice::new(wire.clone(), knobs.mtu),
            RewriteConfig::from_knobs(&knobs, (1, 2), 16),
        );
        let config = StackConfig {
            mac: crate::testutil::SERVER_MAC,
            addrs: vec![IpCidr::Ipv4(Ipv4Cidr::new(SERVER_IP, 24))],
            gateway4: None,
            gateway6: None,
            port: 80,
            limits: admission::Limits {
                max_conns: 1,
                backlog: 4,
            },
            guard,
            knobs,
            random_seed: 3,
        };
        let now = Instant::from_secs(1_000);
        let stack = Stack::new(&config, &mut dev, now);
        Rig {
            stack,
            dev,
            wire,
            now,
            opened: Vec::new(),
        }
    }

    /// Delivers `frames` in one batch a millisecond on; what the stack sent back.
    fn send(&mut self, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
        self.now += Duration::from_millis(1);
        for f in frames {
            self.wire.borrow_mut().inject(f.clone());
        }
        while self.wire.borrow().has_rx() {
            self.stack.ingress(self.now, &mut self.dev);
            self.stack.egress(self.now, &mut self.dev);
        }
        let mut events = Vec::new();
        self.stack.take_events(&mut events);
        for e in events {
            if let StackEvent::Opened { id, .. } = e {
                self.opened.push(id);
            }
        }
        std::iter::from_fn(|| self.wire.borrow_mut().take().map(|(_, f)| f)).collect()
    }

    /// The socket of the first connection that opened.
    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        let id = *self.opened.first().expect("a connection opened");
        self.stack.socket(id).expect("live")
    }
}

/// Knobs under which smoltcp scales its window: a 64 KiB buffer, shift 1.
fn scaling() -> TcpKnobs {
    TcpKnobs {
        window: Some(65536),
        ..TcpKnobs::default()
    }
}

/// The fuzzer's first finding (`fuzz/`, target `frames`), minimized: under `--isn
/// 4294967000 --mss 536 --cc reno --timestamps off --window 65536`, a SYN with window
/// scaling, then the handshake's ACK carrying 6 bytes 65536 past the ISN — inside the 128
/// KiB smoltcp believed after its SYN-ACK, outside the 64 KiB it had. (The MAC, IP ID and
/// the stray options of the second segment are the fuzzer's.)
#[test]
fn fuzz_frames_1_data_just_past_the_syn_ack_window() {
    let syn: &[u8] = &[
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x02, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x2f, 0x06, 0xc0, 0xa8, 0x45, 0x64,
        0xc0, 0xa8, 0x45, 0x01, 0x9c, 0x42, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00,
        0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x4b, 0xa3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x03, 0x03,
        0x07, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let past: &[u8] = &[
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x3a, 0x8a, 0x04, 0x00, 0x00, 0x40, 0x06, 0xe5, 0x03, 0xc0, 0xa8, 0x45, 0x64,
        0xc0, 0xa8, 0x45, 0x01, 0x9c, 0x42, 0x00, 0x50, 0x00, 0x01, 0x03, 0xe9, 0xff, 0xff, 0xfe,
        0xd9, 0x80, 0x18, 0xfa, 0xf0, 0x28, 0x11, 0xa2, 0x00, 0x00, 0x02, 0x04, 0x20, 0x2f, 0x62,
        0x69, 0x04, 0x05, 0x39, 0x32, 0x2e, 0x31, 0xb4, 0x03, 0x03, 0x07, 0x04,
    ];
    for guard in [true, false] {
        let knobs = TcpKnobs {
            isn: IsnMode::Fixed(4_294_967_000),
            mss: Some(536),
            cc: CongestionControl::Reno,
            timestamps: false,
            ..scaling()
        };
        let mut rig = Rig::new(knobs, guard);
        assert_eq!(rig.send(&[syn.to_vec()]).len(), 1, "a SYN-ACK");
        rig.send(&[past.to_vec()]);
        // Nothing of it was taken; the ACK completed the handshake.
        assert_eq!(rig.socket().recv_queue(), 0, "guard {guard}");
        assert_eq!(rig.socket().state(), tcp::State::Established);
        // Data inside the window is taken as before.
        let r = TcpRepr {
            payload: b"GET",
            ..segment(40002, 80, TcpControl::Psh, 1001, Some(4_294_967_001))
        };
        rig.send(&[frame(false, &r)]);
        assert_eq!(rig.socket().recv_queue(), 3);
    }
}

/// What the finding meant for `taplab serve --window 65536` (a release build, where
/// smoltcp's debug assertion is off): a peer completes the handshake, sends 6 bytes just
/// past the 64 KiB buffer and then fills the buffer, in one burst; smoltcp panicked in
/// `RingBuffer::enqueue_unallocated` and the server stopped. Now nothing past the 65535
/// bytes our SYN-ACK offered reaches the socket, and those are intact.
#[test]
fn a_peer_cannot_stop_the_server_by_sending_past_the_syn_ack_window() {
    let mut rig = Rig::new(scaling(), true);
    let syn = TcpRepr {
        window_scale: Some(7),
        window_len: 64240,
        ..segment(40000, 80, TcpControl::Syn, 1000, None)
    };
    let syn_ack = rig.send(&[frame(false, &syn)]);
    let span = crate::device::frame::tcp_span(&syn_ack[0]).unwrap();
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
    let socket = rig.socket();
    assert_eq!(socket.recv_queue(), offered);
    let got = socket.recv(|b| (b.len(), b.to_vec())).unwrap();
    assert!(
        got.iter().all(|&b| b == b'a'),
        "only the peer's in-window data"
    );
    let mut actions = Vec::new();
    rig.stack.take_actions(&mut actions);
    assert!(
        actions.iter().any(|a| a.why == Why::PastSynAckWindow),
        "the cut is reported: {actions:?}"
    );
}
