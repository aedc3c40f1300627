//! A fresh PostgreSQL database per test on the server at `PODSIFT_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, what `scripts/ensure-postgres` provides).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL tests connect to.
pub fn admin_url() -> String {
    std::env::var("PODSIFT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// The URL with its password replaced (for messages).
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// An admin connection, or `None` (after printing a `SKIP` line) when the server is down.
pub async fn admin() -> Option<PgConnection> {
    let url = admin_url();
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(e)) => {
            crate::skip(
                module_path!(),
                &format!("PostgreSQL not reachable at {}: {e}", shown(&url)),
            );
            None
        }
        Err(_) => {
            crate::skip(
                module_path!(),
                &format!(
                    "PostgreSQL not reachable at {}: connect timed out",
                    shown(&url)
                ),
            );
            None
        }
    }
}

/// A database `podsift_t_<unique>`, dropped by [`TestDb::drop_db`].
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Creates it; `None` (after a `SKIP` line) when the server is not reachable.
    pub async fn create() -> Option<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let mut conn = admin().await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "podsift_t_{}_{}_{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        // The name is generated above from digits only: safe to splice into the statement.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE on the test server");
        let _ = conn.close().await;
        let mut url = url::Url::parse(&admin_url()).expect("PODSIFT_TEST_PG_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            name,
            url: url.to_string(),
        })
    }

    /// Best effort: a leftover `podsift_t_*` database is harmless.
    pub async fn drop_db(self) {
        if let Ok(Ok(mut conn)) =
            tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url())).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
            {
                eprintln!("note: could not drop test database {}: {e}", self.name);
            }
            let _ = conn.close().await;
        }
    }
}

/// A throwaway PostgreSQL server of the test's own (initdb in a temp dir, its own port), so
/// a test can crash and restart it without disturbing the shared one. Run as the `postgres`
/// user when the test runs as root (initdb refuses root). Stopped and removed on drop.
pub struct TempCluster {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    pub port: u16,
    as_postgres: bool,
}

impl TempCluster {
    /// `None` (after a `SKIP` line) when no `initdb` is installed.
    pub fn start() -> Option<Self> {
        let Some(bin) = find_pg_bin() else {
            crate::skip(
                module_path!(),
                "no PostgreSQL server binaries (initdb) found",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        // Root? (`id -u`: no libc dependency for one check.)
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!("podsift-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        if as_postgres {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                crate::skip(
                    module_path!(),
                    "cannot hand the cluster dir to the postgres user",
                );
                return None;
            }
        }
        let data = cluster.dir.join("data");
        let init = cluster
            .pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .ok()?;
        if !init.status.success() {
            crate::skip(
                module_path!(),
                &format!("initdb failed: {}", String::from_utf8_lossy(&init.stderr)),
            );
            return None;
        }
        cluster.resume().then_some(cluster)
    }

    fn pg(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub fn resume(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        self.pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &opts, "-l"])
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server the way a crash or an operator's `-m immediate` does: connections
    /// are cut at once.
    pub fn crash(&self) -> bool {
        self.pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = self.crash();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory holding `initdb` and `pg_ctl`: Debian's /usr/lib/postgresql/N/bin (newest),
/// else the one on PATH.
fn find_pg_bin() -> Option<std::path::PathBuf> {
    let mut debian: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    debian.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(b) = debian.pop() {
        return Some(b);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    })
}
