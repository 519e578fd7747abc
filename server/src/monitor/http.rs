//! The monitoring HTTP server (hyper): routes a request path to its endpoint, decodes the
//! query as Go does (`strconv` rules and error texts), and writes the JSON the way Go's
//! `json.MarshalIndent` does.

use super::{
    accounts, base_path, connz, metrics, misc, normalize_base_path, subsz, varz, ConnState,
    ConnzOptions, SubszOptions,
};
use crate::server::{join_host_port, ServerShared};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const APPLICATION_JSON: &str = "application/json";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const TEXT_HTML: &str = "text/html; charset=utf-8";

/// Validates the monitoring options, binds the listener and serves until the server shuts
/// down. Returns the bound address. Errors read like Go's.
pub async fn start(s: &Arc<ServerShared>) -> io::Result<SocketAddr> {
    let opts = &s.opts();
    if opts.http_port != 0 && opts.https_port != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "can't specify both HTTP ({}) and HTTPs ({}) ports",
                opts.http_port, opts.https_port
            ),
        ));
    }
    let secure = opts.https_port != 0;
    let acceptor = if secure {
        Some(monitoring_tls(opts)?)
    } else {
        None
    };
    let configured = if secure {
        opts.https_port
    } else {
        opts.http_port
    };
    let port = if configured == -1 {
        0
    } else {
        u16::try_from(configured).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("can't listen to the monitor port: invalid port {configured}"),
            )
        })?
    };
    let host = super::http_host(opts);
    let hp = join_host_port(host, port);
    let listener = TcpListener::bind(&hp).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("can't listen to the monitor port: listen tcp {hp}: {e}"),
        )
    })?;
    let addr = listener.local_addr()?;
    crate::notice!(
        s.logging,
        "Starting {} monitor on {}",
        if secure { "https" } else { "http" },
        join_host_port(host, addr.port())
    );
    let _ = s.monitor.addr.set(addr);
    if s.is_shutting_down() {
        return Ok(addr);
    }
    s.monitor.serving.store(true, Ordering::Release);
    tokio::spawn(serve(s.clone(), listener, acceptor));
    Ok(addr)
}

/// The TLS configuration of the client listener, without asking for client
/// certificates (as Go serves HTTPS monitoring).
fn monitoring_tls(opts: &crate::config::Options) -> io::Result<tokio_rustls::TlsAcceptor> {
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    let Some(tc) = &opts.tls_config else {
        return Err(invalid("TLS cert and key required for HTTPS".to_string()));
    };
    let server = match (&opts.tls_config_opts, tc.verify) {
        (Some(o), true) => {
            let o = crate::tls::TlsConfigOpts {
                verify: false,
                map: false,
                ..o.clone()
            };
            crate::tls::gen_tls_config(&o).map_err(invalid)?.server
        }
        _ => tc.server.clone(),
    };
    Ok(tokio_rustls::TlsAcceptor::from(server))
}

async fn serve(
    s: Arc<ServerShared>,
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut stop = s.monitor.stop_tx.subscribe();
    let base = normalize_base_path(&s.opts().http_base_path);
    // A reload may change the certificates: rebuild the TLS side when the options change.
    let mut acceptor = acceptor.map(|a| (s.opts_generation(), a));
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let s = s.clone();
                    let base = base.clone();
                    if let Some((gen, a)) = &mut acceptor {
                        let now = s.opts_generation();
                        if *gen != now {
                            match monitoring_tls(&s.opts()) {
                                Ok(fresh) => *a = fresh,
                                Err(e) => crate::error!(
                                    s.logging,
                                    "monitoring: keeping the previous TLS configuration: {e}"
                                ),
                            }
                            *gen = now;
                        }
                    }
                    let acceptor = acceptor.as_ref().map(|(_, a)| a.clone());
                    tokio::spawn(async move {
                        match acceptor {
                            Some(a) => {
                                // A failed handshake just drops the connection, as Go's
                                // http.Server logs nothing for it by default.
                                let tls = tokio::time::timeout(
                                    Duration::from_secs(5),
                                    a.accept(stream),
                                )
                                .await;
                                if let Ok(Ok(tls)) = tls {
                                    serve_connection(s, base, tls).await;
                                }
                            }
                            None => serve_connection(s, base, stream).await,
                        }
                    });
                }
                Err(e) => {
                    crate::error!(s.logging, "monitoring: accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    s.monitor.serving.store(false, Ordering::Release);
}

/// How long a request head may take from its first byte (Go's `ReadHeaderTimeout`).
const READ_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves HTTP/1 on one accepted connection until it ends or monitoring stops.
async fn serve_connection<S>(s: Arc<ServerShared>, base: String, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut stop = s.monitor.stop_tx.subscribe();
    let svc_server = s.clone();
    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let resp = handle(
            &svc_server,
            &base,
            req.uri().path(),
            req.uri().query().unwrap_or(""),
        );
        async move { Ok::<_, Infallible>(resp.into_hyper()) }
    });
    let stream = super::head_deadline::HeadDeadline::new(stream, READ_HEADER_TIMEOUT);
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

