//! What a command run in a simulated container (`kubectl exec`) answers. There is no process to
//! run it in, so the simulated runtime answers the few commands whose result follows from what
//! the simulation knows — `echo`, `true`, `false`, `hostname`, `exit N` under `sh -c` — and
//! every other command succeeds with no output, as a container whose commands all succeed would.

use super::runtime::ContainerRef;

/// The exit code and output of `command` in `container`.
pub fn simulated_command(command: &[String], container: &ContainerRef) -> (i32, String) {
    match command {
        [shell, flag, script, ..] if is_shell(shell) && flag == "-c" => simulated_script(script, container),
        _ => simulated_words(&command.iter().map(String::as_str).collect::<Vec<_>>(), container),
    }
}

fn is_shell(program: &str) -> bool {
    matches!(program.rsplit('/').next(), Some("sh" | "bash" | "ash" | "dash"))
}

/// A `sh -c` script: its words split on whitespace (no quoting), the first command only.
fn simulated_script(script: &str, container: &ContainerRef) -> (i32, String) {
    let first = script.split([';', '&', '|']).next().unwrap_or("");
    let words: Vec<&str> = first.split_whitespace().map(|word| word.trim_matches(['"', '\''])).collect();
    simulated_words(&words, container)
}

fn simulated_words(words: &[&str], container: &ContainerRef) -> (i32, String) {
    let Some((program, arguments)) = words.split_first() else { return (0, String::new()) };
    match program.rsplit('/').next().unwrap_or(program) {
        "echo" => (0, format!("{}\n", arguments.join(" "))),
        "true" => (0, String::new()),
        "false" => (1, String::new()),
        "hostname" => (0, format!("{}\n", container.pod)),
        "exit" => (arguments.first().and_then(|code| code.parse().ok()).unwrap_or(0), String::new()),
        _ => (0, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: &[&str]) -> (i32, String) {
        let container = ContainerRef {
            namespace: "default".into(),
            pod: "web-0".into(),
            pod_uid: "uid".into(),
            container: "nginx".into(),
            attempt: 0,
        };
        simulated_command(&command.iter().map(|word| word.to_string()).collect::<Vec<_>>(), &container)
    }

    #[test]
    fn commands_answer_what_the_simulation_knows() {
        assert_eq!(run(&["echo", "hello", "world"]), (0, "hello world\n".into()));
        assert_eq!(run(&["/bin/hostname"]), (0, "web-0\n".into()));
        assert_eq!(run(&["false"]), (1, String::new()));
        assert_eq!(run(&["sh", "-c", "exit 3"]), (3, String::new()));
        assert_eq!(run(&["/bin/bash", "-c", "echo 'hi there'; exit 4"]), (0, "hi there\n".into()));
        assert_eq!(run(&["ls", "/"]), (0, String::new()));
    }
}
