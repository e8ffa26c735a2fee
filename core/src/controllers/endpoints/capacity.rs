//! The Endpoints capacity rule (`truncateEndpoints`): an Endpoints object lists at most
//! [`MAX_CAPACITY`] addresses. Over it, not-ready addresses are cut first, each subset keeping
//! its share (rounded up, never past the total); if the ready ones alone are over, every
//! not-ready address goes and the ready ones are cut the same way. The object then carries
//! `endpoints.kubernetes.io/over-capacity: truncated`; EndpointSlices carry the full list.
//! Departure: a subset cut to no address at all is dropped rather than kept empty.

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset};

/// Most addresses one Endpoints object lists (`maxCapacity`).
pub const MAX_CAPACITY: usize = 1000;
/// The annotation marking truncated Endpoints (`v1.EndpointsOverCapacity`).
pub const OVER_CAPACITY_ANNOTATION: &str = "endpoints.kubernetes.io/over-capacity";
/// Its value (`truncated`).
pub const TRUNCATED: &str = "truncated";

fn count(addresses: &Option<Vec<EndpointAddress>>) -> usize {
    addresses.as_ref().map_or(0, Vec::len)
}

/// Cuts the subsets to [`MAX_CAPACITY`] addresses; returns whether anything was cut.
pub fn truncate(subsets: &mut Vec<EndpointSubset>) -> bool {
    let total_ready: usize = subsets.iter().map(|subset| count(&subset.addresses)).sum();
    let total_not_ready: usize = subsets.iter().map(|subset| count(&subset.not_ready_addresses)).sum();
    if total_ready + total_not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = total_ready > MAX_CAPACITY;
    let (max, total) =
        if truncate_ready { (MAX_CAPACITY, total_ready) } else { (MAX_CAPACITY - total_ready, total_not_ready) };
    let mut can_be_added = max;
    for subset in subsets.iter_mut() {
        let in_subset = if truncate_ready { count(&subset.addresses) } else { count(&subset.not_ready_addresses) };
        let share = (in_subset as f64 / total as f64 * max as f64).ceil() as usize;
        let to_be_added = share.min(can_be_added);
        let cut = |addresses: &mut Option<Vec<EndpointAddress>>| {
            if let Some(list) = addresses.as_mut() {
                list.truncate(to_be_added);
            }
            let kept = count(addresses);
            if kept == 0 {
                *addresses = None;
            }
            kept
        };
        if truncate_ready {
            can_be_added -= cut(&mut subset.addresses);
            subset.not_ready_addresses = None;
        } else {
            can_be_added -= cut(&mut subset.not_ready_addresses);
        }
    }
    // A subset cut to nothing is dropped, as repacking would drop it.
    subsets.retain(|subset| subset.addresses.is_some() || subset.not_ready_addresses.is_some());
    true
}

#[cfg(test)]
mod tests {
    //! Ported from `endpoints_controller_test.go` (`TestTruncateEndpoints`).

    use super::*;

    fn subsets(ready: &[usize], not_ready: &[usize]) -> Vec<EndpointSubset> {
        let addresses = |count: usize| (count > 0).then(|| vec![EndpointAddress::default(); count]);
        ready
            .iter()
            .zip(not_ready)
            .map(|(ready, not_ready)| EndpointSubset {
                addresses: addresses(*ready),
                not_ready_addresses: addresses(*not_ready),
                ports: None,
            })
            .collect()
    }

    /// A row: name, then the ready and not-ready counts in and out, and whether truncated.
    type Row = (&'static str, [usize; 5], [usize; 5], [usize; 5], [usize; 5], bool);

    #[test]
    fn endpoints_over_capacity_are_cut_in_proportion() {
        let rows: [Row; 4] = [
            (
                "total endpoints < max capacity",
                [50, 100, 100, 100, 100],
                [50, 100, 100, 100, 100],
                [50, 100, 100, 100, 100],
                [50, 100, 100, 100, 100],
                false,
            ),
            ("total endpoints = max capacity", [100; 5], [100; 5], [100; 5], [100; 5], false),
            (
                "total ready endpoints < max capacity, but total endpoints > max capacity",
                [90, 110, 50, 10, 20],
                [101, 200, 200, 201, 298],
                [90, 110, 50, 10, 20],
                [73, 144, 144, 145, 214],
                true,
            ),
            (
                "total ready endpoints > max capacity",
                [205, 400, 402, 400, 693],
                [100, 200, 200, 200, 300],
                [98, 191, 192, 191, 328],
                [0; 5],
                true,
            ),
        ];
        assert!(!truncate(&mut Vec::new()), "empty");
        for (name, ready, not_ready, expected_ready, expected_not_ready, truncated) in rows {
            let mut subsets = subsets(&ready, &not_ready);
            assert_eq!(truncate(&mut subsets), truncated, "{name}");
            let got_ready: Vec<usize> = subsets.iter().map(|subset| count(&subset.addresses)).collect();
            let got_not_ready: Vec<usize> = subsets.iter().map(|subset| count(&subset.not_ready_addresses)).collect();
            assert_eq!(got_ready, expected_ready, "{name}: ready");
            assert_eq!(got_not_ready, expected_not_ready, "{name}: not ready");
        }
    }
}
