//! The least CPU any proxy can spend moving a MiB on this machine: a sender writes 1 MiB blocks
//! over loopback TCP to a middle thread, which passes them on to a receiver, by `read` and
//! `write` through a buffer or by `splice(2)` through a pipe (the kernel moves page references;
//! nothing enters user space). "direct" is the sender and receiver alone: a proxy does at least
//! one receive and one send of every byte, so their sum is the floor of a copying proxy.
//! Usage: kernel-floor MODE SIZE SECONDS, MODE one of direct, copy, splice; SIZE the buffer or pipe
//! size in bytes. Prints one line: MiB/s, then µs of CPU per MiB for the middle (or the sender),
//! the receiver, and system calls per MiB in the middle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};
use rustix::time::{ClockId, clock_gettime};

const MIB: f64 = (1 << 20) as f64;

/// This thread's CPU time, user and system, in seconds.
fn cpu() -> f64 {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Reads until the sender closes: (bytes, CPU seconds).
fn receive(listener: TcpListener) -> (u64, f64) {
    let (mut s, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let start = cpu();
    let mut total = 0;
    while let Ok(n @ 1..) = s.read(&mut buf) {
        total += n as u64;
    }
    (total, cpu() - start)
}

/// Writes 1 MiB blocks until `until`, then closes: (bytes, CPU seconds).
fn send(mut s: TcpStream, until: Instant) -> (u64, f64) {
    let buf = vec![7u8; 1 << 20];
    let start = cpu();
    let mut total = 0;
    while Instant::now() < until && s.write_all(&buf).is_ok() {
        total += buf.len() as u64;
    }
    (total, cpu() - start)
}

/// Passes bytes from `from` to `to` until the sender closes: (bytes, system calls).
fn pass(mode: &str, size: usize, mut from: TcpStream, mut to: TcpStream) -> (u64, u64) {
    let (mut moved, mut calls) = (0u64, 0u64);
    if mode == "copy" {
        let mut buf = vec![0u8; size];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            to.write_all(&buf[..n]).unwrap();
            moved += n as u64;
            calls += 2;
        }
        return (moved, calls);
    }
    let (out, into) = pipe_with(PipeFlags::CLOEXEC).unwrap();
    fcntl_setpipe_size(&into, size).unwrap();
    loop {
        let n = splice(&from, None, &into, None, size, SpliceFlags::MOVE).unwrap();
        calls += 1;
        if n == 0 {
            return (moved, calls);
        }
        let mut left = n;
        while left > 0 {
            left -= splice(&out, None, &to, None, left, SpliceFlags::MOVE).unwrap();
            calls += 1;
        }
        moved += n as u64;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, seconds] = &args[..] else {
        panic!("usage: kernel-floor direct|copy|splice SIZE SECONDS");
    };
    let size: usize = size.parse().unwrap();
    let seconds: u64 = seconds.parse().unwrap();
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_addr = receiver.local_addr().unwrap();
    let received = thread::spawn(move || receive(receiver));
    let until = Instant::now() + Duration::from_secs(seconds);

    let (bytes, middle_cpu, calls) = if mode == "direct" {
        let (sent, sender_cpu) = send(TcpStream::connect(receiver_addr).unwrap(), until);
        (sent, sender_cpu, 0)
    } else {
        let middle = TcpListener::bind("127.0.0.1:0").unwrap();
        let middle_addr = middle.local_addr().unwrap();
        thread::spawn(move || send(TcpStream::connect(middle_addr).unwrap(), until));
        let (from, _) = middle.accept().unwrap();
        let to = TcpStream::connect(receiver_addr).unwrap();
        let start = cpu();
        let (moved, calls) = pass(mode, size, from, to);
        (moved, cpu() - start, calls)
    };
    let (received_bytes, receiver_cpu) = received.join().unwrap();
    assert_eq!(received_bytes, bytes, "every byte arrives");
    let mib = bytes as f64 / MIB;
    println!(
        "{:.0} {:.1} {:.1} {:.1}",
        mib / seconds as f64,
        middle_cpu * 1e6 / mib,
        receiver_cpu * 1e6 / mib,
        calls as f64 / mib
    );
}
