//! Request bodies: finding where one ends, so that the next pipelined request
//! starts at the right byte. The bodies themselves are discarded (the site is
//! static and only answers GET and HEAD).
//!
//! Data in: the bytes that follow a request head, in pieces of any size, fed to
//! [`BodySkip::skip`] until it reports the end.
//! Data out: how many of the given bytes belonged to the body, and whether the
//! body is over ([`Progress::Done`]), needs more bytes, or cannot be followed
//! ([`Progress::Stop`], with the reason: the connection must then close).
//!
//! A `Content-Length` body is a count. A chunked body (RFC 9112 §7.1) is
//! decoded one byte at a time by a small state machine, so a body trickling in
//! byte by byte costs linear time and no buffering:
//!
//! ```text
//! chunk-size [ ;ext... ] CRLF  chunk-data CRLF  ...  0 [ ;ext... ] CRLF  trailer-lines  CRLF
//! ```
//!
//! Everything is bounded: the whole body (as sent, framing included) by
//! [`MAX_SKIPPED_BODY`], a chunk-size line by [`MAX_CHUNK_LINE`], the trailer
//! section by [`MAX_TRAILERS`]. As in request heads, a CR must be followed by
//! LF and a bare LF is refused.

/// Largest request body we read and discard to keep the connection usable;
/// beyond it we answer and close instead.
pub(super) const MAX_SKIPPED_BODY: u64 = 1024 * 1024;
/// Longest chunk-size line (size and extensions, without its CRLF).
pub(super) const MAX_CHUNK_LINE: usize = 4096;
/// Largest trailer section (all trailer field lines with their CRLFs).
pub(super) const MAX_TRAILERS: usize = 16 * 1024;

/// Where the skipping of one body stands after some input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// All given bytes were body; more are due.
    NeedMore,
    /// The body ended after the bytes reported as used.
    Done,
    /// The body cannot be followed (malformed or too large): close.
    Stop(&'static str),
}

/// The rest of one request body, to be read and dropped.
#[derive(Debug, Clone)]
pub(super) enum BodySkip {
    /// This many more bytes (`Content-Length`).
    Length(u64),
    Chunked(Chunked),
}

impl BodySkip {
    /// A chunked body, before its first byte.
    pub(super) fn chunked() -> BodySkip {
        BodySkip::Chunked(Chunked::default())
    }

    /// Consumes body bytes from the front of `data`. Returns how many bytes
    /// belonged to the body (all of `data` unless the body ended or stopped
    /// inside it) and where the body stands.
    pub(super) fn skip(&mut self, data: &[u8]) -> (usize, Progress) {
        match self {
            BodySkip::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                *left -= n as u64;
                let progress = if *left == 0 {
                    Progress::Done
                } else {
                    Progress::NeedMore
                };
                (n, progress)
            }
            BodySkip::Chunked(c) => c.skip(data),
        }
    }
}

/// Where the chunked decoder is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// In the hex digits of a chunk size (`digits` of them so far).
    #[default]
    Size,
    /// After the size, in optional whitespace before `;` or the line end.
    AfterSize,
    /// In the extensions (after a `;`), up to the line end.
    Extension,
    /// Saw the CR of the size line; LF is due.
    SizeLf,
    /// Inside chunk data, this many bytes still to come.
    Data(u64),
    /// The CR after chunk data is due.
    DataCr,
    /// The LF after chunk data is due.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// After a trailer field's colon, up to the line end.
    TrailerValue,
    /// Saw the CR of a trailer line; LF is due.
    TrailerLf,
    /// Saw the CR of the final empty line; its LF ends the body.
    EndLf,
}

/// Decoder state of one chunked body.
#[derive(Debug, Clone, Default)]
pub(super) struct Chunked {
    state: State,
    /// The chunk size being read.
    size: u64,
    /// Hex digits of the size seen so far.
    digits: usize,
    /// Bytes of the current chunk-size line so far.
    line: usize,
    /// Bytes of the trailer section so far.
    trailers: usize,
    /// Bytes of the whole body so far (framing included).
    total: u64,
}

