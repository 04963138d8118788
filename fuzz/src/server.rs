//! The server under test: the server side `taplab serve` runs ([`ServerStack`]), on an
//! in-memory wire and a virtual clock.
//!
//! [`ServerStack::new`] builds it as it builds serve's, with the tap replaced by the
//! scripted peer's in-memory device ([`ScriptDevice`], which also answers our stack's ARP
//! and neighbor solicitations for the peer, 192.168.69.100 / fdaa::100): device → capture
//! point (no pcap file, only `/tcpinfo`'s table) → faults (none) → knobs layer → stack
//! (admission, edge guard) → HTTP server over a [`Site`] whose files are all dated
//! [`VIRTUAL_EPOCH`]. The setup is [`ServerSetup::lab_network`] with the fuzzer's
//! [`Choice`] of knobs, limits and guard, and fixed secrets, so that the same input gives
//! the same run (keyed ISNs included).
//!
//! Frames go in with [`ServerUnderTest::deliver`] and come out of
//! [`ServerUnderTest::take_sent`]; nothing happens until [`ServerUnderTest::settle`] or
//! [`ServerUnderTest::advance`] steps the server. Time moves only in `advance`, waking the
//! server as `serve` would (at its next deadline, never more than
//! [`MAX_SLEEP`](taplab::server_stack::MAX_SLEEP) apart),
//! with a budget of wake-ups so that no input can make a run long.

use crate::knobs::Choice;
use smoltcp::time::{Duration, Instant};
use std::cell::RefCell;
use std::rc::Rc;
use taplab::clock::{Clock, VIRTUAL_EPOCH, VirtualClock};
use taplab::http::Site;
use taplab::script::device::{ScriptDevice, Wire};
use taplab::server_stack::{ServerSetup, ServerStack};

/// Fixed secrets: the same input gives the same run (keyed ISNs included).
const ISN_KEY: (u64, u64) = (0x6675_7a7a_6b65_7931, 0x6675_7a7a_6b65_7932);
const RANDOM_SEED: u64 = 0x6675_7a7a_7365_6564;
/// Steps at one instant before `settle` gives up (each step takes at least one queued
/// frame, so a few hundred frames never need more).
const SETTLE_LIMIT: usize = 1_000;

pub struct ServerUnderTest {
    clock: VirtualClock,
    server: ServerStack<ScriptDevice>,
    wire: Rc<RefCell<Wire>>,
}

impl ServerUnderTest {
    /// serve's server side as `choice` configures it, at [`VIRTUAL_EPOCH`]. The knobs
    /// must be valid (`TcpKnobs::validate`), as [`crate::knobs::choose`] makes them.
    pub fn new(choice: &Choice, site: Site) -> ServerUnderTest {
        let site = site.with_fixed_mtime(VIRTUAL_EPOCH);
        let mut setup = ServerSetup::lab_network(site, choice.knobs.clone());
        setup.limits = choice.limits;
        setup.guard = choice.guard;
        setup.isn_key = ISN_KEY;
        setup.random_seed = RANDOM_SEED;
        let wire = Rc::new(RefCell::new(Wire::default()));
        let clock = VirtualClock::new(VIRTUAL_EPOCH);
        let device = ScriptDevice::new(wire.clone(), choice.knobs.mtu);
        let server = match ServerStack::new(device, setup, clock.now()) {
            Ok(s) => s,
            // Only a pcap file can fail to open, and there is none.
            Err(e) => panic!("the server side without a pcap file failed to build: {e}"),
        };
        ServerUnderTest {
            clock,
            server,
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
            self.server.step(&self.clock);
            if !self.wire.borrow().has_rx() {
                return;
            }
        }
    }

    /// Moves the clock on by `by`, waking the server at each of its deadlines on the way
    /// (at most
    /// [`MAX_SLEEP`](taplab::server_stack::MAX_SLEEP) apart, as `serve` sleeps). Each wake-up costs one unit of
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
            let mut delay = self.server.poll_delay(now);
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
