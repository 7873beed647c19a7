//! Connections whose reads are capped, which bounds what each one holds of a body in flight.
//!
//! hyper reads into an 8 KiB buffer and doubles it whenever a read fills it, up to its largest
//! allowed message head (16 KiB by default as a server; 400 KiB as a client, for a function's
//! answer); every body chunk it hands on keeps its buffer alive until the chunk has been written
//! to the other side, and the buffer stays with the connection while it is open. A read of one
//! byte under a power of two never fills the buffer, so the buffer stops growing there.
//!
//! Each connection's reads start under 8 KiB. A read that fills its cap doubles the cap, up to the
//! read size (`FAAS_ECS_READ_SIZE`), if the read budget (`FAAS_ECS_READ_BUDGET`), shared by the
//! whole process, still has the bytes the larger buffers take (two per connection: see [`held`]);
//! the connection gives them back when it closes. So what larger reads hold stays near the budget
//! (BENCHMARKS.md: the allocator's slack comes on top), however many connections are open: with
//! few, each moves a large body in large reads (fewer reads, writes and wake-ups); with many, the
//! first to carry large bodies get them and the rest read 8 KiB at a time. A client's connection
//! is the exception up to the size of the largest request head ([`unbudgeted`]), which it reaches
//! without the budget: hyper's buffer grows that far for a head anyway, so reads up to it hold
//! nothing a client could not make it hold.
//!
//! A read that comes back short of what it asked for emptied the socket, so it also clears the
//! stream's readiness: the next read waits for epoll instead of a `recv` that finds nothing (one
//! per message on each side of the proxy; BENCHMARKS.md, "Reads that end at a short read").

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The default read size (`FAAS_ECS_READ_SIZE`): reads take one byte less.
pub const READ_SIZE: usize = 64 * 1024;

/// The default read budget (`FAAS_ECS_READ_BUDGET`), in bytes.
pub const READ_BUDGET: usize = 1024 * 1024;

/// The smallest read size: hyper's first read buffer, where every connection starts.
pub const MIN_READ_SIZE: usize = 8 * 1024;

/// How far reads may grow: the largest read size, and a budget shared by the connections that
/// use it.
#[derive(Debug)]
struct Reads {
    /// A power of two.
    size: AtomicUsize,
    /// What is left of the budget, in bytes.
    left: AtomicUsize,
}

impl Reads {
    const fn new(size: usize, budget: usize) -> Self {
        Self {
            size: AtomicUsize::new(size),
            left: AtomicUsize::new(budget),
        }
    }

