//! Connection tasks, one per engine. Each resolves the address, connects
//! (bounded by `request.timeout.ms`), runs the set-up step (TLS and SASL,
//! [`crate::security`], bounded by the same timeout), reports the
//! connection up, then reads frames and writes requests until the
//! producer drops the connection's queue (`Ok`) or the socket fails
//! (`Err`, reported as a disconnect by the caller).

use std::io;
use std::net::SocketAddr;

use bytes::Buf;
use kafka_producer::ConnectRequest;

/// Read buffer size; grown when a frame is larger.
const READ_CHUNK: usize = 64 * 1024;
/// Most iovecs handed to one `writev` (Linux's `IOV_MAX` is 1024).
const MAX_IOVECS: usize = 1024;

/// Resolves the broker's address (the first one the resolver returns).
async fn resolve(req: &ConnectRequest) -> io::Result<SocketAddr> {
    tokio::net::lookup_host((req.host.as_str(), req.port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for broker"))
}

/// Drops the first `n` bytes of a chunk list, slicing (not copying) the
/// chunk a partial write ended in.
fn advance(chunks: &mut Vec<bytes::Bytes>, mut n: usize) {
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

/// Takes the chunks of the next transmit and of any others already queued,
/// up to [`MAX_IOVECS`], so one system call can carry several requests.
fn gather(
    first: kafka_producer::Transmit,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<kafka_producer::Transmit>,
) -> Vec<bytes::Bytes> {
    let mut chunks = first.chunks;
    while chunks.len() < MAX_IOVECS {
        match rx.try_recv() {
            Ok(t) => chunks.extend(t.chunks),
            Err(_) => break,
        }
    }
    chunks
}

pub(crate) mod epoll {
    //! Readiness-based connections (tokio).

    use std::io::{self, IoSlice};

    use bytes::BytesMut;
    use kafka_producer::{ConnectRequest, Transmit};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::mpsc::UnboundedReceiver;

    use super::{advance, gather, resolve, MAX_IOVECS, READ_CHUNK};
    use crate::driver::Shared;
    use crate::security::io::{establish, Stream};

    pub(crate) async fn run(
        shared: &Shared,
        req: &ConnectRequest,
        mut rx: UnboundedReceiver<Transmit>,
    ) -> io::Result<()> {
        let addr = resolve(req).await?;
        let stream = tokio::time::timeout(shared.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let set_up = establish(&shared.security, stream, &req.host);
        let stream = match tokio::time::timeout(shared.connect_timeout, set_up)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS/SASL set-up timed out"))??
        {
            Stream::Plain(stream) => stream,
            Stream::Tls(tls) => {
                shared.connected(req.conn);
                return crate::security::io::run_tls(shared, req.conn, rx, *tls).await;
            }
        };
        shared.connected(req.conn);
        let (mut rd, mut wr) = stream.into_split();
        let reader = async {
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            loop {
                buf.reserve(READ_CHUNK);
                if rd.read_buf(&mut buf).await? == 0 {
                    return Err::<(), _>(io::ErrorKind::UnexpectedEof.into());
                }
                shared.frames(req.conn, &mut buf)?;
            }
        };
        let writer = async {
            while let Some(t) = rx.recv().await {
                let mut chunks = gather(t, &mut rx);
                while !chunks.is_empty() {
                    let slices: Vec<IoSlice<'_>> = chunks
                        .iter()
                        .take(MAX_IOVECS)
                        .map(|c| IoSlice::new(c))
                        .collect();
                    let n = wr.write_vectored(&slices).await?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    drop(slices);
                    advance(&mut chunks, n);
                }
            }
            // The producer dropped the queue: close quietly.
            let _ = wr.shutdown().await;
            Ok(())
        };
        tokio::select! {
            r = reader => r,
            w = writer => w,
        }
    }
}

#[cfg(target_os = "linux")]
pub(crate) mod uring {
    //! Completion-based connections (tokio-uring): owned buffers, requests
    //! written with `writev` from the batch `Bytes` themselves.

    use std::io;
    use std::net::Shutdown;

    use bytes::BytesMut;
    use kafka_producer::{ConnectRequest, Transmit};
    use tokio::sync::mpsc::UnboundedReceiver;
    use tokio_uring::buf::BoundedBuf;
    use tokio_uring::net::TcpStream;

    use super::{advance, gather, resolve, MAX_IOVECS, READ_CHUNK};
    use crate::driver::Shared;
    use crate::engine::ring::submitted;
    use crate::security::io::uring::{establish, run_tls};

    pub(crate) async fn run(
        shared: &Shared,
        req: &ConnectRequest,
        mut rx: UnboundedReceiver<Transmit>,
    ) -> io::Result<()> {
        let addr = resolve(req).await?;
        let stream = tokio::time::timeout(shared.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let set_up = establish(&shared.security, &stream, &req.host);
        let (tls, plain) = tokio::time::timeout(shared.connect_timeout, set_up)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS/SASL set-up timed out"))??;
        shared.connected(req.conn);
        if let Some(tls) = tls {
            return run_tls(shared, req.conn, rx, &stream, tls, plain).await;
        }
        let reader = async {
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            loop {
                buf.reserve(READ_CHUNK);
                let (len, cap) = (buf.len(), buf.capacity());
                // The read fills the spare capacity after the bytes held.
                let (res, slice) = submitted(stream.read(buf.slice(len..cap))).await;
                buf = slice.into_inner();
                if res? == 0 {
                    return Err::<(), _>(io::ErrorKind::UnexpectedEof.into());
                }
                shared.frames(req.conn, &mut buf)?;
            }
        };
        let writer = async {
            while let Some(t) = rx.recv().await {
                let mut chunks = gather(t, &mut rx);
                while !chunks.is_empty() {
                    let rest = chunks.split_off(chunks.len().min(MAX_IOVECS));
                    let (res, mut sent) = submitted(stream.writev(chunks)).await;
                    let n = res?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    advance(&mut sent, n);
                    sent.extend(rest);
                    chunks = sent;
                }
            }
            // The producer dropped the queue: close quietly.
            let _ = stream.shutdown(Shutdown::Both);
            Ok(())
        };
        tokio::select! {
            r = reader => r,
            w = writer => w,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

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
