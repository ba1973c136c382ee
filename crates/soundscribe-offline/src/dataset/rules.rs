//! The rule table (`data/rules.toml`): path regex → label → caption phrases, plus which
//! packages are held out for validation and test.
//!
//! ```toml
//! exclude = ['/music/']                 # paths never used
//! [split]
//! val = ["sonic-pi-samples"]            # split units: a package, or `package:group`
//! test = ["wesnoth-1.16-data"]
//! [packages.generated-speech]
//! license = "GPL-3+ (espeak-ng)"        # instead of usr/share/doc/<pkg>/copyright
//! group = '^([^/]+)/'                   # capture 1 of the package-relative path: split unit
//! [[label]]
//! name = "dog"
//! captions = ["a dog barks", "a dog is barking loudly", "a dog barks several times"]
//! match = ['(?i)\bdog']                 # on `<package>/<path inside the package>`
//! ```
//!
//! Labels are tried in file order; the first whose pattern matches wins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

/// Fewest caption phrases a label may have.
pub const MIN_PHRASES: usize = 3;

/// Why a rule table could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct RulesError {
    /// The rules file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// One sound-event label.
#[derive(Debug, Clone)]
pub struct Label {
    /// Vocabulary name, e.g. `dog`.
    pub name: String,
    /// Caption phrases (clauses such as "a dog barks").
    pub captions: Vec<String>,
    patterns: Vec<Regex>,
}

/// Per-package settings.
#[derive(Debug, Clone, Default)]
pub struct PackageRule {
    /// License text used instead of the package's copyright file.
    pub license: Option<String>,
    /// Regex whose capture 1 on the package-relative path names the split unit.
    pub group: Option<Regex>,
}

/// A parsed, checked rule table.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Labels in priority order.
    pub labels: Vec<Label>,
    exclude: Vec<Regex>,
    /// Package settings by package name.
    pub packages: BTreeMap<String, PackageRule>,
    /// Split units held out for validation.
    pub val: BTreeSet<String>,
    /// Split units held out for test.
    pub test: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    split: RawSplit,
    #[serde(default)]
    packages: BTreeMap<String, RawPackage>,
    #[serde(default)]
    label: Vec<RawLabel>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    #[serde(default)]
    val: Vec<String>,
    #[serde(default)]
    test: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    license: Option<String>,
    group: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabel {
    name: String,
    #[serde(default)]
    captions: Vec<String>,
    #[serde(rename = "match", default)]
    patterns: Vec<String>,
}

