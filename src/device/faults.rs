//! `serve --loss`: smoltcp's [`FaultInjector`], in the chain only when asked for.
//!
//! The injector copies every received frame into a buffer of its own and limits frames
//! to 1536 bytes, which a loss-free server (or one with a larger MTU) must not pay for.
//! [`Faults`] is the device either with or without it, so that the chain has one type.
//! Frames pass through unchanged in `Off`; in `On`, each direction loses the configured
//! share (seeded).

use smoltcp::phy::{Device, DeviceCapabilities, FaultInjector, PacketMeta, RxToken, TxToken};
use smoltcp::time::Instant;

pub enum Faults<D: Device> {
    Off(D),
    // Boxed: the injector carries two 1.5 KiB buffers that a loss-free chain need not.
    On(Box<FaultInjector<D>>),
}

impl<D: Device> Faults<D> {
    /// `device` losing `percent` of the frames each way (seeded); no injector at 0.
    pub fn new(device: D, percent: u8, seed: u32) -> Self {
        if percent == 0 {
            return Faults::Off(device);
        }
        let mut f = FaultInjector::new(device, seed);
        f.set_drop_chance(percent);
        Faults::On(Box::new(f))
    }
}

pub enum EitherRx<A, B> {
    A(A),
    B(B),
}

pub enum EitherTx<A, B> {
    A(A),
    B(B),
}

impl<A: RxToken, B: RxToken> RxToken for EitherRx<A, B> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            EitherRx::A(t) => t.consume(f),
            EitherRx::B(t) => t.consume(f),
        }
    }

    fn meta(&self) -> PacketMeta {
        match self {
            EitherRx::A(t) => t.meta(),
            EitherRx::B(t) => t.meta(),
        }
    }
}

impl<A: TxToken, B: TxToken> TxToken for EitherTx<A, B> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        match self {
            EitherTx::A(t) => t.consume(len, f),
            EitherTx::B(t) => t.consume(len, f),
        }
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        match self {
            EitherTx::A(t) => t.set_meta(meta),
            EitherTx::B(t) => t.set_meta(meta),
        }
    }
}

impl<D: Device> Device for Faults<D> {
    type RxToken<'a>
        = EitherRx<D::RxToken<'a>, <FaultInjector<D> as Device>::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = EitherTx<D::TxToken<'a>, <FaultInjector<D> as Device>::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        match self {
            Faults::Off(d) => d
                .receive(now)
                .map(|(r, t)| (EitherRx::A(r), EitherTx::A(t))),
            Faults::On(f) => f
                .receive(now)
                .map(|(r, t)| (EitherRx::B(r), EitherTx::B(t))),
        }
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        match self {
            Faults::Off(d) => d.transmit(now).map(EitherTx::A),
            Faults::On(f) => f.transmit(now).map(EitherTx::B),
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        match self {
            Faults::Off(d) => d.capabilities(),
            Faults::On(f) => f.capabilities(),
        }
    }
}
