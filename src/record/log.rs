//! log_dir: placeholder.
