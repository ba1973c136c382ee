//! `/metrics`: Prometheus text for the audio counters of every source and the engine's
//! status, rendered on each scrape.

use std::sync::Arc;

use crate::audio::StatsSnapshot;
use crate::engine::run::SourceRegistry;
use crate::publish::http::{sample, RenderMetrics};
use crate::publish::{StatusBoard, StatusProvider};

/// Prometheus text for the audio counters of every source and the engine's status.
pub fn render_metrics(sources: SourceRegistry, status: Arc<StatusBoard>) -> RenderMetrics {
    Arc::new(move || {
        let mut out = String::new();
        let snap = status.snapshot();
        out.push_str("# TYPE soundscribe_uptime_seconds gauge\n");
        sample(&mut out, "soundscribe_uptime_seconds", None, snap.uptime_s);
        type Pick = fn(&StatsSnapshot) -> u64;
        let counters: [(&str, Pick); 8] = [
            ("soundscribe_audio_frames_total", |s| s.frames_in),
            ("soundscribe_audio_frames_overrun_total", |s| {
                s.frames_overrun
            }),
            ("soundscribe_audio_xruns_total", |s| s.xruns),
            ("soundscribe_audio_windows_queued_total", |s| {
                s.windows_queued
            }),
            ("soundscribe_audio_windows_dropped_total", |s| {
                s.windows_dropped
            }),
            ("soundscribe_audio_windows_gated_total", |s| s.windows_gated),
            ("soundscribe_audio_gaps_total", |s| s.gaps),
            ("soundscribe_audio_restarts_total", |s| s.restarts),
        ];
        let snaps: Vec<_> = sources
            .entries()
            .into_iter()
            .map(|(id, s)| (id, s.snapshot()))
            .collect();
        for (name, pick) in counters {
            out.push_str(&format!("# TYPE {name} counter\n"));
            for (id, snap) in &snaps {
                sample(&mut out, name, Some(id), pick(snap) as f64);
            }
        }
        out.push_str("# TYPE soundscribe_engine_captions_total counter\n");
        for s in &snap.sources {
            sample(
                &mut out,
                "soundscribe_engine_captions_total",
                Some(&s.source),
                s.windows_out as f64,
            );
        }
        out.push_str("# TYPE soundscribe_engine_real_time_factor gauge\n");
        for s in &snap.sources {
            if let Some(rtf) = s.real_time_factor {
                sample(
                    &mut out,
                    "soundscribe_engine_real_time_factor",
                    Some(&s.source),
                    rtf,
                );
            }
        }
        out
    })
}
