//! The `Host` field's value: is it a valid `uri-host [ ":" port ]`?
//!
//! Data in: one Host field value, whitespace around it already trimmed.
//! Data out: yes or no. RFC 9112 §3.2 asks for 400 when it is no (and when
//! there are several Host fields, or none in HTTP/1.1, which the head parser
//! checks). The site has one name, so nothing else is done with the value.
//!
//! Grammar (RFC 3986 §3.2.2, §3.2.3):
//!
//! ```text
//! Host        = uri-host [ ":" port ]          (an empty value is allowed)
//! uri-host    = IP-literal / IPv4address / reg-name
//! IP-literal  = "[" ( IPv6address / IPvFuture ) "]"
//! IPvFuture   = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
//! reg-name    = *( unreserved / pct-encoded / sub-delims )
//! port        = *DIGIT
//! ```
//!
//! An IPv4 address is also a reg-name, so it needs no rule of its own.

use std::net::Ipv6Addr;

/// True if `value` is a valid Host field value.
pub(super) fn valid_host(value: &[u8]) -> bool {
    let (host, port) = match value.first() {
        Some(b'[') => {
            let Some(close) = value.iter().position(|&b| b == b']') else {
                return false;
            };
            if !ip_literal(&value[1..close]) {
                return false;
            }
            (&[][..], &value[close + 1..])
        }
        _ => match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &[][..]),
        },
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    port_ok && reg_name(host)
}

/// `*( unreserved / pct-encoded / sub-delims )`
fn reg_name(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if unreserved(b[i]) || sub_delim(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// The inside of `[...]`: an IPv6 address or an IPvFuture.
fn ip_literal(b: &[u8]) -> bool {
    if let Some(rest) = b.strip_prefix(b"v").or_else(|| b.strip_prefix(b"V")) {
        let Some(dot) = rest.iter().position(|&c| c == b'.') else {
            return false;
        };
        let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail
                .iter()
                .all(|&c| unreserved(c) || sub_delim(c) || c == b':');
    }
    // std's parser takes exactly RFC 4291's text forms (no zone, no brackets).
    std::str::from_utf8(b).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~".contains(&c)
}

fn sub_delim(c: u8) -> bool {
    b"!$&'()*+,;=".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_hosts() {
        for v in [
            "",
            "localhost",
            "192.168.69.1",
            "192.168.69.1:80",
            "example.com:",
            "example.com:8080",
            "a-b_c~d.e",
            "caf%C3%A9.example",
            "!$&'()*+,;=",
            "[::1]",
            "[fdaa::1]:80",
            "[::ffff:192.168.69.1]",
            "[v1.fe80::a+en1]",
        ] {
            assert!(valid_host(v.as_bytes()), "{v:?}");
        }
    }

    #[test]
    fn refuses_invalid_hosts() {
        for v in [
            "a b",
            "a\tb",
            "a/b",
            "a?b",
            "a#b",
            "a@b",
            "user@host",
            "a:b",
            "a:80:80",
            "a:-1",
            "%",
            "%4",
            "%zz",
            "é",
            "\"quoted\"",
            "[::1",
            "::1",
            "[::1]x",
            "[::1]:x",
            "[1.2.3.4]",
            "[fe80::1%25eth0]",
            "[v1]",
            "[v.x]",
            "[vx.x]",
            "[v1.]",
            "[v1.a/b]",
            "a\0b",
        ] {
            assert!(!valid_host(v.as_bytes()), "{v:?}");
        }
    }
}
