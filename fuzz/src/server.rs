//! The server under test: the chain `taplab serve` builds, on an in-memory wire and a
//! virtual clock.
//!
//! The chain is serve's with the tap replaced by the scripted peer's in-memory device
//! ([`ScriptDevice`], which also answers our stack's ARP and neighbor solicitations for
//! the peer, 192.168.69.100 / fdaa::100): device → capture point (no pcap file, only
//! `/tcpinfo`'s table) → [`KnobsLayer`] → [`Stack`] (SYN gate and listening pool) →
//! [`Server`] → HTTP over a [`Site`].
//!
//! [`ServerUnderTest::new`] is the only function that knows how the chain is put together:
//! when taplab gains one constructor for it, only that function changes.
//!
//! Frames go in with [`ServerUnderTest::deliver`] and come out of
//! [`ServerUnderTest::take_sent`]; nothing happens until [`ServerUnderTest::settle`] or
//! [`ServerUnderTest::advance`] steps the server. Time moves only in `advance`, waking the
//! server as `serve` would (at its next deadline, never more than serve's longest sleep
//! apart), with a budget of wake-ups so that no input can make a run long.

use smoltcp::phy::{PcapMode, PcapWriter};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpCidr, Ipv4Cidr, Ipv6Cidr};
use std::cell::RefCell;
use std::rc::Rc;
use taplab::clock::{Clock, VIRTUAL_EPOCH, VirtualClock, to_system_time};
use taplab::device::capture::{CaptureSink, FrameObserver};
use taplab::device::knobs::{KnobsLayer, RewriteConfig};
use taplab::http::Site;
use taplab::knobs::TcpKnobs;
use taplab::script::device::{ScriptDevice, Wire};
use taplab::script::wire::{OUR_IP, OUR_IP6, PEER_IP, PEER_IP6};
use taplab::serve::{MAC, MAX_SLEEP, TX_BUFFER, http_config};
use taplab::server::Server;
use taplab::stack::{Stack, StackConfig};
use taplab::tcpinfo::ConnTable;

/// Fixed secrets: the same input gives the same run (keyed ISNs included).
const ISN_KEY: (u64, u64) = (0x6675_7a7a_6b65_7931, 0x6675_7a7a_6b65_7932);
const RANDOM_SEED: u64 = 0x6675_7a7a_7365_6564;
/// Steps at one instant before `settle` gives up (each step takes at least one queued
/// frame, so a few hundred frames never need more).
const SETTLE_LIMIT: usize = 1_000;

type Chain = KnobsLayer<PcapWriter<ScriptDevice, CaptureSink>>;

pub struct ServerUnderTest {
    clock: VirtualClock,
    server: Server,
    device: Chain,
    wire: Rc<RefCell<Wire>>,
}

impl ServerUnderTest {
    /// serve's chain with these knobs and this many listening sockets, at
    /// [`VIRTUAL_EPOCH`]. The knobs must be valid ([`TcpKnobs::validate`]).
    pub fn new(knobs: &TcpKnobs, max_conns: usize, site: Site) -> ServerUnderTest {
        let site = site.with_fixed_mtime(to_system_time(VIRTUAL_EPOCH));
        let capacity = 4 * max_conns + 64;
        let table = Rc::new(RefCell::new(ConnTable::new(MAC, capacity)));
        let observers: Vec<Rc<RefCell<dyn FrameObserver>>> = vec![table.clone()];
        let sink = match CaptureSink::new(None, observers) {
            Ok(s) => s,
            // Without a file there is nothing to open: this cannot fail.
            Err(e) => panic!("a capture sink without a file failed: {e}"),
        };
        let wire = Rc::new(RefCell::new(Wire::default()));
        let capture = PcapWriter::new(
            ScriptDevice::new(wire.clone(), knobs.mtu),
            sink,
            PcapMode::Both,
        );
        let rewrite = RewriteConfig::from_knobs(knobs, ISN_KEY, capacity);
        let mut device = KnobsLayer::new(capture, rewrite);
        let clock = VirtualClock::new(VIRTUAL_EPOCH);
        let config = StackConfig {
            mac: MAC,
            addrs: vec![
                IpCidr::Ipv4(Ipv4Cidr::new(OUR_IP, 24)),
                IpCidr::Ipv6(Ipv6Cidr::new(OUR_IP6, 64)),
            ],
            gateway4: Some(PEER_IP),
            gateway6: Some(PEER_IP6),
            port: 80,
            max_conns,
            tx_buffer: TX_BUFFER,
            knobs: knobs.clone(),
            random_seed: RANDOM_SEED,
        };
        let stack = Stack::new(&config, &mut device, clock.now());
        let http = http_config(knobs, std::time::Duration::from_secs(10));
        let server = Server::new(stack, site, http, knobs.clone(), table);
        ServerUnderTest {
            clock,
            server,
            device,
            wire,
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Queues a frame for the stack (the device puts the peer's ARP request or neighbor
    /// solicitation before its first IPv4 or IPv6 frame, as the kernel would).
    pub fn deliver(&mut self, frame: Vec<u8>) {
        self.wire.borrow_mut().inject(frame);
    }

    /// The oldest frame our stack sent that has not been taken.
    pub fn take_sent(&mut self) -> Option<Vec<u8>> {
        self.wire.borrow_mut().take().map(|(_, f)| f)
    }

    /// Steps the server at the current instant until it has taken every queued frame.
    pub fn settle(&mut self) {
        for _ in 0..SETTLE_LIMIT {
            self.server.step(&self.clock, &mut self.device);
            if !self.wire.borrow().has_rx() {
                return;
            }
        }
    }

    /// Moves the clock on by `by`, waking the server at each of its deadlines on the way
    /// (at most [`MAX_SLEEP`] apart, as `serve` sleeps). Each wake-up costs one unit of
    /// `budget`; false when the budget ran out before `by` had passed.
    pub fn advance(&mut self, by: Duration, budget: &mut u32) -> bool {
        let target = self.clock.now() + by;
        let mut zeros = 0u32;
        loop {
            self.settle();
            let now = self.clock.now();
            if now >= target {
                return true;
            }
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let mut delay = self
                .server
                .poll_delay(now)
                .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP));
            if delay == Duration::ZERO {
                // Due now, yet the step just made did nothing: move on a little (doubling
                // while it lasts) rather than spin at one instant.
                delay = Duration::from_micros(1 << zeros.min(10));
                zeros += 1;
            } else {
                zeros = 0;
            }
            self.clock.advance_to((now + delay).min(target));
        }
    }
}
