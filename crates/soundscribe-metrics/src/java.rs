//! Finding Java and the jars that pycocoevalcap ships (`scripts/fetch-eval-assets.sh`
//! unpacks them into `assets/pycocoevalcap-1.2/`).
//!
//! METEOR and SPICE are Java programs; when Java or a jar is missing the metric is reported
//! as unavailable with the reason from here, never as 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Environment variable naming the Java executable (default: `java` on `PATH`).
pub const JAVA_ENV: &str = "SOUNDSCRIBE_JAVA";
/// Environment variable naming the unpacked pycocoevalcap directory.
pub const ASSETS_ENV: &str = "SOUNDSCRIBE_EVAL_ASSETS";
/// Where `scripts/fetch-eval-assets.sh` unpacks pycocoevalcap, relative to the project.
pub const ASSETS_SUBDIR: &str = "assets/pycocoevalcap-1.2";

/// Where the Java metric programs live.
#[derive(Debug, Clone)]
pub struct JavaAssets {
    /// The unpacked pycocoevalcap directory (`meteor/`, `spice/`, `tokenizer/`).
    pub dir: PathBuf,
}

impl JavaAssets {
    /// `$SOUNDSCRIBE_EVAL_ASSETS`, else `./assets/pycocoevalcap-1.2` if it exists, else the
    /// one in the source tree this binary was built from.
    pub fn locate() -> Self {
        if let Some(dir) = std::env::var_os(ASSETS_ENV) {
            return Self { dir: dir.into() };
        }
        let here = PathBuf::from(ASSETS_SUBDIR);
        let dir = if here.is_dir() {
            here
        } else {
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(ASSETS_SUBDIR)
        };
        Self { dir }
    }

    /// An explicit directory.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `meteor/meteor-1.5.jar`, if present together with its paraphrase table.
    pub fn meteor_jar(&self) -> Result<PathBuf, String> {
        let jar = self.dir.join("meteor/meteor-1.5.jar");
        let para = self.dir.join("meteor/data/paraphrase-en.gz");
        require(&jar)?;
        require(&para)?;
        Ok(jar)
    }

    /// `tokenizer/stanford-corenlp-3.4.1.jar` (the reference PTB tokenizer), if present.
    pub fn corenlp_3_4_1_jar(&self) -> Result<PathBuf, String> {
        let jar = self.dir.join("tokenizer/stanford-corenlp-3.4.1.jar");
        require(&jar)?;
        Ok(jar)
    }

    /// `spice/spice-1.0.jar`, if present together with the Stanford CoreNLP 3.6.0 jar and
    /// models it loads from `spice/lib/` (not on PyPI: pycocoevalcap downloads them from
    /// nlp.stanford.edu on first use, which this project does not do).
    pub fn spice_jar(&self) -> Result<PathBuf, String> {
        let jar = self.dir.join("spice/spice-1.0.jar");
        require(&jar)?;
        for f in [
            "stanford-corenlp-3.6.0.jar",
            "stanford-corenlp-3.6.0-models.jar",
        ] {
            let p = self.dir.join("spice/lib").join(f);
            if !p.is_file() {
                return Err(format!(
                    "{} not found: SPICE needs Stanford CoreNLP 3.6.0 and its models \
                     (stanford-corenlp-3.6.0.jar, stanford-corenlp-3.6.0-models.jar from \
                     nlp.stanford.edu; not on any package registry) in that directory",
                    p.display()
                ));
            }
        }
        Ok(jar)
    }
}

fn require(p: &Path) -> Result<(), String> {
    if p.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} not found (run scripts/fetch-eval-assets.sh, or set {ASSETS_ENV})",
            p.display()
        ))
    }
}

/// The Java executable, if one runs: `$SOUNDSCRIBE_JAVA` or `java` on `PATH`.
pub fn find_java() -> Result<PathBuf, String> {
    let java = std::env::var_os(JAVA_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("java"));
    match Command::new(&java)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(java),
        Ok(s) => Err(format!("`{} -version` failed ({s})", java.display())),
        Err(e) => Err(format!(
            "no Java runtime (`{}`: {e}); install default-jre-headless or set {JAVA_ENV}",
            java.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_jars_are_named_with_the_way_to_get_them() {
        let dir = tempfile::tempdir().unwrap();
        let assets = JavaAssets::at(dir.path());
        let err = assets.meteor_jar().unwrap_err();
        assert!(
            err.contains("meteor-1.5.jar") && err.contains("fetch-eval-assets.sh"),
            "{err}"
        );

        std::fs::create_dir_all(dir.path().join("spice")).unwrap();
        std::fs::write(dir.path().join("spice/spice-1.0.jar"), b"jar").unwrap();
        let err = assets.spice_jar().unwrap_err();
        assert!(
            err.contains("stanford-corenlp-3.6.0.jar")
                && err.contains("not on any package registry"),
            "{err}"
        );
    }
}
