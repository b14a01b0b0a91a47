//! Reconcile as a pure plan: from what a dump showed of rail's rules and routes of one
//! family and what `Desired` wants of that family, the requests that make the kernel match
//! (adopt what is right, replace or add what differs or is missing, delete what is extra).
//! `kernel` dumps, then sends the plan in its order; the decisions are all here.

use std::collections::{BTreeMap, BTreeSet};

use super::layout::TableId;
use super::rtmsg::{route_spec, rule_spec};
use super::vocab::{RouteSpec, RuleAction, RuleSpec};
use crate::netlink::route::{Route, Rule};

/// A rule or route as a dump showed it: decoded, and its bytes, so that deleting it names
/// exactly what the kernel showed, attributes rail does not read included.
#[derive(Debug, Clone)]
pub struct Dumped<T> {
    pub msg: T,
    pub raw: Vec<u8>,
}

/// The requests of one family's reconcile, in the order they are sent: routes first, so
/// no rule ever points at a table that is still empty, then rules, then the deletions.
#[derive(Debug, Default)]
pub struct Plan {
    /// Routes to add, or to replace in place (their (table, metric) is rail's identity).
    pub set_routes: Vec<RouteSpec>,
    pub add_rules: Vec<RuleSpec>,
    /// Rules of rail's that are not wanted, or wanted once and dumped again.
    pub delete_rules: Vec<Dumped<Rule>>,
    /// Routes of rail's whose (table, metric) is not wanted at all.
    pub delete_routes: Vec<Dumped<Route>>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.set_routes.is_empty()
            && self.add_rules.is_empty()
            && self.delete_rules.is_empty()
            && self.delete_routes.is_empty()
    }
}

/// The tables whose routes a reconcile must read: the wanted ones, those rail installed
/// into during this run (`installed`), and those a dumped rule of rail's looks up.
pub fn tables_to_read(
    dumped_rules: &[Dumped<Rule>],
    wanted_routes: &[RouteSpec],
    installed: impl IntoIterator<Item = TableId>,
) -> BTreeSet<TableId> {
    let mut tables: BTreeSet<TableId> = wanted_routes.iter().map(|r| r.table).collect();
    tables.extend(installed);
    tables.extend(
        dumped_rules
            .iter()
            .filter_map(|m| match rule_spec(&m.msg)?.action {
                RuleAction::Lookup(t) => Some(t),
                _ => None,
            }),
    );
    tables
}

