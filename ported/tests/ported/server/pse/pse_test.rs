//! Ports of `server/pse/pse_test.go`: the process CPU and memory figures monitoring
//! reports (`/varz` `cpu` and `mem`) agree with `ps` for the same process.
//!
//! Go measures its own test process after forcing its garbage collector to return
//! memory; other tests run in this process at the same time, so its memory moves while
//! it is measured. The memory port therefore measures an idle child process, read from
//! /proc exactly as natsd reads its own.

use natsd::monitor::misc::{process_usage, process_usage_of};
use ported::port;

/// `ps o <fields> -p <pid>`, as text.
fn ps(fields: &str, pid: u32) -> String {
    let out = std::process::Command::new("ps")
        .args(["o", fields, "-p", &pid.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("Failed to execute ps command: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

port!("server/pse/pse_test.go::TestPSEmulationCPU" => ps_emulation_cpu);
fn ps_emulation_cpu() {
    // PS version first.
    let ps_pcpu: f64 = ps("pcpu=", std::process::id())
        .parse()
        .expect("ps prints a percentage");
    // Our internal version.
    let (pcpu, _) = process_usage();
    let delta = (pcpu - ps_pcpu).abs();
    assert!(
        delta <= 30.0,
        "CPUs did not match close enough: {pcpu} vs {ps_pcpu}"
    );
}

port!("server/pse/pse_test.go::TestPSEmulationMem" => ps_emulation_mem);
fn ps_emulation_mem() {
    let mut idle = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("start an idle process");
    // Wait until it runs `sleep` itself (not the forked test binary).
    ported::support::check_for(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_millis(10),
        || match std::fs::read_to_string(format!("/proc/{}/comm", idle.id())) {
            Ok(c) if c.trim() == "sleep" => Ok(()),
            other => Err(format!("not yet sleeping: {other:?}")),
        },
    );
    let pid = idle.id();
    // PS version first (1k blocks; bytes wanted).
    let out = ps("rss=,vsz=", pid);
    let ps_rss: i64 = out
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("ps prints the rss");
    let ps_rss = ps_rss * 1024;
    // Our internal version.
    let (_, rss) = process_usage_of(&pid.to_string());
    let _ = idle.kill();
    let _ = idle.wait();
    assert!(rss > 0, "no memory read for the idle process");
    assert!(
        (rss - ps_rss).abs() <= 1024 * 1024,
        "RSSs did not match close enough: {rss} vs {ps_rss}"
    );
}
