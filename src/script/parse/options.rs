//! The `<OPTIONS>` of a line: TCP options in wire order, comma-separated.
//!
//! Text enters at the `<`; an [`OptList`] leaves. Words (case-insensitive): `mss N`,
//! `wscale N`, `sackOK`, `nop`, `eol`, `TS val N ecr N`, `sack A:B [C:D …]` (1 to 4
//! blocks), `FO [HEX]` and `FOEXP [HEX]` (TCP Fast Open, RFC 7413: no cookie is a cookie
//! request; FOEXP is the experimental kind 254 with TFO's magic), `md5 [HEX]` (TCP MD5
//! signature, RFC 2385: 16 bytes). In `>` lines a value may be a wildcard and a final
//! `...` allows further options; in `<` lines only `ecr *` (echo our latest TS value),
//! and a bare `md5` sends a digest of zeros (as a missing payload sends zero bytes).
//! [`option_bytes`] tells what a list takes on the wire, so the line can be refused
//! before it is sent if it cannot fit a header.

use super::cursor::{Cursor, IN_EXACT, Wild};
use super::error::ParseError;
use super::spec::{Dir, Hex, OptList, TcpOpt, Val};

/// The most TCP option bytes a header can carry.
pub const MAX_OPTION_BYTES: usize = 40;
/// The length of an MD5 digest (RFC 2385).
const MD5_LEN: usize = 16;

/// The encoded size of an options list (before padding).
pub fn option_bytes(items: &[TcpOpt]) -> usize {
    items
        .iter()
        .map(|o| match o {
            TcpOpt::Nop | TcpOpt::Eol | TcpOpt::Malformed { .. } => 1,
            TcpOpt::Mss(_) => 4,
            TcpOpt::Wscale(_) => 3,
            TcpOpt::SackOk => 2,
            TcpOpt::Ts { .. } => 10,
            TcpOpt::Sack(b) => 2 + 8 * b.len(),
            TcpOpt::FastOpen {
                cookie,
                experimental,
            } => {
                let magic = if *experimental { 2 } else { 0 };
                2 + magic + cookie.value().map_or(0, |c| c.as_slice().len())
            }
            TcpOpt::Md5(_) => 2 + MD5_LEN,
            TcpOpt::Unknown { data, .. } => 2 + data.len(),
        })
        .sum()
}

/// The options list, the cursor on its `<`.
pub(super) fn parse_options(c: &mut Cursor, dir: Dir) -> Result<OptList, ParseError> {
    let open = c.pos;
    c.pos += 1; // '<'
    let mut list = OptList::default();
    c.ws();
    if c.eat('>') {
        return Ok(list);
    }
    loop {
        c.ws();
        let pos = c.pos;
        if c.peek().is_none() {
            return c.err(open, "the options list is not closed with `>`");
        }
        if c.eat_wild() {
            if dir == Dir::In {
                return c.err(pos, "`...` (any further options) is only for `>` lines");
            }
            list.more = true;
            c.ws();
            if !c.eat('>') {
                return c.err(c.pos, "`...` must be the last entry of the options list");
            }
            return Ok(list);
        }
        list.items.push(parse_option(c, dir)?);
        c.ws();
        if c.eat('>') {
            return Ok(list);
        }
        if !c.eat(',') {
            if c.peek().is_none() {
                return c.err(open, "the options list is not closed with `>`");
            }
            return c.err(
                c.pos,
                format!(
                    "expected `,` or `>` in the options list, found {}",
                    c.found()
                ),
            );
        }
    }
}

