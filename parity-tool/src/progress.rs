//! Progress on stderr for long commands: a rewritten line on a terminal, a few plain lines
//! otherwise (so CI logs stay short).

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    tty: bool,
    started: Instant,
    last_percent_logged: usize,
    quiet: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: usize) -> Self {
        Self {
            what,
            total,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_percent_logged: 0,
            quiet: std::env::var_os("PARITY_QUIET").is_some(),
        }
    }

    pub fn step(&mut self, item: &str) {
        self.done += 1;
        if self.quiet || self.total == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(
                err,
                "\r\x1b[2K{} {}/{} {}",
                self.what, self.done, self.total, item
            );
        } else {
            let percent = self.done * 100 / self.total;
            if percent >= self.last_percent_logged + 25 {
                self.last_percent_logged = percent - percent % 25;
                let _ = writeln!(err, "{} {}/{}", self.what, self.done, self.total);
            }
        }
    }

    pub fn finish(&mut self) {
        if self.quiet || self.total == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(
            err,
            "{}: {} done in {:.1?}",
            self.what,
            self.done,
            self.started.elapsed()
        );
    }
}
