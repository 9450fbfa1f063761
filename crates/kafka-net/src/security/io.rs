//! The set-up step on real sockets: the TLS handshake and the SASL
//! exchange, for the epoll driver (tokio streams, `tokio-rustls`) and the
//! io_uring driver (owned buffers, `rustls::ClientConnection` driven
//! sans-IO).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use kafka_wire::frame::FrameSplitter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::sasl::{SaslSession, MAX_SASL_FRAME};
use super::{tls, Connector, SetupError};

/// A broker connection after the set-up step (epoll driver).
#[derive(Debug)]
pub(crate) enum Stream {
    /// `PLAINTEXT` or `SASL_PLAINTEXT`.
    Plain(TcpStream),
    /// `SSL` or `SASL_SSL`.
    Tls(Box<TlsStream>),
}

/// A TLS stream that explains TLS failures met after the handshake (for
/// example a TLS 1.3 server refusing the client certificate, which the
/// client learns only on its first read).
#[derive(Debug)]
pub(crate) struct TlsStream {
    inner: tokio_rustls::client::TlsStream<TcpStream>,
    host: String,
}

impl TlsStream {
    fn explain(&self, e: io::Error) -> io::Error {
        explain_io(e, &self.host)
    }
}

/// Rewrites an I/O error carrying a rustls error into one that says which
/// setting to check, carrying a [`SetupError::Tls`] (so that a certificate
/// refused after the handshake counts as an authentication failure).
fn explain_io(e: io::Error, host: &str) -> io::Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => tls::handshake_error(t, host).into(),
        None => e,
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.explain(e))),
            other => other,
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.explain(e))),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.explain(e))),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Runs the set-up step on a connected TCP stream to `host`: the TLS
/// handshake when the protocol has TLS, then the SASL exchange when it
/// has SASL.
pub(crate) async fn establish(
    connector: &Connector,
    tcp: TcpStream,
    host: &str,
) -> Result<Stream, SetupError> {
    let mut stream = match connector.tls_config() {
        None => Stream::Plain(tcp),
        Some(config) => {
            let name = tls::server_name(host).map_err(|e| SetupError::Tls {
                host: host.to_owned(),
                reason: e.to_string(),
                certificate: false,
            })?;
            let inner = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| handshake_error(e, host))?;
            let (_, conn) = inner.get_ref();
            tracing::debug!(
                broker = host,
                version = ?conn.protocol_version(),
                suite = ?conn.negotiated_cipher_suite().map(|s| s.suite()),
                "TLS established"
            );
            Stream::Tls(Box::new(TlsStream {
                inner,
                host: host.to_owned(),
            }))
        }
    };
    if let Some(session) = connector.sasl_session(host)? {
        match &mut stream {
            Stream::Plain(s) => authenticate(s, session, host).await?,
            Stream::Tls(s) => authenticate(&mut **s, session, host).await?,
        }
    }
    Ok(stream)
}

fn handshake_error(e: io::Error, host: &str) -> SetupError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => tls::handshake_error(t, host),
        None => SetupError::Io {
            host: host.to_owned(),
            step: "TLS handshake",
            source: e,
        },
    }
}

fn sasl_io(host: &str, source: io::Error) -> SetupError {
    SetupError::Io {
        host: host.to_owned(),
        step: "SASL",
        source,
    }
}

/// Runs `session` over a stream, one request and its response at a time.
pub(crate) async fn authenticate<S>(
    stream: &mut S,
    mut session: SaslSession,
    host: &str,
) -> Result<(), SetupError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        while let Some(frame) = session.poll_transmit() {
            stream
                .write_all(&frame)
                .await
                .map_err(|e| sasl_io(host, e))?;
        }
        stream.flush().await.map_err(|e| sasl_io(host, e))?;
        if session.is_done() {
            tracing::debug!(broker = host, "SASL authenticated");
            return Ok(());
        }
        let mut size = [0u8; 4];
        stream
            .read_exact(&mut size)
            .await
            .map_err(|e| sasl_io(host, e))?;
        let size = sasl_frame_size(size).map_err(|e| sasl_io(host, e))?;
        let mut body = vec![0u8; size];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|e| sasl_io(host, e))?;
        session
            .handle_frame(Bytes::from(body))
            .map_err(|source| SetupError::Sasl {
                host: host.to_owned(),
                source,
            })?;
    }
}

