//! Shared by the benchmark's baseline servers (`bench_smoltcp`, `bench_epoll`): the site
//! in memory ([`site`]) and one HTTP connection's requests and responses ([`conn`]), so
//! that both baselines give the same answers and differ only in their TCP.
//!
//! Each server uses a different part of it, hence no dead-code warnings here.
#![allow(dead_code)]

pub mod conn;
pub mod site;
