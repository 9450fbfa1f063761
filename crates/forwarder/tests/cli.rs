//! The command line: `--version`, `check-config`, and secrets kept out of
//! the logs.

mod common;

use std::process::Command;

use common::Forwarder;
use forwarder_e2e::broker::{Broker, Storage, TempDir};
use forwarder_e2e::security_fixtures::Pki;

fn forwarder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_forwarder"))
}

#[test]
fn version_is_printed() {
    let out = forwarder().arg("--version").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[test]
fn check_config_accepts_the_defaults_and_names_bad_keys() {
    let dir = TempDir::new("check-config");
    let defaults = forwarder().arg("print-defaults").output().expect("run");
    assert!(defaults.status.success());
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &defaults.stdout).expect("write");
    let out = forwarder()
        .arg("check-config")
        .arg(&good)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (text, key) in [
        ("[router]\ndefault_topic='e'\nmutli_topic=true\n", "mutli_topic"),
        (
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n'lingr.ms'=1\n[router]\ndefault_topic='e'\n",
            "lingr.ms",
        ),
        ("[ingest]\nlisten='x'\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n[router]\ndefault_topic='e'\n", "ingest.listen"),
        ("wokers=2\n[router]\ndefault_topic='e'\n", "wokers"),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).expect("write");
        let out = forwarder().arg("check-config").arg(&bad).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{key} not named in: {err}");
        // `run` refuses it the same way, before starting anything.
        let out = forwarder()
            .args(["run", "--config"])
            .arg(&bad)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{text}");
    }
}

#[test]
fn a_missing_file_is_named_once() {
    let dir = TempDir::new("missing-config");
    let missing = dir.path().join("nope.toml");
    let path = missing.display().to_string();
    for args in [&["check-config"][..], &["run", "--config"][..]] {
        let out = forwarder().args(args).arg(&missing).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches(&path).count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(&format!("forwarder: {path}: ")), "{err}");
    }
}

/// `check-config` reads the files the `ssl.*` properties name, as `run`
/// does before it starts anything.
#[test]
fn check_config_reads_the_tls_files() {
    let dir = TempDir::new("check-config-tls");
    let config = dir.path().join("tls.toml");
    let ca = dir.path().join("missing-ca.pem");
    std::fs::write(
        &config,
        format!(
            "[ingest]\nwrite_keys=[{{key='k'}}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             'security.protocol'='ssl'\n'ssl.ca.location'='{}'\n[router]\ndefault_topic='e'\n",
            ca.display()
        ),
    )
    .expect("write");
    for args in [&["check-config"][..], &["run", "--config"][..]] {
        let out = forwarder().args(args).arg(&config).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("`ssl.ca.location`"), "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot read {}", ca.display())),
            "{args:?}: {err}"
        );
    }
    // Once the file is there, the configuration is valid.
    std::fs::write(&ca, Pki::new("test CA").ca_pem()).expect("write");
    let out = forwarder()
        .arg("check-config")
        .arg(&config)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fenced blocks of `language` in the README section under `heading`.
fn readme_blocks(heading: &str, language: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .expect("README.md");
    let start = readme.find(heading).expect("README section");
    let section = &readme[start + heading.len()..];
    // Up to the next heading (`#` lines inside blocks are comments).
    let section = &section[..section.find("\n##").unwrap_or(section.len())];
    let fence = format!("```{language}\n");
    section
        .split(fence.as_str())
        .skip(1)
        .map(|b| b[..b.find("```").expect("closed fence")].to_owned())
        .collect()
}

/// The README's example configuration passes the checks with the
/// commands shown next to it, their environment included.
#[test]
fn the_readme_example_passes_check_config() {
    let heading = "### A minimal configuration";
    let toml = readme_blocks(heading, "toml");
    let sh = readme_blocks(heading, "sh");
    assert_eq!((toml.len(), sh.len()), (1, 1), "{toml:?} {sh:?}");
    let dir = TempDir::new("readme");
    let file = dir.path().join("forwarder.toml");
    std::fs::write(&file, &toml[0]).expect("write");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut commands = 0;
    for line in sh[0].lines() {
        let line = line.split(" #").next().unwrap_or_default().trim();
        let mut words = line.split_whitespace().peekable();
        if words.peek() == Some(&"export") {
            words.next();
        }
        // `NAME=value` words before the command: its environment ("..."
        // stands for a secret).
        while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
            let value = if value == "..." { "a-secret" } else { value };
            env.push((name.to_owned(), value.to_owned()));
            words.next();
        }
        let args: Vec<&str> = words.collect();
        let config = match args[..] {
            [] => continue,
            ["forwarder", "check-config", f] | ["forwarder", "run", "--config", f] => f,
            _ => panic!("unexpected README command: {line}"),
        };
        assert_eq!(config, "forwarder.toml", "{line}");
        commands += 1;
        let out = forwarder()
            .arg("check-config")
            .arg(&file)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(commands, 2, "{sh:?}");
}

#[test]
fn secrets_from_the_environment_never_reach_the_logs() {
    let broker = Broker::start(Storage::Memory);
    let config = format!(
        r#"shutdown_timeout_secs = 2
[log]
level = "trace"
[ingest]
request_timeout_ms = 1000
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "key-never-logged" }}]
[kafka]
"bootstrap.servers" = "{}"
"security.protocol" = "sasl_plaintext"
"sasl.allow.plaintext" = true
"sasl.mechanism" = "SCRAM-SHA-256"
"sasl.username" = "alice"
[router]
default_topic = "events"
"#,
        broker.addr()
    );
    let mut fwd = Forwarder::start_with_env(
        &config,
        &[
            ("FORWARDER_KAFKA__SASL_PASSWORD", "password-never-logged"),
            ("RUST_LOG", "trace"),
        ],
    );
    let _ = common::request(
        fwd.port,
        "POST",
        "/v1/track",
        Some("key-never-logged"),
        br#"{"type":"track","event":"E","userId":"u"}"#,
        &[],
    );
    let status = fwd.terminate();
    let log = fwd.log();
    assert!(status.code().is_some(), "{log}");
    assert!(
        log.contains("sasl"),
        "the log shows the security settings:\n{log}"
    );
    assert!(!log.contains("password-never-logged"), "{log}");
    assert!(!log.contains("key-never-logged"), "{log}");
}
