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
            Ok(opts) => run(opts),
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

fn run(opts: natsd::config::Options) -> ExitCode {
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
        if let Err(e) = server.start().await {
            natsd::fatal!("{e}");
            return ExitCode::from(1);
        }
        if !no_sigs {
            if let Err(e) = spawn_signal_handler(server.clone(), log) {
                natsd::fatal!("cannot install signal handlers: {e}");
                return ExitCode::from(1);
            }
        }
        server.wait_for_shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Traps the signals nats-server handles and acts on them with [`natsd::signal::handle_signal`].
fn spawn_signal_handler(server: Server, log: natsd::logging::LogHandle) -> std::io::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            let sig = tokio::select! {
                _ = int.recv() => Signal::SIGINT,
                _ = term.recv() => Signal::SIGTERM,
                _ = usr1.recv() => Signal::SIGUSR1,
                _ = usr2.recv() => Signal::SIGUSR2,
                _ = hup.recv() => Signal::SIGHUP,
            };
            natsd::signal::handle_signal(&server, sig, || log.reopen());
        }
    });
    Ok(())
}
