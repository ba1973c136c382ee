//! METEOR 1.5 through the jar pycocoevalcap ships, spoken to over its `-stdio` protocol
//! exactly as pycocoevalcap's `meteor.py` does.
//!
//! `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm` (working directory = the jar's,
//! where it finds `data/paraphrase-en.gz`). For each item we send
//! `SCORE ||| ref1 ||| ... ||| refN ||| hyp` and read back a line of statistics; then one
//! `EVAL ||| stats1 ||| ... ||| statsK` line returns K per-item scores and the corpus score
//! (computed by METEOR from the pooled statistics, not the mean of the items).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// METEOR for a corpus and for each item.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteorScores {
    /// METEOR over the pooled statistics of all items.
    pub corpus: f64,
    /// Per-item METEOR, in input order.
    pub per_item: Vec<f64>,
}

/// A running METEOR process.
pub struct Meteor {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
}

impl Meteor {
    /// Starts `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`.
    pub fn spawn(java: &Path, jar: &Path) -> Result<Self, String> {
        let dir = jar.parent().unwrap_or(Path::new("."));
        let mut child = Command::new(java)
            .args(["-jar", "-Xmx2G"])
            .arg(jar.file_name().unwrap_or(jar.as_os_str()))
            .args(["-", "-", "-stdio", "-l", "en", "-norm"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} -jar {}: {e}",
                    java.display(),
                    jar.display()
                )
            })?;
        let (Some(stdin), Some(stdout), Some(mut err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("METEOR process has no stdio pipes".into());
        };
        // Drain stderr so that a chatty JVM never blocks on a full pipe; keep it for errors.
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            if let Ok(mut s) = sink.lock() {
                s.push_str(&buf);
            }
        });
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
            stderr_thread: Some(stderr_thread),
        })
    }

    /// Scores tokenized `cands[i]` against tokenized `refs[i]` (every item needs ≥ 1
    /// reference; `|||` is removed from all texts, as it separates fields).
    pub fn score(
        &mut self,
        cands: &[String],
        refs: &[Vec<String>],
    ) -> Result<MeteorScores, String> {
        assert_eq!(cands.len(), refs.len(), "one reference list per candidate");
        let mut eval_line = String::from("EVAL");
        for (c, rs) in cands.iter().zip(refs) {
            if rs.is_empty() {
                return Err("METEOR needs at least one reference per item".into());
            }
            let refs: Vec<String> = rs.iter().map(|r| clean(r)).collect();
            let line = format!("SCORE ||| {} ||| {}", refs.join(" ||| "), clean(c));
            self.send(&line)?;
            let stats = self.read_line()?;
            eval_line.push_str(" ||| ");
            eval_line.push_str(stats.trim());
        }
        self.send(&eval_line)?;
        let mut per_item = Vec::with_capacity(cands.len());
        for _ in 0..cands.len() {
            per_item.push(self.read_number()?);
        }
        let corpus = self.read_number()?;
        Ok(MeteorScores { corpus, per_item })
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| self.died(&format!("write failed: {e}")))
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(self.died("closed its output")),
            Ok(_) => Ok(line),
            Err(e) => Err(self.died(&format!("read failed: {e}"))),
        }
    }

    fn read_number(&mut self) -> Result<f64, String> {
        let line = self.read_line()?;
        line.trim().parse().map_err(|_| {
            format!(
                "METEOR answered {:?} where a score was expected",
                line.trim()
            )
        })
    }

    fn died(&mut self, what: &str) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let tail: String = err
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        format!("METEOR process {what}; its stderr ends with:\n{tail}")
    }
}

impl Drop for Meteor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// pycocoevalcap's sanitising of a text field: no `|||`, no double spaces.
fn clean(s: &str) -> String {
    s.replace("|||", "").replace("  ", " ")
}
