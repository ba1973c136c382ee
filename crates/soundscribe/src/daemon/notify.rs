//! systemd's notify protocol (`sd_notify`): READY, RELOADING, STOPPING, WATCHDOG.

/// `RELOADING=1` with the `MONOTONIC_USEC=` that `Type=notify-reload` units require.
pub fn reloading() -> Vec<sd_notify::NotifyState<'static>> {
    let mut state = vec![sd_notify::NotifyState::Reloading];
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        state.push(now);
    }
    state
}

/// Tells systemd (when started by it) how the service is doing; no-op otherwise.
pub fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        let _ = sd_notify::notify(state);
    }
}
