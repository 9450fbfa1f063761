//! The external programs the tests need: the Tansu broker and Python with
//! `confluent-kafka`. Missing ones are installed once per test process by
//! `scripts/setup-test-deps` ([`ensure`]; [`ensure_python`] for Python
//! alone).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `tansu` binary: `$TANSU`, else on `PATH`, else `~/.cargo/bin/tansu`.
pub fn tansu() -> PathBuf {
    if let Some(p) = std::env::var_os("TANSU") {
        return PathBuf::from(p);
    }
    if let Some(p) = on_path("tansu") {
        return p;
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    home.join("bin").join("tansu")
}

/// The Python interpreter: `$PYTHON`, else `python3`.
pub fn python() -> PathBuf {
    std::env::var_os("PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn tansu_works() -> bool {
    Command::new(tansu())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn python_works() -> bool {
    Command::new(python())
        .args(["-c", "import confluent_kafka"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs Python with `confluent-kafka` if missing (once per process),
/// without Tansu: what tests that need no broker process (the mock
/// cluster) need.
pub fn ensure_python() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if python_works() {
            return;
        }
        let script = workspace_root().join("scripts").join("setup-test-deps");
        eprintln!(
            "installing Python test dependencies with {}",
            script.display()
        );
        let status = Command::new("bash")
            .arg(&script)
            .env("SKIP_TANSU", "1")
            .status()
            .expect("run scripts/setup-test-deps");
        assert!(status.success(), "scripts/setup-test-deps failed");
        assert!(python_works(), "confluent-kafka still missing after setup");
    });
}

/// Installs what is missing (once per process).
pub fn ensure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if tansu_works() && python_works() {
            return;
        }
        let script = workspace_root().join("scripts").join("setup-test-deps");
        eprintln!("installing test dependencies with {}", script.display());
        let status = Command::new("bash")
            .arg(&script)
            .status()
            .expect("run scripts/setup-test-deps");
        assert!(status.success(), "scripts/setup-test-deps failed");
        assert!(tansu_works(), "tansu still missing after setup");
        assert!(python_works(), "confluent-kafka still missing after setup");
    });
}