impl Rules {
    /// Reads and checks the rule table at `path`.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            path: path.to_owned(),
            message: format!("cannot read: {e}"),
        })?;
        Rules::parse(path, &text)
    }

    /// Parses rule-table text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Rules, RulesError> {
        let err = |message: String| RulesError {
            path: path.to_owned(),
            message,
        };
        let raw: RawRules = toml::from_str(text).map_err(|e| err(format!("bad TOML: {e}")))?;
        let regex = |what: &str, p: &str| {
            Regex::new(p).map_err(|e| err(format!("{what}: bad regex {p:?}: {e}")))
        };
        let mut labels = Vec::new();
        let mut seen = BTreeSet::new();
        for l in raw.label {
            let name = l.name.trim().to_owned();
            if name.is_empty() {
                return Err(err("a [[label]] has an empty name".into()));
            }
            if !seen.insert(name.clone()) {
                return Err(err(format!("label {name:?} is defined twice")));
            }
            let captions: Vec<String> = l
                .captions
                .iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            if captions.len() != l.captions.len() {
                return Err(err(format!("label {name:?} has an empty caption phrase")));
            }
            if captions.len() < MIN_PHRASES {
                return Err(err(format!(
                    "label {name:?} needs at least {MIN_PHRASES} caption phrases, has {}",
                    captions.len()
                )));
            }
            if l.patterns.is_empty() {
                return Err(err(format!("label {name:?} has no match patterns")));
            }
            let patterns = l
                .patterns
                .iter()
                .map(|p| regex(&format!("label {name:?}"), p))
                .collect::<Result<Vec<_>, _>>()?;
            labels.push(Label {
                name,
                captions,
                patterns,
            });
        }
        if labels.is_empty() {
            return Err(err("no [[label]] rules".into()));
        }
        let exclude = raw
            .exclude
            .iter()
            .map(|p| regex("exclude", p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut packages = BTreeMap::new();
        for (name, p) in raw.packages {
            let group = match &p.group {
                Some(g) => {
                    let re = regex(&format!("package {name:?} group"), g)?;
                    if re.captures_len() < 2 {
                        return Err(err(format!(
                            "package {name:?} group {g:?} has no capture group"
                        )));
                    }
                    Some(re)
                }
                None => None,
            };
            packages.insert(
                name,
                PackageRule {
                    license: p.license,
                    group,
                },
            );
        }
        let val: BTreeSet<String> = raw.split.val.into_iter().collect();
        let test: BTreeSet<String> = raw.split.test.into_iter().collect();
        if let Some(both) = val.intersection(&test).next() {
            return Err(err(format!("split unit {both:?} is in both val and test")));
        }
        Ok(Rules {
            labels,
            exclude,
            packages,
            val,
            test,
        })
    }

    /// The label of `path` (`<package>/<path inside>`), or `None` when excluded or unmatched.
    pub fn label_of(&self, path: &str) -> Option<&Label> {
        self.label_index(path).map(|i| &self.labels[i])
    }

    /// The index in `labels` of [`Rules::label_of`]'s label.
    pub fn label_index(&self, path: &str) -> Option<usize> {
        if self.exclude.iter().any(|r| r.is_match(path)) {
            return None;
        }
        self.labels
            .iter()
            .position(|l| l.patterns.iter().any(|r| r.is_match(path)))
    }

    /// The split unit of a file: its package, or `package:group` when the package has a
    /// group regex that matches `inside` (the package-relative path).
    pub fn unit_of(&self, package: &str, inside: &str) -> String {
        let group = self
            .packages
            .get(package)
            .and_then(|p| p.group.as_ref())
            .and_then(|g| g.captures(inside))
            .and_then(|c| c.get(1));
        match group {
            Some(g) => format!("{package}:{}", g.as_str()),
            None => package.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
exclude = ['/ui/']
[split]
test = ["p2"]
[packages.p1]
group = '^([^/]+)/'
[[label]]
name = "dog"
captions = ["a dog barks", "a dog is barking", "a dog barks twice"]
match = ['(?i)dog']
"#;

    #[test]
    fn labels_excludes_and_units() {
        let r = Rules::parse(Path::new("r.toml"), GOOD).unwrap();
        assert_eq!(r.label_of("p1/a/Dog-1.ogg").unwrap().name, "dog");
        assert!(r.label_of("p1/ui/dog.ogg").is_none());
        assert!(r.label_of("p1/cat.ogg").is_none());
        assert_eq!(r.unit_of("p1", "voiceA/x.wav"), "p1:voiceA");
        assert_eq!(r.unit_of("p2", "voiceA/x.wav"), "p2");
    }

    fn message(text: &str) -> String {
        Rules::parse(Path::new("data/bad.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_input_is_one_error_naming_the_file() {
        let bad_regex = GOOD.replace("(?i)dog", "(dog");
        let m = message(&bad_regex);
        assert!(
            m.starts_with("data/bad.toml: label \"dog\": bad regex"),
            "{m}"
        );
        let empty = GOOD.replace(
            r#"["a dog barks", "a dog is barking", "a dog barks twice"]"#,
            "[]",
        );
        let m = message(&empty);
        assert!(
            m.starts_with("data/bad.toml: label \"dog\" needs at least 3"),
            "{m}"
        );
        let blank = GOOD.replace("\"a dog barks\"", "\"  \"");
        assert!(message(&blank).contains("empty caption phrase"));
        assert!(message("label = 3").starts_with("data/bad.toml: bad TOML"));
        assert!(message(&GOOD.replace("'^([^/]+)/'", "'^[^/]+/'")).contains("no capture"));
        assert!(
            message(&GOOD.replace("test = [\"p2\"]", "test = [\"p2\"]\nval = [\"p2\"]"))
                .contains("both val and test")
        );
    }
}
