//! A server under measurement, as a child process: started (optionally
//! pinned to CPUs with `taskset`), found by the `listening on http://ADDR`
//! line it logs, read through `/proc` and stopped with SIGTERM.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;

/// How to start a server: the program, its arguments and environment, and
/// the CPUs to pin it to.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The server binary.
    pub program: PathBuf,
    /// Its arguments (the bench adds nothing: `--listen 127.0.0.1:0` or the
    /// like must be here).
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// A `taskset -c` CPU list, or `None` to leave the scheduler free.
    pub cpus: Option<String>,
}

/// A running server process. Dropping it kills the process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    program: PathBuf,
    addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `launch` with standard error going to `log`, and waits up to
    /// 30 seconds for it to log where it listens.
    pub fn start(launch: &Launch, log: &Path) -> Result<Self, BenchError> {
        let log_file = File::create(log)
            .map_err(|e| BenchError::io(format!("creating {}", log.display()), e))?;
        let mut command = match &launch.cpus {
            Some(cpus) => {
                // taskset execs the server, so the child's pid is the server's.
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(&launch.program);
                command
            }
            None => Command::new(&launch.program),
        };
        command
            .args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command.spawn().map_err(|source| BenchError::Spawn {
            program: launch.program.clone(),
            source,
        })?;
        let mut process = ServerProcess {
            child,
            program: launch.program.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_owned(),
        };
        process.addr = process.wait_for_address(Duration::from_secs(30))?;
        Ok(process)
    }

    fn wait_for_address(&mut self, patience: Duration) -> Result<SocketAddr, BenchError> {
        let deadline = Instant::now() + patience;
        loop {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(listening_address) {
                return Ok(addr);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.not_serving(format!("it exited with {status}")));
            }
            if Instant::now() >= deadline {
                return Err(self.not_serving(format!(
                    "no `listening on http://` line within {patience:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn not_serving(&self, reason: String) -> BenchError {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        BenchError::NotServing {
            program: self.program.clone(),
            reason,
            log_tail: lines[lines.len().saturating_sub(10)..].join("\n"),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A memory figure from `/proc/PID/status` in bytes: `VmRSS` (resident
    /// now) or `VmHWM` (the peak of resident memory since it started).
    pub fn memory_bytes(&self, field: &str) -> Result<u64, BenchError> {
        let path = PathBuf::from(format!("/proc/{}/status", self.pid()));
        let text = fs::read_to_string(&path)
            .map_err(|e| BenchError::io(format!("reading {}", path.display()), e))?;
        status_kib(&text, field)
            .map(|kib| kib * 1024)
            .ok_or(BenchError::Proc {
                path,
                field: field.to_owned(),
            })
    }

    /// CPU time it has used so far, user and system, all threads.
    pub fn cpu_time(&self) -> Result<Duration, BenchError> {
        cpu_time_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// Sends SIGTERM and waits up to 10 seconds for it to exit (then kills
    /// it). Its log is deleted: a benchmark's access log is large and says
    /// nothing the table does not.
    pub fn stop(mut self) -> Result<(), BenchError> {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = fs::remove_file(&self.log);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(self.not_serving("it did not exit within 10 s of SIGTERM".to_owned()))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in a `… listening on http://ADDR` log line.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on http://")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// A `kB` field of a `/proc/PID/status` text, in KiB.
pub fn status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time from a `/proc/PID/stat` (or `/proc/self/stat`)
/// file.
pub fn cpu_time_of(path: &str) -> Result<Duration, BenchError> {
    let text =
        fs::read_to_string(path).map_err(|e| BenchError::io(format!("reading {path}"), e))?;
    let ticks = stat_cpu_ticks(&text).ok_or_else(|| BenchError::Proc {
        path: PathBuf::from(path),
        field: "utime + stime".to_owned(),
    })?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second(),
    ))
}

/// utime + stime, in clock ticks, from the text of a `stat` file.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces, so
    // count fields from the last ')'. utime and stime are fields 14 and 15.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ; `getconf` asks the C library without unsafe code here.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// This process's allowed CPUs, as `/proc/self/status` lists them.
pub fn own_cpus() -> Option<String> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(|list| list.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_the_listening_line_with_or_without_colour_codes_after_it() {
        let line = "2026-01-01T00:00:00Z  INFO nova_server: listening on http://127.0.0.1:40123";
        assert_eq!(
            listening_address(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(
            listening_address("listening on http://[::1]:8000 now"),
            Some("[::1]:8000".parse().unwrap())
        );
        assert_eq!(listening_address("INFO stopped"), None);
    }

    #[test]
    fn memory_fields_are_read_from_proc_status() {
        let status =
            "Name:\tnova-server\nVmPeak:\t  9000 kB\nVmHWM:\t    4242 kB\nVmRSS:\t    4000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(4242));
        assert_eq!(status_kib(status, "VmRSS"), Some(4000));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn cpu_ticks_are_counted_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 70 30 0 0 20 0 3 0 5 1000 200";
        assert_eq!(stat_cpu_ticks(stat), Some(100));
    }

    #[test]
    fn this_process_can_read_its_own_cpu_time_and_cpus() {
        assert!(cpu_time_of("/proc/self/stat").is_ok());
        assert!(own_cpus().is_some_and(|cpus| !cpus.is_empty()));
    }
}
