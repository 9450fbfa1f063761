//! Engine choice, the io_uring probe, and the per-thread runtime.

use std::future::Future;
use std::io;
use std::str::FromStr;

use crate::Error;

/// What the configuration asks for (`io.engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EngineChoice {
    /// io_uring if the probe succeeds, else epoll.
    #[default]
    Auto,
    /// io_uring or nothing.
    IoUring,
    /// epoll (readiness-based tokio), never io_uring.
    Epoll,
}

impl FromStr for EngineChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            "io_uring" | "io-uring" | "uring" => Ok(Self::IoUring),
            "epoll" => Ok(Self::Epoll),
            other => Err(Error::InvalidEngine(other.to_owned())),
        }
    }
}

impl EngineChoice {
    /// Settles the choice, probing io_uring for `Auto` and `IoUring`.
    pub fn resolve(self) -> Result<Engine, Error> {
        match self {
            Self::Epoll => Ok(Engine::Epoll),
            Self::Auto => Ok(match io_uring_available() {
                Ok(()) => Engine::IoUring,
                Err(_) => Engine::Epoll,
            }),
            Self::IoUring => io_uring_available()
                .map(|()| Engine::IoUring)
                .map_err(Error::IoUringUnavailable),
        }
    }
}

/// The socket engine a [`Runtime`] and its producers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// Completion-based I/O through io_uring (`tokio-uring`).
    IoUring,
    /// Readiness-based I/O through epoll (`tokio`).
    Epoll,
}

impl Engine {
    /// The name used by `io.engine`.
    pub fn name(self) -> &'static str {
        match self {
            Self::IoUring => "io_uring",
            Self::Epoll => "epoll",
        }
    }
}

/// Whether io_uring can be used here: sets up a small ring and waits for
/// a no-op to complete through it. Fails where the kernel lacks io_uring,
/// where `kernel.io_uring_disabled` is set, and under seccomp profiles
/// that block the io_uring system calls (Docker's default).
#[cfg(target_os = "linux")]
pub fn io_uring_available() -> io::Result<()> {
    let mut ring = io_uring::IoUring::new(2)?;
    let nop = io_uring::opcode::Nop::new().build().user_data(7);
    // SAFETY: a no-op entry references no memory, so nothing must outlive
    // the submission.
    #[allow(unsafe_code)]
    unsafe {
        ring.submission()
            .push(&nop)
            .map_err(|_| io::Error::other("submission queue full"))?;
    }
    ring.submit_and_wait(1)?;
    let done = ring.completion().next();
    match done {
        Some(c) if c.user_data() == 7 && c.result() >= 0 => Ok(()),
        Some(c) => Err(io::Error::from_raw_os_error(-c.result())),
        None => Err(io::Error::other("no completion for the probe")),
    }
}

/// Whether io_uring can be used here: never, off Linux.
#[cfg(not(target_os = "linux"))]
pub fn io_uring_available() -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "not Linux"))
}

/// A single-threaded runtime for one worker: a `tokio-uring` runtime for
/// [`Engine::IoUring`], a current-thread `tokio` runtime with a `LocalSet`
/// for [`Engine::Epoll`]. Producers must be created and used inside
/// [`Runtime::block_on`] of a runtime of their engine.
pub struct Runtime {
    inner: Inner,
}

enum Inner {
    #[cfg(target_os = "linux")]
    Uring(tokio_uring::Runtime, Option<std::os::fd::RawFd>),
    Tokio(tokio::runtime::Runtime, tokio::task::LocalSet),
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("engine", &self.engine())
            .finish()
    }
}

impl Runtime {
    /// A runtime for `engine` on the calling thread.
    pub fn new(engine: Engine) -> Result<Self, Error> {
        let inner = match engine {
            #[cfg(target_os = "linux")]
            Engine::IoUring => {
                let (rt, fd) =
                    crate::ring::create(|| tokio_uring::Runtime::new(&tokio_uring::builder()));
                Inner::Uring(rt.map_err(Error::IoUringUnavailable)?, fd)
            }
            #[cfg(not(target_os = "linux"))]
            Engine::IoUring => {
                return Err(Error::IoUringUnavailable(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not Linux",
                )))
            }
            Engine::Epoll => Inner::Tokio(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
                tokio::task::LocalSet::new(),
            ),
        };
        Ok(Self { inner })
    }

    /// The engine of this runtime.
    pub fn engine(&self) -> Engine {
        match self.inner {
            #[cfg(target_os = "linux")]
            Inner::Uring(..) => Engine::IoUring,
            Inner::Tokio(..) => Engine::Epoll,
        }
    }

    /// Runs `future` to completion on this thread; tasks spawned with
    /// `tokio::task::spawn_local` inside it run too.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner {
            #[cfg(target_os = "linux")]
            Inner::Uring(rt, fd) => {
                let outer = crate::ring::enter(*fd);
                let out = rt.block_on(future);
                crate::ring::enter(outer);
                out
            }
            Inner::Tokio(rt, local) => local.block_on(rt, future),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_parse() {
        assert_eq!("auto".parse::<EngineChoice>().unwrap(), EngineChoice::Auto);
        assert_eq!(
            "io_uring".parse::<EngineChoice>().unwrap(),
            EngineChoice::IoUring
        );
        assert_eq!(
            " epoll ".parse::<EngineChoice>().unwrap(),
            EngineChoice::Epoll
        );
        assert!("select".parse::<EngineChoice>().is_err());
        assert_eq!(EngineChoice::Epoll.resolve().unwrap(), Engine::Epoll);
    }

    #[test]
    fn auto_follows_the_probe() {
        let expected = match io_uring_available() {
            Ok(()) => Engine::IoUring,
            Err(_) => Engine::Epoll,
        };
        assert_eq!(EngineChoice::Auto.resolve().unwrap(), expected);
        assert_eq!(
            EngineChoice::IoUring.resolve().is_ok(),
            expected == Engine::IoUring
        );
    }

    #[test]
    fn runtimes_run_local_tasks() {
        let mut engines = vec![Engine::Epoll];
        if io_uring_available().is_ok() {
            engines.push(Engine::IoUring);
        }
        for engine in engines {
            let rt = Runtime::new(engine).unwrap();
            assert_eq!(rt.engine(), engine);
            let v = rt.block_on(async {
                let rc = std::rc::Rc::new(41);
                let h = tokio::task::spawn_local(async move { *rc + 1 });
                h.await.unwrap()
            });
            assert_eq!(v, 42);
        }
    }
}
