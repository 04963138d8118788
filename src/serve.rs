//! `taplab serve`: the event loop that puts the server stack on a real tap.
//!
//! It opens (or creates and configures) the tap, builds the server side on it
//! ([`ServerStack`]: capture, faults, knobs, stack, HTTP), prints the ready line with the
//! URL, then loops: take the time from the [`RealClock`], step the server, and sleep on
//! the tap's fd until a frame arrives or the next timer is due. SIGINT/SIGTERM end the
//! loop; closing the fd removes a tap taplab created.

use crate::clock::{Clock, RealClock};
use crate::device::capture::FrameObserver;
use crate::device::tap::{self, HostSide, TapDevice};
use crate::http::Site;
use crate::knobs::TcpKnobs;
use crate::live::LiveTrace;
use crate::network::SERVER_MAC;
use crate::server::StateObserver;
use crate::server_stack::{ServerSetup, ServerStack};
use crate::stack::admission::Limits;
use crate::step::keys::Keyboard;
use crate::step::{Hold, Holds, SteppedClock};
use smoltcp::time::Duration;
use smoltcp::wire::{IpCidr, Ipv4Cidr, Ipv6Cidr};
use std::cell::Cell;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    pub limits: Limits,
    /// The stack's edge guard and repairs (off: `--no-guard`).
    pub guard: bool,
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
    /// Step mode: hold these frames until the user releases each (implies the live
    /// listing).
    pub step: Option<Holds>,
    /// Checksum and segmentation offload on the tap (`--offload`).
    pub offload: bool,
}

/// Runs until SIGINT/SIGTERM. Errors are one line that says what to do.
pub fn run(opts: ServeOptions) -> Result<(), String> {
    let site = Site::open(&opts.www).map_err(|e| {
        format!(
            "cannot serve site root {}: {e} (run from the repository root, or pass --www DIR)",
            opts.www.display()
        )
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut observers: Vec<Rc<RefCell<dyn FrameObserver>>> = Vec::new();
    // Step mode: the stack's clock leaves out the time spent waiting at a frame.
    let paused = Rc::new(Cell::new(Duration::ZERO));
    let live = (opts.trace || opts.step.is_some()).then(|| {
        let hold = opts
            .step
            .map(|holds| Hold::new(Keyboard::stdin(), holds, paused.clone(), stop.clone()));
        Rc::new(RefCell::new(LiveTrace::new(
            Box::new(std::io::stdout()),
            hold,
        )))
    });
    if let Some(l) = &live {
        observers.push(l.clone());
    }
    // Open the capture file before touching the network, so a bad path costs nothing.
    if let Some(p) = &opts.pcap {
        std::fs::File::create(p)
            .map_err(|e| format!("cannot write the capture {}: {e}", p.display()))?;
    }

    let mtu = opts.knobs.mtu;
    let tap = TapDevice::open(&opts.tap, mtu, opts.offload).map_err(|e| e.to_string())?;
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

    let fd = tap.fd();
    log::info!("knobs: {}", opts.knobs);
    let clock: Box<dyn Clock> = if opts.step.is_some() {
        Box::new(SteppedClock::new(paused))
    } else {
        Box::new(RealClock::new())
    };
    let loss_seed = opts.seed.unwrap_or_else(|| os_random_u64() as u32);
    if opts.loss > 0 {
        log::info!(
            "faults: dropping {} % of frames each way (seed {loss_seed})",
            opts.loss
        );
    }
    let setup = ServerSetup {
        addrs: vec![IpCidr::Ipv4(opts.addr4), IpCidr::Ipv6(opts.addr6)],
        gateway4: opts.host4.address(),
        gateway6: opts.host6.address(),
        port: opts.port,
        site,
        knobs: opts.knobs.clone(),
        limits: opts.limits,
        guard: opts.guard,
        request_timeout: opts.request_timeout,
        pcap: opts.pcap.clone(),
        observers,
        // Frames are stamped as they cross tap0, as tcpdump stamps them.
        wire_time: Some(tap.wire_time()),
        isn_key: (os_random_u64(), os_random_u64()),
        random_seed: os_random_u64(),
        loss: opts.loss,
        loss_seed,
    };
    let mut server = ServerStack::new(tap, setup, clock.now())?;
    if let Some(l) = live {
        server
            .server()
            .observe_states(l as Rc<RefCell<dyn StateObserver>>);
        // A state line belongs right after the frame that caused it.
        server.server().stack().set_ingress_batch(1);
    }
    serve_loop(&mut server, fd, &opts, &host, &stop, clock.as_ref())?;
    drop(server);
    // The device, and with it the tap's fd, is gone: a tap we created no longer exists.
    if created {
        println!("taplab: stopped; removed {}", host.name);
    } else {
        println!("taplab: stopped; left {} in place", host.name);
    }
    Ok(())
}

/// Serves until `stop` is set.
fn serve_loop(
    server: &mut ServerStack<TapDevice>,
    fd: std::os::unix::io::RawFd,
    opts: &ServeOptions,
    host: &HostSide,
    stop: &AtomicBool,
    clock: &dyn Clock,
) -> Result<(), String> {
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
    if let Some(holds) = opts.step {
        print!(
            "{}",
            crate::step::banner(
                holds,
                &host.name,
                (opts.addr4.address(), opts.addr6.address()),
                SERVER_MAC
            )
        );
    }
    let _ = std::io::stdout().flush();

    while !stop.load(Ordering::Relaxed) {
        server.step(clock);
        let delay = server.poll_delay(clock.now());
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
