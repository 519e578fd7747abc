//! Command line of nats-server v2.14.5, parsed with Go's `flag` package rules.
//!
//! clap cannot express these rules (multi-letter single-dash flags such as `-DV`, `-sl`,
//! `-js`; booleans that only take `-x` or `-x=false`; one or two dashes meaning the same
//! thing), so this is a small parser driven by one table, [`FLAGS`], with one row per flag
//! name exactly as nats-server registers them.
//!
//! Rules reproduced from Go's `flag` package:
//! - `-name` and `--name` are the same flag; `--` alone ends the flags.
//! - A non-boolean flag takes `-name=value` or `-name value` (the next argument is taken
//!   even when it starts with `-`, so `-p -1` works).
//! - A boolean flag takes `-name` (true) or `-name=value` only; `-name false` leaves
//!   `false` as the first positional argument.
//! - Parsing stops at the first argument that is not a flag (`-` alone is not a flag).
//! - Integers are read like Go's `strconv.ParseInt(s, 0, 64)`: `0x`, `0o`, `0b`, leading-0
//!   octal and `_` separators are accepted.
//!
//! How flags combine with the config file (Go's `ConfigureOptions`): flags are parsed,
//! the file is applied on top, then the flags are applied again, so a flag given on the
//! command line always wins over the file. [`FlagSet`] records what the command line set
//! so the config loader can replay it with [`FlagSet::apply`] after reading the file.

use super::options::Options;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The executable name nats-server uses in its messages (`nats-server: ...`).
pub const EXE_NAME: &str = "nats-server";

/// nats-server's usage text, byte for byte. Print it with `println!("{USAGE}")` (Go prints
/// it with a trailing newline).
pub const USAGE: &str = "
Usage: nats-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to nats-server process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/nats-server.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -s, --syslog                     Log to syslog or windows event log
    -r, --remote_syslog <addr>       Syslog server addr (udp://localhost:514)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (traces system account as well)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (traces system account as well)
        --log_size_limit <limit>     Logfile size limit (default: auto)
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster url from which members can solicit routes

Profiling Options:
        --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
";

/// The first part of `--help_tls` (nats-server then lists the cipher suites and curves
/// the TLS stack supports, which belongs to the TLS module).
pub const TLS_USAGE: &str = r#"
TLS configuration is specified in the tls section of a configuration file:

e.g.

    tls {
        cert_file:      "./certs/server-cert.pem"
        key_file:       "./certs/server-key.pem"
        ca_file:        "./certs/ca.pem"
        verify:         true
        verify_and_map: true

        cipher_suites: [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
        curve_preferences: [
            "CurveP256",
            "CurveP384",
            "CurveP521"
        ]
    }

Available cipher suites include:
"#;

/// The line printed by `-v`/`--version`. It starts exactly like nats-server's
/// (`nats-server: v2.14.5`) so scripts that read the first word after the colon, or the
/// first `vX.Y.Z`, keep working; natsd's own version follows without a `v`.
pub fn version_line() -> String {
    format!(
        "{EXE_NAME}: v{} (natsd {})",
        crate::VERSION,
        crate::NATSD_VERSION
    )
}

/// What the command line asks for.
#[derive(Debug)]
pub enum CliAction {
    /// Run the server with these options. The [`FlagSet`] says what the command line set,
    /// so that after loading `options.config_file` the flags can be applied again and win.
    Run(Box<Options>, FlagSet),
    /// `-v`, `--version` or the `version` command: print [`version_line`], exit 0.
    Version,
    /// `-h`, `--help` or the `help` command: print [`USAGE`], exit 0.
    Help,
    /// `--help_tls`: print the TLS help, exit 0.
    HelpTls,
    /// `-sl`/`--signal <signal>[=<pid|pidfile>]`: send `signal` to a running server and
    /// exit. `pid_or_file` is given as typed: a PID, a PID followed by `*`, or the path of
    /// a PID file (nats-server reads the file if it exists, else takes the text as a PID).
    Signal {
        signal: String,
        pid_or_file: Option<String>,
    },
    /// `-t` with `-c FILE`: check the configuration file and exit. The options carry the
    /// flags; the caller loads the file into them and reports
    /// `nats-server: configuration file FILE is valid (DIGEST)`.
    TestConfig(Box<Options>),
}

/// A command line nats-server would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Go's `flag` package rejected the arguments (unknown flag, missing or bad value).
    /// nats-server prints the message on stderr, then [`USAGE`] on stdout, and exits 0:
    /// its usage function exits before `flag` gets to exit 2.
    Flag(String),
    /// The flags parsed but make no sense together, or a command is unknown.
    /// nats-server prints `nats-server: <message>` on stderr and exits 1.
    Invalid(String),
}

impl CliError {
    /// The exit status nats-server uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Flag(_) => 0,
            CliError::Invalid(_) => 1,
        }
    }

    /// Prints the error the way nats-server does and returns the exit status to use.
    pub fn report(&self) -> i32 {
        match self {
            CliError::Flag(m) => {
                eprintln!("{m}");
                println!("{USAGE}");
            }
            CliError::Invalid(m) => eprintln!("{EXE_NAME}: {m}"),
        }
        self.exit_code()
    }

    pub fn message(&self) -> &str {
        match self {
            CliError::Flag(m) | CliError::Invalid(m) => m,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for CliError {}

/// How a flag's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// Go `BoolVar`: `-x` or `-x=<bool>`.
    Bool,
    /// Go `IntVar`/`Int64Var`: 64-bit, base prefixes allowed.
    Int,
    /// Go `StringVar`.
    Str,
}

/// What a flag sets. Several names can share a target (`-p` and `--port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagTarget {
    ShowHelp,
    ShowVersion,
    ShowTlsHelp,
    Port,
    ServerName,
    Host,
    ClientAdvertise,
    Debug,
    Trace,
    /// `-VV`: trace, verbose trace.
    TraceVerbose,
    /// `-DV`: debug and trace.
    DebugAndTrace,
    /// `-DVV`: debug, trace and verbose trace.
    DebugAndTraceVerbose,
    Logtime,
    LogtimeUtc,
    Username,
    Password,
    Authorization,
    HttpPort,
    HttpsPort,
    ConfigFile,
    CheckConfig,
    Signal,
    PidFile,
    PortsFileDir,
    LogFile,
    LogSizeLimit,
    Syslog,
    RemoteSyslog,
    ProfPort,
    Routes,
    ClusterListen,
    ClusterAdvertise,
    ClusterNoAdvertise,
    ClusterConnectRetries,
    ClusterName,
    Tls,
    TlsVerify,
    TlsCert,
    TlsKey,
    TlsCaCert,
    MaxTracedMsgLen,
    JetStream,
    StoreDir,
}

/// One flag name as nats-server registers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    pub name: &'static str,
    pub kind: FlagKind,
    pub target: FlagTarget,
}

const fn flag(name: &'static str, kind: FlagKind, target: FlagTarget) -> FlagSpec {
    FlagSpec { name, kind, target }
}

use FlagKind::{Bool, Int, Str};
use FlagTarget as T;

