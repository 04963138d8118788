//! `taplab serve`: the event loop that puts the server stack on a real tap.
//!
//! It opens (or creates and configures) the tap, stacks the device middlewares on it
//! (capture, faults, knobs), builds the [`Stack`] and [`Server`], prints the ready line
//! with the URL, then loops: take the time from the [`RealClock`],
//! step the server, and sleep on the tap's fd until a frame arrives or the next timer is
//! due. SIGINT/SIGTERM end the loop; closing the fd removes a tap taplab created.

use crate::clock::{Clock, RealClock};
use crate::device::capture::{CaptureSink, FrameObserver};
use crate::device::knobs::{KnobsLayer, RewriteConfig};
use crate::device::tap::{self, HostSide, TapDevice};
use crate::http::{HttpConfig, Site};
use crate::knobs::{ClosePolicy, TcpKnobs};
use crate::live::LiveTrace;
use crate::server::Server;
use crate::server::StateObserver;
use crate::stack::{Stack, StackConfig};
use crate::step::{Hold, Keyboard, SteppedClock};
use crate::tcpinfo::ConnTable;
use smoltcp::phy::{Device, FaultInjector, PcapMode, PcapWriter};
use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, IpCidr, Ipv4Cidr, Ipv6Cidr};
use std::cell::Cell;
use std::cell::RefCell;
use std::io::Write;
use std::os::unix::io::RawFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The stack's MAC address.
pub const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);

/// Everything `taplab serve` needs, parsed from flags.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub tap: String,
    pub addr4: Ipv4Cidr,
    pub host4: Ipv4Cidr,
    pub addr6: Ipv6Cidr,
    pub host6: Ipv6Cidr,
    pub port: u16,
    pub www: PathBuf,
    pub max_conns: usize,
    pub request_timeout: std::time::Duration,
    pub knobs: TcpKnobs,
    /// Write every frame to this pcap file.
    pub pcap: Option<PathBuf>,
    /// Percentage of frames dropped in each direction (smoltcp's FaultInjector).
    pub loss: u8,
    /// Seed for the faults (random if None).
    pub seed: Option<u32>,
    /// Print the listing and both ends' state changes live.
    pub trace: bool,
    /// Hold every frame until the user releases it (implies the live listing).
    pub step: bool,
}

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

/// Send buffer per socket: what may be in flight towards the peer. (The receive buffer
/// is a knob: it sets the window and its scale.)
pub const TX_BUFFER: usize = 256 * 1024;
/// Wake at least this often to notice signals even if select is not interrupted.
pub const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until SIGINT/SIGTERM. Errors are one line that says what to do.
pub fn run(opts: ServeOptions) -> Result<(), String> {
    let site = Site::open(&opts.www).map_err(|e| {
        format!(
            "cannot serve site root {}: {e} (run from the repository root, or pass --www DIR)",
            opts.www.display()
        )
    })?;
    // Open the capture file before touching the network, so a bad path costs nothing.
    let stop = Arc::new(AtomicBool::new(false));
    // Wire records for /tcpinfo, fed by the capture point.
    let table = Rc::new(RefCell::new(ConnTable::new(MAC, 4 * opts.max_conns + 64)));
    let mut observers: Vec<Rc<RefCell<dyn FrameObserver>>> = vec![table.clone()];
    // Step mode: the stack's clock leaves out the time spent waiting at a frame.
    let paused = Rc::new(Cell::new(Duration::ZERO));
    let live = (opts.trace || opts.step).then(|| {
        let hold = opts.step.then(|| {
            let keyboard = Keyboard::spawn(std::io::BufReader::new(std::io::stdin()));
            Hold::new(keyboard, paused.clone(), stop.clone())
        });
        Rc::new(RefCell::new(LiveTrace::new(
            Box::new(std::io::stdout()),
            hold,
        )))
    });
    if let Some(l) = &live {
        observers.push(l.clone());
    }
    let sink = CaptureSink::new(opts.pcap.as_deref(), observers).map_err(|e| {
        format!(
            "cannot write the capture {}: {e}",
            opts.pcap.as_deref().unwrap_or(Path::new("")).display()
        )
    })?;

    let mtu = opts.knobs.mtu;
    let tap = TapDevice::open(&opts.tap, mtu).map_err(|e| e.to_string())?;
    let host = HostSide {
        name: tap.name().to_string(),
        mtu,
        addrs: vec![opts.host4.to_string(), opts.host6.to_string()],
    };
    let created = tap.created();
    if created {
        tap::configure_host_side(&host).map_err(|e| e.to_string())?;
    } else {
        if let Some(theirs) = tap::interface_mtu(&host.name).filter(|&m| m != mtu) {
            log::warn!(
                "{} has MTU {theirs} but taplab uses {mtu}: set one to match the other (--mtu {theirs})",
                host.name,
            );
        }
        if !host.is_configured() {
            log::warn!(
                "{} exists but lacks the host-side addresses; as root run: {}",
                host.name,
                host.command_lines().join("; ")
            );
        }
    }

    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| format!("cannot install signal handler: {e}"))?;
    }

    // The chain, from the wire inwards: tap → capture (what tcpdump on the tap sees) →
    // faults (--loss) → knobs layer (ISN, MSS, options) → the stack's SYN gate → smoltcp.
    let fd = tap.fd();
    let capture = PcapWriter::new(tap, sink, PcapMode::Both);
    let rewrite = RewriteConfig::from_knobs(
        &opts.knobs,
        (os_random_u64(), os_random_u64()),
        4 * opts.max_conns + 64,
    );
    log::info!("knobs: {}", opts.knobs);
    let clock: Box<dyn Clock> = if opts.step {
        Box::new(SteppedClock::new(paused))
    } else {
        Box::new(RealClock::new())
    };
    let env = LoopEnv {
        fd,
        opts: &opts,
        host: &host,
        stop: &stop,
        clock: clock.as_ref(),
        live: live.map(|l| l as Rc<RefCell<dyn StateObserver>>),
    };
    if opts.loss > 0 {
        let seed = opts.seed.unwrap_or_else(|| os_random_u64() as u32);
        log::info!(
            "faults: dropping {} % of frames each way (seed {seed})",
            opts.loss
        );
        let mut faults = FaultInjector::new(capture, seed);
        faults.set_drop_chance(opts.loss);
        serve_loop(KnobsLayer::new(faults, rewrite), site, table, env)?;
    } else {
        serve_loop(KnobsLayer::new(capture, rewrite), site, table, env)?;
    }
    // The device, and with it the tap's fd, is gone: a tap we created no longer exists.
    if created {
        println!("taplab: stopped; removed {}", host.name);
    } else {
        println!("taplab: stopped; left {} in place", host.name);
    }
    Ok(())
}

