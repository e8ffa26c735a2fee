//! `cox bench schedule` on a small cluster: every pod placed, every placement checked.

#[test]
fn bench_schedule_places_every_pod_and_checks_the_placements() {
    let mut output = Vec::new();
    let arguments = ["cox", "bench", "schedule", "--nodes", "50", "--pods", "200", "--existing", "100", "--seed", "3"];
    let status = coxswain_real::cli::run_from(arguments, &mut output);
    let stdout = String::from_utf8(output).unwrap();
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("scheduled: 200, unschedulable: 0"), "{stdout}");
    assert!(stdout.contains("placements checked: all fit"), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("pods/s: "), "{stdout}");
}

#[test]
fn bench_schedule_is_deterministic_for_a_seed() {
    let run = || {
        let mut output = Vec::new();
        let arguments = ["cox", "bench", "schedule", "--nodes", "30", "--pods", "60", "--seed", "9"];
        coxswain_real::cli::run_from(arguments, &mut output);
        let stdout = String::from_utf8(output).unwrap();
        // Everything but the timings.
        stdout
            .lines()
            .filter(|line| line.starts_with("scheduled") || line.starts_with("placements"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(run(), run());
}
