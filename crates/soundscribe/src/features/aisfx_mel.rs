//! The aisfx front end (student encoder input), op for op as the package's librosa path:
//! peak-normalised 44.1 kHz mono → `librosa.feature.melspectrogram` (96 HTK bands,
//! L1-normalised filters, n_fft = window 2048, hop 1024, power 2, centred with zero
//! padding) → `log10(1e4·S + 1)` → `/ 9.4578` ("original" min-max) → blocks of 100 frames.
//!
//! Reference: aisfx 0.1.2 `aisfx/spectrogram/spectrogram_librosa.py`,
//! `aisfx/preprocessing.py` (`spectrogram_normalize`, `blocking`), librosa 0.11
//! `filters.mel`, `core.stft` (`pad_mode="constant"` is its default since 0.10). Like
//! librosa, the STFT and mel product run in float64 and only the result is float32.
//! Resampling to 44.1 kHz is not part of this: the input must already be at
//! [`SAMPLE_RATE`]. The mel filter bank and window are built once in [`AisfxMel::new`].

use tch::{Device, Kind, Tensor};

/// Sample rate the aisfx network was trained at.
pub const SAMPLE_RATE: i64 = 44_100;
/// FFT size and window length in samples.
pub const N_FFT: i64 = 2048;
/// Hop between frames in samples (~23.2 ms).
pub const HOP_LENGTH: i64 = 1024;
/// Number of mel bands.
pub const N_MELS: i64 = 96;
/// Frames per network input block (~2.3 s).
pub const BLOCK_FRAMES: i64 = 100;
/// The package's "original" normalisation maximum (its minimum is 0).
pub const NORM_MAX: f64 = 9.457_798_957_824_707;

/// The aisfx log-mel front end.
#[derive(Debug)]
pub struct AisfxMel {
    /// Periodic Hann window, `(N_FFT,)` float64.
    window: Tensor,
    /// L1-normalised HTK mel filters, transposed: `(N_FFT/2 + 1, N_MELS)` float64.
    mel_basis_t: Tensor,
}

fn hz_to_mel_htk(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz_htk(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// librosa `filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=True, norm=1)`:
/// `(n_mels, 1 + n_fft/2)`, each filter divided by its L1 norm.
pub fn mel_filters(sr: i64, n_fft: i64, n_mels: i64) -> Vec<Vec<f64>> {
    let n_bins = (1 + n_fft / 2) as usize;
    let nyquist = sr as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|k| nyquist * k as f64 / (n_bins - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel_htk(0.0), hz_to_mel_htk(nyquist));
    let points = n_mels as usize + 2;
    let mel_f: Vec<f64> = (0..points)
        .map(|i| mel_to_hz_htk(lo + (hi - lo) * i as f64 / (points - 1) as f64))
        .collect();
    (0..n_mels as usize)
        .map(|i| {
            let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
            let row: Vec<f64> = fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - f0) / (f1 - f0);
                    let upper = (f2 - f) / (f2 - f1);
                    lower.min(upper).max(0.0)
                })
                .collect();
            let l1: f64 = row.iter().map(|w| w.abs()).sum();
            let l1 = if l1 < f64::MIN_POSITIVE { 1.0 } else { l1 };
            row.into_iter().map(|w| w / l1).collect()
        })
        .collect()
}

/// Number of STFT frames for `samples` input samples (`center=True`).
pub fn num_frames(samples: i64) -> i64 {
    1 + samples / HOP_LENGTH
}

impl AisfxMel {
    /// Builds the window and mel filter bank on `device`.
    pub fn new(device: Device) -> Self {
        let window = Tensor::hann_window_periodic(N_FFT, true, (Kind::Double, device));
        let rows = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let mel_basis_t = Tensor::from_slice(&flat)
            .view([N_MELS, N_FFT / 2 + 1])
            .transpose(0, 1)
            .contiguous()
            .to_device(device);
        AisfxMel {
            window,
            mel_basis_t,
        }
    }

