//! What the server logs (at INFO) when JetStream starts: the ASCII art, then the
//! `JETSTREAM` block with the resolved limits, directory, domain and encryption, in the
//! reference's order and spacing.

use crate::config::jetstream::JetStreamConfig;
use crate::config::Options;
use natsd_store::file::StoreCipher;

/// A byte count as the logs show it: `512 B`, `1.00 KB`, `953.67 MB`, ... (powers of
/// 1024, two decimals; the reference's `friendlyBytes`).
pub fn friendly_bytes(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    let mut value = bytes as f64;
    if value < 1024.0 {
        return format!("{value} B");
    }
    // Dividing by a power of two is exact, so this finds the unit without the rounding
    // of a logarithm.
    let mut exp = 0;
    while value >= 1024.0 && exp < UNITS.len() {
        value /= 1024.0;
        exp += 1;
    }
    format!("{value:.2} {}B", UNITS[exp - 1])
}

/// The reference's name of a store cipher.
pub fn cipher_name(c: StoreCipher) -> &'static str {
    match c {
        StoreCipher::ChaCha => "ChaCha20-Poly1305",
        StoreCipher::Aes => "AES-GCM",
        StoreCipher::None => "None",
    }
}

/// The lines logged when JetStream starts with `cfg`, each without the `[INF] ` prefix:
/// the ASCII art (unless `disable_jetstream_banner`), then the settings block. `api_level`
/// is the JetStream API level the server implements.
pub fn startup_lines(cfg: &JetStreamConfig, opts: &Options, api_level: i64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::with_capacity(20);
    if !opts.disable_jetstream_banner {
        lines.extend(
            [
                r"    _ ___ _____ ___ _____ ___ ___   _   __  __",
                r" _ | | __|_   _/ __|_   _| _ \ __| /_\ |  \/  |",
                r"| || | _|  | | \__ \ | | |   / _| / _ \| |\/| |",
                r" \__/|___| |_| |___/ |_| |_|_\___/_/ \_\_|  |_|",
                "",
                "         https://docs.nats.io/jetstream",
                "",
            ]
            .map(String::from),
        );
    }
    lines.push("---------------- JETSTREAM ----------------".into());
    if cfg.strict {
        lines.push("  Strict:          true".into());
    }
    lines.push(format!(
        "  Max Memory:      {}",
        friendly_bytes(cfg.max_memory)
    ));
    lines.push(format!(
        "  Max Storage:     {}",
        friendly_bytes(cfg.max_store)
    ));
    lines.push(format!(
        "  Store Directory: \"{}\"",
        cfg.store_dir.display()
    ));
    if !cfg.domain.is_empty() {
        lines.push(format!("  Domain:          {}", cfg.domain));
    }
    if !opts.jetstream_key.is_empty() {
        lines.push(format!(
            "  Encryption:      {}",
            cipher_name(opts.jetstream_cipher)
        ));
    }
    if !opts.jetstream_tpm.keys_file.is_empty() {
        lines.push(format!(
            "  TPM File:        {}, Pcr: {}",
            crate::config::cli::go_quote(&opts.jetstream_tpm.keys_file),
            opts.jetstream_tpm.pcr
        ));
    }
    lines.push(format!("  API Level:       {api_level}"));
    lines.push("-------------------------------------------".into());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn friendly_bytes_like_the_reference() {
        assert_eq!(friendly_bytes(0), "0 B");
        assert_eq!(friendly_bytes(1023), "1023 B");
        assert_eq!(friendly_bytes(-1), "-1 B");
        assert_eq!(friendly_bytes(1024), "1.00 KB");
        assert_eq!(friendly_bytes(1152), "1.12 KB");
        assert_eq!(friendly_bytes(1_048_575), "1024.00 KB");
        assert_eq!(friendly_bytes(1 << 20), "1.00 MB");
        // Values the Go server printed for `max_mem: 1G` and `max_file: 1T` (decimal units).
        assert_eq!(friendly_bytes(1_000_000_000), "953.67 MB");
        assert_eq!(friendly_bytes(1_000_000_000_000), "931.32 GB");
        assert_eq!(friendly_bytes(1 << 30), "1.00 GB");
        assert_eq!(friendly_bytes(1 << 40), "1.00 TB");
        assert_eq!(friendly_bytes(1 << 50), "1.00 PB");
        assert_eq!(friendly_bytes(1 << 60), "1.00 EB");
        assert_eq!(friendly_bytes(i64::MAX), "8.00 EB");
    }

    fn cfg() -> JetStreamConfig {
        JetStreamConfig {
            max_memory: 1_000_000_000,
            max_store: 1_000_000_000_000,
            store_dir: PathBuf::from("/tmp/jscfg/sd/jetstream"),
            strict: true,
            ..JetStreamConfig::default()
        }
    }

    #[test]
    fn full_banner() {
        let opts = Options {
            jetstream_key: "abc".into(),
            ..Options::default()
        };
        let c = JetStreamConfig {
            domain: "HUB".into(),
            ..cfg()
        };
        assert_eq!(
            startup_lines(&c, &opts, 4),
            [
                "    _ ___ _____ ___ _____ ___ ___   _   __  __",
                " _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |",
                "| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |",
                " \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|",
                "",
                "         https://docs.nats.io/jetstream",
                "",
                "---------------- JETSTREAM ----------------",
                "  Strict:          true",
                "  Max Memory:      953.67 MB",
                "  Max Storage:     931.32 GB",
                "  Store Directory: \"/tmp/jscfg/sd/jetstream\"",
                "  Domain:          HUB",
                "  Encryption:      ChaCha20-Poly1305",
                "  API Level:       4",
                "-------------------------------------------",
            ]
        );
    }

    #[test]
    fn banner_without_art_strict_domain_or_key() {
        let opts = Options {
            disable_jetstream_banner: true,
            ..Options::default()
        };
        let c = JetStreamConfig {
            strict: false,
            max_memory: 1 << 20,
            max_store: 1023,
            ..cfg()
        };
        assert_eq!(
            startup_lines(&c, &opts, 4),
            [
                "---------------- JETSTREAM ----------------",
                "  Max Memory:      1.00 MB",
                "  Max Storage:     1023 B",
                "  Store Directory: \"/tmp/jscfg/sd/jetstream\"",
                "  API Level:       4",
                "-------------------------------------------",
            ]
        );
    }

    #[test]
    fn banner_with_aes_and_tpm() {
        let mut opts = Options {
            disable_jetstream_banner: true,
            jetstream_key: "k".into(),
            jetstream_cipher: StoreCipher::Aes,
            ..Options::default()
        };
        opts.jetstream_tpm.keys_file = "keys.json".into();
        opts.jetstream_tpm.pcr = 22;
        let lines = startup_lines(&cfg(), &opts, 4);
        assert_eq!(
            lines[5..8],
            [
                "  Encryption:      AES-GCM",
                "  TPM File:        \"keys.json\", Pcr: 22",
                "  API Level:       4",
            ]
        );
    }
}
