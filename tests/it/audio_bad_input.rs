//! Bad audio input: every broken file or stream gives one clear error naming it, or
//! sanitised samples with a counted warning — never a panic. Property tests throw arbitrary
//! and mutated bytes at the WAV/FLAC/Ogg/MP3 and raw PCM parsers.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use soundscribe::audio::file::FileReader;
use soundscribe::audio::pcm::PcmReader;
use soundscribe::audio::{
    AudioError, FrameRead, Pipeline, QueuePolicy, SourceStats, WindowReceivers, WindowSpec,
};
use soundscribe::config::{Overflow, PcmFormat};

fn wav_bytes(spec: hound::WavSpec, samples: &[f32]) -> Vec<u8> {
    let mut cur = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
    for &s in samples {
        match spec.sample_format {
            hound::SampleFormat::Float => w.write_sample(s).unwrap(),
            hound::SampleFormat::Int => w.write_sample((s * 32767.0) as i16).unwrap(),
        }
    }
    w.finalize().unwrap();
    cur.into_inner()
}

fn spec(channels: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: 16_000,
        bits_per_sample: if format == hound::SampleFormat::Float {
            32
        } else {
            16
        },
        sample_format: format,
    }
}

/// A canonical 44-byte PCM WAV header with the given fields.
fn header(format_tag: u16, channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let block = channels * bits.div_ceil(8);
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&format_tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// Reads everything; returns frames read and the error that ended it, if any.
fn read_all(r: &mut impl FrameRead) -> (usize, Option<AudioError>) {
    let mut buf = Vec::new();
    let mut total = 0;
    loop {
        match r.read_frames(&mut buf, 1000) {
            Ok(0) => return (total, None),
            Ok(n) => {
                assert_eq!(buf.len(), n * usize::from(r.channels()));
                total += n;
            }
            Err(e) => return (total, Some(e)),
        }
    }
}

fn open_err(name: &str, bytes: Vec<u8>) -> String {
    match FileReader::from_bytes(Path::new(name), bytes) {
        Ok(_) => panic!("{name} opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_wav_delivers_what_is_there_then_names_the_file() {
    let mut bytes = wav_bytes(spec(2, hound::SampleFormat::Int), &vec![0.25; 2 * 5000]);
    bytes.truncate(44 + 4 * 3000 + 3); // 3000 whole frames and part of one
    let mut r = FileReader::from_bytes(Path::new("cut.wav"), bytes).unwrap();
    assert_eq!(r.declared_frames(), Some(5000));
    let (frames, err) = read_all(&mut r);
    assert_eq!(frames, 3000);
    let msg = err.expect("truncation is an error").to_string();
    assert!(msg.starts_with("cut.wav: truncated"), "{msg}");
    assert!(msg.contains("3000 of 5000 frames"), "{msg}");
}

#[test]
fn header_only_wav_is_an_error() {
    let bytes = header(1, 1, 16_000, 16, 32_000);
    let mut r = FileReader::from_bytes(Path::new("empty.wav"), bytes).unwrap();
    let (frames, err) = read_all(&mut r);
    assert_eq!(frames, 0);
    assert!(err.unwrap().to_string().starts_with("empty.wav: truncated"));
}

#[test]
fn wrong_header_is_named() {
    let msg = open_err("junk.wav", b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk".to_vec());
    assert!(msg.starts_with("junk.wav: not a usable WAV file"), "{msg}");
    let msg = open_err("text.flac", b"this is not audio at all, just text".to_vec());
    assert!(
        msg.starts_with("text.flac: unsupported or unreadable audio file"),
        "{msg}"
    );
    let msg = open_err("nothing.mp3", Vec::new());
    assert!(msg.starts_with("nothing.mp3: "), "{msg}");
}

#[test]
fn zero_channels_is_named() {
    let msg = open_err("zero.wav", header(1, 0, 16_000, 16, 0));
    assert!(
        msg.starts_with("zero.wav: ") && msg.contains("zero channels"),
        "{msg}"
    );
}

#[test]
fn unsupported_encodings_are_named() {
    // Format tag 0x55 (MP3 inside WAV).
    let msg = open_err("mp3inwav.wav", header(0x55, 2, 44_100, 16, 0));
    assert!(
        msg.starts_with("mp3inwav.wav: not a usable WAV file"),
        "{msg}"
    );
    // 64-bit float is read now (through symphonia, which hound hands it to); this header
    // holds no audio.
    let mut r = FileReader::from_bytes(Path::new("f64.wav"), header(3, 1, 16_000, 64, 0)).unwrap();
    assert_eq!(read_all(&mut r).0, 0);
    // Zero or absurd sample rates (a resampler for 4 GHz would need gigabytes).
    let msg = open_err("zerorate.wav", header(1, 1, 0, 16, 0));
    assert!(
        msg.starts_with("zerorate.wav: WAV header says 0 Hz"),
        "{msg}"
    );
    let msg = open_err("hugerate.wav", header(1, 1, 4_000_000_000, 8, 0));
    assert!(
        msg.starts_with("hugerate.wav: WAV header says 4000000000 Hz"),
        "{msg}"
    );
}

#[test]
fn missing_file_is_named() {
    let err = FileReader::open(Path::new("/nonexistent/clip.wav"))
        .err()
        .unwrap();
    assert!(
        err.to_string().starts_with("/nonexistent/clip.wav: "),
        "{err}"
    );
}

#[test]
fn nan_and_inf_are_sanitised_and_counted() {
    let mut samples = vec![0.5f32; 16_000];
    samples[100] = f32::NAN;
    samples[200] = f32::INFINITY;
    samples[300] = f32::NEG_INFINITY;
    let bytes = wav_bytes(spec(1, hound::SampleFormat::Float), &samples);
    let mut r = FileReader::from_bytes(Path::new("nan.wav"), bytes).unwrap();
    let stats = Arc::new(SourceStats::default());
    let mut rx = WindowReceivers::new();
    let tx = rx.add_source(
        "f".into(),
        QueuePolicy::live(8, Overflow::DropOldest),
        stats.clone(),
    );
    let spec = WindowSpec::new(16_000, 0.5, 0.5, None).unwrap();
    let mut p = Pipeline::new("f".into(), r.rate(), r.channels(), spec, tx).unwrap();
    let mut buf = Vec::new();
    while r.read_frames(&mut buf, 4096).unwrap() > 0 {
        p.push(&buf).unwrap();
    }
    p.finish().unwrap();
    drop(p);
    let windows: Vec<_> = std::iter::from_fn(|| rx.recv()).collect();
    assert_eq!(stats.snapshot().nonfinite_samples, 3);
    let all: Vec<f32> = windows.iter().flat_map(|w| w.samples.clone()).collect();
    assert!(all.iter().all(|v| v.is_finite()));
    assert_eq!((all[100], all[200], all[300]), (0.0, 1.0, -1.0));
}

#[test]
fn offline_decoding_names_a_file_with_non_finite_samples() {
    // Training clips and the dataset builder refuse such a file rather than feed NaN on.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.wav");
    let mut samples = vec![0.1f32; 16_000];
    samples[8_000] = f32::NAN;
    std::fs::write(
        &path,
        wav_bytes(spec(2, hound::SampleFormat::Float), &samples),
    )
    .unwrap();
    let err = soundscribe::audio::file::decode_mono(&path, 16_000, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nan.wav") && err.contains("not finite"),
        "{err}"
    );
}

#[test]
fn pcm_with_zero_channels_or_rate_is_an_error() {
    let src = || Box::new(Cursor::new(vec![0u8; 8])) as Box<dyn std::io::Read + Send>;
    let e = PcmReader::new(Path::new("pipe"), src(), PcmFormat::S16le, 16_000, 0)
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("pipe: "), "{e}");
    let e = PcmReader::new(Path::new("pipe"), src(), PcmFormat::F32le, 0, 1)
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("pipe: "), "{e}");
}

fn valid_wav() -> Vec<u8> {
    let samples: Vec<f32> = (0..600).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
    wav_bytes(spec(2, hound::SampleFormat::Int), &samples)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // Arbitrary bytes, under any extension, never panic the file readers.
    #[test]
    fn file_parsers_survive_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        ext in "(wav|flac|ogg|mp3|bin)",
    ) {
        let name = format!("fuzz.{ext}");
        match FileReader::from_bytes(Path::new(&name), bytes) {
            Ok(mut r) => {
                if let (_, Some(e)) = read_all(&mut r) {
                    prop_assert!(e.to_string().starts_with(&name));
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with(&name), "{}", e),
        }
    }

    // A valid WAV with bytes flipped (header included) or cut never panics.
    #[test]
    fn file_parsers_survive_mutated_wavs(
        flips in proptest::collection::vec((0usize..2444, any::<u8>()), 1..8),
        cut in 0usize..2444,
    ) {
        let mut bytes = valid_wav();
        for (at, v) in flips {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        bytes.truncate(cut.max(1));
        match FileReader::from_bytes(Path::new("m.wav"), bytes) {
            Ok(mut r) => {
                if let (_, Some(e)) = read_all(&mut r) {
                    prop_assert!(e.to_string().starts_with("m.wav"));
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("m.wav"), "{}", e),
        }
    }

    // Raw PCM: any bytes in any chunking become exactly floor(len / frame) frames, and the
    // pipeline takes whatever values they hold (NaN/Inf included).
    #[test]
    fn pcm_parser_survives_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        f32le in any::<bool>(),
        channels in 1u16..6,
        max_frames in 1usize..300,
    ) {
        let format = if f32le { PcmFormat::F32le } else { PcmFormat::S16le };
        let frame = usize::from(channels) * if f32le { 4 } else { 2 };
        let want = bytes.len() / frame;
        let src = Box::new(Cursor::new(bytes));
        let mut r = PcmReader::new(Path::new("-"), src, format, 8_000, channels).unwrap();
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let tx = rx.add_source("p".into(), QueuePolicy::live(2, Overflow::DropOldest), stats.clone());
        let spec = WindowSpec::new(16_000, 0.01, 0.005, Some(-60.0)).unwrap();
        let mut p = Pipeline::new("p".into(), 8_000, channels, spec, tx).unwrap();
        let mut buf = Vec::new();
        let mut got = 0;
        loop {
            let n = r.read_frames(&mut buf, max_frames).unwrap();
            if n == 0 { break; }
            got += n;
            p.push(&buf).unwrap();
        }
        p.finish().unwrap();
        prop_assert_eq!(got, want);
        prop_assert_eq!(stats.snapshot().frames_read as usize, want);
    }
}