fn sasl_frame_size(prefix: [u8; 4]) -> io::Result<usize> {
    let size = i32::from_be_bytes(prefix);
    match usize::try_from(size) {
        Ok(s) if s <= MAX_SASL_FRAME => Ok(s),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("SASL response frame of {size} bytes"),
        )),
    }
}

/// TLS for the io_uring driver: a `rustls::ClientConnection` driven
/// sans-IO. The connection's reader hands it the bytes it receives
/// ([`UringTls::feed`]); its writer encrypts the request chunks
/// ([`UringTls::encrypt`]) and sends the result.
#[derive(Debug)]
pub(crate) struct UringTls {
    conn: rustls::ClientConnection,
    host: String,
}

impl UringTls {
    /// Starts a TLS client for `host`; `None` when the protocol has no TLS.
    pub(crate) fn new(connector: &Connector, host: &str) -> Result<Option<Self>, SetupError> {
        Ok(connector.tls_connection(host)?.map(|mut conn| {
            // Requests are encrypted whole, then sent.
            conn.set_buffer_limit(None);
            Self {
                conn,
                host: host.to_owned(),
            }
        }))
    }

    fn error(&self, e: &rustls::Error) -> io::Error {
        tls::handshake_error(e, &self.host).into()
    }

    /// Takes received TLS bytes, appending the plaintext they carry to
    /// `plain`. Returns whether TLS now has bytes to send (an alert, a key
    /// update), to be taken with [`Self::take_outgoing`].
    pub(crate) fn feed(&mut self, mut raw: &[u8], plain: &mut BytesMut) -> io::Result<bool> {
        while !raw.is_empty() {
            self.conn.read_tls(&mut raw)?;
            let state = self
                .conn
                .process_new_packets()
                .map_err(|e| self.error(&e))?;
            let mut want = state.plaintext_bytes_to_read();
            while want > 0 {
                let start = plain.len();
                plain.resize(start + want, 0);
                let n = self.conn.reader().read(&mut plain[start..])?;
                plain.truncate(start + n);
                if n == 0 {
                    break;
                }
                want -= n;
            }
            if state.peer_has_closed() && raw.is_empty() {
                break;
            }
        }
        Ok(self.conn.wants_write())
    }

    /// Encrypts `chunks` and returns the TLS records to send.
    pub(crate) fn encrypt<B: AsRef<[u8]>>(&mut self, chunks: &[B]) -> io::Result<Vec<u8>> {
        let mut w = self.conn.writer();
        for c in chunks {
            w.write_all(c.as_ref())?;
        }
        self.take_outgoing()
    }

    /// The TLS bytes waiting to be sent.
    pub(crate) fn take_outgoing(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out)?;
        }
        Ok(out)
    }
}

#[cfg(target_os = "linux")]
pub(crate) mod uring {
    //! The set-up step over a `tokio-uring` stream.

    use std::io;

    use bytes::BytesMut;
    use tokio_uring::net::TcpStream;
    use zeroize::Zeroize;

    use super::{sasl_io, FrameSplitter, UringTls, MAX_SASL_FRAME};
    use crate::engine::ring::submitted;
    use crate::security::{Connector, SetupError};

    const READ: usize = 16 * 1024;