impl Chunked {
    fn skip(&mut self, data: &[u8]) -> (usize, Progress) {
        let mut i = 0;
        while i < data.len() {
            let room = MAX_SKIPPED_BODY - self.total;
            if room == 0 {
                return (i, Progress::Stop("chunked body too large"));
            }
            // Chunk data is skipped in one step rather than byte by byte.
            if let State::Data(left) = self.state {
                let n = left.min(room).min((data.len() - i) as u64);
                self.total += n;
                i += n as usize;
                let left = left - n;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                continue;
            }
            self.total += 1;
            let b = data[i];
            i += 1;
            match self.step(b) {
                Ok(true) => return (i, Progress::Done),
                Ok(false) => {}
                Err(why) => return (i, Progress::Stop(why)),
            }
        }
        (i, Progress::NeedMore)
    }

    /// Moves the state machine by one framing byte. `Ok(true)`: the body ended.
    fn step(&mut self, b: u8) -> Result<bool, &'static str> {
        match self.state {
            State::Size | State::AfterSize | State::Extension => self.size_line(b)?,
            State::SizeLf => {
                expect_lf(b)?;
                self.state = if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data(self.size)
                };
            }
            // `skip` moves through chunk data in bulk and never gets here.
            State::Data(_) => return Err("chunk data taken as framing"),
            State::DataCr => {
                if b != b'\r' {
                    return Err("chunk data longer than its size");
                }
                self.state = State::DataLf;
            }
            State::DataLf => {
                expect_lf(b)?;
                *self = Chunked {
                    total: self.total,
                    ..Chunked::default()
                };
            }
            State::TrailerStart | State::TrailerName | State::TrailerValue | State::TrailerLf => {
                self.trailer(b)?
            }
            State::EndLf => {
                expect_lf(b)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One byte of a chunk-size line: `1*HEXDIG [ BWS ";" extensions ] CR`.
    fn size_line(&mut self, b: u8) -> Result<(), &'static str> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            return Err("chunk-size line too long");
        }
        match (self.state, b) {
            (_, b'\n') => Err("bare LF in chunked framing"),
            (State::Size, _) if b.is_ascii_hexdigit() => {
                let digit = u64::from(hex_digit(b));
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or("chunk size overflows")?;
                if self.size > MAX_SKIPPED_BODY - self.total {
                    // Known to be too large before its data is read.
                    return Err("chunked body too large");
                }
                self.digits += 1;
                Ok(())
            }
            (State::Size, _) if self.digits == 0 => Err("chunk size is not hex"),
            (State::Size | State::AfterSize, b' ' | b'\t') => {
                self.state = State::AfterSize;
                Ok(())
            }
            (State::Size | State::AfterSize, b';') => {
                self.state = State::Extension;
                Ok(())
            }
            (_, b'\r') => {
                self.state = State::SizeLf;
                Ok(())
            }
            // Extensions are skipped, not interpreted: any visible text
            // (tokens, `=`, quoted strings) and whitespace, no controls.
            (State::Extension, _) if b == b'\t' || !b.is_ascii_control() => Ok(()),
            _ => Err("bad byte in chunk-size line"),
        }
    }

    /// One byte of the trailer section: `*( field-name ":" value CRLF ) CRLF`.
    fn trailer(&mut self, b: u8) -> Result<(), &'static str> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err("trailer section too large");
        }
        self.state = match (self.state, b) {
            (_, b'\n') if self.state != State::TrailerLf => return Err("bare LF in trailers"),
            (State::TrailerStart, b'\r') => State::EndLf,
            (State::TrailerStart | State::TrailerName, _) if is_tchar(b) => State::TrailerName,
            (State::TrailerName, b':') => State::TrailerValue,
            (State::TrailerValue, b'\r') => State::TrailerLf,
            (State::TrailerValue, _) if b == b'\t' || !b.is_ascii_control() => State::TrailerValue,
            (State::TrailerLf, _) => {
                expect_lf(b)?;
                State::TrailerStart
            }
            _ => return Err("malformed trailer field"),
        };
        Ok(())
    }
}

fn expect_lf(b: u8) -> Result<(), &'static str> {
    if b == b'\n' {
        Ok(())
    } else {
        Err("CR not followed by LF in chunked framing")
    }
}

