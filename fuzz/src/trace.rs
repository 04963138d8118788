//! Target `trace`: capture-file bytes through `taplab trace` — the streaming capture
//! reader, the analyzer, the state tracker, the listing and (when asked) the SVG ladder.
//!
//! Input: one byte of options, then the file. Options, bit 0 the lowest: 0 `--absolute`,
//! 1 `--http`, 2 `--no-states`, 3 `--no-http`, 4 pictures: `--svg`, `--in-flight` and
//! every `--graph` kind (drawn, then written to /dev/null; bit 0 also picks `--direction
//! client`), bits 5–7 `--stream N-1` when not 0. (`--http` with `--no-http` is refused
//! by the command line; the lister takes it, so it is fuzzed too.)
//!
//! The entry is [`write_trace`], the function `taplab trace` itself calls once it has
//! opened the file, over a [`CaptureReader`] reading the bytes from memory (the reader
//! takes any `Read`; a file would only add system calls) and writing the listing into
//! memory.
//!
//! Oracle: no panic; a listing, when the run succeeds, starts with the column header.

use std::path::{Path, PathBuf};
use taplab::trace::graph::{Direction, GraphRequest, Kind};
use taplab::trace::{CaptureReader, Extras, ListingOptions, Row, TraceOptions, write_trace};

/// The name errors and the picture's title give the input.
const NAME: &str = "fuzz.pcap";

pub fn run(data: &[u8]) {
    let Some((&o, file)) = data.split_first() else {
        return;
    };
    let pictures = o & 16 != 0;
    let opts = TraceOptions {
        file: PathBuf::from(NAME),
        listing: ListingOptions {
            absolute: o & 1 != 0,
        },
        http_only: o & 2 != 0,
        states: o & 4 == 0,
        decode_http: o & 8 == 0,
        svg: pictures.then(|| PathBuf::from("/dev/null")),
        stream: match o >> 5 {
            0 => None,
            n => Some(usize::from(n) - 1),
        },
        extras: Extras {
            in_flight: pictures,
        },
        graphs: if pictures {
            Kind::ALL
                .map(|kind| GraphRequest {
                    kind,
                    out: PathBuf::from("/dev/null"),
                })
                .to_vec()
        } else {
            Vec::new()
        },
        direction: (pictures && o & 1 != 0).then_some(Direction::Client),
    };
    if let Ok((listing, _warning)) = list_bytes(file, &opts) {
        assert!(
            listing.starts_with(&format!("{}\n", Row::header())),
            "a listing without its header"
        );
    }
}

/// Lists a capture given as bytes, as `taplab trace` lists a file: the listing and the
/// reader's warning (a damaged or cut-short file), or the error `taplab trace` prints.
pub fn list_bytes(bytes: &[u8], opts: &TraceOptions) -> Result<(String, Option<String>), String> {
    let shown = Path::new(NAME).display();
    let mut cap = CaptureReader::new(bytes).map_err(|e| format!("{shown} {e}"))?;
    let mut out = Vec::new();
    write_trace(opts, &mut cap, &mut out)?;
    // Every line is formatted text: bytes that are not UTF-8 would be a finding.
    let listing = match String::from_utf8(out) {
        Ok(l) => l,
        Err(e) => panic!("the listing is not UTF-8: {e}"),
    };
    Ok((listing, cap.warning().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_given_as_bytes_is_listed_and_junk_is_refused() {
        let cap = crate::seeds::trace::pcap(&crate::seeds::frames::handshake_frames(), false);
        let (listing, warning) = list_bytes(&cap, &TraceOptions::default()).unwrap();
        assert_eq!(warning, None);
        assert_eq!(listing.lines().count(), 1 + 3, "{listing}");
        assert!(listing.contains("[SYN, ACK]"), "{listing}");
        let e = list_bytes(b"not a capture", &TraceOptions::default()).unwrap_err();
        assert!(e.starts_with("fuzz.pcap is not a pcap"), "{e}");
        // Cut in the middle of the last frame: the complete frames and a warning.
        let (cut, warning) = list_bytes(&cap[..cap.len() - 7], &TraceOptions::default()).unwrap();
        assert_eq!(cut.lines().count(), 1 + 2, "{cut}");
        assert!(warning.is_some_and(|w| w.contains("cut short")));
    }
}