/// An endpoint's answer before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Go sets `Access-Control-Allow-Origin: *` on every JSON answer.
    pub cors: bool,
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: APPLICATION_JSON,
            cors: true,
            body,
        }
    }

    fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: TEXT_PLAIN,
            cors: false,
            body: body.into(),
        }
    }

    fn not_found() -> Response {
        Response::text(404, "404 page not found\n")
    }

    fn into_hyper(self) -> hyper::Response<Full<Bytes>> {
        let mut b = hyper::Response::builder()
            .status(self.status)
            .header(hyper::header::CONTENT_TYPE, self.content_type);
        if self.cors {
            b = b.header(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        }
        if self.status == 404 && self.content_type == TEXT_PLAIN {
            b = b.header("X-Content-Type-Options", "nosniff");
        }
        b.body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
    }
}

/// The query parameters, first value of each (Go's `URL.Query().Get`).
struct Query(HashMap<String, String>);

impl Query {
    fn parse(q: &str) -> Query {
        let mut m = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Query(m)
    }

    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }

    /// Go's `decodeBool`: empty is false; otherwise `strconv.ParseBool`.
    fn bool(&self, k: &str) -> Result<bool, Response> {
        let v = self.get(k);
        match v {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(Response::text(
                400,
                format!(
                    "Error decoding boolean for '{k}': strconv.ParseBool: parsing {}: invalid syntax",
                    go_quote(v)
                ),
            )),
        }
    }

    /// Go's `decodeInt` (`strconv.Atoi`).
    fn int(&self, k: &str) -> Result<i64, Response> {
        let v = self.get(k);
        if v.is_empty() {
            return Ok(0);
        }
        v.parse::<i64>().map_err(|e| {
            Response::text(
                400,
                format!(
                    "Error decoding int for '{k}': strconv.Atoi: parsing {}: {}",
                    go_quote(v),
                    int_err_text(&e)
                ),
            )
        })
    }

    /// Go's `decodeUint64` (`strconv.ParseUint`).
    fn uint(&self, k: &str) -> Result<u64, Response> {
        let v = self.get(k);
        if v.is_empty() {
            return Ok(0);
        }
        v.parse::<u64>().map_err(|e| {
            Response::text(
                400,
                format!(
                    "Error decoding uint64 for '{k}': strconv.ParseUint: parsing {}: {}",
                    go_quote(v),
                    int_err_text(&e)
                ),
            )
        })
    }

    /// Go's `decodeSubs`: `subs=detail` or a boolean.
    fn subs(&self) -> Result<(bool, bool), Response> {
        if self.get("subs").eq_ignore_ascii_case("detail") {
            return Ok((false, true));
        }
        Ok((self.bool("subs")?, false))
    }
}

fn int_err_text(e: &std::num::ParseIntError) -> &'static str {
    match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            "value out of range"
        }
        _ => "invalid syntax",
    }
}

/// Go's `%q` for error texts.
fn go_quote(s: &str) -> String {
    let mut out = String::new();
    crate::protocol::parser::go_quote_into(&mut out, s.as_bytes());
    out
}

