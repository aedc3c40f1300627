//! The crash trials' fleet of `podsift serve`/`worker` processes (killed and restarted by a
//! seeded schedule), and the seeded generator.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podsift_core::JobState;

use super::BIN;

/// A tiny seeded generator (xorshift64*): the kill schedule is reproducible from the seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// The service's processes, restarted after each kill; their logs append to one file each.
pub struct Fleet {
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub procs: Vec<(&'static str, usize, Child)>,
    pub kills: usize,
}

impl Fleet {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(&self.dir)
            .arg("--quiet")
            .args(args)
            // The service refuses --allow-private-networks: the loopback test servers are
            // let through as an administrator would let a home server through.
            .env("PODSIFT_HTTP__ALLOW_HOSTS", r#"["127.0.0.1"]"#)
            .env("XDG_CONFIG_HOME", self.dir.join("no-config"))
            .env_remove("PODSIFT_CONFIG")
            .env_remove("PODSIFT_USER");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run podsift");
        assert!(
            out.status.success(),
            "podsift {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log(&self, role: &str, i: usize) -> PathBuf {
        self.dir.join(format!("{role}-{i}.log"))
    }

    pub fn spawn(&self, role: &'static str, i: usize) -> Child {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log(role, i))
            .expect("log file");
        let args: &[&str] = match role {
            "serve" => &["serve", "--listen", "127.0.0.1:0"],
            _ => &["worker"],
        };
        self.command(args)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn podsift")
    }

    pub fn start(&mut self, roles: &[&'static str]) {
        for (i, role) in roles.iter().enumerate() {
            let child = self.spawn(role, i);
            self.procs.push((role, i, child));
        }
    }

    /// SIGKILL one process (chosen by the generator) and start it again. True when the kill
    /// landed on a live process.
    pub fn kill_one(&mut self, rng: &mut Rng, only: Option<&str>) -> bool {
        let candidates: Vec<usize> = (0..self.procs.len())
            .filter(|&n| only.is_none_or(|r| self.procs[n].0 == r))
            .collect();
        let n = candidates[rng.range(0, candidates.len() as u64) as usize];
        self.kill_at(n)
    }

    pub fn kill_at(&mut self, n: usize) -> bool {
        let (role, i, child) = &mut self.procs[n];
        let alive = child.try_wait().is_ok_and(|s| s.is_none());
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        self.kills += usize::from(alive);
        let (role, i) = (*role, *i);
        self.procs[n].2 = self.spawn(role, i);
        alive
    }

    /// SIGKILL the process that holds the lease of a running job (its worker id is
    /// `HOST-PID/…`), so that another must take the job over. The job's id, or `None` when no
    /// job of this fleet is running now.
    pub fn kill_lease_holder(&mut self, jobs: &[podsift_core::Job]) -> Option<i64> {
        for job in jobs.iter().filter(|j| j.state == JobState::Running) {
            let Some(owner) = &job.lease_owner else {
                continue;
            };
            let holder = (0..self.procs.len())
                .find(|&n| owner.contains(&format!("-{}/", self.procs[n].2.id())));
            if let Some(n) = holder
                && self.kill_at(n)
            {
                return Some(job.id);
            }
        }
        None
    }

    /// SIGTERM everyone; true when every process exited 0 within 30 s.
    pub fn stop(&mut self) -> bool {
        let mut clean = true;
        for (_, _, c) in &mut self.procs {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for (role, i, c) in &mut self.procs {
            loop {
                match c.try_wait() {
                    Ok(Some(status)) => {
                        if !status.success() {
                            eprintln!("{role}-{i} exited with {status}");
                            clean = false;
                        }
                        break;
                    }
                    _ if Instant::now() > deadline => {
                        eprintln!("{role}-{i} did not stop in 30 s");
                        let _ = c.kill();
                        let _ = c.wait();
                        clean = false;
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        self.procs.clear();
        clean
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                out.push_str(&format!("--- {} (last lines)\n", p.display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, _, c) in &mut self.procs {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
