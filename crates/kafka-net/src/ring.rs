//! Submission of io_uring operations as they are queued.
//!
//! `tokio-uring` queues an operation in the submission ring when its future
//! is first polled, and hands the ring to the kernel only when the thread
//! is about to park (or the ring is full). A task that keeps the thread busy
//! (a producer fed as fast as it takes records) thus holds every write and
//! read back until it blocks, typically on a full `buffer.memory`: requests
//! go out in bursts, more records wait in memory, and latency grows.
//! [`submitted`] polls an operation once and then submits the ring with
//! `io_uring_enter`, as a readiness-based write would make its system call
//! at once.
//!
//! Why `/proc/self/fd`: `tokio-uring` 0.5 offers no supported way to do
//! this. Its driver handle, the ring's descriptor and its `submit` are
//! private to the crate, and the runtime exposes neither. The other way
//! around the wait, `IORING_SETUP_SQPOLL` (`tokio_uring::builder().
//! uring_builder(..)`), costs a kernel thread polling each worker's ring.
//! So the ring's descriptor is found when the runtime is created: the one
//! `anon_inode:[io_uring]` descriptor that appeared in `/proc/self/fd`
//! meanwhile. Without it (no `/proc`, or rings created elsewhere at the
//! same time), operations wait for the park as before. Replace this
//! module when `tokio-uring` exposes its ring or a submit call.

use std::cell::Cell;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::Mutex;

thread_local! {
    /// The ring of the runtime running on this thread.
    static RING: Cell<Option<RawFd>> = const { Cell::new(None) };
}

/// Runs `make`, which creates one ring, and finds that ring's
/// descriptor: the one that appeared meanwhile. Runtimes created at the
/// same time on other threads wait (they would add descriptors of their
/// own); if another ring appeared all the same, none is returned.
pub(crate) fn create<T>(make: impl FnOnce() -> T) -> (T, Option<RawFd>) {
    static CREATING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    let before = ring_fds();
    let made = make();
    let new: Vec<RawFd> = ring_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    let fd = match new[..] {
        [fd] => Some(fd),
        _ => None,
    };
    (made, fd)
}

/// The io_uring descriptors open in this process.
fn ring_fds() -> Vec<RawFd> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let target = std::fs::read_link(e.path()).ok()?;
        (target.as_os_str() == "anon_inode:[io_uring]")
            .then(|| e.file_name().to_str()?.parse().ok())
            .flatten()
    })
    .collect()
}

/// Makes `fd` this thread's ring; returns the previous one.
pub(crate) fn enter(fd: Option<RawFd>) -> Option<RawFd> {
    RING.with(|r| r.replace(fd))
}

/// Hands the queued submissions of this thread's ring to the kernel.
/// Errors are left to `tokio-uring`, which submits again when the
/// thread parks.
fn submit() {
    let Some(fd) = RING.with(Cell::get) else {
        return;
    };
    // More than the ring holds: the kernel submits what is queued.
    const ALL: libc::c_uint = 1 << 16;
    // SAFETY: `fd` is the ring of the tokio-uring runtime running on
    // this thread (found when it was created, live while it runs). With
    // no flags and no wait, io_uring_enter only consumes the entries
    // that tokio-uring has already written and published in the ring
    // (the submission tail is stored when each entry is pushed), which
    // tokio-uring's own submit would do on park; the null argument
    // pointer with size 0 is what the call expects without
    // IORING_ENTER_EXT_ARG.
    #[allow(unsafe_code)]
    unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            fd,
            ALL,
            0 as libc::c_uint,
            0 as libc::c_uint,
            std::ptr::null::<libc::c_void>(),
            0 as libc::size_t,
        );
    }
}

/// Runs the operation `op`, submitting the ring right after its first
/// poll has queued it.
pub(crate) async fn submitted<F: Future>(op: F) -> F::Output {
    let mut op = pin!(op);
    let mut first = true;
    std::future::poll_fn(|cx| {
        let r = op.as_mut().poll(cx);
        if std::mem::take(&mut first) && r.is_pending() {
            submit();
        }
        r
    })
    .await
}
