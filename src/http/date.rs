//! HTTP dates, through the `httpdate` crate.
//!
//! Data in: `SystemTime` values (the caller's `now` once converted by
//! [`super::wall_time`], file modification times) or header strings
//! (`If-Modified-Since`, `If-Range`).
//! Data out: IMF-fixdate text for `Date`/`Last-Modified`, written straight into
//! a response head, and parsed times for the conditional headers.
//!
//! `httpdate` covers 1970-01-01 to 9999-12-31 and panics outside it, so every
//! time is clamped into that range first: a file dated before 1970 is reported
//! as 1970-01-01 (its validators still change when the file does, through the
//! ETag, which carries the full-precision time).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use httpdate::HttpDate;

/// 9999-12-31T23:59:59Z, the last second `httpdate` can format.
const LAST_SECOND: u64 = 253_402_300_799;

/// `t` moved into the range `httpdate` formats, with sub-second parts dropped
/// (HTTP dates have second granularity).
fn clamped(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(LAST_SECOND);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Formats `t` as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(t: SystemTime) -> String {
    HttpDate::from(clamped(t)).to_string()
}

/// Appends `t` as an IMF-fixdate to `out` (no allocation).
pub(super) fn write_http_date(out: &mut Vec<u8>, t: SystemTime) {
    /// Lets `write!` append to a byte buffer.
    struct Bytes<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for Bytes<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    // Writing into a Vec cannot fail.
    let _ = write!(Bytes(out), "{}", HttpDate::from(clamped(t)));
}

/// Parses an HTTP date in any of the three formats RFC 9110 §5.6.7 asks
/// recipients to accept (IMF-fixdate, RFC 850, asctime); `None` otherwise,
/// including for a weekday that does not match the date.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s).ok()
}

/// Whole seconds since the Unix epoch (0 for earlier times), the granularity
/// at which HTTP dates compare.
pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Every date the tests and the lab use, with the text the hand-written
    /// formatter this module replaced gave for it: the crate gives the same.
    #[test]
    fn same_text_as_before() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_600_000_000, "Sun, 13 Sep 2020 12:26:40 GMT"),
            (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
            (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT"),
            // The lab's file time and its clock's start.
            (1_767_139_200, "Wed, 31 Dec 2025 00:00:00 GMT"),
            (1_767_225_600, "Thu, 01 Jan 2026 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_http_date(at(secs)), text, "{secs}");
            let mut buf = b"Date: ".to_vec();
            write_http_date(&mut buf, at(secs));
            assert_eq!(buf, format!("Date: {text}").as_bytes());
        }
        // Sub-second parts are dropped.
        let t = at(784_111_777) + Duration::from_millis(999);
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn clamps_instead_of_panicking() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_http_date(before), "Thu, 01 Jan 1970 00:00:00 GMT");
        let far = at(LAST_SECOND) + Duration::from_secs(86_400 * 365 * 1000);
        assert_eq!(format_http_date(far), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn parses_all_three_formats() {
        let want = Some(at(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), want);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), want);
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994"), want);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
            "Abc, 06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMTX",
            "Sun, 0x Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37",
            "Sun Nov  6 08:49:37 94",
            "é, 06 Nov 1994 08:49:37 GMT€€",
            // The weekday must match the date.
            "Mon, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn round_trips() {
        // A spread of seconds over several centuries, including leap days.
        let mut secs: u64 = 0;
        while secs < 8_000_000_000 {
            let t = at(secs);
            assert_eq!(parse_http_date(&format_http_date(t)), Some(t), "{secs}");
            secs += 7_919 * 3_607;
        }
    }
}
