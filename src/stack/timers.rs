//! When each connection next needs the stack's attention.
//!
//! A connection's wake-up time is the earliest of smoltcp's own timers for its socket
//! (retransmission, delayed ACK, keep-alive, TIME-WAIT) and the stack's (a CLOSE-WAIT
//! linger, the FIN-WAIT-2 and half-open limits). Times enter with [`Timers::set`] after
//! every look at a connection; [`Timers::due`] hands out the connections whose time has
//! come, earliest first, and [`Timers::next`] tells the event loop how long it may sleep.
//! Every operation is O(log n) in the number of connections: nothing scans them all.

use smoltcp::time::Instant;
use std::collections::BTreeSet;

/// The wake-up times, one per connection at most.
#[derive(Debug, Default)]
pub struct Timers {
    queue: BTreeSet<(Instant, u32)>,
}

impl Timers {
    /// Replaces connection `id`'s wake-up time `old` (as last set) by `new`.
    pub fn set(&mut self, id: u32, old: Option<Instant>, new: Option<Instant>) {
        if old == new {
            return;
        }
        if let Some(t) = old {
            self.queue.remove(&(t, id));
        }
        if let Some(t) = new {
            self.queue.insert((t, id));
        }
    }

    /// Removes and returns the connections due at `now` (their times are cleared: the
    /// caller sets new ones after looking at them).
    pub fn due(&mut self, now: Instant, out: &mut Vec<u32>) {
        while let Some(&(t, id)) = self.queue.first() {
            if t > now {
                break;
            }
            self.queue.pop_first();
            out.push(id);
        }
    }

    /// The earliest wake-up time, if any.
    pub fn next(&self) -> Option<Instant> {
        self.queue.first().map(|&(t, _)| t)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_replaced_not_duplicated() {
        let mut t = Timers::default();
        let at = Instant::from_millis;
        t.set(1, None, Some(at(30)));
        t.set(2, None, Some(at(10)));
        t.set(1, Some(at(30)), Some(at(20)));
        assert_eq!(t.len(), 2);
        assert_eq!(t.next(), Some(at(10)));
        let mut due = Vec::new();
        t.due(at(25), &mut due);
        assert_eq!(due, [2, 1]);
        assert!(t.is_empty());
        t.set(3, None, Some(at(5)));
        t.set(3, Some(at(5)), None);
        assert!(t.is_empty());
    }
}