/// What to send so that rail's rules and routes of one family (as dumped) become `wanted`.
pub fn plan(
    rules: Vec<Dumped<Rule>>,
    routes: Vec<Dumped<Route>>,
    wanted_rules: &[RuleSpec],
    wanted_routes: &[RouteSpec],
) -> Plan {
    let mut plan = Plan::default();
    let want: BTreeMap<(TableId, u32), &RouteSpec> = wanted_routes
        .iter()
        .map(|r| ((r.table, r.metric), r))
        .collect();
    let mut have: BTreeSet<(TableId, u32)> = BTreeSet::new();
    for m in routes {
        let spec = route_spec(&m.msg);
        match spec {
            Some(s)
                if want.get(&(s.table, s.metric)) == Some(&&s)
                    && have.insert((s.table, s.metric)) => {}
            // A route whose (table, metric) is wanted is replaced in place, not deleted.
            Some(s) if want.contains_key(&(s.table, s.metric)) => {}
            _ => plan.delete_routes.push(m),
        }
    }
    plan.set_routes = want
        .iter()
        .filter(|(key, _)| !have.contains(key))
        .map(|(_, r)| (*r).clone())
        .collect();
    let want_rules: BTreeSet<RuleSpec> = wanted_rules.iter().copied().collect();
    let mut have_rules = BTreeSet::new();
    for m in rules {
        match rule_spec(&m.msg) {
            Some(s) if want_rules.contains(&s) && have_rules.insert(s) => {}
            _ => plan.delete_rules.push(m),
        }
    }
    plan.add_rules = want_rules.difference(&have_rules).copied().collect();
    plan
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::dataplane::layout::Priority;
    use crate::dataplane::vocab::{RouteKind, Selector};
    use crate::netlink::route::tests::kernel_bytes::fixture;

    /// A rule or route captured from the kernel (netlink/fixtures), as a dump gives it.
    fn dumped<T>(bytes: &'static [u8], decode: fn(&[u8]) -> Option<T>) -> Dumped<T> {
        let raw = fixture(bytes);
        Dumped {
            msg: decode(raw).expect("a captured message decodes"),
            raw: raw.to_vec(),
        }
    }

    fn rules4() -> Vec<Dumped<Rule>> {
        vec![
            dumped(
                include_bytes!("../netlink/fixtures/rule4_suppress.bin"),
                Rule::decode,
            ),
            dumped(
                include_bytes!("../netlink/fixtures/rule4_fwmark.bin"),
                Rule::decode,
            ),
            dumped(
                include_bytes!("../netlink/fixtures/rule4_iif_lo.bin"),
                Rule::decode,
            ),
        ]
    }

    fn route4() -> Dumped<Route> {
        dumped(
            include_bytes!("../netlink/fixtures/route4_multipath.bin"),
            Route::decode,
        )
    }

    fn table(n: u32) -> TableId {
        TableId::owned(n).unwrap()
    }

    fn priority(n: u32) -> Priority {
        Priority::owned(n).unwrap()
    }

    /// What rail wants when the kernel already shows exactly the captured IPv4 state.
    fn wanted4() -> (Vec<RuleSpec>, Vec<RouteSpec>) {
        let rules = vec![
            RuleSpec {
                priority: priority(4000),
                selector: Selector::All,
                action: RuleAction::MainWithoutDefault,
            },
            RuleSpec {
                priority: priority(4200),
                selector: Selector::FwMark {
                    mark: 0x0100_0000,
                    mask: 0x3f00_0000,
                },
                action: RuleAction::Lookup(table(20001)),
            },
            RuleSpec {
                priority: priority(4900),
                selector: Selector::Local,
                action: RuleAction::Lookup(table(20201)),
            },
        ];
        let routes = vec![route_spec(&route4().msg).unwrap()];
        (rules, routes)
    }

    #[test]
    fn what_the_kernel_already_has_is_adopted() {
        let (rules, routes) = wanted4();
        let p = plan(rules4(), vec![route4()], &rules, &routes);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn differences_become_replacements_additions_and_deletions() {
        let (mut rules, mut routes) = wanted4();
        // The policy table's route becomes unreachable: replaced in place, never deleted.
        routes[0].kind = RouteKind::Unreachable;
        // The router's own connections no longer have a rule; a source rule is new.
        rules.retain(|r| r.selector != Selector::Local);
        let from = RuleSpec {
            priority: priority(4001),
            selector: Selector::From("192.0.2.2".parse().unwrap()),
            action: RuleAction::Lookup(table(20001)),
        };
        rules.push(from);
        let p = plan(rules4(), vec![route4()], &rules, &routes);
        assert_eq!(p.set_routes, routes);
        assert_eq!(p.add_rules, [from]);
        let deleted: Vec<Option<u32>> = p.delete_rules.iter().map(|d| d.msg.priority).collect();
        assert_eq!(deleted, [Some(4900)]);
        assert_eq!(p.delete_rules[0].raw, rules4()[2].raw, "deleted as dumped");
        assert!(p.delete_routes.is_empty(), "{:?}", p.delete_routes);
    }

    #[test]
    fn a_rule_dumped_twice_is_deleted_once_and_kept_once() {
        let (rules, routes) = wanted4();
        let mut dump = rules4();
        dump.push(rules4().remove(1));
        let p = plan(dump, vec![route4()], &rules, &routes);
        assert!(p.add_rules.is_empty() && p.set_routes.is_empty());
        assert_eq!(p.delete_rules.len(), 1);
        assert_eq!(p.delete_rules[0].msg.priority, Some(4200));
    }

    #[test]
    fn ipv6_keeps_its_multipath_route_and_drops_the_old_prohibit() {
        let multipath = dumped(
            include_bytes!("../netlink/fixtures/route6_multipath.bin"),
            Route::decode,
        );
        let prohibit = dumped(
            include_bytes!("../netlink/fixtures/route6_prohibit.bin"),
            Route::decode,
        );
        let from = dumped(
            include_bytes!("../netlink/fixtures/rule6_from.bin"),
            Rule::decode,
        );
        let routes = vec![route_spec(&multipath.msg).unwrap()];
        let rules = vec![RuleSpec {
            priority: priority(4001),
            selector: Selector::From("2001:db8:100:1::2".parse().unwrap()),
            action: RuleAction::Lookup(table(20001)),
        }];
        let p = plan(
            vec![from.clone()],
            vec![multipath, prohibit],
            &rules,
            &routes,
        );
        assert!(p.set_routes.is_empty() && p.add_rules.is_empty() && p.delete_rules.is_empty());
        let gone: Vec<u32> = p.delete_routes.iter().map(|d| d.msg.table()).collect();
        assert_eq!(
            gone,
            [20001],
            "the prohibit rail 0.1.0 left in an uplink table"
        );
        // The uplink table its rule looks up is read even though no route is wanted there.
        assert_eq!(
            tables_to_read(&[from], &routes, []),
            BTreeSet::from([table(20001), table(20202)])
        );
    }

    #[test]
    fn tables_read_include_the_ones_installed_during_this_run() {
        let (_, routes) = wanted4();
        let read = tables_to_read(&rules4(), &routes, [table(20005)]);
        assert_eq!(
            read,
            BTreeSet::from([table(20001), table(20005), table(20201)])
        );
    }
}