    /// Takes `bytes` from the budget if it has them.
    fn take(&self, bytes: usize) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }

    fn give(&self, bytes: usize) {
        self.left.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The process's, which every connection uses.
static READS: Reads = Reads::new(READ_SIZE, READ_BUDGET);

/// Sets the read size (a power of two from 8 KiB up) and the read budget, before any connection.
pub fn set_reads(size: usize, budget: usize) {
    assert!(size.is_power_of_two() && size >= MIN_READ_SIZE);
    READS.size.store(size, Ordering::Relaxed);
    READS.left.store(budget, Ordering::Relaxed);
}

/// The cap a client's connection reaches without the budget, for requests whose head may take
/// `max_request_head` bytes: the largest power of two within it, from 8 KiB to the read size
/// (as [`set_reads`] left it: call it after).
pub fn unbudgeted(max_request_head: usize) -> usize {
    let size = READS.size.load(Ordering::Relaxed);
    (1usize << max_request_head.max(MIN_READ_SIZE).ilog2()).min(size)
}

/// A TCP stream whose reads are capped; writes pass through.
#[derive(Debug)]
pub struct CappedReads {
    stream: TcpStream,
    /// The cap, a power of two: reads take one byte less.
    cap: usize,
    /// Up to this cap, growing takes nothing from the budget.
    free: usize,
    reads: &'static Reads,
}

impl CappedReads {
    /// A connection to a function: every doubling takes from the budget.
    pub fn new(stream: TcpStream) -> Self {
        Self::with(stream, MIN_READ_SIZE, &READS)
    }

    /// A client's connection, whose reads grow to `free` (from [`unbudgeted`]) without the budget.
    pub fn serving(stream: TcpStream, free: usize) -> Self {
        Self::with(stream, free, &READS)
    }

    fn with(stream: TcpStream, free: usize, reads: &'static Reads) -> Self {
        Self {
            stream,
            cap: MIN_READ_SIZE,
            free,
            reads,
        }
    }

    /// After a read that filled the cap: doubles it if the budget has the bytes.
    fn grow(&mut self) {
        let more = held(2 * self.cap, self.free) - held(self.cap, self.free);
        if self.cap < self.reads.size.load(Ordering::Relaxed) && self.reads.take(more) {
            self.cap *= 2;
        }
    }
}

/// What a connection at `cap` holds from the budget: twice its growth past `free`, since hyper
/// takes a second buffer while chunks of the first are still being written.
fn held(cap: usize, free: usize) -> usize {
    2 * cap.saturating_sub(free)
}

impl Drop for CappedReads {
    fn drop(&mut self) {
        self.reads.give(held(self.cap, self.free));
    }
}

impl AsyncRead for CappedReads {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let most = this.cap - 1;
        // Into the buffer as it is, uninitialised: what the read does not fill stays untouched,
        // and so out of the resident memory.
        let mut capped = BufMut::limit(buf, most);
        let asked = capped.remaining_mut();
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            let mut read = 0;
            // A read short of what it asked for emptied the socket: answering `WouldBlock` to
            // `try_io` clears the stream's readiness (unless an event came since the read began),
            // so the next read waits for the kernel's word instead of a `recv` that finds nothing.
            let result = this.stream.try_io(Interest::READABLE, || {
                read = this.stream.try_read_buf(&mut capped)?;
                if read > 0 && read < asked {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(())
            });
            match result {
                Ok(()) => {}
                // Short: the bytes are in and the readiness is cleared.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && read > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
            if read == most {
                this.grow();
            }
            return Poll::Ready(Ok(()));
        }
    }
}

impl AsyncWrite for CappedReads {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A connection over loopback whose other end sends `sent` and closes.
    async fn sending(sent: &[u8]) -> (TcpStream, tokio::task::JoinHandle<()>) {
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
        // Let it arrive, so that an uncapped read could take more than the cap.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        (receiver, writer)
    }

    /// Reads everything through `capped`, with the size of each read.
    async fn read_all(capped: &mut CappedReads) -> (Vec<u8>, Vec<usize>) {
        let (mut got, mut reads) = (Vec::new(), Vec::new());
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = capped.read(&mut buf).await.unwrap();
            if n == 0 {
                return (got, reads);
            }
            reads.push(n);
            got.extend_from_slice(&buf[..n]);
        }
    }

    #[tokio::test]
    async fn a_short_read_clears_readiness_and_what_comes_next_is_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (receiver, _) = listener.accept().await.unwrap();
        let mut capped = CappedReads::new(receiver);
        let mut buf = [0u8; 64];

        sender.write_all(b"first").await.unwrap();
        assert_eq!(capped.read(&mut buf).await.unwrap(), 5);
        let waiting = tokio::time::timeout(Duration::ZERO, capped.stream.readable()).await;
        assert!(
            waiting.is_err(),
            "after a short read the stream waits for the kernel, with no recv to find it empty"
        );

        sender.write_all(b"second").await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), capped.read(&mut buf))
            .await
            .expect("data sent after a short read wakes the reader")
            .unwrap();
        assert_eq!(&buf[..n], b"second");
    }

    #[tokio::test]
    async fn reads_double_within_the_budget_and_give_it_back() {
        let sent: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
        // Room for one connection to grow from 8 to 64 KiB, not two.
        let budget = held(64 * 1024, MIN_READ_SIZE) + 100;
        let reads: &'static Reads = Box::leak(Box::new(Reads::new(64 * 1024, budget)));

        let (stream, writer) = sending(&sent).await;
        let mut first = CappedReads::with(stream, MIN_READ_SIZE, reads);
        let (got, sizes) = read_all(&mut first).await;
        writer.await.unwrap();
        assert_eq!(got, sent, "nothing lost or reordered");
        assert_eq!(
            sizes[..4],
            [8191, 16383, 32767, 65535],
            "each full read doubles the cap"
        );
        assert_eq!(sizes.iter().max(), Some(&65535), "never past the read size");
        assert_eq!(reads.left.load(Ordering::Relaxed), 100, "held while open");

        let (stream, writer) = sending(&sent).await;
        let mut second = CappedReads::with(stream, MIN_READ_SIZE, reads);
        let (got, sizes) = read_all(&mut second).await;
        writer.await.unwrap();
        assert_eq!(got, sent);
        assert_eq!(
            sizes.iter().max(),
            Some(&8191),
            "no budget left: 8 KiB reads"
        );

        drop(first);
        drop(second);
        assert_eq!(reads.left.load(Ordering::Relaxed), budget, "all given back");
        let (stream, writer) = sending(&sent).await;
        let (_, sizes) = read_all(&mut CappedReads::with(stream, MIN_READ_SIZE, reads)).await;
        writer.await.unwrap();
        assert_eq!(
            sizes.iter().max(),
            Some(&65535),
            "a new connection grows again"
        );
    }

    #[tokio::test]
    async fn a_clients_reads_grow_to_its_largest_head_without_the_budget_and_past_it_within() {
        let sent: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
        let empty: &'static Reads = Box::leak(Box::new(Reads::new(64 * 1024, 0)));
        let (stream, writer) = sending(&sent).await;
        let (got, sizes) = read_all(&mut CappedReads::with(stream, 16 * 1024, empty)).await;
        writer.await.unwrap();
        assert_eq!(got, sent);
        assert_eq!(sizes[..2], [8191, 16383], "to 16 KiB with no budget at all");
        assert_eq!(sizes.iter().max(), Some(&16383), "and no further");
        assert_eq!(empty.left.load(Ordering::Relaxed), 0);

        let budget = held(32 * 1024, 16 * 1024);
        let reads: &'static Reads = Box::leak(Box::new(Reads::new(64 * 1024, budget)));
        let (stream, writer) = sending(&sent).await;
        let mut client = CappedReads::with(stream, 16 * 1024, reads);
        let (_, sizes) = read_all(&mut client).await;
        writer.await.unwrap();
        assert_eq!(
            sizes.iter().max(),
            Some(&32767),
            "past it, as far as the budget goes"
        );
        assert_eq!(reads.left.load(Ordering::Relaxed), 0);
        drop(client);
        assert_eq!(reads.left.load(Ordering::Relaxed), budget, "given back");
    }

    #[test]
    fn a_clients_free_reads_are_the_largest_head_as_a_power_of_two_within_the_read_size() {
        assert_eq!(unbudgeted(16 * 1024), 16 * 1024);
        assert_eq!(unbudgeted(20_000), 16 * 1024);
        assert_eq!(unbudgeted(8192), MIN_READ_SIZE);
        assert_eq!(unbudgeted(1 << 20), READ_SIZE);
    }
}
