//! Conntrack by mark over ctnetlink: delete the flows of one uplink, count flows per uplink.
//!
//! Both requests carry `CTA_MARK` and `CTA_MARK_MASK` (big-endian): without the mask some
//! kernels flush the whole table.

use std::collections::BTreeMap;

use super::kernel::Error;
use crate::dataplane::nfnl::{by_mark, CTA_MARK, IPCTNL_MSG_CT_GET, NLM_F_ACK, NLM_F_DUMP};
use crate::netlink::{wire, Socket};

const IPCTNL_MSG_CT_DELETE: u8 = 2;

/// A ctnetlink socket.
pub struct Conntrack {
    socket: Socket,
}

impl Conntrack {
    pub fn open() -> Result<Conntrack, Error> {
        let socket = Socket::netfilter()
            .map_err(|e| Error(format!("opening conntrack netlink socket: {e}")))?;
        Ok(Conntrack { socket })
    }

    /// Delete every flow whose `ct mark & mask == mark`, and nothing else.
    pub async fn delete_mark(&mut self, mark: u32, mask: u32) -> Result<(), Error> {
        let request = by_mark(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, None, (mark, mask));
        match self.socket.exchange_with(request, |_| {}).await {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(Error(format!(
                "deleting conntrack flows with mark {mark:#010x}/{mask:#010x}: {e}"
            ))),
        }
    }

    /// How many flows carry each value of `ct mark & mask` (flows without rail bits left out).
    pub async fn count_by_mark(&mut self, mask: u32) -> Result<BTreeMap<u32, usize>, Error> {
        let mut counts = BTreeMap::new();
        let count = |flow: wire::Message<'_>| {
            let mark = crate::dataplane::nfnl::attributes(flow.payload)
                .filter(|(kind, _)| *kind == CTA_MARK)
                .find_map(|(_, v)| Some(u32::from_be_bytes(v.try_into().ok()?)));
            if let Some(bits) = mark.map(|m| m & mask).filter(|b| *b != 0) {
                *counts.entry(bits).or_insert(0) += 1;
            }
        };
        let request = by_mark(IPCTNL_MSG_CT_GET, NLM_F_DUMP, None, (0, 0));
        self.socket
            .exchange_with(request, count)
            .await
            .map_err(|e| Error(format!("dumping conntrack: {e}")))?;
        Ok(counts)
    }
}
