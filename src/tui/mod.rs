//! Stand-in for the interactive console (the real one lands from the `tui` branch).
/// Runs the console.
pub fn run(_config: crate::config::Config, _start: Vec<String>) -> anyhow::Result<i32> {
    anyhow::bail!("the interactive console is not built yet; try `fdscope run --help`")
}