/// One option, the cursor on its keyword.
fn parse_option(c: &mut Cursor, dir: Dir) -> Result<TcpOpt, ParseError> {
    let wild = match dir {
        Dir::Out => Wild::Yes,
        Dir::In => Wild::No(IN_EXACT),
    };
    let pos = c.pos;
    let w = c.word();
    Ok(match w.to_ascii_lowercase().as_str() {
        "nop" => TcpOpt::Nop,
        "eol" => TcpOpt::Eol,
        "sackok" => TcpOpt::SackOk,
        "mss" => {
            c.ws();
            TcpOpt::Mss(c.val16("the MSS (0..65535)", wild)?)
        }
        "wscale" => {
            c.ws();
            TcpOpt::Wscale(c.val8("the window scale shift (0..255)", wild)?)
        }
        "ts" => timestamps(c, wild)?,
        "sack" => sack(c, pos, wild)?,
        "fo" | "foexp" => TcpOpt::FastOpen {
            cookie: hex_value(c, wild, "the TFO cookie", 1, Hex::MAX)?
                .unwrap_or(Val::Is(Hex::default())),
            experimental: w.len() == 5,
        },
        "md5" => TcpOpt::Md5(
            // A bare `md5`: any digest in `>` lines, sixteen zero bytes in `<` lines.
            hex_value(c, wild, "the MD5 digest", MD5_LEN, MD5_LEN)?.unwrap_or(match dir {
                Dir::Out => Val::Any,
                Dir::In => Val::Is(Hex::new(&[0; MD5_LEN]).unwrap_or_default()),
            }),
        ),
        _ => {
            return c.err(
                pos,
                format!(
                    "unknown option {}: expected mss N, wscale N, sackOK, nop, eol, TS val N ecr N, sack A:B, FO [cookie], md5 [digest]{}",
                    if w.is_empty() { c.found() } else { format!("`{w}`") },
                    if dir == Dir::Out { ", or ... at the end" } else { "" }
                ),
            );
        }
    })
}

/// `TS val N ecr N`, the cursor after `TS`.
fn timestamps(c: &mut Cursor, wild: Wild) -> Result<TcpOpt, ParseError> {
    c.ws();
    let kw = c.pos;
    if !c.word().eq_ignore_ascii_case("val") {
        return c.err(kw, "expected `val` in `TS val N ecr N`");
    }
    c.ws();
    let val = c.val32("the TS value", wild)?;
    c.ws();
    let kw = c.pos;
    if !c.word().eq_ignore_ascii_case("ecr") {
        return c.err(kw, "expected `ecr` in `TS val N ecr N`");
    }
    c.ws();
    // `ecr *` in a `<` line: echo our stack's latest TS value.
    let ecr = c.val32("the TS echo reply", Wild::Yes)?;
    Ok(TcpOpt::Ts { val, ecr })
}

/// `sack A:B [C:D …]`, the cursor after `sack`; `pos`: where the option started.
fn sack(c: &mut Cursor, pos: usize, wild: Wild) -> Result<TcpOpt, ParseError> {
    let mut blocks = Vec::new();
    loop {
        c.ws();
        if matches!(c.peek(), Some(',') | Some('>') | None) {
            break;
        }
        let a = c.val32("a SACK block's left edge", wild)?;
        if !c.eat(':') {
            return c.err(c.pos, "expected `:` in a SACK block A:B");
        }
        let b = c.val32("a SACK block's right edge", wild)?;
        blocks.push((a, b));
    }
    if blocks.is_empty() || blocks.len() > 4 {
        return c.err(pos, "`sack` takes 1 to 4 blocks A:B");
    }
    Ok(TcpOpt::Sack(blocks))
}

