//! `soundscribe serve` on SIGHUP: re-read the config file and apply what can change while
//! the model stays loaded: sources added, removed or changed (restarted). Sources that did
//! not change keep running untouched, so their sequence numbers simply continue (the
//! publisher numbers captions per source id and is never restarted). Changes to any
//! other section are logged as "needs restart" and not applied. A file that does not load
//! or validate, or a new source whose input cannot be opened, rejects the whole reload
//! with one error line and the running configuration stays as it was.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use tracing::{error, info, warn};

use crate::audio::{FrontEnd, SourceAdder};
use crate::config::{Config, SourceConfig};
use crate::engine::run::SourceRegistry;
use crate::publish::StatusBoard;

/// What a new configuration changes relative to the running one.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Sources to start: new ids, and the new settings of changed ones.
    pub start: Vec<SourceConfig>,
    /// Ids to stop: gone from the file, or changed (restarted with their new settings).
    pub stop: Vec<String>,
    /// Sources whose settings changed (both in `start` and `stop`).
    pub restarted: usize,
    /// Sources left running as they are.
    pub unchanged: usize,
    /// Sections that differ but only take effect on a restart of the daemon.
    pub needs_restart: Vec<&'static str>,
}

/// Compares the running configuration with a newly loaded one.
pub fn plan(running: &Config, new: &Config) -> Plan {
    let mut plan = Plan::default();
    for src in &new.sources {
        match running.sources.iter().find(|r| r.id() == src.id()) {
            Some(old) if old == src => plan.unchanged += 1,
            Some(_) => {
                plan.restarted += 1;
                plan.stop.push(src.id().to_owned());
                plan.start.push(src.clone());
            }
            None => plan.start.push(src.clone()),
        }
    }
    for old in &running.sources {
        if !new.sources.iter().any(|s| s.id() == old.id()) {
            plan.stop.push(old.id().to_owned());
        }
    }
    let sections = [
        ("windowing", running.windowing != new.windowing),
        ("model", running.model != new.model),
        ("decoding", running.decoding != new.decoding),
        ("engine", running.engine != new.engine),
        ("publishing", running.publishing != new.publishing),
        ("logging", running.logging != new.logging),
    ];
    plan.needs_restart = sections
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name)
        .collect();
    plan
}

/// Checks `soundscribe serve` makes of a configuration beyond [`Config::load`]'s.
pub fn check_for_serve(path: &std::path::Path, config: &Config) -> Result<(), String> {
    if config.model.dir.is_none() {
        return Err(format!("{}: model.dir is not set", path.display()));
    }
    if config.sources.is_empty() {
        return Err(format!("{}: no [[sources]] configured", path.display()));
    }
    Ok(())
}

/// Everything a reload touches; lives on the daemon's reload thread.
pub struct Reloader {
    /// The config file, re-read on every reload.
    pub path: PathBuf,
    /// The configuration in effect (sources as last applied, the rest as started).
    pub running: Config,
    /// The running sources; `None` once the daemon has taken them to shut down.
    pub front: Arc<Mutex<Option<FrontEnd>>>,
    /// Hands new sources' queues to the engine.
    pub adder: SourceAdder,
    /// Per-source counters for the engine and /metrics.
    pub registry: SourceRegistry,
    /// The status heartbeat's counters.
    pub status: Arc<StatusBoard>,
    /// Set once the daemon is stopping; a reload then does nothing.
    pub stop: Arc<AtomicBool>,
}

impl Reloader {
    /// Re-reads the file and applies what it can; every outcome is logged (one error line
    /// when the new file is rejected).
    pub fn reload(&mut self) {
        let path = self.path.display().to_string();
        if self.stop.load(Relaxed) {
            info!(message = "SIGHUP ignored: the daemon is stopping.", config = %path);
            return;
        }
        let new = match Config::load(&self.path) {
            Ok(new) => new,
            Err(e) => {
                let problem = e.to_string().replace('\n', "; ");
                error!(message = "Reload rejected; the running configuration stays.", config = %path, error = %problem);
                return;
            }
        };
        if let Err(problem) = check_for_serve(&self.path, &new) {
            error!(message = "Reload rejected; the running configuration stays.", config = %path, error = %problem);
            return;
        }
        let plan = plan(&self.running, &new);
        for section in &plan.needs_restart {
            warn!(message = "Setting changed; needs restart, not applied.", config = %path, section = %section);
        }
        let mut guard = self.front.lock().unwrap_or_else(|e| e.into_inner());
        let Some(front) = guard.as_mut() else {
            info!(message = "SIGHUP ignored: the daemon is stopping.", config = %path);
            return;
        };
        // Open every new input first: one that fails rejects the reload before anything
        // has changed.
        let mut prepared = Vec::with_capacity(plan.start.len());
        for src in &plan.start {
            match front.prepare(src) {
                Ok(p) => prepared.push(p),
                Err(e) => {
                    error!(message = "Reload rejected; the running configuration stays.", config = %path, error = %format!("{path}: source {:?}: {e}", src.id()));
                    return;
                }
            }
        }
        // Start the new sources before stopping the old ones, so the engine never sees a
        // moment without sources (which would end the daemon).
        let mut started = Vec::with_capacity(prepared.len());
        for p in prepared {
            let id = p.id().to_string();
            let stats = p.stats().clone();
            match front.launch_with(p, &self.adder) {
                Ok(()) => started.push((id, stats)),
                Err(e) => {
                    error!(message = "Cannot start source.", config = %path, source = %id, error = %e)
                }
            }
        }
        for id in &plan.stop {
            // The oldest source with the id: a restarted source's new thread runs on.
            front.retire(id);
            self.registry.remove(id);
        }
        for (id, stats) in started {
            self.registry.insert(&id, stats);
            self.status.register(&id);
        }
        drop(guard);
        self.running.sources = new.sources;
        info!(
            message = "Reloaded.",
            config = %path,
            added = plan.start.len() - plan.restarted,
            removed = plan.stop.len() - plan.restarted,
            restarted = plan.restarted,
            unchanged = plan.unchanged,
            needs_restart = ?plan.needs_restart,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_toml(text, std::path::Path::new("test.toml")).unwrap()
    }

    const A: &str = "[[sources]]\nkind = \"file\"\nid = \"a\"\npath = \"a.wav\"\n";
    const B: &str = "[[sources]]\nkind = \"file\"\nid = \"b\"\npath = \"b.wav\"\n";

    #[test]
    fn plan_adds_removes_and_restarts_sources_by_id() {
        let running = config(A);
        let p = plan(&running, &config(&format!("{A}{B}")));
        assert_eq!((p.start.len(), p.stop.len(), p.unchanged), (1, 0, 1));
        assert_eq!(p.start[0].id(), "b");
        let p = plan(&config(&format!("{A}{B}")), &config(B));
        assert_eq!(p.stop, vec!["a".to_owned()]);
        assert!(p.start.is_empty());
        let changed = config(&A.replace("a.wav", "c.wav"));
        let p = plan(&running, &changed);
        assert_eq!((p.restarted, p.stop.len(), p.start.len()), (1, 1, 1));
        assert!(p.needs_restart.is_empty());
    }

    #[test]
    fn plan_reports_sections_that_need_a_restart() {
        let running = config(A);
        let new = config(&format!(
            "{A}[engine]\nmax_batch = 3\n[windowing]\nhop_s = 0.5\n"
        ));
        assert_eq!(
            plan(&running, &new).needs_restart,
            vec!["windowing", "engine"]
        );
    }
}