    async fn send(stream: &TcpStream, data: Vec<u8>) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let (r, mut sent) = stream.write_all(data).await;
        // SASL frames carry credentials: leave no copy behind.
        sent.zeroize();
        r
    }

    async fn recv(stream: &TcpStream) -> io::Result<Vec<u8>> {
        let (r, mut buf) = stream.read(vec![0u8; READ]).await;
        let n = r?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.truncate(n);
        Ok(buf)
    }

    /// Sends what TLS queued after failing (the alert that tells the
    /// broker why, as tokio-rustls does on the epoll engine), before the
    /// caller closes the socket. Best effort: the connection is failing.
    async fn send_alert(stream: &TcpStream, tls: &mut UringTls) {
        if let Ok(out) = tls.take_outgoing() {
            let _ = send(stream, out).await;
        }
    }

    /// Runs the set-up step on a connected stream to `host`. Returns the
    /// TLS state for the rest of the connection (when the protocol has
    /// TLS) and any plaintext already received after the exchange.
    pub(crate) async fn establish(
        connector: &Connector,
        stream: &TcpStream,
        host: &str,
    ) -> Result<(Option<UringTls>, BytesMut), SetupError> {
        let mut tls = UringTls::new(connector, host)?;
        let mut plain = BytesMut::new();
        if let Some(t) = tls.as_mut() {
            let io_err = |source| SetupError::Io {
                host: host.to_owned(),
                step: "TLS handshake",
                source,
            };
            loop {
                let out = t.take_outgoing().map_err(io_err)?;
                send(stream, out).await.map_err(io_err)?;
                if !t.conn.is_handshaking() {
                    break;
                }
                let raw = recv(stream).await.map_err(io_err)?;
                if let Err(e) = t.feed(&raw, &mut plain) {
                    send_alert(stream, t).await;
                    // A TLS failure comes back as the `SetupError` it carries.
                    return Err(e.downcast::<SetupError>().unwrap_or_else(io_err));
                }
            }
            tracing::debug!(
                broker = host,
                version = ?t.conn.protocol_version(),
                "TLS established"
            );
        }
        let Some(mut session) = connector.sasl_session(host)? else {
            return Ok((tls, plain));
        };
        let splitter = FrameSplitter::new(MAX_SASL_FRAME);
        loop {
            while let Some(frame) = session.poll_transmit() {
                let out = match tls.as_mut() {
                    Some(t) => t.encrypt(&[&frame[..]]).map_err(|e| sasl_io(host, e))?,
                    None => frame.to_vec(),
                };
                send(stream, out).await.map_err(|e| sasl_io(host, e))?;
            }
            if session.is_done() {
                tracing::debug!(broker = host, "SASL authenticated");
                return Ok((tls, plain));
            }
            let frame = loop {
                match splitter.split(&mut plain) {
                    Ok(Some(f)) => break f,
                    Ok(None) => {}
                    Err(e) => {
                        return Err(sasl_io(host, io::Error::new(io::ErrorKind::InvalidData, e)))
                    }
                }
                let raw = recv(stream).await.map_err(|e| sasl_io(host, e))?;
                match tls.as_mut() {
                    Some(t) => {
                        if let Err(e) = t.feed(&raw, &mut plain) {
                            send_alert(stream, t).await;
                            return Err(sasl_io(host, e));
                        }
                    }
                    None => plain.extend_from_slice(&raw),
                }
            };
            session
                .handle_frame(frame)
                .map_err(|source| SetupError::Sasl {
                    host: host.to_owned(),
                    source,
                })?;
        }
    }

    /// Reads and writes a TLS connection of the io_uring driver once it
    /// is set up, until the producer drops its queue (`Ok`) or the
    /// connection fails. `plain` holds plaintext received during set-up.
    pub(crate) async fn run_tls(
        shared: &crate::driver::Shared,
        conn: kafka_producer::ConnId,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<kafka_producer::Transmit>,
        stream: &TcpStream,
        tls: UringTls,
        mut plain: BytesMut,
    ) -> io::Result<()> {
        let tls = std::cell::RefCell::new(tls);
        // The reader asks the writer to send what TLS itself needs to
        // (alerts, key updates).
        let kick = tokio::sync::Notify::new();
        if !plain.is_empty() {
            shared.frames(conn, &mut plain)?;
        }
        let reader = async {
            let mut raw: Vec<u8> = Vec::with_capacity(super::RUN_READ);
            loop {
                let (r, b) = submitted(stream.read(raw)).await;
                raw = b;
                let n = r?;
                if n == 0 {
                    return Err::<(), _>(io::ErrorKind::UnexpectedEof.into());
                }
                let fed = tls.borrow_mut().feed(&raw[..n], &mut plain);
                let wants_write = match fed {
                    Ok(w) => w,
                    Err(e) => {
                        let alert = tls.borrow_mut().take_outgoing();
                        if let Ok(alert) = alert {
                            let _ = send(stream, alert).await;
                        }
                        return Err(e);
                    }
                };
                raw.clear();
                if wants_write {
                    kick.notify_one();
                }
                shared.frames(conn, &mut plain)?;
            }
        };
        let writer = async {
            let mut out = Vec::new();
            loop {
                let tls_out = tokio::select! {
                    t = rx.recv() => match t {
                        Some(t) => {
                            out.clear();
                            super::gather_into(t, &mut rx, &mut out);
                            tls.borrow_mut().encrypt(&[&out[..]])?
                        }
                        None => break,
                    },
                    _ = kick.notified() => tls.borrow_mut().take_outgoing()?,
                };
                if !tls_out.is_empty() {
                    let (r, _) = submitted(stream.write_all(tls_out)).await;
                    r?;
                }
            }
            // The producer dropped the queue: close quietly (close_notify).
            let bye = {
                let mut t = tls.borrow_mut();
                t.conn.send_close_notify();
                t.take_outgoing()?
            };
            let _ = send(stream, bye).await;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            Ok(())
        };
        tokio::select! {
            r = reader => r,
            w = writer => w,
        }
    }
}

