//! Time, passed in — never read behind the caller's back.
//!
//! Every layer that needs the time (smoltcp's timers, the HTTP Date header, keep-alive
//! and request timeouts) receives an [`Instant`] from its caller. The caller gets it from
//! one [`Clock`]. That single rule is what lets a later virtual clock make runs
//! byte-reproducible and lets a step mode hold the world still between two frames.
//!
//! Instants are microseconds since the Unix epoch, so the same value serves smoltcp's
//! timers and the wall-clock dates HTTP needs ([`to_system_time`]).

use smoltcp::time::Instant;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time for the stacks.
pub trait Clock {
    fn now(&self) -> Instant;
}

/// The real clock: monotonic (it never jumps back when the system clock is set) but
/// anchored at the wall time at which it was created, so its instants read as Unix time.
pub struct RealClock {
    start_wall: Duration,
    start_mono: std::time::Instant,
}

impl RealClock {
    pub fn new() -> Self {
        RealClock {
            start_wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            start_mono: std::time::Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Instant {
        let t = self.start_wall + self.start_mono.elapsed();
        Instant::from_micros(t.as_micros() as i64)
    }
}

/// The lab's clock: time stands still until the lab moves it, and it only ever jumps to
/// the next event — a run takes CPU time only, and the same run gives the same times.
pub struct VirtualClock {
    now: std::cell::Cell<Instant>,
}

/// Where every virtual clock starts: 2026-01-01T00:00:00Z, so that HTTP dates and pcap
/// timestamps look like real ones and are the same on every run.
pub const VIRTUAL_EPOCH: Instant = Instant::from_micros_const(1_767_225_600_000_000);

impl VirtualClock {
    pub fn new(start: Instant) -> Self {
        VirtualClock {
            now: std::cell::Cell::new(start),
        }
    }

    /// Moves time forward to `t` (never back).
    pub fn advance_to(&self, t: Instant) {
        if t > self.now.get() {
            self.now.set(t);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.now.get()
    }
}

/// The wall time an instant stands for (instants count from the Unix epoch).
pub fn to_system_time(i: Instant) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(i.total_micros().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_clock_is_unix_time_and_monotonic() {
        let c = RealClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let diff = (wall.as_micros() as i64 - a.total_micros()).abs();
        assert!(diff < 5_000_000, "clock is {diff} us away from wall time");
    }

    #[test]
    fn virtual_clock_only_moves_forward_when_told() {
        let c = VirtualClock::new(VIRTUAL_EPOCH);
        assert_eq!(c.now(), VIRTUAL_EPOCH);
        c.advance_to(VIRTUAL_EPOCH + smoltcp::time::Duration::from_millis(5));
        c.advance_to(VIRTUAL_EPOCH); // never back
        assert_eq!(
            c.now(),
            VIRTUAL_EPOCH + smoltcp::time::Duration::from_millis(5)
        );
        assert_eq!(
            crate::http::format_http_date(to_system_time(VIRTUAL_EPOCH)),
            "Thu, 01 Jan 2026 00:00:00 GMT"
        );
    }
}
