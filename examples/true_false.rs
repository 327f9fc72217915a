//! The seed's `getProcessValue` example ("Doing it the Easy Way"): runs `/bin/true`,
//! then `/bin/false`, and prints the exit code of each.
//!
//! ```text
//! cargo run --example true_false
//! ```

use fdscope::utils::get_process_value;
use fdscope::ProcessSpec;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // One after the other, as the seed chains printTrueValue into the second call.
    for program in ["/bin/true", "/bin/false"] {
        let rc = get_process_value(&ProcessSpec::new(program)).await?;
        println!("{program} exits with rc={rc}");
    }
    Ok(())
}
