//! Resampler quality: stepped sine sweeps through `MonoResampler` keep frequency and
//! amplitude in the passband (±0.1 dB) and tones above the output Nyquist leave less than
//! −90 dB behind (aliasing), for the rates sources deliver.

use std::f64::consts::PI;

use soundscribe::audio::MonoResampler;

const OUT: u32 = 16_000;
const AMP: f64 = 0.5;

fn tone(rate: u32, hz: f64, secs: f64) -> Vec<f32> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| (AMP * (2.0 * PI * hz * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

fn resample(from: u32, input: &[f32]) -> Vec<f32> {
    let mut r = MonoResampler::new(from, OUT).unwrap();
    let mut out = Vec::new();
    // Feed in uneven pieces, as a device would.
    for piece in input.chunks(997) {
        r.process(piece, &mut out);
    }
    r.flush(&mut out);
    out
}

/// Least-squares fit of a sine at exactly `hz` (with the timing the front end promises:
/// output sample n is at n / OUT seconds): (amplitude, phase, residual energy relative to
/// the signal, in dB).
fn fit(x: &[f32], hz: f64, offset: usize) -> (f64, f64, f64) {
    let w = 2.0 * PI * hz / f64::from(OUT);
    let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let t = (i + offset) as f64;
        let (s, c) = (w * t).sin_cos();
        ss += s * s;
        sc += s * c;
        cc += c * c;
        xs += f64::from(v) * s;
        xc += f64::from(v) * c;
    }
    let det = ss * cc - sc * sc;
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let mut res = 0.0;
    let mut energy = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let t = (i + offset) as f64;
        let (s, c) = (w * t).sin_cos();
        let e = f64::from(v) - a * s - b * c;
        res += e * e;
        energy += f64::from(v) * f64::from(v);
    }
    (
        (a * a + b * b).sqrt(),
        b.atan2(a),
        10.0 * (res / energy).log10(),
    )
}

/// The steady middle of a resampled tone (away from the start-up and flush edges).
fn middle(x: &[f32]) -> (&[f32], usize) {
    let edge = OUT as usize / 10;
    (&x[edge..x.len() - edge], edge)
}

#[test]
fn passband_sweep_keeps_frequency_and_amplitude() {
    for from in [48_000u32, 44_100, 22_050, 32_000, 8_000] {
        // Up to 0.9 × the lower Nyquist frequency.
        let top = 0.9 * f64::from(from.min(OUT)) / 2.0;
        let mut hz = 20.0;
        let mut worst = (0.0f64, f64::NEG_INFINITY);
        while hz <= top {
            let out = resample(from, &tone(from, hz, 1.0));
            assert_eq!(out.len(), OUT as usize, "{from} Hz: length");
            let (mid, off) = middle(&out);
            let (amp, phase, residual_db) = fit(mid, hz, off);
            let gain_db = 20.0 * (amp / AMP).log10();
            assert!(
                gain_db.abs() <= 0.1,
                "{from} → {OUT}: {hz:.0} Hz gain {gain_db:+.3} dB"
            );
            // The right frequency leaves (almost) nothing unexplained ...
            assert!(
                residual_db < -60.0,
                "{from} → {OUT}: {hz:.0} Hz residual {residual_db:.1} dB"
            );
            // ... and the phase matches the input's: timing is exact, delay removed.
            assert!(
                phase.abs() < 0.01,
                "{from} → {OUT}: {hz:.0} Hz phase {phase:.4} rad"
            );
            worst = (worst.0.max(gain_db.abs()), worst.1.max(residual_db));
            hz *= 1.25;
        }
        eprintln!(
            "{from} → {OUT}: 20 Hz–{top:.0} Hz: worst gain error {:.4} dB, worst residual {:.1} dB",
            worst.0, worst.1
        );
    }
}

#[test]
fn tones_above_nyquist_are_rejected_below_minus_90_db() {
    for from in [48_000u32, 44_100, 32_000] {
        let nyq = f64::from(OUT) / 2.0;
        let mut hz = 1.1 * nyq;
        let mut worst = f64::NEG_INFINITY;
        while hz < 0.99 * f64::from(from) / 2.0 {
            let out = resample(from, &tone(from, hz, 1.0));
            let (mid, _) = middle(&out);
            let rms =
                (mid.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / mid.len() as f64).sqrt();
            let level_db = 20.0 * (rms / (AMP / 2f64.sqrt())).log10();
            assert!(
                level_db < -90.0,
                "{from} → {OUT}: {hz:.0} Hz leaves {level_db:.1} dB"
            );
            worst = worst.max(level_db);
            hz *= 1.1;
        }
        eprintln!(
            "{from} → {OUT}: tones ≥ {:.0} Hz: worst alias {worst:.1} dB",
            1.1 * nyq
        );
    }
}
