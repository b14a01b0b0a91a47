//! The shell that makes the kernel match a `Desired`: rules and routes over rtnetlink, the
//! `inet rail` table through one `nft -f -` transaction that keeps its sets (`nft::update`),
//! and the sysctls rail relies on.
//!
//! Ownership is by number (see `layout`): rules in rail's priority range stamped with its
//! protocol, routes in rail's tables stamped with its protocol, the nft table `inet rail`.
//! Reconciling dumps only rail's own tables (strict dump filtering), so its cost does not
//! grow with main, and sends what the pure `plan` decides; failover sends one route
//! replace per changed policy table, no dump.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::dataplane::desired::Desired;
use crate::dataplane::layout::TableId;
use crate::dataplane::nfnl;
use crate::dataplane::nft::TABLE;
use crate::dataplane::plan::{self, Dumped, Plan};
use crate::dataplane::rtmsg::{
    af_of, describe_route, describe_rule, nl_family, route_dump, route_is_owned, route_message_in,
    rule_is_owned, rule_message_in,
};
use crate::dataplane::vocab::{Carrying, RouteSpec, RuleSpec};
use crate::family::Af;
use crate::netlink::route::{
    Route, Rule, RTM_DELROUTE, RTM_DELRULE, RTM_GETROUTE, RTM_GETRULE, RTM_NEWROUTE, RTM_NEWRULE,
};
use crate::netlink::wire::{Builder, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE};
use crate::netlink::{Reply, Socket};

/// What went wrong, with the operation that failed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// What one reconciliation changed (all zero when the kernel already matched).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub rules_added: usize,
    pub rules_deleted: usize,
    pub routes_set: usize,
    pub routes_deleted: usize,
    pub nft_updated: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rules +{} -{}, routes set {} deleted {}, nft {}",
            self.rules_added,
            self.rules_deleted,
            self.routes_set,
            self.routes_deleted,
            if self.nft_updated {
                "updated"
            } else {
                "unchanged"
            }
        )
    }
}

/// The request that deletes a dumped rule or route, exactly as the kernel showed it.
fn delete<T>(dumped: &Dumped<T>, kind: u16) -> Builder {
    Builder::new(kind, NLM_F_ACK, &dumped.raw)
}

/// A connection to the kernel's routing netlink, plus what rail last installed.
pub struct Kernel {
    route: Socket,
    /// The nft text last applied; `None` forces the next reconcile to apply it.
    nft_applied: Option<String>,
    /// Routes last installed in policy tables, for failover without a dump.
    policy_routes: BTreeMap<(Af, TableId), RouteSpec>,
    /// Every table rail installed into during this run, per family.
    tables: BTreeSet<(Af, TableId)>,
    /// The uplinks carrying each policy's new connections after the last change.
    active: BTreeSet<Carrying>,
    /// nfnetlink, for flushing sticky sets without touching the table.
    nfnl: Socket,
}

impl Kernel {
    /// Open the netlink sockets (rtnetlink with strict dumps, so the kernel filters them
    /// by table and rail reads only its own; nfnetlink for the sticky sets).
    pub fn connect() -> Result<Kernel, Error> {
        let route = Socket::route().map_err(|e| Error(format!("opening rtnetlink socket: {e}")))?;
        let nfnl =
            Socket::netfilter().map_err(|e| Error(format!("opening nfnetlink socket: {e}")))?;
        Ok(Kernel {
            route,
            nft_applied: None,
            policy_routes: BTreeMap::new(),
            tables: BTreeSet::new(),
            active: BTreeSet::new(),
            nfnl,
        })
    }

    /// The rtnetlink socket, for the few shell modules beside the dataplane (shaping).
    pub fn handle_mut(&mut self) -> &mut Socket {
        &mut self.route
    }

    /// Forget what was applied so the next `reconcile` re-applies the nft table too (after
    /// a lost netlink event burst, or to repair hand edits of `inet rail`).
    pub fn invalidate(&mut self) {
        self.nft_applied = None;
    }

    /// Whether `inet rail` is in the kernel.
    pub async fn nft_present(&self) -> bool {
        nft(&["-t", "list", "table", "inet", "rail"], None)
            .await
            .is_ok()
    }

