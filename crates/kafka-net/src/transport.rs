//! The two socket engines, reduced to what a connection task needs:
//! connect, read, one vectored write, shut down. Framing, TLS and SASL are
//! the [`crate::connection::Connection`]'s; the task that joins the two is
//! the driver's.
//!
//! Both take and give back owned buffers (the io_uring style), so that one
//! task serves either engine:
//!
//! - [`Uring`] (`tokio-uring`): each read and write is handed to the
//!   kernel as soon as it is queued ([`crate::ring`]); `writev` goes
//!   straight from the request's `Bytes`.
//! - [`Epoll`] (`tokio`): waits for readiness, then `read` /
//!   `write_vectored` over the same buffers.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;

use bytes::{Buf, Bytes};

/// Most chunks handed to one `writev` (Linux's `IOV_MAX` is 1024).
pub(crate) const MAX_IOVECS: usize = 1024;

/// A connected stream socket of one engine. Reads and writes take `&self`,
/// so that a connection can read and write at the same time.
pub(crate) trait Transport: Sized {
    /// Connects to `addr`, with `TCP_NODELAY`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self>>;

    /// Reads into `buf`, which is empty, up to its capacity. Returns the
    /// bytes read (0 at the end of the stream) and the buffer.
    fn read(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)>;

    /// Writes a prefix of `chunks` (at most [`MAX_IOVECS`] of them) in one
    /// vectored write. Returns the bytes written and the chunks.
    fn writev(&self, chunks: Vec<Bytes>) -> impl Future<Output = (io::Result<usize>, Vec<Bytes>)>;

    /// Shuts the connection down after a clean close.
    fn shutdown(&mut self) -> impl Future<Output = ()>;
}

/// Writes every byte of `chunks`, [`MAX_IOVECS`] chunks at a time.
pub(crate) async fn write_all<T: Transport>(stream: &T, mut chunks: Vec<Bytes>) -> io::Result<()> {
    while !chunks.is_empty() {
        let rest = chunks.split_off(chunks.len().min(MAX_IOVECS));
        let (result, mut sent) = stream.writev(chunks).await;
        let n = result?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        advance(&mut sent, n);
        sent.extend(rest);
        chunks = sent;
    }
    Ok(())
}

/// Drops the first `n` bytes of a chunk list, slicing (not copying) the
/// chunk a partial write ended in.
fn advance(chunks: &mut Vec<Bytes>, mut n: usize) {
    let whole = chunks
        .iter()
        .take_while(|c| {
            if n >= c.len() {
                n -= c.len();
                true
            } else {
                false
            }
        })
        .count();
    chunks.drain(..whole);
    if n > 0 {
        if let Some(first) = chunks.first_mut() {
            first.advance(n);
        }
    }
}

/// A readiness-based connection (`tokio`, epoll).
#[derive(Debug)]
pub(crate) struct Epoll(tokio::net::TcpStream);

impl Transport for Epoll {
    async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self(stream))
    }

    async fn read(&self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        loop {
            if let Err(e) = self.0.readable().await {
                return (Err(e), buf);
            }
            match self.0.try_read_buf(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return (result, buf),
            }
        }
    }

    async fn writev(&self, chunks: Vec<Bytes>) -> (io::Result<usize>, Vec<Bytes>) {
        let result = {
            let slices: Vec<IoSlice<'_>> = chunks
                .iter()
                .take(MAX_IOVECS)
                .map(|c| IoSlice::new(c))
                .collect();
            loop {
                if let Err(e) = self.0.writable().await {
                    break Err(e);
                }
                match self.0.try_write_vectored(&slices) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    result => break result,
                }
            }
        };
        (result, chunks)
    }

    async fn shutdown(&mut self) {
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut self.0).await;
    }
}

/// A completion-based connection (`tokio-uring`, io_uring).
#[cfg(target_os = "linux")]
pub(crate) struct Uring(tokio_uring::net::TcpStream);

#[cfg(target_os = "linux")]
impl Transport for Uring {
    async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = tokio_uring::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self(stream))
    }

    async fn read(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        crate::ring::submitted(self.0.read(buf)).await
    }

    async fn writev(&self, chunks: Vec<Bytes>) -> (io::Result<usize>, Vec<Bytes>) {
        crate::ring::submitted(self.0.writev(chunks)).await
    }

    async fn shutdown(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_drops_whole_chunks_and_slices_the_partial_one() {
        let mut c = vec![
            Bytes::from_static(b"abc"),
            Bytes::from_static(b"de"),
            Bytes::from_static(b"fgh"),
        ];
        advance(&mut c, 0);
        assert_eq!(c.len(), 3);
        advance(&mut c, 4);
        assert_eq!(
            c,
            vec![Bytes::from_static(b"e"), Bytes::from_static(b"fgh")]
        );
        advance(&mut c, 1);
        assert_eq!(c, vec![Bytes::from_static(b"fgh")]);
        advance(&mut c, 3);
        assert!(c.is_empty());
    }
}
