//! Watching nftables: a subscription to its change notifications (NFNLGRP_NFTABLES on
//! NETLINK_NETFILTER), reduced to the one fact the daemon acts on: `inet rail` is gone
//! (`nft flush ruleset`, `nft delete table inet rail`), so it must be put back.
//!
//! rail's own updates never delete the table (`nft::update` flushes and refills chains), so
//! a deletion is always someone else's; only the daemon's stop and `rail flush` delete it.
//! When the kernel drops notifications (ENOBUFS, e.g. a burst of rail's own rules) the
//! deletion may have been among them: the daemon then looks whether the table is there.

use super::kernel::Error;
use crate::dataplane::nfnl::{attributes, NFNL_SUBSYS_NFTABLES};
use crate::netlink::wire::{messages, Message, NLMSG_OVERRUN};
use crate::netlink::Socket;

/// `NFNLGRP_NFTABLES` (linux/netfilter/nfnetlink.h).
const NFNLGRP_NFTABLES: u32 = 7;
/// `NFT_MSG_DELTABLE` (linux/netfilter/nf_tables.h).
const NFT_MSG_DELTABLE: u16 = 2;
const NFTA_TABLE_NAME: u16 = 1;
const NFPROTO_INET: u8 = 1;

pub struct NftWatch {
    socket: Socket,
}

/// What the notifications say about `inet rail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Deleted,
    /// Notifications were lost; it may have been deleted.
    Maybe,
}

impl NftWatch {
    pub fn open() -> Result<NftWatch, Error> {
        let socket = Socket::netfilter_events(&[NFNLGRP_NFTABLES])
            .map_err(|e| Error(format!("subscribing to nftables notifications: {e}")))?;
        Ok(NftWatch { socket })
    }

    /// Returns once `inet rail` was deleted (or may have been); `None` when the socket fails.
    pub async fn deleted(&mut self) -> Option<Gone> {
        loop {
            match self.socket.receive().await {
                Ok(datagram) => {
                    let mut gone = messages(&datagram).filter_map(|m| gone(&m));
                    if let Some(g) = gone.next() {
                        return Some(g);
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Some(Gone::Maybe),
                Err(e) => {
                    log::error!("nftables notifications: {e}");
                    return None;
                }
            }
        }
    }
}

/// What a notification says about `table inet rail`, if anything.
fn gone(m: &Message) -> Option<Gone> {
    if m.kind == NLMSG_OVERRUN {
        return Some(Gone::Maybe);
    }
    let deleted = m.kind == (u16::from(NFNL_SUBSYS_NFTABLES) << 8 | NFT_MSG_DELTABLE)
        && m.payload.first() == Some(&NFPROTO_INET)
        && attributes(m.payload).any(|(kind, value)| kind == NFTA_TABLE_NAME && value == b"rail\0");
    deleted.then_some(Gone::Deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::nfnl;

    fn delete_table(family: u8, name: &[u8]) -> Vec<u8> {
        nfnl::encode(&nfnl::Message {
            subsystem: NFNL_SUBSYS_NFTABLES,
            kind: NFT_MSG_DELTABLE as u8,
            flags: 0,
            family,
            attrs: &[(NFTA_TABLE_NAME, name)],
        })
    }

    fn says_deleted(bytes: &[u8]) -> bool {
        messages(bytes).any(|m| gone(&m) == Some(Gone::Deleted))
    }

    #[test]
    fn only_the_deletion_of_inet_rail_counts() {
        assert!(says_deleted(&delete_table(NFPROTO_INET, b"rail\0")));
        assert!(!says_deleted(&delete_table(NFPROTO_INET, b"fw4\0")));
        assert!(!says_deleted(&delete_table(2, b"rail\0")), "ip rail");
        let new_table = nfnl::encode(&nfnl::Message {
            subsystem: NFNL_SUBSYS_NFTABLES,
            kind: 0,
            flags: 0,
            family: NFPROTO_INET,
            attrs: &[(NFTA_TABLE_NAME, b"rail\0")],
        });
        assert!(!says_deleted(&new_table));
        let lost = crate::netlink::wire::Builder::new(NLMSG_OVERRUN, 0, &[]).finish();
        let said: Vec<_> = messages(&lost).filter_map(|m| gone(&m)).collect();
        assert_eq!(said, [Gone::Maybe]);
    }
}
