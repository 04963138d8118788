//! Benchmark baseline: a bare smoltcp 0.14 HTTP server on a tap, the least a smoltcp
//! server can do, to measure taplab against (`scripts/bench.sh` runs it).
//!
//! One `Interface` on smoltcp's own `TunTapInterface` (attached to an existing tap, which
//! the bench script makes and configures), a pool of listening TCP sockets, and the files
//! of `--dir` in memory ([`bench_common::site`]). Each loop: poll the interface, serve
//! every socket (read requests, queue the ready-made responses, keep-alive unless asked to
//! close), then sleep in `smoltcp::phy::wait` until a frame arrives or a timer is due.
//! A socket that has closed or reached TIME-WAIT listens again at once. No capture, no
//! knobs, no logging: whatever taplab spends beyond this is taplab's own cost.
//!
//! usage: bench_smoltcp --tap NAME --addr 192.168.71.1/24 --dir DIR [--port 80] [--conns 64]

#[path = "bench_common/mod.rs"]
mod bench_common;

use bench_common::conn::Conn;
use bench_common::site::Site;
use clap::Parser;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface, wait};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpCidr, Ipv4Cidr};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;

/// Receive buffer per socket: a 64 KiB window, as taplab's default.
const RX_BUFFER: usize = 64 * 1024;
/// Send buffer per socket, as taplab's.
const TX_BUFFER: usize = 256 * 1024;
/// Longest sleep: smoltcp's `wait` builds its timeval from whole milliseconds in the
/// microseconds field, which select() rejects from one second on.
const MAX_SLEEP: Duration = Duration::from_millis(500);

#[derive(Parser)]
struct Args {
    /// An existing tap device (the script creates it and sets the host side's address and MTU)
    #[arg(long)]
    tap: String,
    /// Our IPv4 address with prefix
    #[arg(long, value_parser = parse_cidr)]
    addr: Ipv4Cidr,
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Directory whose files are served from memory
    #[arg(long)]
    dir: PathBuf,
    /// Listening sockets in the pool (= most simultaneous connections)
    #[arg(long, default_value_t = 64)]
    conns: usize,
}

fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not an IPv4 address with prefix, e.g. 192.168.71.1/24"))
}

struct Slot {
    handle: SocketHandle,
    conn: Conn,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("bench_smoltcp: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let site = Site::load(&args.dir)?;
    let mut device = TunTapInterface::new(&args.tap, Medium::Ethernet)
        .map_err(|e| format!("opening tap {}: {e}", args.tap))?;
    let fd = device.as_raw_fd();
    let mut config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x02]).into());
    config.random_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut iface = Interface::new(config, &mut device, Instant::now());
    iface.update_ip_addrs(|a| {
        a.push(IpCidr::Ipv4(args.addr))
            .expect("a fresh interface has room for one address");
    });

    let mut sockets = SocketSet::new(Vec::with_capacity(args.conns));
    let mut slots = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RX_BUFFER]),
            tcp::SocketBuffer::new(vec![0; TX_BUFFER]),
        );
        // Responses go out whole and at once, as taplab sends them (its Nagle knob is off).
        s.set_nagle_enabled(false);
        s.listen(args.port).map_err(|e| format!("listen: {e}"))?;
        slots.push(Slot {
            handle: sockets.add(s),
            conn: Conn::new(),
        });
    }
    println!(
        "bench_smoltcp: serving http://{}:{}/ with {} sockets",
        args.addr.address(),
        args.port,
        args.conns
    );

    loop {
        let now = Instant::now();
        iface.poll(now, &mut device, &mut sockets);
        for slot in &mut slots {
            serve(
                sockets.get_mut::<tcp::Socket>(slot.handle),
                slot,
                &site,
                args.port,
            );
        }
        let delay = iface
            .poll_delay(Instant::now(), &sockets)
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP));
        wait(fd, Some(delay)).map_err(|e| format!("waiting on the tap: {e}"))?;
    }
}

/// One socket's turn: recycle it if its connection is over, else move bytes both ways.
fn serve(s: &mut tcp::Socket, slot: &mut Slot, site: &Site, port: u16) {
    if !s.is_open() {
        // Closed, or TIME-WAIT: listen() resets either without sending anything.
        slot.conn.reset();
        let _ = s.listen(port);
        return;
    }
    let conn = &mut slot.conn;
    conn.received(&[], site);
    while conn.wants_input() && s.can_recv() {
        let got = s.recv(|buf| {
            conn.received(buf, site);
            (buf.len(), buf.len())
        });
        if !matches!(got, Ok(n) if n > 0) {
            break;
        }
    }
    while !conn.pending().is_empty() && s.can_send() {
        match s.send_slice(conn.pending()) {
            Ok(n) if n > 0 => conn.sent(n),
            _ => break,
        }
    }
    // Close after a response that ends the connection, or once the peer has closed its
    // side and everything it asked for is on its way.
    if conn.finished() || (!s.may_recv() && s.may_send() && conn.idle()) {
        s.close();
    }
}
