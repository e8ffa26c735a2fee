//! Workspace integration tests: one binary, one module per area (cargo's layout).

mod cox_bench;
mod cox_validate;
mod sim_checkers;
mod sim_scenarios;
