// The remote-control request parser (`fdscope::control::request::parse`) on arbitrary
// bytes, with the promises a client relies on: never a panic; an error is one line of
// text (it becomes `{"ok":false,"error":…}`); a request read back from its own JSON line
// is the same request; an error reply is valid JSON with `ok` false.
//
// Included by `fuzz/fuzz_targets/control.rs` and by `tests/control_fuzz_seeds.rs`.

/// Checks one input; panics on a broken promise.
pub fn run(data: &[u8]) {
    use fdscope::control::request;
    match request::parse(data) {
        Ok(req) => {
            let line = req.to_line();
            assert!(!line.contains('\n'), "a request line spans lines: {line:?}");
            assert_eq!(request::parse(line.as_bytes()), Ok(req), "round trip of {line}");
        }
        Err(message) => {
            assert!(!message.is_empty());
            let reply = request::error(&message);
            assert!(!reply.contains('\n'), "an error reply spans lines: {reply:?}");
            let value: serde_json::Value = serde_json::from_str(&reply).expect("reply is JSON");
            assert_eq!(value["ok"], false);
            assert_eq!(value["error"], message.as_str());
        }
    }
}
