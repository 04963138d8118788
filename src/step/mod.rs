//! Step mode (`serve --step`): hold the world still between two frames, at a reader's pace.
//!
//! [`Hold`] is the waiting: the live trace (`crate::live`), a frame observer at the
//! capture point, prints a frame's listing line and then, if the frame is one that waits
//! ([`Holds`]: by default the TCP segments of the served port, with `--step-all`
//! everything), asks the user ([`keys`]): Enter, space or `n` releases it, `c` runs freely
//! from here on, `q` releases it and stops the server. End of input counts as `c`.
//! A received frame waits before smoltcp gets it; a sent one once it is on the tap (the
//! capture records it there, with its wire time), before the stack goes on — so the kernel
//! has our SYN-ACK while the user reads it, and its SYN timer stops. What the kernel sends
//! meanwhile queues in the tap and is read, and stamped, when the stack goes on.
//!
//! Our stack's timers are frozen while it waits: [`SteppedClock`] is the real clock minus
//! the time spent waiting, and it is the only clock the stack is given. The kernel's
//! timers are not ours to freeze: [`banner`] says so, and what to do about it.

pub mod keys;

use crate::clock::{Clock, RealClock};
use crate::device::frame::tcp_span;
use keys::{Answer, Keyboard};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv6Address, TcpPacket};
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The real clock with the time spent waiting at a step taken out.
pub struct SteppedClock {
    real: RealClock,
    paused: Rc<Cell<Duration>>,
}

impl SteppedClock {
    pub fn new(paused: Rc<Cell<Duration>>) -> Self {
        SteppedClock {
            real: RealClock::new(),
            paused,
        }
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Instant {
        self.real.now() - self.paused.get()
    }
}

/// Which frames wait for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Every frame: ARP, IPv6 neighbour discovery and router solicitations, … (`--step-all`).
    Everything,
    /// The TCP segments to or from this port (the served one): the connection itself.
    TcpPort(u16),
}

impl Holds {
    /// True if `frame` (Ethernet) waits.
    pub fn holds(&self, frame: &[u8]) -> bool {
        match *self {
            Holds::Everything => true,
            Holds::TcpPort(port) => tcp_span(frame)
                .and_then(|s| TcpPacket::new_checked(&frame[s.range]).ok())
                .is_some_and(|t| t.src_port() == port || t.dst_port() == port),
        }
    }
}

/// The lines `serve --step` prints before it starts: what waits, the keys, and the
/// kernel's timers that keep running (with what to do about them). `tap`, the addresses
/// and `mac` are ours, for the neighbour entries the kernel can be given.
pub fn banner(
    holds: Holds,
    tap: &str,
    (addr4, addr6): (Ipv4Address, Ipv6Address),
    mac: EthernetAddress,
) -> String {
    let what = match holds {
        Holds::Everything => "every frame waits".to_string(),
        Holds::TcpPort(p) => format!(
            "every TCP segment of port {p} waits (ARP, IPv6 neighbour discovery and the rest \
             pass; --step-all holds them too)"
        ),
    };
    // iproute2 wants the MAC with colons (smoltcp prints dashes).
    let m = mac.0;
    let mac = format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    let neigh = format!("ip neigh replace {addr4} lladdr {mac} dev {tap} nud permanent");
    let neigh6 = format!("ip -6 neigh replace {addr6} lladdr {mac} dev {tap} nud permanent");
    let mut s = format!(
        "step mode: {what} after its line is shown, before it goes on.\n\
         \x20 keys: Enter, space or n: next frame; c: run freely; q: quit\n\
         \x20 our timers are frozen while a frame waits; the kernel's are not:\n\
         \x20 - a SYN or a request of the kernel's held for over ~1 s is sent again (after 1, \
         3, 7 s …); the copies show as retransmissions: read on, or press c\n"
    );
    match holds {
        Holds::Everything => s.push_str(&format!(
            "\x20 - the kernel gives up on ARP after ~3 s (three tries, 1 s apart) and the \
             connection fails: press c through the ARP, or first give the kernel our MAC, as \
             root in a second terminal: {neigh}\n\
             \x20   (IPv6 neighbour discovery likewise: {neigh6})\n"
        )),
        Holds::TcpPort(_) => s.push_str(
            "\x20 - ARP does not wait, so the kernel's ~3 s ARP timeout cannot run out\n",
        ),
    }
    s
}

/// The waiting part of step mode: after a frame's line is shown, wait for the user.
pub struct Hold {
    paused: Rc<Cell<Duration>>,
    stop: Arc<AtomicBool>,
    stepping: bool,
    holds: Holds,
    keyboard: Keyboard,
}

impl Hold {
    /// Time spent waiting is added to `paused`; `q` (or Ctrl-C) sets `stop`.
    pub fn new(
        keyboard: Keyboard,
        holds: Holds,
        paused: Rc<Cell<Duration>>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Hold {
            paused,
            stop,
            stepping: true,
            holds,
            keyboard,
        }
    }

