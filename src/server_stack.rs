//! The whole server side, built in one place: `taplab serve`, `taplab lab` and `taplab
//! lab --script` differ only in the [`Device`] at the bottom and the clock they step it
//! with.
//!
//! ```text
//! device (tap0, the lab's wire end, the script's in-memory wire)
//!  └ capture    Capture + CaptureSink: the pcap file and the frame observers (/tcpinfo's
//!               table, the live listing, the lab's recorder), at the device's wire times
//!     └ faults  smoltcp's FaultInjector (serve --loss; nothing without it)
//!        └ knobs   the rewriting layer (ISN, MSS, options), told when a connection is gone
//!           └ Stack   smoltcp Interface + connections + admission + edge guard
//!              └ Server   one HttpConnection per connection, over the Site
//! ```
//!
//! Data enters as a [`ServerSetup`] and a device; [`ServerStack::step`] then moves frames
//! both ways with the time of the clock given; [`ServerStack::poll_delay`] says when to
//! step again.

use crate::clock::Clock;
use crate::device::capture::{Capture, CaptureFile, CaptureSink, FrameObserver, WireTime};
use crate::device::faults::Faults;
use crate::device::knobs::{KnobsLayer, RewriteConfig};
use crate::http::{HttpConfig, Site};
use crate::knobs::{ClosePolicy, TcpKnobs};
use crate::network::{HOST_V4, HOST_V6, HTTP_PORT, SERVER_CIDR4, SERVER_CIDR6, SERVER_MAC};
use crate::server::Server;
use crate::stack::admission::Limits;
use crate::stack::{Stack, StackConfig};
use crate::tcpinfo::ConnTable;
use smoltcp::phy::Device;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpCidr, IpEndpoint, Ipv4Address, Ipv6Address};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// The device chain under the stack, on top of the device `D`.
pub type Chain<D> = KnobsLayer<Faults<Capture<D>>>;

/// Wake at least this often: `serve` notices signals, and every caller looks at
/// connections whose timers are checked rather than scheduled.
pub const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Everything the server side is, resolved from flags.
pub struct ServerSetup {
    /// Our addresses (the IPv6 link-local one is added from the MAC).
    pub addrs: Vec<IpCidr>,
    /// The host side, where default routes point.
    pub gateway4: Ipv4Address,
    pub gateway6: Ipv6Address,
    pub port: u16,
    pub site: Site,
    pub knobs: TcpKnobs,
    pub limits: Limits,
    /// The stack's edge guard and repairs (off: `--no-guard`).
    pub guard: bool,
    pub request_timeout: std::time::Duration,
    /// Write every frame to this pcap file.
    pub pcap: Option<PathBuf>,
    /// Told about every frame at the capture point, after `/tcpinfo`'s table.
    pub observers: Vec<Rc<RefCell<dyn FrameObserver>>>,
    /// The device's own read/write times (the tap's); None: frames are stamped with the
    /// clock given to `step` (the lab's virtual time).
    pub wire_time: Option<WireTime>,
    /// Secret for the keyed ISN (RFC 6528).
    pub isn_key: (u64, u64),
    /// Seed for smoltcp's own random choices.
    pub random_seed: u64,
    /// Percentage of frames dropped in each direction (`serve --loss`), and its seed.
    pub loss: u8,
    pub loss_seed: u32,
}

impl ServerSetup {
    /// The lab network's server end (crate::network) with `site` and `knobs`; the caller
    /// fills in the rest it needs.
    pub fn lab_network(site: Site, knobs: TcpKnobs) -> ServerSetup {
        ServerSetup {
            addrs: vec![IpCidr::Ipv4(SERVER_CIDR4), IpCidr::Ipv6(SERVER_CIDR6)],
            gateway4: HOST_V4,
            gateway6: HOST_V6,
            port: HTTP_PORT,
            site,
            knobs,
            limits: Limits {
                max_conns: DEFAULT_MAX_CONNS,
                backlog: DEFAULT_BACKLOG,
            },
            guard: true,
            request_timeout: std::time::Duration::from_secs(10),
            pcap: None,
            observers: Vec::new(),
            wire_time: None,
            isn_key: (0, 0),
            random_seed: 0,
            loss: 0,
            loss_seed: 0,
        }
    }
}

