//! Step mode (`serve --step`): hold the world still between two frames.
//!
//! [`Hold`] is the waiting: the live trace (`crate::live`), a frame observer at the
//! capture point, prints a frame's listing line and then holds it, just before it is
//! delivered — a received frame before smoltcp gets it, a transmitted one before it
//! reaches the tap. It waits for a line on its input: an empty line (Enter) releases
//! this frame, `c` runs freely from here on, `q` releases the frame and asks the server
//! to stop. End of input counts as `c`.
//!
//! Our stack's timers are frozen while it waits: [`SteppedClock`] is the real clock minus
//! the time spent waiting, and it is the only clock the stack is given. The kernel's
//! timers are not ours to freeze: hold a frame long enough and the kernel retransmits.

use crate::clock::{Clock, RealClock};
use smoltcp::time::{Duration, Instant};
use std::cell::Cell;
use std::io::{BufRead, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};

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

/// What the user answered at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Release,
    Continue,
    Quit,
}

/// Lines typed by the user, read by a thread of their own so that waiting for one can be
/// interrupted (Ctrl-C) without any unsafe select on stdin. None: end of input.
pub struct Keyboard {
    lines: Receiver<Option<String>>,
}

impl Keyboard {
    /// Reads from `input` (stdin, or a script in tests) on a background thread.
    pub fn spawn(input: impl BufRead + Send + 'static) -> Keyboard {
        let (tx, rx) = sync_channel(16);
        std::thread::spawn(move || {
            for line in input.lines() {
                if tx.send(line.ok()).is_err() {
                    return;
                }
            }
            let _ = tx.send(None);
        });
        Keyboard { lines: rx }
    }

    /// One answer: Enter, `c`, `q` (anything else is asked again). None at end of input.
    /// `stop` set while waiting (Ctrl-C) counts as `q`.
    fn ask(&mut self, stop: &AtomicBool) -> Option<Answer> {
        loop {
            let line = loop {
                if stop.load(Ordering::Relaxed) {
                    return Some(Answer::Quit);
                }
                match self
                    .lines
                    .recv_timeout(std::time::Duration::from_millis(200))
                {
                    Ok(Some(l)) => break l,
                    Ok(None) | Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => {}
                }
            };
            match line.trim() {
                "" => return Some(Answer::Release),
                "c" | "C" => return Some(Answer::Continue),
                "q" | "Q" => return Some(Answer::Quit),
                _ => {
                    print!("  Enter: release this frame, c: run freely, q: quit > ");
                    let _ = std::io::stdout().flush();
                }
            }
        }
    }
}

/// The waiting part of step mode: after a frame's line is shown, wait for the user.
pub struct Hold {
    paused: Rc<Cell<Duration>>,
    stop: Arc<AtomicBool>,
    stepping: bool,
    keyboard: Keyboard,
}

impl Hold {
    /// Time spent waiting is added to `paused`; `q` (or Ctrl-C) sets `stop`.
    pub fn new(keyboard: Keyboard, paused: Rc<Cell<Duration>>, stop: Arc<AtomicBool>) -> Self {
        Hold {
            paused,
            stop,
            stepping: true,
            keyboard,
        }
    }

    /// Prompts and waits for the user's answer about the frame just shown.
    pub fn hold(&mut self) {
        if !self.stepping {
            return;
        }
        println!("  [Enter] release  [c] run freely  [q] quit");
        let _ = std::io::stdout().flush();
        let waited = std::time::Instant::now();
        let answer = self.keyboard.ask(&self.stop);
        self.paused
            .set(self.paused.get() + Duration::from_micros(waited.elapsed().as_micros() as u64));
        match answer {
            Some(Answer::Release) => {}
            Some(Answer::Continue) => {
                println!("running freely");
                self.stepping = false;
            }
            Some(Answer::Quit) => {
                println!("quitting");
                self.stepping = false;
                self.stop.store(true, Ordering::Relaxed);
            }
            None => {
                println!("(end of input: running freely)");
                self.stepping = false;
            }
        }
        let _ = std::io::stdout().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn hold(script: &str) -> (Hold, Arc<AtomicBool>) {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(false));
        let kb = Keyboard::spawn(Cursor::new(script.to_string()));
        (Hold::new(kb, paused, stop.clone()), stop)
    }

    #[test]
    fn enter_releases_one_frame_c_runs_freely() {
        let (mut h, stop) = hold("\nnonsense\n\nc\n");
        h.hold(); // Enter
        assert!(h.stepping);
        h.hold(); // nonsense is asked again, then Enter
        assert!(h.stepping);
        h.hold(); // c
        assert!(!h.stepping && !stop.load(Ordering::Relaxed));
        h.hold(); // no wait any more
    }

    #[test]
    fn q_stops_the_server_and_end_of_input_runs_freely() {
        let (mut h, stop) = hold("q\n");
        h.hold();
        assert!(stop.load(Ordering::Relaxed) && !h.stepping);
        let (mut h, stop) = hold("");
        h.hold();
        assert!(!stop.load(Ordering::Relaxed) && !h.stepping);
    }

    #[test]
    fn ctrl_c_while_waiting_counts_as_quit() {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(true));
        // A keyboard that never answers (its writer stays open).
        let (_tx, rx) = sync_channel(1);
        let kb = Keyboard { lines: rx };
        let mut h = Hold::new(kb, paused, stop.clone());
        h.hold();
        assert!(!h.stepping);
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
