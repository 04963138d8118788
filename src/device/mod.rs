//! Frame devices for the stack: smoltcp [`Device`](smoltcp::phy::Device) implementations
//! and the middlewares that wrap them.
//!
//! Frames enter from a device (the Linux tap, [`tap::TapDevice`], or one end of the lab's
//! virtual wire, [`sim::SimEnd`]), pass through any middlewares stacked on it (each one
//! wraps the next, like smoltcp's own `Tracer` or `PcapWriter`), and reach the smoltcp
//! `Interface`; frames the interface transmits go back down the same chain.
//! [`capture::CaptureSink`] (the pcap and observers, via smoltcp's `PcapWriter`),
//! [`knobs::KnobsLayer`] (TCP rewriting for the knobs smoltcp has no setter for),
//! [`gate::SynGate`] and [`window::WindowGuard`] (a smoltcp 0.14 workaround: a peer's
//! first data kept inside our SYN-ACK's window) are such middlewares.

pub mod capture;
pub mod frame;
pub mod gate;
pub mod knobs;
pub mod sim;
pub mod tap;
pub mod window;