/// What the loop needs besides the device chain, whatever that chain's type.
struct LoopEnv<'a> {
    fd: RawFd,
    opts: &'a ServeOptions,
    host: &'a HostSide,
    stop: &'a AtomicBool,
    clock: &'a dyn Clock,
    live: Option<Rc<RefCell<dyn StateObserver>>>,
}

/// Builds the stack on `device` and serves until `stop` is set.
fn serve_loop<D: Device>(
    mut device: D,
    site: Site,
    table: Rc<RefCell<ConnTable>>,
    env: LoopEnv,
) -> Result<(), String> {
    let LoopEnv {
        fd,
        opts,
        host,
        stop,
        clock,
        live,
    } = env;
    let config = StackConfig {
        mac: MAC,
        addrs: vec![IpCidr::Ipv4(opts.addr4), IpCidr::Ipv6(opts.addr6)],
        gateway4: Some(opts.host4.address()),
        gateway6: Some(opts.host6.address()),
        port: opts.port,
        max_conns: opts.max_conns,
        tx_buffer: TX_BUFFER,
        knobs: opts.knobs.clone(),
        random_seed: os_random_u64(),
    };
    let stack = Stack::new(&config, &mut device, clock.now());
    let http = http_config(&opts.knobs, opts.request_timeout);
    let mut server = Server::new(stack, site, http, opts.knobs.clone(), table);
    if let Some(l) = live {
        server.observe_states(l);
    }

    let port = if opts.port == 80 {
        String::new()
    } else {
        format!(":{}", opts.port)
    };
    println!(
        "taplab: serving {} at http://{}{port}/ and http://[{}]{port}/ on {} (host side {}); Ctrl-C stops",
        opts.www.display(),
        opts.addr4.address(),
        opts.addr6.address(),
        host.name,
        opts.host4.address(),
    );
    if opts.step {
        println!(
            "step mode: each frame waits before it is delivered; our timers are frozen meanwhile \
             (the kernel's are not)"
        );
    }
    let _ = std::io::stdout().flush();

    while !stop.load(Ordering::Relaxed) {
        server.step(clock, &mut device);
        let delay = server
            .poll_delay(clock.now())
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP));
        if let Err(e) = smoltcp::phy::wait(fd, Some(delay))
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            return Err(format!("waiting on {}: {e}", host.name));
        }
    }
    Ok(())
}

/// 64 bits from the OS's random source, to seed smoltcp.
fn os_random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|e| {
        // Not fatal: the seed only needs to differ between runs.
        log::warn!("cannot read the OS's random source ({e}); seeding from the clock");
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
    })
}
