//! Axes: the range an axis shows, its tick step (1, 2 or 5 times a power of ten, in the
//! unit it is labelled in), that unit (chosen by the size of the values: bytes or kB,
//! bit/s or Mbit/s, s or ms) and how a tick's value is written.
//!
//! Values enter in base units (seconds, bytes, bits per second, milliseconds) with the
//! range of the data; an [`Axis`] leaves, which maps values to positions and writes the
//! tick labels. Everything here is arithmetic on the range, so the same data gives the
//! same axis, digit for digit.

/// What an axis measures, in base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Seconds (shown in ms when the whole range is under a second).
    Time,
    /// Bytes (B, kB, MB, GB: powers of 1000, as Wireshark's graphs).
    Bytes,
    /// Bits per second.
    Rate,
    /// Milliseconds.
    Millis,
}

impl Quantity {
    /// (divisor, unit) for values up to `max` in size.
    fn unit(self, span: f64, max: f64) -> (f64, &'static str) {
        let big = |units: [&'static str; 4]| {
            let m = max.abs();
            if m < 1e4 {
                (1.0, units[0])
            } else if m < 1e7 {
                (1e3, units[1])
            } else if m < 1e10 {
                (1e6, units[2])
            } else {
                (1e9, units[3])
            }
        };
        match self {
            Quantity::Time if span < 1.0 => (1e-3, "ms"),
            Quantity::Time => (1.0, "s"),
            Quantity::Bytes => big(["bytes", "kB", "MB", "GB"]),
            Quantity::Rate => big(["bit/s", "kbit/s", "Mbit/s", "Gbit/s"]),
            Quantity::Millis => (1.0, "ms"),
        }
    }

    /// Decimals for exact values of this quantity in data files.
    pub fn decimals(self) -> usize {
        match self {
            Quantity::Time => 6,
            Quantity::Bytes | Quantity::Rate => 0,
            Quantity::Millis => 3,
        }
    }
}

/// One axis, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The range shown, in base units (a whole number of steps).
    pub lo: f64,
    pub hi: f64,
    /// Tick step, in the display unit.
    step: f64,
    /// Display unit = base unit / `div`.
    div: f64,
    pub unit: &'static str,
    decimals: usize,
    /// Index of the first tick (lo = first · step · div).
    first: i64,
    count: usize,
}

/// The step of 1, 2 or 5 times a power of ten nearest to `raw` (on a log scale).
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let m = match raw / mag {
        f if f < 1.5 => 1.0,
        f if f < 3.0 => 2.0,
        f if f < 7.0 => 5.0,
        _ => 10.0,
    };
    m * mag
}

impl Axis {
    /// An axis over the data's range `lo..=hi` (from zero when `from_zero`), with about
    /// `ticks` ticks (at least 2).
    pub fn new(q: Quantity, lo: f64, hi: f64, from_zero: bool, ticks: usize) -> Axis {
        let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
            (lo, hi)
        } else {
            (0.0, 0.0)
        };
        if from_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        let (div, unit) = q.unit(hi - lo, lo.abs().max(hi.abs()));
        let (l, mut h) = (lo / div, hi / div);
        if h - l < 1e-9 {
            // One value: a range of one unit step around it.
            h = l + nice_step(l.abs().max(1.0) / 10.0);
        }
        let step = nice_step((h - l) / ticks.max(2) as f64);
        let first = (l / step + 1e-9).floor() as i64;
        let last = (h / step - 1e-9).ceil() as i64;
        // A handful of ticks by construction; the cap only guards against absurd input.
        let count = ((last - first).max(1) as usize + 1).min(1000);
        lo = first as f64 * step * div;
        hi = last.max(first + 1) as f64 * step * div;
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        Axis {
            lo,
            hi,
            step,
            div,
            unit,
            decimals,
            first,
            count,
        }
    }

    /// Where `v` falls, from 0 (lo) to 1 (hi).
    pub fn frac(&self, v: f64) -> f64 {
        (v - self.lo) / (self.hi - self.lo)
    }

    /// The ticks: (value in base units, label in the display unit).
    pub fn ticks(&self) -> Vec<(f64, String)> {
        (0..self.count)
            .map(|i| {
                let k = self.first + i as i64;
                let shown = k as f64 * self.step;
                (shown * self.div, self.write(shown))
            })
            .collect()
    }

    /// A value in the display unit, as ticks write it (`-0` never).
    fn write(&self, shown: f64) -> String {
        let s = format!("{:.*}", self.decimals, shown + 0.0);
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        }
    }

    /// The axis title: "Sequence number (kB)".
    pub fn title(&self, name: &str) -> String {
        format!("{name} ({})", self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<String> {
        a.ticks().into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(0.8), 1.0);
        assert_eq!(nice_step(1.3), 1.0);
        assert_eq!(nice_step(2.08), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(42.0), 50.0);
        assert_eq!(nice_step(0.0013), 0.001);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn units_follow_the_size_of_the_values() {
        let a = Axis::new(Quantity::Bytes, 0.0, 371_234.0, true, 8);
        assert_eq!(a.unit, "kB");
        assert_eq!(labels(&a).first().unwrap(), "0");
        assert_eq!(labels(&a).last().unwrap(), "400");
        assert!(a.hi >= 371_234.0 && a.lo == 0.0);
        let t = Axis::new(Quantity::Time, 0.012, 0.31, false, 8);
        assert_eq!(t.unit, "ms");
        assert_eq!(
            labels(&t),
            ["0", "50", "100", "150", "200", "250", "300", "350"]
        );
        let r = Axis::new(Quantity::Rate, 0.0, 8.4e6, true, 6);
        assert_eq!(r.unit, "kbit/s");
        assert_eq!(r.title("Goodput"), "Goodput (kbit/s)");
        let s = Axis::new(Quantity::Time, 0.0, 12.5, false, 6);
        assert_eq!((s.unit, labels(&s)[1].as_str()), ("s", "2"));
        let f = Axis::new(Quantity::Millis, 0.0, 0.9, true, 5);
        assert_eq!(labels(&f), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn one_value_or_none_still_makes_an_axis() {
        for (lo, hi) in [(5.0, 5.0), (0.0, 0.0), (f64::NAN, 1.0), (3.0, 1.0)] {
            let a = Axis::new(Quantity::Bytes, lo, hi, false, 6);
            assert!(a.hi > a.lo, "{lo} {hi}: {a:?}");
            assert!(a.ticks().len() >= 2);
            assert!(a.frac(a.lo) == 0.0 && a.frac(a.hi) == 1.0);
        }
    }
}
