//! Frame devices for the stack: smoltcp [`Device`](smoltcp::phy::Device) implementations
//! and the middlewares that wrap them.
//!
//! Frames enter from a device (the Linux tap, [`tap::TapDevice`], or one end of the lab's
//! virtual wire, [`sim::SimEnd`]), pass through any middlewares stacked on it (each one
//! wraps the next, like smoltcp's own `Tracer` or `PcapWriter`), and reach the smoltcp
//! `Interface`; frames the interface transmits go back down the same chain.
//! [`capture::Capture`] (the pcap and observers, at the device's wire times),
//! [`faults::Faults`] (`serve --loss`) and [`knobs::KnobsLayer`] (TCP rewriting for the
//! knobs smoltcp has no setter for) are such middlewares.

pub mod capture;
pub mod faults;
pub mod frame;
pub mod knobs;
pub mod sim;
pub mod tap;
pub mod vnet;
