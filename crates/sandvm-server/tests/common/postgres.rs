//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl
//! start` on a free loopback port (its socket in the same directory), stopped with `pg_ctl
//! stop -m immediate` when dropped, even when the test panics.
//!
//! The binaries are found on `PATH`, then in `/usr/lib/postgresql/*/bin` (Debian's
//! `postgresql` package; the newest version wins). When PostgreSQL is not installed the test
//! fails with a message saying how to install it, unless `SANDVM_SKIP_POSTGRES=1` is set (then
//! [`Postgres::start`] returns `None` and the test returns early, saying so).
//!
//! PostgreSQL refuses to run as root: as root, the server runs as the user named by
//! `SANDVM_PG_USER` (default `sandvm-test`; `.ci/run` creates it with `useradd --system`)
//! through `runuser -u USER --`, and the temporary directory is given to that user.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A running throwaway server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<String>,
    /// The loopback port.
    pub port: u16,
    /// `postgres://sandvm@127.0.0.1:PORT/postgres`.
    pub url: String,
}

fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                return Some(d);
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("local address").port()
}

fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// Starts a fresh server, or returns `None` when PostgreSQL is not installed and
    /// `SANDVM_SKIP_POSTGRES=1` is set.
    ///
    /// # Panics
    /// When PostgreSQL is not installed (without `SANDVM_SKIP_POSTGRES=1`), when running as
    /// root without the unprivileged user, or when the server does not start.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = find_bin() else {
            if std::env::var("SANDVM_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
                eprintln!("SANDVM_SKIP_POSTGRES=1 and PostgreSQL is not installed: skipping this test");
                return None;
            }
            panic!(
                "PostgreSQL is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin): \
                 install Debian's `postgresql` package (bash .ci/run does), or set SANDVM_SKIP_POSTGRES=1 to skip"
            );
        };
        let user = if is_root() {
            let u = std::env::var("SANDVM_PG_USER").unwrap_or_else(|_| "sandvm-test".into());
            let exists = Command::new("id").arg("-u").arg(&u).output().is_ok_and(|o| o.status.success());
            assert!(
                exists,
                "PostgreSQL refuses to run as root and the user {u:?} does not exist: \
                 `useradd --system --no-create-home {u}` (bash .ci/run does), or set SANDVM_PG_USER"
            );
            Some(u)
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix("sandvm-pg-").tempdir().expect("temporary directory");
        if let Some(u) = &user {
            check("chown", Command::new("chown").arg(u).arg(dir.path()).output());
        }
        let port = free_port();
        let url = format!("postgres://sandvm@127.0.0.1:{port}/postgres");
        let pg = Postgres { port, url, dir, bin, user };
        let data = pg.data();
        check(
            "initdb",
            pg.cmd("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "sandvm", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
                .output(),
        );
        pg.start_again();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.current_dir(self.dir.path()).env("LC_ALL", "C").env_remove("PGDATA");
        c
    }

    /// Starts the (stopped) server again on the same port and data, and waits until it
    /// accepts TCP connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        check(
            "pg_ctl start",
            self.cmd("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.path().join("log"))
                .args(["-o", &opts, "-w", "-t", "60", "start"])
                .output(),
        );
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        sandvm_testkit::wait_until(Duration::from_secs(30), "PostgreSQL accepts connections", || {
            TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok()
        });
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: connections are cut).
    pub fn stop(&self) {
        let _ = self.cmd("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]).output();
    }

    /// The server's log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
