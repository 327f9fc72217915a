//! Recordings: what fdscope does with a transcript once it is written. The fd order as a
//! picture ([`diagram`]: an SVG sequence diagram; [`sequence`] is the model it shares with
//! the console's text lanes), a terminal session for asciinema ([`asciicast`]), and the
//! per-instance log files written as events happen ([`log`]).

pub mod asciicast;
pub mod cli;
pub mod diagram;
pub mod log;
pub mod sequence;
