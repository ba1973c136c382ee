//! Formats beyond WAV go through symphonia. There is no FLAC encoder among the
//! dependencies, so this test writes a real FLAC stream itself (STREAMINFO + frames of
//! VERBATIM subframes with their CRCs, per the FLAC format spec) and checks the decoded
//! samples bit for bit.

use std::path::Path;

use soundscribe::audio::file::FileReader;
use soundscribe::audio::FrameRead;

struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Self {
        Bits {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }
    fn put(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    fn align(&mut self) {
        while self.n != 0 {
            self.put(0, 1);
        }
    }
}

fn crc8(data: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in data {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// UTF-8-style coded frame number (FLAC's "UTF-8" coding), for n < 65536.
fn coded_number(n: u32) -> Vec<u8> {
    match n {
        0..=0x7f => vec![n as u8],
        0x80..=0x7ff => vec![0xc0 | (n >> 6) as u8, 0x80 | (n & 0x3f) as u8],
        _ => vec![
            0xe0 | (n >> 12) as u8,
            0x80 | ((n >> 6) & 0x3f) as u8,
            0x80 | (n & 0x3f) as u8,
        ],
    }
}

/// A 16-bit FLAC file of interleaved `samples`, in blocks of `block` frames.
fn flac(rate: u32, channels: u16, samples: &[i16], block: usize) -> Vec<u8> {
    let ch = usize::from(channels);
    let frames = samples.len() / ch;
    let mut b = Bits::new();
    b.out.extend_from_slice(b"fLaC");
    b.put(1, 1); // last metadata block
    b.put(0, 7); // STREAMINFO
    b.put(34, 24);
    b.put(block as u64, 16);
    b.put(block as u64, 16);
    b.put(0, 24);
    b.put(0, 24);
    b.put(u64::from(rate), 20);
    b.put(u64::from(channels - 1), 3);
    b.put(15, 5); // 16 bits per sample
    b.put(frames as u64, 36);
    for _ in 0..16 {
        b.put(0, 8); // MD5 unknown
    }
    for (i, chunk) in samples.chunks(block * ch).enumerate() {
        let n = chunk.len() / ch;
        let start = b.out.len();
        b.put(0b11111111111110, 14);
        b.put(0, 1);
        b.put(0, 1); // fixed block size
        b.put(0b0111, 4); // block size: 16 bits at the end of the header
        b.put(0, 4); // rate from STREAMINFO
        b.put(u64::from(channels - 1), 4); // independent channels
        b.put(0, 3); // sample size from STREAMINFO
        b.put(0, 1);
        for byte in coded_number(i as u32) {
            b.put(u64::from(byte), 8);
        }
        b.put((n - 1) as u64, 16);
        let crc = crc8(&b.out[start..]);
        b.put(u64::from(crc), 8);
        for c in 0..ch {
            b.put(0, 1);
            b.put(0b000001, 6); // VERBATIM
            b.put(0, 1);
            for f in 0..n {
                b.put(u64::from(chunk[f * ch + c] as u16), 16);
            }
        }
        b.align();
        let crc = crc16(&b.out[start..]);
        b.put(u64::from(crc), 16);
    }
    b.out
}

#[test]
fn flac_decodes_bit_exactly_through_symphonia() {
    let (rate, channels) = (44_100u32, 2u16);
    let samples: Vec<i16> = (0..rate as usize * 3 / 2)
        .flat_map(|i| {
            let v =
                (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 44_100.0).sin()) as i16;
            [v, v / 2]
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.flac");
    std::fs::write(&path, flac(rate, channels, &samples, 4096)).unwrap();

    let mut r = FileReader::open(&path).unwrap();
    assert_eq!((r.rate(), r.channels()), (rate, channels));
    assert_eq!(r.declared_frames(), Some(samples.len() as u64 / 2));
    let mut all = Vec::new();
    let mut buf = Vec::new();
    while r.read_frames(&mut buf, 1000).unwrap() > 0 {
        all.extend_from_slice(&buf);
    }
    let want: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    assert_eq!(all.len(), want.len());
    assert!(all == want, "decoded samples differ");
}

#[test]
fn corrupt_flac_is_named() {
    let samples = vec![100i16; 2 * 5000];
    let mut bytes = flac(16_000, 2, &samples, 1024);
    // Damage the second frame's data (its CRC no longer matches) and cut the file.
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    bytes.truncate(bytes.len() - 100);
    let mut r = FileReader::from_bytes(Path::new("bad.flac"), bytes).unwrap();
    let mut buf = Vec::new();
    let mut frames = 0;
    let err = loop {
        match r.read_frames(&mut buf, 1000) {
            Ok(0) => break None,
            Ok(n) => frames += n,
            Err(e) => break Some(e),
        }
    };
    // symphonia skips the damaged frame and the cut one; the shortfall is reported.
    let msg = err.expect("a short FLAC stream is an error").to_string();
    assert!(msg.starts_with("bad.flac: truncated or corrupt"), "{msg}");
    assert!(frames < 5000, "{frames}");
}
