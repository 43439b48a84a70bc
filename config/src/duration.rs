//! Go-style durations (`30s`, `1m`, `1h30m`, `500ms`) as Flux and Kubernetes write them.

use std::time::Duration;

/// Parses a Go duration string. Returns `None` for anything else, including an empty
/// string and negative values, which have no meaning for intervals and timeouts.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => value / 1e9,
            "us" | "µs" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(Duration::try_from_secs_f64(seconds).ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<u64>) {
        assert_eq!(
            parse_duration(input).map(|d| d.as_millis() as u64),
            expected,
            "{input}"
        );
    }

    #[test]
    fn go_durations() {
        check("1m", Some(60_000));
        check("1h30m", Some(5_400_000));
        check("500ms", Some(500));
        check("2.5s", Some(2_500));
        check("0", Some(0));
        check("", None);
        check("10", None);
        check("5d", None);
        check("-1s", None);
        check("m", None);
        // Regression: terms that each fit but overflow together once panicked.
        check("18000000000000000000s18000000000000000000s", None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "[0-9.a-zµ]{0,40}") {
            let _ = parse_duration(&text);
        }
    }
}
