//! The bytes of a capture as they arrive: a buffered reader that hands out one record
//! (a pcap frame, a pcapng block) at a time, so memory stays flat however long the file.
//!
//! The formats say up front how long each record is; [`Input::take`] appends that many
//! bytes to the current record, growing it only as the bytes really arrive, so a damaged
//! length field claiming gigabytes costs no more memory than the bytes that are there.
//! [`Input::buffered`] lets the reader tell whether the next record is already in memory,
//! i.e. whether reading it may wait on a pipe.

use std::io::{self, BufRead, BufReader, Read};

/// Bytes read from the source per system call.
const READ_BUFFER: usize = 64 * 1024;
/// The most a record grows at a time while its bytes arrive.
const GROW_STEP: usize = 1024 * 1024;

pub(super) struct Input<R> {
    src: BufReader<R>,
    /// The record being read; kept between records so its allocation is reused.
    record: Vec<u8>,
}

impl<R: Read> Input<R> {
    pub(super) fn new(src: R) -> Input<R> {
        Input {
            src: BufReader::with_capacity(READ_BUFFER, src),
            record: Vec::new(),
        }
    }

    /// Starts a new record.
    pub(super) fn clear(&mut self) {
        self.record.clear();
    }

    /// Appends the next `len` bytes of the input to the record. False when the input
    /// ended first (the record then holds what there was).
    pub(super) fn take(&mut self, len: usize) -> io::Result<bool> {
        let mut left = len;
        while left > 0 {
            let start = self.record.len();
            // Doubling, from a page up to GROW_STEP at a time.
            let step = left.min(start.clamp(4096, GROW_STEP));
            self.record.resize(start + step, 0);
            let got = read_full(&mut self.src, &mut self.record[start..])?;
            self.record.truncate(start + got);
            if got < step {
                return Ok(false);
            }
            left -= step;
        }
        Ok(true)
    }

    /// The record read so far.
    pub(super) fn record(&self) -> &[u8] {
        &self.record
    }

    /// True when the input has no more bytes (this may wait for a pipe's writer).
    pub(super) fn at_end(&mut self) -> io::Result<bool> {
        loop {
            match self.src.fill_buf() {
                Ok(b) => return Ok(b.is_empty()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The bytes already read from the source but not yet taken: what can be looked at
    /// without waiting.
    pub(super) fn buffered(&self) -> &[u8] {
        self.src.buffer()
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands out at most `chunk` bytes per read, like a pipe.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.chunk).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_are_assembled_across_short_reads_and_a_short_end_is_reported() {
        let data: Vec<u8> = (0..=255).collect();
        let mut input = Input::new(Trickle {
            data: &data,
            chunk: 3,
        });
        input.clear();
        assert!(input.take(10).unwrap());
        assert!(input.take(5).unwrap());
        assert_eq!(input.record(), &data[..15]);
        input.clear();
        assert!(!input.take(1000).unwrap());
        assert_eq!(input.record(), &data[15..]);
        assert!(input.at_end().unwrap());
    }

    #[test]
    fn a_huge_claimed_length_allocates_only_what_arrives() {
        let data = [7u8; 100];
        let mut input = Input::new(&data[..]);
        input.clear();
        assert!(!input.take(usize::MAX / 2).unwrap());
        assert_eq!(input.record().len(), 100);
        assert!(input.record.capacity() <= GROW_STEP);
    }
}
