//! netlink's shell: the socket that sends a request and collects its answer.

pub mod socket;
