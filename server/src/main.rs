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
        CliAction::TestConfig(opts) => match check_supported(&opts) {
            Ok(()) => {
                println!(
                    "nats-server: configuration file {} is valid",
                    config_name(&opts)
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("nats-server: {e}");
                ExitCode::from(1)
            }
        },
        CliAction::Run(opts, _flags) => run(*opts),
    }
}

fn config_name(opts: &natsd::config::Options) -> String {
    opts.config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Refuses options whose feature natsd does not have yet, instead of ignoring them.
fn check_supported(opts: &natsd::config::Options) -> Result<(), String> {
    let mut missing = cli::unsupported_features(opts);
    if opts.config_file.is_some() {
        missing.push("configuration files (-c, --config)");
    }
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
