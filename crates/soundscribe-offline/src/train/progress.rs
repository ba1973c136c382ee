//! Progress bars on the terminal (indicatif), one look for every long phase of a run.

use indicatif::{ProgressBar, ProgressStyle};

/// The bars' look: `template`, or indicatif's default if the template were invalid.
pub(super) fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A progress bar of `len` items.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(style(
        "{msg:>16} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
    ));
    b.set_message(what.to_owned());
    b
}
