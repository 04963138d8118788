//! Views of captured TCP traffic for the lab: pictures and text built from a capture.
pub mod ladder;
