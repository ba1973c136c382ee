//! Training datasets: Clotho CSV, AudioCaps CSV, JSONL manifests and audio-only folders,
//! read into one list of [`Item`]s with every missing audio file reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One training example: an audio file (optionally a segment of it) and its captions.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The audio file.
    pub audio: PathBuf,
    /// Reference captions (empty for audio-only distillation data).
    pub captions: Vec<String>,
    /// Segment start in seconds, if only part of the file is used.
    pub start: Option<f64>,
    /// Segment end in seconds.
    pub end: Option<f64>,
}

/// A dataset with the files it could not find.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Items whose audio exists.
    pub items: Vec<Item>,
    /// Audio files named by the index that do not exist.
    pub missing: Vec<PathBuf>,
}

/// Why a dataset index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The index file is unreadable or malformed at a line.
    #[error("{}{}: {message}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    Index {
        /// The index file.
        path: PathBuf,
        /// 1-based line (0 for the whole file).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Too many audio files are missing to train honestly.
    #[error("{index}: {missing} of {total} audio files are missing ({:.1} % > allowed {:.1} %), e.g. {example}", 100.0 * *missing as f64 / *total as f64, 100.0 * allowed)]
    TooManyMissing {
        /// The index file or folder.
        index: PathBuf,
        /// Missing files.
        missing: usize,
        /// Files named.
        total: usize,
        /// Allowed fraction.
        allowed: f64,
        /// One missing path.
        example: String,
    },
}

fn index_err(path: &Path, line: usize, message: impl std::fmt::Display) -> DataError {
    DataError::Index {
        path: path.to_owned(),
        line,
        message: message.to_string(),
    }
}

/// File extensions read as audio.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "flac", "ogg", "mp3", "oga", "opus"];

impl Dataset {
    fn push(&mut self, item: Item) {
        if item.audio.is_file() {
            self.items.push(item);
        } else {
            self.missing.push(item.audio);
        }
    }

    /// Fails when more than `max_missing` (a fraction) of the named files are missing.
    pub fn check_missing(&self, index: &Path, max_missing: f64) -> Result<(), DataError> {
        let total = self.items.len() + self.missing.len();
        if total > 0 && self.missing.len() as f64 > max_missing * total as f64 {
            return Err(DataError::TooManyMissing {
                index: index.to_owned(),
                missing: self.missing.len(),
                total,
                allowed: max_missing,
                example: self.missing[0].display().to_string(),
            });
        }
        Ok(())
    }

    /// Clotho: `file_name,caption_1..caption_5` (header required), audio in `audio_dir`.
    pub fn clotho(csv_path: &Path, audio_dir: &Path) -> Result<Dataset, DataError> {
        let mut reader = csv::Reader::from_path(csv_path).map_err(|e| index_err(csv_path, 0, e))?;
        let headers = reader
            .headers()
            .map_err(|e| index_err(csv_path, 1, e))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let file_col =
            col("file_name").ok_or_else(|| index_err(csv_path, 1, "no file_name column"))?;
        let caption_cols: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.trim().starts_with("caption"))
            .map(|(i, _)| i)
            .collect();
        if caption_cols.is_empty() {
            return Err(index_err(csv_path, 1, "no caption_N columns"));
        }
        let mut ds = Dataset::default();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| index_err(csv_path, i + 2, e))?;
            let file = record.get(file_col).unwrap_or("").trim();
            if file.is_empty() {
                return Err(index_err(csv_path, i + 2, "empty file_name"));
            }
            let captions: Vec<String> = caption_cols
                .iter()
                .filter_map(|&c| record.get(c))
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            ds.push(Item {
                audio: audio_dir.join(file),
                captions,
                start: None,
                end: None,
            });
        }
        Ok(ds)
    }

    /// AudioCaps: `audiocap_id,youtube_id,start_time,caption`; rows of one clip are
    /// grouped by `youtube_id`; the audio is `<audiocap_id>.*`, `<youtube_id>.*` or
    /// `Y<youtube_id>.*` in `audio_dir`.
    pub fn audiocaps(csv_path: &Path, audio_dir: &Path) -> Result<Dataset, DataError> {
        #[derive(Deserialize)]
        struct Row {
            audiocap_id: String,
            youtube_id: String,
            // Parsed so malformed rows are caught; downloaded clips are already cut to it.
            #[serde(rename = "start_time")]
            _start_time: f64,
            caption: String,
        }
        let mut reader = csv::Reader::from_path(csv_path).map_err(|e| index_err(csv_path, 0, e))?;
        let mut clips: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (i, row) in reader.deserialize::<Row>().enumerate() {
            let row = row.map_err(|e| index_err(csv_path, i + 2, e))?;
            let entry = clips.entry(row.youtube_id.clone()).or_default();
            entry.0.push(row.audiocap_id);
            entry.1.push(row.caption.trim().to_owned());
        }
        let mut ds = Dataset::default();
        for (yt, (ids, captions)) in clips {
            let stems: Vec<String> = ids
                .iter()
                .cloned()
                .chain([yt.clone(), format!("Y{yt}")])
                .collect();
            let audio = find_audio(audio_dir, &stems)
                .unwrap_or_else(|| audio_dir.join(format!("{yt}.wav")));
            ds.push(Item {
                audio,
                captions,
                start: None,
                end: None,
            });
        }
        Ok(ds)
    }

    /// JSONL manifest: `{"audio": path, "captions": [...], "start": s, "end": s}` per line;
    /// relative paths are relative to the manifest's folder.
    pub fn jsonl(path: &Path) -> Result<Dataset, DataError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            audio: PathBuf,
            #[serde(default)]
            captions: Vec<String>,
            start: Option<f64>,
            end: Option<f64>,
            #[serde(default)]
            #[allow(dead_code)]
            meta: serde_json::Value,
        }
        let text = std::fs::read_to_string(path).map_err(|e| index_err(path, 0, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut ds = Dataset::default();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let l: Line = serde_json::from_str(line).map_err(|e| index_err(path, i + 1, e))?;
            if let (Some(s), Some(e)) = (l.start, l.end) {
                if !(s >= 0.0 && e > s) {
                    return Err(index_err(
                        path,
                        i + 1,
                        format!("segment start {s} / end {e} is not a range"),
                    ));
                }
            }
            ds.push(Item {
                audio: base.join(l.audio),
                captions: l.captions,
                start: l.start,
                end: l.end,
            });
        }
        Ok(ds)
    }

    /// Every audio file under `dir` (recursively, sorted), without captions.
    pub fn audio_folder(dir: &Path) -> Result<Dataset, DataError> {
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| index_err(dir, 0, e))?;
        files.sort();
        Ok(Dataset {
            items: files
                .into_iter()
                .map(|audio| Item {
                    audio,
                    captions: Vec::new(),
                    start: None,
                    end: None,
                })
                .collect(),
            missing: Vec::new(),
        })
    }
}

