//! Validators and the conditional request headers (RFC 9110 §8.8, §13).
//!
//! Data in: a file's length and modification time, and the raw values of
//! `If-None-Match`, `If-Modified-Since` and `If-Range`.
//! Data out: the strong ETag string and yes/no answers used by the planner
//! in `response.rs` to choose between 200, 206 and 304.

use std::time::{SystemTime, UNIX_EPOCH};

use super::date::{parse_http_date, unix_secs};

/// Strong ETag `"<len hex>-<mtime secs hex>-<mtime nanos hex>"`. Length and
/// full-precision mtime change whenever the file is rewritten in practice,
/// and computing them costs no read of the file.
pub(super) fn make_etag(len: u64, mtime: Option<SystemTime>) -> String {
    let d = mtime
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    format!("\"{:x}-{:x}-{:x}\"", len, d.as_secs(), d.subsec_nanos())
}

/// One element of an entity-tag list.
struct EntityTag<'a> {
    weak: bool,
    /// The opaque tag including its double quotes.
    opaque: &'a str,
}

/// Parses `#entity-tag` (comma separated, optional whitespace). `None` when
/// the list is malformed: such a header then matches nothing.
fn parse_etag_list(value: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        let (weak, r) = match rest.strip_prefix("W/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let inner = r.strip_prefix('"')?;
        let close = inner.find('"')?;
        let opaque = &r[..close + 2];
        tags.push(EntityTag { weak, opaque });
        rest = r[close + 2..].trim_start_matches([' ', '\t']);
        if !rest.is_empty() && !rest.starts_with(',') {
            return None;
        }
    }
}

/// `If-None-Match`: true when `*` or any listed tag matches `etag` under the
/// weak comparison (the `W/` prefix is ignored on both sides).
pub(super) fn if_none_match_matches(value: &str, etag: &str) -> bool {
    if value.trim() == "*" {
        return true;
    }
    let ours = etag.strip_prefix("W/").unwrap_or(etag);
    parse_etag_list(value).is_some_and(|tags| tags.iter().any(|t| t.opaque == ours))
}

/// `If-Modified-Since`: true when the file is not newer than the given date
/// (second granularity). An unparsable date gives false, i.e. the header is
/// ignored.
pub(super) fn not_modified_since(value: &str, mtime: SystemTime) -> bool {
    parse_http_date(value).is_some_and(|since| unix_secs(mtime) <= unix_secs(since))
}

/// `If-Range`: true when the validator still matches, so the Range may be
/// honoured. An entity tag must match `etag` under the strong comparison
/// (weak tags never do); a date must equal Last-Modified exactly.
pub(super) fn if_range_matches(value: &str, etag: &str, mtime: Option<SystemTime>) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return match parse_etag_list(value).as_deref() {
            Some([tag]) => !tag.weak && tag.opaque == etag,
            _ => false,
        };
    }
    match (parse_http_date(value), mtime) {
        (Some(date), Some(mtime)) => unix_secs(date) == unix_secs(mtime),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TAG: &str = "\"1f-5e0c4d2a-0\"";

    #[test]
    fn etag_format() {
        let t = UNIX_EPOCH + Duration::new(0x5e0c_4d2a, 0x1234);
        assert_eq!(make_etag(31, Some(t)), "\"1f-5e0c4d2a-1234\"");
        assert_eq!(make_etag(0, None), "\"0-0-0\"");
    }

    #[test]
    fn if_none_match() {
        assert!(if_none_match_matches(TAG, TAG));
        assert!(if_none_match_matches("*", TAG));
        assert!(if_none_match_matches(" * ", TAG));
        assert!(if_none_match_matches(&format!("W/{TAG}"), TAG));
        assert!(if_none_match_matches(&format!("\"x\", W/\"y\",{TAG}"), TAG));
        assert!(if_none_match_matches(&format!("\"a,b\" , {TAG}"), TAG));
        assert!(!if_none_match_matches("\"x\"", TAG));
        assert!(!if_none_match_matches("\"1f-5e0c4d2a-1\"", TAG));
        // Malformed lists match nothing.
        assert!(!if_none_match_matches(&format!("{TAG} junk"), TAG));
        assert!(!if_none_match_matches("1f-5e0c4d2a-0", TAG));
        assert!(!if_none_match_matches("\"unterminated", TAG));
        assert!(!if_none_match_matches("", TAG));
    }

    #[test]
    fn if_modified_since() {
        let mtime = UNIX_EPOCH + Duration::new(784_111_777, 500);
        assert!(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", mtime));
        assert!(not_modified_since("Sun, 06 Nov 1994 08:49:38 GMT", mtime));
        assert!(!not_modified_since("Sun, 06 Nov 1994 08:49:36 GMT", mtime));
        assert!(!not_modified_since("garbage", mtime));
    }

    #[test]
    fn if_range() {
        let mtime = Some(UNIX_EPOCH + Duration::new(784_111_777, 500));
        assert!(if_range_matches(TAG, TAG, mtime));
        assert!(!if_range_matches(&format!("W/{TAG}"), TAG, mtime));
        assert!(!if_range_matches("\"other\"", TAG, mtime));
        assert!(!if_range_matches(&format!("{TAG}, {TAG}"), TAG, mtime));
        assert!(if_range_matches(
            "Sun, 06 Nov 1994 08:49:37 GMT",
            TAG,
            mtime
        ));
        assert!(!if_range_matches(
            "Sun, 06 Nov 1994 08:49:38 GMT",
            TAG,
            mtime
        ));
        assert!(!if_range_matches(
            "Sun, 06 Nov 1994 08:49:37 GMT",
            TAG,
            None
        ));
        assert!(!if_range_matches("nonsense", TAG, mtime));
    }
}