/// Every flag of nats-server v2.14.5 (`ConfigureOptions`), one row per name.
pub const FLAGS: &[FlagSpec] = &[
    flag("h", Bool, T::ShowHelp),
    flag("help", Bool, T::ShowHelp),
    flag("port", Int, T::Port),
    flag("p", Int, T::Port),
    flag("n", Str, T::ServerName),
    flag("name", Str, T::ServerName),
    flag("server_name", Str, T::ServerName),
    flag("addr", Str, T::Host),
    flag("a", Str, T::Host),
    flag("net", Str, T::Host),
    flag("client_advertise", Str, T::ClientAdvertise),
    flag("D", Bool, T::Debug),
    flag("debug", Bool, T::Debug),
    flag("V", Bool, T::Trace),
    flag("VV", Bool, T::TraceVerbose),
    flag("trace", Bool, T::Trace),
    flag("DV", Bool, T::DebugAndTrace),
    flag("DVV", Bool, T::DebugAndTraceVerbose),
    flag("T", Bool, T::Logtime),
    flag("logtime", Bool, T::Logtime),
    flag("logtime_utc", Bool, T::LogtimeUtc),
    flag("user", Str, T::Username),
    flag("pass", Str, T::Password),
    flag("auth", Str, T::Authorization),
    flag("m", Int, T::HttpPort),
    flag("http_port", Int, T::HttpPort),
    flag("ms", Int, T::HttpsPort),
    flag("https_port", Int, T::HttpsPort),
    flag("c", Str, T::ConfigFile),
    flag("config", Str, T::ConfigFile),
    flag("t", Bool, T::CheckConfig),
    flag("sl", Str, T::Signal),
    flag("signal", Str, T::Signal),
    flag("P", Str, T::PidFile),
    flag("pid", Str, T::PidFile),
    flag("ports_file_dir", Str, T::PortsFileDir),
    flag("l", Str, T::LogFile),
    flag("log", Str, T::LogFile),
    flag("log_size_limit", Int, T::LogSizeLimit),
    flag("s", Bool, T::Syslog),
    flag("syslog", Bool, T::Syslog),
    flag("r", Str, T::RemoteSyslog),
    flag("remote_syslog", Str, T::RemoteSyslog),
    flag("version", Bool, T::ShowVersion),
    flag("v", Bool, T::ShowVersion),
    flag("profile", Int, T::ProfPort),
    flag("routes", Str, T::Routes),
    flag("cluster", Str, T::ClusterListen),
    flag("cluster_listen", Str, T::ClusterListen),
    flag("cluster_advertise", Str, T::ClusterAdvertise),
    flag("no_advertise", Bool, T::ClusterNoAdvertise),
    flag("connect_retries", Int, T::ClusterConnectRetries),
    flag("cluster_name", Str, T::ClusterName),
    flag("help_tls", Bool, T::ShowTlsHelp),
    flag("tls", Bool, T::Tls),
    flag("tlsverify", Bool, T::TlsVerify),
    flag("tlscert", Str, T::TlsCert),
    flag("tlskey", Str, T::TlsKey),
    flag("tlscacert", Str, T::TlsCaCert),
    flag("max_traced_msg_len", Int, T::MaxTracedMsgLen),
    flag("js", Bool, T::JetStream),
    flag("jetstream", Bool, T::JetStream),
    flag("sd", Str, T::StoreDir),
    flag("store_dir", Str, T::StoreDir),
];

fn lookup(name: &str) -> Option<&'static FlagSpec> {
    FLAGS.iter().find(|f| f.name == name)
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// The flags the command line set, in the order given, with their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagSet {
    set: Vec<(&'static FlagSpec, FlagValue)>,
}

/// Values of the flags that are not options themselves (help, signal, `-DV`, ...).
#[derive(Debug, Default)]
struct Locals {
    show_help: bool,
    show_version: bool,
    show_tls_help: bool,
    signal: String,
    debug_and_trace: bool,
    trace_verbose: bool,
    debug_and_trace_verbose: bool,
}

impl FlagSet {
    /// True when the command line set a flag with this target (under any of its names).
    pub fn sets(&self, target: FlagTarget) -> bool {
        self.set.iter().any(|(f, _)| f.target == target)
    }

    /// True when the command line used this exact flag name (`"p"`, `"port"`, `"DV"`).
    pub fn has_name(&self, name: &str) -> bool {
        self.set.iter().any(|(f, _)| f.name == name)
    }

    /// The flags given, in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FlagValue)> {
        self.set.iter().map(|(f, v)| (f.name, v))
    }

    /// The boolean options the command line set explicitly, by Go field name, with their
    /// value (Go's `inCmdLine`; config reload uses it so the file cannot undo them).
    pub fn explicit_bools(&self) -> BTreeMap<&'static str, bool> {
        let mut opts = Options::default();
        let locals = self.assign(&mut opts);
        let mut out = BTreeMap::new();
        for name in self.visited_names() {
            match name {
                "DVV" => {
                    let v = locals.debug_and_trace_verbose;
                    out.insert("Debug", v);
                    out.insert("Trace", v);
                    out.insert("TraceVerbose", v);
                }
                "DV" => {
                    out.insert("Debug", locals.debug_and_trace);
                    out.insert("Trace", locals.debug_and_trace);
                }
                "D" | "debug" => {
                    out.insert("Debug", opts.debug);
                }
                "VV" => {
                    out.insert("Trace", locals.trace_verbose);
                    out.insert("TraceVerbose", locals.trace_verbose);
                }
                "V" | "trace" => {
                    out.insert("Trace", opts.trace);
                }
                "T" | "logtime" => {
                    out.insert("Logtime", opts.logtime);
                }
                "s" | "syslog" => {
                    out.insert("Syslog", opts.syslog);
                }
                "no_advertise" => {
                    out.insert("Cluster.NoAdvertise", opts.cluster.no_advertise);
                }
                "js" => {
                    out.insert("JetStream", opts.jetstream);
                }
                _ => {}
            }
        }
        out
    }

    /// Applies the command line to `opts` so that it wins over what is already there
    /// (defaults, or a config file loaded into `opts`), including nats-server's special
    /// handling of `-DV`, `-VV`, `-DVV`, `--cluster`, `--routes` and the TLS flags, and the
    /// check that solicited routes come with a cluster listen address.
    pub fn apply(&self, opts: &mut Options) -> Result<(), CliError> {
        self.apply_flags(opts)?;
        check_routes_have_cluster(opts)
    }

    /// Names of the flags that were set, once each, in byte order (Go's `Visit` order).
    fn visited_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.set.iter().map(|(f, _)| f.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Stores each value in its target, in command-line order.
    fn assign(&self, opts: &mut Options) -> Locals {
        let mut l = Locals::default();
        for (spec, value) in &self.set {
            assign_one(opts, &mut l, spec.target, value);
        }
        l
    }

    /// [`FlagSet::apply`] without the cross-check against cluster settings, which must
    /// wait for the config file.
    fn apply_flags(&self, opts: &mut Options) -> Result<(), CliError> {
        let l = self.assign(opts);
        let mut tls_disabled = false;
        let mut tls_override = false;
        for name in self.visited_names() {
            if name.starts_with("tls") {
                if name == "tls" {
                    if !opts.tls {
                        // `-tls=false` turns TLS off whatever the other flags say.
                        opts.tls_config = None;
                        tls_disabled = true;
                        tls_override = false;
                        continue;
                    }
                    tls_override = true;
                } else if !tls_disabled {
                    tls_override = true;
                }
                continue;
            }
            match name {
                "VV" => {
                    opts.trace = l.trace_verbose;
                    opts.trace_verbose = l.trace_verbose;
                }
                "DVV" => {
                    opts.trace = l.debug_and_trace_verbose;
                    opts.debug = l.debug_and_trace_verbose;
                    opts.trace_verbose = l.debug_and_trace_verbose;
                }
                "DV" => {
                    opts.trace = l.debug_and_trace;
                    opts.debug = l.debug_and_trace;
                }
                "cluster" | "cluster_listen" => override_cluster(opts)?,
                "routes" => {
                    opts.routes = if opts.routes_str.is_empty() {
                        Vec::new()
                    } else {
                        routes_from_str(&opts.routes_str)
                    };
                }
                _ => {}
            }
        }
        if tls_override {
            if opts.tls_cert.is_empty() {
                return Err(CliError::Invalid(
                    "TLS Server certificate must be present and valid".into(),
                ));
            }
            if opts.tls_key.is_empty() {
                return Err(CliError::Invalid(
                    "TLS Server private key must be present and valid".into(),
                ));
            }
            // Go's `overrideTLS`: a configuration of its own, replacing the file's.
            let tc = crate::tls::TlsConfigOpts {
                cert_file: opts.tls_cert.clone(),
                key_file: opts.tls_key.clone(),
                ca_file: opts.tls_ca_cert.clone(),
                verify: opts.tls_verify,
                ciphers: Some(crate::tls::default_cipher_ids()),
                ..crate::tls::TlsConfigOpts::default()
            };
            let cfg = crate::tls::gen_tls_config(&tc).map_err(CliError::Invalid)?;
            opts.tls_config = Some(std::sync::Arc::new(cfg));
            super::tls_block::default_auth_timeout_for_tls(opts);
        }
        Ok(())
    }
}

