//! asciicast export: placeholder.