    /// Make rail's rules, routes, nft table and sysctls match `desired`: adopt what is
    /// already right, delete what is extra or different, add what is missing.
    pub async fn reconcile(&mut self, desired: &Desired) -> Result<Changes, Error> {
        let mut changes = Changes::default();
        set_sysctls(desired)?;
        if self.nft_applied.as_deref() != Some(desired.nft.as_str()) {
            apply_nft(&desired.nft).await?;
            self.nft_applied = Some(desired.nft.clone());
            changes.nft_updated = true;
        }
        for af in Af::BOTH {
            self.reconcile_family(af, &desired.rules[af], &desired.routes[af], &mut changes)
                .await?;
        }
        self.forget_sticky(desired).await?;
        self.active = desired.active.clone();
        self.tables = Af::BOTH
            .into_iter()
            .flat_map(|af| desired.routes[af].iter().map(move |r| (af, r.table)))
            .collect();
        self.policy_routes = policy_routes(desired);
        Ok(changes)
    }

    /// One family's rules and routes: dump rail's, plan (`plan`), send the plan.
    async fn reconcile_family(
        &mut self,
        af: Af,
        rules_wanted: &[RuleSpec],
        routes_wanted: &[RouteSpec],
        changes: &mut Changes,
    ) -> Result<(), Error> {
        let rules = self.dump_rules(af).await?;
        let installed = self
            .tables
            .iter()
            .filter(|(f, _)| *f == af)
            .map(|(_, t)| *t);
        let mut routes = Vec::new();
        for table in plan::tables_to_read(&rules, routes_wanted, installed) {
            routes.extend(self.dump_routes(af, Some(table)).await?);
        }
        let plan = plan::plan(rules, routes, rules_wanted, routes_wanted);
        self.execute(af, plan, changes).await
    }

    /// Send a reconcile plan, in its order, counting what changed.
    async fn execute(&mut self, af: Af, plan: Plan, changes: &mut Changes) -> Result<(), Error> {
        for route in &plan.set_routes {
            self.set_route(af, route).await?;
            changes.routes_set += 1;
        }
        for rule in &plan.add_rules {
            let msg = rule_message_in(af, rule).encode(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE);
            self.ack(msg).await.map_err(|e| {
                let rule = describe_rule(rule);
                Error(format!("adding {} rule {rule}: {e}", af.word()))
            })?;
            changes.rules_added += 1;
        }
        for m in &plan.delete_rules {
            self.ack(delete(m, RTM_DELRULE))
                .await
                .map_err(|e| Error(format!("deleting stale {} rule: {e}", af.word())))?;
            changes.rules_deleted += 1;
        }
        for m in &plan.delete_routes {
            self.ack(delete(m, RTM_DELROUTE))
                .await
                .map_err(|e| Error(format!("deleting stale {} route: {e}", af.word())))?;
            changes.routes_deleted += 1;
        }
        Ok(())
    }

