use fdscope::{spawn, ProcessEvent, ProcessSpec};

#[tokio::test]
async fn wc_counts() {
    let p = spawn(&ProcessSpec::new("wc")).unwrap();
    p.transport.write("hello world\n").unwrap();
    p.transport.close_stdin().unwrap();
    let evs = p.events.collect().await;
    for e in &evs {
        println!("{e:?}");
    }
    assert!(matches!(
        evs.last(),
        Some(ProcessEvent::ProcessEnded { .. })
    ));
}
