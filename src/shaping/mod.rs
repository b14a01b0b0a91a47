//! Per-uplink egress shaping: a TBF root qdisc at the interface's `rate` on its device,
//! put in place over netlink on every ifup and every new device (a PPPoE reconnect brings a
//! new ifindex with the kernel's default qdisc), and removed when rail stops.
//!
//! rail never fights another shaper: a root qdisc it did not install (SQM's cake or HTB,
//! qosify, a hand-made tc setup) is left alone, and the log says so. See docs/shaping.md.

mod tbf;

pub use tbf::{Root, Tbf, HANDLE};

use crate::config::Rate;
use crate::dataplane::kernel::request;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage, TcOption};
use netlink_packet_route::RouteNetlinkMessage;
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
        handle: &mut rtnetlink::Handle,
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
    pub async fn stop(&mut self, handle: &mut rtnetlink::Handle) {
        for ifindex in std::mem::take(&mut self.shaped).into_keys() {
            if let Err(e) = remove(handle, ifindex).await {
                log::error!("shaping: ifindex {ifindex}: cannot remove rail's tbf: {e}");
            }
        }
    }
}

/// Shape egress of device `ifindex` to `rate`. Idempotent: call it on every ifup, every
/// device recreation and every reload.
pub async fn apply(
    handle: &mut rtnetlink::Handle,
    ifindex: u32,
    rate: Rate,
) -> io::Result<Applied> {
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
    let mut msg = TcMessage::with_index(index(ifindex)?);
    msg.header.parent = TcHandle::ROOT;
    msg.header.handle = HANDLE;
    msg.attributes = vec![
        TcAttribute::Kind("tbf".into()),
        TcAttribute::Options(want.options()),
    ];
    request(
        handle,
        RouteNetlinkMessage::NewQueueDiscipline(msg),
        NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
    )
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
pub async fn remove(handle: &mut rtnetlink::Handle, ifindex: u32) -> io::Result<bool> {
    let Some((Root::Rail, _)) = root(handle, ifindex).await? else {
        return Ok(false);
    };
    let mut msg = TcMessage::with_index(index(ifindex)?);
    msg.header.parent = TcHandle::ROOT;
    msg.header.handle = HANDLE;
    match request(
        handle,
        RouteNetlinkMessage::DelQueueDiscipline(msg),
        NLM_F_ACK,
    )
    .await
    {
        Ok(_) => {
            log::info!("shaping: ifindex {ifindex} unshaped");
            Ok(true)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The device's root qdisc and its options, if it has one.
async fn root(
    handle: &mut rtnetlink::Handle,
    ifindex: u32,
) -> io::Result<Option<(Root, Vec<TcOption>)>> {
    let ifindex = index(ifindex)?;
    let dump = request(
        handle,
        RouteNetlinkMessage::GetQueueDiscipline(TcMessage::with_index(ifindex)),
        NLM_F_DUMP,
    )
    .await?;
    Ok(dump.into_iter().find_map(|m| match m {
        RouteNetlinkMessage::NewQueueDiscipline(q)
            if q.header.index == ifindex && q.header.parent == TcHandle::ROOT =>
        {
            let mut kind = String::new();
            let mut options = Vec::new();
            for a in q.attributes {
                match a {
                    TcAttribute::Kind(k) => kind = k,
                    TcAttribute::Options(o) => options = o,
                    _ => {}
                }
            }
            Some((Root::of(&kind, q.header.handle), options))
        }
        _ => None,
    }))
}

async fn mtu(handle: &mut rtnetlink::Handle, ifindex: u32) -> io::Result<u32> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    let reply = request(handle, RouteNetlinkMessage::GetLink(msg), 0).await?;
    Ok(reply
        .into_iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => l.attributes.into_iter().find_map(|a| match a {
                LinkAttribute::Mtu(mtu) => Some(mtu),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or(1500))
}

fn index(ifindex: u32) -> io::Result<i32> {
    i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))
}
