//! Shared by the daemon tests (`serve_e2e`, `serve_daemon`): a free loopback port, test
//! WAVs, and the `serve` config they run the golden teacher with.

#![allow(dead_code)]

use std::path::Path;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A 16 kHz mono WAV of `seconds`: a tone of `hz` with a noise burst every second.
pub fn write_wav(path: &Path, seconds: f64, hz: f64) {
    let rate = 16_000u32;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (seconds * f64::from(rate)) as u32;
    let mut x: u32 = 1;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let t = f64::from(i) / f64::from(rate);
        let noise = if t.fract() < 0.2 {
            (f64::from(x) / f64::from(u32::MAX) - 0.5) * 0.4
        } else {
            0.0
        };
        let s = 0.3 * (2.0 * std::f64::consts::PI * hz * t).sin() + noise;
        w.write_sample((s * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A `serve` config: one real-time file source per `(id, wav)`, 2 s windows every 1 s,
/// `model` on the CPU with greedy decoding of at most 6 tokens, publishing on `endpoint`
/// with a 0.2 s heartbeat; `extra` is appended to the `[publishing]` section.
pub fn serve_config(
    sources: &[(&str, &Path)],
    model: &Path,
    endpoint: &str,
    extra: &str,
) -> String {
    let mut text = String::new();
    for (id, wav) in sources {
        text.push_str(&format!(
            "[[sources]]\nkind = \"file\"\nid = \"{id}\"\npath = \"{}\"\nrealtime = true\n\n",
            wav.display()
        ));
    }
    text.push_str(&format!(
        r#"
[windowing]
window_s = 2.0
hop_s = 1.0

[model]
dir = "{model}"
device = "cpu"

[decoding]
strategy = "greedy"
max_length = 6
min_length = 1

[publishing]
endpoints = ["{endpoint}"]
snapshot_endpoints = []
heartbeat_s = 0.2
{extra}
"#,
        model = model.display()
    ));
    text
}
