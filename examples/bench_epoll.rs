//! Benchmark baseline: the kernel's TCP serving the same answers as the bare smoltcp
//! server (`scripts/bench.sh` runs it in a namespace of its own, across a veth pair).
//!
//! One thread, non-blocking sockets, level-triggered epoll: the listener accepts until
//! it would block; each connection reads while its [`bench_common::conn::Conn`] wants
//! input, queues the ready-made responses, and writes until the socket would block, then
//! waits for EPOLLOUT. Keep-alive unless the request asks to close. TCP_NODELAY, as a web
//! server sets it. The responses come from memory ([`bench_common::site`]).
//!
//! usage: bench_epoll --listen 192.168.70.1:8080 --dir DIR

#[path = "bench_common/mod.rs"]
mod bench_common;

use bench_common::conn::Conn;
use bench_common::site::Site;
use clap::Parser;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::PathBuf;

/// The listener's epoll token; connections use their slot index.
const LISTENER: u64 = u64::MAX;
/// Accept queue length: wrk opens hundreds of connections at once, and the 128 that std
/// asks for would drop SYNs (and cost a one-second retransmission) at 256.
const BACKLOG: i32 = 4096;

#[derive(Parser)]
struct Args {
    /// Address and port to listen on
    #[arg(long)]
    listen: SocketAddr,
    /// Directory whose files are served from memory
    #[arg(long)]
    dir: PathBuf,
}

/// The epoll instance; closed on drop.
struct Epoll(RawFd);

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll(fd))
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.0, op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Fills `events` and returns how many are ready.
    fn wait(&self, events: &mut [libc::epoll_event]) -> io::Result<usize> {
        // SAFETY: the kernel writes at most `events.len()` entries into `events`.
        let n = unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), events.len() as i32, 500) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: we own this fd and close it once.
        unsafe { libc::close(self.0) };
    }
}

/// One accepted connection.
struct Client {
    stream: TcpStream,
    conn: Conn,
    /// The peer closed its side.
    eof: bool,
    /// The epoll events we last registered for.
    interest: u32,
}

impl Client {
    /// What to wait for next: input while the connection wants it, output while some is queued.
    fn wanted(&self) -> u32 {
        let mut ev = 0;
        if !self.eof && self.conn.wants_input() {
            ev |= libc::EPOLLIN as u32;
        }
        if !self.conn.pending().is_empty() {
            ev |= libc::EPOLLOUT as u32;
        }
        ev
    }
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("bench_epoll: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let site = Site::load(&args.dir)?;
    let listener = TcpListener::bind(args.listen).map_err(|e| format!("{}: {e}", args.listen))?;
    // SAFETY: listen() on our own listening socket only changes its backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } < 0 {
        return Err(format!("listen: {}", io::Error::last_os_error()));
    }
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let ep = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
    ep.ctl(
        libc::EPOLL_CTL_ADD,
        listener.as_raw_fd(),
        libc::EPOLLIN as u32,
        LISTENER,
    )
    .map_err(|e| format!("epoll_ctl: {e}"))?;
    println!("bench_epoll: serving http://{}/", args.listen);

    let mut slots: Vec<Option<Client>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = ep
            .wait(&mut events)
            .map_err(|e| format!("epoll_wait: {e}"))?;
        for ev in &events[..n] {
            let token = ev.u64;
            if token == LISTENER {
                accept_all(&listener, &ep, &mut slots, &mut free);
                continue;
            }
            let i = token as usize;
            let Some(c) = slots.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            let alive = service(c, &site, &mut buf);
            let want = c.wanted();
            if alive && want != c.interest {
                if let Err(e) = ep.ctl(libc::EPOLL_CTL_MOD, c.stream.as_raw_fd(), want, token) {
                    eprintln!("bench_epoll: epoll_ctl: {e}");
                }
                c.interest = want;
            }
            if !alive {
                // Dropping the stream closes the fd, which also leaves the epoll set.
                slots[i] = None;
                free.push(i);
            }
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    ep: &Epoll,
    slots: &mut Vec<Option<Client>>,
    free: &mut Vec<usize>,
) {
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // EMFILE and the like: the connection stays queued; report and retry later.
                eprintln!("bench_epoll: accept: {e}");
                return;
            }
        };
        if stream.set_nonblocking(true).is_err() || stream.set_nodelay(true).is_err() {
            continue;
        }
        let i = free.pop().unwrap_or_else(|| {
            slots.push(None);
            slots.len() - 1
        });
        let interest = libc::EPOLLIN as u32;
        if let Err(e) = ep.ctl(libc::EPOLL_CTL_ADD, stream.as_raw_fd(), interest, i as u64) {
            eprintln!("bench_epoll: epoll_ctl add: {e}");
            free.push(i);
            continue;
        }
        slots[i] = Some(Client {
            stream,
            conn: Conn::new(),
            eof: false,
            interest,
        });
    }
}

/// Reads what there is, answers it, writes what the socket takes. False: close it.
fn service(c: &mut Client, site: &Site, buf: &mut [u8]) -> bool {
    c.conn.received(&[], site);
    while !c.eof && c.conn.wants_input() {
        match c.stream.read(buf) {
            Ok(0) => c.eof = true,
            Ok(n) => c.conn.received(&buf[..n], site),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    while !c.conn.pending().is_empty() {
        match c.stream.write(c.conn.pending()) {
            Ok(n) => c.conn.sent(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    !(c.conn.finished() || (c.eof && c.conn.idle()))
}
