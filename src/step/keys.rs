//! The user's answers at a step: single keys on a terminal, lines from a pipe.
//!
//! [`Keyboard::stdin`] puts a terminal into non-canonical mode without echo (rustix's
//! termios: one key is one answer, no Enter needed; Ctrl-C still interrupts and output is
//! left as it is) and restores it when the keyboard is released or dropped. When stdin is
//! not a terminal (a pipe, as in the tests) each line is one answer. A thread reads the
//! input, so that waiting for it can be interrupted (Ctrl-C sets the stop flag) without
//! a select on stdin.
//!
//! No type-ahead: each answer carries the time it was read, and [`Keyboard::ask`] takes
//! only answers read after its prompt was shown. Keys pressed while an earlier frame was
//! on screen, or a key held down, cannot release frames the user has not seen yet.
//! The end of the input (Ctrl-D, a closed pipe) is not an answer but a state: it counts
//! whenever it came.

use rustix::termios::{
    LocalModes, OptionalActions, QueueSelector, SpecialCodeIndex, Termios, tcflush, tcgetattr,
    tcsetattr,
};
use std::io::{BufRead, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// What the user answered at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Enter, space or `n`: release this frame; the next one waits.
    Next,
    /// `c`: run freely from here on.
    Continue,
    /// `q`: release this frame and stop the server.
    Quit,
}

/// One thing read from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Answer(Answer),
    /// A key or line that means nothing here.
    Unknown,
    /// End of input.
    End,
}

/// An input and when it was read.
#[derive(Debug)]
struct Typed {
    at: Instant,
    input: Input,
}

/// A single key.
fn key(b: u8) -> Input {
    match b {
        b'\n' | b'\r' | b' ' | b'n' | b'N' => Input::Answer(Answer::Next),
        b'c' | b'C' => Input::Answer(Answer::Continue),
        b'q' | b'Q' => Input::Answer(Answer::Quit),
        // Ctrl-D: as the end of a piped input.
        0x04 => Input::End,
        _ => Input::Unknown,
    }
}

/// A whole line.
fn line(l: &str) -> Input {
    match l.trim() {
        "" | "n" | "N" => Input::Answer(Answer::Next),
        "c" | "C" => Input::Answer(Answer::Continue),
        "q" | "Q" => Input::Answer(Answer::Quit),
        _ => Input::Unknown,
    }
}

