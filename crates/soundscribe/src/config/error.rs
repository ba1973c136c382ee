//! Configuration errors that name the file, the line and the field.

use std::fmt;
use std::path::{Path, PathBuf};

use super::locate;

/// One problem with one field, found by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path of the field, e.g. `windowing.hop_s` or `sources[1].path`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigIssue {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem located in the file: `file:line:column: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line, when the problem can be placed in the file.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted field path, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Why a configuration file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the configuration came from.
    pub path: PathBuf,
    /// Every problem found (reading and parsing stop at the first).
    pub problems: Vec<Located>,
}

impl ConfigError {
    pub(super) fn io(path: &Path, err: &std::io::Error) -> Self {
        ConfigError {
            path: path.to_owned(),
            problems: vec![Located {
                line: None,
                column: None,
                field: None,
                message: format!("cannot read file: {err}"),
            }],
        }
    }

    pub(super) fn parse(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let (line, column, field) = match err.span() {
            Some(span) => {
                let (l, c) = locate::line_col(text, span.start);
                (Some(l), Some(c), locate::field_at(text, span))
            }
            None => (None, None, None),
        };
        let message = err.message().trim().replace('\n', " ");
        ConfigError {
            path: path.to_owned(),
            problems: vec![Located {
                line,
                column,
                field,
                message,
            }],
        }
    }

    pub(super) fn invalid(path: &Path, text: &str, issues: Vec<ConfigIssue>) -> Self {
        let problems = issues
            .into_iter()
            .map(|issue| {
                let pos =
                    locate::span_of(text, &issue.field).map(|s| locate::line_col(text, s.start));
                Located {
                    line: pos.map(|p| p.0),
                    column: pos.map(|p| p.1),
                    field: Some(issue.field),
                    message: issue.message,
                }
            })
            .collect();
        ConfigError {
            path: path.to_owned(),
            problems,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.path.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(col) = p.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
            if let Some(field) = &p.field {
                write!(f, "{field}: ")?;
            }
            write!(f, "{}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
