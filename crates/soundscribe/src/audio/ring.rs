//! The lock-free hand-off between a capture callback and its source thread.
//!
//! [`capture_ring`] allocates a `ringbuf` SPSC ring once, before a stream starts.
//! [`CaptureProducer::push`] is the whole body of the cpal data callback: it copies whole
//! frames with `push_slice` and bumps two relaxed atomic counters — no allocation, lock,
//! log or syscall. A full ring never overwrites: what does not fit is counted in
//! `frames_overrun`. [`CaptureConsumer`] converts the device's sample type to `f32` on the
//! source thread.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use cpal::{FromSample, SizedSample};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::queue::SourceStats;

/// The callback's end of a capture ring.
pub struct CaptureProducer<T> {
    prod: HeapProd<T>,
    channels: usize,
    stats: Arc<SourceStats>,
}

impl<T: Copy> CaptureProducer<T> {
    /// Copies the callback's interleaved frames into the ring; frames that do not fit are
    /// counted as overruns. Real-time safe: no allocation, lock, log or syscall.
    #[inline]
    pub fn push(&mut self, data: &[T]) {
        let ch = self.channels;
        // Whole frames only, so channels never shift.
        let room = self.prod.vacant_len() / ch * ch;
        let pushed = self.prod.push_slice(&data[..room.min(data.len())]);
        self.stats
            .frames_in
            .fetch_add((data.len() / ch) as u64, Relaxed);
        let lost = (data.len() - pushed) / ch;
        if lost > 0 {
            self.stats.frames_overrun.fetch_add(lost as u64, Relaxed);
        }
    }
}

/// The source thread's end of a capture ring.
pub struct CaptureConsumer {
    ring: Box<dyn RingRead + Send>,
    channels: usize,
}

impl CaptureConsumer {
    /// Moves up to `max_frames` frames into `buf` (cleared first) as `f32`; never waits.
    pub fn read(&mut self, buf: &mut Vec<f32>, max_frames: usize) -> usize {
        buf.clear();
        self.ring.pop_into(buf, max_frames * self.channels) / self.channels
    }
}

/// Device sample types the ring carries, converted to `f32` on the source thread.
pub trait CaptureSample: SizedSample + Send + Sync + 'static {
    /// Appends `src` converted to `f32` to `out`.
    fn extend_f32(src: &[Self], out: &mut Vec<f32>);
}

impl CaptureSample for f32 {
    fn extend_f32(src: &[f32], out: &mut Vec<f32>) {
        out.extend_from_slice(src);
    }
}

macro_rules! convert_sample {
    ($($t:ty),*) => {$(
        impl CaptureSample for $t {
            fn extend_f32(src: &[$t], out: &mut Vec<f32>) {
                out.extend(src.iter().map(|&s| <f32 as FromSample<$t>>::from_sample_(s)));
            }
        }
    )*};
}
convert_sample!(i8, i16, i32, u8, u16, u32, f64);

/// A ring holding `frames` frames of `channels` channels of `T`, counted into `stats`.
pub fn capture_ring<T: CaptureSample>(
    frames: usize,
    channels: u16,
    stats: Arc<SourceStats>,
) -> (CaptureProducer<T>, CaptureConsumer) {
    let ch = usize::from(channels.max(1));
    let (prod, cons) = HeapRb::<T>::new(frames.max(1) * ch).split();
    let producer = CaptureProducer {
        prod,
        channels: ch,
        stats,
    };
    let consumer = CaptureConsumer {
        ring: Box::new(Ring {
            cons,
            scratch: Vec::with_capacity(frames.max(1) * ch / 4),
        }),
        channels: ch,
    };
    (producer, consumer)
}

trait RingRead {
    fn pop_into(&mut self, out: &mut Vec<f32>, max_samples: usize) -> usize;
}

struct Ring<T> {
    cons: HeapCons<T>,
    scratch: Vec<T>,
}

impl<T: CaptureSample> RingRead for Ring<T> {
    fn pop_into(&mut self, out: &mut Vec<f32>, max_samples: usize) -> usize {
        let n = max_samples.min(self.cons.occupied_len());
        if self.scratch.len() < n {
            self.scratch.resize(n, T::EQUILIBRIUM);
        }
        let got = self.cons.pop_slice(&mut self.scratch[..n]);
        T::extend_f32(&self.scratch[..got], out);
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrun_is_counted_in_whole_frames() {
        let stats = Arc::new(SourceStats::default());
        let (mut p, mut c) = capture_ring::<i16>(3, 2, stats.clone());
        p.push(&[1, 2, 3, 4]);
        p.push(&[5, 6, 7, 8]); // one frame fits, one is lost
        let mut buf = Vec::new();
        assert_eq!(c.read(&mut buf, 10), 3);
        assert_eq!(buf.len(), 6);
        let s = stats.snapshot();
        assert_eq!((s.frames_in, s.frames_overrun), (4, 1));
    }
}