fn hex_digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// RFC 9110 token characters (field names).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips `body` (followed by `after`) in one piece and in pieces of every
    /// size from 1 to 7; every way must give the same answer. Returns the
    /// bytes used and the final progress.
    fn run(body: &[u8]) -> (usize, Progress) {
        let mut whole = BodySkip::chunked();
        let want = whole.skip(body);
        for piece in 1..8 {
            let mut s = BodySkip::chunked();
            let mut used = 0;
            let mut last = Progress::NeedMore;
            for p in body.chunks(piece) {
                let (n, progress) = s.skip(p);
                used += n;
                last = progress;
                if progress != Progress::NeedMore {
                    break;
                }
            }
            assert_eq!((used, last), want, "pieces of {piece}: {body:?}");
        }
        want
    }

    #[test]
    fn content_length_counts() {
        let mut s = BodySkip::Length(5);
        assert_eq!(s.skip(b"abc"), (3, Progress::NeedMore));
        assert_eq!(s.skip(b"deGET"), (2, Progress::Done));
    }

    #[test]
    fn finds_the_end_of_chunked_bodies() {
        let next = b"GET / HTTP/1.1\r\n";
        for body in [
            &b"0\r\n\r\n"[..],
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"A\r\n0123456789\r\n0\r\n\r\n",
            b"a;name=value\r\n0123456789\r\n000\r\n\r\n",
            b"3 ; ext=\"quoted; \\\"x\\\"\"\r\nabc\r\n0;last\r\n\r\n",
            b"3\t;e\r\nabc\r\n0\r\nX-Trailer: 1\r\nOther:  two words \r\n\r\n",
            b"0000000000000000000000000000001\r\nx\r\n0\r\n\r\n",
        ] {
            let mut input = body.to_vec();
            input.extend_from_slice(next);
            assert_eq!(run(&input), (body.len(), Progress::Done), "{body:?}");
        }
    }

    #[test]
    fn waits_for_the_rest() {
        for partial in [
            &b""[..],
            b"5",
            b"5\r",
            b"5\r\nhel",
            b"5\r\nhello\r\n",
            b"5\r\nhello\r\n0\r\n",
            b"5\r\nhello\r\n0\r\nX: y\r\n",
            b"5\r\nhello\r\n0\r\n\r",
        ] {
            assert_eq!(run(partial), (partial.len(), Progress::NeedMore));
        }
    }

    #[test]
    fn refuses_what_cannot_be_followed() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"-1\r\n",
            b"0x5\r\nhello\r\n",
            b"5 x\r\nhello\r\n",
            b"5\nhello\r\n",
            b"5\r\r\nhello",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5;e\x01\r\nhello",
            b"10000000000000000\r\n",
            b"100001\r\n",
            b"0\r\nNo colon\r\n\r\n",
            b"0\r\n folded: x\r\n\r\n",
            b"0\r\nX: y\n\r\n",
            b"0\r\nX: y\x00\r\n\r\n",
            b"0\r\n\n",
        ] {
            assert!(matches!(run(bad).1, Progress::Stop(_)), "{bad:?}");
        }
    }

    #[test]
    fn everything_is_bounded() {
        let mut line = b"1;".to_vec();
        line.resize(MAX_CHUNK_LINE, b'e');
        assert_eq!(run(&line).1, Progress::NeedMore);
        line.push(b'e');
        assert_eq!(run(&line).1, Progress::Stop("chunk-size line too long"));

        let mut trailers = b"0\r\n".to_vec();
        while trailers.len() < 3 + MAX_TRAILERS + 10 {
            trailers.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
        }
        assert_eq!(
            run(&trailers).1,
            Progress::Stop("trailer section too large")
        );

        // Many small chunks add up: the limit is on the body as sent.
        let mut big = Vec::new();
        while big.len() as u64 <= MAX_SKIPPED_BODY {
            big.extend_from_slice(b"400\r\n");
            big.resize(big.len() + 0x400, b'z');
            big.extend_from_slice(b"\r\n");
        }
        let (used, progress) = run(&big);
        assert_eq!(progress, Progress::Stop("chunked body too large"));
        // Stopped at the size line of the chunk that would not fit.
        assert!(used as u64 <= MAX_SKIPPED_BODY && used as u64 > MAX_SKIPPED_BODY - 0x408);
    }
}
