//! `cox bench schedule` on a small cluster: every pod placed, every placement checked, pods/s
//! over the pods bound, the time per extension point printed, and the same placements and
//! evictions for the same seed.

#[test]
fn bench_schedule_places_every_pod_and_checks_the_placements() {
    let mut output = Vec::new();
    let arguments = ["cox", "bench", "schedule", "--nodes", "50", "--pods", "200", "--existing", "100", "--seed", "3"];
    let status = coxswain_real::cli::run_from(arguments, &mut output);
    let stdout = String::from_utf8(output).unwrap();
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("scheduled: 200, unschedulable: 0"), "{stdout}");
    assert!(stdout.contains("built to fit: yes"), "{stdout}");
    assert!(stdout.contains("placements checked: all fit"), "{stdout}");
    for point in ["PreFilter", "Filter", "PostFilter", "PreScore", "Score", "Reserve", "Bind"] {
        assert!(stdout.contains(&format!(" {point} ")), "{point} missing: {stdout}");
    }
    assert!(stdout.contains("scheduling algorithm: p50 "), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("pods/s: "), "{stdout}");
}

#[test]
fn bench_schedule_fails_when_a_cluster_built_to_fit_leaves_pods_unschedulable_or_does_not_fit() {
    // 3 nodes cannot hold 600 pods: not built to fit, so the unschedulable ones are no failure,
    // and pods/s counts only the pods bound.
    let mut output = Vec::new();
    let arguments = ["cox", "bench", "schedule", "--nodes", "3", "--pods", "600", "--seed", "2"];
    let status = coxswain_real::cli::run_from(arguments, &mut output);
    let stdout = String::from_utf8(output).unwrap();
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("built to fit: no"), "{stdout}");
    let scheduled: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("scheduled: "))
        .and_then(|rest| rest.split(',').next())
        .and_then(|count| count.parse().ok())
        .expect("a scheduled line");
    assert!(scheduled < 600, "{stdout}");
}

/// The full placement list of a run: every `bind POD NODE` and `evict VICTIM NODE PREEMPTOR`.
fn placements(arguments: &[&str]) -> Vec<String> {
    let mut output = Vec::new();
    let status = coxswain_real::cli::run_from(arguments.iter().copied(), &mut output);
    let stdout = String::from_utf8(output).unwrap();
    assert_eq!(status, 0, "{stdout}");
    stdout.lines().filter(|line| line.starts_with("bind ") || line.starts_with("evict ")).map(str::to_owned).collect()
}

#[test]
fn bench_schedule_places_and_evicts_the_same_pods_for_a_seed() {
    let arguments = [
        "cox",
        "bench",
        "schedule",
        "--nodes",
        "30",
        "--pods",
        "60",
        "--existing",
        "120",
        "--workload",
        "mixed",
        "--seed",
        "9",
        "--placements",
    ];
    let first = placements(&arguments);
    assert_eq!(first.iter().filter(|line| line.starts_with("bind ")).count(), 60);
    assert!(first.iter().any(|line| line.starts_with("evict ")), "the mixed workload preempts");
    assert_eq!(first, placements(&arguments));
}
