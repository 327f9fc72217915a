//! The seed's `GPGProtocol` ("ProcessProtocols with extra file descriptors"): decrypts
//! with real `gpg`, the passphrase written to the child's fd 3 (`--passphrase-fd 3`),
//! machine-readable status read from its fd 4 (`--status-fd 4`), the plaintext read
//! from fd 1, and gpg's stderr mapped straight to ours (`2: 2` in the seed) so its
//! messages appear as if this program printed them.
//!
//! To have something to decrypt without any keys, the example first encrypts the message
//! symmetrically with the same protocol and fd map, in a throw-away `GNUPGHOME`.
//! Give a wrong decryption passphrase to see the failure path (exit code 1).
//!
//! ```text
//! cargo run --example gpg_decrypt
//! cargo run --example gpg_decrypt -- "my message" "my passphrase"
//! cargo run --example gpg_decrypt -- "my message" "my passphrase" "wrong passphrase"
//! ```

use anyhow::{anyhow, bail};
use clap::Parser;
use fdscope::spawn::run_protocol;
use fdscope::{ChildFd, ExitStatus, ProcessProtocol, ProcessSpec, ProcessTransport};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

/// Encrypts MESSAGE with PASSPHRASE using gpg, then decrypts it through fds 3 and 4.
#[derive(Parser)]
struct Args {
    /// The text to encrypt and decrypt.
    #[arg(default_value = "fdscope talks to gpg on fds 3 and 4")]
    message: String,
    /// The passphrase to encrypt with.
    #[arg(default_value = "correct horse battery staple")]
    passphrase: String,
    /// The passphrase to decrypt with (default: the same one).
    decrypt_passphrase: Option<String>,
}

/// Feeds the passphrase to fd 3 and the input to fd 0, closing each so gpg sees EOF,
/// and collects fd 1 (the result) and fd 4 (the status lines).
struct GpgProtocol {
    passphrase: String,
    input: Vec<u8>,
    output: Vec<u8>,
    status: Vec<u8>,
    ended: Option<ExitStatus>,
}

impl GpgProtocol {
    /// How gpg ended.
    fn exit_status(&self) -> ExitStatus {
        self.ended
            .expect("run_protocol returns after process_ended, the last callback")
    }
}

impl ProcessProtocol for GpgProtocol {
    fn connection_made(&mut self, transport: &ProcessTransport) {
        let fed = transport
            .write_to_child(3, self.passphrase.clone())
            .and_then(|()| transport.close_child_fd(3))
            .and_then(|()| transport.write(std::mem::take(&mut self.input)))
            .and_then(|()| transport.close_stdin());
        if let Err(err) = fed {
            eprintln!("gpg_decrypt: cannot write to gpg: {err}");
        }
    }

    fn child_data_received(&mut self, fd: i32, data: &[u8]) {
        match fd {
            1 => self.output.extend_from_slice(data),
            4 => self.status.extend_from_slice(data),
            _ => {}
        }
    }

    fn process_ended(&mut self, status: ExitStatus) {
        self.ended = Some(status);
    }
}

/// Runs `gpg ARGS… --passphrase-fd 3 --status-fd 4` on the seed's fd map
/// `{0: "w", 1: "r", 2: 2, 3: "w", 4: "r"}` and returns the finished protocol.
async fn gpg(
    home: &Path,
    args: &[&str],
    passphrase: &str,
    input: &[u8],
) -> anyhow::Result<GpgProtocol> {
    // --no-autostart: never leave a gpg-agent behind, running in a deleted home.
    let mut argv = vec!["gpg", "--batch", "--no-autostart"];
    argv.extend_from_slice(&["--passphrase-fd", "3", "--status-fd", "4"]);
    argv.extend_from_slice(args);
    // The seed passes env=None: the child inherits our environment.
    let spec = ProcessSpec::new("gpg")
        .args(argv)
        .inherit_env(true)
        .env("GNUPGHOME", home)
        .child_fds([
            (0, ChildFd::Write),
            (1, ChildFd::Read),
            (2, ChildFd::Parent(2)),
            (3, ChildFd::Write),
            (4, ChildFd::Read),
        ]);
    let protocol = GpgProtocol {
        passphrase: passphrase.to_string(),
        input: input.to_vec(),
        output: Vec::new(),
        status: Vec::new(),
        ended: None,
    };
    // Not `.context()`: SpawnError already shows its OS reason, a chain would repeat it.
    run_protocol(&spec, protocol)
        .await
        .map_err(|err| anyhow!("{err} (is GnuPG installed?)"))
}

/// The `[GNUPG:] KEYWORD ARGS…` lines of the status fd, without the prefix.
fn status_lines(status: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(status)
        .lines()
        .filter_map(|line| line.strip_prefix("[GNUPG:] "))
        .map(str::to_string)
        .collect()
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let home = tempfile::Builder::new()
        .prefix("fdscope-gpg-")
        .permissions(Permissions::from_mode(0o700))
        .tempdir()?;

    // A fixed S2K count keeps gpg from asking the (absent) agent to calibrate one.
    let encrypt = [
        "--quiet",
        "--symmetric",
        "--armor",
        "--s2k-count",
        "65011712",
    ];
    let encrypted = gpg(
        home.path(),
        &encrypt,
        &args.passphrase,
        args.message.as_bytes(),
    )
    .await?;
    if !encrypted.exit_status().success() || encrypted.output.is_empty() {
        bail!("gpg --symmetric failed: {}", encrypted.exit_status());
    }
    println!("encrypted {} bytes:", args.message.len());
    print!("{}", String::from_utf8_lossy(&encrypted.output));

    let passphrase = args
        .decrypt_passphrase
        .as_deref()
        .unwrap_or(&args.passphrase);
    let decrypted = gpg(home.path(), &["--decrypt"], passphrase, &encrypted.output).await?;
    for line in status_lines(&decrypted.status) {
        println!("status: {line}");
    }
    // As the seed's processEnded: exit code 0 gives the plaintext, anything else fails.
    match decrypted.exit_status() {
        ExitStatus::Done => {
            println!("plaintext: {}", String::from_utf8_lossy(&decrypted.output));
            Ok(true)
        }
        status => {
            eprintln!("gpg_decrypt: gpg --decrypt failed: {status}");
            Ok(false)
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("gpg_decrypt: {err:#}");
            ExitCode::FAILURE
        }
    }
}
