//! One lab run: the server stack of `taplab serve` and the lab's client, joined by the
//! virtual wire, driven by one [`VirtualClock`] that jumps from event to event.
//!
//! What goes in is a [`RunConfig`] (server knobs, client, wire, seed, files). The server
//! side is [`ServerStack`], exactly what `serve` builds, on the wire's server end: only
//! the device and the clock differ. What comes out is an [`Outcome`]: every frame at the server's end of the
//! wire (what tcpdump on tap0 would see), both sides' real TCP state changes with the
//! time and the frame that caused them, the client's fetch results and the wire's faults.
//!
//! The loop: at the current instant, step the client and then the server, each taking at
//! most one frame off the wire, until neither has anything left to do at this instant;
//! then jump the clock to the earliest of the client's and server's timers and the wire's
//! next delivery. No sleeping, no threads, no wall clock: the same config gives the same
//! bytes. Runs on different threads do not touch each other (`taplab lab sweep` runs one
//! per thread): everything a run holds is its own, and the TCP timestamps both stacks
//! take from the virtual time (smoltcp takes the generator as a plain `fn`) go through
//! thread-local cells.

use crate::clock::{Clock, VIRTUAL_EPOCH, VirtualClock};
use crate::device::capture::FrameObserver;
use crate::device::sim::{Fault, Side, SimEnd, Wire, WireConfig, derive_seed};
use crate::http::Site;
use crate::knobs::TcpKnobs;
use crate::lab::client::{Client, ClientConfig, FetchResult, client_device};
use crate::lab::frames::Captured;
use crate::network::SERVER_MAC;
use crate::server::{StateLog, StateObserver};
use crate::server_stack::{ServerSetup, ServerStack};
use crate::stack::GuardAction;
use crate::stack::admission::Limits;
use crate::tcp::StateChange;
use smoltcp::time::{Duration, Instant};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// Every file in www/ reports this modification time in the lab (2025-12-31T00:00:00Z,
/// the day before [`VIRTUAL_EPOCH`]), so Last-Modified and ETag are the same everywhere.
pub const LAB_MTIME: Instant = Instant::from_micros_const(1_767_139_200_000_000);

/// Most steps in one run: a bound for a run that never settles.
pub const MAX_ITERATIONS: u64 = 2_000_000;
/// Most frames kept for the listing (the pcap keeps all of them).
pub const MAX_FRAMES: usize = 200_000;

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub server_knobs: TcpKnobs,
    pub limits: Limits,
    /// The server's edge guard and repairs (off: `--no-guard`).
    pub guard: bool,
    pub request_timeout: std::time::Duration,
    pub www: PathBuf,
    pub wire: WireConfig,
    pub client: ClientConfig,
    pub seed: u64,
    pub pcap: Option<PathBuf>,
    /// Virtual time after which the run stops, settled or not.
    pub time_limit: Duration,
}

/// Why the run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client is done and every socket on both sides is closed again.
    Settled,
    /// Nothing was left to happen, but not everything had closed.
    Idle,
    TimeLimit,
    IterationLimit,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every frame at the server's end of the wire, in capture order.
    pub frames: Vec<Captured>,
    /// Both sides' state changes in the order they happened.
    /// `frame`: the captured frame whose arrival at that side caused the change.
    pub changes: Vec<StateChange>,
    pub results: Vec<FetchResult>,
    /// What the server's edge guard and admission did, in order.
    pub guard: Vec<GuardAction>,
    pub faults: Vec<Fault>,
    pub fault_count: u64,
    /// The most frames that waited at the bottleneck at once: at the server's end (its
    /// frames to the client) and at the client's.
    pub peak_queue: (usize, usize),
    /// When the client's last fetch ended (None: it never did).
    pub done: Option<Instant>,
    pub end: End,
    pub started: Instant,
    pub ended: Instant,
    pub iterations: u64,
}

/// The capture point's record of frames, for the listing (the pcap file is written by
/// the `CaptureSink` itself).
#[derive(Default)]
struct Recorder {
    frames: Vec<Captured>,
    /// Capture numbers of the frames the server sent, in sending order: the wire numbers
    /// each side's frames, and this maps the server's n-th to its place in the capture.
    server_sent: Vec<usize>,
    count: usize,
}

impl FrameObserver for Recorder {
    fn frame(&mut self, time: Instant, frame: &[u8]) {
        self.count += 1;
        if frame.get(6..12) == Some(&SERVER_MAC.0[..]) {
            self.server_sent.push(self.count);
        }
        if self.frames.len() < MAX_FRAMES {
            self.frames.push(Captured {
                time,
                frame: frame.to_vec(),
            });
        }
    }
}

