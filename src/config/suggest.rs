//! "Did you mean": the closest known word to a misspelt one, by edit distance.

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment),
/// case-insensitive: "pign" is one typo away from "ping".
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (
        a.to_ascii_lowercase().into_bytes(),
        b.to_ascii_lowercase().into_bytes(),
    );
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo: one edit for short
/// words, up to a third of the word's length for longer ones.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.len() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `" (did you mean 'x'?)"` or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("interval", "interval"), 0);
        assert_eq!(distance("intervall", "interval"), 1);
        assert_eq!(distance("intrevla", "interval"), 2);
        assert_eq!(distance("pign", "ping"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("Track_IP", "track_ip"), 0);
    }

    #[test]
    fn suggests_only_plausible_typos() {
        let opts = [
            "interval",
            "failure_interval",
            "timeout",
            "track_ip",
            "up",
            "down",
        ];
        assert_eq!(did_you_mean("intervall", opts), Some("interval"));
        assert_eq!(did_you_mean("trackip", opts), Some("track_ip"));
        assert_eq!(
            did_you_mean("failure_intervals", opts),
            Some("failure_interval")
        );
        assert_eq!(did_you_mean("dwn", opts), Some("down"));
        assert_eq!(did_you_mean("bandwidth", opts), None);
        assert_eq!(did_you_mean("xy", opts), None);
        assert_eq!(hint("timeuot", opts), " (did you mean 'timeout'?)");
        assert_eq!(hint("zzz", opts), "");
    }
}
