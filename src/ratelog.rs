//! Bounded logging for what a peer can make happen as often as it likes: dropped SYNs,
//! refused frames, challenge ACKs.
//!
//! A [`RateLog`] is told each occurrence with a key and the time. The first occurrence
//! of a key in a [`WINDOW`] is logged at once, with its details; the others are only
//! counted, and when the window has passed the count is logged as one summary line
//! ("dropped 12345 SYNs in the last 1.0 s ..."). So whatever an attacker sends, each key
//! produces at most two lines per second. Time is passed in, as everywhere else.

use smoltcp::time::{Duration, Instant};

/// How long occurrences of one key are summed up before a summary line.
pub const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Key {
    name: &'static str,
    level: log::Level,
    /// The window's start and how many more occurrences came in it.
    since: Instant,
    more: u64,
}

/// Rate-limited log lines, per key.
#[derive(Debug, Default)]
pub struct RateLog {
    keys: Vec<Key>,
}

impl RateLog {
    /// One occurrence of `name` at `now`; `detail` makes its line when it is logged.
    pub fn note(
        &mut self,
        now: Instant,
        level: log::Level,
        name: &'static str,
        detail: impl FnOnce() -> String,
    ) {
        self.flush(now);
        match self.keys.iter_mut().find(|k| k.name == name) {
            Some(k) => k.more += 1,
            None => {
                log::log!(level, "{}", detail());
                self.keys.push(Key {
                    name,
                    level,
                    since: now,
                    more: 0,
                });
            }
        }
    }

    /// Writes the summaries of the windows that have passed.
    pub fn flush(&mut self, now: Instant) {
        self.keys.retain(|k| {
            if now < k.since + WINDOW {
                return true;
            }
            if k.more > 0 {
                log::log!(
                    k.level,
                    "{} {} more in the last {:.1} s",
                    k.name,
                    k.more,
                    (now - k.since).total_millis() as f64 / 1000.0
                );
            }
            false
        });
    }

    /// Occurrences counted but not yet logged, per key (for tests).
    #[cfg(test)]
    pub fn pending(&self, name: &str) -> u64 {
        self.keys
            .iter()
            .find(|k| k.name == name)
            .map_or(0, |k| k.more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_notes_makes_two_lines_a_second() {
        let mut r = RateLog::default();
        let t0 = Instant::from_secs(100);
        for i in 0..10_000 {
            r.note(
                t0 + Duration::from_micros(i * 10),
                log::Level::Warn,
                "syn",
                || "first".into(),
            );
        }
        // The first was logged; the other 9,999 wait for the summary line.
        assert_eq!(r.pending("syn"), 9_999);
        assert_eq!(r.keys.len(), 1);
        r.flush(t0 + WINDOW);
        assert!(r.keys.is_empty(), "the summary was written");
        r.note(t0 + WINDOW, log::Level::Warn, "syn", || "again".into());
        assert_eq!((r.keys.len(), r.pending("syn")), (1, 0), "a new window");
    }
}
