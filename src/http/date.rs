//! HTTP dates without a date crate.
//!
//! Data in: `SystemTime` values (the caller's `now`, file modification times)
//! or header strings (`If-Modified-Since`, `If-Range`).
//! Data out: IMF-fixdate strings for `Date`/`Last-Modified`, and parsed times
//! for the conditional headers.
//!
//! The conversion between day counts and civil dates uses the well-known
//! days-from-civil arithmetic on the proleptic Gregorian calendar, so there
//! are no tables and no loops over years.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const SECS_PER_DAY: i64 = 86_400;

/// Whole seconds since the Unix epoch, rounded towards minus infinity so that
/// times before 1970 still order correctly.
pub(super) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 { -s - 1 } else { -s }
        }
    }
}

/// The inverse of [`unix_secs`]; `None` when `SystemTime` cannot hold it.
fn from_unix_secs(secs: i64) -> Option<SystemTime> {
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March so the leap day is the last day of it.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both casts are in range by construction (day 1..=31, month 1..=12).
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats `t` as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
/// Sub-second parts are dropped (HTTP dates have second granularity).
pub fn format_http_date(t: SystemTime) -> String {
    // Clamp to a range where the arithmetic below cannot overflow; such
    // times do not occur on real files anyway.
    let secs = unix_secs(t).clamp(-(1 << 46), 1 << 46);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    let weekday = (days + 4).rem_euclid(7) as usize;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[weekday],
        day,
        MONTH_NAMES[(month - 1) as usize],
        year,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses an HTTP date. IMF-fixdate is the format every sender must use;
/// the two obsolete formats (RFC 850 and asctime) are accepted too because
/// RFC 9110 §5.6.7 asks recipients to. Anything else gives `None`.
/// The weekday name must be a valid name but is not checked against the date.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let b = s.trim().as_bytes();
    let secs = parse_imf_fixdate(b)
        .or_else(|| parse_rfc850(b))
        .or_else(|| parse_asctime(b))?;
    from_unix_secs(secs)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn parse_imf_fixdate(b: &[u8]) -> Option<i64> {
    if b.len() != 29 || &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if &b[25..] != b" GMT" || !DAY_NAMES.iter().any(|d| d.as_bytes() == &b[..3]) {
        return None;
    }
    let day = digits(&b[5..7])?;
    let month = month_index(&b[8..11])?;
    let year = i64::from(digits(&b[12..16])?);
    let (h, m, s) = time_of_day(&b[17..25])?;
    to_secs(year, month, day, h, m, s)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`
fn parse_rfc850(b: &[u8]) -> Option<i64> {
    let comma = b.iter().position(|&c| c == b',')?;
    if !LONG_DAY_NAMES.iter().any(|d| d.as_bytes() == &b[..comma]) {
        return None;
    }
    let r = &b[comma + 1..];
    if r.len() != 23 || r[0] != b' ' || r[3] != b'-' || r[7] != b'-' || r[10] != b' ' {
        return None;
    }
    if &r[19..] != b" GMT" {
        return None;
    }
    let day = digits(&r[1..3])?;
    let month = month_index(&r[4..7])?;
    let yy = i64::from(digits(&r[8..10])?);
    // Two-digit years: the simple fixed pivot (70) keeps parsing independent
    // of the current time.
    let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
    let (h, m, s) = time_of_day(&r[11..19])?;
    to_secs(year, month, day, h, m, s)
}

/// `Sun Nov  6 08:49:37 1994`
fn parse_asctime(b: &[u8]) -> Option<i64> {
    if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return None;
    }
    if !DAY_NAMES.iter().any(|d| d.as_bytes() == &b[..3]) {
        return None;
    }
    let month = month_index(&b[4..7])?;
    let day = if b[8] == b' ' {
        digits(&b[9..10])?
    } else {
        digits(&b[8..10])?
    };
    let (h, m, s) = time_of_day(&b[11..19])?;
    let year = i64::from(digits(&b[20..24])?);
    to_secs(year, month, day, h, m, s)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')))
}

fn month_index(b: &[u8]) -> Option<u32> {
    let i = MONTH_NAMES.iter().position(|m| m.as_bytes() == b)?;
    u32::try_from(i + 1).ok()
}

/// `HH:MM:SS`
fn time_of_day(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    Some((digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn to_secs(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    // A leap second (60) is allowed by the grammar; it simply rolls over.
    if day == 0 || day > days_in_month(year, month) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * SECS_PER_DAY + i64::from(h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_known_values() {
        assert_eq!(
            format_http_date(at(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            format_http_date(UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            format_http_date(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            format_http_date(at(1_709_251_199)),
            "Thu, 29 Feb 2024 23:59:59 GMT"
        );
        assert_eq!(
            format_http_date(at(4_102_444_800)),
            "Fri, 01 Jan 2100 00:00:00 GMT"
        );
        // Sub-second parts are truncated.
        let t = at(784_111_777) + Duration::from_millis(999);
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        // Before the epoch.
        let t = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_http_date(t), "Wed, 31 Dec 1969 23:59:59 GMT");
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
        for days in -800_000i64..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn unix_secs_floors() {
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_millis(1999)), 1);
    }
}
