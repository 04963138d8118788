//! Single byte-range requests (`Range: bytes=...`, RFC 9110 §14).
//!
//! Data in: the `Range` header value and the length of the selected file.
//! Data out: a [`RangeOutcome`] telling the planner to send the whole file,
//! one inclusive byte span (206), or a 416.
//!
//! Only a single range is honoured. A request for several ranges is answered
//! with the full body (200): that is always allowed (a server may ignore
//! Range), and it spares us multipart/byteranges, which the small clients
//! this site serves (browsers fetching media) do not need.

/// What to do about a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeOutcome {
    /// Ignore the header and send the whole representation (invalid syntax,
    /// another unit, or several ranges).
    Full,
    /// Send bytes `start..=end` with 206.
    Partial { start: u64, end: u64 },
    /// 416 Range Not Satisfiable.
    Unsatisfiable,
}

/// Evaluates a `Range` header value against a representation of `len` bytes.
pub(super) fn evaluate_range(value: &str, len: u64) -> RangeOutcome {
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    // Empty list elements are allowed by the list grammar; skip them.
    let mut specs = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        // None at all (invalid) or several (decision: full body, see above).
        return RangeOutcome::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    if first.is_empty() {
        // Suffix range: the last `n` bytes.
        let Some(n) = number(last) else {
            return RangeOutcome::Full;
        };
        if n == 0 || len == 0 {
            return RangeOutcome::Unsatisfiable;
        }
        return RangeOutcome::Partial {
            start: len - n.min(len),
            end: len - 1,
        };
    }
    let Some(start) = number(first) else {
        return RangeOutcome::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            // last < first makes the whole header invalid, hence ignored.
            Some(end) if end >= start => end,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= len {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial {
        start,
        end: end.min(len - 1),
    }
}

/// A run of ASCII digits; values beyond `u64` saturate, which gives the
/// right answer for both positions (past the end) and suffix lengths (all).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::RangeOutcome::{Full, Partial, Unsatisfiable};
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(
            evaluate_range("bytes=0-0", 10),
            Partial { start: 0, end: 0 }
        );
        assert_eq!(
            evaluate_range("bytes=2-5", 10),
            Partial { start: 2, end: 5 }
        );
        assert_eq!(evaluate_range("bytes=2-", 10), Partial { start: 2, end: 9 });
        assert_eq!(evaluate_range("bytes=-3", 10), Partial { start: 7, end: 9 });
        assert_eq!(
            evaluate_range("bytes=-30", 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(
            evaluate_range("bytes=5-100", 10),
            Partial { start: 5, end: 9 }
        );
        assert_eq!(
            evaluate_range("BYTES=9-9", 10),
            Partial { start: 9, end: 9 }
        );
        assert_eq!(
            evaluate_range("bytes= 1-2 ,", 10),
            Partial { start: 1, end: 2 }
        );
        let huge = "bytes=1-99999999999999999999999999";
        assert_eq!(evaluate_range(huge, 10), Partial { start: 1, end: 9 });
        let huge = "bytes=-99999999999999999999999999";
        assert_eq!(evaluate_range(huge, 10), Partial { start: 0, end: 9 });
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(evaluate_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(evaluate_range("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(evaluate_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(evaluate_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(evaluate_range("bytes=-5", 0), Unsatisfiable);
        assert_eq!(
            evaluate_range("bytes=99999999999999999999999-", 10),
            Unsatisfiable
        );
    }

    #[test]
    fn ignored() {
        for v in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=abc",
            "bytes=5-2",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=0x1-2",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=0-1, -2",
        ] {
            assert_eq!(evaluate_range(v, 10), Full, "{v:?}");
        }
    }
}
