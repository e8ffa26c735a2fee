//! Workspace integration tests: one binary, one module per area (cargo's layout).

mod cluster;
mod cox_bench;
mod cox_validate;
mod kubectl_create;
mod kubectl_guestbook;
mod kubectl_port_forward;
mod kubectl_verbs;
mod python_client;
mod sim_checkers;
mod sim_scenarios;