/// The terminal in non-canonical mode without echo while this lives.
struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    fn enter() -> rustix::io::Result<RawTerminal> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin)?;
        let mut raw = saved.clone();
        // Only these two: ISIG stays (Ctrl-C stops the server), OPOST stays (println's
        // newlines still return the carriage).
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        tcsetattr(&stdin, OptionalActions::Now, &raw)?;
        Ok(RawTerminal { saved })
    }

    /// Drops what was typed but not read yet.
    fn discard_typed(&self) {
        let _ = tcflush(std::io::stdin(), QueueSelector::IFlush);
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// The user's answers, read by a thread of their own.
pub struct Keyboard {
    typed: Receiver<Typed>,
    ended: bool,
    terminal: Option<RawTerminal>,
}

impl Keyboard {
    /// Standard input: single keys on a terminal, else lines.
    pub fn stdin() -> Keyboard {
        let stdin = std::io::stdin();
        // Our buffer as large as std's own for stdin (8 KiB): each fill is then one read
        // of the terminal or pipe, which is what the times of the answers rely on.
        let reader = std::io::BufReader::with_capacity(8 * 1024, std::io::stdin());
        if stdin.is_terminal() {
            match RawTerminal::enter() {
                Ok(t) => {
                    let mut k = Keyboard::keys(reader);
                    k.terminal = Some(t);
                    return k;
                }
                Err(e) => log::warn!(
                    "cannot put the terminal into single-key mode ({e}): end each answer with Enter"
                ),
            }
        }
        Keyboard::lines(reader)
    }

    /// Each line of `input` is one answer.
    pub fn lines(input: impl BufRead + Send + 'static) -> Keyboard {
        let mut partial = Vec::new();
        Keyboard::spawn(input, move |chunk, out| {
            for &b in chunk {
                if b == b'\n' {
                    out.push(line(&String::from_utf8_lossy(&partial)));
                    partial.clear();
                } else {
                    partial.push(b);
                }
            }
        })
    }

    /// Each byte of `input` is one key.
    pub fn keys(input: impl BufRead + Send + 'static) -> Keyboard {
        Keyboard::spawn(input, |chunk, out| {
            out.extend(chunk.iter().map(|&b| key(b)))
        })
    }

    /// Reads `input` on a thread of its own; `split` turns each chunk read into inputs.
    /// Everything from one read carries the time that read returned: keys that arrived
    /// together were typed together, however late the thread hands them on.
    fn spawn(
        mut input: impl BufRead + Send + 'static,
        mut split: impl FnMut(&[u8], &mut Vec<Input>) + Send + 'static,
    ) -> Keyboard {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut inputs = Vec::new();
            loop {
                // All of a chunk is consumed below, so each fill_buf is one read.
                let chunk = match input.fill_buf() {
                    Ok([]) => break,
                    Ok(c) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let at = Instant::now();
                split(chunk, &mut inputs);
                let n = chunk.len();
                input.consume(n);
                for input in inputs.drain(..) {
                    if tx.send(Typed { at, input }).is_err() || input == Input::End {
                        return;
                    }
                }
            }
            let _ = tx.send(Typed {
                at: Instant::now(),
                input: Input::End,
            });
        });
        Keyboard {
            typed: rx,
            ended: false,
            terminal: None,
        }
    }

    /// Forgets what was typed so far: called just before a prompt is shown.
    pub fn discard_typed(&mut self) {
        if let Some(t) = &self.terminal {
            t.discard_typed();
        }
    }

    /// The answer to the prompt shown at `shown`; None at the end of the input. Anything
    /// read before `shown` is type-ahead and dropped. `stop` set while waiting (Ctrl-C)
    /// counts as `q`. `unknown` is called (once) when a key means nothing.
    pub fn ask(
        &mut self,
        shown: Instant,
        stop: &AtomicBool,
        unknown: &mut dyn FnMut(),
    ) -> Option<Answer> {
        let mut told = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Some(Answer::Quit);
            }
            if self.ended {
                return None;
            }
            let typed = match self.typed.recv_timeout(Duration::from_millis(200)) {
                Ok(t) => t,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => Typed {
                    at: Instant::now(),
                    input: Input::End,
                },
            };
            match typed.input {
                Input::End => self.ended = true,
                _ if typed.at < shown => {}
                Input::Answer(a) => return Some(a),
                Input::Unknown if !told => {
                    told = true;
                    unknown();
                }
                Input::Unknown => {}
            }
        }
    }

    /// Gives the terminal back as it was (stepping is over; the reader may stay blocked).
    pub fn release(&mut self) {
        self.terminal = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::mpsc::Sender;

    fn ask(k: &mut Keyboard, shown: Instant) -> Option<Answer> {
        k.ask(shown, &AtomicBool::new(false), &mut || {})
    }

    /// A keyboard whose inputs the test sends itself, with their times.
    fn scripted() -> (Sender<Typed>, Keyboard) {
        let (tx, rx) = channel();
        let k = Keyboard {
            typed: rx,
            ended: false,
            terminal: None,
        };
        (tx, k)
    }

    #[test]
    fn single_keys_answer_without_enter() {
        let mut k = Keyboard::keys(Cursor::new(b"n \nxcq".to_vec()));
        let t0 = Instant::now() - Duration::from_secs(1);
        assert_eq!(ask(&mut k, t0), Some(Answer::Next));
        assert_eq!(ask(&mut k, t0), Some(Answer::Next));
        assert_eq!(ask(&mut k, t0), Some(Answer::Next));
        let mut unknown = 0;
        let a = k.ask(t0, &AtomicBool::new(false), &mut || unknown += 1);
        assert_eq!(
            (a, unknown),
            (Some(Answer::Continue), 1),
            "x is asked again"
        );
        assert_eq!(ask(&mut k, t0), Some(Answer::Quit));
        assert_eq!(ask(&mut k, t0), None, "end of input");
        assert_eq!(ask(&mut k, t0), None, "and it stays ended");
    }

    #[test]
    fn lines_answer_on_a_pipe() {
        let mut k = Keyboard::lines(Cursor::new("\nn\n  \nnonsense\nc\nq\n".to_string()));
        let t0 = Instant::now() - Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(ask(&mut k, t0), Some(Answer::Next));
        }
        assert_eq!(ask(&mut k, t0), Some(Answer::Continue));
        assert_eq!(ask(&mut k, t0), Some(Answer::Quit));
        assert_eq!(ask(&mut k, t0), None);
    }

    #[test]
    fn keys_typed_before_the_prompt_release_nothing() {
        let (tx, mut k) = scripted();
        let early = Instant::now();
        let shown = early + Duration::from_millis(5);
        for input in [Input::Answer(Answer::Next), Input::Answer(Answer::Quit)] {
            tx.send(Typed { at: early, input }).unwrap();
        }
        tx.send(Typed {
            at: shown + Duration::from_millis(1),
            input: Input::Answer(Answer::Continue),
        })
        .unwrap();
        assert_eq!(ask(&mut k, shown), Some(Answer::Continue));
        // The end of the input counts whenever it came.
        tx.send(Typed {
            at: early,
            input: Input::End,
        })
        .unwrap();
        assert_eq!(ask(&mut k, shown + Duration::from_secs(1)), None);
    }

    #[test]
    fn answers_read_together_answer_one_prompt() {
        // Three Enters in one write (or three keys in one read) answer the prompt shown
        // before they came, and not the next one, however late the thread hands them on.
        for mut k in [
            Keyboard::lines(Cursor::new("\n\n\n".to_string())),
            Keyboard::keys(Cursor::new(b"nnn".to_vec())),
        ] {
            let first = Instant::now() - Duration::from_secs(1);
            assert_eq!(ask(&mut k, first), Some(Answer::Next));
            assert_eq!(ask(&mut k, Instant::now()), None, "only the end is left");
        }
    }

    #[test]
    fn ctrl_c_while_waiting_counts_as_quit() {
        let (_tx, mut k) = scripted();
        let stop = AtomicBool::new(true);
        assert_eq!(k.ask(Instant::now(), &stop, &mut || {}), Some(Answer::Quit));
    }
}