/// Serializes like Go's `json.MarshalIndent(v, "", indent)` (HTML characters escaped).
fn to_go_json<T: Serialize>(v: &T, indent: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    if v.serialize(&mut ser).is_err() {
        return Vec::new();
    }
    escape_html(out)
}

/// Go's `json.Marshal` (compact, HTML characters escaped).
pub fn to_go_json_compact<T: Serialize>(v: &T) -> Vec<u8> {
    escape_html(serde_json::to_vec(v).unwrap_or_default())
}

/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 in JSON strings; outside strings these
/// bytes cannot occur, so a plain pass over the output is enough.
fn escape_html(b: Vec<u8>) -> Vec<u8> {
    let needs = b
        .iter()
        .any(|&c| c == b'<' || c == b'>' || c == b'&' || c == 0xE2);
    if !needs {
        return b;
    }
    let mut out = Vec::with_capacity(b.len() + 16);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => {
                out.extend_from_slice(if b[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 3;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Answers one request: `path` is the request path, `query` the raw query string.
pub fn handle(s: &ServerShared, base: &str, path: &str, query: &str) -> Response {
    let q = Query::parse(query);
    let route = |p: &str| base_path(base, p);
    let r = if path == route(super::ROOT_PATH) {
        s.monitor.count_request(super::ROOT_PATH);
        root(base)
    } else if path == route(super::VARZ_PATH) {
        s.monitor.count_request(super::VARZ_PATH);
        Ok(Response::json(200, to_go_json(&varz::varz(s), b"  ")))
    } else if path == route(super::CONNZ_PATH) {
        handle_connz(s, &q)
    } else if path == route(super::ROUTEZ_PATH) {
        q.subs().map(|_| {
            s.monitor.count_request(super::ROUTEZ_PATH);
            Response::json(200, to_go_json(&misc::routez(s), b"  "))
        })
    } else if path == route(super::GATEWAYZ_PATH) {
        s.monitor.count_request(super::GATEWAYZ_PATH);
        q.subs()
            .and_then(|_| q.bool("accs"))
            .map(|_| Response::json(200, to_go_json(&misc::gatewayz(s), b"  ")))
    } else if path == route(super::LEAFZ_PATH) {
        s.monitor.count_request(super::LEAFZ_PATH);
        q.bool("subs")
            .map(|_| Response::json(200, to_go_json(&misc::leafz(s), b"  ")))
    } else if path == route(super::SUBSZ_PATH) || path == route("/subscriptionsz") {
        handle_subsz(s, &q)
    } else if path == route(super::STACKSZ_PATH) {
        Ok(handle_stacksz())
    } else if path == route(super::ACCOUNTZ_PATH) {
        s.monitor.count_request(super::ACCOUNTZ_PATH);
        Ok(match accounts::accountz(s, q.get("acc")) {
            Ok(a) => Response::json(200, to_go_json(&a, b"  ")),
            Err(e) => Response::text(400, e),
        })
    } else if path == route(super::ACCOUNT_STATZ_PATH) {
        s.monitor.count_request(super::ACCOUNT_STATZ_PATH);
        q.bool("unused").map(|unused| {
            let opts = accounts::AccountStatzOptions {
                include_unused: unused,
                ..Default::default()
            };
            Response::json(200, to_go_json(&accounts::accstatz(s, &opts), b"  "))
        })
    } else if path == route(super::JSZ_PATH) {
        s.monitor.count_request(super::JSZ_PATH);
        handle_jsz(s, &q)
    } else if path == route(super::HEALTHZ_PATH) {
        s.monitor.count_request(super::HEALTHZ_PATH);
        handle_healthz(s, &q)
    } else if path == route(super::IPQUEUES_PATH) {
        q.bool("all")
            .map(|_| Response::json(200, to_go_json(&misc::ipqueuesz(s), b"   ")))
    } else if path == route(super::RAFTZ_PATH) {
        Ok(match misc::raftz(s) {
            Some(groups) => Response::json(200, to_go_json(&groups, b"   ")),
            None => Response::text(404, misc::NO_RAFT_NODES),
        })
    } else if path == route(super::EXPVARZ_PATH) {
        let mut r = Response::json(200, to_go_json(&misc::expvarz(s), b"  "));
        r.content_type = "application/json; charset=utf-8";
        r.cors = false;
        Ok(r)
    } else if path == route(super::METRICS_PATH) {
        Ok(Response {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            cors: false,
            body: metrics::render(s).into_bytes(),
        })
    } else {
        Ok(Response::not_found())
    };
    jsonp(r.unwrap_or_else(|e| e), q.get("callback"))
}

/// `?callback=f` wraps a JSON answer as `f(<json>)` (JSONP), as nats-server did through
/// 2.9; 2.14 dropped it, but dashboards written against the older servers still ask for it.
fn jsonp(mut r: Response, callback: &str) -> Response {
    if callback.is_empty() || r.content_type != APPLICATION_JSON {
        return r;
    }
    let mut body = Vec::with_capacity(callback.len() + r.body.len() + 2);
    body.extend_from_slice(callback.as_bytes());
    body.push(b'(');
    body.extend_from_slice(&r.body);
    body.push(b')');
    r.body = body;
    r.content_type = "application/javascript";
    r
}

/// Kept out of line so the stack it reports shows this handler.
#[inline(never)]
fn handle_stacksz() -> Response {
    Response::json(200, misc::stacksz().into_bytes())
}

fn handle_connz(s: &ServerShared, q: &Query) -> Result<Response, Response> {
    let username = q.bool("auth")?;
    let (subscriptions, subscriptions_detail) = q.subs()?;
    let offset = q.int("offset")?;
    let limit = q.int("limit")?;
    let cid = q.uint("cid")?;
    let state = ConnState::parse(q.get("state")).map_err(|e| Response::text(400, e))?;
    let opts = ConnzOptions {
        sort: q.get("sort").to_string(),
        username,
        subscriptions,
        subscriptions_detail,
        offset,
        limit,
        cid,
        mqtt_client: q.get("mqtt_client").to_string(),
        state,
        user: q.get("user").to_string(),
        account: q.get("acc").to_string(),
        filter_subject: String::new(),
    };
    s.monitor.count_request(super::CONNZ_PATH);
    match connz::connz(s, &opts) {
        Ok(c) => Ok(Response::json(200, to_go_json(&c, b"  "))),
        Err(e) => Err(Response::text(400, e)),
    }
}

fn handle_subsz(s: &ServerShared, q: &Query) -> Result<Response, Response> {
    s.monitor.count_request(super::SUBSZ_PATH);
    let opts = SubszOptions {
        subscriptions: q.bool("subs")?,
        offset: q.int("offset")?,
        limit: q.int("limit")?,
        account: q.get("acc").to_string(),
        test: q.get("test").to_string(),
    };
    match subsz::subsz(s, &opts) {
        Ok(sz) => Ok(Response::json(200, to_go_json(&sz, b"  "))),
        Err(e) => Err(Response::text(400, e)),
    }
}

fn handle_jsz(s: &ServerShared, q: &Query) -> Result<Response, Response> {
    let opts = misc::JszOptions {
        account: q.get("acc").to_string(),
        accounts: q.bool("accounts")?,
        streams: q.bool("streams")?,
        consumer: q.bool("consumers")?,
        direct_consumer: q.bool("direct-consumers")?,
        config: q.bool("config")?,
        offset: q.int("offset")?,
        limit: q.int("limit")?,
        leader_only: q.bool("leader-only")?,
        raft_groups: q.bool("raft")?,
        stream_leader_only: q.bool("stream-leader-only")?,
    };
    match misc::jsz(s, &opts) {
        Ok(j) => Ok(Response::json(200, to_go_json(&j, b"  "))),
        Err(e) => Err(Response::text(400, e)),
    }
}

fn handle_healthz(s: &ServerShared, q: &Query) -> Result<Response, Response> {
    let js_enabled = q.bool("js-enabled")?;
    if js_enabled {
        crate::warn!(
            s.logging,
            "Healthcheck: js-enabled deprecated, use js-enabled-only instead"
        );
    }
    let opts = misc::HealthzOptions {
        js_enabled,
        js_enabled_only: q.bool("js-enabled-only")?,
        js_server_only: q.bool("js-server-only")?,
        js_meta_only: q.bool("js-meta-only")?,
        details: q.bool("details")?,
        account: q.get("account").to_string(),
        stream: q.get("stream").to_string(),
        consumer: q.get("consumer").to_string(),
    };
    let mut hs = misc::healthz(s, &opts);
    if !hs.error.is_empty() {
        crate::warn!(s.logging, "Healthcheck failed: {}", go_quote(&hs.error));
    } else if !hs.errors.is_empty() {
        crate::warn!(s.logging, "Healthcheck failed: {} errors", hs.errors.len());
    }
    let code = u16::try_from(hs.status_code).unwrap_or(500);
    hs.status_code = 0;
    Ok(Response::json(code, to_go_json_compact(&hs)))
}

/// The index page with links to the endpoints (Go's `HandleRoot`).
fn root(base: &str) -> Result<Response, Response> {
    let links: [(&str, &str); 12] = [
        ("General", super::VARZ_PATH),
        ("JetStream", super::JSZ_PATH),
        ("Connections", super::CONNZ_PATH),
        ("Accounts", super::ACCOUNTZ_PATH),
        ("Account Stats", super::ACCOUNT_STATZ_PATH),
        ("Subscriptions", super::SUBSZ_PATH),
        ("Routes", super::ROUTEZ_PATH),
        ("LeafNodes", super::LEAFZ_PATH),
        ("Gateways", super::GATEWAYZ_PATH),
        ("Raft Groups", super::RAFTZ_PATH),
        ("Health Probe", super::HEALTHZ_PATH),
        ("Expvar", super::EXPVARZ_PATH),
    ];
    let mut anchors = String::new();
    for (i, (label, p)) in links.iter().enumerate() {
        let class = if i + 1 == links.len() {
            " class=last"
        } else {
            ""
        };
        anchors.push_str(&format!(
            "\t<a href=.{}{class}>{label}<span class=\"endpoint\"> {p}</span></a>\n",
            base_path(base, p)
        ));
    }
    let body = format!(
        "<html lang=\"en\">\n<head>\n<title>NATS Server Monitoring</title>\n\
         <style>body {{ font-family: sans-serif; margin-left: 32px }} \
         a {{ display: block; padding-bottom: 6px }} \
         .endpoint {{ font-size: 12px; color: #999; font-family: monospace }}</style>\n\
         </head>\n<body>\n<h1>NATS Server v{version}</h1>\n{anchors}\
         <a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring>Help</a>\n\
         </body>\n</html>\n",
        version = crate::VERSION,
    );
    Ok(Response {
        status: 200,
        content_type: TEXT_HTML,
        cors: false,
        body: body.into_bytes(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bool_and_int_decoding_like_go() {
        let q = Query::parse("a=1&b=False&c=xxx&d=-5&e=9223372036854775808&f=x&g=%31");
        assert!(q.bool("a").unwrap());
        assert!(!q.bool("b").unwrap());
        assert!(!q.bool("missing").unwrap());
        let e = q.bool("c").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.content_type, TEXT_PLAIN);
        assert_eq!(
            String::from_utf8(e.body).unwrap(),
            "Error decoding boolean for 'c': strconv.ParseBool: parsing \"xxx\": invalid syntax"
        );
        assert_eq!(q.int("d").unwrap(), -5);
        assert!(q.bool("g").unwrap());
        assert_eq!(
            String::from_utf8(q.int("e").unwrap_err().body).unwrap(),
            "Error decoding int for 'e': strconv.Atoi: parsing \"9223372036854775808\": value out of range"
        );
        assert!(q.uint("d").is_err());
        assert!(q.uint("f").is_err());
    }

    #[test]
    fn json_escapes_html_like_go() {
        let v = serde_json::json!({"s": "a<b>&c\u{2028}"});
        assert_eq!(
            String::from_utf8(to_go_json_compact(&v)).unwrap(),
            r#"{"s":"a\u003cb\u003e\u0026c\u2028"}"#
        );
        assert_eq!(
            String::from_utf8(to_go_json(&serde_json::json!({"a": [1]}), b"  ")).unwrap(),
            "{\n  \"a\": [\n    1\n  ]\n}"
        );
    }
}
