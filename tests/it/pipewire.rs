//! Test harness: a private PipeWire + WirePlumber session with a 48 kHz null sink, for the
//! real capture tests (`audio_capture`, `audio_device_loss`).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Node name of the test's null sink.
pub const SINK: &str = "soundscribe-test-sink";

/// A PipeWire + WirePlumber pair in their own D-Bus session and runtime directory.
pub struct PipeWire {
    session: Option<Child>,
    /// `XDG_RUNTIME_DIR` of the session (its socket lives here).
    pub runtime: tempfile::TempDir,
    /// Held while this session exists: tests share one process, and the session is
    /// selected through process-wide environment variables.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

/// Serialises the PipeWire tests of this binary.
static ONE_SESSION: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drop for PipeWire {
    fn drop(&mut self) {
        self.stop_server();
    }
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn alsa_plugin() -> Option<PathBuf> {
    let dirs = std::fs::read_dir("/usr/lib").ok()?;
    dirs.flatten()
        .map(|d| d.path().join("alsa-lib/libasound_module_pcm_pipewire.so"))
        .find(|p| p.is_file())
}

impl PipeWire {
    /// Starts PipeWire, WirePlumber and a 48 kHz stereo null sink named [`SINK`].
    pub fn start() -> Result<PipeWire, String> {
        let missing: Vec<_> = [
            "pipewire",
            "wireplumber",
            "pw-cli",
            "pw-play",
            "pw-record",
            "dbus-run-session",
        ]
        .into_iter()
        .filter(|t| !which(t))
        .collect();
        if !missing.is_empty() {
            return Err(format!("missing tools: {}", missing.join(", ")));
        }
        if alsa_plugin().is_none() {
            return Err(
                "the pipewire-alsa plugin (libasound_module_pcm_pipewire.so) is missing".into(),
            );
        }
        let runtime = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut pw = PipeWire {
            session: None,
            runtime,
            _one_at_a_time: ONE_SESSION.lock().unwrap_or_else(|e| e.into_inner()),
        };
        pw.start_server()?;
        Ok(pw)
    }

    /// Ends the session (server loss, as when PipeWire crashes or restarts).
    pub fn stop_server(&mut self) {
        if let Some(mut session) = self.session.take() {
            // The session runs in its own process group: end all of it.
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", session.id())])
                .status();
            let _ = session.wait();
        }
        let _ = std::fs::remove_file(self.runtime.path().join("pipewire-0"));
    }

    /// Starts a (new) session in the same runtime directory, with the null sink.
    pub fn start_server(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.runtime.path().join("session.log"))
            .map_err(|e| e.to_string())?;
        let session = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", "pipewire & sleep 0.3; wireplumber & wait"])
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start dbus-run-session: {e}"))?;
        self.session = Some(session);
        self.wait_for("the PipeWire socket", || {
            self.runtime.path().join("pipewire-0").exists()
        })?;
        // WirePlumber is ready once it has published the default metadata.
        self.wait_for("WirePlumber", || {
            self.cli(&["ls", "Metadata"]).contains("\"default\"")
        })?;
        let props = format!(
            "{{ factory.name=support.null-audio-sink node.name={SINK} media.class=Audio/Sink \
             audio.rate=48000 audio.channels=2 audio.position=[FL FR] object.linger=true }}"
        );
        self.cli(&["create-node", "adapter", &props]);
        self.wait_for("the null sink", || self.cli(&["ls", "Node"]).contains(SINK))
    }

    /// Points this process's ALSA `pipewire` device at the sink's monitor.
    pub fn use_from_this_process(&self) {
        // pipewire-alsa reads its server, target node and stream properties from the
        // environment; one session exists at a time in this binary (`ONE_SESSION`).
        std::env::set_var("XDG_RUNTIME_DIR", self.runtime.path());
        std::env::set_var("PIPEWIRE_NODE", SINK);
        std::env::set_var("PIPEWIRE_ALSA", "{ stream.capture.sink=true }");
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("pw-cli")
            .args(args)
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn wait_for(&self, what: &str, ready: impl Fn() -> bool) -> Result<(), String> {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log =
            std::fs::read_to_string(self.runtime.path().join("session.log")).unwrap_or_default();
        Err(format!(
            "{what} did not come up within 15 s; session log:\n{log}"
        ))
    }
}

/// Says loudly that the real test could not run; fails under `CI`.
pub fn not_run(why: &str) {
    let msg = format!(
        "\n\n******** REAL CAPTURE TEST NOT RUN ********\n{why}\n\
         It needs pipewire, pipewire-bin, wireplumber, pipewire-alsa and dbus (`make setup`).\n\
         ******************************************\n"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}CI is set, so this is a failure: the real capture test must run in CI.");
    }
    eprintln!("{msg}");
}
