//! How the provider serves: its address, timeouts, connections and reads.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::parse;
use crate::server::{ConnectionLimit, Options};

/// A read size as `io::set_reads` takes it, up to 1 MiB.
fn parse_read_size(text: &str) -> Result<u32, String> {
    const MAX: usize = 1 << 20;
    let size: usize = text.parse().map_err(|e| format!("{e}"))?;
    if size.is_power_of_two() && (crate::io::MIN_READ_SIZE..=MAX).contains(&size) {
        Ok(size as u32)
    } else {
        Err(format!(
            "a power of two from {} to {MAX}",
            crate::io::MIN_READ_SIZE
        ))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct Server {
    /// Address to listen on.
    #[arg(
        long,
        env = "bind_address",
        value_name = "bind_address",
        default_value = "0.0.0.0"
    )]
    pub bind_address: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "port", value_name = "port", default_value_t = 8081)]
    pub port: u16,

    /// Longest time to read a request, seconds or a duration such as 60s.
    #[arg(long, env = "read_timeout", value_name = "read_timeout", default_value = "60s", value_parser = parse::duration)]
    pub read_timeout: Duration,

    /// Longest time a function may take to answer.
    #[arg(long, env = "write_timeout", value_name = "write_timeout", default_value = "60s", value_parser = parse::duration)]
    pub write_timeout: Duration,

    /// Require HTTP basic auth on /system/* (credentials from secret_mount_path).
    #[arg(long, env = "basic_auth", value_name = "basic_auth", default_value_t = false, action = clap::ArgAction::Set)]
    pub basic_auth: bool,

    /// Folder holding basic-auth-user and basic-auth-password.
    #[arg(
        long,
        env = "secret_mount_path",
        value_name = "secret_mount_path",
        default_value = "/run/secrets/"
    )]
    pub secret_mount_path: PathBuf,

    /// Threads serving requests, each with its own listener and connection pool: 0 for one per CPU.
    #[arg(
        long,
        env = "FAAS_ECS_WORKER_THREADS",
        value_name = "FAAS_ECS_WORKER_THREADS",
        default_value_t = 0
    )]
    pub worker_threads: usize,

    /// How long a serving thread keeps polling for I/O after a request arrives before it sleeps
    /// (yielding its CPU to anything else runnable meanwhile); 0 to sleep at once.
    #[arg(long, env = "FAAS_ECS_BUSY_POLL", value_name = "FAAS_ECS_BUSY_POLL", default_value = "200us", value_parser = parse::duration)]
    pub busy_poll: Duration,

    /// Connections served at once, across every serving thread; past it, a quarter as many more
    /// are served one hurried request each, and beyond those new connections wait in the kernel's
    /// queue. Each invocation holds two file descriptors (the client's and the function's).
    #[arg(long, env = "FAAS_ECS_MAX_CONNECTIONS", value_name = "FAAS_ECS_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Largest request line plus headers, in bytes (431 beyond).
    #[arg(long, env = "FAAS_ECS_MAX_REQUEST_HEAD", value_name = "FAAS_ECS_MAX_REQUEST_HEAD", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_request_head: u32,

    /// Largest single read of a connection, client's or function's, in bytes: a power of two
    /// from 8 KiB to 1 MiB. Reads start at 8 KiB and double while they fill, up to this, within
    /// the read budget. Larger moves large bodies with less CPU.
    #[arg(long, env = "FAAS_ECS_READ_SIZE", value_name = "FAAS_ECS_READ_SIZE", default_value_t = crate::io::READ_SIZE as u32, value_parser = parse_read_size)]
    pub read_size: u32,

    /// Bytes that connections' reads may hold beyond 8 KiB each (a client's: beyond the largest
    /// request head), in all: a connection that grows its reads takes from it, and gives back
    /// when it closes. 0: a function's answers read under 8 KiB at a time.
    #[arg(long, env = "FAAS_ECS_READ_BUDGET", value_name = "FAAS_ECS_READ_BUDGET", default_value_t = crate::io::READ_BUDGET as u32, value_parser = clap::value_parser!(u32).range(0..=1 << 30))]
    pub read_budget: u32,
}

impl Server {
    /// How the server serves; `connections` is shared by every serving thread.
    pub fn options(&self, connections: ConnectionLimit) -> Options {
        Options {
            read_timeout: self.read_timeout,
            grace: self.write_timeout,
            busy_poll: self.busy_poll,
            max_request_head: self.max_request_head as usize,
            connections,
        }
    }

    /// The limit every serving thread shares.
    pub fn connection_limit(&self) -> ConnectionLimit {
        ConnectionLimit::new(self.max_connections as usize)
    }
}