    /// Failover and failback: bring the policy tables to `desired` with one route replace
    /// (or delete, for `last_resort default`) per policy whose route changed. Touches
    /// nothing else; needs a previous `reconcile`.
    pub async fn apply_policy_routes(&mut self, desired: &Desired) -> Result<usize, Error> {
        let want = policy_routes(desired);
        let mut sent = 0;
        for (key, route) in &want {
            if self.policy_routes.get(key) != Some(route) {
                self.set_route(key.0, route).await?;
                self.policy_routes.insert(*key, route.clone());
                sent += 1;
            }
        }
        let gone: Vec<(Af, RouteSpec)> = self
            .policy_routes
            .iter()
            .filter(|(k, _)| !want.contains_key(k))
            .map(|((af, _), r)| (*af, r.clone()))
            .collect();
        for (af, route) in gone {
            let msg = route_message_in(af, &route).encode(RTM_DELROUTE, NLM_F_ACK);
            match self.ack(msg).await {
                Ok(()) => {}
                // Already gone is what we wanted.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    return Err(Error(format!(
                        "deleting route in table {}: {e}",
                        route.table.value()
                    )))
                }
            }
            self.policy_routes.remove(&(af, route.table));
            sent += 1;
        }
        self.forget_sticky(desired).await?;
        self.active = desired.active.clone();
        Ok(sent)
    }

    /// Unpin the sources pinned to uplinks that no longer carry new connections: one
    /// nftables netlink batch flushing each of their sticky sets.
    async fn forget_sticky(&mut self, desired: &Desired) -> Result<(), Error> {
        const NFT_MSG_DELSETELEM: u8 = 14;
        const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
        const NFTA_SET_ELEM_LIST_SET: u16 = 2;
        const NFPROTO_INET: u8 = 1;
        for (key, set) in &desired.sticky_sets {
            if !self.active.contains(key) || desired.active.contains(key) {
                continue;
            }
            let name = format!("{set}\0");
            let attrs: [(u16, &[u8]); 2] = [
                (NFTA_SET_ELEM_LIST_TABLE, b"rail\0"),
                (NFTA_SET_ELEM_LIST_SET, name.as_bytes()),
            ];
            // A DELSETELEM without elements flushes the set.
            let m = nfnl::Message {
                subsystem: nfnl::NFNL_SUBSYS_NFTABLES,
                kind: NFT_MSG_DELSETELEM,
                flags: nfnl::NLM_F_ACK,
                family: NFPROTO_INET,
                attrs: &attrs,
            };
            self.nfnl
                .exchange(nfnl::batch(&m))
                .await
                .map_err(|e| Error(format!("flushing sticky set {set}: {e}")))?;
        }
        Ok(())
    }

    /// Remove everything rail owns: its rules, every route it stamped in its tables, and the
    /// `inet rail` table. Safe to run when nothing is there.
    pub async fn flush(&mut self) -> Result<Changes, Error> {
        let mut changes = Changes::default();
        for af in Af::BOTH {
            for m in self.dump_rules(af).await? {
                self.ack(delete(&m, RTM_DELRULE))
                    .await
                    .map_err(|e| Error(format!("deleting {} rule: {e}", af.word())))?;
                changes.rules_deleted += 1;
            }
            for m in self.dump_routes(af, None).await? {
                self.ack(delete(&m, RTM_DELROUTE))
                    .await
                    .map_err(|e| Error(format!("deleting {} route: {e}", af.word())))?;
                changes.routes_deleted += 1;
            }
        }
        changes.nft_updated = delete_nft().await?;
        self.nft_applied = None;
        self.policy_routes.clear();
        self.tables.clear();
        self.active.clear();
        Ok(changes)
    }

    async fn set_route(&mut self, af: Af, route: &RouteSpec) -> Result<(), Error> {
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        self.ack(route_message_in(af, route).encode(RTM_NEWROUTE, flags))
            .await
            .map_err(|e| {
                Error(format!(
                    "setting {} {} in table {}: {e}",
                    af.word(),
                    describe_route(&route.kind),
                    route.table.value()
                ))
            })
    }

    /// rail's rules of one family.
    async fn dump_rules(&mut self, af: Af) -> Result<Vec<Dumped<Rule>>, Error> {
        let req = Rule {
            family: nl_family(af),
            ..Rule::default()
        };
        let all = match self.request(req.encode(RTM_GETRULE, NLM_F_DUMP)).await {
            Ok(all) => all,
            Err(e) if no_family(&e) => Vec::new(),
            Err(e) => return Err(Error(format!("dumping {} rules: {e}", af.word()))),
        };
        Ok(decoded(all, RTM_NEWRULE, Rule::decode)
            .filter(|r| rule_is_owned(&r.msg) && af_of(r.msg.family) == af)
            .collect())
    }

    /// rail's routes in one table (a missing table is empty), or in all its tables.
    async fn dump_routes(
        &mut self,
        af: Af,
        table: Option<TableId>,
    ) -> Result<Vec<Dumped<Route>>, Error> {
        let req = route_dump(af, table).encode(RTM_GETROUTE, NLM_F_DUMP);
        match self.request(req).await {
            Ok(all) => Ok(decoded(all, RTM_NEWROUTE, Route::decode)
                .filter(|r| route_is_owned(&r.msg) && af_of(r.msg.family) == af)
                .filter(|r| table.is_none_or(|t| r.msg.table() == t.value()))
                .collect()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) || no_family(&e) => Ok(Vec::new()),
            Err(e) => Err(Error(format!("dumping routes: {e}"))),
        }
    }

    /// Send a request (with NLM_F_ACK) and wait for its acknowledgement.
    pub(crate) async fn ack(&mut self, msg: Builder) -> std::io::Result<()> {
        self.route.exchange(msg.finish()).await.map(drop)
    }

    /// Send a request (a dump, or a get of one object with NLM_F_ACK) and collect the
    /// answers.
    pub(crate) async fn request(&mut self, msg: Builder) -> std::io::Result<Vec<Reply>> {
        self.route.exchange(msg.finish()).await
    }
}

