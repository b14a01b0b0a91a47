//! The `rail` ubus object: its methods, their argument policies (published as the object's
//! signature, so `ubus -v list rail` shows them), and the validation that turns a call into
//! a typed [`Request`] or UBUS_STATUS_INVALID_ARGUMENT.

use std::rc::Rc;

use super::client::{Method, Object, Reply};
use super::hotplug::{self, Action, Hotplug};
use super::wire::Status;
use crate::blob::{self, BlobMsg, Table, Type};
use crate::family::Af;
use crate::history::view::Span;

/// The object path rail publishes.
pub const PATH: &str = "rail";

/// A validated call on the `rail` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `ubus call rail status`: the content of `rail status --json`.
    Status,
    /// `ubus call rail reload`: re-read /etc/config/rail.
    Reload,
    /// `ubus call rail hotplug '{"action":"ifup","interface":"wan","device":"pppoe-wan"}'`.
    Hotplug(Hotplug),
    /// `ubus call rail maintenance '{"interface":"wan","enable":true}'`: take an uplink out
    /// of service (`enable: true`) or put it back.
    Maintenance { interface: String, enable: bool },
    /// `ubus call rail history '{"interface":"wan","family":"ipv4","span":"24h"}'`: the
    /// quality over time (every argument optional; span 10m, 1h (default) or 24h);
    /// `"chart": true` answers `{"chart": "..."}`, the text `rail history` prints.
    History {
        interface: Option<String>,
        family: Option<String>,
        span: Span,
        chart: bool,
    },
}

impl Request {
    /// The interface a request names (`hotplug`, `maintenance`, `history` of one).
    pub fn interface(&self) -> Option<&str> {
        match self {
            Request::Hotplug(h) => Some(&h.interface),
            Request::Maintenance { interface, .. } => Some(interface),
            Request::History { interface, .. } => interface.as_deref(),
            Request::Status | Request::Reload => None,
        }
    }
}

/// The methods and their argument types.
pub fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "status",
            args: vec![],
        },
        Method {
            name: "reload",
            args: vec![],
        },
        Method {
            name: "hotplug",
            args: vec![
                ("action", Type::String),
                ("interface", Type::String),
                ("device", Type::String),
            ],
        },
        Method {
            name: "maintenance",
            args: vec![("interface", Type::String), ("enable", Type::Bool)],
        },
        Method {
            name: "history",
            args: vec![
                ("interface", Type::String),
                ("family", Type::String),
                ("span", Type::String),
                ("chart", Type::Bool),
            ],
        },
    ]
}

/// The `rail` object, serving each validated request with `serve`. Invalid arguments, and
/// a request naming an interface `known` says rail does not have, are answered by this
/// layer (the latter with `Not found`, as netifd answers for an interface it does not
/// have) and never reach `serve`.
pub fn object(
    known: impl Fn(&Request) -> bool + 'static,
    serve: impl Fn(Request) -> Reply + 'static,
) -> Object {
    Object {
        path: PATH.to_string(),
        methods: methods(),
        handler: Rc::new(move |method, args| match parse(method, args) {
            // Not worth a warning: the hotplug script forwards every interface's events.
            Ok(request) if !known(&request) => Err(Status::NotFound),
            Ok(request) => serve(request),
            Err(status) => {
                // to_string, not Display: serde_json's Display is a second serializer.
                let args = serde_json::to_string(&blob::table_to_json(args)).unwrap_or_default();
                log::warn!("ubus: rejected rail {method} {args}: {status}");
                Err(status)
            }
        }),
    }
}

/// Validates a call. Unknown extra fields are ignored (as libubus `blobmsg_parse` does);
/// a missing or wrongly typed field is `InvalidArgument`.
pub fn parse(method: &str, args: &Table) -> Result<Request, Status> {
    match method {
        "status" => Ok(Request::Status),
        "reload" => Ok(Request::Reload),
        "hotplug" => {
            let action = Action::parse(string(args, "action")?.ok_or(Status::InvalidArgument)?)
                .ok_or(Status::InvalidArgument)?;
            let interface = interface(args)?;
            let device = match string(args, "device")? {
                None | Some("") => None,
                Some(d) if hotplug::valid_device_name(d) => Some(d.to_string()),
                Some(_) => return Err(Status::InvalidArgument),
            };
            Ok(Request::Hotplug(Hotplug {
                action,
                interface,
                device,
            }))
        }
        "maintenance" => {
            let interface = interface(args)?;
            match blob::get(args, "enable") {
                Some(BlobMsg::Bool(enable)) => Ok(Request::Maintenance {
                    interface,
                    enable: *enable,
                }),
                _ => Err(Status::InvalidArgument),
            }
        }
        "history" => {
            let interface = match string(args, "interface")? {
                None => None,
                Some(_) => Some(interface(args)?),
            };
            let family = match string(args, "family")? {
                None => None,
                Some(f) => match Af::from_word(f) {
                    Some(af) => Some(af.word().to_string()),
                    None => return Err(Status::InvalidArgument),
                },
            };
            let span = match string(args, "span")? {
                None => Span::Hour,
                Some(s) => Span::parse(s).ok_or(Status::InvalidArgument)?,
            };
            let chart = match blob::get(args, "chart") {
                None => false,
                Some(BlobMsg::Bool(b)) => *b,
                Some(_) => return Err(Status::InvalidArgument),
            };
            Ok(Request::History {
                interface,
                family,
                span,
                chart,
            })
        }
        _ => Err(Status::MethodNotFound),
    }
}

fn string<'a>(args: &'a Table, name: &str) -> Result<Option<&'a str>, Status> {
    match blob::get(args, name) {
        None => Ok(None),
        Some(BlobMsg::String(s)) => Ok(Some(s)),
        Some(_) => Err(Status::InvalidArgument),
    }
}

fn interface(args: &Table) -> Result<String, Status> {
    match string(args, "interface")? {
        Some(name) if hotplug::valid_interface_name(name) => Ok(name.to_string()),
        _ => Err(Status::InvalidArgument),
    }
}