/// The hex bytes after `FO` or `md5`, if any: `None` when the option ends at its
/// keyword, `Some(Val::Any)` for a wildcard where allowed.
fn hex_value(
    c: &mut Cursor,
    wild: Wild,
    what: &str,
    min: usize,
    max: usize,
) -> Result<Option<Val<Hex>>, ParseError> {
    c.ws();
    if matches!(c.peek(), Some(',') | Some('>') | None) {
        return Ok(None);
    }
    let pos = c.pos;
    // `...` right after the keyword is a value, not the list's "any further options":
    // that one comes after a comma.
    if c.eat_wild() {
        return match wild {
            Wild::Yes => Ok(Some(Val::Any)),
            Wild::No(why) => c.err(pos, format!("a wildcard is not allowed here: {why}")),
        };
    }
    c.hex(what, min, max).map(|h| Some(Val::Is(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str, dir: Dir) -> Result<OptList, ParseError> {
        let chars: Vec<char> = text.chars().collect();
        let mut c = Cursor {
            chars: &chars,
            pos: 0,
            line: 1,
        };
        parse_options(&mut c, dir)
    }

    fn hex(b: &[u8]) -> Val<Hex> {
        Val::Is(Hex::new(b).unwrap())
    }

    #[test]
    fn fast_open_cookies() {
        let l = list(
            "<FO,FO abcd1234,fo 0011223344556677,FOEXP,FOEXP 0102>",
            Dir::In,
        )
        .unwrap();
        let fo = |cookie, experimental| TcpOpt::FastOpen {
            cookie,
            experimental,
        };
        assert_eq!(
            l.items,
            vec![
                fo(hex(&[]), false),
                fo(hex(&[0xab, 0xcd, 0x12, 0x34]), false),
                fo(hex(&[0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]), false),
                fo(hex(&[]), true),
                fo(hex(&[1, 2]), true),
            ]
        );
        assert_eq!(option_bytes(&l.items), 2 + 6 + 10 + 4 + 6);
        assert_eq!(
            list("<FO *,FOEXP ...>", Dir::Out).unwrap().items,
            vec![fo(Val::Any, false), fo(Val::Any, true)]
        );
        // `FO,...`: an empty cookie, then any further options.
        let l = list("<FO,...>", Dir::Out).unwrap();
        assert!(l.more);
        assert_eq!(l.items, vec![fo(hex(&[]), false)]);
    }

    #[test]
    fn md5_digests() {
        let digest = "000102030405060708090a0b0c0d0e0f";
        let l = list(&format!("<md5 {digest}>"), Dir::In).unwrap();
        let want: Vec<u8> = (0..16).collect();
        assert_eq!(l.items, vec![TcpOpt::Md5(hex(&want))]);
        assert_eq!(option_bytes(&l.items), 18);
        assert_eq!(
            list("<MD5>", Dir::In).unwrap().items,
            vec![TcpOpt::Md5(hex(&[0; 16]))]
        );
        assert_eq!(
            list("<md5>", Dir::Out).unwrap().items,
            vec![TcpOpt::Md5(Val::Any)]
        );
        assert_eq!(
            list("<md5 *>", Dir::Out).unwrap().items,
            vec![TcpOpt::Md5(Val::Any)]
        );
    }

    #[test]
    fn hex_errors_point_at_the_value() {
        let e = |t: &str, dir| {
            let e = list(t, dir).unwrap_err();
            (e.col, e.msg)
        };
        let (col, msg) = e("<FO abc>", Dir::In);
        assert_eq!(col, 5);
        assert!(msg.contains("odd number of hex digits"), "{msg}");
        let (col, msg) = e("<FO 00112233445566778899aabbccddeeff00>", Dir::In);
        assert_eq!(col, 5);
        assert!(msg.contains("17 bytes; it takes 1 to 16"), "{msg}");
        let (col, msg) = e("<md5 0011>", Dir::In);
        assert_eq!(col, 6);
        assert!(msg.contains("2 bytes; it takes 16"), "{msg}");
        let (col, msg) = e("<FO xyz>", Dir::In);
        assert_eq!(col, 5);
        assert!(msg.contains("hex digits"), "{msg}");
        let (col, msg) = e("<FO 12zz>", Dir::In);
        assert_eq!(col, 7);
        assert!(msg.contains("unexpected `zz>`"), "{msg}");
        let (col, msg) = e("<md5 *>", Dir::In);
        assert_eq!(col, 6);
        assert!(msg.contains("not allowed"), "{msg}");
        let (col, msg) = e("<FO 1234 mss 1>", Dir::In);
        assert_eq!(col, 10);
        assert!(msg.contains("expected `,` or `>`"), "{msg}");
    }
}