fn non_empty_path(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// Go's `int` is 64-bit; our option fields are narrower, so a value that does not fit is
/// saturated (such a port or count is rejected later anyway).
fn to_i32(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

fn assign_one(opts: &mut Options, l: &mut Locals, target: FlagTarget, value: &FlagValue) {
    let b = matches!(value, FlagValue::Bool(true));
    let i = match value {
        FlagValue::Int(i) => *i,
        _ => 0,
    };
    let s = match value {
        FlagValue::Str(s) => s.as_str(),
        _ => "",
    };
    match target {
        T::ShowHelp => l.show_help = b,
        T::ShowVersion => l.show_version = b,
        T::ShowTlsHelp => l.show_tls_help = b,
        T::Port => opts.port = to_i32(i),
        T::ServerName => opts.server_name = s.to_string(),
        T::Host => opts.host = s.to_string(),
        T::ClientAdvertise => opts.client_advertise = s.to_string(),
        T::Debug => opts.debug = b,
        T::Trace => opts.trace = b,
        T::TraceVerbose => l.trace_verbose = b,
        T::DebugAndTrace => l.debug_and_trace = b,
        T::DebugAndTraceVerbose => l.debug_and_trace_verbose = b,
        T::Logtime => opts.logtime = b,
        T::LogtimeUtc => opts.logtime_utc = b,
        T::Username => opts.username = s.to_string(),
        T::Password => opts.password = s.to_string(),
        T::Authorization => opts.authorization = s.to_string(),
        T::HttpPort => opts.http_port = to_i32(i),
        T::HttpsPort => opts.https_port = to_i32(i),
        T::ConfigFile => opts.config_file = non_empty_path(s),
        T::CheckConfig => opts.check_config = b,
        T::Signal => l.signal = s.to_string(),
        T::PidFile => opts.pid_file = non_empty_path(s),
        T::PortsFileDir => opts.ports_file_dir = non_empty_path(s),
        T::LogFile => opts.log_file = non_empty_path(s),
        T::LogSizeLimit => opts.log_size_limit = i,
        T::Syslog => opts.syslog = b,
        T::RemoteSyslog => opts.remote_syslog = s.to_string(),
        T::ProfPort => opts.prof_port = to_i32(i),
        T::Routes => opts.routes_str = s.to_string(),
        T::ClusterListen => opts.cluster.listen_str = s.to_string(),
        T::ClusterAdvertise => opts.cluster.advertise = s.to_string(),
        T::ClusterNoAdvertise => opts.cluster.no_advertise = b,
        T::ClusterConnectRetries => opts.cluster.connect_retries = to_i32(i),
        T::ClusterName => opts.cluster.name = s.to_string(),
        T::Tls => opts.tls = b,
        T::TlsVerify => opts.tls_verify = b,
        T::TlsCert => opts.tls_cert = s.to_string(),
        T::TlsKey => opts.tls_key = s.to_string(),
        T::TlsCaCert => opts.tls_ca_cert = s.to_string(),
        // A negative limit means no limit, like 0.
        T::MaxTracedMsgLen => opts.max_traced_msg_len = usize::try_from(i).unwrap_or(0),
        T::JetStream => opts.jetstream = b,
        T::StoreDir => opts.store_dir = non_empty_path(s),
    }
}

/// Splits a `--routes` value into trimmed URLs (Go's `RoutesFromStr`).
pub fn routes_from_str(routes: &str) -> Vec<String> {
    routes.split(',').map(|r| r.trim().to_string()).collect()
}

fn check_routes_have_cluster(opts: &Options) -> Result<(), CliError> {
    let c = &opts.cluster;
    if !opts.routes_str.is_empty() && c.listen_str.is_empty() && c.host.is_empty() && c.port == 0 {
        return Err(CliError::Invalid(
            "solicited routes require cluster capabilities, e.g. --cluster".into(),
        ));
    }
    Ok(())
}

/// `--cluster URL` replaces the cluster listen address (and credentials) of the config
/// file; an empty URL turns clustering off.
fn override_cluster(opts: &mut Options) -> Result<(), CliError> {
    if opts.cluster.listen_str.is_empty() {
        opts.cluster.port = 0;
        return Ok(());
    }
    // `:-1` (random port) is not a valid URL port: parse with 0 and put -1 back.
    let wants_random = opts.cluster.listen_str.ends_with(":-1");
    if wants_random {
        let base = &opts.cluster.listen_str[..opts.cluster.listen_str.len() - 3];
        opts.cluster.listen_str = format!("{base}:0");
    }
    let url = parse_url(&opts.cluster.listen_str).map_err(CliError::Invalid)?;
    let (host, port) = split_host_port(&url.host).map_err(CliError::Invalid)?;
    let port = if wants_random { "-1" } else { port };
    opts.cluster.host = host.to_string();
    opts.cluster.port = port
        .parse::<i32>()
        .map_err(|_| CliError::Invalid(format!("expected integer, got port {port:?}")))?;
    match url.user {
        Some((user, Some(pass))) => {
            opts.cluster.username = user;
            opts.cluster.password = pass;
        }
        Some((_, None)) => {
            return Err(CliError::Invalid(
                "expected cluster password to be set".into(),
            ))
        }
        None => {
            // The flag has no credentials: drop any the config file gave.
            opts.cluster.username.clear();
            opts.cluster.password.clear();
        }
    }
    Ok(())
}

/// The parts of a URL the cluster flag needs, parsed with the rules (and error texts) of
/// Go's `net/url` for the cases that matter here.
struct ParsedUrl {
    host: String,
    user: Option<(String, Option<String>)>,
}

fn parse_url(raw: &str) -> Result<ParsedUrl, String> {
    let fail = |why: &str| format!("parse {}: {why}", go_quote(raw));
    // Scheme: a letter, then letters, digits, `+`, `-`, `.`, ended by `:`.
    let mut scheme_end = None;
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err(fail("missing protocol scheme")),
            ':' => {
                scheme_end = Some(i);
                break;
            }
            _ => break,
        }
    }
    let rest = match scheme_end {
        Some(i) => &raw[i + 1..],
        None => {
            let first_segment = raw.split('/').next().unwrap_or("");
            if first_segment.contains(':') {
                return Err(fail("first path segment in URL cannot contain colon"));
            }
            return Ok(ParsedUrl {
                host: String::new(),
                user: None,
            });
        }
    };
    let Some(after_slashes) = rest.strip_prefix("//") else {
        // Opaque URL (`host:port` read as scheme `host`): no host.
        return Ok(ParsedUrl {
            host: String::new(),
            user: None,
        });
    };
    let authority_end = after_slashes
        .find(['/', '?', '#'])
        .unwrap_or(after_slashes.len());
    let authority = &after_slashes[..authority_end];
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if !host.starts_with('[') {
        if let Some(colon) = host.rfind(':') {
            let port = &host[colon + 1..];
            if !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(&format!(
                    "invalid port {} after host",
                    go_quote(&host[colon..])
                )));
            }
        }
    }
    let user = userinfo.map(|u| match u.split_once(':') {
        Some((name, pass)) => (percent_decode(name), Some(percent_decode(pass))),
        None => (percent_decode(u), None),
    });
    Ok(ParsedUrl {
        host: host.to_string(),
        user,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `net.SplitHostPort`, with its error texts.
fn split_host_port(hostport: &str) -> Result<(&str, &str), String> {
    let err = |why: &str| {
        if hostport.is_empty() {
            why.to_string()
        } else {
            format!("address {hostport}: {why}")
        }
    };
    if let Some(rest) = hostport.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(err("missing ']' in address"));
        };
        let host = &rest[..end];
        return match rest[end + 1..].strip_prefix(':') {
            Some(port) if !port.contains(':') => Ok((host, port)),
            Some(_) => Err(err("too many colons in address")),
            None if rest.len() == end + 1 => Err(err("missing port in address")),
            None => Err(err("unexpected ']' in address")),
        };
    }
    let Some(colon) = hostport.rfind(':') else {
        return Err(err("missing port in address"));
    };
    let host = &hostport[..colon];
    if host.contains(':') {
        return Err(err("too many colons in address"));
    }
    Ok((host, &hostport[colon + 1..]))
}

