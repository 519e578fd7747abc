//! The `$SYS.REQ.*` requests a server answers, and its other internal subscriptions.
//! Each monitoring request takes the endpoint's options as its JSON body (decoded as Go
//! decodes them: field names in any case, unknown fields ignored) plus the common server
//! filter, and is answered with Go's `ServerAPIResponse`.

use super::internal::{Handler, InMsg};
use super::messages::*;
use super::{statsz, System};
use crate::account::Account;
use crate::monitor;
use crate::server::ServerShared;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The monitoring endpoints answered per server (`$SYS.REQ.SERVER.PING.<KIND>` and
/// `$SYS.REQ.SERVER.<id>.<KIND>`).
pub const SERVER_KINDS: [&str; 15] = [
    "IDZ",
    "STATSZ",
    "VARZ",
    "SUBSZ",
    "CONNZ",
    "ROUTEZ",
    "GATEWAYZ",
    "LEAFZ",
    "ACCOUNTZ",
    "JSZ",
    "HEALTHZ",
    "PROFILEZ",
    "EXPVARZ",
    "IPQUEUESZ",
    "RAFTZ",
];

/// The requests answered per account (`$SYS.REQ.ACCOUNT.<acc>.<KIND>`).
pub const ACCOUNT_KINDS: [&str; 7] = ["SUBSZ", "CONNZ", "LEAFZ", "JSZ", "INFO", "STATZ", "CONNS"];

/// Go's `EventFilterOptions`: which servers a request is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    pub server_name: String,
    pub cluster: String,
    pub host: String,
    pub exact_match: bool,
    pub tags: Vec<String>,
    pub domain: String,
}

impl EventFilter {
    /// True when the request is not for this server (Go's `filterRequest`).
    pub fn excludes(&self, s: &ServerShared) -> bool {
        let name = &s.name;
        let host = s.info().host;
        let cluster = String::new();
        let opts = s.opts();
        let misses = |want: &str, have: &str| {
            !want.is_empty()
                && if self.exact_match {
                    want != have
                } else {
                    !have.contains(want)
                }
        };
        if misses(&self.server_name, name)
            || misses(&self.host, &host)
            || misses(&self.cluster, &cluster)
        {
            return true;
        }
        if self
            .tags
            .iter()
            .any(|t| !opts.tags.iter().any(|o| o.eq_ignore_ascii_case(t)))
        {
            return true;
        }
        !self.domain.is_empty() && opts.jetstream_domain != self.domain
    }
}

