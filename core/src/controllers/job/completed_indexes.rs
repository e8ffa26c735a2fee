//! Sets of completion indexes as Kubernetes keeps them (`orderedIntervals`): sorted, disjoint
//! intervals, so `completedIndexes: 0-99999` or a hostile `0-2147483646` costs one interval,
//! not one entry per index. Written as comma-separated intervals (`1,3-5`), where a run of two
//! is two indexes (`0,1`) and longer runs a range.

use std::fmt;

/// Sorted, disjoint, non-adjacent closed intervals of non-negative indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexIntervals {
    intervals: Vec<(i32, i32)>,
}

impl IndexIntervals {
    /// Reads `completedIndexes` or `failedIndexes` (`parseIndexesFromString`), keeping only
    /// indexes in `0..completions`; malformed parts are skipped.
    pub fn parse(text: &str, completions: i32) -> IndexIntervals {
        let last_valid = completions.saturating_sub(1);
        let mut intervals = Vec::new();
        for part in text.split(',').filter(|part| !part.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((first, last)) => (first.parse::<i32>(), last.parse::<i32>()),
                None => (part.parse::<i32>(), part.parse::<i32>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else { continue };
            let (first, last) = (first.max(0), last.min(last_valid));
            if first <= last {
                intervals.push((first, last));
            }
        }
        IndexIntervals::normalized(intervals)
    }

    /// The set of the given indexes (negative ones are dropped).
    pub fn from_indexes(indexes: impl IntoIterator<Item = i32>) -> IndexIntervals {
        IndexIntervals::normalized(
            indexes.into_iter().filter(|index| *index >= 0).map(|index| (index, index)).collect(),
        )
    }

    fn normalized(mut intervals: Vec<(i32, i32)>) -> IndexIntervals {
        intervals.sort_unstable();
        let mut merged: Vec<(i32, i32)> = Vec::with_capacity(intervals.len());
        for (first, last) in intervals {
            match merged.last_mut() {
                Some((_, previous)) if first <= previous.saturating_add(1) => *previous = (*previous).max(last),
                _ => merged.push((first, last)),
            }
        }
        IndexIntervals { intervals: merged }
    }

    /// Both sets together (`merge`).
    pub fn union(&self, other: &IndexIntervals) -> IndexIntervals {
        IndexIntervals::normalized(self.intervals.iter().chain(&other.intervals).copied().collect())
    }

    /// Adds indexes (`withOrderedIndexes`).
    pub fn extend(&mut self, indexes: impl IntoIterator<Item = i32>) {
        *self = self.union(&IndexIntervals::from_indexes(indexes));
    }

    /// Whether the set holds `index` (`has`), by binary search.
    pub fn contains(&self, index: i32) -> bool {
        let position = self.intervals.partition_point(|(_, last)| *last < index);
        self.intervals.get(position).is_some_and(|(first, _)| *first <= index)
    }

    /// How many indexes the set holds (`total`).
    pub fn total(&self) -> u64 {
        self.intervals.iter().map(|(first, last)| (i64::from(*last) - i64::from(*first) + 1) as u64).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// How many indexes both sets hold, walking both interval lists once.
    pub fn intersection_total(&self, other: &IndexIntervals) -> u64 {
        let (mut mine, mut theirs, mut total) = (0, 0, 0u64);
        while let (Some(&(first_a, last_a)), Some(&(first_b, last_b))) =
            (self.intervals.get(mine), other.intervals.get(theirs))
        {
            let overlap = i64::from(last_a.min(last_b)) - i64::from(first_a.max(first_b)) + 1;
            total += overlap.max(0) as u64;
            if last_a <= last_b {
                mine += 1;
            }
            if last_b <= last_a {
                theirs += 1;
            }
        }
        total
    }

    /// The lowest `count` indexes in `0..completions` the set does not hold, found by walking
    /// the gaps, so the cost follows `count` and the number of intervals.
    pub fn first_missing(&self, count: usize, completions: i32) -> Vec<i32> {
        let mut missing = Vec::new();
        let mut candidate = 0i32;
        for &(first, last) in &self.intervals {
            while candidate < first && candidate < completions && missing.len() < count {
                missing.push(candidate);
                candidate += 1;
            }
            if missing.len() == count || candidate >= completions {
                return missing;
            }
            candidate = candidate.max(last.saturating_add(1));
            if last == i32::MAX {
                return missing;
            }
        }
        while candidate < completions && missing.len() < count {
            missing.push(candidate);
            candidate += 1;
        }
        missing
    }
}

impl fmt::Display for IndexIntervals {
    /// Kubernetes' `orderedIntervals.String`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, (first, last)) in self.intervals.iter().enumerate() {
            if position > 0 {
                formatter.write_str(",")?;
            }
            match i64::from(*last) - i64::from(*first) {
                0 => write!(formatter, "{first}")?,
                1 => write!(formatter, "{first},{last}")?,
                _ => write!(formatter, "{first}-{last}")?,
            }
        }
        Ok(())
    }
}
