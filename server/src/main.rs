//! The `natsd` binary: nats-server's command line, signals and lifecycle.

use natsd::config::cli::{self, CliAction};
use natsd::server::Server;
use nix::sys::signal::Signal;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let action = match cli::parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            if matches!(e, cli::CliError::Flag(_)) {
                // Go's flag package prints the problem, then the usage text.
                eprintln!("{e}");
                println!("{}", cli::USAGE);
            } else {
                eprintln!("nats-server: {e}");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1));
        }
    };
    match action {
        CliAction::Version => {
            println!("{}", cli::version_line());
            ExitCode::SUCCESS
        }
        CliAction::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        CliAction::HelpTls => {
            println!("{}", cli::TLS_USAGE);
            ExitCode::SUCCESS
        }
        CliAction::Signal {
            signal,
            pid_or_file,
        } => {
            let pid = pid_or_file
                .map(|p| natsd::signal::maybe_read_pid_file(&p))
                .unwrap_or_default();
            match natsd::signal::process_signal(&signal, pid.trim()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nats-server: {e}");
                    ExitCode::from(1)
                }
            }
        }
        CliAction::TestConfig(opts) => {
            let mut opts = *opts;
            let path = config_name(&opts);
            // Like nats-server, any problem in the file fails the check, warnings too.
            let checked = match natsd::config::file::apply_config_file(&mut opts, &path) {
                Ok(warnings) if warnings.is_empty() => check_supported(&opts),
                Ok(warnings) => Err(natsd::config::file::ConfigErrors {
                    errors: Vec::new(),
                    warnings,
                }
                .to_string()),
                Err(e) => Err(e.to_string()),
            };
            match checked {
                Ok(()) => {
                    eprintln!(
                        "nats-server: configuration file {path} is valid ({})",
                        opts.config_digest
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("nats-server: {e}");
                    ExitCode::from(1)
                }
            }
        }
        CliAction::Run(opts, flags) => match load_config_file(*opts, &flags) {
            Ok(opts) => run(opts, flags),
            Err(e) => {
                eprintln!("nats-server: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn config_name(opts: &natsd::config::Options) -> String {
    opts.config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// With `-c`, loads the file over the command line's options, prints its warnings, then
/// applies the flags again so they win (nats-server's `ConfigureOptions`).
fn load_config_file(
    mut opts: natsd::config::Options,
    flags: &cli::FlagSet,
) -> Result<natsd::config::Options, String> {
    if opts.config_file.is_some() {
        let path = config_name(&opts);
        let warnings =
            natsd::config::file::apply_config_file(&mut opts, &path).map_err(|e| e.to_string())?;
        for w in warnings {
            eprintln!("{w}");
        }
        flags.apply(&mut opts).map_err(|e| e.to_string())?;
    }
    Ok(opts)
}

/// Refuses options whose feature natsd does not have yet, instead of ignoring them.
fn check_supported(opts: &natsd::config::Options) -> Result<(), String> {
    let missing = cli::unsupported_features(opts);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("not supported yet: {}", missing.join(", ")))
    }
}

fn run(opts: natsd::config::Options, flags: cli::FlagSet) -> ExitCode {
    let log = match natsd::logging::init(&natsd::logging::LogConfig::from_options(&opts)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("nats-server: could not open log file: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = check_supported(&opts) {
        natsd::fatal!("{e}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            natsd::fatal!("cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let no_sigs = opts.no_sigs;
    runtime.block_on(async move {
        let server = match Server::with_logging(opts, log.logging()) {
            Ok(s) => s,
            Err(e) => {
                natsd::fatal!("{e}");
                return ExitCode::from(1);
            }
        };
        server.shared().set_command_line(flags);
        // Signals are trapped before the server starts: a client that sees the listener
        // (or the ports file) may signal at once, and must not meet the default action.
        let signals = if no_sigs {
            None
        } else {
            match TrappedSignals::new() {
                Ok(t) => Some(t),
                Err(e) => {
                    natsd::fatal!("cannot install signal handlers: {e}");
                    return ExitCode::from(1);
                }
            }
        };
        if let Err(e) = server.start().await {
            natsd::fatal!("{e}");
            return ExitCode::from(1);
        }
        if let Some(signals) = signals {
            tokio::spawn(signals.serve(server.clone(), log));
        }
        server.wait_for_shutdown().await;
        ExitCode::SUCCESS
    })
}

/// The signals nats-server handles, trapped; [`TrappedSignals::serve`] acts on them with
/// [`natsd::signal::handle_signal`].
struct TrappedSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl TrappedSignals {
    fn new() -> std::io::Result<Self> {
        Ok(TrappedSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn serve(mut self, server: Server, log: natsd::logging::LogHandle) {
        loop {
            let sig = tokio::select! {
                _ = self.int.recv() => Signal::SIGINT,
                _ = self.term.recv() => Signal::SIGTERM,
                _ = self.usr1.recv() => Signal::SIGUSR1,
                _ = self.usr2.recv() => Signal::SIGUSR2,
                _ = self.hup.recv() => Signal::SIGHUP,
            };
            natsd::signal::handle_signal(&server, sig, || log.reopen());
        }
    }
}
