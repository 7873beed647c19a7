//! Connections whose reads are capped, which bounds what each one holds of a body in flight.
//!
//! hyper reads into an 8 KiB buffer and doubles it whenever a read fills it, up to its largest
//! allowed message head (16 KiB by default as a server; 400 KiB as a client, for a function's
//! answer); every body chunk it hands on keeps its buffer alive until the chunk has been written
//! to the other side. A read of one byte under a power of two never fills the buffer, so the
//! buffer stops growing there, while a head may still take several reads and grow to the largest
//! allowed. Reads take under the read size (`FAAS_ECS_READ_SIZE`, 16 KiB by default), and under
//! half of it (at least 8 KiB) while more than [`CROWDED`] client connections are open, when what
//! they hold adds up. Smaller reads cost CPU (more reads, writes and wake-ups for a body), so they
//! are kept for then.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::BufMut;
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The default read size (`FAAS_ECS_READ_SIZE`): reads take one byte less.
pub const READ_SIZE: usize = 16 * 1024;

/// The smallest read size: hyper's first read buffer.
pub const MIN_READ_SIZE: usize = 8 * 1024;

/// Open client connections past which reads take half as much: below it, what larger reads hold
/// stays small beside the rest of the process.
pub const CROWDED: usize = 64;

/// The read size, a power of two; set once at start.
static SIZE: AtomicUsize = AtomicUsize::new(READ_SIZE);

/// Sets the read size: a power of two from 8 KiB up.
pub fn set_read_size(bytes: usize) {
    assert!(bytes.is_power_of_two() && bytes >= MIN_READ_SIZE);
    SIZE.store(bytes, Ordering::Relaxed);
}

/// Client connections open in this process: the memory they hold is the process's.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Counts a client connection as open while held.
#[derive(Debug)]
pub struct Open(());

impl Open {
    pub fn new() -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Default for Open {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The most the next read may take.
fn read_chunk() -> usize {
    let size = SIZE.load(Ordering::Relaxed);
    let size = if OPEN.load(Ordering::Relaxed) > CROWDED {
        (size / 2).max(MIN_READ_SIZE)
    } else {
        size
    };
    size - 1
}

/// A TCP stream whose reads are capped; writes pass through.
#[derive(Debug)]
pub struct CappedReads(pub TcpStream);

impl AsyncRead for CappedReads {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let most = read_chunk();
        if buf.remaining() <= most {
            return Pin::new(&mut self.0).poll_read(cx, buf);
        }
        // Into the buffer as it is, uninitialised: what the read does not fill stays untouched,
        // and so out of the resident memory.
        let mut capped = BufMut::limit(buf, most);
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read_buf(&mut capped) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                read => return Poll::Ready(read.map(drop)),
            }
        }
    }
}

impl AsyncWrite for CappedReads {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Connection for CappedReads {
    fn connected(&self) -> Connected {
        self.0.connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads everything `sent` over a TCP connection, and the largest single read.
    async fn read_through(sent: &[u8], crowded: bool) -> (Vec<u8>, usize) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (receiver, _) = listener.accept().await.unwrap();
        let writer = tokio::spawn({
            let sent = sent.to_vec();
            async move {
                sender.write_all(&sent).await.unwrap();
                sender.shutdown().await.unwrap();
            }
        });
        // Let it arrive, so that an uncapped read can take more than the cap.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let crowd: Vec<Open> = (0..if crowded { CROWDED + 1 } else { 0 })
            .map(|_| Open::new())
            .collect();
        let mut capped = CappedReads(receiver);
        let (mut got, mut largest) = (Vec::new(), 0);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = capped.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            largest = largest.max(n);
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        drop(crowd);
        (got, largest)
    }

    #[tokio::test]
    async fn reads_are_capped_lower_while_crowded_and_nothing_is_lost() {
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (got, largest) = read_through(&sent, false).await;
        assert_eq!(got, sent);
        assert_eq!(largest, READ_SIZE - 1, "reads fill the cap, and no more");
        let (got, largest) = read_through(&sent, true).await;
        assert_eq!(got, sent);
        assert_eq!(largest, READ_SIZE / 2 - 1, "crowded reads take half");
    }
}