/// Quotes like Go's `%q` for the strings that appear in these messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`; the error is the text `flag` prints.
fn parse_go_int(s: &str) -> Result<i64, &'static str> {
    const SYNTAX: &str = "parse error";
    const RANGE: &str = "value out of range";
    let (neg, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if unsigned.is_empty() {
        return Err(SYNTAX);
    }
    let b = unsigned.as_bytes();
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' {
        match b.get(1).map(|c| c.to_ascii_lowercase()) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' => continue,
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' => u64::from(c - b'a') + 10,
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return Err(SYNTAX),
        };
        if d >= base {
            return Err(SYNTAX);
        }
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(d))
            .ok_or(RANGE)?;
    }
    if !underscores_ok(unsigned) {
        return Err(SYNTAX);
    }
    let limit = 1u64 << 63;
    match (neg, n) {
        (false, n) if n >= limit => Err(RANGE),
        (true, n) if n > limit => Err(RANGE),
        (false, n) => Ok(n as i64),
        (true, n) => Ok((n as i64).wrapping_neg()),
    }
}

/// Underscores may only separate digits (or follow a base prefix), as Go requires.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // What came last: '^' start, '0' digit or prefix, '_' underscore, '!' other.
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Parses flags the way Go's `flag.FlagSet.Parse` does. Returns the flags set and the
/// arguments left after the first non-flag argument.
pub fn parse_flags(args: &[String]) -> Result<(FlagSet, Vec<String>), CliError> {
    let mut set = FlagSet::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let name_and_value = if let Some(rest) = arg.strip_prefix("--") {
            if rest.is_empty() {
                // `--` ends the flags and is dropped.
                i += 1;
                break;
            }
            rest
        } else {
            &arg[1..]
        };
        if name_and_value.starts_with('-') || name_and_value.starts_with('=') {
            return Err(CliError::Flag(format!("bad flag syntax: {arg}")));
        }
        i += 1;
        // `=` cannot be the first character of the name (checked above).
        let (name, inline_value) = match name_and_value.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (name_and_value, None),
        };
        let Some(spec) = lookup(name) else {
            return Err(CliError::Flag(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let value = match spec.kind {
            FlagKind::Bool => match inline_value {
                None => FlagValue::Bool(true),
                Some(v) => FlagValue::Bool(parse_go_bool(v).ok_or_else(|| {
                    CliError::Flag(format!(
                        "invalid boolean value {} for -{name}: parse error",
                        go_quote(v)
                    ))
                })?),
            },
            FlagKind::Int | FlagKind::Str => {
                let raw = match inline_value {
                    Some(v) => v.to_string(),
                    None => match args.get(i) {
                        Some(next) => {
                            i += 1;
                            next.clone()
                        }
                        None => {
                            return Err(CliError::Flag(format!("flag needs an argument: -{name}")))
                        }
                    },
                };
                if spec.kind == FlagKind::Int {
                    FlagValue::Int(parse_go_int(&raw).map_err(|why| {
                        CliError::Flag(format!(
                            "invalid value {} for flag -{name}: {why}",
                            go_quote(&raw)
                        ))
                    })?)
                } else {
                    FlagValue::Str(raw)
                }
            }
        };
        set.set.push((spec, value));
    }
    Ok((set, args[i..].to_vec()))
}

/// Parses nats-server's command line (the arguments after the program name) and decides
/// what to do, in nats-server's order: flag errors, version, help, TLS help, positional
/// commands (`version`, `help`), signal, `-t`, then options.
pub fn parse_args(args: &[String]) -> Result<CliAction, CliError> {
    let (flags, rest) = parse_flags(args)?;
    let mut opts = Options::default();
    let locals = flags.assign(&mut opts);
    if locals.show_version {
        return Ok(CliAction::Version);
    }
    if locals.show_help {
        return Ok(CliAction::Help);
    }
    if locals.show_tls_help {
        return Ok(CliAction::HelpTls);
    }
    if let Some(command) = rest.first() {
        return match command.to_lowercase().as_str() {
            "version" => Ok(CliAction::Version),
            "help" => Ok(CliAction::Help),
            _ => Err(CliError::Invalid(format!(
                "unrecognized command: {}",
                go_quote(command)
            ))),
        };
    }
    if !locals.signal.is_empty() {
        let parts: Vec<&str> = locals.signal.split('=').collect();
        if parts.len() > 2 {
            return Err(CliError::Invalid(format!(
                "invalid signal parameters: [{}]",
                parts[2..].join(" ")
            )));
        }
        return Ok(CliAction::Signal {
            signal: parts[0].to_string(),
            pid_or_file: parts.get(1).map(|p| p.to_string()),
        });
    }
    if opts.check_config {
        if opts.config_file.is_none() {
            return Err(CliError::Invalid(
                "must specify [-c, --config] option to check configuration file syntax".into(),
            ));
        }
        return Ok(CliAction::TestConfig(Box::new(opts)));
    }
    flags.apply_flags(&mut opts)?;
    // With a config file the cluster settings may come from it: the loader checks
    // after `FlagSet::apply`.
    if opts.config_file.is_none() {
        check_routes_have_cluster(&opts)?;
    }
    Ok(CliAction::Run(Box::new(opts), flags))
}

/// Features that options ask for but natsd does not have yet. The caller must refuse to
/// start when this is not empty (`nats-server: <feature> not supported yet`), so that no
/// flag or setting is silently ignored. Config files are reported by the caller.
pub fn unsupported_features(opts: &Options) -> Vec<&'static str> {
    let mut out = Vec::new();
    let c = &opts.cluster;
    if !opts.routes_str.is_empty()
        || !opts.routes.is_empty()
        || !c.listen_str.is_empty()
        || c.port != 0
        || !c.advertise.is_empty()
        || !c.name.is_empty()
        || c.no_advertise
        || c.connect_retries != 0
    {
        out.push(
            "clustering (--routes, --cluster, --cluster_listen, --cluster_name, \
             --cluster_advertise, --no_advertise, --connect_retries)",
        );
    }
    if opts.prof_port != 0 {
        out.push("profiling (--profile)");
    }
    out
}