/// The server side of a run, exactly as `serve` builds it, on the wire's server end.
struct ServerSide {
    stack: ServerStack<SimEnd>,
    /// Every frame the server's capture point sees.
    recorder: Rc<RefCell<Recorder>>,
    /// The server's state changes and guard actions.
    log: Rc<RefCell<StateLog>>,
}

fn server_side(config: &RunConfig, wire: &Wire, now: Instant) -> Result<ServerSide, String> {
    let site = Site::open(&config.www)
        .map_err(|e| {
            format!(
                "cannot serve site root {}: {e} (run from the repository root, or pass --www DIR)",
                config.www.display()
            )
        })?
        .with_fixed_mtime(LAB_MTIME);
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let mut setup = ServerSetup::lab_network(site, config.server_knobs.clone());
    setup.limits = config.limits;
    setup.guard = config.guard;
    setup.request_timeout = config.request_timeout;
    setup.pcap = config.pcap.clone();
    setup.observers = vec![recorder.clone() as Rc<RefCell<dyn FrameObserver>>];
    setup.isn_key = (
        derive_seed(config.seed, "server-isn-key-0"),
        derive_seed(config.seed, "server-isn-key-1"),
    );
    setup.random_seed = derive_seed(config.seed, "server-smoltcp");
    let mut stack = ServerStack::new(wire.end(Side::Server), setup, now)?;
    let log = Rc::new(RefCell::new(StateLog::default()));
    stack
        .server()
        .observe_states(log.clone() as Rc<RefCell<dyn StateObserver>>);
    Ok(ServerSide {
        stack,
        recorder,
        log,
    })
}

/// Runs the experiment to its end.
pub fn run(config: &RunConfig) -> Result<Outcome, String> {
    let clock = VirtualClock::new(VIRTUAL_EPOCH);
    let mtu = config.server_knobs.mtu;
    let wire = Wire::new(config.wire.clone(), mtu);
    let ServerSide {
        stack: mut server,
        recorder,
        log: server_log,
    } = server_side(config, &wire, clock.now())?;

    // The client side.
    let mut client_dev = client_device(wire.end(Side::Client), &config.client);
    let mut client = Client::new(config.client.clone(), &mut client_dev, clock.now());

    let started = clock.now();
    let deadline = started + config.time_limit;
    let mut changes = Vec::new();
    let mut guard = Vec::new();
    let mut iterations = 0u64;
    let end = loop {
        iterations += 1;
        if iterations > MAX_ITERATIONS {
            break End::IterationLimit;
        }
        let now = clock.now();

        // The client: at most one frame.
        wire.set_budget(Side::Client, Some(1));
        let client_sent = wire.sent(Side::Client);
        let mut progressed = client.step(now, &mut client_dev);
        progressed |= wire.sent(Side::Client) != client_sent;
        let got = wire.take_last_received(Side::Client).and_then(|n| {
            let r = recorder.borrow();
            r.server_sent.get(n as usize - 1).copied()
        });
        for c in client.take_states() {
            progressed = true;
            changes.push(StateChange {
                frame: got.map(|n| n as u64),
                ..c
            });
        }

        // The server: at most one frame, exactly as `serve` steps it.
        wire.set_budget(Side::Server, Some(1));
        let before = recorder.borrow().count;
        let server_sent = wire.sent(Side::Server);
        server.step(&clock);
        let got = wire.take_last_received(Side::Server).map(|_| before + 1);
        progressed |= got.is_some() || wire.sent(Side::Server) != server_sent;
        guard.extend(server_log.borrow_mut().take_actions());
        for c in server_log.borrow_mut().take() {
            progressed = true;
            changes.push(StateChange {
                frame: got.map(|n| n as u64),
                ..c
            });
        }

        if progressed || wire.has_due(Side::Client, now) || wire.has_due(Side::Server, now) {
            continue;
        }
        if client.finished() && wire.in_flight() == 0 && server.server().stack().is_empty() {
            break End::Settled;
        }
        let sources = [
            client.poll_at(now),
            server.server().poll_delay(now).map(|d| now + d),
            wire.next_delivery(),
        ];
        log::trace!("lab: at {now} next events client/server/wire {sources:?}");
        let next = sources.into_iter().flatten().min();
        let Some(next) = next else {
            break End::Idle;
        };
        // Nothing happened at this instant, so time must move on, if only by 1 µs.
        let next = next.max(now + Duration::from_micros(1));
        if next > deadline {
            break End::TimeLimit;
        }
        clock.advance_to(next);
    };
    let (faults, fault_count) = wire.faults();
    let frames = std::mem::take(&mut recorder.borrow_mut().frames);
    Ok(Outcome {
        frames,
        changes,
        results: client.results().to_vec(),
        guard,
        faults,
        fault_count,
        peak_queue: (wire.peak_queue(Side::Server), wire.peak_queue(Side::Client)),
        done: client.done_at(),
        end,
        started,
        ended: clock.now(),
        iterations,
    })
}
