//! Crash test of a file consumer store's coalesced state writes (opt-in: `cargo test -p
//! natsd-store --test consumer_crash -- --ignored`).
//!
//! The test binary re-invokes itself as a child that delivers and acknowledges messages
//! on one consumer as fast as it can, printing each finished step, and resumes from the
//! recovered state after each kill (as a restarted server would). The parent kills it
//! with SIGKILL at a random moment and reopens the state. The state found must be
//! exactly the state after some prefix of the steps — never damaged, never mixed, never
//! ahead of what the child did (at most the step it was killed in) and never behind
//! the state recovered before.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use natsd_store::file::{FileStore, FileStoreConfig};
use natsd_store::mem::MemStore;
use natsd_store::{
    system_clock, AckPolicy, ConsumerConfig, ConsumerState, ConsumerStore, StorageType, Store,
    StreamConfig,
};

const CHILD_DIR_ENV: &str = "NATSD_STORE_CONSUMER_CRASH_CHILD_DIR";
const KILLS: usize = 60;
/// A delivery time the state file keeps exactly (whole seconds).
const TS: i64 = 1_700_000_000 * 1_000_000_000;

fn stream_config(storage: StorageType) -> StreamConfig {
    StreamConfig {
        name: "CRASH".to_string(),
        storage,
        ..StreamConfig::default()
    }
}

fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        ack_policy: AckPolicy::Explicit,
        ..ConsumerConfig::default()
    }
}

fn open_consumer(dir: &Path) -> (FileStore, Arc<dyn ConsumerStore>) {
    let fs = FileStore::open(
        FileStoreConfig::new(dir),
        stream_config(StorageType::File),
        system_clock(),
    )
    .unwrap();
    let o = fs.consumer_store("C", 0, &consumer_config()).unwrap();
    (fs, o)
}

/// Step `k` delivers `k`, then acknowledges `k` — or, every third step, the message of
/// the step 30 before (left pending until then), so a few stay pending.
fn deliver(o: &dyn ConsumerStore, k: u64) {
    o.update_delivered(k, k, 1, TS).unwrap();
}

fn ack(o: &dyn ConsumerStore, k: u64) {
    if !k.is_multiple_of(3) {
        o.update_acks(k, k).unwrap();
    } else if k > 30 {
        o.update_acks(k - 30, k - 30).unwrap();
    }
}

/// Child side: runs only when the parent set the environment variable.
#[test]
#[ignore = "child process of consumer_crash_kill_9_finds_a_state_that_happened"]
fn consumer_crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let (_fs, o) = open_consumer(Path::new(&dir));
    let state = o.state().unwrap();
    let last = state.delivered.stream;
    // Killed between the delivery and the ack of the last step: finish it (the message
    // is still pending, as a redelivered one would be acknowledged).
    let acked_by_last = if last.is_multiple_of(3) {
        last.checked_sub(30)
    } else {
        Some(last)
    };
    if acked_by_last.is_some_and(|seq| seq > 0 && state.pending.contains_key(&seq)) {
        ack(o.as_ref(), last);
    }
    let mut out = std::io::stdout().lock();
    for k in last + 1.. {
        deliver(o.as_ref(), k);
        ack(o.as_ref(), k);
        writeln!(out, "STEP {k}").unwrap();
        out.flush().unwrap();
    }
}

/// The states a memory consumer goes through, advanced step by step.
struct Replica {
    o: Arc<dyn ConsumerStore>,
    _holder: MemStore,
    /// Steps applied.
    steps: u64,
}

impl Replica {
    fn new() -> Replica {
        let holder = MemStore::new(stream_config(StorageType::Memory)).unwrap();
        let o = holder.consumer_store("C", 0, &consumer_config()).unwrap();
        Replica {
            o,
            _holder: holder,
            steps: 0,
        }
    }

    fn advance_to(&mut self, steps: u64) {
        while self.steps < steps {
            self.steps += 1;
            deliver(self.o.as_ref(), self.steps);
            ack(self.o.as_ref(), self.steps);
        }
    }

    /// The state after the delivery of step `steps + 1` but before its ack.
    fn half_step(&self) -> ConsumerState {
        let r = Replica::new();
        r.o.force_update(&self.o.state().unwrap()).unwrap();
        deliver(r.o.as_ref(), self.steps + 1);
        r.o.state().unwrap()
    }
}

#[test]
#[ignore = "opt-in crash test: 60 SIGKILLs, about half a minute"]
fn consumer_crash_kill_9_finds_a_state_that_happened() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut next_rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut replica = Replica::new();
    let mut recovered = 0u64;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "consumer_crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
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
        // Once it has done a step, kill it at a random moment over a few flush intervals.
        let mut lines = Vec::new();
        loop {
            let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
            let stepped = line.starts_with("STEP ");
            lines.push(line);
            if stepped {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(next_rand() % 400_000));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let done = lines
            .iter()
            .filter_map(|l| l.strip_prefix("STEP ")?.parse::<u64>().ok())
            .max()
            .unwrap();

        let (fs, o) = open_consumer(dir.path());
        let state = o.state().unwrap();
        let d = state.delivered.stream;
        assert!(
            d >= recovered,
            "kill {kill}: went back from {recovered} to {d}"
        );
        assert!(
            d <= done + 1,
            "kill {kill}: state at {d}, the child did {done}"
        );
        if d > 0 {
            replica.advance_to(d - 1);
            let half = replica.half_step();
            replica.advance_to(d);
            let full = replica.o.state().unwrap();
            assert!(
                state == full || state == half,
                "kill {kill}: state at {d} never happened: {state:?}"
            );
        }
        recovered = d;
        o.stop().unwrap();
        fs.stop().unwrap();
    }
    assert!(recovered > 0, "no state ever reached the disk");
}
