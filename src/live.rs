//! The live listing of `serve --trace` and `serve --step`: what `taplab trace` prints
//! for a file, printed as the frames pass, with the TCP states of both ends in between.
//!
//! [`LiveTrace`] sees every frame at the capture point (a [`FrameObserver`]): it prints
//! the frame's Wireshark-style line from [`Analyzer`], and the state changes of the
//! *client* that [`StateTracker`] infers from it (marked as inferred). Our own socket's
//! state changes are not inferred: the server reports smoltcp's real states through
//! [`StateObserver`], and they are printed as they happen.
//! Both kinds are one [`StateChange`]; only the words differ. With a [`Hold`] (step
//! mode) each frame the hold wants (by default the served port's TCP segments) waits for
//! the user after its line.

use crate::device::capture::FrameObserver;
use crate::server::StateObserver;
use crate::step::Hold;
use crate::tcp::{Side, StateChange, endpoint_text};
use crate::trace::{Analyzer, LinkType, ListingOptions, Row, StateTracker};
use smoltcp::time::Instant;
use std::io::Write;

pub struct LiveTrace {
    analyzer: Analyzer,
    tracker: StateTracker,
    hold: Option<Hold>,
    out: Box<dyn Write>,
    header_done: bool,
}

impl LiveTrace {
    /// Prints to `out`; holds the frames `hold` wants, when given (step mode).
    pub fn new(out: Box<dyn Write>, hold: Option<Hold>) -> Self {
        LiveTrace {
            analyzer: Analyzer::new(ListingOptions::default()),
            tracker: StateTracker::new(),
            hold,
            out,
            header_done: false,
        }
    }

    fn header(&mut self) {
        if !self.header_done {
            self.header_done = true;
            let _ = writeln!(self.out, "{}", Row::header());
        }
    }
}

impl FrameObserver for LiveTrace {
    fn frame(&mut self, time: Instant, frame: &[u8]) {
        self.header();
        let row = self
            .analyzer
            .push(time.total_micros(), LinkType::Ethernet, frame);
        let _ = writeln!(self.out, "{}", row.line());
        // Our side's states come from the socket itself (see StateObserver); the
        // client's can only be inferred from what it sends and receives.
        for c in self
            .tracker
            .push(&row)
            .iter()
            .filter(|c| c.side == Side::Client)
        {
            let cause = c.inferred.map_or("", |i| i.cause.text());
            let _ = writeln!(
                self.out,
                "{:>19} client {}: {} → {} (inferred: {cause})",
                "~",
                endpoint_text(c.local),
                c.from,
                c.to
            );
        }
        let _ = self.out.flush();
        if let Some(h) = self.hold.as_mut().filter(|h| h.wants(frame)) {
            h.hold();
        }
    }
}

impl StateObserver for LiveTrace {
    fn state(&mut self, c: &StateChange) {
        self.header();
        let _ = writeln!(
            self.out,
            "{:>19} server {} (with {}): {} → {} (socket state)",
            "~",
            endpoint_text(c.local),
            endpoint_text(c.remote),
            c.from,
            c.to
        );
        let _ = self.out.flush();
    }

    fn guard(&mut self, a: &crate::stack::GuardAction) {
        self.header();
        let _ = writeln!(
            self.out,
            "{:>19} guard  {} (with {}): {}",
            "~",
            endpoint_text(a.local),
            endpoint_text(a.remote),
            a.why.text()
        );
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{frame, segment};
    use smoltcp::wire::TcpControl;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn prints_each_frame_and_both_ends_states() {
        let buf = Buf::default();
        let mut live = LiveTrace::new(Box::new(buf.clone()), None);
        let t = Instant::from_millis(1_000);
        live.frame(
            t,
            &frame(false, &segment(40000, 80, TcpControl::Syn, 7, None)),
        );
        let ep = |s: &str| s.parse::<smoltcp::wire::IpEndpoint>().unwrap();
        live.state(&StateChange {
            time: t,
            side: Side::Server,
            local: ep("192.168.69.1:80"),
            remote: ep("192.168.69.100:40000"),
            from: crate::tcp::TcpState::Listen,
            to: crate::tcp::TcpState::SynReceived,
            frame: None,
            inferred: None,
        });
        live.frame(
            t,
            &frame(true, &segment(80, 40000, TcpControl::Syn, 99, Some(8))),
        );
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("No.") && lines[0].contains("Info"),
            "{text}"
        );
        assert!(lines[1].contains("40000 → 80 [SYN] Seq=0"), "{text}");
        assert!(
            lines[2].contains("client 192.168.69.100:40000: CLOSED → SYN_SENT (inferred"),
            "{text}"
        );
        assert!(lines[3].contains("server 192.168.69.1:80 (with 192.168.69.100:40000): LISTEN → SYN_RCVD (socket state)"), "{text}");
        assert!(
            lines[4].contains("80 → 40000 [SYN, ACK] Seq=0 Ack=1"),
            "{text}"
        );
        assert!(
            lines[5].contains("SYN_SENT → ESTABLISHED (inferred"),
            "{text}"
        );
        assert_eq!(lines.len(), 6, "{text}");
    }
}
