use clap::Parser;

fn main() {
    let cli = parity_tool::cli::Cli::parse();
    match parity_tool::cli::main_with(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("parity: error: {e:#}");
            std::process::exit(2);
        }
    }
}
