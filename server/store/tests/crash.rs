//! Crash test of the file store's durability (opt-in: `cargo test -p natsd-store --test
//! crash -- --ignored`).
//!
//! The test binary re-invokes itself as a child that stores messages from several threads
//! (so group commit batches them) and prints each acknowledged sequence. The parent kills
//! the child with SIGKILL at a random moment, reopens the store and checks that every
//! acknowledged message is there with the exact payload, and that nothing stored is
//! wrong. Repeated for at least 200 kills over the same directory, so recovery also runs
//! over the tails that earlier kills tore. While the writers run, another thread writes
//! the state file every few milliseconds (`write_full_state`), so kills also land while
//! it is written and between it and the change that removes it.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use natsd_store::file::{FileStore, FileStoreConfig};
use natsd_store::{system_clock, Store, StreamConfig};

const CHILD_DIR_ENV: &str = "NATSD_STORE_CRASH_CHILD_DIR";
const WRITERS: u64 = 4;
const KILLS: usize = 200;

fn stream_config() -> StreamConfig {
    StreamConfig {
        name: "CRASH".to_string(),
        subjects: vec!["crash.>".to_string()],
        ..StreamConfig::default()
    }
}

fn store_config(dir: &Path) -> FileStoreConfig {
    FileStoreConfig {
        // Small blocks so that kills also land during rotation and compaction.
        block_size: 64 * 1024,
        ..FileStoreConfig::new(dir)
    }
}

/// The payload a writer stores for its `n`th message: recognisable and varied in length.
fn payload(writer: u64, n: u64) -> Vec<u8> {
    let len = 16 + ((writer * 131 + n * 31) % 700) as usize;
    let mut x = (writer << 40) ^ n ^ 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Child side: runs only when the parent set the environment variable.
#[test]
#[ignore = "child process of crash_kill_9_keeps_every_acked_message"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let start = std::process::id() as u64 * 1_000_000;
    if std::process::id().is_multiple_of(2) {
        // Half the children stop and reopen the store over and over, so kills also land
        // while the state file of a clean stop is written, read and removed.
        let ack = |line: String| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").unwrap();
            out.flush().unwrap();
        };
        for round in 0u64.. {
            let fs = FileStore::open(
                store_config(Path::new(&dir)),
                stream_config(),
                system_clock(),
            )
            .unwrap();
            for i in 0..20 {
                let n = start + round * 20 + i;
                let (seq, _) = fs
                    .store_msg(&format!("crash.0.{}", n % 5), b"", &payload(0, n), 0)
                    .unwrap();
                ack(format!("ACK {seq} 0 {n}"));
                if n.is_multiple_of(3) && seq > 10 {
                    ack(format!("DEL {}", seq - 10));
                    fs.remove_msg(seq - 10).unwrap();
                }
            }
            fs.stop().unwrap();
        }
        return;
    }
    let fs = std::sync::Arc::new(
        FileStore::open(
            store_config(Path::new(&dir)),
            stream_config(),
            system_clock(),
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                for i in 0.. {
                    let n = start + i;
                    let subject = format!("crash.{writer}.{}", n % 5);
                    let (seq, _) = fs.store_msg(&subject, b"", &payload(writer, n), 0).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {seq} {writer} {n}").unwrap();
                    out.flush().unwrap();
                    drop(out);
                    // Some deletes, so tombstones and compaction are crashed into too. The
                    // intent is printed first: a kill during the call may or may not delete.
                    if n.is_multiple_of(3) && seq > 10 {
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "DEL {}", seq - 10).unwrap();
                        out.flush().unwrap();
                        drop(out);
                        fs.remove_msg(seq - 10).unwrap();
                    }
                }
            })
        })
        .collect();
    // The state written while running: taken by the next open only if nothing changed
    // after it. Never joined: the child runs until killed.
    let state_writer = fs.clone();
    std::thread::spawn(move || loop {
        let _ = state_writer.write_full_state();
        std::thread::sleep(Duration::from_millis(3));
    });
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
#[ignore = "opt-in crash test: 200 SIGKILLs, about a minute"]
fn crash_kill_9_keeps_every_acked_message() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut deleted: HashSet<u64> = HashSet::new();
    let mut rng = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut next_rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Opens from a state written while running (children with odd ids, see crash_child).
    let mut from_running_state = 0usize;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let writes_state_while_running = child.id() % 2 == 1;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Let it run until it has acknowledged something, then kill it at a random moment.
        let mut lines = Vec::new();
        let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        lines.push(first);
        std::thread::sleep(Duration::from_micros(next_rand() % 40_000));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        for line in lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["ACK", seq, writer, n] => {
                    acked.insert(
                        seq.parse().unwrap(),
                        (writer.parse().unwrap(), n.parse().unwrap()),
                    );
                }
                ["DEL", seq] => {
                    deleted.insert(seq.parse().unwrap());
                }
                _ => {}
            }
        }
        let fs =
            FileStore::open(store_config(dir.path()), stream_config(), system_clock()).unwrap();
        if writes_state_while_running && fs.recovery_report().from_state_file {
            from_running_state += 1;
        }
        let state = fs.state();
        for (&seq, &(writer, n)) in &acked {
            assert!(
                state.last_seq >= seq,
                "kill {kill}: last seq {} below acked {seq}",
                state.last_seq
            );
            match fs.load_msg(seq) {
                Ok(msg) => {
                    assert_eq!(msg.seq, seq);
                    assert_eq!(
                        msg.subject,
                        format!("crash.{writer}.{}", n % 5),
                        "kill {kill} seq {seq}"
                    );
                    assert_eq!(
                        msg.msg.as_ref(),
                        payload(writer, n).as_slice(),
                        "kill {kill} seq {seq}"
                    );
                }
                Err(err) => assert!(
                    deleted.contains(&seq),
                    "kill {kill}: acked seq {seq} lost: {err}"
                ),
            }
        }
        // Whatever is stored must be a message some writer stored (never garbage), and
        // recovery after a kill never finds damage other than a torn tail.
        for seq in state.first_seq..=state.last_seq {
            if let Ok(msg) = fs.load_msg(seq) {
                let parts: Vec<&str> = msg.subject.split('.').collect();
                assert_eq!(parts.len(), 3, "kill {kill} seq {seq}: {}", msg.subject);
                let writer: u64 = parts[1].parse().unwrap();
                if let Some(&(w, n)) = acked.get(&seq) {
                    assert_eq!((w, msg.msg.as_ref()), (writer, payload(w, n).as_slice()));
                }
            }
        }
        assert!(
            fs.recovery_report().damaged.is_empty(),
            "kill {kill}: {:?}",
            fs.recovery_report()
        );
        // Nor does it take a state that misses later changes for messages lost.
        assert!(
            fs.recovery_report().lost.msgs.is_empty(),
            "kill {kill}: {:?}",
            fs.recovery_report()
        );
        fs.stop().unwrap();
    }
    eprintln!(
        "{KILLS} kills: {} acknowledged messages checked, {} deleted, {from_running_state} \
         opens from a state written while running",
        acked.len(),
        deleted.len()
    );
    assert!(
        acked.len() >= KILLS,
        "too few acks to mean anything: {}",
        acked.len()
    );
}
