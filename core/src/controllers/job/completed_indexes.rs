//! `status.completedIndexes` of Indexed Jobs: sorted indexes written as comma-separated
//! intervals (`1,3-5`), as Kubernetes' `orderedIntervals.String` formats them: a run of two
//! is written as two indexes (`0,1`), longer runs as a range.

use std::collections::BTreeSet;

/// Formats indexes as Kubernetes does: runs of three or more consecutive indexes become `a-b`.
pub fn format_completed_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut intervals: Vec<(i32, i32)> = Vec::new();
    for &index in indexes {
        match intervals.last_mut() {
            Some((_, last)) if *last + 1 == index => *last = index,
            _ => intervals.push((index, index)),
        }
    }
    let parts: Vec<String> = intervals
        .into_iter()
        .map(|(first, last)| match last - first {
            0 => first.to_string(),
            1 => format!("{first},{last}"),
            _ => format!("{first}-{last}"),
        })
        .collect();
    parts.join(",")
}

/// Reads `completedIndexes` back, keeping only indexes below `completions`; malformed parts are
/// skipped, as Kubernetes' `parseIndexesFromString` does.
pub fn parse_completed_indexes(text: &str, completions: i32) -> BTreeSet<i32> {
    let mut indexes = BTreeSet::new();
    for part in text.split(',').filter(|part| !part.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first.parse::<i32>(), last.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else { continue };
        indexes.extend((first.max(0)..=last.min(completions - 1)).filter(|index| *index >= 0));
    }
    indexes
}