    /// True if `frame` is to wait: still stepping, and one of the frames that wait.
    pub fn wants(&self, frame: &[u8]) -> bool {
        self.stepping && self.holds.holds(frame)
    }

    /// Prompts and waits for the user's answer about the frame just shown.
    pub fn hold(&mut self) {
        if !self.stepping {
            return;
        }
        // Keys typed while earlier frames were on screen do not answer this prompt.
        self.keyboard.discard_typed();
        println!("  [Enter, space or n] next  [c] run freely  [q] quit");
        let _ = std::io::stdout().flush();
        let shown = std::time::Instant::now();
        let answer = self.keyboard.ask(shown, &self.stop, &mut || {
            println!("  keys: Enter, space or n: next frame; c: run freely; q: quit");
            let _ = std::io::stdout().flush();
        });
        self.paused
            .set(self.paused.get() + Duration::from_micros(shown.elapsed().as_micros() as u64));
        let said = match answer {
            Some(Answer::Next) => None,
            Some(Answer::Continue) => Some("running freely"),
            Some(Answer::Quit) => {
                self.stop.store(true, Ordering::Relaxed);
                Some("quitting")
            }
            None => Some("(end of input: running freely)"),
        };
        if let Some(said) = said {
            println!("{said}");
            self.stepping = false;
            self.keyboard.release();
        }
        let _ = std::io::stdout().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{frame, segment};
    use smoltcp::wire::TcpControl;
    use std::io::Cursor;

    fn hold(script: &str) -> (Hold, Arc<AtomicBool>) {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(false));
        let kb = Keyboard::keys(Cursor::new(script.as_bytes().to_vec()));
        let h = Hold::new(kb, Holds::Everything, paused, stop.clone());
        (h, stop)
    }

    /// Lets the reader thread read its whole script, so that all of it is type-ahead.
    fn settle() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    #[test]
    fn keys_typed_ahead_release_nothing_and_end_of_input_runs_freely() {
        let (mut h, stop) = hold("nnnq");
        settle();
        // All four keys came before the prompt: none answers it; the end of the input
        // does, and stepping ends without stopping the server.
        h.hold();
        assert!(!h.stepping && !stop.load(Ordering::Relaxed));
        h.hold(); // no wait any more
    }

    #[test]
    fn ctrl_c_while_waiting_counts_as_quit() {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(true));
        // Input that never ends: a reader blocked on a pipe nobody writes.
        let (reader, _writer) = std::io::pipe().unwrap();
        let kb = Keyboard::keys(std::io::BufReader::new(reader));
        let mut h = Hold::new(kb, Holds::Everything, paused, stop.clone());
        h.hold();
        assert!(!h.stepping && stop.load(Ordering::Relaxed));
    }

    #[test]
    fn keys_pressed_after_the_prompt_answer_it() {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(false));
        let (reader, mut writer) = std::io::pipe().unwrap();
        let mut h = Hold::new(
            Keyboard::keys(std::io::BufReader::new(reader)),
            Holds::Everything,
            paused,
            stop.clone(),
        );
        let typist = std::thread::spawn(move || {
            for k in [b"n", b"c"] {
                std::thread::sleep(std::time::Duration::from_millis(150));
                writer.write_all(k).unwrap();
            }
        });
        h.hold(); // n
        assert!(h.stepping);
        h.hold(); // c
        assert!(!h.stepping && !stop.load(Ordering::Relaxed));
        typist.join().unwrap();
    }

    #[test]
    fn by_default_only_the_served_ports_tcp_waits() {
        let port80 = frame(false, &segment(40000, 80, TcpControl::Syn, 7, None));
        let reply = frame(true, &segment(80, 40000, TcpControl::Syn, 9, Some(8)));
        let other = frame(false, &segment(40000, 8080, TcpControl::Syn, 7, None));
        let mut arp = port80.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let h = Holds::TcpPort(80);
        assert!(h.holds(&port80) && h.holds(&reply));
        assert!(!h.holds(&other) && !h.holds(&arp));
        assert!(Holds::Everything.holds(&arp));
    }

    #[test]
    fn the_banner_says_what_to_do_about_the_kernels_timers() {
        let mac = crate::network::SERVER_MAC;
        let addr = (crate::network::SERVER_V4, crate::network::SERVER_V6);
        let b = banner(Holds::Everything, "tap0", addr, mac);
        assert!(b.contains("gives up on ARP after ~3 s"), "{b}");
        assert!(
            b.contains(
                "ip neigh replace 192.168.69.1 lladdr 02:00:00:00:00:01 dev tap0 nud permanent"
            ),
            "{b}"
        );
        let b = banner(Holds::TcpPort(80), "tap0", addr, mac);
        assert!(
            b.contains("TCP segment of port 80") && b.contains("SYN"),
            "{b}"
        );
    }

    #[test]
    fn time_spent_waiting_is_taken_out_of_the_clock() {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let clock = SteppedClock::new(paused.clone());
        let before = clock.now();
        paused.set(Duration::from_secs(3));
        let after = clock.now();
        assert!(after < before, "3 s of waiting are not stack time");
    }
}
