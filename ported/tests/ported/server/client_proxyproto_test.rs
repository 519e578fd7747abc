//! Ports of `server/client_proxyproto_test.go`.
//!
//! Go reads headers off a mock connection that holds the bytes and then ends. Here the
//! v2-only reader (`readProxyProtoV2Header`) is `proxyproto::parse_v2` over the same bytes,
//! ended there; the detecting reader (`readProxyProtoHeader`) is natsd's own socket reader
//! over a real TCP connection whose peer wrote the bytes and closed. Go returns the bytes
//! read past a v1 header; natsd leaves them on the socket, so the ports read them back from
//! there. Where Go looks at a client's `host`/`port`, the ports look at the connection's
//! `remote_host`/`remote_port` and at its connz entry.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::client::Client;
use natsd::monitor::{connz, ConnzOptions};
use natsd::proxyproto::conn::{read_header, Outcome};
use natsd::proxyproto::{
    parse, parse_v2, ErrorKind, Parse, ProxyAddr, ProxyError, StreamEnd, READ_TIMEOUT, V2_SIGNATURE,
};
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, default_test_options, re, run_server, RawConn};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const V2_VERSION: u8 = 0x20;
const CMD_LOCAL: u8 = 0x00;
const CMD_PROXY: u8 = 0x01;
const FAMILY_UNSPEC: u8 = 0x00;
const FAMILY_INET: u8 = 0x10;
const FAMILY_INET6: u8 = 0x20;
const FAMILY_UNIX: u8 = 0x30;
const PROTO_UNSPEC: u8 = 0x00;
const PROTO_STREAM: u8 = 0x01;
const PROTO_DATAGRAM: u8 = 0x02;

/// Go's `buildProxyV2Header`: a PROXY command for a TCP connection.
fn build_proxy_v2_header(
    src: &str,
    dst: &str,
    src_port: u16,
    dst_port: u16,
    family: u8,
) -> Vec<u8> {
    let mut b = V2_SIGNATURE.to_vec();
    b.push(V2_VERSION | CMD_PROXY);
    b.push(family | PROTO_STREAM);
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    let mut addr = Vec::new();
    match (family, src, dst) {
        (FAMILY_INET, IpAddr::V4(s), IpAddr::V4(d)) => {
            addr.extend_from_slice(&s.octets());
            addr.extend_from_slice(&d.octets());
        }
        (FAMILY_INET6, s, d) => {
            addr.extend_from_slice(&to16(s));
            addr.extend_from_slice(&to16(d));
        }
        _ => panic!("unsupported address family: {family}"),
    }
    addr.extend_from_slice(&src_port.to_be_bytes());
    addr.extend_from_slice(&dst_port.to_be_bytes());
    b.extend_from_slice(&u16::try_from(addr.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&addr);
    b
}

fn to16(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Go's `buildProxyV2LocalHeader`.
fn build_proxy_v2_local_header() -> Vec<u8> {
    let mut b = V2_SIGNATURE.to_vec();
    b.push(V2_VERSION | CMD_LOCAL);
    b.push(FAMILY_UNSPEC | PROTO_UNSPEC);
    b.extend_from_slice(&[0, 0]);
    b
}

/// Go's `buildProxyV1Header`.
fn build_proxy_v1_header(
    protocol: &str,
    src: &str,
    dst: &str,
    src_port: u16,
    dst_port: u16,
) -> Vec<u8> {
    match protocol {
        "UNKNOWN" => b"PROXY UNKNOWN\r\n".to_vec(),
        "TCP4" | "TCP6" => {
            format!("PROXY {protocol} {src} {dst} {src_port} {dst_port}\r\n").into_bytes()
        }
        _ => panic!("invalid protocol: {protocol}"),
    }
}

/// A v2 header with a fixed part as given and `addr` as its address block.
fn raw_v2(ver_cmd: u8, fam_proto: u8, addr_len: u16, addr: &[u8]) -> Vec<u8> {
    let mut b = V2_SIGNATURE.to_vec();
    b.push(ver_cmd);
    b.push(fam_proto);
    b.extend_from_slice(&addr_len.to_be_bytes());
    b.extend_from_slice(addr);
    b
}

/// Go's `readProxyProtoV2Header` on a connection that holds `data` and then ends.
fn read_v2_header(data: &[u8]) -> Result<Option<ProxyAddr>, ProxyError> {
    match parse_v2(data)? {
        Parse::Parsed { addr, consumed } => {
            assert!(consumed <= data.len());
            Ok(addr)
        }
        Parse::NeedMore(p) => Err(p.error(&StreamEnd::Eof)),
        Parse::NotProxy => panic!("the v2 reader never says NotProxy"),
    }
}

/// Go's `readProxyProtoHeader` on a connection that holds `data` and then ends, through
/// natsd's socket reader: the outcome, and what is left on the connection afterwards.
fn read_proxy_header(data: &[u8]) -> (Result<Outcome, ProxyError>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = tokio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        let (mut conn, _) = l.accept().await.unwrap();
        peer.write_all(data).await.unwrap();
        peer.shutdown().await.unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            read_header(&mut conn, READ_TIMEOUT),
        )
        .await
        .expect("the reader returns as soon as the connection ends");
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await.unwrap();
        (r, rest)
    })
}