/// Whether `p` has one of the [`AUDIO_EXTENSIONS`] (any case).
pub(crate) fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_audio(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn find_audio(dir: &Path, stems: &[String]) -> Option<PathBuf> {
    stems.iter().find_map(|stem| {
        AUDIO_EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"RIFF").unwrap();
    }

    #[test]
    fn clotho_reads_captions_and_reports_missing_files() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("audio/a.wav"));
        let csv = d.path().join("captions.csv");
        std::fs::write(
            &csv,
            "file_name,caption_1,caption_2\na.wav,A dog barks.,\"Rain, then thunder\"\nb.wav,x,y\n",
        )
        .unwrap();
        let ds = Dataset::clotho(&csv, &d.path().join("audio")).unwrap();
        assert_eq!(ds.items.len(), 1);
        assert_eq!(ds.items[0].captions, ["A dog barks.", "Rain, then thunder"]);
        assert_eq!(ds.missing, [d.path().join("audio/b.wav")]);
        assert!(ds.check_missing(&csv, 0.5).is_ok());
        let e = ds.check_missing(&csv, 0.1).unwrap_err().to_string();
        assert!(
            e.contains("captions.csv") && e.contains("1 of 2") && e.contains("b.wav"),
            "{e}"
        );
    }

    #[test]
    fn clotho_without_file_name_column_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let csv = d.path().join("bad.csv");
        std::fs::write(&csv, "name,caption_1\na.wav,x\n").unwrap();
        let e = Dataset::clotho(&csv, d.path()).unwrap_err().to_string();
        assert!(e.contains("bad.csv:1: no file_name column"), "{e}");
    }

    #[test]
    fn audiocaps_groups_rows_by_clip_and_finds_audio_by_any_id() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("Yabc.flac"));
        touch(&d.path().join("7.wav"));
        let csv = d.path().join("test.csv");
        std::fs::write(
            &csv,
            "audiocap_id,youtube_id,start_time,caption\n1,abc,30,a cat meows\n2,abc,30,cat meowing\n7,xyz,0,wind blows\n9,nope,0,missing\n",
        )
        .unwrap();
        let ds = Dataset::audiocaps(&csv, d.path()).unwrap();
        assert_eq!(ds.items.len(), 2);
        assert_eq!(ds.items[0].audio, d.path().join("Yabc.flac"));
        assert_eq!(ds.items[0].captions, ["a cat meows", "cat meowing"]);
        assert_eq!(ds.items[1].audio, d.path().join("7.wav"));
        assert_eq!(ds.missing.len(), 1);
        std::fs::write(
            &csv,
            "audiocap_id,youtube_id,start_time,caption\n1,abc,notanumber,x\n",
        )
        .unwrap();
        let e = Dataset::audiocaps(&csv, d.path()).unwrap_err().to_string();
        assert!(e.contains("test.csv:2:"), "{e}");
    }

    #[test]
    fn jsonl_manifest_resolves_relative_paths_and_checks_segments() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("clips/x.ogg"));
        let m = d.path().join("manifest.jsonl");
        std::fs::write(&m, "{\"audio\": \"clips/x.ogg\", \"captions\": [\"bells ring\"], \"start\": 1.5, \"end\": 4}\n").unwrap();
        let ds = Dataset::jsonl(&m).unwrap();
        assert_eq!(ds.items[0].audio, d.path().join("clips/x.ogg"));
        assert_eq!((ds.items[0].start, ds.items[0].end), (Some(1.5), Some(4.0)));
        std::fs::write(&m, "\n{\"audio\": \"x.ogg\", \"start\": 4, \"end\": 1}\n").unwrap();
        assert!(Dataset::jsonl(&m)
            .unwrap_err()
            .to_string()
            .contains("manifest.jsonl:2:"));
        std::fs::write(&m, "{\"audio\": \"x.ogg\", \"caption\": \"typo\"}\n").unwrap();
        assert!(Dataset::jsonl(&m)
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
    }

    #[test]
    fn audio_folder_lists_audio_recursively_in_order() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b/2.WAV", "a.mp3", "notes.txt", "b/c/1.flac"] {
            touch(&d.path().join(f));
        }
        let ds = Dataset::audio_folder(d.path()).unwrap();
        let names: Vec<_> = ds
            .items
            .iter()
            .map(|i| i.audio.strip_prefix(d.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("a.mp3"),
                PathBuf::from("b/2.WAV"),
                PathBuf::from("b/c/1.flac")
            ]
        );
    }
}
