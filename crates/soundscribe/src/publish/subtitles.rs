//! Subtitles from captions: WebVTT or SubRip cues for a stream of overlapping windows.
//!
//! Windows overlap (e.g. 5 s windows every 2.5 s), but a screen shows one line at a time.
//! Each window's caption is shown for the stretch of time nearest to its window's centre:
//! from halfway between the previous window's centre and its own, to halfway between its
//! own and the next one's (the first cue starts where its window starts, the last ends
//! where its window ends). The cues tile the timeline without overlapping, and
//! consecutive windows with the same caption become one cue.

use std::fmt::Write;

/// One subtitle: a caption and when it is on screen, in seconds from the stream's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// When it appears.
    pub start_s: f64,
    /// When it disappears.
    pub end_s: f64,
    /// The caption (one line).
    pub text: String,
}

/// A captioned window: its start and end in seconds and its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionedWindow {
    /// Window start, seconds.
    pub start_s: f64,
    /// Window end, seconds.
    pub end_s: f64,
    /// Its caption.
    pub text: String,
}

/// The subtitle file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    /// WebVTT (`.vtt`): browsers, OBS, most players.
    WebVtt,
    /// SubRip (`.srt`).
    Srt,
}

/// The cues for `windows` (any order; windows without text are left out).
pub fn cues(windows: &[CaptionedWindow]) -> Vec<Cue> {
    let mut w: Vec<&CaptionedWindow> = windows
        .iter()
        .filter(|w| !w.text.trim().is_empty() && w.end_s > w.start_s)
        .collect();
    w.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let centre = |x: &CaptionedWindow| (x.start_s + x.end_s) / 2.0;
    let mut out: Vec<Cue> = Vec::with_capacity(w.len());
    for (i, x) in w.iter().enumerate() {
        let start = match i {
            0 => x.start_s,
            _ => (centre(w[i - 1]) + centre(x)) / 2.0,
        };
        let end = match w.get(i + 1) {
            Some(next) => (centre(x) + centre(next)) / 2.0,
            None => x.end_s,
        };
        let text = one_line(&x.text);
        match out.last_mut() {
            Some(prev) if prev.text == text && (prev.end_s - start).abs() < 1e-9 => {
                prev.end_s = end;
            }
            _ if end > start => out.push(Cue {
                start_s: start,
                end_s: end,
                text,
            }),
            _ => {}
        }
    }
    out
}

/// A caption as one cue line: no line breaks, and no `-->` (it ends a cue's timing line).
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("-->", "->")
}

/// `seconds` as `HH:MM:SS` + `sep` + milliseconds.
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

/// The file header (`WEBVTT` and a blank line; nothing for SubRip).
pub fn header(format: SubtitleFormat) -> &'static str {
    match format {
        SubtitleFormat::WebVtt => "WEBVTT\n\n",
        SubtitleFormat::Srt => "",
    }
}

/// Cue number `index` (from 1) as text, ending in a blank line.
pub fn render_cue(format: SubtitleFormat, index: usize, cue: &Cue) -> String {
    let mut out = String::new();
    let sep = match format {
        SubtitleFormat::WebVtt => '.',
        SubtitleFormat::Srt => {
            let _ = writeln!(out, "{index}");
            ','
        }
    };
    let _ = write!(
        out,
        "{} --> {}\n{}\n\n",
        timestamp(cue.start_s, sep),
        timestamp(cue.end_s, sep),
        cue.text
    );
    out
}

/// A whole subtitle file for `cues`.
pub fn render(format: SubtitleFormat, cues: &[Cue]) -> String {
    let mut out = header(format).to_owned();
    for (i, cue) in cues.iter().enumerate() {
        out.push_str(&render_cue(format, i + 1, cue));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn w(start_s: f64, end_s: f64, text: &str) -> CaptionedWindow {
        CaptionedWindow {
            start_s,
            end_s,
            text: text.into(),
        }
    }

    #[test]
    fn overlapping_windows_tile_the_timeline_and_repeats_merge() {
        // 5 s windows every 2.5 s over 12 s of audio (the last one shorter).
        let windows = [
            w(2.5, 7.5, "a dog barks"),
            w(0.0, 5.0, "a dog barks"),
            w(5.0, 10.0, "rain falls"),
            w(7.5, 12.0, "rain falls"),
        ];
        let c = cues(&windows);
        assert_eq!(
            c,
            [
                Cue {
                    start_s: 0.0,
                    end_s: 6.25,
                    text: "a dog barks".into()
                },
                Cue {
                    start_s: 6.25,
                    end_s: 12.0,
                    text: "rain falls".into()
                },
            ]
        );
    }

    #[test]
    fn both_formats_render() {
        let c = [Cue {
            start_s: 3661.5,
            end_s: 3663.0,
            text: "a bell rings".into(),
        }];
        assert_eq!(
            render(SubtitleFormat::WebVtt, &c),
            "WEBVTT\n\n01:01:01.500 --> 01:01:03.000\na bell rings\n\n"
        );
        assert_eq!(
            render(
                SubtitleFormat::Srt,
                &cues(&[w(0.0, 2.0, "a\nbell --> rings")])
            ),
            "1\n00:00:00,000 --> 00:00:02,000\na bell -> rings\n\n"
        );
    }
}