/// The answers of type `kind` that decode, with their bytes.
fn decoded<T>(
    replies: Vec<Reply>,
    kind: u16,
    decode: fn(&[u8]) -> Option<T>,
) -> impl Iterator<Item = Dumped<T>> {
    replies
        .into_iter()
        .filter(move |r| r.kind == kind)
        .filter_map(move |r| {
            Some(Dumped {
                msg: decode(&r.payload)?,
                raw: r.payload,
            })
        })
}

/// A kernel built without IPv6 refuses its dumps: it has no IPv6 state of rail's either.
fn no_family(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

/// The policy-table routes of both families, keyed as `Kernel` remembers them.
fn policy_routes(desired: &Desired) -> BTreeMap<(Af, TableId), RouteSpec> {
    Af::BOTH
        .into_iter()
        .flat_map(|af| {
            desired
                .policy_routes(af)
                .map(move |r| ((af, r.table), r.clone()))
        })
        .collect()
}

/// `rail flush`: remove everything rail owns, for a caller outside any executor.
pub fn flush_now() -> Result<Changes, Error> {
    smol::block_on(async { Kernel::connect()?.flush().await })
}

/// The sysctls rail depends on: an L4 hash so connections, not destinations, are spread
/// over a multipath route; loose reverse-path filtering on uplinks, whose replies may come
/// back on a device that is not main's route to the source; carrier-less nexthops ignored.
fn set_sysctls(desired: &Desired) -> Result<(), Error> {
    let mut settings = vec![("net/ipv4/fib_multipath_hash_policy".to_string(), "1")];
    if !desired.routes[Af::Inet6].is_empty() {
        settings.push(("net/ipv6/fib_multipath_hash_policy".to_string(), "1"));
    }
    for dev in &desired.uplink_devices {
        settings.push((format!("net/ipv4/conf/{dev}/rp_filter"), "2"));
        // Reverse-path checks of replies then use the packet's (restored) mark, so they
        // find the uplink's table even when main has no default route.
        settings.push((format!("net/ipv4/conf/{dev}/src_valid_mark"), "1"));
        // A nexthop without carrier is skipped, also by routes rail leaves behind when it
        // is killed (docs/reliability.md): the kernel then fails over on carrier loss alone.
        settings.push((
            format!("net/ipv4/conf/{dev}/ignore_routes_with_linkdown"),
            "1",
        ));
    }
    for (key, value) in settings {
        let path = format!("/proc/sys/{key}");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current.trim() != value {
            std::fs::write(&path, value)
                .map_err(|e| Error(format!("setting {} = {value}: {e}", key.replace('/', "."))))?;
        }
    }
    Ok(())
}

/// Run `nft` with `script` on stdin (or the arguments alone); the output, or its error.
async fn nft(args: &[&str], script: Option<&str>) -> Result<String, String> {
    use smol::io::AsyncWriteExt;
    use smol::process::{Command, Stdio};
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if script.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running nft: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (script, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|e| format!("writing to nft: {e}"))?;
    }
    let out = child
        .output()
        .await
        .map_err(|e| format!("running nft: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Bring `inet rail` to `table` in one transaction that keeps the elements of its sets.
async fn apply_nft(table: &str) -> Result<(), Error> {
    // Terse: the sets' declarations without their elements, which may be many.
    let present = nft(&["-t", "list", "table", "inet", "rail"], None)
        .await
        .unwrap_or_default();
    nft(
        &["-f", "-"],
        Some(&crate::dataplane::nft::update(&present, table)),
    )
    .await
    .map(drop)
    .map_err(|e| Error(format!("applying table {TABLE}: {e}")))
}

/// Delete `inet rail`; whether it was there.
async fn delete_nft() -> Result<bool, Error> {
    let existed = nft(&["list", "table", "inet", "rail"], None).await.is_ok();
    nft(
        &["-f", "-"],
        Some(&format!("table {TABLE} {{}}\ndelete table {TABLE}\n")),
    )
    .await
    .map_err(|e| Error(format!("deleting table {TABLE}: {e}")))?;
    Ok(existed)
}