fn proxied(r: Result<Outcome, ProxyError>) -> ProxyAddr {
    match r {
        Ok(Outcome::Proxied(a)) => a,
        other => panic!("expected an address, got {other:?}"),
    }
}

fn expect_err(r: Result<impl std::fmt::Debug, ProxyError>, kind: ErrorKind, text: &str) {
    match r {
        Err(e) => {
            assert_eq!(e.kind, kind, "{e}");
            assert_eq!(e.to_string(), text);
        }
        Ok(v) => panic!("expected error {text:?}, got {v:?}"),
    }
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2ParseIPv4" => client_proxy_proto_v2_parse_ipv4);
fn client_proxy_proto_v2_parse_ipv4() {
    let header = build_proxy_v2_header("192.168.1.50", "10.0.0.1", 12345, 4222, FAMILY_INET);
    let addr = read_v2_header(&header).unwrap().unwrap();

    assert_eq!(addr.src.ip().to_string(), "192.168.1.50");
    assert_eq!(addr.src.port(), 12345);
    assert_eq!(addr.dst.ip().to_string(), "10.0.0.1");
    assert_eq!(addr.dst.port(), 4222);
    // Go's String() and Network()
    assert_eq!(addr.to_string(), "192.168.1.50:12345");
    assert_eq!(addr.network(), "tcp4");

    // The detecting reader gives the same address and takes the whole header.
    let (r, rest) = read_proxy_header(&header);
    assert_eq!(proxied(r), addr);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2ParseIPv6" => client_proxy_proto_v2_parse_ipv6);
fn client_proxy_proto_v2_parse_ipv6() {
    let header = build_proxy_v2_header("2001:db8::1", "2001:db8::2", 54321, 4222, FAMILY_INET6);
    let addr = read_v2_header(&header).unwrap().unwrap();

    assert_eq!(addr.src.ip().to_string(), "2001:db8::1");
    assert_eq!(addr.src.port(), 54321);
    assert_eq!(addr.dst.ip().to_string(), "2001:db8::2");
    assert_eq!(addr.dst.port(), 4222);
    assert_eq!(addr.to_string(), "[2001:db8::1]:54321");
    assert_eq!(addr.network(), "tcp6");

    let (r, rest) = read_proxy_header(&header);
    assert_eq!(proxied(r), addr);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2ParseLocalCommand" => client_proxy_proto_v2_parse_local_command);
fn client_proxy_proto_v2_parse_local_command() {
    let header = build_proxy_v2_local_header();
    assert_eq!(read_v2_header(&header).unwrap(), None);

    let (r, rest) = read_proxy_header(&header);
    assert_eq!(r.unwrap(), Outcome::NoAddress);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2InvalidSignature" => client_proxy_proto_v2_invalid_signature);
fn client_proxy_proto_v2_invalid_signature() {
    let mut header = b"INVALID_SIG_".to_vec();
    header.extend_from_slice(&[0x20, 0x11, 0x00, 0x0C]);
    expect_err(
        read_v2_header(&header),
        ErrorKind::Invalid,
        "invalid PROXY protocol header: invalid signature",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2InvalidVersion" => client_proxy_proto_v2_invalid_version);
fn client_proxy_proto_v2_invalid_version() {
    // Version 1 instead of 2
    let header = raw_v2(0x10 | CMD_PROXY, FAMILY_INET | PROTO_STREAM, 0, &[]);
    expect_err(
        read_v2_header(&header),
        ErrorKind::Invalid,
        "invalid PROXY protocol header: invalid version 0x10",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2UnsupportedFamily" => client_proxy_proto_v2_unsupported_family);
fn client_proxy_proto_v2_unsupported_family() {
    // Unix socket family
    let header = raw_v2(V2_VERSION | CMD_PROXY, FAMILY_UNIX | PROTO_STREAM, 0, &[]);
    expect_err(
        read_v2_header(&header),
        ErrorKind::Unsupported,
        "unsupported PROXY protocol feature: unsupported address family 0x30",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2UnsupportedProtocol" => client_proxy_proto_v2_unsupported_protocol);
fn client_proxy_proto_v2_unsupported_protocol() {
    // UDP instead of TCP
    let header = raw_v2(
        V2_VERSION | CMD_PROXY,
        FAMILY_INET | PROTO_DATAGRAM,
        12,
        &[],
    );
    expect_err(
        read_v2_header(&header),
        ErrorKind::Unsupported,
        "unsupported PROXY protocol feature: only STREAM protocol supported",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2TruncatedHeader" => client_proxy_proto_v2_truncated_header);
fn client_proxy_proto_v2_truncated_header() {
    let header = build_proxy_v2_header("192.168.1.50", "10.0.0.1", 12345, 4222, FAMILY_INET);
    // Only the first 10 bytes (an incomplete header)
    expect_err(
        read_v2_header(&header[..10]),
        ErrorKind::UnexpectedEof,
        "failed to read PROXY protocol header: unexpected EOF",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2ShortAddressData" => client_proxy_proto_v2_short_address_data);
fn client_proxy_proto_v2_short_address_data() {
    // Address length 12, but only 5 bytes of it
    let header = raw_v2(
        V2_VERSION | CMD_PROXY,
        FAMILY_INET | PROTO_STREAM,
        12,
        &[1, 2, 3, 4, 5],
    );
    expect_err(
        read_v2_header(&header),
        ErrorKind::UnexpectedEof,
        "failed to read IPv4 address data: unexpected EOF",
    );
}

/// A server with `proxy_protocol` on.
fn run_proxy_proto_server() -> BackgroundServer {
    let mut o = default_test_options();
    o.proxy_protocol = true;
    run_server(o)
}

/// The connection whose address (as connz and INFO report it) is `ip:port` (Go's
/// `findProxyProtoClient`).
fn find_proxy_proto_client(srv: &BackgroundServer, ip: &str, port: u16) -> Option<Arc<Client>> {
    srv.shared()
        .clients()
        .into_iter()
        .find(|c| c.remote_host() == ip && c.remote_port() == port)
}

/// Whether connz lists an open connection from `ip:port`.
fn connz_lists(srv: &BackgroundServer, ip: &str, port: u16) -> bool {
    let cz = connz(srv.shared(), &ConnzOptions::default()).unwrap();
    cz.conns()
        .iter()
        .any(|c| c.ip == ip && c.port == i64::from(port))
}

/// Waits until the connection from `ip:port` is known, through the client and connz.
fn check_proxy_proto_client(srv: &BackgroundServer, ip: &str, port: u16) -> Arc<Client> {
    check_for(Duration::from_secs(1), Duration::from_millis(10), || {
        if find_proxy_proto_client(srv, ip, port).is_some() && connz_lists(srv, ip, port) {
            Ok(())
        } else {
            Err("no client with PROXY-supplied host/port yet".to_string())
        }
    });
    find_proxy_proto_client(srv, ip, port).unwrap()
}

port!("server/client_proxyproto_test.go::TestProxyConnRemoteAddr" => proxy_conn_remote_addr);
fn proxy_conn_remote_addr() {
    // Go wraps the connection so that RemoteAddr gives the PROXY source while the wrapped
    // connection keeps its own. Here: the connection reports the PROXY source, while its
    // socket (and so its log label) keeps the real peer.
    let srv = run_proxy_proto_server();
    let mut c = RawConn::connect(srv.addr);
    let original = c.stream().local_addr().unwrap();
    c.send_bytes(&build_proxy_v2_header(
        "10.0.0.50",
        "10.0.0.1",
        12345,
        4222,
        FAMILY_INET,
    ));
    c.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
    c.check_info();
    c.expect(&re::PONG);

    let cl = check_proxy_proto_client(&srv, "10.0.0.50", 12345);
    assert_eq!(
        natsd::server::join_host_port(cl.remote_host(), cl.remote_port()),
        "10.0.0.50:12345"
    );
    assert_eq!(
        natsd::server::join_host_port(&cl.host, cl.port),
        original.to_string()
    );
    assert!(cl.label().starts_with(&format!("{original} - cid:")));
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2EndToEnd" => client_proxy_proto_v2_end_to_end);
fn client_proxy_proto_v2_end_to_end() {
    let srv = run_proxy_proto_server();
    let mut c = RawConn::connect(srv.addr);

    let (client_ip, client_port) = ("203.0.113.50", 54321);
    c.send_bytes(&build_proxy_v2_header(
        client_ip,
        "127.0.0.1",
        client_port,
        4222,
        FAMILY_INET,
    ));
    c.send("CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n");

    // The INFO, without the proxy's address as the client's.
    let info = c.check_info();
    assert!(info.get("client_ip").is_none(), "{info}");

    check_proxy_proto_client(&srv, client_ip, client_port);
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV2LocalCommandEndToEnd" => client_proxy_proto_v2_local_command_end_to_end);
fn client_proxy_proto_v2_local_command_end_to_end() {
    let srv = run_proxy_proto_server();
    let mut c = RawConn::connect(srv.addr);
    let own = c.stream().local_addr().unwrap();

    // A LOCAL header (health check)
    c.send_bytes(&build_proxy_v2_local_header());
    c.send("CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n");
    c.check_info();

    // The connection works normally, with its own address.
    c.send("PING\r\n");
    c.expect(&re::PONG);
    assert_ne!(srv.shared().num_clients(), 0);
    check_proxy_proto_client(&srv, &own.ip().to_string(), own.port());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1ParseTCP4" => client_proxy_proto_v1_parse_tcp4);
fn client_proxy_proto_v1_parse_tcp4() {
    let header = build_proxy_v1_header("TCP4", "192.168.1.50", "10.0.0.1", 12345, 4222);
    let (r, rest) = read_proxy_header(&header);
    let addr = proxied(r);
    assert_eq!(addr.src.ip().to_string(), "192.168.1.50");
    assert_eq!(addr.src.port(), 12345);
    assert_eq!(addr.dst.ip().to_string(), "10.0.0.1");
    assert_eq!(addr.dst.port(), 4222);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1ParseTCP6" => client_proxy_proto_v1_parse_tcp6);
fn client_proxy_proto_v1_parse_tcp6() {
    let header = build_proxy_v1_header("TCP6", "2001:db8::1", "2001:db8::2", 54321, 4222);
    let (r, rest) = read_proxy_header(&header);
    let addr = proxied(r);
    assert_eq!(addr.src.ip().to_string(), "2001:db8::1");
    assert_eq!(addr.src.port(), 54321);
    assert_eq!(addr.dst.ip().to_string(), "2001:db8::2");
    assert_eq!(addr.dst.port(), 4222);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1ParseTCP6IPv4Mapped" => client_proxy_proto_v1_parse_tcp6_ipv4_mapped);
fn client_proxy_proto_v1_parse_tcp6_ipv4_mapped() {
    // Dual-stack proxies send IPv4-mapped IPv6 addresses for IPv4 clients: valid TCP6.
    let header = build_proxy_v1_header("TCP6", "::ffff:192.0.2.1", "::ffff:10.0.0.1", 1234, 4222);
    let (r, _) = read_proxy_header(&header);
    let addr = proxied(r);
    assert_eq!(addr.src.ip().to_string(), "192.0.2.1");
    assert_eq!(addr.src.port(), 1234);
    assert_eq!(addr.dst.ip().to_string(), "10.0.0.1");
    assert_eq!(addr.dst.port(), 4222);
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1MismatchedDestProtocol" => client_proxy_proto_v1_mismatched_dest_protocol);
fn client_proxy_proto_v1_mismatched_dest_protocol() {
    // TCP4 with an IPv6 destination address
    let header = build_proxy_v1_header("TCP4", "192.168.1.1", "2001:db8::2", 12345, 443);
    expect_err(
        read_proxy_header(&header).0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: TCP4 with IPv6 address",
    );
    // TCP6 with an IPv4 destination address
    let header = build_proxy_v1_header("TCP6", "2001:db8::1", "10.0.0.1", 12345, 443);
    expect_err(
        read_proxy_header(&header).0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: TCP6 with IPv4 address",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1ParseUnknown" => client_proxy_proto_v1_parse_unknown);
fn client_proxy_proto_v1_parse_unknown() {
    let header = build_proxy_v1_header("UNKNOWN", "", "", 0, 0);
    let (r, rest) = read_proxy_header(&header);
    assert_eq!(r.unwrap(), Outcome::NoAddress);
    assert!(rest.is_empty());
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1PreservesCoalescedClientBytes" => client_proxy_proto_v1_preserves_coalesced_client_bytes);
fn client_proxy_proto_v1_preserves_coalesced_client_bytes() {
    let header = build_proxy_v1_header("TCP4", "192.168.1.50", "10.0.0.1", 12345, 4222);
    let connect = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n";
    let mut data = header.clone();
    data.extend_from_slice(connect);

    // Everything after the header is left, once and whole, for the client parser.
    let (r, rest) = read_proxy_header(&data);
    proxied(r);
    assert_eq!(
        String::from_utf8(rest).unwrap(),
        String::from_utf8_lossy(connect)
    );
    // And the pure parser says where the header ends.
    assert_eq!(
        parse(&data).unwrap(),
        Parse::Parsed {
            addr: Some(proxied(read_proxy_header(&header).0)),
            consumed: header.len()
        }
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1InvalidFormat" => client_proxy_proto_v1_invalid_format);
fn client_proxy_proto_v1_invalid_format() {
    // Missing fields
    expect_err(
        read_proxy_header(b"PROXY TCP4 192.168.1.1\r\n").0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: invalid v1 format",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1LineTooLong" => client_proxy_proto_v1_line_too_long);
fn client_proxy_proto_v1_line_too_long() {
    // A line longer than 107 bytes
    let long_ip = "1234567890".repeat(12);
    let header = format!("PROXY TCP4 {long_ip} 10.0.0.1 12345 443\r\n");
    expect_err(
        read_proxy_header(header.as_bytes()).0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: v1 line too long",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1InvalidIP" => client_proxy_proto_v1_invalid_ip);
fn client_proxy_proto_v1_invalid_ip() {
    expect_err(
        read_proxy_header(b"PROXY TCP4 not.an.ip.addr 10.0.0.1 12345 443\r\n").0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: invalid address",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1MismatchedProtocol" => client_proxy_proto_v1_mismatched_protocol);
fn client_proxy_proto_v1_mismatched_protocol() {
    // TCP4 with IPv6 addresses
    let header = build_proxy_v1_header("TCP4", "2001:db8::1", "2001:db8::2", 12345, 443);
    expect_err(
        read_proxy_header(&header).0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: TCP4 with IPv6 address",
    );
    // TCP6 with IPv4 addresses
    let header = build_proxy_v1_header("TCP6", "192.168.1.1", "10.0.0.1", 12345, 443);
    expect_err(
        read_proxy_header(&header).0,
        ErrorKind::Invalid,
        "invalid PROXY protocol header: TCP6 with IPv4 address",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1InvalidPort" => client_proxy_proto_v1_invalid_port);
fn client_proxy_proto_v1_invalid_port() {
    expect_err(
        read_proxy_header(b"PROXY TCP4 192.168.1.1 10.0.0.1 99999 443\r\n").0,
        ErrorKind::Other,
        "invalid source port: strconv.ParseUint: parsing \"99999\": value out of range",
    );
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoV1EndToEnd" => client_proxy_proto_v1_end_to_end);
fn client_proxy_proto_v1_end_to_end() {
    let srv = run_proxy_proto_server();
    let mut c = RawConn::connect(srv.addr);

    // The header and the first client commands in one write: the bytes after the header
    // must reach the client parser.
    let (client_ip, client_port) = ("203.0.113.50", 54321);
    let mut payload = build_proxy_v1_header("TCP4", client_ip, "127.0.0.1", client_port, 4222);
    payload.extend_from_slice(
        b"CONNECT {\"verbose\":true,\"pedantic\":false,\"protocol\":1}\r\nPING\r\n",
    );
    c.send_bytes(&payload);

    let info = c.expect(&re::INFO);
    assert!(info.starts_with(b"INFO "));
    c.expect(&re::OK);
    c.expect(&re::PONG);

    check_proxy_proto_client(&srv, client_ip, client_port);
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoVersionDetection" => client_proxy_proto_version_detection);
fn client_proxy_proto_version_detection() {
    // v1
    let v1 = build_proxy_v1_header("TCP4", "192.168.1.1", "10.0.0.1", 12345, 443);
    let addr1 = proxied(read_proxy_header(&v1).0);
    assert_eq!(addr1.src.ip().to_string(), "192.168.1.1");
    // v2
    let v2 = build_proxy_v2_header("192.168.1.2", "10.0.0.1", 54321, 443, FAMILY_INET);
    let addr2 = proxied(read_proxy_header(&v2).0);
    assert_eq!(addr2.src.ip().to_string(), "192.168.1.2");
}

port!("server/client_proxyproto_test.go::TestClientProxyProtoUnrecognizedVersion" => client_proxy_proto_unrecognized_version);
fn client_proxy_proto_unrecognized_version() {
    // Neither v1 nor v2: not a PROXY header, and nothing is taken from the connection.
    let header = b"HELLO WORLD\r\n";
    assert_eq!(parse(header).unwrap(), Parse::NotProxy);
    let (r, rest) = read_proxy_header(header);
    assert_eq!(r.unwrap(), Outcome::NotProxy);
    assert_eq!(rest, header);
}

// PROXY protocol + TLS (Go's regression tests for issue #7571).

mod tls_ports {
    use super::*;
    use natsd::tls::{gen_tls_config, TlsConfigOpts};
    use ported::tls_client::test_cert;
    use rustls::pki_types::ServerName;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;

    type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

    /// Go's `runProxyProtoTLSServer` (TLS required) and `runProxyProtoAllowNonTLSServer`,
    /// with natsd's test certificates in place of Go's (same names and subjects).
    fn run_proxy_proto_tls_server(
        allow_non_tls: bool,
        tls_first_fallback: Option<Duration>,
    ) -> BackgroundServer {
        let tc = TlsConfigOpts {
            cert_file: test_cert("server-cert.pem"),
            key_file: test_cert("server-key.pem"),
            ca_file: test_cert("ca.pem"),
            ..TlsConfigOpts::default()
        };
        let mut o = default_test_options();
        o.proxy_protocol = true;
        o.tls_config = Some(Arc::new(gen_tls_config(&tc).unwrap()));
        o.tls_timeout = Duration::from_secs(2);
        o.allow_non_tls = allow_non_tls;
        if let Some(fallback) = tls_first_fallback {
            o.tls_handshake_first = true;
            o.tls_handshake_first_fallback = fallback;
        }
        run_server(o)
    }

    /// Go's `proxyProtoTLSClientConfig`: trusts the test CA, expects "localhost".
    fn tls_client(tcp: TcpStream) -> TlsStream {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(test_cert("ca.pem")).unwrap();
        for c in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
        let mut tcp = tcp;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).unwrap();
        }
        rustls::StreamOwned::new(conn, tcp)
    }

    fn dial(addr: std::net::SocketAddr) -> TcpStream {
        let c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    }

    /// Reads one line, byte by byte, so nothing past it is taken off the connection.
    fn read_line_exact(r: &mut impl Read) -> String {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\n") {
            assert_eq!(r.read(&mut b).unwrap(), 1, "closed after {line:?}");
            line.push(b[0]);
        }
        String::from_utf8(line).unwrap()
    }

    /// Go's `connectProxyProtoTLS`: PROXY header, INFO in plain text, then the upgrade.
    fn connect_proxy_proto_tls(addr: std::net::SocketAddr, header: &[u8]) -> BufReader<TlsStream> {
        let mut raw = dial(addr);
        raw.write_all(header).unwrap();
        // INFO comes in plain text before the upgrade; nothing may follow it.
        let info = read_line_exact(&mut raw);
        assert!(info.starts_with("INFO "), "{info}");
        raw.set_nonblocking(true).unwrap();
        let mut extra = [0u8; 1];
        assert!(
            raw.read(&mut extra).is_err(),
            "bytes after INFO before the upgrade"
        );
        raw.set_nonblocking(false).unwrap();
        BufReader::new(tls_client(raw))
    }

    fn read_line(r: &mut impl BufRead) -> String {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    }

    /// CONNECT (verbose) + PING: +OK then PONG (Go's `expectPong`).
    fn connect_ping(c: &mut BufReader<impl Read + Write>) {
        c.get_mut()
            .write_all(b"CONNECT {\"verbose\":true,\"pedantic\":false,\"protocol\":1}\r\nPING\r\n")
            .unwrap();
        c.get_mut().flush().unwrap();
        let line = read_line(c);
        assert!(line.starts_with("+OK"), "{line}");
        assert_eq!(read_line(c), "PONG\r\n");
    }

    port!("server/client_proxyproto_test.go::TestClientProxyProtoV1WithRequiredTLS" => client_proxy_proto_v1_with_required_tls);
    fn client_proxy_proto_v1_with_required_tls() {
        let srv = run_proxy_proto_tls_server(false, None);
        let (client_ip, client_port) = ("203.0.113.50", 54321);
        let header = build_proxy_v1_header("TCP4", client_ip, "127.0.0.1", client_port, 4222);
        let mut c = connect_proxy_proto_tls(srv.addr, &header);
        connect_ping(&mut c);
        check_proxy_proto_client(&srv, client_ip, client_port);
    }

    port!("server/client_proxyproto_test.go::TestClientProxyProtoV2WithRequiredTLS" => client_proxy_proto_v2_with_required_tls);
    fn client_proxy_proto_v2_with_required_tls() {
        let srv = run_proxy_proto_tls_server(false, None);
        let (client_ip, client_port) = ("203.0.113.51", 54322);
        let header = build_proxy_v2_header(client_ip, "127.0.0.1", client_port, 4222, FAMILY_INET);
        let mut c = connect_proxy_proto_tls(srv.addr, &header);
        connect_ping(&mut c);
        check_proxy_proto_client(&srv, client_ip, client_port);
    }

    port!("server/client_proxyproto_test.go::TestClientProxyProtoNonProxiedTLSFirstFallback" => client_proxy_proto_non_proxied_tls_first_fallback);
    fn client_proxy_proto_non_proxied_tls_first_fallback() {
        let srv = run_proxy_proto_tls_server(false, Some(Duration::from_millis(250)));
        // A direct TLS-first client: the handshake at once, no PROXY header.
        let mut c = BufReader::new(tls_client(dial(srv.addr)));
        let info = read_line(&mut c);
        assert!(info.starts_with("INFO "), "{info}");
        connect_ping(&mut c);
    }

    /// Go's `testClientProxyProtoAllowNonTLS`: with `allow_non_tls`, TLS is told from plain
    /// text by the first byte after the PROXY header, so both kinds of client connect.
    fn client_proxy_proto_allow_non_tls(header: &[u8], client_ip: &str, client_port: u16) {
        let srv = run_proxy_proto_tls_server(true, None);

        // A TLS client behind the proxy.
        let mut c = connect_proxy_proto_tls(srv.addr, header);
        connect_ping(&mut c);
        let tls_client = check_proxy_proto_client(&srv, client_ip, client_port);

        // A plain-text client behind the proxy.
        let mut raw = dial(srv.addr);
        raw.write_all(header).unwrap();
        let mut plain = BufReader::new(raw);
        let info = read_line(&mut plain);
        assert!(info.starts_with("INFO "), "{info}");
        connect_ping(&mut plain);
        check_for(Duration::from_secs(1), Duration::from_millis(10), || {
            let n = srv
                .shared()
                .clients()
                .iter()
                .filter(|c| c.remote_host() == client_ip && c.remote_port() == client_port)
                .count();
            if n == 2 {
                Ok(())
            } else {
                Err(format!(
                    "{n} clients with the PROXY-supplied address, want 2"
                ))
            }
        });
        assert!(srv
            .shared()
            .clients()
            .iter()
            .any(|c| c.cid != tls_client.cid));
    }

    port!("server/client_proxyproto_test.go::TestClientProxyProtoV1WithAllowNonTLS" => client_proxy_proto_v1_with_allow_non_tls);
    fn client_proxy_proto_v1_with_allow_non_tls() {
        let (client_ip, client_port) = ("203.0.113.60", 54331);
        let header = build_proxy_v1_header("TCP4", client_ip, "127.0.0.1", client_port, 4222);
        client_proxy_proto_allow_non_tls(&header, client_ip, client_port);
    }

    port!("server/client_proxyproto_test.go::TestClientProxyProtoV2WithAllowNonTLS" => client_proxy_proto_v2_with_allow_non_tls);
    fn client_proxy_proto_v2_with_allow_non_tls() {
        let (client_ip, client_port) = ("203.0.113.61", 54332);
        let header = build_proxy_v2_header(client_ip, "127.0.0.1", client_port, 4222, FAMILY_INET);
        client_proxy_proto_allow_non_tls(&header, client_ip, client_port);
    }
}