/// Decodes a request body as Go's `json.Unmarshal` would into a struct: keys match field
/// names in any case and `null` leaves a field as it was.
pub fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let v = match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        ),
        serde_json::Value::Null => return Ok(T::default()),
        other => other,
    };
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FilterOnly {
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConnzReq {
    sort: String,
    auth: bool,
    subscriptions: bool,
    subscriptions_detail: bool,
    offset: i64,
    limit: i64,
    cid: u64,
    mqtt_client: String,
    state: i64,
    user: String,
    acc: String,
    filter_subject: String,
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubszReq {
    offset: i64,
    limit: i64,
    subscriptions: bool,
    account: String,
    test: String,
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountzReq {
    account: String,
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccStatzReq {
    accounts: Vec<String>,
    include_unused: bool,
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JszReq {
    account: String,
    accounts: bool,
    streams: bool,
    consumer: bool,
    direct_consumer: bool,
    config: bool,
    leader_only: bool,
    offset: i64,
    limit: i64,
    raft: bool,
    stream_leader_only: bool,
    #[serde(flatten)]
    filter: EventFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HealthzReq {
    #[serde(rename = "js-enabled")]
    js_enabled: bool,
    #[serde(rename = "js-enabled-only")]
    js_enabled_only: bool,
    #[serde(rename = "js-server-only")]
    js_server_only: bool,
    #[serde(rename = "js-meta-only")]
    js_meta_only: bool,
    account: String,
    stream: String,
    consumer: String,
    details: bool,
    #[serde(flatten)]
    filter: EventFilter,
}

/// Options natsd decodes (so a malformed body is refused as Go does) but has no use for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(dead_code)]
struct UnusedReq {
    subscriptions: Option<bool>,
    subscriptions_detail: Option<bool>,
    name: Option<String>,
    accounts: Option<bool>,
    account_name: Option<String>,
    account: Option<String>,
    all: Option<bool>,
    filter: Option<String>,
    group: Option<String>,
    debug: Option<i64>,
    duration: Option<i64>,
    #[serde(flatten)]
    ev: EventFilter,
}

/// Go's `ProfilezOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProfilezReq {
    name: String,
    debug: i64,
    duration: i64,
    #[serde(flatten)]
    filter: EventFilter,
}

/// Go's `ProfilezStatus`: natsd has no Go profiles, so it names the one asked for.
#[derive(Debug, Serialize)]
struct ProfilezStatus {
    profile: Option<String>,
    error: String,
}

/// Request options that carry the common server filter.
trait HasFilter {
    fn filter(&self) -> &EventFilter;
}

macro_rules! has_filter {
    ($($t:ty => $f:ident),*) => {
        $(impl HasFilter for $t {
            fn filter(&self) -> &EventFilter {
                &self.$f
            }
        })*
    };
}

has_filter!(FilterOnly => filter, ConnzReq => filter, SubszReq => filter, AccountzReq => filter,
    AccStatzReq => filter, JszReq => filter, HealthzReq => filter, UnusedReq => ev,
    ProfilezReq => filter);

/// Why a request produced no answer (Go's `errSkipZreq`) or failed.
enum ZErr {
    Skip,
    Failed(String),
}

impl From<String> for ZErr {
    fn from(e: String) -> ZErr {
        ZErr::Failed(e)
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ZErr> {
    serde_json::to_value(v).map_err(|e| ZErr::Failed(e.to_string()))
}

/// Go's `zReq`: decode the options (400 on failure), skip when the filter excludes this
/// server, build the data (500 on failure), reply.
fn z_req<O, F>(s: &ServerShared, sys: &System, acc: &Account, msg: &InMsg, build: F)
where
    O: DeserializeOwned + Default + HasFilter,
    F: FnOnce(O) -> Result<serde_json::Value, ZErr>,
{
    if msg.reply.is_empty() {
        return;
    }
    let mut opts = O::default();
    let mut error = None;
    if !msg.payload.is_empty() {
        match decode::<O>(&msg.payload) {
            Ok(o) => {
                if o.filter().excludes(s) {
                    return;
                }
                opts = o;
            }
            Err(e) => {
                error = Some(ApiError {
                    code: 400,
                    description: e,
                })
            }
        }
    }
    let mut data = None;
    if error.is_none() {
        match build(opts) {
            // Go leaves out a nil result (reload, kick, ldm).
            Ok(serde_json::Value::Null) => {}
            Ok(v) => data = Some(v),
            Err(ZErr::Skip) => return,
            Err(ZErr::Failed(e)) => {
                error = Some(ApiError {
                    code: 500,
                    description: e,
                })
            }
        }
    }
    let resp = ServerApiResponse {
        server: sys.server_info(s),
        data,
        error,
    };
    let body = serde_json::to_vec(&resp).unwrap_or_default();
    sys.publish_raw(s, acc, &msg.reply, None, None, &body);
}

/// The account token of `$SYS.REQ.ACCOUNT.<acc>.<KIND>`.
fn account_of(subject: &str) -> Result<String, ZErr> {
    let t: Vec<&str> = subject.split('.').collect();
    if t.len() != 5 {
        return Err(ZErr::Failed(format!("subject \"{subject}\" is malformed")));
    }
    Ok(t[3].to_string())
}

fn connz_opts(r: ConnzReq) -> Result<monitor::connz::ConnzOptions, ZErr> {
    use monitor::connz::ConnState;
    let state = match r.state {
        0 => ConnState::Open,
        1 => ConnState::Closed,
        _ => ConnState::All,
    };
    Ok(monitor::connz::ConnzOptions {
        sort: r.sort,
        username: r.auth,
        subscriptions: r.subscriptions,
        subscriptions_detail: r.subscriptions_detail,
        offset: r.offset,
        limit: r.limit,
        cid: r.cid,
        mqtt_client: r.mqtt_client,
        state,
        user: r.user,
        account: r.acc,
        filter_subject: r.filter_subject,
    })
}

fn subsz_opts(r: SubszReq) -> monitor::subsz::SubszOptions {
    monitor::subsz::SubszOptions {
        offset: r.offset,
        limit: r.limit,
        subscriptions: r.subscriptions,
        account: r.account,
        test: r.test,
    }
}

fn jsz_opts(r: JszReq) -> monitor::jsz::JszOptions {
    monitor::jsz::JszOptions {
        account: r.account,
        accounts: r.accounts,
        streams: r.streams,
        consumer: r.consumer,
        direct_consumer: r.direct_consumer,
        config: r.config,
        leader_only: r.leader_only,
        offset: r.offset,
        limit: r.limit,
        raft_groups: r.raft,
        stream_leader_only: r.stream_leader_only,
    }
}

fn statz(s: &ServerShared, r: AccStatzReq) -> Result<serde_json::Value, ZErr> {
    let stz = monitor::accounts::accstatz(
        s,
        &monitor::accounts::AccountStatzOptions {
            accounts: r.accounts,
            include_unused: r.include_unused,
        },
    );
    if stz.accounts.is_empty() && !r.include_unused {
        return Err(ZErr::Skip);
    }
    to_value(&stz)
}

/// Answers one server-wide monitoring request of `kind` (in the system account, or in
/// `acc` for the requests other accounts reach through the system imports).
fn server_request(s: &Arc<ServerShared>, sys: &System, acc: &Account, kind: &str, msg: &InMsg) {
    match kind {
        "IDZ" => {
            if msg.reply.is_empty() {
                return;
            }
            let info = s.info();
            let id = ServerId {
                name: s.name.clone(),
                host: info.host,
                id: s.id.clone(),
            };
            let body = serde_json::to_vec(&id).unwrap_or_default();
            sys.publish_raw(s, acc, &msg.reply, None, None, &body);
        }
        "STATSZ" => statsz_request(s, sys, msg),
        "VARZ" => z_req::<FilterOnly, _>(s, sys, acc, msg, |_| to_value(&monitor::varz::varz(s))),
        "SUBSZ" => z_req::<SubszReq, _>(s, sys, acc, msg, |o| {
            to_value(&monitor::subsz::subsz(s, &subsz_opts(o))?)
        }),
        "CONNZ" => z_req::<ConnzReq, _>(s, sys, acc, msg, |o| {
            to_value(&monitor::connz::connz(s, &connz_opts(o)?)?)
        }),
        "ROUTEZ" => {
            z_req::<UnusedReq, _>(s, sys, acc, msg, |_| to_value(&monitor::misc::routez(s)))
        }
        "GATEWAYZ" => {
            z_req::<UnusedReq, _>(s, sys, acc, msg, |_| to_value(&monitor::misc::gatewayz(s)))
        }
        "LEAFZ" => z_req::<UnusedReq, _>(s, sys, acc, msg, |_| to_value(&monitor::misc::leafz(s))),
        "ACCOUNTZ" => z_req::<AccountzReq, _>(s, sys, acc, msg, |o| {
            to_value(&monitor::accounts::accountz(s, &o.account)?)
        }),
        "JSZ" => z_req::<JszReq, _>(s, sys, acc, msg, |o| {
            to_value(&monitor::jsz::jsz(s, &jsz_opts(o))?)
        }),
        "HEALTHZ" => z_req::<HealthzReq, _>(s, sys, acc, msg, |o| {
            let opts = monitor::misc::HealthzOptions {
                js_enabled: o.js_enabled,
                js_enabled_only: o.js_enabled_only,
                js_server_only: o.js_server_only,
                js_meta_only: o.js_meta_only,
                account: o.account,
                stream: o.stream,
                consumer: o.consumer,
                details: o.details,
            };
            to_value(&monitor::misc::healthz(s, &opts))
        }),
        "PROFILEZ" => z_req::<ProfilezReq, _>(s, sys, acc, msg, |o| {
            let _ = (o.debug, o.duration);
            let error = if o.name.is_empty() {
                "Profile name not specified".to_string()
            } else {
                format!("Profile {:?} not found", o.name)
            };
            to_value(&ProfilezStatus {
                profile: None,
                error,
            })
        }),
        "EXPVARZ" => {
            z_req::<FilterOnly, _>(s, sys, acc, msg, |_| to_value(&monitor::misc::expvarz(s)))
        }
        "IPQUEUESZ" => {
            z_req::<UnusedReq, _>(s, sys, acc, msg, |_| to_value(&monitor::misc::ipqueuesz(s)))
        }
        // With a system account Go answers with its (here empty) map of Raft groups.
        "RAFTZ" => z_req::<UnusedReq, _>(s, sys, acc, msg, |_| {
            to_value(&monitor::misc::raftz(s).unwrap_or_default())
        }),
        _ => {}
    }
}

/// Go's `statszReq`: statistics to the reply, or broadcast (not rate limited) without one.
pub(super) fn statsz_request(s: &ServerShared, sys: &System, msg: &InMsg) {
    let subject = if msg.reply.is_empty() {
        statsz::reset_limit(sys);
        statsz::broadcast_subject(s)
    } else {
        msg.reply.clone()
    };
    if !msg.payload.is_empty() {
        match decode::<FilterOnly>(&msg.payload) {
            Err(e) => {
                let resp = ServerApiResponse {
                    server: sys.server_info(s),
                    data: None,
                    error: Some(ApiError {
                        code: 400,
                        description: e,
                    }),
                };
                sys.publish_json(s, &subject, &resp);
                return;
            }
            Ok(o) if o.filter.excludes(s) => return,
            Ok(_) => {}
        }
    }
    statsz::send_statsz(s, sys, &subject);
}

/// Answers `$SYS.REQ.ACCOUNT.<acc>.<KIND>`.
fn account_request(s: &Arc<ServerShared>, sys: &System, acc: &Account, kind: &str, msg: &InMsg) {
    match kind {
        "SUBSZ" => z_req::<SubszReq, _>(s, sys, acc, msg, |o| {
            let mut opts = subsz_opts(o);
            opts.subscriptions = true;
            opts.account = account_of(&msg.subject)?;
            to_value(&monitor::subsz::subsz(s, &opts)?)
        }),
        "CONNZ" => z_req::<ConnzReq, _>(s, sys, acc, msg, |o| {
            let mut opts = connz_opts(o)?;
            opts.account = account_of(&msg.subject)?;
            to_value(&monitor::connz::connz(s, &opts)?)
        }),
        "LEAFZ" => z_req::<UnusedReq, _>(s, sys, acc, msg, |_| {
            account_of(&msg.subject)?;
            to_value(&monitor::misc::leafz(s))
        }),
        "JSZ" => z_req::<JszReq, _>(s, sys, acc, msg, |o| {
            let mut opts = jsz_opts(o);
            opts.account = account_of(&msg.subject)?;
            to_value(&monitor::jsz::jsz_account(s, &opts)?)
        }),
        "INFO" => z_req::<FilterOnly, _>(s, sys, acc, msg, |_| {
            let name = account_of(&msg.subject)?;
            let a = monitor::accounts::accountz(s, &name)?;
            to_value(&a.account)
        }),
        "STATZ" => z_req::<AccStatzReq, _>(s, sys, acc, msg, |mut o| {
            let name = account_of(&msg.subject)?;
            if name == "PING" {
                return Err(ZErr::Skip);
            }
            o.accounts = vec![name];
            statz(s, o)
        }),
        "CONNS" => conns_request(s, sys, msg),
        _ => {}
    }
}

/// Go's `connsRequest`: the local connection count of an account, when it has any.
fn conns_request(s: &ServerShared, sys: &System, msg: &InMsg) {
    let Ok(name) = account_of(&msg.subject) else {
        return;
    };
    let mut req = AccNumConnsReq {
        account: name.clone(),
        ..AccNumConnsReq::default()
    };
    if !msg.payload.is_empty() {
        match serde_json::from_slice::<AccNumConnsReq>(&msg.payload) {
            Ok(r) => req = r,
            Err(e) => {
                crate::error!(
                    s.logging,
                    "Error unmarshalling account connections request message: {e}"
                );
                return;
            }
        }
    }
    if req.account != name || msg.reply.is_empty() {
        return;
    }
    let Some(acc) = s.accounts.lookup(&name) else {
        return;
    };
    if s.num_account_clients(&acc) == 0 {
        return;
    }
    let m = AccountNumConns {
        kind: ACCOUNT_CONNS_TYPE.to_string(),
        id: next_event_id(),
        timestamp: crate::monitor::gotime::GoTime::now(),
        server: sys.server_info(s),
        stat: super::account_stat(s, &acc),
    };
    sys.publish_json(s, &msg.reply, &m);
}

/// `$SYS.REQ.USER.INFO`: who the requesting client is, in which account, and with what
/// permissions (Go's `userInfoReq`). `acc` is where the request landed; the requester's
/// own account names the answer, as Go looks it up from the request's client info.
fn user_info_request(s: &ServerShared, sys: &System, acc: &Account, msg: &InMsg) {
    if msg.reply.is_empty() {
        return;
    }
    let requester = s.client_by_cid(msg.publisher);
    let (user, account, account_name, permissions) = match &requester {
        Some(c) => {
            let a = c.account();
            (
                c.raw_auth_user(),
                c.account_name(),
                a.map(|a| a.name_tag().to_string()).unwrap_or_default(),
                c.auth.perms().map(|p| PermissionsJson::from(&p.public())),
            )
        }
        None => (
            String::new(),
            acc.name.clone(),
            acc.name_tag().to_string(),
            None,
        ),
    };
    let resp = ServerApiResponse {
        server: sys.server_info(s),
        data: serde_json::to_value(UserInfo {
            user,
            account,
            account_name,
            permissions,
        })
        .ok(),
        error: None,
    };
    let body = serde_json::to_vec(&resp).unwrap_or_default();
    sys.publish_raw(s, acc, &msg.reply, None, None, &body);
}

/// Go's `UserInfo` (natsd has no user claims, so no name tag or expiry).
#[derive(Serialize)]
struct UserInfo {
    user: String,
    account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    account_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<PermissionsJson>,
}

/// Go's `Permissions` as JSON: both directions always present, responses when set.
#[derive(Serialize)]
struct PermissionsJson {
    publish: SubjectPermissionJson,
    subscribe: SubjectPermissionJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    responses: Option<ResponsePermissionJson>,
}

#[derive(Serialize)]
struct SubjectPermissionJson {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allow: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deny: Vec<String>,
}

/// `ttl` in nanoseconds, as Go encodes a duration; 0 when replies never expire.
#[derive(Serialize)]
struct ResponsePermissionJson {
    max: i64,
    ttl: u128,
}

impl From<&crate::auth::Permissions> for PermissionsJson {
    fn from(p: &crate::auth::Permissions) -> Self {
        let dir = |d: &Option<crate::auth::SubjectPermission>| SubjectPermissionJson {
            allow: d.as_ref().and_then(|d| d.allow.clone()).unwrap_or_default(),
            deny: d.as_ref().and_then(|d| d.deny.clone()).unwrap_or_default(),
        };
        PermissionsJson {
            publish: dir(&p.publish),
            subscribe: dir(&p.subscribe),
            responses: p.response.as_ref().map(|r| ResponsePermissionJson {
                max: r.max_msgs,
                ttl: r.expires.map_or(0, |e| e.as_nanos()),
            }),
        }
    }
}

/// A handler that ignores what it gets: subjects Go listens on for features natsd does
/// not have (clustering, JWT claims, latency), kept so the subscriptions match Go's.
fn ignore() -> Handler {
    Arc::new(|_, _, _| {})
}

/// A handler running `f` with the system while it exists (held weakly: the system owns
/// its handlers).
fn sys_handler(sys: &Arc<System>, f: fn(&Arc<ServerShared>, &System, &Account, &InMsg)) -> Handler {
    let weak = Arc::downgrade(sys);
    Arc::new(move |s, acc, m| {
        if let Some(sys) = weak.upgrade() {
            f(s, &sys, acc, m)
        }
    })
}

/// Every internal subscription of a standalone server, as Go's `initEventTracking` sets
/// them up, plus the per-account ones Go creates as service imports.
pub fn subscribe_all(s: &Arc<ServerShared>, sys: &Arc<System>) -> Result<(), String> {
    let with_sys = |f| sys_handler(sys, f);
    sys.subscribe(&format!("$SYS._INBOX.{}.*", sys.shash), ignore())?;
    sys.subscribe("$SYS.SERVER.ACCOUNT.*.CONNS", ignore())?;
    sys.subscribe(&format!("$SYS._INBOX_.{}", s.id), ignore())?;
    sys.subscribe("$SYS.REQ.ACCOUNT.NSUBS", ignore())?;
    let remote_stats = sys.subscribe("$SYS.SERVER.*.STATSZ", ignore())?;
    *sys.remote_stats_sub.lock() = Some(remote_stats);
    sys.subscribe("$SYS.SERVER.*.SHUTDOWN", ignore())?;
    sys.subscribe("$SYS.SERVER.*.LAMEDUCK", ignore())?;
    sys.subscribe("$SYS.ACCOUNT.*.CLAIMS.UPDATE", ignore())?;
    sys.subscribe("$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", ignore())?;
    sys.subscribe(
        "$SYS.REQ.SERVER.PING",
        with_sys(|s, sys, _, m| statsz_request(s, sys, m)),
    )?;
    for kind in SERVER_KINDS {
        let h = with_sys(|s, sys, acc, m| {
            let kind = m.subject.rsplit('.').next().unwrap_or_default();
            server_request(s, sys, acc, kind, m)
        });
        sys.subscribe(&format!("$SYS.REQ.SERVER.{}.{kind}", s.id), h.clone())?;
        sys.subscribe(&format!("$SYS.REQ.SERVER.PING.{kind}"), h)?;
    }
    for kind in ACCOUNT_KINDS {
        sys.subscribe(
            &format!("$SYS.REQ.ACCOUNT.*.{kind}"),
            with_sys(|s, sys, acc, m| {
                let kind = m.subject.rsplit('.').next().unwrap_or_default();
                account_request(s, sys, acc, kind, m)
            }),
        )?;
    }
    sys.subscribe(
        "$SYS.REQ.USER.*.INFO",
        with_sys(|s, sys, _, m| {
            let name = m.subject.split('.').nth(3).unwrap_or_default();
            if let Some(acc) = s.accounts.lookup(name) {
                user_info_request(s, sys, &acc, m)
            }
        }),
    )?;
    sys.subscribe(
        "$SYS.REQ.ACCOUNT.PING.STATZ",
        with_sys(|s, sys, acc, m| z_req::<AccStatzReq, _>(s, sys, acc, m, |o| statz(s, o))),
    )?;
    sys.subscribe("$SYS.ACCOUNT.*.LEAFNODE.CONNECT", ignore())?;
    sys.subscribe(&format!("$SYS.LATENCY.M2.{}", sys.shash), ignore())?;
    sys.subscribe("$SYS.DEBUG.SUBSCRIBERS", ignore())?;
    sys.subscribe(
        &format!("$SYS.REQ.SERVER.{}.RELOAD", s.id),
        with_sys(reload_request),
    )?;
    sys.subscribe(
        &format!("$SYS.REQ.SERVER.{}.KICK", s.id),
        with_sys(kick_request),
    )?;
    sys.subscribe(
        &format!("$SYS.REQ.SERVER.{}.LDM", s.id),
        with_sys(ldm_request),
    )?;
    // Go imports the user info service into the system account too.
    sys.subscribe(
        "$SYS.REQ.USER.INFO",
        with_sys(|s, sys, acc, m| user_info_request(s, sys, acc, m)),
    )?;
    subscribe_account_imports(s, sys)
}

/// What Go imports into every other account from the system account: requests there are
/// answered for that account, in that account. Accounts that have them already are
/// skipped, so a reload that adds accounts calls this again.
pub fn subscribe_account_imports(s: &Arc<ServerShared>, sys: &Arc<System>) -> Result<(), String> {
    let with_sys = |f| sys_handler(sys, f);
    for acc in s.accounts.all() {
        if Arc::ptr_eq(&acc, &sys.account) {
            continue;
        }
        {
            let mut done = sys.imports_done.lock();
            done.retain(|w| w.strong_count() > 0);
            if done
                .iter()
                .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&acc)))
            {
                continue;
            }
            done.push(Arc::downgrade(&acc));
        }
        let conns = with_sys(|s, sys, acc, m| {
            z_req::<ConnzReq, _>(s, sys, acc, m, |o| {
                let mut opts = connz_opts(o)?;
                opts.account = acc.name.clone();
                to_value(&monitor::connz::connz(s, &opts)?)
            })
        });
        let internal = &sys.internal;
        internal.subscribe(&acc, "$SYS.REQ.ACCOUNT.PING.CONNZ", None, conns.clone())?;
        internal.subscribe(&acc, "$SYS.REQ.SERVER.PING.CONNZ", None, conns)?;
        internal.subscribe(
            &acc,
            "$SYS.REQ.ACCOUNT.PING.STATZ",
            None,
            with_sys(|s, sys, acc, m| {
                z_req::<AccStatzReq, _>(s, sys, acc, m, |mut o| {
                    o.accounts = vec![acc.name.clone()];
                    statz(s, o)
                })
            }),
        )?;
        internal.subscribe(
            &acc,
            "$SYS.REQ.USER.INFO",
            None,
            with_sys(|s, sys, acc, m| user_info_request(s, sys, acc, m)),
        )?;
    }
    Ok(())
}

/// The body of a kick or lame duck request (Go's `KickClientReq`, `LDMClientReq`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClientIdReq {
    cid: u64,
}

/// The cid of a kick/LDM request, or `None` (logged, no answer) when the body is not one.
fn client_id(s: &ServerShared, msg: &InMsg) -> Option<u64> {
    match serde_json::from_slice::<ClientIdReq>(&msg.payload) {
        Ok(r) => Some(r.cid),
        Err(e) => {
            crate::error!(s.logging, "Error unmarshalling kick client request: {e}");
            None
        }
    }
}

/// Go's `kickClient`: closes the connection with the request's `cid`.
fn kick_request(s: &Arc<ServerShared>, sys: &System, acc: &Account, msg: &InMsg) {
    let Some(cid) = client_id(s, msg) else {
        return;
    };
    z_req::<FilterOnly, _>(s, sys, acc, msg, |_| {
        let c = s.clients().into_iter().find(|c| c.cid == cid);
        let c = c.ok_or_else(|| "no such client or leafnode id".to_string())?;
        s.close_client(&c, crate::closed::ClosedState::Kicked, true);
        Ok(serde_json::Value::Null)
    });
}

/// Go's `ldmClient`: tells the client with the request's `cid` that the server is going
/// away (INFO with `ldm`), if it can take asynchronous INFO.
fn ldm_request(s: &Arc<ServerShared>, sys: &System, acc: &Account, msg: &InMsg) {
    let Some(cid) = client_id(s, msg) else {
        return;
    };
    z_req::<FilterOnly, _>(s, sys, acc, msg, |_| {
        let c = s.clients().into_iter().find(|c| c.cid == cid);
        let c = c.ok_or_else(|| "no such client id".to_string())?;
        if !c.accepts_async_info() {
            return Err(ZErr::Failed(
                "client does not support Lame Duck Mode or is not ready to receive the notification"
                    .to_string(),
            ));
        }
        let mut info: serde_json::Value =
            serde_json::from_slice(&s.info_json_for(&c)).map_err(|e| e.to_string())?;
        info["ldm"] = serde_json::Value::Bool(true);
        let mut b = bytes::BytesMut::new();
        crate::protocol::encode::info(&mut b, &serde_json::to_vec(&info).unwrap_or_default());
        c.send_proto(&b);
        Ok(serde_json::Value::Null)
    });
}

/// Go's `reloadConfig`: reloads the configuration file.
fn reload_request(s: &Arc<ServerShared>, sys: &System, acc: &Account, msg: &InMsg) {
    z_req::<FilterOnly, _>(s, sys, acc, msg, |_| {
        s.reload().map_err(|e| e.to_string())?;
        Ok(serde_json::Value::Null)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decode_matches_names_in_any_case_and_skips_nulls() {
        let o: AccStatzReq =
            decode(br#"{"Accounts":null,"INCLUDE_UNUSED":true,"server_name":"x"}"#).unwrap();
        assert!(o.accounts.is_empty());
        assert!(o.include_unused);
        assert_eq!(o.filter.server_name, "x");
        assert!(decode::<FilterOnly>(b"{MALFORMEDJSON").is_err());
        assert!(decode::<ConnzReq>(br#"{"limit":"x"}"#).is_err());
        let n: ConnzReq = decode(b"null").unwrap();
        assert_eq!(n.limit, 0);
    }

    #[test]
    fn account_token() {
        assert_eq!(
            account_of("$SYS.REQ.ACCOUNT.ACC.CONNZ").ok(),
            Some("ACC".into())
        );
        assert!(account_of("$SYS.REQ.ACCOUNT.CONNZ").is_err());
    }
}
