//! Workspace integration tests: one binary, one module per area (cargo's layout).

mod cox_validate;
