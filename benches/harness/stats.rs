//! Order statistics over the rounds of one cell, and over the latencies of one run.

/// The median and spread of one cell's samples (one per round).
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

/// Median, min and max of `values`; `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Summary {
        median: quantile(&sorted, 0.5),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        n: sorted.len(),
    })
}

/// The `q` quantile of already sorted values, interpolating between neighbours.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.len() == 1 {
        return sorted[0];
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Mean and 99th percentile, in microseconds, of per-iteration latencies in nanoseconds.
pub fn latency_us(latencies_ns: &[u64]) -> (f64, f64) {
    if latencies_ns.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted: Vec<f64> = latencies_ns.iter().map(|&ns| ns as f64 / 1000.0).collect();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    (mean, quantile(&sorted, 0.99))
}
