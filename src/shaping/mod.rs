//! Per-uplink egress shaping: a TBF root qdisc at the interface's `rate` on its device,
//! put in place over netlink on every ifup and every new device (a PPPoE reconnect brings a
//! new ifindex with the kernel's default qdisc), and removed when rail stops.
//!
//! rail never fights another shaper: a root qdisc it did not install (SQM's cake or HTB,
//! qosify, a hand-made tc setup) is left alone, and the log says so. See docs/shaping.md.

mod tbf;

pub use tbf::{Root, Tbf, TcHandle, HANDLE};

use crate::config::Rate;
use crate::netlink::route::{Link, Qdisc, RTM_DELQDISC, RTM_NEWLINK, RTM_NEWQDISC, TC_H_ROOT};
use crate::netlink::wire::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE};
use crate::netlink::Socket;
use std::collections::BTreeMap;
use std::io;

/// What `apply` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// rail's TBF is now on the device (new, or changed to the rate).
    Installed,
    /// It already was, with the same rate: left untouched (its queue kept).
    Unchanged,
    /// Another root qdisc is there; nothing was changed.
    Foreign { kind: String, handle: TcHandle },
}

/// The daemon's view: which devices rail shaped, so that a reload that drops `rate` and
/// a stop undo exactly those.
#[derive(Debug, Default)]
pub struct Shaper {
    shaped: BTreeMap<u32, Rate>,
}

impl Shaper {
    /// An uplink's device is there (start, ifup, new device, reload): shape it to `rate`,
    /// or unshape it if rail shaped it and `rate` is now `None`.
    pub async fn device(
        &mut self,
        handle: &mut Socket,
        ifindex: u32,
        rate: Option<Rate>,
    ) -> io::Result<()> {
        match rate {
            Some(rate) => {
                // Unchanged: rail's own, left by an earlier run; this run removes it on stop.
                let applied = apply(handle, ifindex, rate).await?;
                if !matches!(applied, Applied::Foreign { .. }) {
                    self.shaped.insert(ifindex, rate);
                }
            }
            None => {
                if self.shaped.remove(&ifindex).is_some() {
                    remove(handle, ifindex).await?;
                }
            }
        }
        Ok(())
    }

    /// The device is gone; its qdisc went with it.
    pub fn gone(&mut self, ifindex: u32) {
        self.shaped.remove(&ifindex);
    }

    /// rail stops: remove every TBF it installed.
    pub async fn stop(&mut self, handle: &mut Socket) {
        for ifindex in std::mem::take(&mut self.shaped).into_keys() {
            if let Err(e) = remove(handle, ifindex).await {
                log::error!("shaping: ifindex {ifindex}: cannot remove rail's tbf: {e}");
            }
        }
    }
}

/// Shape egress of device `ifindex` to `rate`. Idempotent: call it on every ifup, every
/// device recreation and every reload.
pub async fn apply(handle: &mut Socket, ifindex: u32, rate: Rate) -> io::Result<Applied> {
    let want = Tbf::new(rate, mtu(handle, ifindex).await?);
    match root(handle, ifindex).await? {
        Some((Root::Foreign { kind, handle: h }, _)) => {
            log::warn!(
                "shaping: ifindex {ifindex} not shaped to {rate}: its root qdisc {kind} {:x}: was not installed by rail (SQM?); leaving it alone",
                h.major
            );
            return Ok(Applied::Foreign { kind, handle: h });
        }
        Some((Root::Rail, options)) if want.same_as(&options) => return Ok(Applied::Unchanged),
        _ => {}
    }
    let msg = Qdisc {
        kind: "tbf".into(),
        options: want.options(),
        ..rails(ifindex)
    };
    let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    handle
        .exchange(msg.encode(RTM_NEWQDISC, flags).finish())
        .await?;
    log::info!(
        "shaping: ifindex {ifindex} shaped to {rate} (tbf, burst {} B, queue {} B)",
        want.burst,
        want.limit
    );
    Ok(Applied::Installed)
}

/// Remove rail's TBF from device `ifindex` (the kernel puts its default back). True when
/// there was one; a device that is gone, or someone else's qdisc, is not an error.
pub async fn remove(handle: &mut Socket, ifindex: u32) -> io::Result<bool> {
    let Some((Root::Rail, _)) = root(handle, ifindex).await? else {
        return Ok(false);
    };
    let msg = rails(ifindex).encode(RTM_DELQDISC, NLM_F_ACK);
    match handle.exchange(msg.finish()).await {
        Ok(_) => {
            log::info!("shaping: ifindex {ifindex} unshaped");
            Ok(true)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

/// rail's root qdisc on device `ifindex`, without kind and options.
fn rails(ifindex: u32) -> Qdisc {
    Qdisc {
        ifindex,
        handle: HANDLE.into(),
        parent: TC_H_ROOT,
        ..Qdisc::default()
    }
}

/// The device's root qdisc and its options (the TCA_OPTIONS attributes), if it has one.
async fn root(handle: &mut Socket, ifindex: u32) -> io::Result<Option<(Root, Vec<u8>)>> {
    let dump = handle.exchange(Qdisc::dump(ifindex).finish()).await?;
    Ok(dump
        .iter()
        .filter(|r| r.kind == RTM_NEWQDISC)
        .filter_map(|r| Qdisc::decode(&r.payload))
        .find(|q| q.ifindex == ifindex && q.parent == TC_H_ROOT)
        .map(|q| (Root::of(&q.kind, TcHandle::from(q.handle)), q.options)))
}

async fn mtu(handle: &mut Socket, ifindex: u32) -> io::Result<u32> {
    let reply = handle.exchange(Link::get(ifindex, None).finish()).await?;
    Ok(reply
        .iter()
        .filter(|r| r.kind == RTM_NEWLINK)
        .find_map(|r| Link::decode(&r.payload)?.mtu)
        .unwrap_or(1500))
}