    /// Normalised log-mel of `waves` `(B, N)` at 44.1 kHz: `(B, 1 + N/1024, 96)` float32,
    /// time-major. Each row is peak-normalised first (an all-zero row is left as is).
    /// Any `N ≥ 0` works: centring pads 1024 zeros on each side.
    pub fn forward(&self, waves: &Tensor) -> Tensor {
        let waves = waves.to_kind(Kind::Float);
        let peak = waves.abs().amax([-1].as_slice(), true);
        let peak = peak.where_scalarother(&peak.ne(0.0), 1.0);
        let waves = (waves / peak).to_kind(Kind::Double);
        // librosa centre padding (pad_mode "constant": zeros), then 2048-sample frames.
        let padded = waves.constant_pad_nd([N_FFT / 2, N_FFT / 2]);
        let frames = padded.unfold(-1, N_FFT, HOP_LENGTH) * &self.window;
        let power = frames
            .fft_rfft(None::<i64>, -1, "backward")
            .abs()
            .pow_tensor_scalar(2.0);
        let mel = power.matmul(&self.mel_basis_t);
        ((mel * 1e4 + 1.0).log10() / NORM_MAX).to_kind(Kind::Float)
    }
}

/// Number of blocks `aisfx.preprocessing.blocking` makes from `frames` frames.
pub fn num_blocks(frames: i64, block: i64, hop: i64, drop_partial: bool) -> i64 {
    let span = frames - block;
    let mut n = span.div_euclid(hop) + 1 + i64::from(span.rem_euclid(hop) != 0);
    if span.rem_euclid(hop) != 0 && drop_partial {
        n -= 1;
    }
    n.max(1)
}

/// `aisfx.preprocessing.blocking` on `mel` `(B, T, F)`: `(B·K, block, F)`, clip-major,
/// blocks `hop` frames apart, the last zero-padded; returns K too.
pub fn blocks(mel: &Tensor, block: i64, hop: i64, drop_partial: bool) -> (Tensor, i64) {
    let t = mel.size()[1];
    let k = num_blocks(t, block, hop, drop_partial);
    let need = (k - 1) * hop + block;
    let padded = mel.constant_pad_nd([0, 0, 0, (need - t).max(0)]);
    let out = padded.unfold(1, block, hop).narrow(1, 0, k); // (B, K, F, block)
    let (b, f) = (mel.size()[0], mel.size()[2]);
    (
        out.transpose(-1, -2).contiguous().view([b * k, block, f]),
        k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_counts_match_the_package() {
        // np.ceil((T - 100) / hop + 1), minus one for a partial block when dropping.
        assert_eq!(num_blocks(147, 100, 100, false), 2);
        assert_eq!(num_blocks(200, 100, 100, false), 2);
        assert_eq!(num_blocks(201, 100, 100, false), 3);
        assert_eq!(num_blocks(34, 100, 100, false), 1);
        assert_eq!(num_blocks(147, 100, 50, true), 1);
        assert_eq!(num_blocks(200, 100, 50, true), 3);
        assert_eq!(num_blocks(1, 100, 50, true), 1);
    }

    #[test]
    fn filters_are_l1_normalised_and_cover_the_band() {
        let f = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
        assert_eq!(f.len(), 96);
        for row in &f {
            assert_eq!(row.len(), 1025);
            let s: f64 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
    }

    #[test]
    fn blocks_pad_the_last_block_with_zeros() {
        let mel = Tensor::ones([1, 130, 96], (Kind::Float, Device::Cpu));
        let (b, k) = blocks(&mel, 100, 100, false);
        assert_eq!((b.size(), k), (vec![2, 100, 96], 2));
        assert_eq!(
            b.get(1)
                .narrow(0, 30, 70)
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
        assert_eq!(
            b.get(1)
                .narrow(0, 0, 30)
                .mean(Kind::Float)
                .double_value(&[]),
            1.0
        );
    }
}