/// `--max-conns` when not given.
pub const DEFAULT_MAX_CONNS: usize = 1024;
/// `--backlog` when not given.
pub const DEFAULT_BACKLOG: usize = 256;

/// The HTTP side of the close policy: who closes, and when.
pub fn http_config(knobs: &TcpKnobs, request_timeout: std::time::Duration) -> HttpConfig {
    let (keep_alive_timeout, close_after_response) = match knobs.close {
        ClosePolicy::ServerFirst => (None, true),
        ClosePolicy::ClientFirst => (None, false),
        ClosePolicy::Idle(d) => (Some(d), false),
    };
    HttpConfig {
        server: format!("taplab/{}", env!("CARGO_PKG_VERSION")),
        keep_alive_timeout,
        close_after_response,
        request_timeout,
    }
}

/// The server side on a device.
pub struct ServerStack<D: Device> {
    device: Chain<D>,
    server: Server,
    table: Rc<RefCell<ConnTable>>,
    gone: Vec<(IpEndpoint, IpEndpoint)>,
    /// The pcap file, flushed after each step.
    capture: CaptureFile,
}

impl<D: Device> ServerStack<D> {
    /// Builds the chain on `device` at time `now`. Errors (a pcap that cannot be
    /// written) are one line that says what to do.
    pub fn new(device: D, setup: ServerSetup, now: Instant) -> Result<ServerStack<D>, String> {
        let limits = setup.limits;
        // /tcpinfo's wire records: enough for every connection the stack may hold.
        let capacity = 2 * (limits.max_conns + limits.backlog) + 64;
        let table = Rc::new(RefCell::new(ConnTable::new(SERVER_MAC, capacity)));
        let mut observers: Vec<Rc<RefCell<dyn FrameObserver>>> = vec![table.clone()];
        observers.extend(setup.observers);
        let sink = CaptureSink::new(setup.pcap.as_deref(), observers).map_err(|e| {
            format!(
                "cannot write the capture {}: {e}",
                setup
                    .pcap
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            )
        })?;
        let capture_file = sink.file();
        let capture = Capture::new(device, sink, setup.wire_time);
        let faults = Faults::new(capture, setup.loss, setup.loss_seed);
        let mut rewrite = RewriteConfig::from_knobs(&setup.knobs, setup.isn_key, capacity);
        rewrite.stack_forgets = true;
        let mut device = KnobsLayer::new(faults, rewrite);
        let config = StackConfig {
            mac: SERVER_MAC,
            addrs: setup.addrs,
            gateway4: Some(setup.gateway4),
            gateway6: Some(setup.gateway6),
            port: setup.port,
            limits,
            guard: setup.guard,
            knobs: setup.knobs.clone(),
            random_seed: setup.random_seed,
        };
        let stack = Stack::new(&config, &mut device, now);
        let http = http_config(&setup.knobs, setup.request_timeout);
        let server = Server::new(stack, setup.site, http, setup.knobs, table.clone());
        Ok(ServerStack {
            device,
            server,
            table,
            gone: Vec::new(),
            capture: capture_file,
        })
    }

    /// Moves frames and bytes until nothing more happens at the clock's time.
    pub fn step(&mut self, clock: &dyn Clock) {
        self.server.step(clock, &mut self.device);
        self.server.stack().take_gone(&mut self.gone);
        for (local, remote) in self.gone.drain(..) {
            self.device.forget(local, remote);
        }
        self.capture.flush();
    }

    /// How long until the next step is due without new frames (at most [`MAX_SLEEP`]).
    pub fn poll_delay(&mut self, now: Instant) -> Duration {
        self.server
            .poll_delay(now)
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP))
    }

    pub fn server(&mut self) -> &mut Server {
        &mut self.server
    }

    /// `/tcpinfo`'s wire records.
    pub fn conn_table(&self) -> &Rc<RefCell<ConnTable>> {
        &self.table
    }
}