/// Reads and writes a TLS connection of the epoll driver once it is set
/// up, until the producer drops its queue (`Ok`) or the connection fails.
/// Requests are copied into one buffer per write: TLS copies them to
/// encrypt anyway, and one write makes full-size records.
pub(crate) async fn run_tls(
    shared: &crate::driver::Shared,
    conn: kafka_producer::ConnId,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<kafka_producer::Transmit>,
    stream: TlsStream,
) -> io::Result<()> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let reader = async {
        let mut buf = BytesMut::with_capacity(RUN_READ);
        loop {
            buf.reserve(RUN_READ);
            if rd.read_buf(&mut buf).await? == 0 {
                return Err::<(), _>(io::ErrorKind::UnexpectedEof.into());
            }
            shared.frames(conn, &mut buf)?;
        }
    };
    let writer = async {
        let mut out = Vec::new();
        while let Some(t) = rx.recv().await {
            out.clear();
            gather_into(t, &mut rx, &mut out);
            wr.write_all(&out).await?;
            wr.flush().await?;
        }
        // The producer dropped the queue: close quietly (close_notify).
        let _ = wr.shutdown().await;
        Ok(())
    };
    tokio::select! {
        r = reader => r,
        w = writer => w,
    }
}

const RUN_READ: usize = 64 * 1024;
/// Most bytes gathered into one TLS write.
const GATHER_MAX: usize = 1 << 20;

/// Copies the chunks of `first` and of the transmits already queued (up
/// to [`GATHER_MAX`] bytes) into `out`.
fn gather_into(
    first: kafka_producer::Transmit,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<kafka_producer::Transmit>,
    out: &mut Vec<u8>,
) {
    for c in &first.chunks {
        out.extend_from_slice(c);
    }
    while out.len() < GATHER_MAX {
        match rx.try_recv() {
            Ok(t) => {
                for c in &t.chunks {
                    out.extend_from_slice(c);
                }
            }
            Err(_) => break,
        }
    }
}
