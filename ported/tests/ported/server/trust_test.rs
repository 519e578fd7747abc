//! Ports of nats-server `server/trust_test.go` that need only the configuration: natsd
//! reads and checks `trusted` keys but has no operator mode (JWT) to run with them.

use natsd::config::file::process_config_file;
use ported::port;
use ported::support::create_conf_file;

const T1: &str = "OBYEOZQ46VZMFMNETBAW2H6VGDSOBLP67VUEZJ5LPR3PIZBWWRIY4UI4";
const T2: &str = "OAHC7NGAHG3YVPTD6QOUFZGPM2OMU6EOS67O2VHBUOA6BJLPTWFHGLKU";

fn process(text: &str) -> Result<natsd::config::Options, natsd::config::file::ConfigFileError> {
    process_config_file(&create_conf_file(text.as_bytes()).to_string_lossy())
}

port!("server/trust_test.go::TestTrustConfigOption" => trust_config_option);
fn trust_config_option() {
    let opts = process(&format!("trusted = {T1:?}"))
        .unwrap_or_else(|e| panic!("Error parsing config: {e}"));
    assert_eq!(
        opts.trusted_keys.len(),
        1,
        "Expected 1 trusted key, got {}",
        opts.trusted_keys.len()
    );
    assert_eq!(opts.trusted_keys[0], T1);

    let opts = process(&format!("trusted = [{T1:?}, {T2:?}]"))
        .unwrap_or_else(|e| panic!("Error parsing config: {e}"));
    assert_eq!(
        opts.trusted_keys.len(),
        2,
        "Expected 2 trusted key, got {}",
        opts.trusted_keys.len()
    );
    assert_eq!(opts.trusted_keys[0], T1);
    assert_eq!(opts.trusted_keys[1], T2);

    // Now a bad one.
    assert!(
        process(&format!("trusted = [{T1:?}, \"bad\"]")).is_err(),
        "Expected an error parsing trust keys with a bad key"
    );
}