/// Replaces secrets in a command line before it is shown (e.g. in `/varz`): the values of
/// `--user`, `--pass`, `--auth`, and the user info of `--routes` and `--cluster` URLs.
pub fn redact_args(args: &mut [String]) {
    for i in 0..args.len() {
        let Some(name) = flag_name_of(&args[i]) else {
            continue;
        };
        let redactor: fn(&str) -> String = match name {
            "user" | "pass" | "auth" => |_| "[REDACTED]".to_string(),
            "routes" => redact_url_list_user,
            "cluster" | "cluster_listen" => redact_url_user,
            _ => continue,
        };
        if let Some((flag, value)) = args[i].split_once('=') {
            args[i] = format!("{flag}={}", redactor(value));
        } else if i + 1 < args.len() {
            args[i + 1] = redactor(&args[i + 1]);
        }
    }
}

/// `-name`, `--name`, `-name=...` -> `name`.
fn flag_name_of(arg: &str) -> Option<&str> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    Some(body.split_once('=').map_or(body, |(n, _)| n))
}

fn redact_url_user(raw: &str) -> String {
    let trimmed = raw.trim();
    let Some(scheme_end) = trimmed.find("://") else {
        return raw.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_len = trimmed[authority_start..]
        .find(['/', '?', '#'])
        .unwrap_or(trimmed.len() - authority_start);
    let authority = &trimmed[authority_start..authority_start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return raw.to_string();
    };
    format!(
        "{}[REDACTED]@{}",
        &trimmed[..authority_start],
        &trimmed[authority_start + at + 1..]
    )
}

fn redact_url_list_user(raw: &str) -> String {
    raw.split(',')
        .map(redact_url_user)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn run(a: &[&str]) -> (Options, FlagSet) {
        match parse_args(&args(a)) {
            Ok(CliAction::Run(o, f)) => (*o, f),
            other => panic!("expected Run for {a:?}, got {other:?}"),
        }
    }

    fn err(a: &[&str]) -> CliError {
        match parse_args(&args(a)) {
            Err(e) => e,
            Ok(other) => panic!("expected an error for {a:?}, got {other:?}"),
        }
    }

    #[test]
    fn every_usage_flag_is_in_the_table() {
        for name in [
            "a",
            "addr",
            "net",
            "p",
            "port",
            "n",
            "name",
            "server_name",
            "P",
            "pid",
            "m",
            "http_port",
            "ms",
            "https_port",
            "c",
            "config",
            "t",
            "sl",
            "signal",
            "client_advertise",
            "ports_file_dir",
            "l",
            "log",
            "T",
            "logtime",
            "s",
            "syslog",
            "r",
            "remote_syslog",
            "D",
            "debug",
            "V",
            "trace",
            "VV",
            "DV",
            "DVV",
            "log_size_limit",
            "max_traced_msg_len",
            "js",
            "jetstream",
            "sd",
            "store_dir",
            "user",
            "pass",
            "auth",
            "tls",
            "tlscert",
            "tlskey",
            "tlsverify",
            "tlscacert",
            "routes",
            "cluster",
            "cluster_name",
            "no_advertise",
            "cluster_advertise",
            "connect_retries",
            "cluster_listen",
            "profile",
            "h",
            "help",
            "v",
            "version",
            "help_tls",
            "logtime_utc",
        ] {
            assert!(lookup(name).is_some(), "missing flag {name}");
        }
        let mut names: Vec<_> = FLAGS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate flag names");
    }

    #[test]
    fn port_forms() {
        assert_eq!(run(&["-p", "4333"]).0.port, 4333);
        assert_eq!(run(&["-p=4333"]).0.port, 4333);
        assert_eq!(run(&["--port", "4333"]).0.port, 4333);
        assert_eq!(run(&["--port=4333"]).0.port, 4333);
        assert_eq!(run(&["-port", "4333"]).0.port, 4333);
        // The value after a non-boolean flag is taken even if it looks like a flag.
        assert_eq!(run(&["-p", "-1"]).0.port, -1);
        assert_eq!(run(&["-p=-1"]).0.port, -1);
        // Go integer syntax.
        assert_eq!(run(&["-p", "0x10"]).0.port, 16);
        assert_eq!(run(&["-p", "010"]).0.port, 8);
        assert_eq!(run(&["-p", "4_222"]).0.port, 4222);
        assert_eq!(run(&["-p", "+5"]).0.port, 5);
        assert_eq!(run(&[]).0.port, 4222);
    }

    #[test]
    fn go_int_parsing() {
        assert_eq!(parse_go_int("0"), Ok(0));
        assert_eq!(parse_go_int("-0b101"), Ok(-5));
        assert_eq!(parse_go_int("0o17"), Ok(15));
        assert_eq!(parse_go_int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_go_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_go_int("9223372036854775808"),
            Err("value out of range")
        );
        assert_eq!(
            parse_go_int("99999999999999999999"),
            Err("value out of range")
        );
        for bad in ["", "-", "abc", "0x", "1_", "_1", "1__0", "08", "12a", " 1"] {
            assert_eq!(parse_go_int(bad), Err("parse error"), "{bad:?}");
        }
    }

    #[test]
    fn store_dir_forms() {
        assert_eq!(run(&["-sd=DIR"]).0.store_dir, Some(PathBuf::from("DIR")));
        assert_eq!(run(&["-sd", "DIR"]).0.store_dir, Some(PathBuf::from("DIR")));
        assert_eq!(
            run(&["--store_dir", "/x y"]).0.store_dir,
            Some(PathBuf::from("/x y"))
        );
        // Values may contain `=`; only the first one splits.
        assert_eq!(run(&["-sd=a=b"]).0.store_dir, Some(PathBuf::from("a=b")));
        assert_eq!(run(&["-sd="]).0.store_dir, None);
    }

    #[test]
    fn debug_trace_combinations() {
        let (o, _) = run(&["-DV"]);
        assert!(o.debug && o.trace && !o.trace_verbose);
        let (o, _) = run(&["-DVV"]);
        assert!(o.debug && o.trace && o.trace_verbose);
        let (o, _) = run(&["-VV"]);
        assert!(!o.debug && o.trace && o.trace_verbose);
        let (o, _) = run(&["-D"]);
        assert!(o.debug && !o.trace);
        let (o, _) = run(&["--trace"]);
        assert!(!o.debug && o.trace);
        let (o, _) = run(&["-DV=false"]);
        assert!(!o.debug && !o.trace);
        // Combined flags are applied after the plain ones (Go visits flags by name).
        let (o, _) = run(&["-DV", "-D=false"]);
        assert!(o.debug && o.trace);
    }

    #[test]
    fn bool_flags_take_only_inline_values() {
        let (o, _) = run(&["-T=false"]);
        assert!(!o.logtime);
        let (o, _) = run(&["--logtime=0"]);
        assert!(!o.logtime);
        let (o, _) = run(&[]);
        assert!(o.logtime);
        // `-T false`: `false` is a positional argument, hence an unknown command.
        assert_eq!(
            err(&["-T", "false"]),
            CliError::Invalid("unrecognized command: \"false\"".into())
        );
        assert_eq!(
            err(&["-D=maybe"]),
            CliError::Flag("invalid boolean value \"maybe\" for -D: parse error".into())
        );
        let (o, _) = run(&["-js", "-s", "--no_advertise"]);
        assert!(o.jetstream && o.syslog && o.cluster.no_advertise);
    }

    #[test]
    fn flag_errors_match_go_texts() {
        let e = err(&["-foo"]);
        assert_eq!(
            e,
            CliError::Flag("flag provided but not defined: -foo".into())
        );
        assert_eq!(e.exit_code(), 0);
        assert_eq!(
            err(&["--xxx=1", "foo"]),
            CliError::Flag("flag provided but not defined: -xxx".into())
        );
        assert_eq!(
            err(&["-p"]),
            CliError::Flag("flag needs an argument: -p".into())
        );
        assert_eq!(
            err(&["-p", "abc"]),
            CliError::Flag("invalid value \"abc\" for flag -p: parse error".into())
        );
        assert_eq!(
            err(&["--log_size_limit=1e3"]),
            CliError::Flag("invalid value \"1e3\" for flag -log_size_limit: parse error".into())
        );
        assert_eq!(
            err(&["---p"]),
            CliError::Flag("bad flag syntax: ---p".into())
        );
        assert_eq!(err(&["-=1"]), CliError::Flag("bad flag syntax: -=1".into()));
        // Flags are case sensitive.
        assert_eq!(
            err(&["-DEBUG"]),
            CliError::Flag("flag provided but not defined: -DEBUG".into())
        );
    }

    #[test]
    fn positional_commands() {
        assert!(matches!(
            parse_args(&args(&["version"])),
            Ok(CliAction::Version)
        ));
        assert!(matches!(
            parse_args(&args(&["VERSION"])),
            Ok(CliAction::Version)
        ));
        assert!(matches!(parse_args(&args(&["help"])), Ok(CliAction::Help)));
        let e = err(&["foo"]);
        assert_eq!(e, CliError::Invalid("unrecognized command: \"foo\"".into()));
        assert_eq!(e.exit_code(), 1);
        // Parsing stops at the first non-flag: `-p` after it is not a flag.
        assert_eq!(
            err(&["foo", "-p", "1"]),
            CliError::Invalid("unrecognized command: \"foo\"".into())
        );
        // `-` alone is not a flag; `--` ends the flags.
        assert_eq!(
            err(&["-"]),
            CliError::Invalid("unrecognized command: \"-\"".into())
        );
        assert!(matches!(
            parse_args(&args(&["-p", "1", "--", "help"])),
            Ok(CliAction::Help)
        ));
        let (o, _) = run(&["-p", "5", "--"]);
        assert_eq!(o.port, 5);
    }

    #[test]
    fn version_help_precedence() {
        assert!(matches!(parse_args(&args(&["-v"])), Ok(CliAction::Version)));
        assert!(matches!(
            parse_args(&args(&["--version"])),
            Ok(CliAction::Version)
        ));
        assert!(matches!(parse_args(&args(&["-h"])), Ok(CliAction::Help)));
        assert!(matches!(
            parse_args(&args(&["--help"])),
            Ok(CliAction::Help)
        ));
        assert!(matches!(
            parse_args(&args(&["-help_tls"])),
            Ok(CliAction::HelpTls)
        ));
        // Version wins over help, help over TLS help, all over commands and signals.
        assert!(matches!(
            parse_args(&args(&["-h", "-v"])),
            Ok(CliAction::Version)
        ));
        assert!(matches!(
            parse_args(&args(&["--help_tls", "-h", "foo"])),
            Ok(CliAction::Help)
        ));
        assert!(matches!(
            parse_args(&args(&["-sl", "stop", "-v"])),
            Ok(CliAction::Version)
        ));
        // `-h=false` is a valid way to not ask for help.
        assert!(matches!(
            parse_args(&args(&["-h=false"])),
            Ok(CliAction::Run(..))
        ));
        assert!(version_line().starts_with("nats-server: v2.14.5 "));
        assert!(version_line().contains("natsd"));
    }

    #[test]
    fn signal_forms() {
        let sig = |a: &[&str]| match parse_args(&args(a)) {
            Ok(CliAction::Signal {
                signal,
                pid_or_file,
            }) => (signal, pid_or_file),
            other => panic!("expected Signal, got {other:?}"),
        };
        assert_eq!(
            sig(&["--signal", "ldm=PIDFILE"]),
            ("ldm".into(), Some("PIDFILE".into()))
        );
        assert_eq!(sig(&["-sl", "quit"]), ("quit".into(), None));
        assert_eq!(
            sig(&["-sl=reload=123"]),
            ("reload".into(), Some("123".into()))
        );
        assert_eq!(
            sig(&["-sl", "stop=12*"]),
            ("stop".into(), Some("12*".into()))
        );
        let e = err(&["-sl", "quit=pid=foo"]);
        assert_eq!(
            e,
            CliError::Invalid("invalid signal parameters: [foo]".into())
        );
        let e = err(&["-sl", "quit=a=b=c"]);
        assert_eq!(
            e,
            CliError::Invalid("invalid signal parameters: [b c]".into())
        );
    }

    #[test]
    fn check_config() {
        assert_eq!(
            err(&["-t"]),
            CliError::Invalid(
                "must specify [-c, --config] option to check configuration file syntax".into()
            )
        );
        match parse_args(&args(&["-t", "-c", "x.conf", "-p", "5"])) {
            Ok(CliAction::TestConfig(o)) => {
                assert_eq!(o.config_file, Some(PathBuf::from("x.conf")));
                assert!(o.check_config);
                assert_eq!(o.port, 5);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn string_and_int_options() {
        let (o, f) = run(&[
            "-a",
            "127.0.0.1",
            "-n",
            "srv",
            "-P",
            "/tmp/p.pid",
            "-m",
            "8222",
            "-ms",
            "8443",
            "-c",
            "f.conf",
            "--client_advertise",
            "h:1",
            "--ports_file_dir",
            "/tmp",
            "-l",
            "/tmp/l.log",
            "-r",
            "udp://h:514",
            "--log_size_limit",
            "1000",
            "--max_traced_msg_len",
            "64",
            "--user",
            "u",
            "--pass",
            "p",
            "--auth",
            "tok",
            "--profile",
            "6060",
            "--logtime_utc",
        ]);
        assert_eq!(o.host, "127.0.0.1");
        assert_eq!(o.server_name, "srv");
        assert_eq!(o.pid_file, Some(PathBuf::from("/tmp/p.pid")));
        assert_eq!(o.http_port, 8222);
        assert_eq!(o.https_port, 8443);
        assert_eq!(o.config_file, Some(PathBuf::from("f.conf")));
        assert_eq!(o.client_advertise, "h:1");
        assert_eq!(o.ports_file_dir, Some(PathBuf::from("/tmp")));
        assert_eq!(o.log_file, Some(PathBuf::from("/tmp/l.log")));
        assert_eq!(o.remote_syslog, "udp://h:514");
        assert_eq!(o.log_size_limit, 1000);
        assert_eq!(o.max_traced_msg_len, 64);
        assert_eq!((o.username.as_str(), o.password.as_str()), ("u", "p"));
        assert_eq!(o.authorization, "tok");
        assert_eq!(o.prof_port, 6060);
        assert!(o.logtime_utc);
        assert!(!f.sets(FlagTarget::Port) && f.sets(FlagTarget::Host));
        assert!(f.has_name("a") && !f.has_name("addr"));
        assert_eq!(run(&["--max_traced_msg_len", "-3"]).0.max_traced_msg_len, 0);
        assert_eq!(run(&["--name", "x"]).0.server_name, "x");
        assert_eq!(run(&["--server_name", "y"]).0.server_name, "y");
        assert_eq!(run(&["--net", "::1"]).0.host, "::1");
    }

    #[test]
    fn flags_win_over_config_file() {
        let (_, flags) = run(&["-c", "x.conf", "-p", "5555", "-V=false", "-DV"]);
        // What a config loader would produce from the file.
        let mut from_file = Options {
            port: 7777,
            host: "10.0.0.1".into(),
            trace: true,
            logtime: false,
            ..Options::default()
        };
        flags.apply(&mut from_file).unwrap();
        assert_eq!(from_file.port, 5555);
        assert_eq!(from_file.host, "10.0.0.1");
        // `-DV` is applied after `-V=false`.
        assert!(from_file.trace && from_file.debug);
        // A flag default (`-T` is true by default) does not override the file.
        assert!(!from_file.logtime);

        let (_, flags) = run(&["-c", "x.conf", "-DV=false"]);
        let mut from_file = Options {
            trace: true,
            debug: true,
            ..Options::default()
        };
        flags.apply(&mut from_file).unwrap();
        assert!(!from_file.trace && !from_file.debug);
    }

    #[test]
    fn explicit_bools_like_go_in_cmd_line() {
        let (_, f) = run(&["-DV", "-T=false", "-js", "-s=false", "--no_advertise"]);
        let m = f.explicit_bools();
        assert_eq!(m.get("Debug"), Some(&true));
        assert_eq!(m.get("Trace"), Some(&true));
        assert_eq!(m.get("Logtime"), Some(&false));
        assert_eq!(m.get("JetStream"), Some(&true));
        assert_eq!(m.get("Syslog"), Some(&false));
        assert_eq!(m.get("Cluster.NoAdvertise"), Some(&true));
        assert_eq!(m.get("TraceVerbose"), None);
        // Go tracks `-js` but not `--jetstream`.
        let (_, f) = run(&["--jetstream"]);
        assert_eq!(f.explicit_bools().get("JetStream"), None);
    }

    #[test]
    fn cluster_and_routes() {
        assert_eq!(
            err(&["--routes", "nats://127.0.0.1:6223"]),
            CliError::Invalid(
                "solicited routes require cluster capabilities, e.g. --cluster".into()
            )
        );
        let (o, _) = run(&[
            "-cluster",
            "nats://127.0.0.1:6222",
            "-routes",
            "nats://127.0.0.1:6223, nats://h:1",
        ]);
        assert_eq!(o.cluster.listen_str, "nats://127.0.0.1:6222");
        assert_eq!(o.cluster.host, "127.0.0.1");
        assert_eq!(o.cluster.port, 6222);
        assert_eq!(o.routes, vec!["nats://127.0.0.1:6223", "nats://h:1"]);

        let (o, _) = run(&["--cluster_listen", "nats://ivan:pwd@0.0.0.0:-1"]);
        assert_eq!(o.cluster.port, -1);
        assert_eq!(o.cluster.listen_str, "nats://ivan:pwd@0.0.0.0:0");
        assert_eq!(
            (o.cluster.username.as_str(), o.cluster.password.as_str()),
            ("ivan", "pwd")
        );

        // With a config file the routes check waits for the file.
        let (_, flags) = run(&["-c", "x.conf", "--routes", "nats://a:1"]);
        let mut from_file = Options::default();
        from_file.cluster.port = 6222;
        flags.apply(&mut from_file).unwrap();
        assert_eq!(from_file.routes, vec!["nats://a:1"]);
        let mut no_cluster = Options::default();
        assert!(flags.apply(&mut no_cluster).is_err());

        // `--cluster ""` turns clustering off, `--routes ""` drops the file's routes.
        let (_, flags) = run(&["-c", "x.conf", "--cluster", "", "--routes", ""]);
        let mut from_file = Options::default();
        from_file.cluster.port = 6222;
        from_file.routes = vec!["nats://r:1".into()];
        flags.apply(&mut from_file).unwrap();
        assert_eq!(from_file.cluster.port, 0);
        assert!(from_file.routes.is_empty());

        let contains = |a: &[&str], what: &str| {
            let e = err(a);
            assert!(e.message().contains(what), "{a:?}: {e}");
        };
        contains(&["-cluster", ":", "-routes", ""], "protocol");
        contains(&["-cluster", "nats://127.0.0.1", "-routes", ""], "port");
        contains(
            &["-cluster", "nats://127.0.0.1:xxx", "-routes", ""],
            "invalid port",
        );
        contains(
            &["-cluster", "nats://ivan:127.0.0.1:6222", "-routes", ""],
            "colons",
        );
        contains(
            &["-cluster", "nats://ivan@127.0.0.1:6222", "-routes", ""],
            "password",
        );
        // Exact texts, as the Go binary prints them.
        for (flag, text) in [
            (":", "parse \":\": missing protocol scheme"),
            (
                "nats://127.0.0.1:xxx",
                "parse \"nats://127.0.0.1:xxx\": invalid port \":xxx\" after host",
            ),
            (
                "nats://ivan:127.0.0.1:6222",
                "address ivan:127.0.0.1:6222: too many colons in address",
            ),
            (
                "nats://127.0.0.1",
                "address 127.0.0.1: missing port in address",
            ),
        ] {
            assert_eq!(err(&["-cluster", flag]), CliError::Invalid(text.into()));
        }
    }

    #[test]
    fn tls_flags() {
        assert!(err(&["-tls"]).message().contains("valid"));
        assert!(err(&["-tls", "-tlscert", "c.pem"])
            .message()
            .contains("private key"));
        assert!(err(&["-tlsverify"]).message().contains("certificate"));
        // The files are loaded as the flags are applied (Go's `overrideTLS`).
        assert!(err(&["-tls", "-tlscert", "c.pem", "-tlskey", "k.pem"])
            .message()
            .contains("error parsing X509 certificate/key pair: open c.pem: no such file"));
        let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs/");
        let (cert, key) = (
            format!("{certs}server-cert.pem"),
            format!("{certs}server-key.pem"),
        );
        let (o, _) = run(&["-tls", "-tlscert", &cert, "-tlskey", &key]);
        assert!(o.tls && o.tls_cert == cert && o.tls_key == key);
        let tc = o.tls_config.as_ref().unwrap();
        assert!(!tc.verify);
        assert_eq!(tc.cipher_ids, crate::tls::default_cipher_ids());
        // With TLS the authentication timeout is the TLS timeout plus a second.
        assert_eq!(o.auth_timeout, std::time::Duration::from_secs(3));
        let ca = format!("{certs}ca.pem");
        let (o, _) = run(&[
            "-tlsverify",
            "-tlscert",
            &cert,
            "-tlskey",
            &key,
            "-tlscacert",
            &ca,
        ]);
        assert!(o.tls_config.as_ref().unwrap().verify);
        // `-tls=false` disables TLS even with other TLS flags.
        let (o, _) = run(&["-tls=false", "-tlsverify"]);
        assert!(!o.tls);
        assert!(o.tls_config.is_none());
        assert!(unsupported_features(&o).is_empty());
    }

    #[test]
    fn unsupported_features_are_reported() {
        assert!(unsupported_features(&run(&["-p", "-1", "-D"]).0).is_empty());
        assert!(unsupported_features(&run(&["-m", "8222"]).0).is_empty());
        assert!(unsupported_features(&run(&["-ms", "8443"]).0).is_empty());
        assert!(unsupported_features(&run(&["--user", "u", "--pass", "p"]).0).is_empty());
        assert!(unsupported_features(&run(&["--auth", "t"]).0).is_empty());
        assert!(unsupported_features(&run(&["-js"]).0).is_empty());
        for a in [
            &["--profile", "1"][..],
            &["--cluster", "nats://h:1"],
            &["--cluster_name", "c"],
        ] {
            assert_eq!(unsupported_features(&run(a).0).len(), 1, "{a:?}");
        }
    }

    #[test]
    fn redact_args_like_go() {
        let mut cases: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for dash in ["-", "--"] {
            for tag in ["user", "pass", "auth"] {
                for value in ["hello", "hello world"] {
                    let flag = format!("{dash}{tag}");
                    cases.push((
                        vec![flag.clone(), value.into()],
                        vec![flag.clone(), "[REDACTED]".into()],
                    ));
                    cases.push((
                        vec![format!("{flag}={value}")],
                        vec![format!("{flag}=[REDACTED]")],
                    ));
                }
            }
            for (tag, input, expected) in [
                (
                    "routes",
                    "nats://ruser:s3cret@127.0.0.1:6222",
                    "nats://[REDACTED]@127.0.0.1:6222",
                ),
                ("routes", "nats://127.0.0.1:6222", "nats://127.0.0.1:6222"),
                (
                    "routes",
                    "nats://ruser:s3cret@127.0.0.1:6222, nats://ruser2:s3cret2@127.0.0.1:6223",
                    "nats://[REDACTED]@127.0.0.1:6222,nats://[REDACTED]@127.0.0.1:6223",
                ),
                (
                    "cluster",
                    "nats://cuser:s3cret@127.0.0.1:6224",
                    "nats://[REDACTED]@127.0.0.1:6224",
                ),
                ("cluster", "nats://127.0.0.1:6224", "nats://127.0.0.1:6224"),
                (
                    "cluster",
                    "nats://cuser,extra:s3cret@127.0.0.1:6224",
                    "nats://[REDACTED]@127.0.0.1:6224",
                ),
                (
                    "cluster",
                    "nats://cuser:s3cret@127.0.0.1:-1",
                    "nats://[REDACTED]@127.0.0.1:-1",
                ),
                (
                    "cluster_listen",
                    "nats://luser:s3cret@127.0.0.1:6225",
                    "nats://[REDACTED]@127.0.0.1:6225",
                ),
                (
                    "cluster_listen",
                    "nats://luser,extra:s3cret@127.0.0.1:6225",
                    "nats://[REDACTED]@127.0.0.1:6225",
                ),
                (
                    "cluster_listen",
                    "nats://luser:s3cret@127.0.0.1:-1",
                    "nats://[REDACTED]@127.0.0.1:-1",
                ),
            ] {
                let flag = format!("{dash}{tag}");
                cases.push((
                    vec![flag.clone(), input.into()],
                    vec![flag.clone(), expected.into()],
                ));
                cases.push((
                    vec![format!("{flag}={input}")],
                    vec![format!("{flag}={expected}")],
                ));
            }
        }
        for (mut input, expected) in cases {
            redact_args(&mut input);
            assert_eq!(input, expected);
        }
    }

    #[test]
    fn redact_secrets() {
        let mut a = args(&[
            "--user",
            "derek",
            "-pass=s3cr3t",
            "--auth",
            "tok",
            "--routes",
            "nats://a:b@h:1,nats://h:2",
            "-cluster=nats://u:p@0.0.0.0:-1",
            "-p",
            "1",
        ]);
        redact_args(&mut a);
        assert_eq!(
            a,
            args(&[
                "--user",
                "[REDACTED]",
                "-pass=[REDACTED]",
                "--auth",
                "[REDACTED]",
                "--routes",
                "nats://[REDACTED]@h:1,nats://h:2",
                "-cluster=nats://[REDACTED]@0.0.0.0:-1",
                "-p",
                "1",
            ])
        );
    }
}
