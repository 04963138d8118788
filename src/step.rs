//! Step mode (`serve --step`): hold the world still between two frames.
//!
//! [`Hold`] is the waiting; [`Stepper`] pairs it with a line per frame as a
//! [`FrameObserver`] at the capture point (the live trace, `crate::live`, uses [`Hold`]
//! after printing its own listing line). Either way the frame is held, just before it is
//! delivered — a received frame before smoltcp gets it, a transmitted one
//! before it reaches the tap. It prints the frame's listing line and waits for a line on
//! its input: an empty line (Enter) releases this frame, `c` runs freely from here on,
//! `q` releases the frame and asks the server to stop. End of input counts as `c`.
//!
//! Our stack's timers are frozen while it waits: [`SteppedClock`] is the real clock minus
//! the time spent waiting, and it is the only clock the stack is given. The kernel's
//! timers are not ours to freeze: hold a frame long enough and the kernel retransmits.

use crate::clock::{Clock, RealClock};
use crate::device::capture::FrameObserver;
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

    /// Still holding every frame (not yet `c`, `q` or end of input)?
    pub fn stepping(&self) -> bool {
        self.stepping
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

/// Shows each frame (as `describe` writes it) and holds it.
pub struct Stepper<F: FnMut(Instant, &[u8]) -> String> {
    describe: F,
    hold: Hold,
}

impl<F: FnMut(Instant, &[u8]) -> String> Stepper<F> {
    pub fn new(describe: F, hold: Hold) -> Self {
        Stepper { describe, hold }
    }
}

impl<F: FnMut(Instant, &[u8]) -> String> FrameObserver for Stepper<F> {
    fn frame(&mut self, time: Instant, frame: &[u8]) {
        if !self.hold.stepping() {
            return;
        }
        println!("{}", (self.describe)(time, frame));
        self.hold.hold();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    type TestStepper = Stepper<fn(Instant, &[u8]) -> String>;

    fn describe(_: Instant, f: &[u8]) -> String {
        format!("frame of {} bytes", f.len())
    }

    fn stepper(script: &str) -> (TestStepper, Arc<AtomicBool>) {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(false));
        let kb = Keyboard::spawn(Cursor::new(script.to_string()));
        let hold = Hold::new(kb, paused, stop.clone());
        let s = Stepper::new(describe as fn(Instant, &[u8]) -> String, hold);
        (s, stop)
    }

    #[test]
    fn enter_releases_one_frame_c_runs_freely() {
        let (mut s, stop) = stepper("\nnonsense\n\nc\n");
        s.frame(Instant::ZERO, &[0; 10]); // Enter
        assert!(s.hold.stepping());
        s.frame(Instant::ZERO, &[0; 10]); // nonsense is asked again, then Enter
        assert!(s.hold.stepping());
        s.frame(Instant::ZERO, &[0; 10]); // c
        assert!(!s.hold.stepping() && !stop.load(Ordering::Relaxed));
        s.frame(Instant::ZERO, &[0; 10]); // no wait any more
    }

    #[test]
    fn q_stops_the_server_and_end_of_input_runs_freely() {
        let (mut s, stop) = stepper("q\n");
        s.frame(Instant::ZERO, &[]);
        assert!(stop.load(Ordering::Relaxed) && !s.hold.stepping());
        let (mut s, stop) = stepper("");
        s.frame(Instant::ZERO, &[]);
        assert!(!stop.load(Ordering::Relaxed) && !s.hold.stepping());
    }

    #[test]
    fn ctrl_c_while_waiting_counts_as_quit() {
        let paused = Rc::new(Cell::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(true));
        // A keyboard that never answers (its writer stays open).
        let (_tx, rx) = sync_channel(1);
        let kb = Keyboard { lines: rx };
        let mut s = Stepper::new(
            |_, _: &[u8]| String::new(),
            Hold::new(kb, paused, stop.clone()),
        );
        s.frame(Instant::ZERO, &[]);
        assert!(!s.hold.stepping());
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
