//! The statistics RITA's beacon scoring is built on, with the same
//! definitions (Tukey hinges, Bowley skew with its guards, MAD) so scores
//! match RITA's to the third decimal.

/// Rounds to three decimals, half away from zero, as Go's `math.Round(x*1000)/1000`.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Rounds up to three decimals.
pub fn ceil3(x: f64) -> f64 {
    (x * 1000.0).ceil() / 1000.0
}

/// Median of sorted data; 0 for none.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if !n.is_multiple_of(2) => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Tukey's hinges (Q1, Q2, Q3) of sorted data: the medians of the lower and
/// upper halves, leaving out the middle element when the count is odd.
pub fn quartiles(sorted: &[f64]) -> (f64, f64, f64) {
    let n = sorted.len();
    let (c1, c2) = if n.is_multiple_of(2) { (n / 2, n / 2) } else { ((n - 1) / 2, (n - 1) / 2 + 1) };
    (median(&sorted[..c1]), median(sorted), median(&sorted[c2..]))
}

/// Median absolute deviation of sorted data.
pub fn mad(sorted: &[f64]) -> f64 {
    let m = median(sorted);
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    median(&dev)
}

/// RITA's score for how regular a distribution is: the mean of a skew score
/// (`1 − |Bowley skew|`, skew taken as 0 when the spread is under 10 or the
/// median sits on a hinge) and a MAD score (`(median − MAD) / median`, or
/// `default_mad` when the median is below 1), rounded to three decimals.
pub fn regularity(sorted: &[f64], default_mad: f64) -> f64 {
    let (q1, q2, q3) = quartiles(sorted);
    let spread = q3 - q1;
    let skew = if spread < 10.0 || q2 == q1 || q2 == q3 { 0.0 } else { (q1 + q3 - 2.0 * q2) / spread };
    let skew_score = 1.0 - skew.abs();
    let m = median(sorted);
    let mut mad_score = if m >= 1.0 { (m - mad(sorted)) / m } else { default_mad };
    if mad_score.is_nan() || mad_score < 0.0 {
        mad_score = 0.0;
    }
    round3((skew_score + mad_score) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hinges_follow_tukey() {
        assert_eq!(quartiles(&[98., 99., 99., 100., 100., 100., 101., 101., 102.]), (99., 100., 101.));
        assert_eq!(quartiles(&[1., 2., 3., 4.]), (1.5, 2.5, 3.5));
        assert_eq!(median(&[]), 0.0);
    }
}
